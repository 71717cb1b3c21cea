// Helpers of the SCIM connectors' end-to-end tests (test/rudderstack-e2e.test.ts, test/vega-e2e.test.ts): run a
// bundled bin as a subprocess with a clean environment, read a sync file back, and compare it with the simulator.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import type { SyncStore } from '@baton-ts/shared/c1z';
import { envWithoutBaton, runProcess, type ProcessResult } from '@baton-ts/shared/testing';
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

/** Runs a connector bin to its end, as a user does (stdin closed); the environment holds no BATON_* variable unless given. */
export function runBin(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv = envWithoutBaton(),
): Promise<ProcessResult> {
  return runProcess(process.execPath, [bin, ...args], { env });
}

/** Differences between a sync file and the simulator's data (empty: complete and exact). */
export function storeMismatches(sim: ScimSimulator, store: SyncStore): string[] {
  return scimSyncMismatches(sim, {
    resources: [...store.resources()],
    entitlements: [...store.entitlements()],
    grants: [...store.grants()],
  });
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
