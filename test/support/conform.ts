// Runs the bundled baton-conform bin the way a CI job would, for the conform-*.test.ts files.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CheckResult } from '@baton-ts/shared/testing';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CONFORM = `${ROOT}packages/shared/dist/bin/baton-conform.mjs`;
export const FIXTURE = `${ROOT}packages/shared/dist/bin/baton-fixture.mjs`;
/** The fault proxy (packages/shared/test/fixtures/fault-proxy.mjs): a connector that is not ours on the wire. */
export const PROXY = `${ROOT}packages/shared/test/fixtures/fault-proxy.mjs`;
export const node = process.execPath;
/**
 * The tests share a loaded machine, where starting two node processes one after the other (the fault proxy and the
 * connector behind it) can take longer than the 5 s a Go host waits; the 5 s default itself is unit-tested.
 */
const LOADED_MACHINE = ['--startup-limit', '20s'];

export interface ConformJson {
  ok: boolean;
  checks: CheckResult[];
  counts?: { resources: Record<string, number>; entitlements: number; grants: number };
  file?: string;
}

/** Runs baton-conform with `--json`; resolves with its exit status and report. */
export function runConform(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; report: ConformJson; stdout: string; stderr: string }> {
  if (!existsSync(CONFORM)) throw new Error(`${CONFORM} is missing: run "npm run build" first`);
  return new Promise((resolve, reject) => {
    execFile(
      node,
      [CONFORM, '--json', ...LOADED_MACHINE, ...args],
      { env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        try {
          resolve({ code, report: JSON.parse(stdout) as ConformJson, stdout, stderr });
        } catch {
          reject(new Error(`baton-conform exited ${code} without a JSON report:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** Runs baton-conform as given (no `--json` added); resolves with its exit status and output. */
export function runConformText(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      node,
      [CONFORM, ...(args.length ? LOADED_MACHINE : []), ...args],
      { env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

/** The bundled bin of every connector package (`baton-<name>` bins outside packages/shared). */
export function connectorBins(): Array<{ name: string; bin: string }> {
  const found: Array<{ name: string; bin: string }> = [];
  for (const dir of readdirSync(`${ROOT}packages`).sort()) {
    if (dir === 'shared') continue;
    const manifestPath = `${ROOT}packages/${dir}/package.json`;
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin?: Record<string, string> };
    for (const binName of Object.keys(manifest.bin ?? {})) {
      const m = /^baton-(.+)$/.exec(binName);
      if (m) found.push({ name: m[1]!, bin: `${ROOT}packages/${dir}/dist/bin/${binName}.mjs` });
    }
  }
  return found;
}
