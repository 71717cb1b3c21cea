// End-to-end tests of baton-celigo: the bundled bin (`packages/celigo/dist/bin/baton-celigo.mjs`) in real subprocesses
// (the Go-style `_connector-service` handshake, mTLS, fd 3), talking real HTTP to the Celigo simulator on loopback.
// Build first (`npm run build`, or `npm test`, which builds).
//
//  1. conformance kit: zero violations, the three types, counts equal to the simulator's state, from flags and from
//     BATON_ variables;
//  2. provisioning round trip of the Manage role on a Monitor user with per-integration access, counting PUTs in the
//     simulator's request log: the per-integration access survives; revoking Monitor is refused with no request;
//  3. 10% 429 + 10% 5xx give a sync file identical to a fault-free one;
//  4. bad config (missing token, bad region) and a wrong token give clear errors, a non-zero exit and no file;
//  5. a distinctive token never appears in stdout, stderr, the c1z (raw and decompressed) or the JSONL export;
//  6. `--demo` needs no other flag, `simulator` prints its address and config, `capabilities` needs no credentials.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncStore } from '@baton-ts/shared/c1z';
import {
  checkSyncInvariants,
  envWithoutBaton as cleanEnv,
  provisioningRoundTrip,
  PROBE_ID_PREFIX,
  runConformance,
  runProcess,
  syncSnapshot as snapshot,
  type ProcessResult as BinResult,
} from '@baton-ts/shared/testing';
import {
  startCeligoSimulator,
  type CeligoSimulator,
  type CeligoSimulatorOptions,
} from '../packages/celigo/simulator/index.js';
import { expectedGrantIds } from '../packages/celigo/test/helpers.js';

const BIN = fileURLToPath(new URL('../packages/celigo/dist/bin/baton-celigo.mjs', import.meta.url));
const node = process.execPath;
const SECRET_TOKEN = 'celigo-SECRET-4c1d8e2a-do-not-log';

const sims: CeligoSimulator[] = [];
async function startSim(options: CeligoSimulatorOptions = {}): Promise<CeligoSimulator> {
  const sim = await startCeligoSimulator({ dataset: 'small', rateLimit: null, ...options });
  sims.push(sim);
  return sim;
}

/** Flags exactly as a host passes them to a connector. */
function flags(sim: CeligoSimulator, token = sim.token): string[] {
  return ['--celigo-access-token', token, '--base-url', sim.baseUrl];
}

function runBin(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<BinResult> {
  return runProcess(node, [BIN, ...args], { env: options.env ?? cleanEnv() });
}

const putCount = (sim: CeligoSimulator) => () => sim.log.count((e) => e.method === 'PUT' && e.status === 204);
const lastSeq = (sim: CeligoSimulator) => sim.log.last()?.seq ?? 0;

let dir: string;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" first`);
  dir = mkdtempSync(join(tmpdir(), 'celigo-e2e-'));
});
afterAll(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------

describe('conformance through the real bin', () => {
  it('has zero violations and exactly the simulator state, from flags and from BATON_ variables', async () => {
    const sim = await startSim();
    const shares = sim.state.listShares().length;
    const integrations = sim.state.listIntegrations().length;
    const runs = [
      { args: [BIN, ...flags(sim)], env: cleanEnv(), relistPasses: 2 },
      {
        args: [BIN],
        env: cleanEnv({ BATON_CELIGO_ACCESS_TOKEN: sim.token, BATON_BASE_URL: sim.baseUrl }),
        relistPasses: 0,
      },
    ];
    for (const run of runs) {
      const before = lastSeq(sim);
      const report = await runConformance({
        command: node,
        args: run.args,
        env: run.env,
        expectTypes: ['user', 'integration', 'role'],
        relistPasses: run.relistPasses,
      });
      try {
        expect(report.violations).toEqual([]);
        expect(report.exit).toEqual({ code: 0, signal: null });
        expect(report.store.counts()).toEqual({
          resourceTypes: 3,
          resources: { user: shares, integration: integrations, role: 3 },
          entitlements: integrations * 3 + 3,
          grants: expectedGrantIds(sim).length,
        });
        expect([...report.store.grants()].map((g) => g.id).sort()).toEqual(expectedGrantIds(sim));
        for (const pass of report.relist) {
          expect(pass).toMatchObject({ complete: true, resourceTypes: 3, resources: shares + integrations + 3 });
        }
        // The sync never failed a request; the conformance kit's probes ask for ids that do not exist on purpose.
        expect(sim.log.filter((e) => e.seq > before && e.status !== 200 && !e.path.includes(PROBE_ID_PREFIX))).toEqual(
          [],
        );
      } finally {
        report.store.close();
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('provisioning through the real bin', () => {
  it('round-trips Manage on a Monitor user: one PUT each way, and the per-integration access survives', async () => {
    const sim = await startSim();
    const user = structuredClone(sim.state.listShares()[2]!);
    expect(user.accessLevel).toBe('monitor');
    expect(user.integrationAccessLevel.length).toBeGreaterThan(0);
    const report = await provisioningRoundTrip({
      command: node,
      args: [BIN, ...flags(sim)],
      env: cleanEnv(),
      entitlementId: 'role:manage:assigned',
      principal: { resourceType: 'user', resource: user._id },
      mutationCount: putCount(sim),
      requireMutation: true,
    });
    expect(report.violations).toEqual([]);
    expect(report.steps.map((s) => s.step)).toEqual([
      'initial-sync',
      'grant',
      'sync-after-grant',
      'grant-again',
      'revoke',
      'sync-after-revoke',
      'revoke-again',
    ]);
    expect(sim.puts.map((p) => [p.id, (JSON.parse(p.raw) as { accessLevel: string }).accessLevel, p.status])).toEqual([
      [user._id, 'manage', 204],
      [user._id, 'monitor', 204],
    ]);
    const after = sim.state.getShare(user._id)!;
    expect(after.accessLevel).toBe('monitor');
    expect(after.integrationAccessLevel).toEqual(user.integrationAccessLevel);
    expect(after.sharedWithUser).toEqual(user.sharedWithUser);
    expect(after.accountSSORequired).toBe(user.accountSSORequired);
  });

  it('one-shot: revoking Monitor exits 1 with FAILED_PRECONDITION and makes no request', async () => {
    const sim = await startSim();
    const file = join(dir, 'provisioning.c1z');
    const sync = await runBin([...flags(sim), '--file', file, '--log-level', 'warn']);
    expect(sync.code, sync.stderr).toBe(0);
    const monitor = sim.state.listShares()[2]!;
    const before = sim.log.count();
    const r = await runBin([
      ...flags(sim),
      '--file',
      file,
      '--revoke-grant',
      `role:monitor:assigned:user:${monitor._id}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED_PRECONDITION: celigo: the Monitor role cannot be revoked/);
    expect(sim.log.count()).toBe(before);
    expect(sim.puts).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('faults: 10% 429 and 10% 5xx', () => {
  it('give a sync file identical to a fault-free sync', async () => {
    // Pages of 10 make enough requests (about 30) for the faults to bite.
    const sim = await startSim({ pageSize: 10, maxPageSize: 10 });
    const cleanFile = join(dir, 'fault-free.c1z');
    const faultyFile = join(dir, 'faulty.c1z');
    const clean = await runBin([...flags(sim), '--file', cleanFile, '--log-level', 'warn']);
    expect(clean.code, clean.stderr).toBe(0);
    const cleanRequests = sim.log.count();

    sim.faults.set({ probabilities: { rateLimit: 0.1, serverError: 0.1 }, retryAfterSeconds: 0, seed: 'celigo-e2e' });
    const from = lastSeq(sim);
    const faulty = await runBin([...flags(sim), '--file', faultyFile, '--log-level', 'warn']);
    expect(faulty.code, faulty.stderr).toBe(0);
    const served = sim.log.filter((e) => e.seq > from);
    const failed = served.filter((e) => e.status !== 200);
    expect(served.filter((e) => e.status === 429).length).toBeGreaterThan(0);
    expect(served.filter((e) => e.status >= 500).length).toBeGreaterThan(0);
    expect(served.length).toBe(cleanRequests + failed.length);

    const a = await SyncStore.openC1z(cleanFile);
    const b = await SyncStore.openC1z(faultyFile);
    try {
      expect(checkSyncInvariants(a)).toEqual([]);
      const sa = snapshot(a);
      expect(sa.resources.length).toBe(60 + 8 + 3);
      expect(sa.grants.length).toBe(expectedGrantIds(sim).length);
      expect(snapshot(b)).toEqual(sa);
    } finally {
      a.close();
      b.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('bad config', () => {
  it('a missing token: exit 1, names the flag, the variable and the scope, no request, no file', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const file = join(dir, 'notoken.c1z');
    const r = await runBin(['--base-url', sim.baseUrl, '--file', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--celigo-access-token (BATON_CELIGO_ACCESS_TOKEN) is required');
    expect(r.stderr).toContain('Full access');
    expect(sim.log.count()).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it('a bad region, from the flag or BATON_REGION: exit 1 listing the accepted values', async () => {
    for (const run of [
      runBin(['--celigo-access-token', 'x-token', '--region', 'asia', '--file', join(dir, 'r1.c1z')]),
      runBin(['--file', join(dir, 'r2.c1z')], {
        env: cleanEnv({ BATON_CELIGO_ACCESS_TOKEN: 'x-token', BATON_REGION: 'Mars' }),
      }),
    ]) {
      const r = await run;
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        '--region (BATON_REGION) must be "us" (or "United States") or "eu" (or "European Union")',
      );
    }
  });

  it('a wrong token: Validate fails with UNAUTHENTICATED naming the Full access token, after one 401', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const file = join(dir, 'wrongtoken.c1z');
    const r = await runBin([...flags(sim, 'celigo-wrong-token'), '--file', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/UNAUTHENTICATED/);
    expect(r.stderr).toContain('Full access');
    expect(r.stderr).toContain('--celigo-access-token (BATON_CELIGO_ACCESS_TOKEN)');
    expect(r.stderr).not.toContain('celigo-wrong-token');
    expect(sim.log.entries().map((e) => e.status)).toEqual([401]);
    expect(existsSync(file)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('the token never appears in output', () => {
  it('sync (c1z, JSONL), grant, revoke, a failing grant and a rejected token, all at debug level', async () => {
    const sim = await startSim({ token: SECRET_TOKEN });
    const outputs: Array<{ what: string; text: string | Buffer }> = [];
    const record = (what: string, r: BinResult) =>
      outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
    const debug = ['--log-level', 'debug'];
    const file = join(dir, 'secret.c1z');

    const sync = await runBin([...flags(sim), '--file', file, ...debug]);
    expect(sync.code, sync.stderr).toBe(0);
    record('sync', sync);
    const jsonl = join(dir, 'secret.jsonl');
    const viaEnv = await runBin(['--base-url', sim.baseUrl, '--file', jsonl, ...debug], {
      env: cleanEnv({ BATON_CELIGO_ACCESS_TOKEN: SECRET_TOKEN }),
    });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    record('sync jsonl', viaEnv);
    outputs.push({ what: 'jsonl', text: readFileSync(jsonl) }, { what: 'c1z', text: readFileSync(file) });
    const sqlite = execFileSync('sh', ['-c', 'tail -c +6 "$1" | zstd -d', 'sh', file], { maxBuffer: 64 * 1024 * 1024 });
    expect(sqlite.subarray(0, 15).toString('latin1')).toBe('SQLite format 3');
    outputs.push({ what: 'c1z decompressed', text: sqlite });

    const manager = sim.state.listShares()[1]!;
    const grantArgs = [
      '--grant-entitlement',
      'role:administrator:assigned',
      '--grant-principal',
      manager._id,
      '--grant-principal-type',
      'user',
    ];
    const g = await runBin([...flags(sim), '--file', file, ...grantArgs, ...debug]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toBe('granted\n');
    record('grant', g);
    const again = await runBin([...flags(sim), '--file', file, ...grantArgs, ...debug]);
    expect(again.stdout).toBe('already granted (no change)\n');
    record('grant again', again);
    const rv = await runBin([
      ...flags(sim),
      '--file',
      file,
      '--revoke-grant',
      `role:manage:assigned:user:${sim.state.listShares()[5]!._id}`,
      ...debug,
    ]);
    expect(rv.code, rv.stderr).toBe(0);
    expect(rv.stdout).toBe('revoked\n');
    record('revoke', rv);

    // 501 is not retried, so the failure is immediate.
    sim.faults.set({
      match: (req) => req.method === 'PUT',
      rules: [{ fault: { kind: 'serverError', status: 501 }, every: 1 }],
    });
    const failing = await runBin([
      ...flags(sim),
      '--file',
      file,
      '--grant-entitlement',
      'role:manage:assigned',
      '--grant-principal',
      sim.state.listShares()[3]!._id,
      '--grant-principal-type',
      'user',
      ...debug,
    ]);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/UNIMPLEMENTED: celigo: PUT .*501/);
    record('failing grant', failing);
    sim.faults.clear();

    const rejected = await runBin([...flags(sim, `${SECRET_TOKEN}-but-wrong`), '--file', join(dir, 'x.c1z'), ...debug]);
    expect(rejected.code).toBe(1);
    record('wrong token', rejected);

    const needles = [SECRET_TOKEN, '4c1d8e2a', Buffer.from(SECRET_TOKEN).toString('base64').slice(0, 24)];
    const leaks = outputs.flatMap(({ what, text }) => {
      const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      return needles.filter((n) => buf.includes(n)).map((n) => `${what} contains ${n}`);
    });
    expect(leaks).toEqual([]);
    expect(outputs.find((o) => o.what === 'sync stderr')!.text).toContain('"level":"debug"');
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('demo, simulator and capabilities commands', () => {
  it('--demo syncs the bundled simulator with no other flag', async () => {
    const file = join(dir, 'demo.c1z');
    const r = await runBin(['--demo', '--file', file, '--log-level', 'warn']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/baton-celigo: synced 3 resource types/);
    const store = await SyncStore.openC1z(file);
    try {
      expect(checkSyncInvariants(store)).toEqual([]);
      expect(store.counts().resources).toEqual({ user: 60, integration: 8, role: 3 });
    } finally {
      store.close();
    }
  });

  it('`simulator` prints its address and the connector config on one line; `capabilities` needs no credentials', async () => {
    const child = spawn(node, [BIN, 'simulator', '--dataset', 'tiny'], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        const nl = buf.indexOf('\n');
        if (nl >= 0) resolve(buf.slice(0, nl));
      });
      child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
    });
    try {
      const info = JSON.parse(line) as { baseUrl: string; config: Record<string, string> };
      expect(info.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(Object.keys(info.config).sort()).toEqual(['base-url', 'celigo-access-token']);
      const res = await fetch(`${info.baseUrl}/v1/ashares`, {
        headers: { authorization: `Bearer ${info.config['celigo-access-token']}` },
      });
      expect(((await res.json()) as unknown[]).length).toBe(10);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('close', resolve));
    }

    const caps = await runBin(['capabilities']);
    expect(caps.code, caps.stderr).toBe(0);
    const parsed = JSON.parse(caps.stdout) as {
      resourceTypeCapabilities: Array<{ resourceType: { id: string }; capabilities: string[] }>;
    };
    expect(Object.fromEntries(parsed.resourceTypeCapabilities.map((c) => [c.resourceType.id, c.capabilities]))).toEqual(
      {
        integration: ['CAPABILITY_SYNC'],
        role: ['CAPABILITY_SYNC', 'CAPABILITY_PROVISION'],
        user: ['CAPABILITY_SYNC'],
      },
    );
  });
});
