// Regenerates the protobuf-es code from proto/ into a temporary folder and fails if it differs from the
// committed packages/shared/src/gen, so generated code can never drift from the .proto files.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const committed = join(root, 'packages/shared/src/gen');
const fresh = mkdtempSync(join(tmpdir(), 'baton-gen-'));
const template = JSON.stringify({
  version: 'v2',
  plugins: [{ local: 'protoc-gen-es', out: fresh, opt: ['target=ts', 'import_extension=js'] }],
});
try {
  execFileSync('npx', ['--no-install', 'buf', 'generate', '--template', template], { cwd: root, stdio: 'inherit' });
  const list = (dir) =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((p) => statSync(join(dir, p)).isFile())
      .sort();
  const want = list(fresh);
  const have = list(committed);
  const problems = [];
  for (const file of new Set([...want, ...have])) {
    if (!want.includes(file)) problems.push(`extra file not produced by proto/: ${file}`);
    else if (!have.includes(file)) problems.push(`missing generated file: ${file}`);
    else if (!readFileSync(join(fresh, file)).equals(readFileSync(join(committed, file)))) {
      problems.push(`out of date: ${file}`);
    }
  }
  if (problems.length) {
    console.error(`Generated code drifted from proto/ (run \`npm run gen\`):\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`generated code is up to date (${want.length} files, ${relative(root, committed)})`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
