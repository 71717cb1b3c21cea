import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4 } from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

import { FaultInjector, type FaultDecision, type FaultKind } from './faults.js';
import { RateLimiter, type RateLimitDecision } from './rate-limit.js';
import { RequestLog } from './request-log.js';
import {
  systemClock,
  type AuthHook,
  type Clock,
  type RateClassifier,
  type RouteHandler,
  type SimRequest,
  type SimResponse,
  type SimulatorStats,
} from './types.js';

export interface RouteOptions {
  /** Accept the path with or without a trailing slash (default: the server's `trailingSlash`). */
  trailingSlash?: boolean;
  /** Run the server's auth hook (default true). */
  auth?: boolean;
  /** Rate-limit class: a fixed class, a classifier, or null for "never limited" (default: the server's classifier). */
  rateClass?: string | RateClassifier | null;
  /** Reject a body that is not JSON with 400 (default true). When false the handler gets `body: undefined`. */
  parseJson?: boolean;
}

export interface SimulatorServerOptions {
  /** Loopback only: 127.0.0.1 (default), any 127.x.y.z, ::1 or localhost. Anything else throws. */
  host?: string;
  /** 0 (default) picks a free ephemeral port. */
  port?: number;
  /** Larger bodies get 413 (default 1 MiB). */
  bodyLimitBytes?: number;
  auth?: AuthHook;
  rateLimiter?: RateLimiter;
  faults?: FaultInjector;
  log?: RequestLog;
  clock?: Clock;
  /** Default trailing-slash tolerance of routes (default false: exact paths). */
  trailingSlash?: boolean;
  /** Default rate-limit classifier: GET/HEAD are `read`, everything else `write`. */
  rateClass?: RateClassifier;
  /** Add X-RateLimit-Limit/Remaining/Reset to rate-limited classes' responses (default false). */
  rateLimitHeaders?: boolean;
  /** Body of a 429 caused by the rate limiter (default: `{error, message, retryAfterSeconds}`). */
  rateLimitBody?: (cls: string, decision: Extract<RateLimitDecision, { allowed: false }>) => unknown;
  /**
   * Network latency to simulate: every request waits this long before it is handled (default 0, as in tests;
   * benchmarks use 20). Changeable while running with `setLatencyMs`.
   */
  latencyMs?: number;
}

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
  options: Required<Pick<RouteOptions, 'trailingSlash' | 'auth' | 'parseJson'>> & Pick<RouteOptions, 'rateClass'>;
}

class BodyTooLargeError extends Error {}

const defaultRateClass: RateClassifier = (req) => (req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write');

/** Throws unless `host` is a loopback address; returns the address to bind. */
export function loopbackHost(host: string): string {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return '127.0.0.1';
  if (h === '::1') return '::1';
  if (isIPv4(h) && h.startsWith('127.')) return h;
  throw new Error(
    `simulator host ${JSON.stringify(host)} is not a loopback address: simulators only listen on 127.0.0.0/8 or ::1`,
  );
}

/** "/" -> [""], "/a/b" -> ["a", "b"], "/a/b/" -> ["a", "b", ""] (a trailing "" marks a trailing slash). */
function splitPath(path: string): string[] {
  return path.replace(/^\//, '').split('/');
}

function hasTrailingSlash(segments: string[]): boolean {
  return segments.length > 1 && segments[segments.length - 1] === '';
}

function withoutTrailingSlash(segments: string[]): string[] {
  return hasTrailingSlash(segments) ? segments.slice(0, -1) : segments;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new BodyTooLargeError(`request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    });
  });
}

/** Half of a JSON text is never valid JSON: the client must cope with a 200 whose body does not parse. */
function truncatePayload(payload: string): string {
  if (payload.length < 2) return '{';
  return payload.slice(0, Math.max(1, Math.floor(payload.length / 2)));
}

/**
 * A tiny HTTP framework for fake SaaS APIs. Per request, in this order: route match (404/405), fault injection,
 * auth hook (e.g. 401), JSON body check (400/413), rate limit (429 + Retry-After), handler. Every request is
 * counted and logged, whatever its outcome.
 */
export class SimulatorServer {
  readonly log: RequestLog;
  readonly faults: FaultInjector;
  readonly rateLimiter: RateLimiter;
  readonly clock: Clock;

  private readonly host: string;
  private readonly port: number;
  private readonly bodyLimitBytes: number;
  private readonly trailingSlash: boolean;
  private readonly rateClass: RateClassifier;
  private readonly routes: Route[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly sleepers = new Set<() => void>();
  private auth: AuthHook | undefined;
  private server: Server | undefined;
  private url: string | undefined;
  private served = 0;
  private readonly statusCounts = new Map<number, number>();
  private latencyMs: number;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: SimulatorServerOptions = {}) {
    this.host = loopbackHost(options.host ?? '127.0.0.1');
    this.port = options.port ?? 0;
    this.bodyLimitBytes = options.bodyLimitBytes ?? 1024 * 1024;
    this.trailingSlash = options.trailingSlash ?? false;
    this.rateClass = options.rateClass ?? defaultRateClass;
    this.auth = options.auth;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? new RequestLog();
    this.faults = options.faults ?? new FaultInjector();
    this.rateLimiter = options.rateLimiter ?? new RateLimiter({ clock: this.clock });
    this.latencyMs = validLatency(options.latencyMs ?? 0);
  }

  /** Changes the simulated latency of the requests that arrive from now on. */
  setLatencyMs(ms: number): void {
    this.latencyMs = validLatency(ms);
  }

  setAuth(auth: AuthHook | undefined): void {
    this.auth = auth;
  }

  /** Registers a route. `pattern` may contain `:name` segments, e.g. `/scim/v2/Users/:id`. */
  route(method: string, pattern: string, handler: RouteHandler, options: RouteOptions = {}): this {
    this.routes.push({
      method: method.toUpperCase(),
      segments: splitPath(pattern),
      handler,
      options: {
        trailingSlash: options.trailingSlash ?? this.trailingSlash,
        auth: options.auth ?? true,
        parseJson: options.parseJson ?? true,
        rateClass: options.rateClass,
      },
    });
    return this;
  }

  get(pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    return this.route('GET', pattern, handler, options);
  }

  post(pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    return this.route('POST', pattern, handler, options);
  }

  put(pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    return this.route('PUT', pattern, handler, options);
  }

  patch(pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    return this.route('PATCH', pattern, handler, options);
  }

  delete(pattern: string, handler: RouteHandler, options?: RouteOptions): this {
    return this.route('DELETE', pattern, handler, options);
  }

  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:43123`. */
  async start(): Promise<string> {
    if (this.url) return this.url;
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":"internal_error"}');
        }
      });
    });
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('simulator: unexpected listen address');
    const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
    this.url = `http://${host}:${address.port}`;
    return this.url;
  }

  get baseUrl(): string {
    if (!this.url) throw new Error('simulator not started');
    return this.url;
  }

  /** Requests received since start (including refused and faulted ones). */
  requestCount(): number {
    return this.served;
  }

  /** Requests answered since start, by status (a request still in flight is not in `byStatus` yet). */
  stats(): SimulatorStats {
    const byStatus: Record<string, number> = {};
    for (const [status, n] of [...this.statusCounts].sort((a, b) => a[0] - b[0])) byStatus[String(status)] = n;
    return { requests: this.served, byStatus };
  }

  /** Stops listening and drops every connection at once (idle keep-alive sockets included). */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const server = this.server;
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    if (!server) return (this.closing = Promise.resolve());
    this.closing = new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
    });
    return this.closing;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private match(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | { allow: string[] } | null {
    const segments = splitPath(path);
    const allow: string[] = [];
    for (const route of this.routes) {
      const params = this.matchSegments(route, segments);
      if (!params) continue;
      if (route.method !== method) {
        allow.push(route.method);
        continue;
      }
      return { route, params };
    }
    return allow.length > 0 ? { allow } : null;
  }

  private matchSegments(route: Route, segments: string[]): Record<string, string> | null {
    if (!route.options.trailingSlash && hasTrailingSlash(route.segments) !== hasTrailingSlash(segments)) return null;
    const p = withoutTrailingSlash(route.segments);
    const s = withoutTrailingSlash(segments);
    if (p.length !== s.length) return null;
    const params: Record<string, string> = {};
    for (let i = 0; i < p.length; i++) {
      const want = p[i]!;
      const got = s[i]!;
      if (want.startsWith(':')) {
        if (got === '') return null;
        try {
          params[want.slice(1)] = decodeURIComponent(got);
        } catch {
          return null;
        }
      } else if (want !== got) {
        return null;
      }
    }
    return params;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.served++;
    const startedAt = performance.now();
    const time = this.clock();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const path = url.pathname;
    const info: Record<string, unknown> = {};
    req.on('error', () => {});
    res.on('error', () => {});

    let rawBody: Buffer = Buffer.alloc(0);
    let bodyError: SimResponse | null = null;
    try {
      rawBody = await readBody(req, this.bodyLimitBytes);
    } catch (err) {
      bodyError =
        err instanceof BodyTooLargeError
          ? {
              status: 413,
              json: { error: 'payload_too_large', message: err.message },
              headers: { connection: 'close' },
            }
          : { status: 400, json: { error: 'bad_request', message: 'could not read the request body' } };
    }

    let body: unknown = undefined;
    let jsonError: string | null = null;
    if (rawBody.length > 0) {
      const text = rawBody.toString('utf8');
      try {
        body = JSON.parse(text);
      } catch (err) {
        jsonError = (err as Error).message;
        body = text.length > 4096 ? `${text.slice(0, 4096)}...` : text;
      }
    }

    const simReq: SimRequest = {
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      body: jsonError === null ? body : undefined,
      params: {},
      identity: null,
      locals: {},
      annotate: (extra) => Object.assign(info, extra),
    };

    let rateClass: string | null = null;
    let rateLimited = false;
    let faultKind: FaultKind | null = null;
    const finish = (status: number) => {
      this.statusCounts.set(status, (this.statusCounts.get(status) ?? 0) + 1);
      this.log.record({
        time,
        method,
        path,
        query: Object.fromEntries(url.searchParams),
        body,
        status,
        identity: simReq.identity,
        durationMs: Math.round((performance.now() - startedAt) * 1000) / 1000,
        rateClass,
        rateLimited,
        fault: faultKind,
        info,
      });
    };

    const respond = async (): Promise<{ response: SimResponse; malformed: boolean } | 'reset'> => {
      // The round trip to a real API: before anything else, so refusals (401, 429) cost it too.
      if (this.latencyMs > 0) await this.sleep(this.latencyMs);
      if (bodyError) return { response: bodyError, malformed: false };
      const found = this.match(method, path);
      if (!found)
        return {
          response: { status: 404, json: { error: 'not_found', message: `no route for ${method} ${path}` } },
          malformed: false,
        };
      if ('allow' in found) {
        return {
          response: {
            status: 405,
            json: { error: 'method_not_allowed', message: `${method} is not allowed on ${path}` },
            headers: { allow: found.allow.join(', ') },
          },
          malformed: false,
        };
      }
      const { route, params } = found;
      simReq.params = params;

      const decision: FaultDecision = this.faults.decide({ method, path, body: simReq.body });
      if (decision.delayMs > 0) {
        faultKind = 'slow';
        await this.sleep(decision.delayMs);
      }
      const fault = decision.fault;
      if (fault) faultKind = fault.kind;
      if (fault?.kind === 'reset') return 'reset';
      if (fault?.kind === 'serverError')
        return { response: serverErrorResponse(fault.status ?? 500), malformed: false };
      if (fault?.kind === 'rateLimit') {
        const seconds = fault.retryAfterSeconds ?? 1;
        return {
          response: {
            status: 429,
            headers: { 'retry-after': String(seconds) },
            json: { error: 'rate_limited', message: 'Too many requests (injected fault)', retryAfterSeconds: seconds },
          },
          malformed: false,
        };
      }

      if (route.options.auth && this.auth) {
        const result = await this.auth(simReq);
        if ('response' in result) return { response: result.response, malformed: false };
        simReq.identity = result.identity;
      }

      if (jsonError !== null && route.options.parseJson) {
        return {
          response: {
            status: 400,
            json: { error: 'invalid_json', message: `request body is not valid JSON: ${jsonError}` },
          },
          malformed: false,
        };
      }

      const classify = route.options.rateClass === undefined ? this.rateClass : route.options.rateClass;
      rateClass = typeof classify === 'function' ? classify(simReq) : classify;
      let rateHeaders: Record<string, string> = {};
      if (rateClass !== null) {
        const limit = this.rateLimiter.take(simReq.identity ?? 'anonymous', rateClass);
        if (limit.limited && this.options.rateLimitHeaders) {
          rateHeaders = {
            'x-ratelimit-limit': String(limit.limit),
            'x-ratelimit-remaining': String(limit.remaining),
            'x-ratelimit-reset': String(Math.ceil(limit.resetAtMs / 1000)),
          };
        }
        if (!limit.allowed) {
          rateLimited = true;
          const json = this.options.rateLimitBody
            ? this.options.rateLimitBody(rateClass, limit)
            : {
                error: 'rate_limited',
                message: `Rate limit of ${limit.limit} ${rateClass} requests per window exceeded`,
                retryAfterSeconds: limit.retryAfterSeconds,
              };
          return {
            response: {
              status: 429,
              headers: { ...rateHeaders, 'retry-after': String(limit.retryAfterSeconds) },
              json,
            },
            malformed: false,
          };
        }
      }

      let response: SimResponse;
      try {
        response = await route.handler(simReq);
      } catch (err) {
        info.simulatorError = err instanceof Error ? err.message : String(err);
        response = { status: 500, json: { error: 'internal_error', message: 'simulator handler failed' } };
      }
      // The change is made; the answer never arrives (a proxy or the network dropped it).
      if (fault?.kind === 'lostResponse') return 'reset';
      response = { ...response, headers: { ...rateHeaders, ...(response.headers ?? {}) } };
      return { response, malformed: fault?.kind === 'malformed' };
    };

    const outcome = await respond();
    if (outcome === 'reset') {
      finish(0);
      const socket = req.socket as Socket & { resetAndDestroy?: () => Socket };
      if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else socket.destroy();
      return;
    }
    const status = this.send(res, outcome.response, outcome.malformed);
    finish(status);
  }

  private send(res: ServerResponse, response: SimResponse, malformed: boolean): number {
    let status = response.status ?? 200;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(response.headers ?? {})) headers[k.toLowerCase()] = v;
    let payload: string;
    if (response.json !== undefined) {
      payload = JSON.stringify(response.json);
      headers['content-type'] ??= 'application/json; charset=utf-8';
    } else {
      payload = response.text ?? '';
    }
    if (malformed) {
      payload = truncatePayload(payload);
      status = 200;
      headers['content-type'] = 'application/json; charset=utf-8';
    }
    headers['content-length'] = String(Buffer.byteLength(payload));
    if (res.destroyed) return status;
    res.writeHead(status, headers);
    res.end(payload);
    return status;
  }
}

function validLatency(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`simulator latency must be a number of ms >= 0, got ${ms}`);
  return ms;
}

/** 500 carries JSON like an application error; 502/503 look like a proxy's HTML page, as they do in real life. */
function serverErrorResponse(status: number): SimResponse {
  if (status === 502 || status === 503 || status === 504) {
    const title = status === 502 ? 'Bad Gateway' : status === 503 ? 'Service Unavailable' : 'Gateway Timeout';
    return {
      status,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      text: `<html><head><title>${status} ${title}</title></head><body><h1>${status} ${title}</h1></body></html>`,
    };
  }
  return { status, json: { error: 'internal_error', message: 'Internal server error (injected fault)' } };
}
