// `npm run bench`: every benchmark in turn (they print their own numbers). Not part of `npm test`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

for (const script of ['server.mjs', 'encode.mjs', 'twingate-requests.mjs']) {
  console.log(`\n== bench/${script}`);
  const result = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], { stdio: 'inherit' });
  if (result.status !== 0) process.exitCode = 1;
}
