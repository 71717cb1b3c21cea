// The reliability suite's table of connectors (docs/reliability.md): for each of the five, how to start its simulator
// with a distinctive secret and small pages (so a sync makes enough API requests for faults to bite), the flags that
// point its bin at that simulator, and, for those that provision, what a grant, a revoke and an account look like in
// the simulator's state. Plus the process helpers every reliability test shares: running a bin, spawning a child
// through the real handshake, reading a sync file back, and finding a process's descendants in /proc.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { SyncStore } from '@baton-ts/shared/c1z';
import { spawnConnector, StartupGate, type ConnectorProcess } from '@baton-ts/shared/host';
import type { FaultConfig, FaultInjector, FaultRequestInfo, RequestLog } from '@baton-ts/shared/simulator';
import {
  envWithoutBaton,
  runProcess,
  simulatorRegistry,
  syncSnapshot,
  type ProcessResult,
  type SyncSnapshot,
} from '@baton-ts/shared/testing';
import { startScimSimulator } from '@baton-ts/shared/scim-simulator';
import { startTwingateSimulator } from '../../packages/twingate/simulator/index.js';
import { startVgsSimulator } from '../../packages/vgs/simulator/index.js';
import { startCeligoSimulator } from '../../packages/celigo/simulator/index.js';
import { binOf } from '../support/scim-e2e.js';

export const node = process.execPath;

/** A running simulator as the reliability tests use it, whatever the API it fakes. */
export interface ReliabilitySim {
  faults: FaultInjector;
  log: RequestLog;
  /** Flags that point the connector at this simulator, with its distinctive secret. */
  flags: string[];
  /** Present when the connector provisions. */
  provisioning?: ProvisioningTargets;
  close(): Promise<void>;
}

/** One principal/entitlement pair the connector can grant and revoke, and how to read it in the simulator. */
interface GrantTarget {
  entitlementId: string;
  principal: { resourceType: string; resource: string };
  /** How many times the principal holds the entitlement in the simulator's state (0 or 1 unless something doubled). */
  held(): number;
}

/** A login the connector can create an account for, and how many accounts carry it in the simulator. */
interface AccountTarget {
  login: string;
  email?: string;
  profile?: Record<string, string>;
  /** Accounts (or pending invitations) in the simulator with this login. */
  count(): number;
  /** The resource the delete RPC removes, once created. */
  resourceTypeId: string;
  /** Whether the account still exists in the simulator (deleted, or for invitations cancelled, is false). */
  exists(id: string): boolean;
}

interface ProvisioningTargets {
  grant: GrantTarget;
  account?: AccountTarget;
  /** The API request that makes a change (where a fault must hit to lose the answer to a write). */
  isWrite(req: FaultRequestInfo): boolean;
}

interface StartOptions {
  faults?: FaultConfig;
  pages?: 'small' | 'api';
}

export interface ConnectorCase {
  name: string;
  bin: string;
  /** The distinctive credential this suite gives the simulator; must never appear in anything the connector prints or writes. */
  secret: string;
  /**
   * Starts the simulator (no rate limit of its own, the distinctive secret) with small pages, so a sync makes
   * enough requests for faults to bite, or with the API's own page size (`pages: 'api'`) where only the records count.
   */
  start(options?: StartOptions): Promise<ReliabilitySim>;
}

const isScimWrite = (req: FaultRequestInfo) => req.method !== 'GET';

export const CONNECTORS: ConnectorCase[] = [
  {
    name: 'twingate',
    bin: binOf('twingate'),
    secret: 'tg-RELIABILITY-SECRET-91c4e7a2',
    async start(options = {}) {
      // Pages of 10 (the simulator serves fewer than the 100 asked for) make ~20 requests on the small dataset.
      const sim = await startTwingateSimulator({
        dataset: 'small',
        apiKey: this.secret,
        rateLimits: { read: 0, write: 0 },
        ...(options.pages === 'api'
          ? {}
          : { maxPageSize: 10, defaultPageSize: 10, pageSizeOverflow: 'clamp' as const }),
        faults: options.faults,
      });
      const group = sim.state
        .listGroups()
        .find((g) => g.type === 'MANUAL' && g.isActive && sim.state.groupMembers(g.id).length < 20)!;
      const user = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
      return {
        faults: sim.faults,
        log: sim.log,
        flags: ['--api-key', sim.apiKey, '--base-url', sim.graphqlUrl, '--domain', 'simulated'],
        provisioning: {
          grant: {
            entitlementId: `group:${group.id}:member`,
            principal: { resourceType: 'user', resource: user.id },
            held: () => (sim.state.isMember(group.id, user.id) ? 1 : 0),
          },
          // Every GraphQL request is a POST; mutations are the writes.
          isWrite: (req) => /^\s*mutation\b/.test(String((req.body as { query?: unknown } | undefined)?.query ?? '')),
        },
        close: () => sim.close(),
      };
    },
  },
  {
    name: 'vgs',
    bin: binOf('vgs'),
    secret: 'vgs-RELIABILITY-SECRET-5d20b8f3',
    async start(options = {}) {
      const sim = await startVgsSimulator({
        dataset: 'small',
        clientSecret: this.secret,
        rateLimits: { read: 0, write: 0 },
        pageSize: options.pages === 'api' ? undefined : 5,
        faults: options.faults,
      });
      const org = sim.organizationId;
      const vault = sim.state.listVaults(new Set([org]))[0]!;
      const user = sim.state.listMembers(org).find((m) => !sim.state.vaultRole(vault.identifier, m.id))!;
      const login = 'reliability.invitee@example.org';
      return {
        faults: sim.faults,
        log: sim.log,
        flags: [
          '--service-account-client-id',
          sim.clientId,
          '--service-account-client-secret',
          sim.clientSecret,
          '--organization-id',
          org,
          '--base-url',
          sim.accountsUrl,
          '--token-url',
          sim.tokenUrl,
        ],
        provisioning: {
          grant: {
            entitlementId: `vault:${vault.identifier}:read`,
            principal: { resourceType: 'user', resource: user.id },
            held: () => (sim.state.vaultRole(vault.identifier, user.id) ? 1 : 0),
          },
          account: {
            login,
            profile: { role: 'user' },
            resourceTypeId: 'invitation',
            count: () => sim.state.pendingInvites(org).filter((i) => i.email === login).length,
            exists: (id) => sim.state.pendingInvites(org).some((i) => i.inviteId === id),
          },
          isWrite: (req) => req.method !== 'GET' && !req.path.startsWith('/auth/'),
        },
        close: () => sim.close(),
      };
    },
  },
  {
    name: 'celigo',
    bin: binOf('celigo'),
    secret: 'celigo-RELIABILITY-SECRET-e8a1f604',
    async start(options = {}) {
      const sim = await startCeligoSimulator({
        dataset: 'small',
        token: this.secret,
        rateLimit: null,
        ...(options.pages === 'api' ? {} : { pageSize: 10, maxPageSize: 10 }),
        faults: options.faults,
      });
      const user = sim.state.listShares().find((s) => s.accessLevel === 'monitor')!;
      return {
        faults: sim.faults,
        log: sim.log,
        flags: ['--celigo-access-token', sim.token, '--base-url', sim.baseUrl],
        provisioning: {
          grant: {
            entitlementId: 'role:manage:assigned',
            principal: { resourceType: 'user', resource: user._id },
            held: () => (sim.state.getShare(user._id)?.accessLevel === 'manage' ? 1 : 0),
          },
          isWrite: (req) => req.method !== 'GET',
        },
        close: () => sim.close(),
      };
    },
  },
  {
    name: 'rudderstack',
    bin: binOf('rudderstack'),
    secret: 'rs-RELIABILITY-SECRET-0f6c93d1',
    async start(options = {}) {
      const sim = await startScimSimulator({
        dataset: 'small',
        token: this.secret,
        maxPageSize: options.pages === 'api' ? undefined : 25,
        faults: options.faults,
      });
      return {
        faults: sim.faults,
        log: sim.log,
        flags: ['--scim-base-url', sim.scimUrl, '--scim-token', sim.token],
        close: () => sim.close(),
      };
    },
  },
  {
    name: 'vega',
    bin: binOf('vega'),
    secret: 'vega-RELIABILITY-SECRET-7b3e25c9',
    async start(options = {}) {
      const sim = await startScimSimulator({
        dataset: 'small',
        basePath: '/scim/v2/org-reliability',
        token: this.secret,
        maxPageSize: options.pages === 'api' ? undefined : 25,
        faults: options.faults,
      });
      const group = sim.state.listGroups().find((g) => sim.state.groupMembers(g.id).length < 50)!;
      const user = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
      const login = 'reliability.newcomer@example.com';
      return {
        faults: sim.faults,
        log: sim.log,
        flags: ['--scim-endpoint', sim.scimUrl, '--scim-token', sim.token],
        provisioning: {
          grant: {
            entitlementId: `group:${group.id}:member`,
            principal: { resourceType: 'user', resource: user.id },
            held: () => (sim.state.isMember(group.id, user.id) ? 1 : 0),
          },
          account: {
            login,
            email: login,
            resourceTypeId: 'user',
            count: () => sim.state.listUsers().filter((u) => u.userName.toLowerCase() === login).length,
            exists: (id) => sim.state.getUser(id) !== undefined,
          },
          isWrite: isScimWrite,
        },
        close: () => sim.close(),
      };
    },
  },
];

/** Fails fast, naming what to do, when a bin has not been built (every connector's by default). */
export function requireBuiltBins(bins: string[] = CONNECTORS.map((c) => c.bin)): void {
  for (const bin of bins) if (!existsSync(bin)) throw new Error(`${bin} is missing: run "npm run build" first`);
}

/**
 * One test file's fixtures: the bins checked before the first test, a temporary directory, and the simulators the
 * file starts, all closed and removed after its last test.
 */
export function reliabilityFixtures(label: string) {
  const sims = simulatorRegistry<ReliabilitySim>();
  let dir = '';
  beforeAll(() => {
    requireBuiltBins();
    dir = mkdtempSync(join(tmpdir(), `reliability-${label}-`));
  });
  afterAll(async () => {
    await sims.closeAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    /** Starts the connector's simulator, closed after the file's last test. */
    start: async (c: ConnectorCase, options?: StartOptions): Promise<ReliabilitySim> =>
      sims.add(await c.start(options)),
    /** A path in the file's temporary directory. */
    path: (name: string) => join(dir, name),
  };
}

/**
 * Bin runs that keep a core busy (a sync that succeeds) wait for one of these slots: the machine has two cores,
 * and a child starved for CPU misses the 5 s a host gives it to become ready. Runs that mostly wait (an API that
 * stays down) pass `busy: false` and start at once.
 */
const busySlots = new StartupGate(3);
async function inSlot<T>(fn: () => Promise<T>): Promise<T> {
  const release = await busySlots.acquire();
  try {
    return await fn();
  } finally {
    release();
  }
}

/** Runs a connector bin to its end as a user does (stdin closed, no BATON_* variable from this process). */
export function runBin(
  c: ConnectorCase,
  args: string[],
  options: { timeoutMs?: number; busy?: boolean } = {},
): Promise<ProcessResult> {
  const run = () =>
    runProcess(node, [c.bin, ...args], { env: envWithoutBaton(), timeoutMs: options.timeoutMs ?? 120_000 });
  return options.busy === false ? run() : inSlot(run);
}

/**
 * Spawns the connector as a Go host does (handshake, mTLS, fd 3) and returns the client side. The tests share a
 * loaded 2-core machine, where a start-up can take longer than the 5 s a Go host waits: 20 s unless `readyLimitMs`
 * says otherwise (start-up time itself is measured in bench/).
 */
export function spawnChild(
  c: ConnectorCase,
  args: string[],
  options: { processGroup?: boolean; readyLimitMs?: number } = {},
): Promise<ConnectorProcess> {
  return spawnConnector({
    command: node,
    args: [c.bin, ...args],
    env: envWithoutBaton(),
    stderr: 'pipe',
    stdout: 'ignore',
    processGroup: options.processGroup,
    dialTimeoutMs: options.readyLimitMs ?? 20_000,
  });
}

/** Every resource, entitlement and grant of a c1z, in a form two files compare by (records, not counts). */
export async function snapshotOf(file: string): Promise<SyncSnapshot> {
  const store = await SyncStore.openC1z(file);
  try {
    return syncSnapshot(store);
  } finally {
    store.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Processes, from Linux /proc
// ---------------------------------------------------------------------------------------------------------------

/** The fields of /proc/<pid>/stat after the command name (state first), or undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether a process still runs: present in /proc and not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== 'Z';
}

/** Every process in /proc with its stat fields. */
function allProcesses(): Array<{ pid: number; fields: string[] }> {
  const found: Array<{ pid: number; fields: string[] }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields) found.push({ pid: Number(entry), fields });
  }
  return found;
}

/** Every live descendant of `root` (children, grandchildren, ...). */
export function descendantsOf(root: number): number[] {
  const parents = new Map(allProcesses().map(({ pid, fields }) => [pid, Number(fields[1])]));
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parents) {
      if (ppid === parent && isRunning(pid)) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

/** The live children of `pid` (e.g. the connector process a host spawned). */
export function childrenOf(pid: number): number[] {
  return allProcesses()
    .filter(({ fields }) => Number(fields[1]) === pid && fields[0] !== 'Z')
    .map((p) => p.pid);
}

/** Live processes whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  return allProcesses()
    .filter(({ fields }) => Number(fields[2]) === pgid && fields[0] !== 'Z')
    .map(({ pid }) => pid);
}

/** How long after `since` every pid in `pids` stopped running (polling /proc each 5 ms, `limitMs` at most). */
export async function goneAfter(pids: number[], since: number, limitMs = 5_000): Promise<number> {
  const deadline = since + limitMs;
  while (pids.some(isRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return Date.now() - since;
}
