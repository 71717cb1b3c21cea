/**
 * How the conformance checks reach a connector: spawned exactly as a Go host spawns it (host/spawn.ts:
 * `_connector-service`, the listener as fd 3, Ed25519 mutual TLS, every call behind the rate-limit gate), or at an
 * address where it already serves plaintext gRPC (`serve`). Every call is timed for the lifecycle check, and a
 * spawned connector runs in its own process group so the processes it leaves behind can be found.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import {
  GrpcConnectorClient,
  spawnConnector,
  type ConnectorClient,
  type ConnectorProcess,
  type ExitStatus,
} from '../host/index.js';
import type { ResourceId } from '../gen/c1/connector/v2/resource_pb.js';
import type { Logger } from '../log/logger.js';
import { GRPC_LOOPBACK_CHANNEL_OPTIONS } from '../tls/grpc-credentials.js';
import { resourceKey } from '../util/text.js';

/** What to check: a connector executable to spawn, or an address where one serves plaintext gRPC. */
export type ConnectorTarget =
  | {
      kind: 'spawn';
      /** Executable (e.g. `baton-twingate`, or `process.execPath` with the script as the first argument). */
      command: string;
      /** Arguments before `_connector-service` (the connector's own flags). */
      args: string[];
      env?: NodeJS.ProcessEnv;
      cwd?: string;
      /** Connector stderr: `'pipe'` (default: kept for reports) or `'inherit'` (also shown). */
      stderr?: 'inherit' | 'pipe';
    }
  | { kind: 'serve'; address: string };

/** How long a Go host keeps dialing a freshly spawned connector before it gives up. */
export const GO_HOST_DIAL_LIMIT_MS = 5_000;

// ---------------------------------------------------------------------------------------------------------------
// Call timing
// ---------------------------------------------------------------------------------------------------------------

export interface TimedCall {
  what: string;
  ms: number;
}

/** Times every call made through it: the slowest, the ones over the limit, and the ones still waiting. */
export class CallClock {
  calls = 0;
  slowest: TimedCall | undefined;
  /** The first calls that took longer than the limit, and how many did. */
  readonly late: TimedCall[] = [];
  lateCount = 0;
  private readonly open = new Map<number, { what: string; started: number }>();
  private nextId = 0;

  constructor(readonly limitMs: number) {}

  async time<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const id = this.nextId++;
    const started = Date.now();
    this.open.set(id, { what, started });
    try {
      return await fn();
    } finally {
      this.open.delete(id);
      const ms = Date.now() - started;
      this.calls++;
      if (!this.slowest || ms > this.slowest.ms) this.slowest = { what, ms };
      if (ms > this.limitMs) {
        this.lateCount++;
        if (this.late.length < 5) this.late.push({ what, ms });
      }
    }
  }

  /** Calls still waiting for an answer, with how long they have waited. */
  pending(now = Date.now()): TimedCall[] {
    return [...this.open.values()].map((c) => ({ what: c.what, ms: now - c.started }));
  }
}

/** gRPC method name of each client method, for messages. */
const RPC_NAMES: Record<string, string> = {
  getMetadata: 'GetMetadata',
  validate: 'Validate',
  cleanup: 'Cleanup',
  listResourceTypes: 'ListResourceTypes',
  listResources: 'ListResources',
  getResource: 'GetResource',
  listEntitlements: 'ListEntitlements',
  listStaticEntitlements: 'ListStaticEntitlements',
  listGrants: 'ListGrants',
  grant: 'Grant',
  revoke: 'Revoke',
  createResource: 'CreateResource',
  deleteResource: 'DeleteResource',
  deleteResourceV2: 'DeleteResourceV2',
  createAccount: 'CreateAccount',
  rotateCredential: 'RotateCredential',
};

function describeCall(method: string, req: unknown): string {
  const r = (req ?? {}) as { resourceTypeId?: string; resource?: { id?: ResourceId }; parentResourceId?: ResourceId };
  const parts: string[] = [];
  if (r.resourceTypeId) parts.push(r.resourceTypeId);
  if (r.resource?.id) parts.push(resourceKey(r.resource.id));
  if (r.parentResourceId?.resource) parts.push(`parent ${resourceKey(r.parentResourceId)}`);
  return `${RPC_NAMES[method] ?? method}${parts.length ? `(${parts.join(', ')})` : ''}`;
}

type AnyCall = (req: unknown, opts: unknown) => Promise<unknown>;

/** `inner` with every connector RPC timed by `clock`. */
function timedClient(inner: ConnectorClient, clock: CallClock): ConnectorClient {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || !(prop in RPC_NAMES) || typeof value !== 'function') return value;
      const call = value as AnyCall;
      return (req: unknown, opts: unknown) => clock.time(describeCall(prop, req), () => call.call(target, req, opts));
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------------------------

/** One connection to the connector under test. */
export interface Session {
  /** Connector RPCs, behind the rate-limit gate, timed. */
  client: ConnectorClient;
  /** The same channel, for methods outside the connector services (`unary()`: Do, Report, health). */
  grpc: GrpcConnectorClient;
  /** Times the calls (time `grpc` calls with it too). */
  clock: CallClock;
  /** The spawned process (undefined for `serve` targets). */
  proc?: ConnectorProcess;
  /** Milliseconds from spawn to a ready channel. */
  startupMs: number;
  /** Whether provisioning was switched on (`--provisioning`). */
  provisioning: boolean;
  /** The process exited on its own (before `close()`). */
  exitedEarly(): boolean;
  /** Close the channel and, for a spawned connector, its stdin; resolves when it has exited. */
  close(): Promise<void>;
}

export interface OpenSessionOptions {
  /** Add `--provisioning` to the connector's arguments (a Go connector serves Grant/Revoke only with it). */
  provisioning?: boolean;
  clock: CallClock;
  /** How long to wait for the connector to become ready (default 30 s; the lifecycle check compares with 5 s). */
  startupTimeoutMs?: number;
  /** After stdin closes, how long `close()` waits before SIGKILL (default 3 s). */
  closeGraceMs?: number;
  logger?: Logger;
}

function withProvisioning(args: string[]): string[] {
  const on = args.some((a) => a === '-p' || a === '--provisioning' || a.startsWith('--provisioning='));
  return on ? args : [...args, '--provisioning'];
}

/** Connects to the target; throws when the connector cannot be started or reached (the caller reports why). */
export async function openSession(target: ConnectorTarget, options: OpenSessionOptions): Promise<Session> {
  const t0 = Date.now();
  if (target.kind === 'serve') {
    const channel = new grpc.Client(target.address, grpc.credentials.createInsecure(), GRPC_LOOPBACK_CHANNEL_OPTIONS);
    await new Promise<void>((resolve, reject) =>
      channel.waitForReady(Date.now() + (options.startupTimeoutMs ?? GO_HOST_DIAL_LIMIT_MS), (err) =>
        err ? reject(new Error(`cannot reach ${target.address}: ${err.message}`, { cause: err })) : resolve(),
      ),
    );
    const client = new GrpcConnectorClient(channel, { logger: options.logger });
    return {
      client: timedClient(client, options.clock),
      grpc: client,
      clock: options.clock,
      startupMs: Date.now() - t0,
      provisioning: options.provisioning ?? false,
      exitedEarly: () => false,
      close: async () => client.close(),
    };
  }
  const args = options.provisioning ? withProvisioning(target.args) : target.args;
  const proc = await spawnConnector({
    command: target.command,
    args,
    env: target.env,
    cwd: target.cwd,
    stderr: target.stderr ?? 'pipe',
    // stdout carries the report (--json); a connector's stray output must not corrupt it.
    stdout: 'ignore',
    processGroup: true,
    dialTimeoutMs: options.startupTimeoutMs ?? 30_000,
    closeGraceMs: options.closeGraceMs ?? 3_000,
    logger: options.logger,
  });
  let exitedOnItsOwn = false;
  let closing = false;
  void proc.exited.then(() => {
    if (!closing) exitedOnItsOwn = true;
  });
  return {
    client: timedClient(proc.client, options.clock),
    grpc: proc.grpcClient,
    clock: options.clock,
    proc,
    startupMs: Date.now() - t0,
    provisioning: options.provisioning ?? false,
    exitedEarly: () => exitedOnItsOwn,
    close: () => {
      closing = true;
      return proc.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Exit and orphans
// ---------------------------------------------------------------------------------------------------------------

export interface ExitObservation {
  status: ExitStatus;
  /** Milliseconds from the trigger (stdin closed, or SIGTERM) to the exit. */
  ms: number;
  /** The process did not exit within the grace period and was killed. */
  killed: boolean;
}

/** Closes the session (channel, then stdin, as a Go host does) and measures how long the process takes to exit. */
export async function closeAndObserve(session: Session): Promise<ExitObservation | undefined> {
  const proc = session.proc;
  if (!proc) {
    await session.close();
    return undefined;
  }
  const t0 = Date.now();
  await session.close();
  const status = await proc.exited;
  return { status, ms: Date.now() - t0, killed: status.signal === 'SIGKILL' };
}

/** Sends SIGTERM and measures how long the process takes to exit (killed after `graceMs`). */
export async function terminateAndObserve(session: Session, graceMs = 3_000): Promise<ExitObservation | undefined> {
  const proc = session.proc;
  if (!proc) return undefined;
  const t0 = Date.now();
  try {
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    proc.exited.then((s) => ({ s, ms: Date.now() - t0 })),
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), graceMs))),
  ]);
  clearTimeout(timer);
  if (exited) {
    await session.close();
    return { status: exited.s, ms: exited.ms, killed: false };
  }
  await session.close(); // closes stdin, then SIGKILL after the session's grace period
  return { status: await proc.exited, ms: Date.now() - t0, killed: true };
}

export interface GroupMember {
  pid: number;
  command: string;
}

/** Whether any process is left in process group `pgid`. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The processes of group `pgid`, from /proc (empty where there is no /proc). */
function groupMembers(pgid: number): GroupMember[] {
  const out: GroupMember[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(entry), command: cmdline || stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

/**
 * After the connector exited: the processes it started that are still running (its process group is not empty
 * within `graceMs`). They are killed before this returns, so a check never leaves them behind.
 */
export async function findOrphans(session: Session, graceMs = 500): Promise<GroupMember[] | undefined> {
  const proc = session.proc;
  if (!proc) return undefined;
  const pgid = proc.pid;
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) {
      const members = groupMembers(pgid);
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      return members.length > 0 ? members : [{ pid: pgid, command: '(a process of the connector process group)' }];
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return [];
}
