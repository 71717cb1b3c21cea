// Plugin server benchmarks (issue 2):
//  1. cold start: spawn through the handshake until the first successful GetMetadata, median of 20;
//  2. ListResources throughput over mTLS at page_size 250 with 100-byte profiles (the server is one Node process,
//     one core). Clients only walk the top-level fields of each reply (count resources, read the token), so the
//     number measures the server; it is reported with a minimal HTTP/2 client and with grpc-js (our host's client).
// Usage: node bench/server.mjs [--plugin <js file>]   (default: the bundled fixture connector bin; RUNS=n to change 20)
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

// Credentials are made before the clock starts in every run: the Go host also makes them before spawning,
// and they cost the host, not the plugin.
for (const [label, plugin, extra] of coldStartTargets) {
  const coldStarts = [];
  for (let i = 0; i < RUNS; i++) {
    const credentials = await generateHandshakeCredentials();
    const started = performance.now();
    const p = await spawnPlugin(process.execPath, [plugin, ...extra], { credentials });
    await unary(p.client, ConnectorService.method.getMetadata, {}, { waitForReady: true });
    coldStarts.push(performance.now() - started);
    await p.stop();
  }
  console.log(
    `cold start ${label} (spawn -> first GetMetadata), median of ${RUNS}: ${median(coldStarts).toFixed(1)} ms ` +
      `(min ${Math.min(...coldStarts).toFixed(1)}, max ${Math.max(...coldStarts).toFixed(1)})`,
  );
}

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
