// Bundles every connector bin into one ES module (plus lazily loaded chunks) with esbuild.
// Hosts spawn a plugin for every job, so start-up time matters: loading one file instead of ~400 small modules
// roughly halves the time from spawn to the first answered RPC. Native addons stay external.
// Each package.json maps bin names to compiled entry points under "bundle"; "bin" points at a small committed launcher
// (bin/<name>.mjs) that loads the bundle. The launcher must exist before the first build, because npm links a
// workspace's commands at install time and skips any whose file is missing: this script writes a missing or stale
// launcher, and `npm run lint` fails if one is not committed as written here.
import { build } from 'esbuild';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const packagesDir = join(root, 'packages');

/**
 * zod's `z` namespace carries every translation of its error messages (`z.locales`: ~290 KB, half of zod), and a
 * namespace object keeps all of them in the bundle, where every start-up parses them (~15 ms of a plugin's cold
 * start). Bins use zod's default English messages (zod imports those directly), so the bundle gets an empty
 * `z.locales` instead. A connector that called `z.config(z.locales.de())` would fail at start-up with a TypeError,
 * not silently. docs/sdk.md says so.
 */
const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'empty' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

for (const dir of readdirSync(packagesDir)) {
  const packageDir = join(packagesDir, dir);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  } catch {
    continue;
  }
  if (!manifest.bundle) continue;
  const outdir = join(packageDir, 'dist', 'bin');
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: packageDir,
    entryPoints: Object.fromEntries(Object.entries(manifest.bundle).map(([name, entry]) => [name, entry])),
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['better-sqlite3', 'zstd-napi'],
    plugins: [withoutZodLocales],
    // CommonJS dependencies bundled into an ES module still call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __batonCreateRequire } from 'node:module'; const require = __batonCreateRequire(import.meta.url);",
    },
    sourcemap: 'linked',
    minifySyntax: true,
    minifyWhitespace: true,
    logLevel: 'warning',
  });
  for (const name of Object.keys(manifest.bundle)) writeLauncher(packageDir, manifest, name);
  for (const name of Object.keys(manifest.bundle))
    console.log(`bundled ${dir}: ${name} -> ${join('packages', dir, 'dist', 'bin', name + '.mjs')}`);
}

/** The committed launcher of one bin: loads the bundle, or says how to build it. */
export function launcherSource(name) {
  return `#!/usr/bin/env node
// Committed so npm links \`${name}\` at install time; it loads the bundle that \`npm run build\` writes.
import { existsSync } from 'node:fs';
const bundle = new URL('../dist/bin/${name}.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('${name} is not built yet: run \`npm run build\` in the repository root\\n');
  process.exit(1);
}
await import(bundle.href);
`;
}

function writeLauncher(packageDir, manifest, name) {
  const expectedBin = `./bin/${name}.mjs`;
  if (manifest.bin?.[name] !== expectedBin) {
    throw new Error(
      `${join(packageDir, 'package.json')}: "bin"."${name}" must be "${expectedBin}" (the committed launcher)`,
    );
  }
  const file = join(packageDir, 'bin', `${name}.mjs`);
  const source = launcherSource(name);
  if (existsSync(file) && readFileSync(file, 'utf8') === source) return;
  mkdirSync(join(packageDir, 'bin'), { recursive: true });
  writeFileSync(file, source);
  chmodSync(file, 0o755);
  console.log(`wrote launcher ${file} (commit it)`);
}
