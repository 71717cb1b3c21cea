// `npm run build`: type-checks and compiles every workspace package (one `tsc -b` over all of packages/*, ordered
// by their project references), then bundles the bins. Adding a package needs no edit here or in any root file.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const projects = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, 'packages', entry.name, 'tsconfig.json')))
  .map((entry) => join('packages', entry.name))
  .sort();
const extra = process.argv.slice(2);
function run(script, args) {
  try {
    execFileSync(process.execPath, [join(root, script), ...args], { cwd: root, stdio: 'inherit' });
  } catch (err) {
    // The tool already printed what is wrong; exit with its status and no stack trace of ours.
    process.exit(err.status ?? 1);
  }
}
run('node_modules/typescript/bin/tsc', ['-b', ...projects, ...extra]);
run('scripts/bundle-bins.mjs', []);
