import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  HttpClientError,
  asConfigurationCheck,
  backoffDelayMs,
  endpointProblemOf,
  inConfigurationCheck,
  observeHttpWaits,
  setEndpointHint,
  codeForHttpStatus,
  createHttpClient,
  parseRateLimitHeaders,
  parseResetTime,
  parseRetryAfterMs,
  redactQueryString,
  resolveRetryPolicy,
  secretVariants,
  serverRetryDelayMs,
  shouldRetry,
  THIRTY_YEARS_SECONDS,
  type HttpClientOptions,
} from '../src/http/index.js';
import { createLogger, type Logger } from '../src/log/logger.js';
import { Code, ConnectorError } from '../src/sdk/errors.js';
import { newRuntimeStats } from '../src/sdk/connector.js';

// ---------------------------------------------------------------------------------------------------------------
// A tiny loopback server: one handler per path, hit counters, and a record of what arrived.

interface Ctx {
  body: string;
  hits: number;
}
type Handler = (req: IncomingMessage, res: ServerResponse, ctx: Ctx) => void;

let server: Server;
let baseURL: string;
let closedPortURL: string;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
const received: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
const timers = new Set<NodeJS.Timeout>();

function route(path: string, handler: Handler) {
  routes.set(path, handler);
}
function hitCount(path: string) {
  return hits.get(path) ?? 0;
}
function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}
function later(ms: number, fn: () => void) {
  const t = setTimeout(() => {
    timers.delete(t);
    fn();
  }, ms);
  timers.add(t);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const handler = routes.get(path);
      if (!handler) return json(res, 404, { error: 'no route' });
      handler(req, res, { body, hits: n });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;

  // A port nobody listens on: bind, read the port, close.
  const tmp = createServer();
  await new Promise<void>((resolve) => tmp.listen(0, '127.0.0.1', resolve));
  closedPortURL = `http://127.0.0.1:${(tmp.address() as AddressInfo).port}/`;
  await new Promise<void>((resolve) => tmp.close(() => resolve()));
});

afterAll(async () => {
  for (const t of timers) clearTimeout(t);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received.length = 0;
});

function makeClient(extra: Partial<HttpClientOptions> = {}) {
  const sleeps: number[] = [];
  const stats = newRuntimeStats();
  const client = createHttpClient({
    service: 'svc',
    baseURL,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    stats,
    random: () => 0.5,
    ...extra,
  });
  return { client, sleeps, stats };
}

async function catchError(p: Promise<unknown>): Promise<HttpClientError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err).toBeInstanceOf(HttpClientError);
    return err as HttpClientError;
  }
  throw new Error('expected the request to fail');
}

/** A logger that does NOT redact anything itself, so the test sees exactly what the client handed it. */
function captureLogger(lines: string[], base: Record<string, unknown> = {}): Logger {
  const emit = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(JSON.stringify({ level, msg, ...base, ...fields }));
  };
  return {
    level: 'debug',
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    with: (fields) => captureLogger(lines, { ...base, ...fields }),
  };
}

// ---------------------------------------------------------------------------------------------------------------

describe('success', () => {
  it('GETs JSON, builds the URL from baseURL, path and query, and counts the request', async () => {
    route('/api/users', (req, res) =>
      json(
        res,
        200,
        { users: [{ id: 'u1' }], url: req.url },
        { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99' },
      ),
    );
    const { client, stats, sleeps } = makeClient({ headers: { 'X-Static': 'yes' } });
    const res = await client.get<{ users: Array<{ id: string }>; url: string }>('/users', {
      query: { limit: 10, active: true, skip: undefined, q: 'a b' },
    });
    expect(res.status).toBe(200);
    expect(res.data.users[0].id).toBe('u1');
    expect(res.data.url).toBe('/api/users?limit=10&active=true&q=a+b');
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.rateLimit).toEqual({ status: 'ok', limit: 100, remaining: 99 });
    expect(received[0].headers['x-static']).toBe('yes');
    expect(received[0].headers.accept).toBe('application/json');
    expect(stats).toEqual({ apiRequests: 1, retries: 0, rateLimitWaits: 0, rateLimitWaitMs: 0 });
    expect(sleeps).toEqual([]);
  });

  it('POSTs a JSON body and accepts an absolute URL', async () => {
    route('/api/echo', (_req, res, ctx) => json(res, 201, { got: JSON.parse(ctx.body) }));
    const { client } = makeClient();
    const res = await client.post<{ got: unknown }>(`${baseURL}echo`, { name: 'x', n: 1 });
    expect(res.status).toBe(201);
    expect(res.data.got).toEqual({ name: 'x', n: 1 });
    expect(received[0].headers['content-type']).toBe('application/json');
  });

  it('returns undefined data for an empty body (204) and text with responseType text', async () => {
    route('/api/empty', (_req, res) => {
      res.writeHead(204);
      res.end();
    });
    route('/api/text', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('plain words');
    });
    const { client } = makeClient();
    expect((await client.delete('/empty')).data).toBeUndefined();
    expect((await client.get<string>('/text', { responseType: 'text' })).data).toBe('plain words');
  });
});

describe('status -> gRPC code', () => {
  const cases: Array<[number, Code]> = [
    [400, Code.InvalidArgument],
    [401, Code.Unauthenticated],
    [403, Code.PermissionDenied],
    [404, Code.NotFound],
    [408, Code.DeadlineExceeded],
    [409, Code.AlreadyExists],
    [410, Code.Unknown],
    [418, Code.Unknown],
    [422, Code.InvalidArgument],
    [429, Code.Unavailable],
    [500, Code.Unavailable],
    [501, Code.Unimplemented],
    [502, Code.Unavailable],
    [503, Code.Unavailable],
    [504, Code.Unavailable],
    [302, Code.Unknown],
  ];

  it.each(cases)('HTTP %i -> code %i', async (status, code) => {
    route(`/api/status/${status}`, (_req, res) =>
      json(res, status, { message: `status ${status} here` }, status === 302 ? { location: '/elsewhere' } : {}),
    );
    const { client, stats } = makeClient();
    const err = await catchError(client.get(`/status/${status}`, { retryable: false }));
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
    expect(err.message).toMatch(new RegExp(`^svc: GET /status/${status}: ${status} .*: status ${status} here$`));
    expect(stats.apiRequests).toBe(1);
    expect(codeForHttpStatus(status)).toBe(code);
  });

  it('formats the message as <service>: <METHOD> <path>: <status> <statusText>: <excerpt>', async () => {
    route('/api/graphql/', (_req, res) => json(res, 401, { error: { message: 'Invalid API key' } }));
    const { client } = makeClient({ service: 'twingate' });
    const err = await catchError(client.post('/graphql/', { query: '{ x }' }));
    expect(err.message).toBe('twingate: POST /graphql/: 401 Unauthorized: Invalid API key');
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rateLimit).toBeUndefined();
  });

  it('keeps the body excerpt at most 300 characters and strips HTML', async () => {
    route('/api/long', (_req, res) => {
      res.writeHead(400, { 'content-type': 'text/html' });
      res.end(`<html><body><h1>Bad</h1><p>${'x'.repeat(2000)}</p></body></html>`);
    });
    const { client } = makeClient();
    const err = await catchError(client.get('/long'));
    expect(err.bodyExcerpt?.length).toBeLessThanOrEqual(300);
    expect(err.bodyExcerpt?.startsWith('Bad x')).toBe(true);
    expect(err.message).not.toContain('<');
  });

  it('maps transport failures: refused -> Unavailable', async () => {
    const { client } = makeClient({ baseURL: closedPortURL, retry: { maxAttempts: 1 } });
    const err = await catchError(client.get('/x'));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.errorCode).toBe('ECONNREFUSED');
  });
});

describe('configuration check (Validate): a wrong endpoint fails at once', () => {
  it('connection refused: one attempt, FailedPrecondition naming the host and the hint; retried outside', async () => {
    const { client, stats, sleeps } = makeClient({ baseURL: closedPortURL });
    const host = new URL(closedPortURL).host;
    setEndpointHint('--base-url (BATON_BASE_URL)');
    try {
      const err = await catchError(asConfigurationCheck(() => client.get('/users')));
      expect(err.code).toBe(Code.FailedPrecondition);
      expect(err.errorCode).toBe('ECONNREFUSED');
      expect(err.message).toBe(
        `svc: cannot connect to ${host}: connection refused (ECONNREFUSED): check --base-url (BATON_BASE_URL)`,
      );
      expect(stats.apiRequests).toBe(1);
      expect(sleeps).toEqual([]);
    } finally {
      setEndpointHint(undefined);
    }
    // The same failure in the middle of a sync is retried patiently, as before.
    const outside = makeClient({ baseURL: closedPortURL });
    const err = await catchError(outside.client.get('/users'));
    expect(err.code).toBe(Code.Unavailable);
    expect(outside.stats.apiRequests).toBe(5);
    expect(inConfigurationCheck()).toBe(false);
  });

  it('every request inside the check is covered, however deep the call chain', async () => {
    const { client, stats } = makeClient({ baseURL: closedPortURL });
    const validate = async () => {
      await Promise.resolve();
      await new Promise((r) => setTimeout(r, 1));
      return client.post('/graphql', { query: '{ me }' });
    };
    const err = await catchError(asConfigurationCheck(validate));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).not.toContain('check');
    expect(stats.apiRequests).toBe(1);
  });

  it('a 503 during the check is still retried: the API is busy, not misconfigured', async () => {
    route('/api/busy-then-ok', (_req, res, ctx) => (ctx.hits === 1 ? json(res, 503, {}) : json(res, 200, { ok: 1 })));
    const { client, sleeps } = makeClient();
    const res = await asConfigurationCheck(() => client.get<{ ok: number }>('/busy-then-ok'));
    expect(res.data.ok).toBe(1);
    expect(sleeps).toHaveLength(1);
  });

  it('classifies transport codes', () => {
    expect(endpointProblemOf('ENOTFOUND')).toBe('dns');
    expect(endpointProblemOf('EAI_AGAIN')).toBe('dns');
    expect(endpointProblemOf('ECONNREFUSED')).toBe('refused');
    expect(endpointProblemOf('EHOSTUNREACH')).toBe('unreachable');
    expect(endpointProblemOf('DEPTH_ZERO_SELF_SIGNED_CERT')).toBe('tls');
    expect(endpointProblemOf('ERR_TLS_CERT_ALTNAME_INVALID')).toBe('tls');
    expect(endpointProblemOf('ECONNRESET')).toBeUndefined();
    expect(endpointProblemOf('ETIMEDOUT')).toBeUndefined();
    expect(endpointProblemOf(undefined)).toBeUndefined();
  });
});

describe('wait events', () => {
  it('tell observers when a wait starts and ends, with its reason and length; the wait counts when it starts', async () => {
    route('/api/limited-event', (_req, res, ctx) =>
      ctx.hits === 1 ? json(res, 429, {}, { 'retry-after': '3' }) : json(res, 200, { ok: true }),
    );
    const events: Array<{ kind: string; reason: string; status?: number; waitMs: number; waitsCounted: number }> = [];
    const { client, stats } = makeClient();
    const stop = observeHttpWaits({
      waitStarted: (e) => events.push({ kind: 'start', ...e, waitsCounted: stats.rateLimitWaits }),
      waitEnded: (e) => events.push({ kind: 'end', ...e, waitsCounted: stats.rateLimitWaits }),
    });
    try {
      await client.get('/limited-event');
    } finally {
      stop();
    }
    expect(events).toEqual([
      expect.objectContaining({ kind: 'start', reason: 'rate-limit', status: 429, waitMs: 3000, waitsCounted: 1 }),
      expect.objectContaining({ kind: 'end', reason: 'rate-limit', status: 429, waitMs: 3000, waitsCounted: 1 }),
    ]);
    // Unsubscribed: nothing more arrives.
    await client.get('/limited-event');
    expect(events).toHaveLength(2);
  });

  it('log a rate-limit wait at info level, a short backoff at debug', async () => {
    route('/api/limited-log', (_req, res, ctx) =>
      ctx.hits === 1
        ? json(res, 429, {}, { 'retry-after': '1' })
        : ctx.hits === 2
          ? json(res, 500, {})
          : json(res, 200, {}),
    );
    const lines: string[] = [];
    const { client } = makeClient({ logger: captureLogger(lines) });
    await client.get('/limited-log');
    const waits = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg !== 'http request');
    expect(waits).toEqual([
      expect.objectContaining({ level: 'info', msg: 'rate limited: waiting before the next request', waitMs: 1000 }),
      expect.objectContaining({ level: 'debug', msg: 'waiting before retrying', reason: 500 }),
    ]);
  });
});

describe('rate limits and retries', () => {
  it('honours Retry-After on 429, then succeeds; counts stats', async () => {
    route('/api/limited', (_req, res, ctx) =>
      ctx.hits === 1 ? json(res, 429, { message: 'slow down' }, { 'retry-after': '2' }) : json(res, 200, { ok: true }),
    );
    const { client, sleeps, stats } = makeClient();
    const res = await client.get<{ ok: boolean }>('/limited');
    expect(res.data.ok).toBe(true);
    expect(sleeps).toEqual([2000]);
    expect(stats).toEqual({ apiRequests: 2, retries: 1, rateLimitWaits: 1, rateLimitWaitMs: 2000 });
  });

  it('honours an HTTP-date Retry-After and an epoch reset header', async () => {
    const inFiveSeconds = new Date(Math.ceil(Date.now() / 1000) * 1000 + 5000);
    route('/api/limited-date', (_req, res, ctx) =>
      ctx.hits === 1
        ? json(res, 429, {}, { 'retry-after': inFiveSeconds.toUTCString() })
        : ctx.hits === 2
          ? json(
              res,
              429,
              {},
              { 'x-ratelimit-reset': String(Math.floor(inFiveSeconds.getTime() / 1000)), 'x-ratelimit-remaining': '0' },
            )
          : json(res, 200, { ok: true }),
    );
    const { client, sleeps, stats } = makeClient();
    await client.get('/limited-date');
    expect(sleeps).toHaveLength(2);
    for (const s of sleeps) {
      expect(s).toBeGreaterThan(2500);
      expect(s).toBeLessThanOrEqual(6000);
    }
    expect(stats.rateLimitWaits).toBe(2);
  });

  it('caps each wait at maxWaitMs and uses jittered exponential backoff without hints', async () => {
    route('/api/flaky', (_req, res, ctx) =>
      ctx.hits === 1
        ? json(res, 429, {}, { 'retry-after': '3600' })
        : ctx.hits < 4
          ? json(res, 502, {})
          : json(res, 200, {}),
    );
    const { client, sleeps, stats } = makeClient({ retry: { maxWaitMs: 10_000, baseDelayMs: 100 } });
    await client.get('/flaky');
    // 429 capped at 10 s, then backoff retries 2 and 3: 200 and 400 ms scaled by equal jitter at random 0.5.
    expect(sleeps).toEqual([10_000, 150, 300]);
    expect(stats).toEqual({ apiRequests: 4, retries: 3, rateLimitWaits: 1, rateLimitWaitMs: 10_000 });
  });

  it('503 until exhausted -> Unavailable with rateLimit', async () => {
    route('/api/down', (_req, res) => json(res, 503, { message: 'maintenance' }, { 'retry-after': '1' }));
    const { client, sleeps, stats } = makeClient({ retry: { maxAttempts: 3 } });
    const before = Date.now();
    const err = await catchError(client.get('/down'));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toBe('svc: GET /down: 503 Service Unavailable: maintenance');
    expect(err.attempts).toBe(3);
    expect(err.rateLimit?.status).toBe('overlimit');
    expect(err.rateLimit?.remaining).toBe(0);
    expect(err.rateLimit?.limit).toBe(1);
    expect(err.rateLimit?.resetAtMs).toBeGreaterThanOrEqual(before + 1000);
    expect(err.rateLimit?.resetAtMs).toBeLessThan(Date.now() + 2000);
    expect(sleeps).toEqual([1000, 1000]);
    expect(hitCount('/api/down')).toBe(3);
    expect(stats).toEqual({ apiRequests: 3, retries: 2, rateLimitWaits: 2, rateLimitWaitMs: 2000 });
  });

  it('429 exhausted without headers -> limit 1, remaining 0, reset now + 60 s', async () => {
    route('/api/always-429', (_req, res) =>
      json(res, 429, { message: 'too many' }, { 'x-ratelimit-limit': 'garbage' }),
    );
    const { client } = makeClient({ retry: { maxAttempts: 2 } });
    const before = Date.now();
    const err = await catchError(client.get('/always-429'));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rateLimit).toMatchObject({ status: 'overlimit', limit: 1, remaining: 0 });
    expect(err.rateLimit?.resetAtMs).toBeGreaterThanOrEqual(before + 60_000);
    expect(err.rateLimit?.resetAtMs).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('429 with limit headers keeps the limit and forces remaining 0', async () => {
    route('/api/429-headers', (_req, res) =>
      json(res, 429, {}, { 'x-ratelimit-limit': '50', 'x-ratelimit-remaining': '7', 'x-ratelimit-reset': '30' }),
    );
    const { client, sleeps } = makeClient({ retry: { maxAttempts: 2 } });
    const err = await catchError(client.get('/429-headers'));
    expect(err.rateLimit).toMatchObject({ status: 'overlimit', limit: 50, remaining: 0 });
    expect(sleeps).toEqual([30_000]);
  });
});

describe('idempotency', () => {
  it('does not retry a POST on 500', async () => {
    route('/api/create-500', (_req, res) => json(res, 500, { message: 'boom' }));
    const { client, stats } = makeClient();
    const err = await catchError(client.post('/create-500', { a: 1 }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toMatch(/may have applied it$/);
    expect(hitCount('/api/create-500')).toBe(1);
    expect(stats.retries).toBe(0);
  });

  it('retries a POST on 500 when retryable: true', async () => {
    route('/api/query-500', (_req, res, ctx) => (ctx.hits < 3 ? json(res, 500, {}) : json(res, 200, { data: 1 })));
    const { client, stats } = makeClient();
    const res = await client.post<{ data: number }>('/query-500', { query: '{ a }' }, { retryable: true });
    expect(res.data.data).toBe(1);
    expect(stats).toMatchObject({ apiRequests: 3, retries: 2, rateLimitWaits: 0 });
  });

  it('retries a POST on 429 and on 503 with Retry-After, not on a bare 503 or 502', async () => {
    route('/api/post-429', (_req, res, ctx) => (ctx.hits === 1 ? json(res, 429, {}) : json(res, 200, { ok: 1 })));
    route('/api/post-503ra', (_req, res, ctx) =>
      ctx.hits === 1 ? json(res, 503, {}, { 'retry-after': '0' }) : json(res, 200, { ok: 1 }),
    );
    route('/api/post-503', (_req, res) => json(res, 503, {}));
    route('/api/patch-502', (_req, res) => json(res, 502, {}));
    const { client } = makeClient();
    expect((await client.post('/post-429', {})).status).toBe(200);
    expect((await client.post('/post-503ra', {})).status).toBe(200);
    await catchError(client.post('/post-503', {}));
    await catchError(client.patch('/patch-502', {}));
    expect(hitCount('/api/post-503')).toBe(1);
    expect(hitCount('/api/patch-502')).toBe(1);
  });

  it('retryable: false disables retries even on 429', async () => {
    route('/api/no-retry-429', (_req, res) => json(res, 429, {}));
    const { client } = makeClient();
    await catchError(client.get('/no-retry-429', { retryable: false }));
    expect(hitCount('/api/no-retry-429')).toBe(1);
  });

  it('PUT and DELETE retry on 500', async () => {
    route('/api/put-500', (_req, res, ctx) => (ctx.hits === 1 ? json(res, 500, {}) : json(res, 200, {})));
    route('/api/del-500', (_req, res, ctx) => (ctx.hits === 1 ? json(res, 500, {}) : json(res, 200, {})));
    const { client } = makeClient();
    expect((await client.put('/put-500', {})).status).toBe(200);
    expect((await client.delete('/del-500')).status).toBe(200);
  });
});

describe('connection errors and timeouts', () => {
  it('retries a GET after a connection reset', async () => {
    route('/api/reset-once', (req, res, ctx) => (ctx.hits === 1 ? req.socket.destroy() : json(res, 200, { ok: true })));
    const { client, stats, sleeps } = makeClient();
    const res = await client.get<{ ok: boolean }>('/reset-once');
    expect(res.data.ok).toBe(true);
    expect(stats).toMatchObject({ apiRequests: 2, retries: 1, rateLimitWaits: 0 });
    expect(sleeps).toHaveLength(1);
  });

  it('does not retry a POST reset after the request was sent', async () => {
    route('/api/reset-post', (req) => req.socket.destroy());
    const { client } = makeClient();
    const err = await catchError(client.post('/reset-post', { a: 1 }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.errorCode).toBe('ECONNRESET');
    expect(err.message).toMatch(/^svc: POST \/reset-post: .*; the request was sent, so the API may have applied it$/);
    expect(hitCount('/api/reset-post')).toBe(1);
  });

  it('retries a POST when the connection was refused (nothing sent)', async () => {
    const { client, stats } = makeClient({ baseURL: closedPortURL, retry: { maxAttempts: 3 } });
    const err = await catchError(client.post('/create', { a: 1 }));
    expect(err.code).toBe(Code.Unavailable);
    expect(stats.apiRequests).toBe(3);
  });

  it('times out each attempt -> DeadlineExceeded after retries', async () => {
    route('/api/slow', (_req, res) => later(1500, () => json(res, 200, {})));
    const { client, stats } = makeClient({ timeoutMs: 100, retry: { maxAttempts: 2 } });
    const started = Date.now();
    const err = await catchError(client.get('/slow'));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.message).toBe('svc: GET /slow: timed out after 100 ms');
    expect(stats.apiRequests).toBe(2);
    // Two attempts that waited for the 1.5 s answers would take 3 s.
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('does not retry a timed-out POST', async () => {
    route('/api/slow-post', (_req, res) => later(1500, () => json(res, 200, {})));
    const { client } = makeClient({ timeoutMs: 100 });
    const err = await catchError(client.post('/slow-post', {}));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(hitCount('/api/slow-post')).toBe(1);
  });
});

describe('malformed JSON', () => {
  it('is a retryable Unavailable error on a 2xx, never an empty result', async () => {
    route('/api/bad-json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>proxy error</html>');
    });
    const { client } = makeClient({ retry: { maxAttempts: 2 } });
    const err = await catchError(client.get('/bad-json'));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toMatch(/^svc: GET \/bad-json: 200 OK: malformed JSON response/);
    expect(hitCount('/api/bad-json')).toBe(2);
  });

  it('recovers when the next attempt is well-formed', async () => {
    route('/api/bad-json-once', (_req, res, ctx) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(ctx.hits === 1 ? '{"truncated": ' : '{"ok":true}');
    });
    const { client } = makeClient();
    expect((await client.get<{ ok: boolean }>('/bad-json-once')).data.ok).toBe(true);
  });

  it('is not retried for a POST', async () => {
    route('/api/bad-json-post', (_req, res) => {
      res.writeHead(200);
      res.end('nope');
    });
    const { client } = makeClient();
    const err = await catchError(client.post('/bad-json-post', {}));
    expect(err.code).toBe(Code.Unavailable);
    expect(hitCount('/api/bad-json-post')).toBe(1);
  });
});

describe('acceptStatus', () => {
  it('returns listed non-2xx statuses instead of throwing', async () => {
    route('/api/gone', (_req, res) => json(res, 404, { error: 'not found' }));
    const { client } = makeClient();
    const res = await client.delete<{ error: string }>('/gone', { acceptStatus: [404] });
    expect(res.status).toBe(404);
    expect(res.data.error).toBe('not found');
    const err = await catchError(client.delete('/gone'));
    expect(err.code).toBe(Code.NotFound);
  });
});

describe('abort', () => {
  it('aborts an in-flight request promptly with Canceled', async () => {
    route('/api/hang', (_req, res) => later(3000, () => json(res, 200, {})));
    const { client } = makeClient();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const started = Date.now();
    const err = await catchError(client.get('/hang', { signal: ac.signal }));
    expect(err.code).toBe(Code.Canceled);
    expect(Date.now() - started).toBeLessThan(2_500); // not the 3 s (or 30 s) the server would have taken
  });

  it('aborts during a retry wait even if the injected sleep ignores the signal', async () => {
    route('/api/limited-forever', (_req, res) => json(res, 429, {}, { 'retry-after': '30' }));
    const { client, stats } = makeClient({ sleep: () => new Promise<void>(() => {}) });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await catchError(client.get('/limited-forever', { signal: ac.signal }));
    expect(err.code).toBe(Code.Canceled);
    expect(stats.apiRequests).toBe(1);
  });

  it('aborts during the default sleep', async () => {
    route('/api/limited-forever2', (_req, res) => json(res, 429, {}, { 'retry-after': '30' }));
    const client = createHttpClient({ service: 'svc', baseURL });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const started = Date.now();
    const err = await catchError(client.get('/limited-forever2', { signal: ac.signal }));
    expect(err.code).toBe(Code.Canceled);
    expect(Date.now() - started).toBeLessThan(2_500); // not the 3 s (or 30 s) the server would have taken
  });

  it('does not send anything when already aborted; a timeout signal gives DeadlineExceeded', async () => {
    const { client, stats } = makeClient();
    const err = await catchError(client.get('/users', { signal: AbortSignal.abort() }));
    expect(err.code).toBe(Code.Canceled);
    expect(stats.apiRequests).toBe(0);
    route('/api/hang2', (_req, res) => later(3000, () => json(res, 200, {})));
    const err2 = await catchError(client.get('/hang2', { signal: AbortSignal.timeout(50) }));
    expect(err2.code).toBe(Code.DeadlineExceeded);
  });
});

describe('secrets', () => {
  const SECRET = 'sk-DISTINCTIVE-123';
  const BEARER_TOKEN = 'tok-DISTINCTIVE-456';

  it('never puts a secret header value in errors, causes or logs, even when the server echoes it', async () => {
    route('/api/echo-401', (req, res) =>
      json(res, 401, {
        message: `invalid key ${String(req.headers['x-api-key'])} / ${String(req.headers.authorization)}`,
      }),
    );
    route('/api/echo-text', (req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`you sent ${JSON.stringify(req.headers)}; token=${BEARER_TOKEN}`);
    });
    route('/api/echo-500', (req, res) => json(res, 500, { error: 'oops', echo: req.headers }));
    route('/api/echo-reset', (req) => req.socket.destroy());
    route('/api/echo-bad', (req, res) => {
      res.writeHead(200);
      res.end(`not json ${String(req.headers['x-api-key'])}`);
    });

    const lines: string[] = [];
    const stderrLines: string[] = [];
    const { client } = makeClient({
      secretHeaders: { 'X-Api-Key': SECRET, Authorization: `Bearer ${BEARER_TOKEN}` },
      logger: captureLogger(lines),
      retry: { maxAttempts: 2 },
    });
    const redactingClient = createHttpClient({
      service: 'svc',
      baseURL,
      secretHeaders: { 'X-Api-Key': SECRET },
      logger: createLogger({ level: 'debug', write: (l) => stderrLines.push(l) }),
      sleep: async () => {},
      retry: { maxAttempts: 2 },
    });

    const errors: HttpClientError[] = [];
    errors.push(await catchError(client.get('/echo-401')));
    errors.push(await catchError(client.get('/echo-text')));
    errors.push(await catchError(client.get('/echo-500')));
    errors.push(await catchError(client.get('/echo-reset')));
    errors.push(await catchError(client.get('/echo-bad')));
    errors.push(await catchError(client.post(`/echo-401?api_key=${SECRET}`, { a: 1 })));
    errors.push(await catchError(redactingClient.get('/echo-401')));

    // The server really did receive the credentials.
    expect(received.some((r) => r.headers['x-api-key'] === SECRET)).toBe(true);
    expect(received.some((r) => r.headers.authorization === `Bearer ${BEARER_TOKEN}`)).toBe(true);

    expect(errors[0].message).toBe('svc: GET /echo-401: 401 Unauthorized: invalid key [REDACTED] / [REDACTED]');
    expect(errors[0].code).toBe(Code.Unauthenticated);
    for (const err of errors) {
      const texts = [
        err.message,
        String(err),
        err.stack ?? '',
        inspect(err, { depth: null, showHidden: true }),
        JSON.stringify(err),
        String(err.cause ?? ''),
        inspect(err.cause, { depth: null }),
        err.bodyExcerpt ?? '',
      ];
      for (const t of texts) {
        expect(t).not.toContain(SECRET);
        expect(t).not.toContain(BEARER_TOKEN);
      }
    }
    expect(lines.length).toBeGreaterThan(5);
    expect(stderrLines.length).toBeGreaterThan(0);
    for (const line of [...lines, ...stderrLines]) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain(BEARER_TOKEN);
    }
  });

  it('redacts secret-looking query values from logged paths and error messages', async () => {
    route('/api/q', (_req, res) => json(res, 403, { message: 'nope' }));
    const lines: string[] = [];
    const { client } = makeClient({ logger: captureLogger(lines) });
    const err = await catchError(
      client.get('/q?access_token=abc-query-secret-1', {
        query: { page: 2, api_key: 'abc-query-secret-2', clientSecret: 'abc-query-secret-3' },
      }),
    );
    expect(err.message).toBe('svc: GET /q?access_token=[REDACTED]: 403 Forbidden: nope');
    expect(received[0].url).toContain('api_key=abc-query-secret-2');
    const logged = lines.join('\n');
    expect(logged).toContain('/api/q?access_token=[REDACTED]&page=2&api_key=[REDACTED]&clientSecret=[REDACTED]');
    expect(logged).not.toContain('abc-query-secret');
    expect(redactQueryString('?a=1&token=x&b=2')).toBe('?a=1&token=[REDACTED]&b=2');
  });

  it('logs one debug line per attempt with method, path, status, ms and attempt, and no headers', async () => {
    route('/api/log-me', (_req, res, ctx) =>
      ctx.hits === 1 ? json(res, 503, { message: 'later' }, { 'retry-after': '0' }) : json(res, 200, {}),
    );
    const lines: string[] = [];
    const { client } = makeClient({ logger: captureLogger(lines), headers: { 'X-Trace': 'trace-value' } });
    await client.get('/log-me');
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'http request');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({
      level: 'debug',
      method: 'GET',
      path: '/api/log-me',
      status: 503,
      attempt: 1,
      body: 'later',
    });
    expect(requests[1]).toMatchObject({ method: 'GET', status: 200, attempt: 2 });
    expect(typeof requests[1].ms).toBe('number');
    expect(requests[1].body).toBeUndefined();
    expect(lines.join('\n')).not.toContain('trace-value');
  });

  it('derives the token and Basic password from auth header values', () => {
    const basic = Buffer.from('user:pa55word-x').toString('base64');
    expect(secretVariants(`Basic ${basic}`)).toEqual(expect.arrayContaining([`Basic ${basic}`, basic, 'pa55word-x']));
    expect(secretVariants('Bearer abc/def+')).toEqual(
      expect.arrayContaining(['Bearer abc/def+', 'abc/def+', 'abc%2Fdef%2B']),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('rate-limit header parsing', () => {
  const now = Date.UTC(2026, 0, 15, 12, 0, 0);

  it('reads a small number as seconds from now', () => {
    expect(parseResetTime('30', now)).toBe(now + 30_000);
    expect(parseResetTime('1.5', now)).toBe(now + 1500);
    expect(parseResetTime(String(THIRTY_YEARS_SECONDS), now)).toBe(now + THIRTY_YEARS_SECONDS * 1000);
  });

  it('reads a number above 30 years of seconds as epoch seconds', () => {
    expect(parseResetTime(String(now / 1000 + 90), now)).toBe(now + 90_000);
    expect(parseResetTime(String(THIRTY_YEARS_SECONDS + 1), now)).toBe((THIRTY_YEARS_SECONDS + 1) * 1000);
  });

  it('reads a number above 30 000 years of seconds as epoch milliseconds', () => {
    expect(parseResetTime(String(now + 1234), now)).toBe(now + 1234);
  });

  it('reads HTTP dates (IMF-fixdate, RFC 850, asctime) and RFC 3339', () => {
    expect(parseResetTime('Thu, 15 Jan 2026 12:01:00 GMT', now)).toBe(now + 60_000);
    expect(parseResetTime('Thursday, 15-Jan-26 12:01:00 GMT', now)).toBe(now + 60_000);
    expect(parseResetTime('Thu Jan 15 12:01:00 2026', now)).toBe(now + 60_000);
    expect(parseResetTime('2026-01-15T12:01:00Z', now)).toBe(now + 60_000);
    expect(parseResetTime('2026-01-15T14:01:00.000+02:00', now)).toBe(now + 60_000);
  });

  it('rejects garbage', () => {
    for (const v of ['', 'soon', 'foo 2', '-5', '1e9', 'Thu']) expect(parseResetTime(v, now)).toBeUndefined();
  });

  it('turns Retry-After into a non-negative delay', () => {
    expect(parseRetryAfterMs('120', now)).toBe(120_000);
    expect(parseRetryAfterMs('Thu, 15 Jan 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfterMs(undefined, now)).toBeUndefined();
  });

  it('reads each header family, case-insensitively', () => {
    expect(
      parseRateLimitHeaders(
        { 'X-RateLimit-Limit': '100', 'X-RateLimit-Remaining': '5', 'X-RateLimit-Reset': '60' },
        { nowMs: now, status: 200 },
      ),
    ).toEqual({
      status: 'ok',
      limit: 100,
      remaining: 5,
      resetAtMs: now + 60_000,
    });
    expect(
      parseRateLimitHeaders(
        { 'ratelimit-limit': '100, 100;w=60', 'ratelimit-remaining': '0', 'ratelimit-reset': '10' },
        { nowMs: now },
      ),
    ).toEqual({
      status: 'ok',
      limit: 100,
      remaining: 0,
      resetAtMs: now + 10_000,
    });
    expect(
      parseRateLimitHeaders(
        {
          'x-ratelimit-requests-limit': '2500',
          'x-ratelimit-requests-remaining': '2499',
          'x-ratelimit-requests-reset': String(now + 3_600_000),
        },
        { nowMs: now },
      ),
    ).toEqual({ status: 'ok', limit: 2500, remaining: 2499, resetAtMs: now + 3_600_000 });
    expect(parseRateLimitHeaders({ 'content-type': 'application/json' }, { nowMs: now, status: 200 })).toBeUndefined();
    expect(parseRateLimitHeaders(undefined, { nowMs: now, status: 503 })).toBeUndefined();
  });

  it('prefers Retry-After over a window reset, forces overlimit on 429 and 503+Retry-After', () => {
    expect(
      parseRateLimitHeaders(
        { 'retry-after': '5', 'x-ratelimit-reset': '3000', 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '3' },
        { nowMs: now, status: 429 },
      ),
    ).toEqual({
      status: 'overlimit',
      limit: 10,
      remaining: 0,
      resetAtMs: now + 5000,
    });
    expect(parseRateLimitHeaders({}, { nowMs: now, status: 429 })).toEqual({
      status: 'overlimit',
      limit: 1,
      remaining: 0,
      resetAtMs: now + 60_000,
    });
    expect(parseRateLimitHeaders({ 'retry-after': '7' }, { nowMs: now, status: 503 })).toEqual({
      status: 'overlimit',
      limit: 1,
      remaining: 0,
      resetAtMs: now + 7000,
    });
  });

  it('derives the server-directed delay', () => {
    expect(serverRetryDelayMs({ 'retry-after': '3' }, 503, now)).toBe(3000);
    expect(serverRetryDelayMs({ 'x-ratelimit-reset': '20' }, 429, now)).toBe(20_000);
    expect(serverRetryDelayMs({ 'x-ratelimit-reset': '20', 'x-ratelimit-remaining': '0' }, 503, now)).toBe(20_000);
    expect(serverRetryDelayMs({ 'x-ratelimit-reset': '20', 'x-ratelimit-remaining': '4' }, 503, now)).toBeUndefined();
    expect(serverRetryDelayMs({}, 429, now)).toBeUndefined();
  });
});

describe('retry policy', () => {
  it('has the documented defaults', () => {
    expect(resolveRetryPolicy(undefined)).toEqual({ maxAttempts: 5, maxWaitMs: 60_000, baseDelayMs: 500 });
    expect(resolveRetryPolicy({ maxAttempts: 0 }).maxAttempts).toBe(1);
  });

  it('backs off exponentially with equal jitter, capped', () => {
    const p = resolveRetryPolicy({ baseDelayMs: 500, maxWaitMs: 3000 });
    expect(backoffDelayMs(1, p, () => 0)).toBe(250);
    expect(backoffDelayMs(1, p, () => 1)).toBe(500);
    expect(backoffDelayMs(3, p, () => 1)).toBe(2000);
    expect(backoffDelayMs(10, p, () => 1)).toBe(3000);
  });

  it('classifies failures by idempotency', () => {
    const status = (s: number, hasRetryAfter = false) => ({ kind: 'status' as const, status: s, hasRetryAfter });
    for (const s of [429, 500, 502, 503, 504]) expect(shouldRetry(status(s), 'idempotent')).toBe(true);
    for (const s of [400, 401, 403, 404, 409, 501]) expect(shouldRetry(status(s), 'idempotent')).toBe(false);
    expect(shouldRetry(status(429), 'unsafe')).toBe(true);
    expect(shouldRetry(status(503, true), 'unsafe')).toBe(true);
    for (const s of [500, 502, 503, 504]) expect(shouldRetry(status(s), 'unsafe')).toBe(false);
    expect(shouldRetry(status(429), 'never')).toBe(false);
    expect(shouldRetry({ kind: 'network', code: 'ECONNRESET', nothingSent: false }, 'idempotent')).toBe(true);
    expect(shouldRetry({ kind: 'network', code: 'ECONNRESET', nothingSent: false }, 'unsafe')).toBe(false);
    expect(shouldRetry({ kind: 'network', code: 'ECONNREFUSED', nothingSent: true }, 'unsafe')).toBe(true);
    expect(shouldRetry({ kind: 'network', code: 'CERT_HAS_EXPIRED', nothingSent: true }, 'idempotent')).toBe(false);
    expect(shouldRetry({ kind: 'timeout' }, 'unsafe')).toBe(false);
    expect(shouldRetry({ kind: 'malformed-body' }, 'idempotent')).toBe(true);
  });
});
