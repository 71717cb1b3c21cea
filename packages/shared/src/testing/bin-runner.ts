/**
 * Helpers for end-to-end tests that run a connector's bin as a subprocess (syncs, one-shot provisioning, config
 * errors) and compare the sync files it writes.
 */
import { spawn } from 'node:child_process';
import type { SyncStore } from '../c1z/index.js';
import { messageToJson } from '../c1z/protojson.js';
import { EntitlementSchema } from '../gen/c1/connector/v2/entitlement_pb.js';
import { GrantSchema } from '../gen/c1/connector/v2/grant_pb.js';
import { ResourceSchema } from '../gen/c1/connector/v2/resource_pb.js';

/** The current environment without any `BATON_*` variable (so only what a test passes reaches the bin), plus `extra`. */
export function batonFreeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BATON_')) env[k] = v;
  return { ...env, ...extra };
}

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `command args` to completion (killed after `timeoutMs`, default 90 s), capturing stdout and stderr. */
export function runCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? batonFreeEnv(),
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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

/** JSON text with object keys sorted, so messages built in a different key order compare equal. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export type SnapshotRows = Array<readonly [id: string, json: string]>;

/** Everything a sync file holds, as `id -> canonical protojson` rows sorted by id (for comparing two syncs). */
export function syncSnapshot(store: SyncStore): {
  resources: SnapshotRows;
  entitlements: SnapshotRows;
  grants: SnapshotRows;
} {
  const rows = <T>(items: Iterable<T>, key: (t: T) => string, json: (t: T) => unknown): SnapshotRows =>
    [...items].map((t) => [key(t), canonicalJson(json(t))] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    resources: rows(
      store.resources(),
      (r) => `${r.id!.resourceType}:${r.id!.resource}`,
      (r) => messageToJson(ResourceSchema, r),
    ),
    entitlements: rows(
      store.entitlements(),
      (e) => e.id,
      (e) => messageToJson(EntitlementSchema, e),
    ),
    grants: rows(
      store.grants(),
      (g) => g.id,
      (g) => messageToJson(GrantSchema, g),
    ),
  };
}
