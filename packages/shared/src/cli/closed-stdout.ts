/**
 * A reader that stops early (`<bin> ... | head`) closes our stdout, and the next write fails with EPIPE. That ends the
 * command's output, not the command with a stack trace: exit with the code set so far. Installed by every bin's entry
 * point (connector bins through runConnectorCli, baton-inspect, baton-conform); see docs/cli.md.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
