import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, fromBinary } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectorExitedError,
  RpcError,
  spawnConnector,
  type ConnectorProcess,
  type SpawnConnectorOptions,
} from '../src/host/index.js';
import { ServerConfigSchema } from '../src/gen/c1/connector_wrapper/v1/connector_wrapper_pb.js';
import {
  RateLimiterConfigSchema,
  DoRequestSchema,
  ReportRequestSchema,
} from '../src/gen/c1/ratelimit/v1/ratelimit_pb.js';
import { RateLimitDescription_Status } from '../src/gen/c1/connector/v2/annotation_ratelimit_pb.js';
import { StartupGate } from '../src/host/startup-gate.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'host-connector-child.mjs');

let tmp: string;
const running: ConnectorProcess[] = [];

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'baton-host-spawn-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.close()));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

let logN = 0;
async function start(extra: Partial<SpawnConnectorOptions> & { mode?: string } = {}) {
  const log = join(tmp, `calls-${++logN}.jsonl`);
  const { mode, ...rest } = extra;
  const proc = await spawnConnector({
    command: process.execPath,
    args: [FIXTURE, '--domain', 'acme'],
    env: { ...process.env, FIXTURE_LOG: log, FIXTURE_EXTRA: 'hello', FIXTURE_MODE: mode ?? '' },
    stderr: 'pipe',
    ...rest,
  });
  running.push(proc);
  const calls = () =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { path: string; body: string })
      : [];
  return { proc, calls };
}

describe('StartupGate: how many children start at once', () => {
  it('lets `slots` start, queues the rest in order, and hands each slot on when it is given back', async () => {
    const gate = new StartupGate(2);
    const order: string[] = [];
    const a = await gate.acquire();
    const b = await gate.acquire();
    const c = gate.acquire().then((release) => (order.push('c'), release));
    const d = gate.acquire().then((release) => (order.push('d'), release));
    await Promise.resolve();
    expect(order).toEqual([]);
    a();
    a(); // giving a slot back twice frees it once
    const releaseC = await c;
    expect(order).toEqual(['c']);
    b();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    releaseC();
    releaseD();
    // Both slots are free again: two more start at once.
    await Promise.all([gate.acquire(), gate.acquire()]);
  });
});

describe('spawnConnector: handshake', () => {
  it('passes argv, env, fd 3 and exactly the ServerConfig line; dials over mTLS', async () => {
    const rateLimiterConfig = create(RateLimiterConfigSchema, { type: { case: 'disabled', value: {} } });
    const { proc, calls } = await start({ rateLimiterConfig });
    const meta = await proc.client.getMetadata();
    const info = JSON.parse(meta.metadata!.description);

    expect(info.argv).toEqual(['--domain', 'acme', '_connector-service']);
    expect(info.listenerFdEnv).toBe('3');
    expect(info.extraEnv).toBe('hello');
    expect(info.pid).toBe(proc.pid);
    expect(info.clientCN).toBe('c1-connector-client');

    // Standard padded base64 of the binary ServerConfig.
    expect(info.configLine).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(info.configLine.length % 4).toBe(0);
    const config = fromBinary(ServerConfigSchema, new Uint8Array(Buffer.from(info.configLine, 'base64')));
    expect(config.listenPort).toBe(proc.port);
    expect(info.listenPort).toBe(proc.port);
    expect(config.sessionStoreListenPort).toBe(0);
    expect(config.rateLimiterConfig?.type.case).toBe('disabled');
    const cred = config.credential!;
    expect(cred.key).toHaveLength(64);
    const leaf = new X509Certificate(Buffer.from(cred.cert));
    expect(leaf.subject).toContain('CN=c1-connector-server');
    expect(leaf.checkIssued(new X509Certificate(Buffer.from(cred.caCert)))).toBe(true);

    // The rate-limit gate ran Do before the call and Report after it.
    const seen = calls();
    expect(seen.map((c) => c.path)).toEqual([
      '/c1.ratelimit.v1.RateLimiterService/Do',
      '/c1.connector.v2.ConnectorService/GetMetadata',
      '/c1.ratelimit.v1.RateLimiterService/Report',
    ]);
    const doReq = fromBinary(DoRequestSchema, new Uint8Array(Buffer.from(seen[0].body, 'base64')));
    expect(doReq.service).toBe('connector');
    expect(doReq.descriptors?.entries.map((e) => `${e.key}=${e.value}`)).toEqual([
      'connector_method=/c1.connector.v2.ConnectorService/GetMetadata',
    ]);
    const report = fromBinary(ReportRequestSchema, new Uint8Array(Buffer.from(seen[2].body, 'base64')));
    expect(report.description?.status).toBe(1); // STATUS_OK
  });

  it('decodes gRPC errors with RateLimitDescription details and reads the stats header', async () => {
    const { proc, calls } = await start({ rateLimitGate: false });
    const err = await proc.client.validate().catch((e) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.message).toBe('slow down');
    expect(err.method).toBe('/c1.connector.v2.ConnectorService/Validate');
    expect(err.rateLimit?.status).toBe(RateLimitDescription_Status.OVERLIMIT);
    expect(err.rateLimit?.limit).toBe(10n);
    expect(timestampMs(err.rateLimit!.resetAt!)).toBe(1_900_000_000_000);

    expect(proc.client.lastStats).toBeUndefined();
    const types = await proc.client.listResourceTypes();
    expect(types.list.map((t) => t.id)).toEqual(['user']);
    expect(proc.client.lastStats).toEqual({ apiRequests: 7, rateLimitWaits: 1, rateLimitWaitMs: 20, retries: 2 });
    // Gate off: no RateLimiterService calls.
    expect(calls().map((c) => c.path)).toEqual([
      '/c1.connector.v2.ConnectorService/Validate',
      '/c1.connector.v2.ResourceTypesService/ListResourceTypes',
    ]);
  });
});

describe('spawnConnector: lifetime', () => {
  it('a child that dies mid-call fails that call and every later one with ConnectorExitedError', async () => {
    const { proc } = await start({ mode: 'exit-on-list-resources' });
    const err = await proc.client.listResources({ resourceTypeId: 'user' }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorExitedError);
    expect(err.exitCode).toBe(3);
    expect(err.signal).toBeNull();
    expect(err.stderrTail).toContain('fatal: upstream exploded');
    expect(err.message).toMatch(/exited with code 3/);
    expect(err.message).toContain('fatal: upstream exploded');

    const later = await proc.client.validate().catch((e) => e);
    expect(later).toBeInstanceOf(ConnectorExitedError);
    expect(later.exitCode).toBe(3);
    expect(await proc.exited).toEqual({ code: 3, signal: null });
    await proc.close(); // still fine after the child is gone
  });

  it('close() closes stdin and the child exits 0', async () => {
    const { proc } = await start();
    await proc.client.getMetadata();
    const t0 = Date.now();
    await proc.close();
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(3_000);
    const after = await proc.client.getMetadata().catch((e) => e);
    expect(after).toBeInstanceOf(Error);
    expect(after).not.toBeInstanceOf(ConnectorExitedError);
  });

  it('close() SIGKILLs a child that ignores stdin EOF after the grace period', async () => {
    const { proc } = await start({ mode: 'ignore-stdin-eof', closeGraceMs: 300 });
    await proc.client.getMetadata();
    await proc.close();
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('a child that exits before serving rejects spawnConnector with its stderr', async () => {
    const err = await start({ mode: 'exit-at-start' }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorExitedError);
    expect(err.exitCode).toBe(1);
    expect(err.stderrTail).toContain('refusing to start');
  });

  it('a missing executable rejects with a clear error', async () => {
    const err = await spawnConnector({ command: join(tmp, 'no-such-connector'), args: [], stderr: 'pipe' }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/cannot start connector .*no-such-connector.*ENOENT/);
  });
});
