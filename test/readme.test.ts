// The READMEs' commands are written in a form that works from a fresh clone, and the files their examples write are
// ignored by git. (The commands themselves are run from a fresh clone before a release; docs/cli.md says how.)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function readmes(): string[] {
  const out = ['README.md'];
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    if (existsSync(join(root, 'packages', dir, 'README.md'))) out.push(`packages/${dir}/README.md`);
  }
  return out;
}

/** The lines of the fenced code blocks, without a leading `$ ` prompt. */
function codeLines(markdown: string): string[] {
  const lines: string[] = [];
  let inBlock = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) {
      inBlock = !inBlock;
      continue;
    }
    if (inBlock) lines.push(line.replace(/^\$ /, ''));
  }
  return lines;
}

/** The bins the workspace links (from packages/*\/package.json). */
function binNames(): string[] {
  const names: string[] = [];
  for (const dir of readdirSync(join(root, 'packages'))) {
    const manifest = join(root, 'packages', dir, 'package.json');
    if (!existsSync(manifest)) continue;
    names.push(...Object.keys((JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: object }).bin ?? {}));
  }
  return names;
}

describe.each(readmes())('%s', (readme) => {
  const lines = codeLines(readFileSync(join(root, readme), 'utf8'));

  it('runs the bins the way that works after `npm install && npm run build` (npx --no-install)', () => {
    // A command line, not output such as "baton-twingate: synced ...".
    const bare = new RegExp(`^\\s*(?:${binNames().join('|')})(?=\\s|$)`);
    expect(lines.filter((l) => bare.test(l))).toEqual([]);
    const viaNpx = lines.filter((l) => /\bnpx\s+baton-/.test(l));
    expect(viaNpx).toEqual([]);
  });

  it('writes only files that .gitignore keeps out of git', () => {
    const written = new Set<string>();
    for (const line of lines) {
      for (const m of line.matchAll(/--file\s+([^\s'"`]+)|\s>\s*([^\s|&;]+)/g)) {
        const path = m[1] ?? m[2];
        if (!path || path.includes('<') || path.startsWith('/dev/')) continue;
        written.add(path);
      }
    }
    for (const path of written) {
      const r = spawnSync('git', ['check-ignore', '--no-index', '-q', path], { cwd: root });
      expect(r.status, `${path} (written by ${readme}) is not ignored`).toBe(0);
    }
  });
});
