/**
 * The child's gRPC transport (src/server/grpc-server.ts) at the protocol level: a real node:http2 server with the
 * transport's stream handler, called with raw HTTP/2 requests (to see exact headers, trailers and frames) and with
 * grpc-js (an independent client). Test services stand in for the plugin's, so each protocol case can be provoked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http2 from 'node:http2';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus,
} from '../src/gen/grpc/health/v1/health_pb.js';
import { EventService, ListEventFeedsResponseSchema } from '../src/gen/c1/connector/v2/event_feed_pb.js';
import * as reflectionPb from '../src/gen/grpc/reflection/v1/reflection_pb.js';
import * as reflectionAlphaPb from '../src/gen/grpc/reflection/v1alpha/reflection_pb.js';
import {
  RateLimitDescriptionSchema,
  RateLimitDescription_Status,
} from '../src/gen/c1/connector/v2/annotation_ratelimit_pb.js';
import { StatusSchema } from '../src/gen/google/rpc/status_pb.js';
import { grpcStreamHandler, MAX_RECEIVE_BYTES, parseGrpcTimeout } from '../src/server/grpc-server.js';
import {
  EVENT_SERVICE,
  HEALTH_SERVICE,
  REFLECTION_V1ALPHA_SERVICE,
  REFLECTION_V1_SERVICE,
  serviceEntry,
  type ServiceEntry,
} from '../src/server/plugin-services.js';
import { RpcStatus, STATS_HEADER } from '../src/server/interceptors.js';
import { Code, ConnectorError, unavailable } from '../src/sdk/errors.js';
import { newRuntimeStats } from '../src/sdk/connector.js';
import { createLogger } from '../src/log/logger.js';
import { allFiles } from '../src/descriptors.js';

/** What the test Health service does for a Check, chosen by the requested service name. */
const seenSignals: AbortSignal[] = [];
let eventServiceLoads = 0;

const health: ServiceImpl<typeof Health> = {
  async check(req, ctx) {
    switch (req.service) {
      case 'slow':
        seenSignals.push(ctx.signal);
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        return { status: HealthCheckResponse_ServingStatus.NOT_SERVING };
      case 'not-found':
        throw new ConnectorError(Code.NotFound, 'resource user:42 not found: it was deleted, 5% chance');
      case 'rate-limited':
        throw unavailable('slow down', { status: 'overlimit', limit: 10, remaining: 0, resetAtMs: 1_700_000_000_000 });
      case 'boom':
        throw new Error('database password is hunter2');
      case 'header':
        ctx.responseHeader.set('x-extra', 'yes');
        ctx.responseTrailer.set('x-trailer', 'done');
        return { status: HealthCheckResponse_ServingStatus.SERVING };
      default:
        return { status: HealthCheckResponse_ServingStatus.SERVING };
    }
  },
  list: () => ({ statuses: {} }),
  async *watch(req, ctx) {
    seenSignals.push(ctx.signal);
    yield { status: HealthCheckResponse_ServingStatus.SERVING };
    if (req.service === 'fail-after-one') throw new ConnectorError(Code.Aborted, 'stream broke');
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
  },
};

const reflection = {
  async *serverReflectionInfo(requests: AsyncIterable<reflectionPb.ServerReflectionRequest>) {
    for await (const request of requests) {
      yield { validHost: request.host, messageResponse: { case: 'listServicesResponse' as const, value: {} } };
    }
  },
};

let server: http2.Http2Server;
let port: number;
const stats = newRuntimeStats();

beforeAll(async () => {
  stats.apiRequests = 7;
  const lazy = new Map<string, () => Promise<ServiceEntry>>([
    [
      EVENT_SERVICE,
      async () => {
        eventServiceLoads++;
        return serviceEntry(EventService, {
          listEvents: () => ({}),
          listEventFeeds: () => ({ list: [] }),
        });
      },
    ],
  ]);
  server = http2.createServer();
  server.on(
    'stream',
    grpcStreamHandler({
      services: {
        eager: [serviceEntry(Health, health), serviceEntry(reflectionPb.ServerReflection, reflection)],
        lazy,
        names: [Health.typeName, reflectionPb.ServerReflection.typeName, ...lazy.keys()].sort(),
      },
      logger: createLogger({ level: 'error', write: () => {} }),
      stats,
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

interface RawResult {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  data: Buffer;
}

/** One HTTP/2 request with a raw body; resolves with what came back, exactly. */
function raw(path: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (responseHeaders = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      session.close();
      resolve({ headers: responseHeaders, trailers, data: Buffer.concat(chunks) });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function frame(bytes: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = flags;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

function checkRequest(service: string): Buffer {
  return frame(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service })));
}

/** The status of a response: from the trailers, or from the headers of a trailers-only response. */
function statusOf(result: RawResult): { code: number; message?: string; detailsBin?: string } {
  const source = result.trailers['grpc-status'] !== undefined ? result.trailers : result.headers;
  return {
    code: Number(source['grpc-status']),
    message: source['grpc-message'] as string | undefined,
    detailsBin: source['grpc-status-details-bin'] as string | undefined,
  };
}

function messagesOf<D extends DescMessage>(schema: D, data: Buffer): MessageShape<D>[] {
  const out: MessageShape<D>[] = [];
  for (let offset = 0; offset < data.length;) {
    const length = data.readUInt32BE(offset + 1);
    out.push(fromBinary(schema, data.subarray(offset + 5, offset + 5 + length)));
    offset += 5 + length;
  }
  return out;
}

const CHECK = '/grpc.health.v1.Health/Check';

describe('gRPC transport: unary calls', () => {
  it('answers with headers, one message and grpc-status 0 in trailers, plus the stats header', async () => {
    const result = await raw(CHECK, checkRequest(''));
    expect(result.headers[':status']).toBe(200);
    expect(result.headers['content-type']).toBe('application/grpc');
    expect(JSON.parse(result.headers[STATS_HEADER] as string)).toMatchObject({ apiRequests: 7 });
    expect(messagesOf(HealthCheckResponseSchema, result.data).map((m) => m.status)).toEqual([
      HealthCheckResponse_ServingStatus.SERVING,
    ]);
    expect(result.trailers['grpc-status']).toBe('0');
  });

  it('sends the headers and trailers a handler sets on its context', async () => {
    const result = await raw(CHECK, checkRequest('header'));
    expect(result.headers['x-extra']).toBe('yes');
    expect(result.trailers['x-trailer']).toBe('done');
    expect(result.trailers['grpc-status']).toBe('0');
  });

  it('answers errors trailers-only, with grpc-message percent-encoded the way Go does', async () => {
    const result = await raw(CHECK, checkRequest('not-found'));
    expect(result.data.length).toBe(0);
    expect(result.trailers).toEqual({});
    expect(result.headers['grpc-status']).toBe(String(Code.NotFound));
    // ':' and ',' stay literal (Connect would write %3A and %2C); '%' itself is escaped.
    expect(result.headers['grpc-message']).toBe('resource user:42 not found: it was deleted, 5%25 chance');
    expect(JSON.parse(result.headers[STATS_HEADER] as string)).toMatchObject({ apiRequests: 7 });
  });

  it('carries rate-limit details as a google.rpc.Status in grpc-status-details-bin', async () => {
    const { code, message, detailsBin } = statusOf(await raw(CHECK, checkRequest('rate-limited')));
    expect(code).toBe(Code.Unavailable);
    expect(message).toBe('slow down');
    expect(detailsBin).toMatch(/^[A-Za-z0-9+/]+$/); // unpadded base64, like Go
    const status = fromBinary(StatusSchema, Buffer.from(detailsBin!, 'base64'));
    expect(status.code).toBe(Code.Unavailable);
    expect(status.message).toBe('slow down');
    const detail = anyUnpack(status.details[0], RateLimitDescriptionSchema);
    expect(detail?.status).toBe(RateLimitDescription_Status.OVERLIMIT);
    expect(detail?.limit).toBe(10n);
    expect(detail?.resetAt?.seconds).toBe(1_700_000_000n);
  });

  it('answers an unexpected exception INTERNAL without its message', async () => {
    const { code, message } = statusOf(await raw(CHECK, checkRequest('boom')));
    expect(code).toBe(Code.Internal);
    expect(message).toBe('Internal Server Error');
  });

  it('names unknown services and methods as Go does (UNIMPLEMENTED)', async () => {
    expect(statusOf(await raw('/grpc.health.v1.Health/Nope', checkRequest('')))).toMatchObject({
      code: Code.Unimplemented,
      message: 'unknown method Nope for service grpc.health.v1.Health',
    });
    expect(statusOf(await raw('/no.Such/Thing', checkRequest('')))).toMatchObject({
      code: Code.Unimplemented,
      message: 'unknown service no.Such',
    });
    expect(statusOf(await raw('/nonsense', checkRequest('')))).toMatchObject({ code: Code.Unimplemented });
  });

  it('loads a lazy service on its first call, once', async () => {
    const before = eventServiceLoads;
    const results = await Promise.all(
      [1, 2].map(() => raw('/c1.connector.v2.EventService/ListEventFeeds', frame(new Uint8Array(0)))),
    );
    for (const result of results) {
      expect(statusOf(result).code).toBe(0);
      expect(messagesOf(ListEventFeedsResponseSchema, result.data)).toHaveLength(1);
    }
    expect(eventServiceLoads - before).toBe(1);
  });

  it('refuses what is not gRPC: other methods (405) and content types (415)', async () => {
    expect((await raw(CHECK, checkRequest(''), { ':method': 'PUT' })).headers[':status']).toBe(405);
    expect((await raw(CHECK, checkRequest(''), { 'content-type': 'application/json' })).headers[':status']).toBe(415);
    expect((await raw(CHECK, checkRequest(''), { 'content-type': 'application/grpc+proto' })).headers[':status']).toBe(
      200,
    );
  });

  it('refuses compression it does not implement, and compressed messages without an encoding', async () => {
    expect(statusOf(await raw(CHECK, checkRequest(''), { 'grpc-encoding': 'gzip' }))).toMatchObject({
      code: Code.Unimplemented,
      message: 'grpc: Decompressor is not installed for grpc-encoding "gzip"',
    });
    const compressedFlag = frame(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema)), 1);
    expect(statusOf(await raw(CHECK, compressedFlag)).code).toBe(Code.Internal);
  });

  it('refuses a message over 4 MiB (RESOURCE_EXHAUSTED) and unary requests without exactly one message', async () => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(MAX_RECEIVE_BYTES + 1, 1);
    expect(statusOf(await raw(CHECK, Buffer.concat([header, Buffer.alloc(1024)]))).code).toBe(Code.ResourceExhausted);
    expect(statusOf(await raw(CHECK, Buffer.alloc(0))).code).toBe(Code.Unimplemented);
    expect(statusOf(await raw(CHECK, Buffer.concat([checkRequest(''), checkRequest('')]))).code).toBe(
      Code.Unimplemented,
    );
    expect(statusOf(await raw(CHECK, checkRequest('').subarray(0, 3))).code).toBe(Code.Internal);
  });

  it('turns grpc-timeout into DEADLINE_EXCEEDED and aborts the handler', async () => {
    const started = Date.now();
    const result = await raw(CHECK, checkRequest('slow'), { 'grpc-timeout': '100m' });
    expect(statusOf(result)).toMatchObject({ code: Code.DeadlineExceeded });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(seenSignals.at(-1)?.aborted).toBe(true);
    expect(statusOf(await raw(CHECK, checkRequest(''), { 'grpc-timeout': 'soon' })).code).toBe(Code.Internal);
  });
});

describe('gRPC transport with grpc-js as the client', () => {
  let client: grpc.Client;
  beforeAll(() => {
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  afterAll(() => client.close());

  const encodeRequest = (v: MessageShape<typeof HealthCheckRequestSchema>) =>
    Buffer.from(toBinary(HealthCheckRequestSchema, v));
  const decodeResponse = (b: Buffer) => fromBinary(HealthCheckResponseSchema, b);

  const check = (service: string, deadlineMs = 5000) =>
    new Promise<{ err: grpc.ServiceError | null; value?: MessageShape<typeof HealthCheckResponseSchema> }>(
      (resolve) => {
        client.makeUnaryRequest(
          CHECK,
          encodeRequest,
          decodeResponse,
          create(HealthCheckRequestSchema, { service }),
          new grpc.Metadata(),
          { deadline: Date.now() + deadlineMs },
          (err, value) => resolve({ err, value }),
        );
      },
    );

  const watch = (service: string) =>
    client.makeServerStreamRequest(
      '/grpc.health.v1.Health/Watch',
      encodeRequest,
      decodeResponse,
      create(HealthCheckRequestSchema, { service }),
    );

  it('reads answers and errors with their text intact', async () => {
    expect((await check('')).value?.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const { err } = await check('not-found');
    expect(err?.code).toBe(grpc.status.NOT_FOUND);
    expect(err?.details).toBe('resource user:42 not found: it was deleted, 5% chance');
  });

  it('sends its own deadline as grpc-timeout, which the handler sees', async () => {
    const { err } = await check('slow', 150);
    expect(err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seenSignals.at(-1)?.aborted).toBe(true);
  });

  it('streams server-streaming answers, and a cancelled stream aborts the handler', async () => {
    const call = watch('');
    const first = await new Promise<MessageShape<typeof HealthCheckResponseSchema>>((resolve) =>
      call.once('data', resolve),
    );
    expect(first.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const signal = seenSignals.at(-1)!;
    expect(signal.aborted).toBe(false);
    call.on('error', () => {});
    call.cancel();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(signal.aborted).toBe(true);
  });

  it('ends a stream that fails after its first message with the error in trailers', async () => {
    const call = watch('fail-after-one');
    const received: unknown[] = [];
    call.on('data', (m) => received.push(m));
    const err = await new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    expect(received).toHaveLength(1);
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.details).toBe('stream broke');
  });

  it('answers each message of a bidi stream as it arrives', async () => {
    const call = client.makeBidiStreamRequest(
      '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      (v: reflectionPb.ServerReflectionRequest) => Buffer.from(toBinary(reflectionPb.ServerReflectionRequestSchema, v)),
      (b: Buffer) => fromBinary(reflectionPb.ServerReflectionResponseSchema, b),
    );
    const next = () => new Promise<reflectionPb.ServerReflectionResponse>((resolve) => call.once('data', resolve));
    for (const host of ['first', 'second']) {
      const answer = next();
      call.write(create(reflectionPb.ServerReflectionRequestSchema, { host }));
      expect((await answer).validHost).toBe(host);
    }
    call.end();
    await new Promise((resolve) => call.on('status', resolve));
  });
});

describe('grpc-timeout parsing', () => {
  it('reads every unit, rounding up to whole milliseconds', () => {
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('4S')).toBe(4000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('1500u')).toBe(2);
    expect(parseGrpcTimeout('1n')).toBe(1);
    expect(parseGrpcTimeout('123456789S')).toBeInstanceOf(RpcStatus); // more than 8 digits
    expect(parseGrpcTimeout('10s')).toBeInstanceOf(RpcStatus);
  });
});

describe('descriptors', () => {
  it('reflection and protojson know every generated file', () => {
    const gen = fileURLToPath(new URL('../src/gen', import.meta.url));
    const generated = readdirSync(gen, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('_pb.ts'))
      .map((f) => f.replace(/_pb\.ts$/, '.proto'))
      .sort();
    expect(
      allFiles()
        .map((f) => f.proto.name)
        .sort(),
    ).toEqual(generated);
  });

  it('lazily loaded services are named as their generated descriptors name them', () => {
    expect(EVENT_SERVICE).toBe(EventService.typeName);
    expect(HEALTH_SERVICE).toBe(Health.typeName);
    expect(REFLECTION_V1_SERVICE).toBe(reflectionPb.ServerReflection.typeName);
    expect(REFLECTION_V1ALPHA_SERVICE).toBe(reflectionAlphaPb.ServerReflection.typeName);
  });
});
