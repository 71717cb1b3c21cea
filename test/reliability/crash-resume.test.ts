// Crash and resume (docs/sync.md), for every connector, through its real bundled bin:
//
//  1. the connector process is killed with SIGKILL in the middle of a sync: the host notices, starts a new one
//     through the real handshake, resumes from its last checkpoint, and the file it writes holds exactly the records
//     of an uninterrupted sync; the pages stored before the kill are not listed again (RPC count);
//  2. the host itself is killed with SIGKILL mid-sync: the previous output file is byte-for-byte untouched, the
//     working file holds an unfinished sync (no ended_at, a checkpoint) that no reader takes for a c1z, and the same
//     command run again resumes it and writes the same records as an uninterrupted sync.
//
// Where to kill is deterministic, not a sleep: the connector reaches the simulator through a counting proxy in this
// process, which holds the Nth API request (N = half the requests of a whole sync) and tells the test; the kill
// happens while that request is held, then the held connection is dropped.
import { spawn, execFileSync } from 'node:child_process';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageToJson, SyncStore } from '@baton-ts/shared/c1z';
import { EntitlementSchema, GrantSchema, ResourceSchema, ResourceTypeSchema } from '@baton-ts/shared/pb';
import { envWithoutBaton } from '@baton-ts/shared/testing';
import type { ConnectorDefinition } from '@baton-ts/shared';
import type { RunningSimulator } from '@baton-ts/shared/simulator';
import { binOf } from '../support/scim-e2e.js';
import { childrenOf, goneAfter, isRunning, requireBuiltBins } from './support.js';
import { twingate } from '../../packages/twingate/src/connector.js';
import { vgs } from '../../packages/vgs/src/connector.js';
import { celigo } from '../../packages/celigo/src/connector.js';
import { rudderstack } from '../../packages/rudderstack/src/connector.js';
import { vega } from '../../packages/vega/src/connector.js';

const CONNECTORS: Array<[string, ConnectorDefinition]> = [
  ['twingate', twingate as unknown as ConnectorDefinition],
  ['vgs', vgs as unknown as ConnectorDefinition],
  ['celigo', celigo as unknown as ConnectorDefinition],
  ['rudderstack', rudderstack as unknown as ConnectorDefinition],
  ['vega', vega as unknown as ConnectorDefinition],
];
/** Small host pages, so even a small dataset takes many pages (and checkpoints). */
const PAGE_SIZE = '8';
const INSPECT = fileURLToPath(new URL('../../packages/shared/dist/bin/baton-inspect.mjs', import.meta.url));

// ---------------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------------

interface Run {
  pid: number;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function start(bin: string, args: string[]): Run {
  const child = spawn(process.execPath, [bin, ...args], { env: envWithoutBaton(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<Awaited<Run['done']>>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { pid: child.pid!, done };
}

// ---------------------------------------------------------------------------------------------------------------
// The simulator, behind a counting proxy
// ---------------------------------------------------------------------------------------------------------------

/** A bundled simulator, started in this process with its rate limits off (the tests are about crashes). */
async function startSimulator(definition: ConnectorDefinition): Promise<RunningSimulator> {
  return (await definition.simulator!()).start({ host: '127.0.0.1', port: 0, rateLimits: 'off' });
}

/**
 * Forwards every request to the simulator and counts them; `holdAt(n)` holds the nth request from now on (not
 * forwarded) and resolves when it arrives; `release()` drops the held connection.
 */
class CountingProxy {
  requests = 0;
  private server!: Server;
  private hold?: { at: number; arrived: (n: number) => void };
  private held: ServerResponse[] = [];
  origin = '';

  constructor(private readonly target: URL) {}

  async listen(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const n = ++this.requests;
    if (this.hold && n === this.hold.at) {
      this.held.push(res);
      this.hold.arrived(n);
      this.hold = undefined;
      return;
    }
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.target.host },
      },
      (up) => {
        // Absolute links the API hands out (a `Link` header's next page) point at the proxy, as a real API's would.
        const headers: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) {
          if (v === undefined) continue;
          headers[k] = Array.isArray(v)
            ? v.map((x) => x.replaceAll(this.target.origin, this.origin))
            : v.replaceAll(this.target.origin, this.origin);
        }
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  holdAt(n: number): Promise<number> {
    return new Promise((resolve) => (this.hold = { at: this.requests + n, arrived: resolve }));
  }

  release(): void {
    for (const res of this.held) res.destroy();
    this.held = [];
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function proxyTo(sim: RunningSimulator): Promise<CountingProxy> {
  const proxy = new CountingProxy(new URL(sim.baseUrl));
  await proxy.listen();
  return proxy;
}

// ---------------------------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------------------------

/** Every record of the file's sync as sorted JSON lines (what is compared; row ids and timestamps are not). */
async function records(file: string): Promise<string[]> {
  const store = await SyncStore.openC1z(file);
  try {
    const lines = [
      ...[...store.resourceTypes()].map((x) => `rt ${JSON.stringify(messageToJson(ResourceTypeSchema, x))}`),
      ...[...store.resources()].map((x) => `r ${JSON.stringify(messageToJson(ResourceSchema, x))}`),
      ...[...store.entitlements()].map((x) => `e ${JSON.stringify(messageToJson(EntitlementSchema, x))}`),
      ...[...store.grants()].map((x) => `g ${JSON.stringify(messageToJson(GrantSchema, x))}`),
    ];
    expect(store.listSyncs()).toHaveLength(1);
    expect(store.listSyncs()[0].endedAt).not.toBeNull();
    return lines.sort();
  } finally {
    store.close();
  }
}

/** The pages a run stored, in order, from its `page stored` debug lines (logged after each page's commit). */
function pagesStored(stderr: string): string[] {
  const pages: string[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.includes('"page stored"')) continue;
    const entry = JSON.parse(line) as { listing: string; pageToken: string };
    pages.push(`${entry.listing} @ ${JSON.stringify(entry.pageToken)}`);
  }
  return pages;
}

const repeated = (pages: string[]) => pages.filter((p, i) => pages.indexOf(p) !== i);

interface Summary {
  rpcCount: number;
  resumed: boolean;
  restarts: number;
  resources: number;
}

// ---------------------------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------------------------

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'crash-resume-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// One test at a time: each spawns two or three Node processes, and a starved machine only makes the kills late.
describe.each(CONNECTORS)('%s: crash and resume', { timeout: 120_000 }, (name, definition) => {
  const bin = binOf(name);
  let sim: RunningSimulator;
  let baselineProxy: CountingProxy;
  const proxies: CountingProxy[] = [];
  let work: string;
  let baseline: { records: string[]; summary: Summary; requests: number };

  /** The sync command, pointed at a proxy. */
  const args = (proxy: CountingProxy, file: string, summary: string, logLevel = 'debug') => {
    const flags: string[] = [];
    for (const [flag, value] of Object.entries(sim.config)) {
      flags.push(`--${flag}`, value.startsWith(sim.baseUrl) ? proxy.origin + value.slice(sim.baseUrl.length) : value);
    }
    return [
      ...flags,
      '--file',
      file,
      '--sync-page-size',
      PAGE_SIZE,
      '--summary-json',
      summary,
      '--log-level',
      logLevel,
    ];
  };
  const summaryOf = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Summary;

  beforeAll(async () => {
    requireBuiltBins([bin]);
    work = mkdtempSync(join(dir, `${name}-`));
    sim = await startSimulator(definition);
    baselineProxy = await proxyTo(sim);
    const r = await start(bin, args(baselineProxy, join(work, 'baseline.c1z'), join(work, 'baseline.json'), 'warn'))
      .done;
    expect(r.code, r.stderr).toBe(0);
    baseline = {
      records: await records(join(work, 'baseline.c1z')),
      summary: summaryOf(join(work, 'baseline.json')),
      requests: baselineProxy.requests,
    };
    expect(baseline.summary.resources).toBeGreaterThan(0);
    // Enough pages that "the middle" is a real point: many RPCs, at least two API requests.
    expect(baseline.summary.rpcCount).toBeGreaterThan(20);
    expect(baseline.requests).toBeGreaterThanOrEqual(2);
  });

  afterAll(async () => {
    await baselineProxy?.close();
    for (const p of proxies) await p.close();
    await sim?.close();
  });

  /** The request to hold: half way through a whole sync's API requests (at least the second). */
  const middle = () => Math.max(2, Math.ceil(baseline.requests / 2));

  it('the connector killed mid-sync is restarted and the sync resumes from its checkpoint', async () => {
    const file = join(work, 'child-killed.c1z');
    const summary = join(work, 'child-killed.json');
    const proxy = await proxyTo(sim);
    proxies.push(proxy);
    const held = proxy.holdAt(middle());
    const run = start(bin, args(proxy, file, summary));
    await held;
    const [connector] = childrenOf(run.pid);
    expect(connector, 'the host has a connector child').toBeGreaterThan(0);
    process.kill(connector, 'SIGKILL');
    await goneAfter([connector], Date.now());
    expect(isRunning(connector), 'the connector is gone').toBe(false);
    proxy.release();

    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/connector process exited mid-sync; restarting it/);
    expect(await records(file)).toEqual(baseline.records);
    expect(summaryOf(summary).restarts).toBe(1);
    // Resumed, not redone: no page is stored twice (the kill came after at least one stored page).
    const pages = pagesStored(r.stderr);
    expect(pages.length).toBeGreaterThan(0);
    expect(repeated(pages)).toEqual([]);
    expect(existsSync(join(work, '.child-killed.c1z.partial'))).toBe(false);
  });

  it('the host killed mid-sync leaves the previous file untouched; the next run resumes and finishes it', async () => {
    const file = join(work, 'host-killed.c1z');
    const working = join(work, '.host-killed.c1z.partial');
    copyFileSync(join(work, 'baseline.c1z'), file);
    const previous = readFileSync(file);

    const proxy = await proxyTo(sim);
    proxies.push(proxy);
    const held = proxy.holdAt(middle());
    const run = start(bin, args(proxy, file, join(work, 'host-killed-1.json')));
    await held;
    const [connector] = childrenOf(run.pid);
    process.kill(run.pid, 'SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    const before = pagesStored(killed.stderr);
    expect(before.length, 'pages stored before the kill').toBeGreaterThan(0);
    // The orphaned connector sees its stdin close and exits on its own.
    await goneAfter([connector], Date.now());
    expect(isRunning(connector), 'the connector is gone').toBe(false);
    proxy.release();

    expect(readFileSync(file).equals(previous), 'the previous output is byte-for-byte untouched').toBe(true);
    expect(existsSync(working)).toBe(true);
    // The working file is a bare SQLite database, never a c1z: readers refuse it, and its sync is unfinished.
    expect(readFileSync(working).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    const inspect = await start(INSPECT, [working, 'stats']).done;
    expect(inspect.code).toBe(1);
    expect(inspect.stderr).toMatch(/unfinished sync/);
    const run1 = execFileSync('sqlite3', [working, 'select ended_at is null, sync_token from v1_sync_runs'], {
      encoding: 'utf8',
    }).trim();
    const [unfinished, token] = [run1.slice(0, 1), run1.slice(2)];
    expect(unfinished).toBe('1');
    expect(JSON.parse(token)).toMatchObject({ current_action: { operation: expect.any(String) } });

    // What a host killed while compressing would leave: the next run removes it.
    const leftover = join(work, '.host-killed.c1z.0123456789ab.tmp');
    writeFileSync(leftover, 'C1ZF\0');

    const summary = join(work, 'host-killed-2.json');
    const again = await start(bin, args(proxy, file, summary)).done;
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(summary).resumed).toBe(true);
    // Resumed after the last stored page: nothing the killed run stored is stored again.
    expect(repeated([...before, ...pagesStored(again.stderr)])).toEqual([]);
    expect(await records(file)).toEqual(baseline.records);
    expect(existsSync(working)).toBe(false);
    expect(existsSync(leftover)).toBe(false);
  });
});
