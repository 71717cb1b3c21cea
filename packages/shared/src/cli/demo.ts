#!/usr/bin/env node
/**
 * `npm run demo`: sync every connector in the workspace against its bundled simulator, each through the real
 * subprocess handshake (`baton-<name> --demo` spawns itself as the connector service), write `out/<name>.c1z`, and
 * print one table. Exits non-zero if any connector failed, after printing the end of its stderr.
 *
 *   node packages/shared/dist/cli/demo.js [name ...]     (names filter the connectors, e.g. `twingate`)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastLines } from '../util/text.js';

export interface DemoConnector {
  /** `twingate` for the bin `baton-twingate`. */
  name: string;
  bin: string;
  packageDir: string;
}

export interface DemoResult {
  connector: DemoConnector;
  ok: boolean;
  seconds: number;
  summary?: {
    resourceTypes: number;
    resources: number;
    entitlements: number;
    grants: number;
    apiRequests?: number;
    seconds?: number;
  };
  error?: string;
}

const TIMEOUT_MS = 10 * 60_000;
const STDERR_TAIL_LINES = 30;

/** Workspace packages under `packages/*` whose package.json has a `baton-*` bin (shared excluded). */
export function discoverConnectors(root: string): DemoConnector[] {
  const packagesDir = join(root, 'packages');
  const found: DemoConnector[] = [];
  for (const entry of readdirSync(packagesDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name === 'shared') continue;
    const manifestPath = join(packagesDir, entry.name, 'package.json');
    if (!existsSync(manifestPath)) continue;
    let manifest: { bin?: string | Record<string, string>; name?: string };
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    } catch {
      continue;
    }
    const bins =
      typeof manifest.bin === 'string'
        ? {
            [String(manifest.name ?? entry.name)
              .split('/')
              .pop()!]: manifest.bin,
          }
        : (manifest.bin ?? {});
    for (const [binName, rel] of Object.entries(bins)) {
      const m = /^baton-(.+)$/.exec(binName);
      if (!m) continue;
      found.push({ name: m[1], bin: resolve(packagesDir, entry.name, rel), packageDir: join(packagesDir, entry.name) });
    }
  }
  return found;
}

export async function runDemoFor(connector: DemoConnector, root: string): Promise<DemoResult> {
  const started = Date.now();
  if (!existsSync(connector.bin)) {
    return { connector, ok: false, seconds: 0, error: `${connector.bin} does not exist (run npm run build)` };
  }
  const tmp = mkdtempSync(join(tmpdir(), 'baton-demo-'));
  const summaryPath = join(tmp, 'summary.json');
  try {
    const args = [
      connector.bin,
      '--demo',
      '--file',
      join('out', `${connector.name}.c1z`),
      '--summary-json',
      summaryPath,
      '--log-level',
      'warn',
      '--quiet',
    ];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
      if (stderr.length > 256 * 1024) stderr = stderr.slice(-128 * 1024);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    const status = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
      child.once('error', () => done({ code: null, signal: null }));
      child.once('close', (code, signal) => done({ code, signal }));
    });
    clearTimeout(timer);
    const seconds = (Date.now() - started) / 1000;
    if (status.code !== 0 || !existsSync(summaryPath)) {
      const how = status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
      return { connector, ok: false, seconds, error: `${how}\n${lastLines(stderr || stdout, STDERR_TAIL_LINES)}` };
    }
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as DemoResult['summary'];
    return { connector, ok: true, seconds, summary };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function formatTable(results: DemoResult[]): string {
  const header = ['connector', 'resource types', 'resources', 'entitlements', 'grants', 'API requests', 'seconds'];
  const rows = results.map((r) => {
    const s = r.summary;
    return [
      r.connector.name,
      s ? String(s.resourceTypes) : '-',
      s ? String(s.resources) : '-',
      s ? String(s.entitlements) : '-',
      s ? String(s.grants) : '-',
      s?.apiRequests !== undefined ? String(s.apiRequests) : '-',
      r.ok ? (s?.seconds ?? r.seconds).toFixed(2) : 'FAILED',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const root = resolve(
    process.env.BATON_DEMO_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..'),
  );
  let connectors = discoverConnectors(root);
  if (argv.length > 0) {
    const unknown = argv.filter((a) => !connectors.some((c) => c.name === a));
    if (unknown.length > 0) {
      process.stderr.write(
        `demo: no connector named ${unknown.join(', ')} (found: ${connectors.map((c) => c.name).join(', ') || 'none'})\n`,
      );
      return 1;
    }
    connectors = connectors.filter((c) => argv.includes(c.name));
  }
  if (connectors.length === 0) {
    process.stderr.write(`demo: no packages/*/package.json with a baton-* bin under ${root}\n`);
    return 1;
  }
  const results: DemoResult[] = [];
  for (const c of connectors) {
    process.stderr.write(`demo: syncing ${c.name} against its simulator...\n`);
    results.push(await runDemoFor(c, root));
  }
  process.stdout.write('\n' + formatTable(results));
  const ok = results.filter((r) => r.ok);
  if (ok.length > 0)
    process.stdout.write(`\nwrote ${ok.map((r) => join('out', `${r.connector.name}.c1z`)).join(', ')}\n`);
  const failed = results.filter((r) => !r.ok);
  for (const r of failed) process.stderr.write(`\ndemo: ${r.connector.name} failed: ${r.error}\n`);
  return failed.length > 0 ? 1 : 0;
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
