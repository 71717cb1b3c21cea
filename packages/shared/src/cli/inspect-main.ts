#!/usr/bin/env node
/** Standalone entry point for `baton-inspect`; the CLI runner mounts `runInspect` as a subcommand instead. */
import { exitQuietlyWhenStdoutCloses } from './closed-stdout.js';
import { runInspect } from './inspect.js';

exitQuietlyWhenStdoutCloses();

runInspect(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`baton-inspect: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
