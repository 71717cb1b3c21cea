/**
 * Helpers for end-to-end tests and benchmarks that run a connector bin as a user does (a plain subprocess, flags,
 * `BATON_*` variables) and compare the sync files it writes.
 */
import { spawn } from 'node:child_process';
import { EntitlementSchema } from '../gen/c1/connector/v2/entitlement_pb.js';
import { GrantSchema } from '../gen/c1/connector/v2/grant_pb.js';
import { ResourceSchema } from '../gen/c1/connector/v2/resource_pb.js';
import { messageToJson, type SyncStore } from '../c1z/index.js';

/** This process's environment without any `BATON_*` variable, plus `extra`: only what a test passes reaches the bin. */
export function envWithoutBaton(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BATON_')) env[k] = v;
  return { ...env, ...extra };
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end (stdin closed) and collects its output; killed with SIGKILL after `timeoutMs`
 * (default 90 s). Asynchronous, so a simulator in the calling process keeps answering while it runs.
 */
export function runProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** JSON text with object keys sorted, so equal values built in a different key order compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export interface SyncSnapshot {
  /** `[type:id, canonical protojson]`, sorted by key. */
  resources: Array<readonly [string, string]>;
  entitlements: Array<readonly [string, string]>;
  grants: Array<readonly [string, string]>;
}

/**
 * Everything a sync file says, in a form two files can be compared by (`expect(a).toEqual(b)`): every resource,
 * entitlement and grant as canonical protojson, sorted by id. Sync ids and timestamps of the file are left out.
 */
export function syncSnapshot(store: SyncStore): SyncSnapshot {
  const sorted = <T>(items: Iterable<T>, key: (t: T) => string, json: (t: T) => unknown) =>
    [...items].map((t) => [key(t), canonicalJson(json(t))] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    resources: sorted(
      store.resources(),
      (r) => `${r.id!.resourceType}:${r.id!.resource}`,
      (r) => messageToJson(ResourceSchema, r),
    ),
    entitlements: sorted(
      store.entitlements(),
      (e) => e.id,
      (e) => messageToJson(EntitlementSchema, e),
    ),
    grants: sorted(
      store.grants(),
      (g) => g.id,
      (g) => messageToJson(GrantSchema, g),
    ),
  };
}
