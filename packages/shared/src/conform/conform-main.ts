#!/usr/bin/env node
/** Entry point of `baton-conform` (see cli.ts). */
import { runConformCli } from './cli.js';

// A closed pipe (`baton-conform ... | head`) ends the output; do not crash on the late EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

runConformCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`baton-conform: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
