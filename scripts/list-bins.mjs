// Prints the name of every bin the workspace packages declare, one per line (used by .ci/run).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const packagesDir = new URL('../packages', import.meta.url).pathname;
for (const dir of readdirSync(packagesDir).sort()) {
  const manifestPath = join(packagesDir, dir, 'package.json');
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  for (const name of Object.keys(manifest.bin ?? {})) console.log(name);
}
