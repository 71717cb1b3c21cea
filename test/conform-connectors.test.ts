// baton-conform against every connector of this repository (discovered from packages/*: each `baton-*` bin outside
// packages/shared, run with `--demo`), which must pass with zero failures; and the runner's own behaviour through its
// real bin: the text report, --file, --serve-addr, a connector that answers like one built with baton-sdk, secrets
// kept out of the output, usage errors. Runs the bundled bins: build first (`npm run build`, or `npm test`).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncStore } from '@baton-ts/shared/c1z';
import { CHECK_NAMES } from '@baton-ts/shared/testing';
import { connectorBins, FIXTURE, node, PROXY, runConform, runConformText } from './support/conform.js';

const QUIET = ['--log-level', 'error'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'conform-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('every connector of this repository passes baton-conform', () => {
  const bins = connectorBins();

  it('finds the connector bins', () => {
    expect(bins.map((b) => b.name)).toContain('twingate');
    for (const b of bins) expect(existsSync(b.bin), `${b.bin} (npm run build)`).toBe(true);
  });

  for (const { name, bin } of bins) {
    it(`baton-${name} --demo: no check fails`, async () => {
      const { code, report } = await runConform(['--', node, bin, '--demo', ...QUIET]);
      const failed = report.checks.filter((c) => c.status === 'fail');
      expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
      expect(report.checks.map((c) => c.name)).toEqual([...CHECK_NAMES]);
      expect(report.checks.find((c) => c.name === 'walk')!.status).toBe('pass');
      expect(code).toBe(0);
    }, 120_000);
  }

  it('baton-twingate --demo: the provisioning round trip on a MANUAL group', async () => {
    const bin = bins.find((b) => b.name === 'twingate')!.bin;
    // Group 6 of the demo dataset is MANUAL and user 3 is not in it (see the README's provisioning example).
    const { code, report } = await runConform([
      '--provision',
      'group:R3JvdXA6Ng==:member',
      'user:VXNlcjoz',
      '--',
      node,
      bin,
      '--demo',
      ...QUIET,
    ]);
    const provisioning = report.checks.find((c) => c.name === 'provisioning')!;
    expect(provisioning.status, JSON.stringify(provisioning)).toBe('pass');
    expect(provisioning.summary).toBe(
      'group:R3JvdXA6Ng==:member to user:VXNlcjoz: granted, listed, granted again (GrantAlreadyExists), revoked, gone, revoked again (GrantAlreadyRevoked)',
    );
    expect(code).toBe(0);
  }, 120_000);
});

describe('baton-conform, the tool', () => {
  it('prints one line per check, keeps the sync with --file, and exits 0', async () => {
    const file = join(dir, 'fixture.c1z');
    const { code, stdout } = await runConformText([
      '--file',
      file,
      '--provision',
      'group:g1:member',
      'user:u1',
      '--',
      node,
      FIXTURE,
      '--users',
      '30',
      ...QUIET,
    ]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe(`baton-conform: ${node} ${FIXTURE} --users 30 --log-level error`);
    expect(lines.slice(1, 8).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(
      CHECK_NAMES.map((n) => `PASS ${n}`),
    );
    expect(lines[8]).toMatch(/^conformant: 7 passed, 0 warned, 0 failed, 0 skipped in \d+\.\d s$/);
    expect(lines[9]).toBe(`sync kept in ${file}`);
    const store = await SyncStore.openC1z(file);
    try {
      expect(store.counts().resources).toEqual({ group: 3, project: 6, user: 30 });
    } finally {
      store.close();
    }
  }, 120_000);

  it('writes JSON Lines for a .jsonl --file and names it in the JSON report', async () => {
    const file = join(dir, 'fixture.jsonl');
    const { code, report } = await runConform(['--file', file, '--', node, FIXTURE, ...QUIET]);
    expect(code).toBe(0);
    expect(report.file).toBe(file);
    expect(report.counts).toEqual({
      resourceTypes: 3,
      resources: { group: 3, project: 6, user: 12 },
      entitlements: 9,
      grants: 72, // 28 listed, 44 made by grant expansion
    });
    const kinds = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { kind: string }).kind);
    expect(new Set(kinds)).toEqual(new Set(['resource_type', 'resource', 'entitlement', 'grant']));
  }, 120_000);

  it('passes a connector that answers like one built with baton-sdk (no health, reflection or stats header)', async () => {
    const { code, report } = await runConform([
      '--provision',
      'group:g1:member',
      'user:u1',
      '--',
      node,
      PROXY,
      '--fault',
      'go-sdk',
      '--',
      node,
      FIXTURE,
      '--users',
      '150',
      ...QUIET,
    ]);
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(code).toBe(0);
    // What a baton-sdk v0.2.x connector does differently from ours is a warning at most.
    expect(byName.protocol.status).toBe('warn');
    expect(byName.protocol.findings.map((f) => [f.rule, f.severity])).toEqual([['static-entitlements', 'warn']]);
    expect(byName.protocol.notes).toEqual([
      'health: not served (Go connectors do not serve grpc.health.v1 either)',
      'reflection: absent (Go connectors do not serve it either)',
    ]);
    expect(
      byName.validation.findings.map((f) => [f.rule, f.severity, f.messages[0].match(/answered (\w+)/)?.[1]]),
    ).toEqual([
      ['forged-page-token', 'warn', 'UNKNOWN'],
      ['unknown-resource-type', 'warn', 'UNKNOWN'],
      ['truncated-page-token', 'warn', 'UNKNOWN'],
    ]);
    for (const name of ['lifecycle', 'capabilities', 'walk', 'stability', 'provisioning']) {
      expect(byName[name].status, JSON.stringify(byName[name])).toBe('pass');
    }
  }, 120_000);

  it('checks a connector already serving plaintext gRPC (--serve-addr): everything but lifecycle', async () => {
    const server = spawn(node, [FIXTURE, 'serve', '--listen', '127.0.0.1:0', '-p', ...QUIET], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /on (127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        server.once('exit', (c) => reject(new Error(`serve exited with ${c}: ${out}`)));
      });
      const { code, report } = await runConform(['--serve-addr', address, '--provision', 'group:g2:member', 'user:u1']);
      expect(Object.fromEntries(report.checks.map((c) => [c.name, c.status]))).toEqual({
        lifecycle: 'skip',
        protocol: 'pass',
        capabilities: 'pass',
        walk: 'pass',
        stability: 'pass',
        validation: 'pass',
        provisioning: 'pass',
      });
      expect(code).toBe(0);
    } finally {
      server.kill('SIGTERM');
    }
  }, 120_000);

  it('keeps secrets passed as connector flags out of everything it prints', async () => {
    const secret = 'conform-secret-7d1f9a2c';
    const text = await runConformText(['--', node, FIXTURE, '--api-token', secret, ...QUIET]);
    const json = await runConform(['--', node, FIXTURE, `--api-token=${secret}`, ...QUIET]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('--api-token ***');
    expect(json.stdout).toContain('--api-token=***');
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) expect(out).not.toContain(secret);
  }, 120_000);

  it('refuses bad usage with status 2 and the usage text', async () => {
    for (const args of [
      [],
      ['--skip', 'walk', '--', 'x'],
      ['--bogus', '--', 'x'],
      ['--provision', 'e', 'no-colon', '--', 'x'],
    ]) {
      const { code, stdout, stderr } = await runConformText(args);
      expect(code, args.join(' ')).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^baton-conform: .+\n\nUsage:/);
    }
    const help = await runConformText(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage:\n {2}baton-conform \[options\] -- <connector>/);
  });

  it('reports a connector that cannot start under lifecycle, and skips the rest', async () => {
    const { code, report } = await runConform(['--', join(dir, 'no-such-connector')]);
    expect(code).toBe(1);
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(byName.lifecycle.status).toBe('fail');
    expect(byName.lifecycle.findings[0].messages[0]).toMatch(
      /^the connector did not start \(sync process\): cannot start connector ".*no-such-connector": spawn .* ENOENT/,
    );
    for (const name of CHECK_NAMES.filter((n) => n !== 'lifecycle')) expect(byName[name].status).toBe('skip');
  });
});
