/**
 * The child's gRPC server: gRPC over HTTP/2 (binary protobuf) on node:http2's stream API, serving the plugin's
 * services to its host (docs/protocol.md, "Transport").
 *
 * Why not connect-node here: a host spawns a plugin for every job, and loading connect-node and the WHATWG fetch
 * implementation its `Headers` pull in cost ~90 ms of the child's start-up CPU, more than everything else it needs
 * to answer. A host only ever speaks binary gRPC over h2, which is small: length-prefixed messages in the request
 * and response bodies, the status in trailers. Local `serve`, where curl speaks the Connect protocol and start-up
 * time does not matter, keeps connect-node (router.ts); both serve the same service implementations.
 *
 * What it implements, and how Go's gRPC server behaves in each case:
 *  - unary, server-streaming and bidi-streaming methods (reflection is bidi), routed by `:path`;
 *  - `grpc-timeout` becomes the handler's signal and a DEADLINE_EXCEEDED answer; a client that goes away aborts it;
 *  - no compression: a compressed request is UNIMPLEMENTED (Go's "Decompressor is not installed"), answers are never
 *    compressed (Go servers do not compress unless asked to);
 *  - messages larger than 4 MiB are RESOURCE_EXHAUSTED (Go's default limit);
 *  - errors are trailers-only responses with `grpc-status`, `grpc-message` percent-encoded the way Go encodes it,
 *    and `grpc-status-details-bin` (a google.rpc.Status) when the error has details (rate-limit descriptions);
 *  - every answer carries the `baton-ts-stats` header our own host reads (Go hosts ignore unknown metadata).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescService } from '@bufbuild/protobuf';
import { AnySchema, anyPack, type Any } from '@bufbuild/protobuf/wkt';
import {
  Code,
  createContextValues,
  createServiceImplSpec,
  type HandlerContext,
  type MethodImplSpec,
} from '@connectrpc/connect';
import { StatusSchema } from '../gen/google/rpc/status_pb.js';
import type { Logger } from '../log/logger.js';
import type { RuntimeStats } from '../sdk/connector.js';
import { encodeGrpcMessage } from './grpc-message.js';
import { RpcStatus, STATS_HEADER, toRpcStatus } from './interceptors.js';
import type { PluginServices, ServiceEntry } from './plugin-services.js';
import { validateMessage } from './validation.js';
import { useNodeUtf8Encoder } from '../util/protobuf-utf8.js';

// Annotations, c1z rows and gRPC answers are encoded with protobuf-es: use Node's faster UTF-8 encoder.
useNodeUtf8Encoder();

/** Go's default for the largest message a server receives. */
export const MAX_RECEIVE_BYTES = 4 * 1024 * 1024;
const GRPC_CONTENT_TYPE = /^application\/grpc(\+proto)?(;|$)/;

export interface GrpcServerOptions {
  services: PluginServices;
  logger: Logger;
  stats: RuntimeStats;
}

/** A handler for the http2 server's `stream` event. */
export function grpcStreamHandler(
  options: GrpcServerOptions,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  const routes = new Map<string, MethodImplSpec>();
  const add = (entry: ServiceEntry) => {
    const spec = createServiceImplSpec(entry.service, entry.impl);
    for (const method of Object.values(spec.methods))
      routes.set(`/${entry.service.typeName}/${method.method.name}`, method);
  };
  options.services.eager.forEach(add);
  const loading = new Map<string, Promise<void>>();

  /** The method a path names, loading its service if it is one of the lazy ones. */
  const route = async (path: string): Promise<MethodImplSpec | undefined> => {
    const known = routes.get(path);
    if (known) return known;
    const service = /^\/([^/]+)\//.exec(path)?.[1];
    const load = service ? options.services.lazy.get(service) : undefined;
    if (!service || !load) return undefined;
    let pending = loading.get(service);
    if (!pending) {
      pending = load().then(add);
      loading.set(service, pending);
    }
    await pending;
    return routes.get(path);
  };

  return (stream, headers) => {
    void serveCall(stream, headers, route, options).catch((err: unknown) => {
      // Only reachable through a bug in this file: never leave the stream hanging.
      options.logger.error('grpc transport failure', { error: err instanceof Error ? err.message : String(err) });
      if (!stream.destroyed) stream.destroy();
    });
  };
}

async function serveCall(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  route: (path: string) => Promise<MethodImplSpec | undefined>,
  options: GrpcServerOptions,
): Promise<void> {
  stream.on('error', () => {
    // A reset from the client; 'close' below aborts the handler.
  });
  if (headers[':method'] !== 'POST') {
    respondHttp(stream, 405, { allow: 'POST' });
    return;
  }
  const contentType = headers['content-type'] ?? '';
  if (!GRPC_CONTENT_TYPE.test(contentType)) {
    respondHttp(stream, 415, { 'accept-post': 'application/grpc, application/grpc+proto' });
    return;
  }
  const call = new Call(stream, options.stats);
  const encoding = headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    call.fail(
      new RpcStatus(Code.Unimplemented, `grpc: Decompressor is not installed for grpc-encoding "${String(encoding)}"`),
    );
    return;
  }
  const path = headers[':path'] ?? '';
  const method = await route(path);
  if (!method) {
    // Go's texts for the three cases.
    const [, service, name] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
    const message = !service
      ? `malformed method name: "${path}"`
      : options.services.names.includes(service)
        ? `unknown method ${name} for service ${service}`
        : `unknown service ${service}`;
    call.fail(new RpcStatus(Code.Unimplemented, message));
    return;
  }
  const timeout = parseGrpcTimeout(headers['grpc-timeout']);
  if (timeout instanceof RpcStatus) {
    call.fail(timeout);
    return;
  }

  const controller = new AbortController();
  const deadline = timeout === undefined ? undefined : Date.now() + timeout;
  let timer: NodeJS.Timeout | undefined;
  if (timeout !== undefined) {
    timer = setTimeout(
      () => {
        controller.abort(new Error('the deadline of the call expired'));
        call.fail(new RpcStatus(Code.DeadlineExceeded, 'context deadline exceeded'));
      },
      Math.min(timeout, 2 ** 31 - 1),
    );
  }
  stream.once('close', () => {
    clearTimeout(timer);
    // The client went away (or the call is over): stop whatever the handler still does for it.
    if (!controller.signal.aborted) controller.abort(new Error('the client closed the stream'));
  });

  const context = handlerContext(method, headers, controller.signal, deadline);
  try {
    const requests = readMessages(stream, method.method.input);
    switch (method.kind) {
      case 'unary': {
        const request = await singleMessage(requests);
        rejectInvalid(method, request);
        const response = await method.impl(request, context);
        call.sendMessage(method.method.output, response, context);
        break;
      }
      case 'server_streaming': {
        const request = await singleMessage(requests);
        rejectInvalid(method, request);
        for await (const response of method.impl(request, context)) {
          call.sendMessage(method.method.output, response, context);
        }
        break;
      }
      case 'client_streaming': {
        const response = await method.impl(requests, context);
        call.sendMessage(method.method.output, response, context);
        break;
      }
      case 'bidi_streaming':
        for await (const response of method.impl(requests, context)) {
          call.sendMessage(method.method.output, response, context);
        }
        break;
    }
    call.finish(context);
  } catch (err) {
    call.fail(toRpcStatus(err, method.method.name, options.logger), context);
  } finally {
    clearTimeout(timer);
  }
}

/** PGV-style request validation for single requests (docs/protocol.md, "Validation"). */
function rejectInvalid(method: MethodImplSpec, request: unknown): void {
  const problem = validateMessage(method.method.input, request as never);
  if (problem) throw new RpcStatus(Code.InvalidArgument, problem);
}

/** One call's response side: headers once, then messages, then the status in trailers. */
class Call {
  private headersSent = false;
  private done = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly stats: RuntimeStats,
  ) {}

  sendMessage(schema: DescMessage, value: unknown, context: LazyContext): void {
    if (this.done || this.stream.destroyed) return;
    const message = isMessage(value, schema) ? value : create(schema, value as never);
    const bytes = toBinary(schema, message);
    const frame = Buffer.allocUnsafe(5 + bytes.length);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.length, 1);
    frame.set(bytes, 5);
    this.sendHeaders(context);
    this.stream.write(frame);
  }

  finish(context: LazyContext): void {
    if (this.done) return;
    this.sendHeaders(context);
    this.end({ 'grpc-status': '0', ...context.trailers() });
  }

  fail(error: RpcStatus, context?: LazyContext): void {
    if (this.done || this.stream.destroyed) return;
    const trailers: OutgoingHttpHeaders = { ...context?.trailers() };
    error.metadata?.forEach((value, key) => (trailers[key] = value));
    Object.assign(trailers, statusTrailers(error), { [STATS_HEADER]: JSON.stringify(this.stats) });
    if (this.headersSent) {
      this.end(trailers);
      return;
    }
    // Trailers-only: the status travels in the one HEADERS frame that also ends the stream.
    this.done = true;
    this.stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true });
  }

  private sendHeaders(context: LazyContext): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-accept-encoding': 'identity',
        [STATS_HEADER]: JSON.stringify(this.stats),
        ...context.headers(),
      },
      { waitForTrailers: true },
    );
  }

  private end(trailers: OutgoingHttpHeaders): void {
    this.done = true;
    if (this.stream.destroyed) return;
    this.stream.once('wantTrailers', () => {
      if (!this.stream.destroyed) this.stream.sendTrailers(trailers);
    });
    this.stream.end();
  }
}

function respondHttp(stream: ServerHttp2Stream, status: number, headers: OutgoingHttpHeaders): void {
  if (stream.destroyed) return;
  stream.respond({ ':status': status, ...headers }, { endStream: true });
}

/** `grpc-status`, `grpc-message` and, for errors with details, `grpc-status-details-bin`. */
function statusTrailers(error: RpcStatus): OutgoingHttpHeaders {
  const trailers: OutgoingHttpHeaders = { 'grpc-status': String(error.code) };
  if (error.message) trailers['grpc-message'] = encodeGrpcMessage(error.message);
  if (error.details.length > 0) {
    const details: Any[] = error.details.map((detail) =>
      'desc' in detail
        ? anyPack(detail.desc, create(detail.desc, detail.value))
        : create(AnySchema, { typeUrl: `type.googleapis.com/${detail.type}`, value: detail.value }),
    );
    const status = create(StatusSchema, { code: error.code, message: error.message, details });
    // Unpadded, as Go writes binary metadata; every gRPC implementation accepts both.
    trailers['grpc-status-details-bin'] = Buffer.from(toBinary(StatusSchema, status))
      .toString('base64')
      .replace(/=+$/, '');
  }
  return trailers;
}

/**
 * `grpc-timeout`: at most 8 digits and a unit (Hours, Minutes, Seconds, milliseconds, microseconds, nanoseconds).
 * Returns milliseconds, undefined when absent, or an RpcStatus for a malformed value (Go answers those INTERNAL).
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined | RpcStatus {
  if (value === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(String(value));
  if (!match) return new RpcStatus(Code.Internal, `malformed grpc-timeout: ${String(value)}`);
  const amount = Number(match[1]);
  const perUnit = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[match[2] as 'H'];
  return Math.ceil(amount * perUnit);
}

/** The request messages of a call, decoded as they arrive. */
async function* readMessages<T extends DescMessage>(stream: ServerHttp2Stream, schema: T) {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const take = (n: number): Buffer => {
    const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
    pending = n < all.length ? [all.subarray(n)] : [];
    pendingBytes = all.length - n;
    return all.subarray(0, n);
  };
  for await (const chunk of chunksOf(stream)) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    while (pendingBytes >= 5) {
      const head = pending[0].length >= 5 ? pending[0] : Buffer.concat(pending, pendingBytes);
      const flags = head[0];
      const length = head.readUInt32BE(1);
      if (flags & 1) throw new RpcStatus(Code.Internal, 'grpc: compressed flag set with identity or empty encoding');
      if (length > MAX_RECEIVE_BYTES) {
        throw new RpcStatus(
          Code.ResourceExhausted,
          `grpc: received message larger than max (${length} vs. ${MAX_RECEIVE_BYTES})`,
        );
      }
      if (pendingBytes < 5 + length) break;
      take(5);
      const payload = take(length);
      let message;
      try {
        message = fromBinary(schema, payload);
      } catch (err) {
        throw new RpcStatus(Code.Internal, `grpc: error unmarshalling request: ${(err as Error).message}`);
      }
      yield message;
    }
  }
  if (pendingBytes > 0) throw new RpcStatus(Code.Internal, 'grpc: request ended inside a message');
}

/**
 * The request body's chunks. Not `for await` over the stream itself: leaving that loop early (a protocol error)
 * destroys the stream, and the error could no longer be answered. Reading pauses while more than a maximal
 * message waits to be decoded.
 */
async function* chunksOf(stream: ServerHttp2Stream): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let wake: (() => void) | undefined;
  const onData = (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued > MAX_RECEIVE_BYTES) stream.pause();
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  stream.on('data', onData);
  stream.once('end', onEnd);
  stream.once('close', onEnd);
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        queued -= chunk.length;
        if (stream.isPaused() && queued <= MAX_RECEIVE_BYTES) stream.resume();
        yield chunk;
      } else if (ended) {
        return;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onEnd);
  }
}

async function singleMessage<T>(messages: AsyncGenerator<T>): Promise<T> {
  const first = await messages.next();
  if (first.done) throw new RpcStatus(Code.Unimplemented, 'grpc: request has no message for a unary method');
  const second = await messages.next();
  if (!second.done)
    throw new RpcStatus(Code.Unimplemented, 'grpc: request has more than one message for a unary method');
  return first.value;
}

/** HandlerContext whose Headers objects exist only if a handler touches them (they load the fetch API). */
interface LazyContext extends HandlerContext {
  headers(): OutgoingHttpHeaders;
  trailers(): OutgoingHttpHeaders;
}

function handlerContext(
  spec: MethodImplSpec,
  incoming: IncomingHttpHeaders,
  signal: AbortSignal,
  deadline: number | undefined,
): LazyContext {
  let requestHeader: Headers | undefined;
  let responseHeader: Headers | undefined;
  let responseTrailer: Headers | undefined;
  const values = createContextValues();
  const plain = (headers: Headers | undefined): OutgoingHttpHeaders => {
    const out: OutgoingHttpHeaders = {};
    headers?.forEach((value, key) => (out[key] = value));
    return out;
  };
  return {
    method: spec.method,
    service: spec.method.parent as DescService,
    signal,
    timeoutMs: () => (deadline === undefined ? undefined : deadline - Date.now()),
    requestMethod: 'POST',
    protocolName: 'grpc',
    url: `https://${String(incoming[':authority'] ?? '127.0.0.1')}${String(incoming[':path'] ?? '')}`,
    values,
    get requestHeader() {
      if (!requestHeader) {
        requestHeader = new Headers();
        for (const [key, value] of Object.entries(incoming)) {
          if (key.startsWith(':') || value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) requestHeader.append(key, v);
        }
      }
      return requestHeader;
    },
    get responseHeader() {
      return (responseHeader ??= new Headers());
    },
    get responseTrailer() {
      return (responseTrailer ??= new Headers());
    },
    headers: () => plain(responseHeader),
    trailers: () => plain(responseTrailer),
  };
}
