#!/usr/bin/env node
/** Standalone entry point for `baton-inspect`; the CLI runner mounts `runInspect` as a subcommand instead. */
import { runInspect } from './inspect.js';

// A closed pipe (`baton-inspect sync.c1z grants | head`) ends the output; do not crash on the late EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

runInspect(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`baton-inspect: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
