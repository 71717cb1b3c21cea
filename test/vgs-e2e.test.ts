// End-to-end tests of baton-vgs: the bundled bin (`packages/vgs/dist/bin/baton-vgs.mjs`) in real subprocesses (the
// Go-style `_connector-service` handshake, mTLS, fd 3), talking real HTTP to the VGS simulator on loopback.
// Build first: `npm run build` (or `npm test`, which builds).
//
//  1. conformance kit: zero violations, the five types, counts equal to the simulator's state (flags and BATON_*);
//  2. provisioning: round trips of vault access (a user; a service account) with a mutation counter read from the
//     simulator's log; organization roles (grant, grant again, revoke refused with the advice, no request);
//     CreateAccount (an invitation) and DeleteResource (invitation, user) through the one-shot CLI; capabilities;
//  3. 10% 429s + 10% 5xx give a sync file identical to a fault-free one;
//  4. bad config and wrong credentials give clear errors and a non-zero exit;
//  5. a distinctive client secret never appears in stdout, stderr, the c1z or the JSONL export (every run of 2);
//  6. the `simulator` command prints a config that works.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SyncStore } from '@baton-ts/shared/c1z';
import {
  checkSyncInvariants,
  envWithoutBaton,
  provisioningRoundTrip,
  runConformance,
  runProcess,
  syncSnapshot,
  type ProcessResult,
} from '@baton-ts/shared/testing';
import type { RequestLogEntry } from '@baton-ts/shared/simulator';
import { startVgsSimulator, type VgsSimulator, type VgsSimulatorOptions } from '../packages/vgs/simulator/index.js';

// Each test spawns several processes; on a loaded 2-core machine one bin run can take ten seconds or more.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const BIN = fileURLToPath(new URL('../packages/vgs/dist/bin/baton-vgs.mjs', import.meta.url));
const node = process.execPath;
const SECRET = 'vgs-SECRET-3c9d71ab-do-not-log';
const TYPES = ['user', 'invitation', 'org', 'vault', 'service_account'];

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const sims: VgsSimulator[] = [];
async function startSim(options: VgsSimulatorOptions = {}): Promise<VgsSimulator> {
  const sim = await startVgsSimulator({ dataset: 'small', rateLimits: { read: 0, write: 0 }, ...options });
  sims.push(sim);
  return sim;
}

/** Flags exactly as a host passes them to a connector. */
function flags(sim: VgsSimulator, secret = sim.clientSecret): string[] {
  return [
    '--service-account-client-id',
    sim.clientId,
    '--service-account-client-secret',
    secret,
    '--organization-id',
    sim.organizationId,
    '--base-url',
    sim.accountsUrl,
    '--token-url',
    sim.tokenUrl,
  ];
}

type BinResult = ProcessResult;
const cleanEnv = envWithoutBaton;
const runBin = (args: string[], options: { env?: NodeJS.ProcessEnv } = {}) =>
  runProcess(node, [BIN, ...args], { env: options.env ?? cleanEnv() });

const isMutation = (e: RequestLogEntry) => e.method !== 'GET' && !e.path.startsWith('/auth/');
const mutationCounter = (sim: VgsSimulator) => () => sim.log.count(isMutation);
const lastSeq = (sim: VgsSimulator) => sim.log.last()?.seq ?? 0;
const mutationsAfter = (sim: VgsSimulator, seq: number) =>
  sim.log.filter((e) => e.seq > seq && isMutation(e)).map((e) => `${e.method} ${e.path} ${e.status}`);

/** What the sync of the simulator's configured organization must hold. */
function expectedCounts(sim: VgsSimulator) {
  const org = sim.organizationId;
  const vaults = sim.state.listVaults(new Set([org]));
  const members = sim.state.listMembers(org);
  const accountIds = new Map(sim.state.listServiceAccounts(org).map((sa) => [sa.memberId, sa.clientId]));
  const inVaults = new Set<string>();
  for (const v of vaults)
    for (const m of sim.state.listVaultMembers(v.identifier)) if (accountIds.has(m.id)) inVaults.add(m.id);
  return {
    resourceTypes: 5,
    resources: {
      user: members.length,
      invitation: sim.state.pendingInvites(org).length,
      org: 1,
      vault: vaults.length,
      service_account: inVaults.size,
    },
    entitlements: 2 + 3 * vaults.length,
    grants: members.length + sim.state.vaultMembershipCount(org),
  };
}

let dir: string;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" first`);
  dir = mkdtempSync(join(tmpdir(), 'vgs-e2e-'));
});
afterAll(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// 1. Conformance

describe('conformance through the real bin', () => {
  it('zero violations, the five types, the simulator’s counts; the API pages by 7 (flags)', async () => {
    const sim = await startSim({ pageSize: 7 });
    const report = await runConformance({
      command: node,
      args: [BIN, ...flags(sim)],
      env: cleanEnv(),
      expectTypes: TYPES,
    });
    try {
      expect(report.violations).toEqual([]);
      expect(report.exit).toEqual({ code: 0, signal: null });
      expect(report.store.counts()).toEqual(expectedCounts(sim));
      for (const pass of report.relist) expect(pass).toMatchObject({ complete: true, resourceTypes: 5 });
      expect(sim.log.filter((e) => e.status >= 400)).toEqual([]);
      expect(sim.log.count((e) => e.path.includes('/service-accounts'))).toBe(0);
    } finally {
      report.store.close();
    }
  });

  it('takes the same config from BATON_ variables, with the Go connector’s --vault (ignored)', async () => {
    const sim = await startSim();
    const env = cleanEnv({
      BATON_SERVICE_ACCOUNT_CLIENT_ID: sim.clientId,
      BATON_SERVICE_ACCOUNT_CLIENT_SECRET: sim.clientSecret,
      BATON_ORGANIZATION_ID: sim.organizationId,
      BATON_BASE_URL: sim.accountsUrl,
      BATON_TOKEN_URL: sim.tokenUrl,
      BATON_VAULT: 'tnto1wfx2gp',
    });
    const report = await runConformance({ command: node, args: [BIN], env, expectTypes: TYPES, relistPasses: 0 });
    try {
      expect(report.violations).toEqual([]);
      expect(report.store.counts()).toEqual(expectedCounts(sim));
    } finally {
      report.store.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 2. Provisioning (every run with debug logs and a distinctive secret, checked for leaks in 5.)

const outputs: Array<{ what: string; text: string | Buffer }> = [];
const debug = ['--log-level', 'debug'];
function record(what: string, r: BinResult): BinResult {
  outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
  return r;
}

describe('provisioning through the real bin', () => {
  let sim: VgsSimulator;
  let file: string;
  const sync = async (what: string) => {
    const r = record(what, await runBin([...flags(sim), '--file', file, ...debug]));
    expect(r.code, r.stderr).toBe(0);
  };
  beforeAll(async () => {
    sim = await startSim({ clientSecret: SECRET, pageSize: 10 });
    file = join(dir, 'provisioning.c1z');
    await sync('initial sync');
  });

  it('round-trips vault access for a user: PUT on grant, DELETE on revoke, nothing when repeated', async () => {
    const vault = sim.state.listVaults(new Set([sim.organizationId]))[0]!;
    const user = sim.state.listMembers(sim.organizationId).find((m) => !sim.state.vaultRole(vault.identifier, m.id))!;
    const from = lastSeq(sim);
    const report = await provisioningRoundTrip({
      command: node,
      args: [BIN, ...flags(sim), ...debug],
      env: cleanEnv(),
      entitlementId: `vault:${vault.identifier}:read`,
      principal: { resourceType: 'user', resource: user.id },
      mutationCount: mutationCounter(sim),
      requireMutation: true,
    });
    expect(report.violations).toEqual([]);
    expect(mutationsAfter(sim, from)).toEqual([
      `PUT /vaults/${vault.identifier}/members/${user.id} 204`,
      `DELETE /vaults/${vault.identifier}/members/${user.id} 204`,
    ]);
  });

  it('round-trips vault access for a service account on a vault it is not in (its VGS id from the sync)', async () => {
    const empty = sim.state.listVaults(new Set([sim.organizationId])).at(-1)!;
    const own = sim.state.serviceAccount(sim.clientId)!;
    expect(sim.state.listVaultMembers(empty.identifier)).toEqual([]);
    const from = lastSeq(sim);
    const report = await provisioningRoundTrip({
      command: node,
      args: [BIN, ...flags(sim)],
      env: cleanEnv(),
      entitlementId: `vault:${empty.identifier}:read`,
      principal: { resourceType: 'service_account', resource: own.clientId.toLowerCase() },
      mutationCount: mutationCounter(sim),
      requireMutation: true,
    });
    expect(report.violations).toEqual([]);
    expect(mutationsAfter(sim, from)).toEqual([
      `PUT /vaults/${empty.identifier}/members/${own.memberId} 204`,
      `DELETE /vaults/${empty.identifier}/members/${own.memberId} 204`,
    ]);
  });

  it('organization roles: grant Admin, grant again (no change), revoke refused with the advice and no request', async () => {
    const user = sim.state.listMembers(sim.organizationId).find((m) => m.role === 'user')!;
    const grantArgs = (slug: string) => [
      '--grant-entitlement',
      `org:${sim.organizationId}:${slug}`,
      '--grant-principal',
      user.id,
      '--grant-principal-type',
      'user',
    ];
    const g = record('org grant', await runBin([...flags(sim), '--file', file, ...grantArgs('admin'), ...debug]));
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toBe('granted\n');
    expect(sim.state.member(user.id)!.role).toBe('admin');
    const again = record('org grant again', await runBin([...flags(sim), '--file', file, ...grantArgs('admin')]));
    expect(again.stdout).toBe('already granted (no change)\n');

    await sync('sync after org grant');
    const before = sim.log.count();
    const revoke = record(
      'org revoke',
      await runBin([
        ...flags(sim),
        '--file',
        file,
        '--revoke-grant',
        `org:${sim.organizationId}:admin:user:${user.id}`,
        ...debug,
      ]),
    );
    expect(revoke.code).toBe(1);
    expect(revoke.stderr).toContain('FAILED_PRECONDITION');
    expect(revoke.stderr).toContain('use Delete Resource (CAPABILITY_RESOURCE_DELETE) on the user');
    expect(sim.log.count()).toBe(before);
    expect(sim.state.member(user.id)!.role).toBe('admin');
  });

  it('CreateAccount invites by email with a role; DeleteResource cancels it, then removes a user', async () => {
    const profile = JSON.stringify({ role: 'admin' });
    const create = ['--create-account-login', 'new.person@example.org', '--create-account-profile', profile];
    const c = record('create account', await runBin([...flags(sim), ...create, ...debug]));
    expect(c.code, c.stderr).toBe(0);
    const invite = sim.state.listInvites(sim.organizationId).find((i) => i.email === 'new.person@example.org')!;
    expect(invite.role).toBe('admin');
    expect(c.stdout).toBe(`account created: invitation:${invite.inviteId}\n`);
    const again = record('create account again', await runBin([...flags(sim), ...create]));
    expect(again.stdout).toBe(`account already exists (no change): invitation:${invite.inviteId}\n`);

    const del = (type: string, id: string) => ['--delete-resource', id, '--delete-resource-type', type];
    const d = record(
      'delete invitation',
      await runBin([...flags(sim), ...del('invitation', invite.inviteId), ...debug]),
    );
    expect(d.stdout).toBe('deleted\n');
    expect(sim.state.invite(invite.inviteId)).toBeUndefined();

    const user = sim.state.listMembers(sim.organizationId).find((m) => m.role === 'user')!;
    const from = lastSeq(sim);
    const u = record('delete user', await runBin([...flags(sim), ...del('user', user.id), ...debug]));
    expect(u.stdout).toBe('deleted\n');
    expect(mutationsAfter(sim, from)).toEqual([`DELETE /organizations/${sim.organizationId}/members/${user.id} 204`]);
    const u2 = record('delete user again', await runBin([...flags(sim), ...del('user', user.id)]));
    expect(u2.stdout).toBe('already deleted\n');
  });

  it('capabilities: sync, provisioning, account provisioning and resource deletion per type', async () => {
    const c = record('capabilities', await runBin([...flags(sim), 'capabilities', ...debug]));
    expect(c.code, c.stderr).toBe(0);
    const caps = JSON.parse(c.stdout) as {
      resourceTypeCapabilities: Array<{ resourceType: { id: string }; capabilities: string[] }>;
      connectorCapabilities: string[];
    };
    expect(Object.fromEntries(caps.resourceTypeCapabilities.map((c) => [c.resourceType.id, c.capabilities]))).toEqual({
      invitation: ['CAPABILITY_SYNC', 'CAPABILITY_ACCOUNT_PROVISIONING', 'CAPABILITY_RESOURCE_DELETE'],
      org: ['CAPABILITY_SYNC', 'CAPABILITY_PROVISION'],
      service_account: ['CAPABILITY_SYNC'],
      user: ['CAPABILITY_SYNC', 'CAPABILITY_RESOURCE_DELETE'],
      vault: ['CAPABILITY_SYNC', 'CAPABILITY_PROVISION'],
    });
    const cfg = record('config', await runBin([...flags(sim), 'config', ...debug]));
    expect(cfg.stdout).toContain('--organization-id');
  });

  it('a JSONL export and the c1z hold nothing secret', async () => {
    const jsonl = join(dir, 'provisioning.jsonl');
    const r = record('sync jsonl', await runBin([...flags(sim), '--file', jsonl, ...debug]));
    expect(r.code, r.stderr).toBe(0);
    outputs.push({ what: 'jsonl file', text: readFileSync(jsonl) });
    outputs.push({ what: 'c1z file (raw)', text: readFileSync(file) });
    const sqlite = execFileSync('sh', ['-c', `tail -c +6 "$1" | zstd -d`, 'sh', file], {
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(sqlite.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\u0000');
    outputs.push({ what: 'c1z file (decompressed)', text: sqlite });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 3. Faults

describe('faults: 10% 429 and 10% 5xx', () => {
  it('give a sync file identical to a fault-free sync', async () => {
    // Small pages make enough requests for faults to bite.
    const sim = await startSim({ pageSize: 5 });
    const cleanFile = join(dir, 'fault-free.c1z');
    const faultyFile = join(dir, 'faulty.c1z');
    const clean = await runBin([...flags(sim), '--file', cleanFile, '--log-level', 'warn']);
    expect(clean.code, clean.stderr).toBe(0);
    const cleanRequests = sim.log.count();
    expect(sim.log.filter((e) => e.status >= 400)).toEqual([]);

    sim.faults.set({ probabilities: { rateLimit: 0.1, serverError: 0.1 }, retryAfterSeconds: 0, seed: 'vgs-e2e' });
    const from = lastSeq(sim);
    const faulty = await runBin([...flags(sim), '--file', faultyFile, '--log-level', 'warn']);
    expect(faulty.code, faulty.stderr).toBe(0);
    const served = sim.log.filter((e) => e.seq > from);
    const rateLimited = served.filter((e) => e.status === 429).length;
    const serverErrors = served.filter((e) => e.status >= 500).length;
    expect(rateLimited).toBeGreaterThan(0);
    expect(serverErrors).toBeGreaterThan(0);
    expect(served.filter((e) => e.status < 300).length).toBe(cleanRequests);

    const a = await SyncStore.openC1z(cleanFile);
    const b = await SyncStore.openC1z(faultyFile);
    try {
      expect(checkSyncInvariants(a)).toEqual([]);
      const sa = syncSnapshot(a);
      const sb = syncSnapshot(b);
      expect(a.counts()).toEqual(expectedCounts(sim));
      expect(sb.resources).toEqual(sa.resources);
      expect(sb.entitlements).toEqual(sa.entitlements);
      expect(sb.grants).toEqual(sa.grants);
    } finally {
      a.close();
      b.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 4. Bad config

describe('bad config', () => {
  let sim: VgsSimulator;
  beforeAll(async () => {
    sim = await startSim({ dataset: 'tiny', clientSecret: SECRET });
  });

  it('missing flags: exit 1, each named with its variable, no request made', async () => {
    const r = record('missing flags', await runBin(['--base-url', sim.accountsUrl, '--file', join(dir, 'none.c1z')]));
    expect(r.code).toBe(1);
    for (const flag of ['--service-account-client-id', '--service-account-client-secret', '--organization-id']) {
      expect(r.stderr).toContain(flag);
    }
    expect(r.stderr).toContain('BATON_ORGANIZATION_ID');
    expect(sim.log.count()).toBe(0);
    expect(existsSync(join(dir, 'none.c1z'))).toBe(false);
  });

  it('an organization id that is not AC…: exit 1 with where to find it', async () => {
    const args = flags(sim, SECRET);
    args[args.indexOf('--organization-id') + 1] = 'tnto1wfx2gp';
    const r = record('bad org id', await runBin([...args, '--file', join(dir, 'badorg.c1z')]));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--organization-id (BATON_ORGANIZATION_ID) must look like AC…');
    expect(sim.log.count()).toBe(0);
  });

  it('a wrong secret: Validate fails UNAUTHENTICATED naming the flags, one token request, exit 1', async () => {
    const before = sim.log.count();
    const r = record(
      'wrong secret',
      await runBin([...flags(sim, `${SECRET}-but-wrong`), '--file', join(dir, 'wrong.c1z'), ...debug]),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Validate failed: UNAUTHENTICATED/);
    expect(r.stderr).toContain('--service-account-client-secret (BATON_SERVICE_ACCOUNT_CLIENT_SECRET)');
    expect(sim.log.filter((e) => e.seq > before).map((e) => e.status)).toEqual([401]);
    expect(existsSync(join(dir, 'wrong.c1z'))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 5. Secrets

describe('the client secret never appears in output', () => {
  it('none of the captured output contains it (nor its base64 in a Basic header)', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(25);
    const basic = Buffer.from(`c1integration-Sim8Hq2k:${SECRET}`).toString('base64');
    const needles = [SECRET, '3c9d71ab', basic.slice(8, 32)];
    const leaks: string[] = [];
    for (const { what, text } of outputs) {
      const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      for (const n of needles) if (buf.includes(n)) leaks.push(`${what} contains ${n}`);
    }
    expect(leaks).toEqual([]);
    expect(outputs.find((o) => o.what === 'initial sync stderr')!.text).toContain('"level":"debug"');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 6. The bundled simulator command

describe('simulator command', () => {
  it('prints its base URL and a connector config on one line', async () => {
    const child = spawn(node, [BIN, 'simulator', '--log-level', 'warn'], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout!.on('data', (d: Buffer) => {
          buf += d.toString('utf8');
          const nl = buf.indexOf('\n');
          if (nl >= 0) resolve(buf.slice(0, nl));
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const printed = JSON.parse(line) as { baseUrl: string; config: Record<string, string> };
      expect(Object.keys(printed.config).sort()).toEqual([
        'base-url',
        'organization-id',
        'service-account-client-id',
        'service-account-client-secret',
        'token-url',
      ]);
      const res = await fetch(printed.config['token-url']!, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: printed.config['service-account-client-id']!,
          client_secret: printed.config['service-account-client-secret']!,
        }),
      });
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
