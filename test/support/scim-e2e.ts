// Helpers of the SCIM connectors' end-to-end tests (test/rudderstack-e2e.test.ts, test/vega-e2e.test.ts): run a
// bundled bin as a subprocess with a clean environment, read a sync file back, and compare it with the simulator.
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { messageToJson, type SyncStore } from '@baton-ts/shared/c1z';
import { EntitlementSchema, GrantSchema, ResourceSchema } from '@baton-ts/shared/pb';
import { scimSyncMismatches, type ScimSimulator } from '@baton-ts/shared/scim-simulator';

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
  return scimSyncMismatches(sim.state, sim.quirks(), {
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
