#!/usr/bin/env node
/** Entry point of `baton-conform` (see cli.ts). */
import { exitQuietlyWhenStdoutCloses } from '../cli/closed-stdout.js';
import { runConformCli } from './cli.js';

exitQuietlyWhenStdoutCloses();

runConformCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`baton-conform: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
