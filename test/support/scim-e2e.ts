// Helpers of the SCIM connectors' end-to-end tests (test/rudderstack-e2e.test.ts, test/vega-e2e.test.ts): run a
// bundled bin as a subprocess with a clean environment, read a sync file back, and compare it with the simulator.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { messageToJson, type SyncStore } from '@baton-ts/shared/c1z';
import { EntitlementSchema, GrantSchema, ResourceSchema } from '@baton-ts/shared/pb';
import {
  scimSimulatorSet,
  scimSyncMismatches,
  type ScimSimulator,
  type ScimSimulatorOptions,
} from '@baton-ts/shared/scim-simulator';

/** The bundled bin of a connector package, as npm links it (`packages/<name>/dist/bin/baton-<name>.mjs`). */
export function binOf(name: string): string {
  return fileURLToPath(new URL(`../../packages/${name}/dist/bin/baton-${name}.mjs`, import.meta.url));
}

/** The test's environment without any BATON_* variable, so only what a test passes reaches the bin. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BATON_')) env[k] = v;
  return { ...env, ...extra };
}

export interface BinResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runBin(bin: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Differences between a sync file and the simulator's data (empty: complete and exact). */
export function storeMismatches(sim: ScimSimulator, store: SyncStore): string[] {
  return scimSyncMismatches(sim, {
    resources: [...store.resources()],
    entitlements: [...store.entitlements()],
    grants: [...store.grants()],
  });
}

/** Everything a sync file says, as sorted protojson texts, for comparing two syncs. */
export function snapshot(store: SyncStore): string[] {
  const rows = [
    ...[...store.resources()].map((r) => JSON.stringify(messageToJson(ResourceSchema, r))),
    ...[...store.entitlements()].map((e) => JSON.stringify(messageToJson(EntitlementSchema, e))),
    ...[...store.grants()].map((g) => JSON.stringify(messageToJson(GrantSchema, g))),
  ];
  return rows.sort();
}

/** The SQLite database inside a c1z, decompressed by Debian's zstd (not our code). */
export function decompressC1z(file: string): Buffer {
  return execFileSync('sh', ['-c', 'tail -c +6 "$1" | zstd -d', 'sh', file], { maxBuffer: 256 * 1024 * 1024 });
}

/** Every needle found in any of the outputs, as "what contains needle". */
export function leaks(outputs: Array<{ what: string; text: string | Buffer }>, needles: string[]): string[] {
  const found: string[] = [];
  for (const { what, text } of outputs) {
    const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    for (const n of needles) if (buf.includes(n)) found.push(`${what} contains ${n}`);
  }
  return found;
}

/**
 * One e2e file's fixtures: the connector's built bin (checked before the first test), a temporary directory, and
 * simulators with the file's defaults, all removed after the last test.
 */
export function scimE2eSuite(name: string, defaults: ScimSimulatorOptions) {
  const bin = binOf(name);
  const sims = scimSimulatorSet(defaults);
  let dir = '';
  beforeAll(() => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first`);
    dir = mkdtempSync(join(tmpdir(), `${name}-e2e-`));
  });
  afterAll(async () => {
    await sims.closeAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return { bin, startSim: sims.start, file: (base: string) => join(dir, base) };
}

/** The one-shot flags that grant a group membership to a user. */
export function grantFlags(groupId: string, userId: string): string[] {
  return [
    '--grant-entitlement',
    `group:${groupId}:member`,
    '--grant-principal',
    userId,
    '--grant-principal-type',
    'user',
  ];
}
