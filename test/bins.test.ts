// Every bin of the workspace (discovered from the "bin" entries of packages/*/package.json, as CI and
// scripts/list-bins.mjs do) answers --help and --version: through its committed launcher, and through
// `npx --no-install` from the repository root as the README runs them. A new connector is covered without an edit.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runProcess } from '@baton-ts/shared/testing';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Bin {
  name: string;
  launcher: string;
  version: string;
}

function discoverBins(): Bin[] {
  const bins: Bin[] = [];
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    const manifestPath = join(root, 'packages', dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      version: string;
      bin?: Record<string, string>;
    };
    for (const [name, path] of Object.entries(manifest.bin ?? {}))
      bins.push({ name, launcher: join(dirname(manifestPath), path), version: manifest.version });
  }
  return bins;
}

const run = (command: string, args: string[]) => runProcess(command, args, { cwd: root });

const bins = discoverBins();

describe('every bin of the workspace', () => {
  it('includes the connectors and baton-inspect', () => {
    expect(bins.map((b) => b.name)).toEqual(expect.arrayContaining(['baton-inspect', 'baton-twingate']));
  });

  describe.each(bins)('$name', (bin) => {
    it('--version prints "<bin> <package version>" and exits 0', async () => {
      const r = await run(process.execPath, [bin.launcher, '--version']);
      expect(r).toMatchObject({ code: 0, stdout: `${bin.name} ${bin.version}\n`, stderr: '' });
    });

    it('--help prints its usage on stdout and exits 0', async () => {
      const r = await run(process.execPath, [bin.launcher, '--help']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      // The bin names itself at the top (`baton-x 1.0: ...`, `Usage: baton-x ...`, or `Usage:` above it).
      expect(r.stdout.split('\n').slice(0, 3).join('\n')).toContain(bin.name);
      expect(r.stdout.split('\n').length).toBeGreaterThan(5);
    });

    it('runs through `npx --no-install` from the repository root', async () => {
      const r = await run('npx', ['--no-install', bin.name, '--version']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${bin.name} ${bin.version}\n`);
    });
  });
});
