// End-to-end tests of baton-twingate: the compiled bin (`packages/twingate/dist/src/main.js`) in real subprocesses
// (the Go-style `_connector-service` handshake, mTLS, fd 3), talking real HTTP to the Twingate simulator on loopback.
// Build first: `npx tsc -b packages/shared packages/twingate` (or `npm test`, which builds).
//
//  1. conformance kit: zero violations, the three types, counts equal to the simulator's state;
//  2. provisioning round trips (MANUAL group membership, DEVOPS role) with a mutation counter read from the
//     simulator's request log; MEMBER revoke refused; SYNCED / SYSTEM groups refused before any API request;
//  3. 10% 429s + 10% 5xx give a sync file identical to a fault-free one;
//  4. bad config and a wrong API key give clear errors and a non-zero exit;
//  5. a distinctive API key never appears in stdout, stderr, the c1z or the JSONL export;
//  6. `serve --listen 127.0.0.1:0` answers reflection and ListResources over plaintext gRPC (grpc-js).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, fromBinary, toBinary, type DescMethod, type MessageShape } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { getOperationAST, parse } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isImmutable } from '@baton-ts/shared';
import { messageToJson, SyncStore } from '@baton-ts/shared/c1z';
import {
  EntitlementSchema,
  GrantSchema,
  ResourceSchema,
  ResourcesService,
  reflectionV1 as reflectionPb,
} from '@baton-ts/shared/pb';
import { grantEntitlement, revokeGrant, RpcError, runSync, spawnConnector } from '@baton-ts/shared/host';
import { checkSyncInvariants, provisioningRoundTrip, runConformance } from '@baton-ts/shared/testing';
import type { RequestLogEntry } from '@baton-ts/shared/simulator';
import {
  startTwingateSimulator,
  type GraphQLRequestInfo,
  type TwingateSimulator,
  type TwingateSimulatorOptions,
  type UserRecord,
} from '../packages/twingate/simulator/index.js';

const BIN = fileURLToPath(new URL('../packages/twingate/dist/src/main.js', import.meta.url));
const node = process.execPath;
const SECRET_KEY = 'tg-SECRET-7f3a9c1e-do-not-log';

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/** The test's environment without any BATON_* variable, so only what a test passes reaches the bin. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BATON_')) env[k] = v;
  return { ...env, ...extra };
}

const sims: TwingateSimulator[] = [];
async function startSim(options: TwingateSimulatorOptions = {}): Promise<TwingateSimulator> {
  const sim = await startTwingateSimulator({ dataset: 'small', rateLimits: { read: 0, write: 0 }, ...options });
  sims.push(sim);
  return sim;
}

/** Flags exactly as a host passes them to a connector. */
function flags(sim: TwingateSimulator, apiKey = sim.apiKey): string[] {
  return ['--api-key', apiKey, '--base-url', sim.graphqlUrl, '--domain', 'simulated'];
}

interface BinResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runBin(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [BIN, ...args], {
      env: options.env ?? cleanEnv(),
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Whether a request-log entry is a GraphQL mutation, read from the logged body (faulted requests included). */
function operationType(entry: RequestLogEntry): string | null {
  const info = entry.info.graphql as GraphQLRequestInfo | undefined;
  if (info?.operationType) return info.operationType;
  const body = entry.body as { query?: unknown; operationName?: unknown } | undefined;
  if (!body || typeof body.query !== 'string') return null;
  try {
    const op = getOperationAST(
      parse(body.query),
      typeof body.operationName === 'string' ? body.operationName : undefined,
    );
    return op?.operation ?? null;
  } catch {
    return null;
  }
}

const mutationCounter = (sim: TwingateSimulator) => () => sim.log.count((e) => operationType(e) === 'mutation');

/** Mutation field calls (e.g. `userRoleUpdate` with its arguments) logged after `fromSeq`. */
function mutationCalls(sim: TwingateSimulator, fromSeq = 0): Array<{ field: string; args: Record<string, unknown> }> {
  return sim.log
    .filter((e) => e.seq > fromSeq && operationType(e) === 'mutation' && e.status === 200)
    .flatMap((e) => ((e.info.graphql as GraphQLRequestInfo).calls ?? []).filter((c) => !c.path.includes('.')))
    .map((c) => ({ field: c.field, args: c.args }));
}

const lastSeq = (sim: TwingateSimulator) => sim.log.last()?.seq ?? 0;

function groupEntitlementId(groupId: string): string {
  return `group:${groupId}:member`;
}

/** A key-sorted JSON text, so objects built in a different key order compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Everything a sync file says, as sorted `id -> canonical protojson` lists. */
function snapshot(store: SyncStore) {
  const byKey = <T>(items: Iterable<T>, key: (t: T) => string, json: (t: T) => unknown) =>
    [...items].map((t) => [key(t), canonical(json(t))] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    resources: byKey(
      store.resources(),
      (r) => `${r.id!.resourceType}:${r.id!.resource}`,
      (r) => messageToJson(ResourceSchema, r),
    ),
    entitlements: byKey(
      store.entitlements(),
      (e) => e.id,
      (e) => messageToJson(EntitlementSchema, e),
    ),
    grants: byKey(
      store.grants(),
      (g) => g.id,
      (g) => messageToJson(GrantSchema, g),
    ),
  };
}

/** Reads one line from a long-running child's stdout. */
function firstStdoutLine(child: ChildProcess, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no stdout line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(buf.slice(0, nl));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing a line`));
    });
  });
}

function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function grpcUnary<M extends DescMethod>(client: grpc.Client, method: M, input: Record<string, unknown>) {
  return new Promise<MessageShape<M['output']>>((resolve, reject) => {
    client.makeUnaryRequest(
      methodPath(method),
      (v: unknown) => Buffer.from(toBinary(method.input, create(method.input, v as never))),
      (b: Buffer) => fromBinary(method.output, b),
      input,
      new grpc.Metadata(),
      { deadline: Date.now() + 30_000 },
      (err, value) => (err ? reject(err) : resolve(value as MessageShape<M['output']>)),
    );
  });
}

function reflectionListServices(client: grpc.Client): Promise<string[]> {
  const method = reflectionPb.ServerReflection.method.serverReflectionInfo;
  const call = client.makeBidiStreamRequest(
    methodPath(method),
    (v: unknown) => Buffer.from(toBinary(method.input, create(method.input, v as never))),
    (b: Buffer) => fromBinary(method.output, b),
  );
  const names: string[] = [];
  const done = new Promise<string[]>((resolve, reject) => {
    call.on('data', (answer: reflectionPb.ServerReflectionResponse) => {
      if (answer.messageResponse.case === 'listServicesResponse')
        names.push(...answer.messageResponse.value.service.map((s) => s.name));
    });
    call.on('end', () => resolve(names));
    call.on('error', reject);
  });
  call.write({ messageRequest: { case: 'listServices', value: '' } });
  call.end();
  return done;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

let dir: string;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npx tsc -b packages/shared packages/twingate" first`);
  dir = mkdtempSync(join(tmpdir(), 'twingate-e2e-'));
});
afterAll(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// 1. Conformance
// ---------------------------------------------------------------------------------------------------------------

describe('conformance through the real bin', () => {
  let sim: TwingateSimulator;
  beforeAll(async () => {
    sim = await startSim();
  });

  function expectMatchesSimulator(store: SyncStore) {
    const users = sim.state.listUsers();
    const groups = sim.state.listGroups();
    // Every member of every group (the "Everyone" group holds all users) and one role grant per user.
    const memberships = groups.reduce((n, g) => n + sim.state.groupMembers(g.id).length, 0);
    expect(store.counts()).toEqual({
      resourceTypes: 3,
      resources: { user: users.length, group: groups.length, role: 5 },
      entitlements: groups.length + 5,
      grants: memberships + users.length,
    });
    for (const g of groups) {
      const principals = [...store.grants({ entitlementId: groupEntitlementId(g.id) })]
        .map((x) => x.principal!.id!.resource)
        .sort();
      expect(principals, `members of ${g.name} (${g.type})`).toEqual(
        sim.state
          .groupMembers(g.id)
          .map((u) => u.id)
          .sort(),
      );
      const ent = store.getEntitlement(groupEntitlementId(g.id));
      expect(isImmutable(ent), `${g.name} (${g.type}) immutable`).toBe(g.type !== 'MANUAL');
    }
    for (const role of ['ADMIN', 'DEVOPS', 'SUPPORT', 'ACCESS_REVIEWER', 'MEMBER']) {
      const principals = [...store.grants({ entitlementId: `role:${role.toLowerCase()}:member` })]
        .map((x) => x.principal!.id!.resource)
        .sort();
      expect(principals, `holders of ${role}`).toEqual(
        users
          .filter((u) => u.role === role)
          .map((u) => u.id)
          .sort(),
      );
    }
  }

  it('has zero violations, the types user/group/role, and the counts of the simulator state (flags)', async () => {
    // The dataset really has a group that needs more than one page at the API's default page size.
    expect(Math.max(...sim.state.listGroups().map((g) => (g.everyone ? 0 : sim.state.groupMembers(g.id).length)))).toBe(
      55,
    );
    const before = sim.log.count();
    const report = await runConformance({
      command: node,
      args: [BIN, ...flags(sim)],
      env: cleanEnv(),
      expectTypes: ['user', 'group', 'role'],
    });
    try {
      expect(report.violations).toEqual([]);
      expect(report.exit).toEqual({ code: 0, signal: null });
      expectMatchesSimulator(report.store);
      for (const pass of report.relist) expect(pass).toMatchObject({ complete: true, resourceTypes: 3, resources: 75 });
      // Sync and re-listing never failed a request.
      expect(sim.log.filter((e) => e.seq > before && e.status !== 200)).toEqual([]);
    } finally {
      report.store.close();
    }
  });

  it('takes the same config from BATON_ variables', async () => {
    const env = cleanEnv({ BATON_API_KEY: sim.apiKey, BATON_BASE_URL: sim.graphqlUrl, BATON_DOMAIN: 'simulated' });
    const report = await runConformance({
      command: node,
      args: [BIN],
      env,
      expectTypes: ['user', 'group', 'role'],
      relistPasses: 0,
    });
    try {
      expect(report.violations).toEqual([]);
      expectMatchesSimulator(report.store);
    } finally {
      report.store.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 2. Provisioning
// ---------------------------------------------------------------------------------------------------------------

describe('provisioning through the real bin', () => {
  let sim: TwingateSimulator;
  let store: SyncStore;
  beforeAll(async () => {
    sim = await startSim();
    const proc = await spawnConnector({ command: node, args: [BIN, ...flags(sim)], env: cleanEnv(), stderr: 'pipe' });
    store = SyncStore.create();
    try {
      await runSync(proc.client, store);
    } finally {
      await proc.close();
    }
  });
  afterAll(() => store?.close());

  it('round-trips a MANUAL group membership (groupUpdate), mutating exactly on the first grant and revoke', async () => {
    const group = sim.state
      .listGroups()
      .find((g) => g.type === 'MANUAL' && g.isActive && sim.state.groupMembers(g.id).length === 55)!;
    expect(group).toBeDefined();
    const user = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    const from = lastSeq(sim);
    const report = await provisioningRoundTrip({
      command: node,
      args: [BIN, ...flags(sim)],
      env: cleanEnv(),
      entitlementId: groupEntitlementId(group.id),
      principal: { resourceType: 'user', resource: user.id },
      mutationCount: mutationCounter(sim),
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
    expect(sim.state.isMember(group.id, user.id)).toBe(false);
    expect(mutationCalls(sim, from)).toEqual([
      { field: 'groupUpdate', args: { id: group.id, addedUserIds: [user.id] } },
      { field: 'groupUpdate', args: { id: group.id, removedUserIds: [user.id] } },
    ]);
  });

  it('round-trips the DEVOPS role on a MEMBER user (userRoleUpdate); after the revoke the user is MEMBER again', async () => {
    const user = sim.state.listUsers().find((u) => u.role === 'MEMBER' && u.state === 'ACTIVE')!;
    const from = lastSeq(sim);
    const report = await provisioningRoundTrip({
      command: node,
      args: [BIN, ...flags(sim)],
      // Each sync in its own process, as separate CLI runs would do.
      syncArgs: [BIN, ...flags(sim)],
      env: cleanEnv(),
      entitlementId: 'role:devops:member',
      principal: { resourceType: 'user', resource: user.id },
      mutationCount: mutationCounter(sim),
      requireMutation: true,
    });
    expect(report.violations).toEqual([]);
    expect(sim.state.getUser(user.id)!.role).toBe('MEMBER');
    expect(mutationCalls(sim, from)).toEqual([
      { field: 'userRoleUpdate', args: { id: user.id, role: 'DEVOPS' } },
      { field: 'userRoleUpdate', args: { id: user.id, role: 'MEMBER' } },
    ]);
  });

  describe('refusals (RPC through the handshake)', () => {
    let proc: Awaited<ReturnType<typeof spawnConnector>>;
    beforeAll(async () => {
      proc = await spawnConnector({
        command: node,
        args: [BIN, ...flags(sim), '--provisioning'],
        env: cleanEnv(),
        stderr: 'pipe',
      });
    });
    afterAll(async () => proc?.close());

    it('revoking the MEMBER role is INVALID_ARGUMENT and says to grant another role', async () => {
      const user = sim.state.listUsers().find((u) => u.role === 'MEMBER')!;
      const before = sim.log.count();
      const err = await revokeGrant(proc.client, store, `role:member:member:user:${user.id}`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect((err as RpcError).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((err as RpcError).message).toMatch(/cannot revoke the Member role.*grant a different role/);
      expect(sim.log.count()).toBe(before);
      expect(sim.state.getUser(user.id)!.role).toBe('MEMBER');
    });

    for (const type of ['SYNCED', 'SYSTEM'] as const) {
      it(`granting membership of a ${type} group is FAILED_PRECONDITION with no API request at all`, async () => {
        const group = sim.state.listGroups().find((g) => g.type === type)!;
        const user =
          sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id)) ?? sim.state.listUsers()[0]!;
        const before = sim.log.count();
        const err = await grantEntitlement(proc.client, store, {
          entitlementId: groupEntitlementId(group.id),
          principalType: 'user',
          principalId: user.id,
        }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RpcError);
        expect((err as RpcError).code).toBe(grpc.status.FAILED_PRECONDITION);
        expect((err as RpcError).message).toMatch(
          type === 'SYNCED' ? /SYNCED group.*identity provider/ : /SYSTEM group/,
        );
        expect(sim.log.count()).toBe(before);
      });
    }
  });

  describe('refusals (one-shot CLI)', () => {
    let file: string;
    beforeAll(async () => {
      file = join(dir, 'provisioning.c1z');
      const r = await runBin([...flags(sim), '--file', file, '--log-level', 'warn']);
      expect(r.code).toBe(0);
    });

    it('--revoke-grant of a MEMBER role grant exits 1 with INVALID_ARGUMENT', async () => {
      const user = sim.state.listUsers().find((u) => u.role === 'MEMBER')!;
      const before = sim.log.count();
      const r = await runBin([...flags(sim), '--file', file, '--revoke-grant', `role:member:member:user:${user.id}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/INVALID_ARGUMENT: .*grant a different role/);
      expect(sim.log.count()).toBe(before);
    });

    for (const type of ['SYNCED', 'SYSTEM'] as const) {
      it(`--grant-entitlement on a ${type} group exits 1 with FAILED_PRECONDITION and makes no request`, async () => {
        const group = sim.state.listGroups().find((g) => g.type === type)!;
        const user =
          sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id)) ?? sim.state.listUsers()[0]!;
        const before = sim.log.count();
        const r = await runBin([
          ...flags(sim),
          '--file',
          file,
          '--grant-entitlement',
          groupEntitlementId(group.id),
          '--grant-principal',
          user.id,
          '--grant-principal-type',
          'user',
        ]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('FAILED_PRECONDITION');
        expect(r.stderr).toContain(`${type} group`);
        expect(sim.log.count()).toBe(before);
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 3. Faults
// ---------------------------------------------------------------------------------------------------------------

describe('faults: 10% 429 and 10% 5xx', () => {
  it('give a sync file identical to a fault-free sync', async () => {
    // `medium` (1,000 users, 100 groups, groups of up to 400 members) makes enough requests for faults to bite.
    const sim = await startSim({ dataset: 'medium' });
    const cleanFile = join(dir, 'fault-free.c1z');
    const faultyFile = join(dir, 'faulty.c1z');

    const clean = await runBin([...flags(sim), '--file', cleanFile, '--log-level', 'warn']);
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    const cleanRequests = sim.log.count();
    expect(sim.log.filter((e) => e.status !== 200)).toEqual([]);

    sim.faults.set({ probabilities: { rateLimit: 0.1, serverError: 0.1 }, retryAfterSeconds: 0, seed: 'twingate-e2e' });
    const from = lastSeq(sim);
    const faulty = await runBin([...flags(sim), '--file', faultyFile, '--log-level', 'warn']);
    expect(faulty.code, faulty.stderr).toBe(0);
    const served = sim.log.filter((e) => e.seq > from);
    const rateLimited = served.filter((e) => e.status === 429).length;
    const serverErrors = served.filter((e) => e.status >= 500).length;
    // Faults really happened, and every one of them was retried: successes equal the fault-free request count.
    expect(rateLimited).toBeGreaterThan(0);
    expect(serverErrors).toBeGreaterThan(0);
    expect(served.filter((e) => e.status === 200).length).toBe(cleanRequests);
    expect(served.length).toBe(cleanRequests + rateLimited + serverErrors);

    const a = await SyncStore.openC1z(cleanFile);
    const b = await SyncStore.openC1z(faultyFile);
    try {
      expect(checkSyncInvariants(a)).toEqual([]);
      expect(checkSyncInvariants(b)).toEqual([]);
      const sa = snapshot(a);
      const sb = snapshot(b);
      expect(sa.resources.length).toBe(1_000 + 100 + 5);
      expect(sa.grants.length).toBeGreaterThan(5_000);
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
// ---------------------------------------------------------------------------------------------------------------

describe('bad config', () => {
  let sim: TwingateSimulator;
  beforeAll(async () => {
    sim = await startSim({ dataset: 'tiny' });
  });

  it('missing --api-key: exit 1, names --api-key and BATON_API_KEY, no request made', async () => {
    const r = await runBin(['--base-url', sim.graphqlUrl, '--domain', 'simulated', '--file', join(dir, 'nokey.c1z')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--api-key');
    expect(r.stderr).toContain('BATON_API_KEY');
    expect(sim.log.count()).toBe(0);
    expect(existsSync(join(dir, 'nokey.c1z'))).toBe(false);
  });

  it('bad --domain (acme.example.com): exit 1, names --domain and BATON_DOMAIN', async () => {
    const r = await runBin([
      '--api-key',
      'tg-whatever',
      '--domain',
      'acme.example.com',
      '--file',
      join(dir, 'baddomain.c1z'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--domain');
    expect(r.stderr).toContain('BATON_DOMAIN');
    expect(r.stderr).toContain('acme.example.com');
  });

  it('bad BATON_DOMAIN from the environment is reported the same way', async () => {
    const r = await runBin(['--file', join(dir, 'baddomain2.c1z')], {
      env: cleanEnv({ BATON_API_KEY: 'tg-whatever', BATON_DOMAIN: 'acme.example.com' }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--domain \(BATON_DOMAIN\)/);
  });

  it('a wrong API key: Validate fails with a clear UNAUTHENTICATED error about the key, exit 1', async () => {
    const before = sim.log.count();
    const r = await runBin([...flags(sim, 'tg-wrong-key'), '--file', join(dir, 'wrongkey.c1z')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Validate failed: UNAUTHENTICATED/);
    expect(r.stderr).toMatch(/API key/);
    expect(r.stderr).toContain('--api-key (BATON_API_KEY)');
    expect(r.stderr).not.toContain('tg-wrong-key');
    // One request, refused with 401; a 401 is not retried.
    expect(sim.log.filter((e) => e.seq > before).map((e) => e.status)).toEqual([401]);
    expect(existsSync(join(dir, 'wrongkey.c1z'))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 5. Secrets
// ---------------------------------------------------------------------------------------------------------------

describe('the API key never appears in output', () => {
  const outputs: Array<{ what: string; text: string | Buffer }> = [];
  let sim: TwingateSimulator;
  beforeAll(async () => {
    sim = await startSim({ apiKey: SECRET_KEY });
  });
  afterEach(() => sim.faults.clear());

  const debug = ['--log-level', 'debug'];
  const record = (what: string, r: BinResult) => {
    outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
  };
  const c1zFile = () => join(dir, 'secret.c1z');

  it('sync to c1z and to JSONL (flag and BATON_API_KEY)', async () => {
    const a = await runBin([...flags(sim), '--file', c1zFile(), ...debug]);
    expect(a.code, a.stderr).toBe(0);
    record('sync c1z', a);
    const jsonl = join(dir, 'secret.jsonl');
    const b = await runBin(['--base-url', sim.graphqlUrl, '--domain', 'simulated', '--file', jsonl, ...debug], {
      env: cleanEnv({ BATON_API_KEY: SECRET_KEY }),
    });
    expect(b.code, b.stderr).toBe(0);
    record('sync jsonl', b);
    outputs.push({ what: 'jsonl file', text: readFileSync(jsonl) });
    outputs.push({ what: 'c1z file (raw)', text: readFileSync(c1zFile()) });
    const sqlite = execFileSync('sh', ['-c', `tail -c +6 "$1" | zstd -d`, 'sh', c1zFile()], {
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(sqlite.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\u0000');
    outputs.push({ what: 'c1z file (decompressed)', text: sqlite });
  });

  it('grant and revoke (one-shot), and a grant failing on a forced 500', async () => {
    const group = sim.state.listGroups().find((g) => g.type === 'MANUAL' && g.isActive)!;
    const [u1, u2] = sim.state.listUsers().filter((u) => !sim.state.isMember(group.id, u.id)) as [
      UserRecord,
      UserRecord,
    ];
    const grantArgs = (u: UserRecord) => [
      '--grant-entitlement',
      groupEntitlementId(group.id),
      '--grant-principal',
      u.id,
      '--grant-principal-type',
      'user',
    ];
    const g = await runBin([...flags(sim), '--file', c1zFile(), ...grantArgs(u1), ...debug]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toBe('granted\n');
    record('grant', g);
    // Provisioning looks ids up in the sync file: sync again so the new grant is in it.
    const s = await runBin([...flags(sim), '--file', c1zFile(), ...debug]);
    expect(s.code, s.stderr).toBe(0);
    record('sync after grant', s);
    const rv = await runBin([
      ...flags(sim),
      '--file',
      c1zFile(),
      '--revoke-grant',
      `${groupEntitlementId(group.id)}:user:${u1.id}`,
      ...debug,
    ]);
    expect(rv.code, rv.stderr).toBe(0);
    record('revoke', rv);

    // The membership pre-read passes, the groupUpdate mutation gets a 500 (not retried: it may have been applied).
    sim.faults.set({ rules: [{ fault: { kind: 'serverError', status: 500 }, nth: 2 }] });
    const f = await runBin([...flags(sim), '--file', c1zFile(), ...grantArgs(u2), ...debug]);
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/500/);
    record('failing grant', f);
  });

  // A sync against a server that only answers 500 is not used here: the host retries Validate 10 times (each with 5
  // HTTP attempts) and takes ~105 s to give up. The forced 500 above covers a failing API call.
  it('a wrong domain and a wrong key', async () => {
    const d = await runBin([
      '--api-key',
      SECRET_KEY,
      '--domain',
      'acme.example.com',
      '--file',
      join(dir, 'x.c1z'),
      ...debug,
    ]);
    expect(d.code).toBe(1);
    record('bad domain', d);
    const k = await runBin([...flags(sim, `${SECRET_KEY}-but-wrong`), '--file', join(dir, 'y.c1z'), ...debug]);
    expect(k.code).toBe(1);
    expect(k.stderr).toMatch(/UNAUTHENTICATED/);
    record('wrong key', k);
  });

  it('capabilities and config', async () => {
    const c = await runBin([...flags(sim), 'capabilities', ...debug]);
    expect(c.code, c.stderr).toBe(0);
    const caps = JSON.parse(c.stdout);
    const capsOf = (id: string) =>
      (caps.resourceTypeCapabilities as Array<{ resourceType: { id: string }; capabilities: string[] }>).find(
        (c) => c.resourceType.id === id,
      )?.capabilities;
    expect(capsOf('group')).toEqual(['CAPABILITY_SYNC', 'CAPABILITY_PROVISION']);
    expect(capsOf('role')).toEqual(['CAPABILITY_SYNC', 'CAPABILITY_PROVISION']);
    expect(capsOf('user')).toEqual(['CAPABILITY_SYNC']);
    record('capabilities', c);
    const cfg = await runBin([...flags(sim), 'config', ...debug]);
    expect(cfg.code, cfg.stderr).toBe(0);
    expect(cfg.stdout).toContain('api-key');
    record('config', cfg);
  });

  it('serve, briefly', async () => {
    const child = spawn(node, [BIN, ...flags(sim), 'serve', '--listen', '127.0.0.1:0', ...debug], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    try {
      const line = await firstStdoutLine(child);
      const address = /on (127\.0\.0\.1:\d+)/.exec(line)![1]!;
      const client = new grpc.Client(address, grpc.credentials.createInsecure());
      try {
        const res = await grpcUnary(client, ResourcesService.method.listResources, { resourceTypeId: 'user' });
        expect(res.list.length).toBeGreaterThan(0);
        await expect(
          grpcUnary(client, ResourcesService.method.listResources, { resourceTypeId: 'nope' }),
        ).rejects.toMatchObject({
          code: grpc.status.NOT_FOUND,
          details: expect.stringContaining('unknown resource type nope'),
        });
      } finally {
        client.close();
      }
    } finally {
      child.kill('SIGTERM');
      await exitOf(child);
    }
    outputs.push({ what: 'serve stdout', text: stdout }, { what: 'serve stderr', text: stderr });
  });

  it('none of the captured output contains the key (nor its base64)', () => {
    expect(outputs.length).toBe(25);
    const needles = [SECRET_KEY, 'SECRET-7f3a9c1e', Buffer.from(SECRET_KEY).toString('base64').slice(0, 24)];
    const leaks: string[] = [];
    for (const { what, text } of outputs) {
      const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      for (const n of needles) if (buf.includes(n)) leaks.push(`${what} contains ${n}`);
    }
    expect(leaks).toEqual([]);
    // Debug logging was really on (there was something to leak into).
    expect(outputs.find((o) => o.what === 'sync c1z stderr')!.text).toContain('"level":"debug"');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 6. serve over plaintext gRPC (grpcurl's job, done with grpc-js)
// ---------------------------------------------------------------------------------------------------------------

describe('serve --listen 127.0.0.1:0', () => {
  it('prints its address and answers a reflection list and ListResources in plaintext', async () => {
    const sim = await startSim();
    const child = spawn(node, [BIN, ...flags(sim), 'serve', '--listen', '127.0.0.1:0', '--log-level', 'warn'], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    try {
      const line = await firstStdoutLine(child);
      const m = /^serving gRPC \(and Connect\) on (127\.0\.0\.1:(\d+)) \(plaintext\)$/.exec(line);
      expect(m, line).not.toBeNull();
      expect(Number(m![2])).toBeGreaterThan(0);
      const client = new grpc.Client(m![1]!, grpc.credentials.createInsecure());
      try {
        const services = await reflectionListServices(client);
        expect(services).toEqual(
          expect.arrayContaining([
            'c1.connector.v2.ConnectorService',
            'c1.connector.v2.ResourcesService',
            'c1.connector.v2.GrantManagerService',
            'grpc.reflection.v1.ServerReflection',
          ]),
        );
        const groups = await grpcUnary(client, ResourcesService.method.listResources, {
          resourceTypeId: 'group',
          pageSize: 100,
        });
        expect(groups.list.map((r) => r.id!.resource).sort()).toEqual(
          sim.state
            .listGroups()
            .map((g) => g.id)
            .sort(),
        );
        expect(groups.nextPageToken).toBe('');
        const users: string[] = [];
        let token = '';
        do {
          const page = await grpcUnary(client, ResourcesService.method.listResources, {
            resourceTypeId: 'user',
            pageSize: 25,
            pageToken: token,
          });
          users.push(...page.list.map((r) => r.id!.resource));
          token = page.nextPageToken;
        } while (token);
        expect(users.sort()).toEqual(
          sim.state
            .listUsers()
            .map((u) => u.id)
            .sort(),
        );
      } finally {
        client.close();
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exitOf(child)).toBe(0);
    expect(stderr).toBe('');
  });
});
