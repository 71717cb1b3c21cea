#!/usr/bin/env node
// `npm run bench`: every connector against its simulator, through the real bins and the real subprocess handshake;
// writes bench/RESULTS.md and prints it. Not part of `npm test`.
//
//   npm run build && node bench/run.mjs [--quick] [--size S]... [--connector NAME]... [--no-load] [--runs N]
//     [--latency-ms N]
//
//   --quick        datasets small and medium only (the large ones take minutes at documented rate limits)
//   --size         only these sizes (small, medium, large; repeatable)
//   --connector    only these connectors (repeatable); RESULTS.md then holds only them
//   --no-load      skip the load measurement
//   --runs         cold-start spawns per connector (default 10)
//   --latency-ms   simulated latency per API request (default 20)
//
// For each connector and dataset (bench-small ~100 users, bench-medium ~10,000 users, bench-large ~100,000 grants):
//  1. the simulator runs in a process of its own: `baton-<x> simulator --dataset D --latency-ms 20
//     --rate-limits documented`; its first stdout line gives the connector flags, its last (after SIGTERM) the API
//     requests it received, by status;
//  2. a full sync through the bin as host: `baton-<x> <flags> --file F`, which spawns its connector child
//     (`_connector-service`) through the handshake. Wall time is spawn to exit. Peak RSS is VmHWM from
//     /proc/<pid>/status, polled every 20 ms for the host and for each child it spawned (found through
//     /proc/<host>/task/*/children), so each process is measured on its own; the last reading before a process exits
//     is its peak (the high-water mark only grows). Records are counted in the c1z the sync wrote;
//  3. the floors (bench/connectors.mjs): the fewest requests at the API's maximum page size, and the least wall time
//     latency and rate limit allow for that many requests; the Go connector's call pattern for the same data.
// Then cold start (spawn to first GetMetadata, median of --runs, connectors in turn) and ListResources throughput at
// page_size 250 on the user type (bench-medium, latency 0, rate limits off: the connector, not the API), and the load
// measurement: 20 syncs of baton-twingate at once against one simulator.
//
// Other benchmarks in bench/ run on their own: scim-requests.mjs (the SCIM connectors against server quirks that change
// the number of requests), checkpoint.mjs (what the host's checkpoints cost), server.mjs (plugin cold start and the
// server's ListResources ceiling on the fixture connector), walk.mjs (the host's walker and the conformance kit),
// c1z.mjs (the host's c1z write rate).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { SyncStore } from '../packages/shared/dist/c1z/index.js';
import { envWithoutBaton } from '../packages/shared/dist/testing/index.js';
import { ConnectorService } from '../packages/shared/dist/gen/c1/connector/v2/connector_pb.js';
import { generateHandshakeCredentials } from '../packages/shared/dist/tls/credentials.js';
import { CONNECTORS, wallFloorMs } from './connectors.mjs';
import { listResourcesRaw, median, spawnPlugin, unary } from './support.mjs';

const argv = process.argv.slice(2);
const values = (name) => argv.flatMap((a, i) => (a === `--${name}` && argv[i + 1] ? [argv[i + 1]] : []));
const quick = argv.includes('--quick');
const only = values('connector');
const LATENCY_MS = Number(values('latency-ms')[0] ?? 20);
const RUNS = Number(values('runs')[0] ?? 10);
const LOAD_SYNCS = 20;
const sizes = values('size');
const DATASETS = [
  ['small', 'bench-small'],
  ['medium', 'bench-medium'],
  ...(quick ? [] : [['large', 'bench-large']]),
].filter(([size]) => sizes.length === 0 || sizes.includes(size));
const unknown = only.filter((n) => !CONNECTORS.some((c) => c.name === n));
if (unknown.length > 0) {
  console.error(`unknown connector ${unknown.join(', ')}; known: ${CONNECTORS.map((c) => c.name).join(', ')}`);
  process.exit(2);
}
const connectors = CONNECTORS.filter((c) => only.length === 0 || only.includes(c.name));
const binOf = (name) => fileURLToPath(new URL(`../packages/${name}/dist/bin/baton-${name}.mjs`, import.meta.url));
const MB = 1024 * 1024;
const env = envWithoutBaton();
const tmp = mkdtempSync(join(os.tmpdir(), 'baton-bench-'));
const log = (line) => process.stderr.write(`${line}\n`);
/** Every process the bench started and that is still running, stopped if the bench itself is interrupted. */
const live = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of live) child.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  });
}
function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

// -- processes ------------------------------------------------------------------------------------------------------

/** Lines of a child's stdout as they arrive. */
function lines(stream, onLine) {
  let buf = '';
  stream.setEncoding('utf8').on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

/** `baton-<name> simulator ...` in its own process; resolves once it printed its address and flags. */
function startSimulator(name, args) {
  const child = track(
    spawn(process.execPath, [binOf(name), 'simulator', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const received = [];
  let wake;
  lines(child.stdout, (line) => {
    received.push(line);
    wake?.();
  });
  // 'close', not 'exit': the last stdout line and stderr may still be on their way when the process exits.
  const exited = new Promise((resolve) => child.once('close', resolve));
  const nextLine = () =>
    new Promise((resolve, reject) => {
      const check = () => (received.length > 0 ? resolve(JSON.parse(received.shift())) : undefined);
      wake = check;
      check();
      exited.then(() => reject(new Error(`simulator of ${name} exited: ${stderr.trim()}`)));
    });
  return nextLine().then((info) => ({
    config: info.config,
    /** SIGTERM, then the simulator's last line: `{"stopped": true, "requests": N, "byStatus": {...}}`. */
    async stop() {
      child.kill('SIGTERM');
      const stats = await nextLine();
      await exited;
      return stats;
    },
  }));
}

const simulatorArgs = (dataset, latencyMs, rateLimits) => [
  '--dataset',
  dataset,
  '--latency-ms',
  String(latencyMs),
  '--rate-limits',
  rateLimits,
];
const flagsOf = (config) => Object.entries(config).flatMap(([k, v]) => [`--${k}`, v]);

function readStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
    return { hwm: kb('VmHWM'), rss: kb('VmRSS'), cpuMs: cpuMsOf(pid) };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms (/proc/<pid>/stat fields 14 and 15, in 1/100 s). */
function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

function childPids(pid) {
  const pids = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) pids.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return pids;
}

/**
 * Polls the peak RSS (VmHWM) and the CPU time of each host process and of every child it spawns, and the largest
 * total RSS of them all at one moment.
 */
function watchMemory(hostPids) {
  const hosts = new Map(hostPids.map((pid) => [pid, 0]));
  const children = new Map();
  const cpu = new Map();
  let peakTotal = 0;
  const poll = () => {
    let total = 0;
    for (const pid of hosts.keys()) {
      const s = readStatus(pid);
      // A process that has exited but is not reaped yet has no memory lines.
      if (!s || Number.isNaN(s.hwm)) continue;
      hosts.set(pid, Math.max(hosts.get(pid), s.hwm));
      if (!Number.isNaN(s.cpuMs)) cpu.set(pid, s.cpuMs);
      total += s.rss;
      for (const child of childPids(pid)) {
        const c = readStatus(child);
        if (!c || Number.isNaN(c.hwm)) continue;
        children.set(child, Math.max(children.get(child) ?? 0, c.hwm));
        if (!Number.isNaN(c.cpuMs)) cpu.set(child, c.cpuMs);
        total += c.rss;
      }
    }
    peakTotal = Math.max(peakTotal, total);
  };
  const timer = setInterval(poll, 20);
  poll();
  return {
    poll,
    stop() {
      clearInterval(timer);
      const cpuOf = (pids) => [...pids].reduce((n, pid) => n + (cpu.get(pid) ?? 0), 0);
      return {
        hosts: [...hosts.values()],
        children: [...children.values()],
        peakTotal,
        hostCpuMs: cpuOf(hosts.keys()),
        childCpuMs: cpuOf(children.keys()),
      };
    },
  };
}

/**
 * A full sync through the bin as host; `done` resolves with its wall time, exit code, stderr and (unless `watched`
 * elsewhere) the peak memory of the host and its child.
 */
function hostSync(name, config, file, watched = false) {
  const started = performance.now();
  const startMs = Date.now();
  const child = track(
    spawn(process.execPath, [binOf(name), ...flagsOf(config), '--file', file, '--log-level', 'warn', '--quiet'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const watch = watched ? undefined : watchMemory([child.pid]);
  let stderr = '';
  child.stdout.resume();
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  return {
    pid: child.pid,
    done: new Promise((resolve) => {
      child.once('exit', (code) => {
        const wallMs = performance.now() - started;
        const peaks = watch?.stop();
        // Resolve once stderr is complete too.
        child.once('close', () => resolve({ code, stderr, wallMs, startMs, peaks }));
      });
    }),
  };
}

function records(file) {
  return SyncStore.openC1z(file).then((store) => {
    try {
      const counts = store.counts();
      const resources = Object.values(counts.resources).reduce((a, b) => a + b, 0);
      return { resources, entitlements: counts.entitlements, grants: counts.grants };
    } finally {
      store.close();
    }
  });
}

// -- measurements ---------------------------------------------------------------------------------------------------

async function syncDataset(connector, size, dataset) {
  const model = await connector.model(dataset);
  const sim = await startSimulator(connector.name, simulatorArgs(dataset, LATENCY_MS, 'documented'));
  const file = join(tmp, `${connector.name}-${dataset}.c1z`);
  let run;
  let stats;
  try {
    run = await hostSync(connector.name, sim.config, file).done;
  } finally {
    stats = await sim.stop();
  }
  if (run.code !== 0) throw new Error(`baton-${connector.name} sync of ${dataset} exited ${run.code}: ${run.stderr}`);
  const written = await records(file);
  rmSync(file, { force: true });
  const floorMs = wallFloorMs(connector.rateLimit, model.floor, LATENCY_MS, run.startMs);
  return {
    size,
    dataset,
    model,
    wallMs: run.wallMs,
    floorMs,
    requests: stats.requests,
    refused: stats.byStatus['429'] ?? 0,
    records: written,
    connectorPeak: Math.max(0, ...run.peaks.children),
    hostPeak: Math.max(0, ...run.peaks.hosts),
    hostCpuMs: run.peaks.hostCpuMs,
    connectorCpuMs: run.peaks.childCpuMs,
    config: sim.config,
  };
}

async function coldStarts(targets) {
  const wall = targets.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, t] of targets.entries()) {
      // Credentials are made before the clock starts: a Go host makes them before spawning too.
      const credentials = await generateHandshakeCredentials();
      const started = performance.now();
      const p = await spawnPlugin(process.execPath, [binOf(t.name), ...flagsOf(t.config)], { credentials });
      await unary(p.client, ConnectorService.method.getMetadata, {}, { waitForReady: true });
      wall[k].push(performance.now() - started);
      await p.stop();
    }
  }
  return wall.map((w) => ({ median: median(w), min: Math.min(...w), max: Math.max(...w) }));
}

async function throughput(connector) {
  const sim = await startSimulator(connector.name, simulatorArgs('bench-medium', 0, 'off'));
  const p = await spawnPlugin(process.execPath, [binOf(connector.name), ...flagsOf(sim.config)]);
  try {
    await unary(p.client, ConnectorService.method.getMetadata, {}, { waitForReady: true });
    let token = '';
    let count = 0;
    const started = performance.now();
    do {
      const page = await listResourcesRaw(p.client, {
        resourceTypeId: connector.userType,
        pageSize: 250,
        pageToken: token,
      });
      count += page.count;
      token = page.nextPageToken;
    } while (token);
    const seconds = (performance.now() - started) / 1000;
    return { count, seconds, perSecond: count / seconds };
  } finally {
    await p.stop();
    await sim.stop();
  }
}

async function load(connector, dataset) {
  const sim = await startSimulator(connector.name, simulatorArgs(dataset, LATENCY_MS, 'off'));
  const started = performance.now();
  let runs;
  let memory;
  try {
    const syncs = Array.from({ length: LOAD_SYNCS }, (_, i) => ({ file: join(tmp, `load-${i}.c1z`) }));
    const hosts = syncs.map((s) => hostSync(connector.name, sim.config, s.file, true));
    memory = watchMemory(hosts.map((h) => h.pid));
    runs = await Promise.all(hosts.map((h) => h.done));
    runs.forEach((r, i) => (r.file = syncs[i].file));
  } finally {
    await sim.stop();
  }
  const wallMs = performance.now() - started;
  const peaks = memory.stop();
  const failed = runs.filter((r) => r.code !== 0);
  // What the failed syncs said, each distinct last line once.
  const errors = [...new Set(failed.map((r) => r.stderr.trim().split('\n').at(-1)?.slice(0, 300) ?? ''))];
  const counts = await Promise.all(runs.filter((r) => r.code === 0).map((r) => records(r.file)));
  const identical = counts.every((c) => JSON.stringify(c) === JSON.stringify(counts[0]));
  return {
    connector: connector.name,
    dataset,
    wallMs,
    failed: failed.length,
    errors,
    identical,
    records: counts[0],
    syncWallMs: runs.map((r) => r.wallMs),
    peakTotal: peaks.peakTotal,
    hostPeak: Math.max(0, ...peaks.hosts),
    connectorPeak: Math.max(0, ...peaks.children),
  };
}

// -- report ---------------------------------------------------------------------------------------------------------

const s = (ms) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const mb = (bytes) => (bytes / MB).toFixed(0);
const ratio = (a, b) => (b > 0 ? (a / b).toFixed(2) : '-');
const met = (ok) => (ok ? 'met' : '**not met**');
const table = (header, rows) =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

/** Where the time beyond the wall floor went, from what was measured. */
function whyWall(r) {
  const cpuMs = r.hostCpuMs + r.connectorCpuMs;
  const records = r.records.resources + r.records.entitlements + r.records.grants;
  if (r.floorMs < 1_000) {
    return (
      `a sync this small costs its fixed start-up (two Node processes, the handshake, writing the c1z: ` +
      `${s(cpuMs)} s of CPU), not API time`
    );
  }
  if (cpuMs >= r.floorMs || Math.max(r.hostCpuMs, r.connectorCpuMs) >= 0.5 * r.wallMs) {
    return (
      `CPU-bound: ${s(r.hostCpuMs)} s host + ${s(r.connectorCpuMs)} s connector CPU for ${records} records ` +
      `(${Math.round((cpuMs * 1000) / records)} µs a record), against a ${s(r.floorMs)} s floor`
    );
  }
  return `${s(r.wallMs - r.floorMs)} s beyond the floor with ${s(cpuMs)} s of CPU: waiting that the floor does not explain`;
}

function connectorSection(connector, rows, cold, tput) {
  const out = [`## ${connector.name}`, ''];
  out.push(
    `Rate limit: ${connector.rateLimitText}; API page size ${connector.pageSize}; latency ${LATENCY_MS} ms per request.`,
    '',
  );
  out.push(
    table(
      [
        'dataset',
        'data',
        'wall s',
        'wall floor s',
        'wall / floor',
        'API requests (429s)',
        'request floor',
        'requests / floor',
        'Go pattern',
        'records (res / ent / grants)',
        'connector peak RSS MB',
        'host peak RSS MB',
        'CPU s connector / host',
      ],
      rows.map((r) => [
        `${r.size} (\`${r.dataset}\`)`,
        r.model.data,
        s(r.wallMs),
        s(r.floorMs),
        ratio(r.wallMs, r.floorMs),
        `${r.requests} (${r.refused})`,
        String(r.model.floor),
        ratio(r.requests, r.model.floor),
        `${r.model.go} (${r.model.goNote})`,
        `${r.records.resources} / ${r.records.entitlements} / ${r.records.grants}`,
        mb(r.connectorPeak),
        mb(r.hostPeak),
        `${s(r.connectorCpuMs)} / ${s(r.hostCpuMs)}`,
      ]),
    ),
    '',
  );
  const targets = [];
  for (const r of rows) {
    targets.push([
      `API requests <= 1.1x floor (${r.size})`,
      `${ratio(r.requests, r.model.floor)}x`,
      met(r.requests <= 1.1 * r.model.floor),
    ]);
    targets.push([
      `wall time <= 1.25x floor (${r.size})`,
      `${ratio(r.wallMs, r.floorMs)}x`,
      r.wallMs <= 1.25 * r.floorMs ? met(true) : `${met(false)}: ${whyWall(r)}`,
    ]);
    targets.push([
      `connector peak RSS <= 150 MB (${r.size})`,
      `${mb(r.connectorPeak)} MB`,
      met(r.connectorPeak <= 150 * MB),
    ]);
  }
  const medium = rows.find((r) => r.size === 'medium');
  const large = rows.find((r) => r.size === 'large');
  if (medium && large) {
    const change = (large.connectorPeak - medium.connectorPeak) / medium.connectorPeak;
    targets.push([
      'connector peak RSS within 20% medium vs large',
      `${mb(medium.connectorPeak)} -> ${mb(large.connectorPeak)} MB (${change >= 0 ? '+' : ''}${(change * 100).toFixed(0)}%)`,
      met(Math.abs(change) <= 0.2),
    ]);
  }
  if (cold) {
    targets.push([
      `cold start <= 200 ms (median of ${RUNS})`,
      `${cold.median.toFixed(0)} ms (min ${cold.min.toFixed(0)}, max ${cold.max.toFixed(0)})`,
      met(cold.median <= 200),
    ]);
  }
  out.push(table(['target', 'measured', ''], targets), '');
  if (tput) {
    out.push(
      `ListResources throughput, user type, page_size 250 (\`bench-medium\`, latency 0, rate limit off): ` +
        `${tput.count} users in ${tput.seconds.toFixed(2)} s = ${Math.round(tput.perSecond)} resources/s.`,
      '',
    );
  }
  const parts = rows.map(
    (r) =>
      `${r.size}: ${Object.entries(r.model.floorParts)
        .map(([k, v]) => `${k} ${v}`)
        .join(' + ')}`,
  );
  out.push(`Request floor by list: ${parts.join('; ')}.`, '');
  return out.join('\n');
}

function machine() {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${mb(os.totalmem())} MB RAM; Node ${process.version}; ${os.type()} ${os.release()}`;
}

// -- main -----------------------------------------------------------------------------------------------------------

const benchStarted = performance.now();
const sections = [];
const coldTargets = [];
const results = new Map();
try {
  for (const connector of connectors) {
    const rows = [];
    for (const [size, dataset] of DATASETS) {
      log(`bench: ${connector.name} ${dataset}...`);
      const r = await syncDataset(connector, size, dataset);
      log(
        `bench: ${connector.name} ${dataset}: ${s(r.wallMs)} s (floor ${s(r.floorMs)} s), ${r.requests} requests ` +
          `(floor ${r.model.floor}, Go ${r.model.go}), connector ${mb(r.connectorPeak)} MB ${s(r.connectorCpuMs)} s CPU, ` +
          `host ${mb(r.hostPeak)} MB ${s(r.hostCpuMs)} s CPU`,
      );
      rows.push(r);
    }
    results.set(connector.name, { rows });
    coldTargets.push({ name: connector.name, config: rows[0].config });
  }
  log(`bench: cold start, ${RUNS} spawns per connector...`);
  const cold = await coldStarts(coldTargets);
  coldTargets.forEach((t, i) => (results.get(t.name).cold = cold[i]));
  for (const connector of connectors) {
    log(`bench: ${connector.name} ListResources throughput...`);
    results.get(connector.name).tput = await throughput(connector);
  }
  let loadResult;
  const loadConnector = connectors.find((c) => c.name === 'twingate') ?? connectors[0];
  if (!argv.includes('--no-load')) {
    log(`bench: load, ${LOAD_SYNCS} syncs of baton-${loadConnector.name} at once...`);
    loadResult = await load(loadConnector, 'bench-small');
  }

  for (const connector of connectors) {
    const r = results.get(connector.name);
    sections.push(connectorSection(connector, r.rows, r.cold, r.tput));
  }
  const totalMs = performance.now() - benchStarted;
  const doc = [
    '# Benchmark results',
    '',
    `Written by \`node bench/run.mjs${argv.length ? ' ' + argv.join(' ') : ''}\` (\`npm run bench\`) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${s(totalMs)} s.`,
    '',
    `Machine: ${machine()}.`,
    '',
    'The machine was shared with other work while this ran (two cores, several busy processes), so wall times and ' +
      'cold starts are pessimistic; request counts, records and memory do not depend on it.',
    '',
    '## How to read this',
    '',
    `- Every sync runs the real bin as host (\`baton-<x> ... --file F\`), which spawns its connector child through ` +
      `the handshake; the simulator (\`baton-<x> simulator --latency-ms ${LATENCY_MS} --rate-limits documented\`) ` +
      'runs in a process of its own, so its data does not count in any memory figure.',
    '- **API requests** are what the simulator received (its last line at SIGTERM), 429 refusals included (in ' +
      'brackets). **Records** are counted in the c1z the sync wrote.',
    "- **Request floor**: the fewest requests that read the dataset at the API's largest page size (validate " +
      "included), list by list as shown under each table; **Go pattern**: what the Go connector's call pattern " +
      'needs for the same data (docs/apis/<app>.md), and where it reads less, what it misses.',
    `- **Wall floor**: the floor requests sent one after another, ${LATENCY_MS} ms each, none before the rate limit ` +
      'admits it (bench/connectors.mjs, `wallFloorMs`). A sync reads page after page (each page token comes from ' +
      'the previous reply), so latency alone costs requests x latency. A fixed window of L requests per W is aligned ' +
      "to the clock as the simulator's is, so a sync that starts late in a window gets only what fits before it " +
      'turns; a leaky bucket (burst B, r/s) admits a request once its level is below B. Process start, the ' +
      'handshake and writing the c1z are not in the floor, so small datasets (a few requests) cannot come near it.',
    '- **Peak RSS**: VmHWM of the host process and of its connector child, each on its own. **CPU s**: the CPU ' +
      'time (user + system) each used; where it comes near the wall time, the sync waits on CPU, not on the API.',
    '',
    ...sections,
  ];
  if (loadResult) {
    const l = loadResult;
    doc.push(
      '## Load',
      '',
      `${LOAD_SYNCS} syncs of baton-${l.connector} (\`${l.dataset}\`) at once, each a host process with its own ` +
        `connector child, against one simulator (latency ${LATENCY_MS} ms, rate limits off: one API token shared by ` +
        `${LOAD_SYNCS} syncs would measure the rate limit, not the host).`,
      '',
      table(
        ['measure', 'value'],
        [
          ['wall time, first spawn to last exit', `${s(l.wallMs)} s`],
          [
            'sync wall time (min / median / max)',
            `${s(Math.min(...l.syncWallMs))} / ${s(median(l.syncWallMs))} / ${s(Math.max(...l.syncWallMs))} s`,
          ],
          ['failed syncs', l.failed === 0 ? '0' : `**${l.failed}**: ${l.errors.map((e) => `\`${e}\``).join('; ')}`],
          [
            'all files hold the same records',
            `${l.identical ? 'yes' : '**no**'} (${l.records ? `${l.records.resources} / ${l.records.entitlements} / ${l.records.grants}` : '-'})`,
          ],
          [`peak memory, all ${LOAD_SYNCS * 2} processes together (sum of RSS)`, `${mb(l.peakTotal)} MB`],
          ['largest host peak RSS', `${mb(l.hostPeak)} MB`],
          ['largest connector peak RSS', `${mb(l.connectorPeak)} MB`],
        ],
      ),
      '',
    );
  }
  const text = doc.join('\n');
  const partial = only.length > 0 || quick || sizes.length > 0;
  if (!partial) writeFileSync(new URL('RESULTS.md', import.meta.url), text);
  else writeFileSync(join(os.tmpdir(), 'baton-bench-RESULTS.md'), text);
  console.log(text);
  if (partial)
    log(
      `bench: partial run, written to ${join(os.tmpdir(), 'baton-bench-RESULTS.md')} (bench/RESULTS.md is only written by a full run)`,
    );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
