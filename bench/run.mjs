// `npm run bench`: every benchmark in bench/ in turn (each prints its own numbers). Not part of `npm test`.
// A benchmark is any bench/*.mjs file except this runner and shared helpers (support*.mjs).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('support'))
  .sort();
for (const script of scripts) {
  console.log(`\n== bench/${script}`);
  const result = spawnSync(process.execPath, [dir + script], { stdio: 'inherit' });
  if (result.status !== 0) process.exitCode = 1;
}
