// Plugin server benchmarks:
//  1. cold start: spawn through the handshake until the first successful GetMetadata, median of 20 per connector.
//     The connectors take turns (round-robin), so a change in the machine's load hits them alike. Besides wall time
//     it reports the child's CPU time at that moment (Linux: /proc/<pid>/task/*/schedstat), which waiting for a
//     busy CPU does not inflate.
//  2. ListResources throughput over mTLS at page_size 250 with 100-byte profiles (the server is one Node process,
//     one core). Clients only walk the top-level fields of each reply (count resources, read the token), so the
//     number measures the server; it is reported with a minimal HTTP/2 client and with grpc-js (our host's client).
// Usage: node bench/server.mjs [--plugin <js file>] [--cold-start-only]   (RUNS=n changes the 20)
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { ConnectorService } from '../packages/shared/dist/gen/c1/connector/v2/connector_pb.js';
import { ResourcesService } from '../packages/shared/dist/gen/c1/connector/v2/resource_pb.js';
import { generateHandshakeCredentials } from '../packages/shared/dist/tls/credentials.js';
import { listResourcesRaw, median, rawGrpcSession, spawnPlugin, unary } from './support.mjs';

const args = process.argv.slice(2);
const bin = (path) => fileURLToPath(new URL(path, import.meta.url));
// The bundled bins, exactly what package.json "bin" points at and a host would spawn.
const fixture = args.includes('--plugin')
  ? args[args.indexOf('--plugin') + 1]
  : bin('../packages/shared/dist/bin/baton-fixture.mjs');
const coldStartTargets = [
  ['fixture connector', fixture, []],
  [
    'baton-twingate',
    bin('../packages/twingate/dist/bin/baton-twingate.mjs'),
    ['--domain', 'acme', '--api-key', 'bench-key'],
  ],
];
const RUNS = Number(process.env.RUNS ?? 20);
const USERS = 100_000;

/** CPU time (user + system, all threads) the process has used so far, in ms; undefined off Linux. */
function cpuMs(pid) {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

// Credentials are made before the clock starts in every run: the Go host also makes them before spawning,
// and they cost the host, not the plugin.
const wall = coldStartTargets.map(() => []);
const cpu = coldStartTargets.map(() => []);
for (let i = 0; i < RUNS; i++) {
  for (const [k, [, plugin, extra]] of coldStartTargets.entries()) {
    const credentials = await generateHandshakeCredentials();
    const started = performance.now();
    const p = await spawnPlugin(process.execPath, [plugin, ...extra], { credentials });
    await unary(p.client, ConnectorService.method.getMetadata, {}, { waitForReady: true });
    wall[k].push(performance.now() - started);
    const used = cpuMs(p.child.pid);
    if (used !== undefined) cpu[k].push(used);
    await p.stop();
  }
}
for (const [k, [label]] of coldStartTargets.entries()) {
  const cpuNote = cpu[k].length ? `; child CPU median ${median(cpu[k]).toFixed(1)} ms` : '';
  console.log(
    `cold start ${label} (spawn -> first GetMetadata), median of ${RUNS}: ${median(wall[k]).toFixed(1)} ms ` +
      `(min ${Math.min(...wall[k]).toFixed(1)}, max ${Math.max(...wall[k]).toFixed(1)}${cpuNote})`,
  );
}
if (args.includes('--cold-start-only')) process.exit(0);

const credentials = await generateHandshakeCredentials();
const p = await spawnPlugin(process.execPath, [fixture, '--users', String(USERS), '--profile-bytes', '100'], {
  credentials,
});
await unary(p.client, ConnectorService.method.getMetadata, {}, { waitForReady: true });
const raw = await rawGrpcSession(p.port, credentials);
const clients = [
  ['minimal HTTP/2 client', (input) => raw.listResources(input)],
  ['grpc-js client (our host)', (input) => listResourcesRaw(p.client, input)],
];
for (const [label, list] of clients) {
  for (let round = 0; round < 2; round++) {
    let token = '';
    let count = 0;
    let bytes = 0;
    const started = performance.now();
    do {
      const page = await list({ resourceTypeId: 'user', pageSize: 250, pageToken: token });
      count += page.count;
      bytes += page.bytes;
      token = page.nextPageToken;
    } while (token);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${round === 0 ? 'warm-up ' : 'measured'} ${label}: ListResources ${count} users (page_size 250, 100-byte profile padding, ` +
        `${Math.round(bytes / count)} bytes each) in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)} resources/s`,
    );
  }
}
raw.close();
await p.stop();
