import { afterEach, describe, expect, it } from 'vitest';
import {
  FaultInjector,
  RateLimiter,
  RequestLog,
  SeededRandom,
  SimulatorServer,
  UniqueEmails,
  headerKeyAuth,
  loopbackHost,
  type SimulatorServerOptions,
} from '../src/simulator/index.js';

const API_KEY = 'kit-secret-key-0123456789';

const servers: SimulatorServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A small fake API: GET /items/:id (read), POST /items (write), GET /public (no auth). */
async function startServer(options: SimulatorServerOptions = {}) {
  const server = new SimulatorServer({
    auth: headerKeyAuth({ header: 'X-Api-Key', keys: { [API_KEY]: 'caller-1', 'other-key-abcdef': 'caller-2' } }),
    ...options,
  });
  server
    .get('/items/:id', (req) => ({ json: { id: req.params.id, identity: req.identity } }))
    .post('/items', (req) => ({ status: 201, json: { created: req.body } }))
    .get('/public', () => ({ text: 'hello' }), { auth: false, rateClass: null })
    .get('/tolerant/', () => ({ json: { ok: true } }), { trailingSlash: true })
    .get('/boom', () => {
      throw new Error('handler exploded');
    });
  servers.push(server);
  const baseUrl = await server.start();
  return { server, baseUrl };
}

const auth = (key = API_KEY) => ({ 'x-api-key': key });

describe('loopback binding', () => {
  it('accepts only loopback hosts', () => {
    expect(loopbackHost('127.0.0.1')).toBe('127.0.0.1');
    expect(loopbackHost('127.4.5.6')).toBe('127.4.5.6');
    expect(loopbackHost('::1')).toBe('::1');
    expect(loopbackHost('[::1]')).toBe('::1');
    expect(loopbackHost('localhost')).toBe('127.0.0.1');
    for (const bad of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '128.0.0.1']) {
      expect(() => loopbackHost(bad), bad).toThrow(/not a loopback address/);
    }
    expect(() => new SimulatorServer({ host: '0.0.0.0' })).toThrow(/loopback/);
  });

  it('listens on an ephemeral port and reports its base URL', async () => {
    const { baseUrl } = await startServer();
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(baseUrl).port)).toBeGreaterThan(0);
    const res = await fetch(`${baseUrl}/public`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello');
  });

  it('binds other 127.x addresses', async () => {
    const { baseUrl } = await startServer({ host: '127.0.0.2' });
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    expect((await fetch(`${baseUrl}/public`)).status).toBe(200);
  });
});

describe('routing and bodies', () => {
  it('matches params, methods and trailing slashes', async () => {
    const { baseUrl } = await startServer();
    const item = await fetch(`${baseUrl}/items/a%20b`, { headers: auth() });
    expect(item.status).toBe(200);
    expect(await item.json()).toEqual({ id: 'a b', identity: 'caller-1' });

    expect((await fetch(`${baseUrl}/items/a/`, { headers: auth() })).status).toBe(404);
    expect((await fetch(`${baseUrl}/tolerant`, { headers: auth() })).status).toBe(200);
    expect((await fetch(`${baseUrl}/tolerant/`, { headers: auth() })).status).toBe(200);

    const missing = await fetch(`${baseUrl}/nope`, { headers: auth() });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe('not_found');

    const wrongMethod = await fetch(`${baseUrl}/items`, { headers: auth() });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('parses JSON bodies, rejects invalid JSON and oversized bodies', async () => {
    const { baseUrl } = await startServer({ bodyLimitBytes: 1000 });
    const post = (body: string) =>
      fetch(`${baseUrl}/items`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body });

    const ok = await post(JSON.stringify({ name: 'x', n: [1, 2] }));
    expect(ok.status).toBe(201);
    expect(ok.headers.get('content-type')).toMatch(/application\/json/);
    expect(await ok.json()).toEqual({ created: { name: 'x', n: [1, 2] } });

    const bad = await post('{"name":');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('invalid_json');

    const big = await post(JSON.stringify({ blob: 'x'.repeat(5000) }));
    expect(big.status).toBe(413);
  });

  it('turns a handler exception into a 500 without leaking it', async () => {
    const { baseUrl, server } = await startServer();
    const res = await fetch(`${baseUrl}/boom`, { headers: auth() });
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).not.toContain('exploded');
    expect(server.log.last()?.info.simulatorError).toBe('handler exploded');
  });
});

describe('auth', () => {
  it('answers 401 to a missing or wrong key and matches the header case-insensitively', async () => {
    const { baseUrl } = await startServer();
    expect((await fetch(`${baseUrl}/items/1`)).status).toBe(401);
    const wrong = await fetch(`${baseUrl}/items/1`, { headers: auth('nope') });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'unauthorized' });
    const upper = await fetch(`${baseUrl}/items/1`, { headers: { 'X-API-KEY': API_KEY } });
    expect(upper.status).toBe(200);
  });

  it('supports bearer schemes and custom failure bodies', async () => {
    const server = new SimulatorServer({
      auth: headerKeyAuth({
        header: 'Authorization',
        scheme: 'Bearer',
        keys: { tok123: 'svc' },
        failure: { status: 401, json: { detail: 'Invalid token' } },
      }),
    });
    server.get('/me', (req) => ({ json: { who: req.identity } }));
    servers.push(server);
    const url = `${await server.start()}/me`;
    expect(await (await fetch(url, { headers: { authorization: 'Bearer tok123' } })).json()).toEqual({ who: 'svc' });
    const denied = await fetch(url, { headers: { authorization: 'tok123' } });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ detail: 'Invalid token' });
  });
});

describe('rate limits', () => {
  it('counts per token and class in fixed windows, with Retry-After until the window resets', async () => {
    let now = 28_333_333 * 60_000 + 10_000; // 10 s into a one-minute window
    const clock = () => now;
    const rateLimiter = new RateLimiter({ limits: { read: 2, write: 1 }, clock });
    const { baseUrl, server } = await startServer({ clock, rateLimiter });
    const read = (key = API_KEY) => fetch(`${baseUrl}/items/1`, { headers: auth(key) });
    const write = () => fetch(`${baseUrl}/items`, { method: 'POST', headers: auth(), body: '{}' });

    expect((await read()).status).toBe(200);
    expect((await read()).status).toBe(200);
    const limited = await read();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('50');
    expect(((await limited.json()) as { retryAfterSeconds: number }).retryAfterSeconds).toBe(50);

    // Other class and other token are unaffected.
    expect((await write()).status).toBe(201);
    expect((await write()).status).toBe(429);
    expect((await read('other-key-abcdef')).status).toBe(200);

    now += 49_500;
    const later = await read();
    expect(later.status).toBe(429);
    expect(later.headers.get('retry-after')).toBe('1');

    now += 500; // the next window starts
    expect((await read()).status).toBe(200);
    expect((await write()).status).toBe(201);

    expect(server.log.count((e) => e.rateLimited)).toBe(3);
    expect(server.log.filter((e) => e.status === 429).map((e) => e.rateClass)).toEqual(['read', 'write', 'read']);

    // Raising a limit at run time takes effect at once; 0 means unlimited.
    rateLimiter.setLimits({ read: 0 });
    for (let i = 0; i < 5; i++) expect((await read()).status).toBe(200);
  });

  it('RateLimiter treats 0, Infinity and unknown classes as unlimited', () => {
    const limiter = new RateLimiter({ limits: { a: 0, b: Infinity, c: 1 }, clock: () => 0 });
    for (let i = 0; i < 100; i++) {
      expect(limiter.take('x', 'a').allowed).toBe(true);
      expect(limiter.take('x', 'b').allowed).toBe(true);
      expect(limiter.take('x', 'zzz').allowed).toBe(true);
    }
    expect(limiter.take('x', 'c').allowed).toBe(true);
    const refused = limiter.take('x', 'c');
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 60, limit: 1 });
    limiter.reset();
    expect(limiter.take('x', 'c').allowed).toBe(true);
  });

  it('can expose X-RateLimit headers', async () => {
    const rateLimiter = new RateLimiter({ limits: { read: 5 }, clock: () => 120_000 });
    const { baseUrl } = await startServer({ rateLimiter, clock: () => 120_000, rateLimitHeaders: true });
    const res = await fetch(`${baseUrl}/items/1`, { headers: auth() });
    expect(res.headers.get('x-ratelimit-limit')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(res.headers.get('x-ratelimit-reset')).toBe('180');
  });
});

describe('fault injection', () => {
  it('fails exactly the Nth request with the configured fault', async () => {
    const { baseUrl, server } = await startServer();
    server.faults.set({
      rules: [
        { nth: 2, fault: { kind: 'serverError', status: 500 } },
        { nth: 3, fault: { kind: 'serverError', status: 503 } },
      ],
    });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${baseUrl}/items/1`, { headers: auth() })).status);
    expect(statuses).toEqual([200, 500, 503, 200]);
    expect(server.log.entries().map((e) => e.fault)).toEqual([null, 'serverError', 'serverError', null]);
  });

  it('sends 502/503 as HTML like a proxy would', async () => {
    const { baseUrl, server } = await startServer();
    server.faults.injectNext({ kind: 'serverError', status: 502 });
    const res = await fetch(`${baseUrl}/items/1`, { headers: auth() });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toContain('Bad Gateway');
  });

  it('injects 429 with a small Retry-After', async () => {
    const { baseUrl, server } = await startServer();
    server.faults.set({
      rules: [
        { nth: 1, fault: { kind: 'rateLimit' } },
        { nth: 2, fault: { kind: 'rateLimit', retryAfterSeconds: 3 } },
      ],
    });
    const first = await fetch(`${baseUrl}/items/1`, { headers: auth() });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('1');
    const second = await fetch(`${baseUrl}/items/1`, { headers: auth() });
    expect(second.headers.get('retry-after')).toBe('3');
  });

  it('resets the connection', async () => {
    const { baseUrl, server } = await startServer();
    server.faults.injectNext({ kind: 'reset' });
    await expect(fetch(`${baseUrl}/items/1`, { headers: auth() })).rejects.toThrow();
    expect(server.log.last()).toMatchObject({ status: 0, fault: 'reset' });
    // The server keeps working afterwards.
    expect((await fetch(`${baseUrl}/items/1`, { headers: auth() })).status).toBe(200);
  });

  it('truncates the body with status 200 but still runs the handler', async () => {
    let calls = 0;
    const server = new SimulatorServer();
    server.post('/things', () => {
      calls++;
      return { status: 201, json: { id: 'thing-1', name: 'a thing with a long enough name' } };
    });
    servers.push(server);
    const url = `${await server.start()}/things`;
    server.faults.injectNext({ kind: 'malformed' });
    const res = await fetch(url, { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.startsWith('{"id":"thing-1"')).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
    expect(calls).toBe(1);
  });

  it('delays slow responses', async () => {
    const { baseUrl, server } = await startServer();
    server.faults.set({ rules: [{ nth: 1, fault: { kind: 'slow', delayMs: 150 } }] });
    const started = Date.now();
    const res = await fetch(`${baseUrl}/items/1`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(server.log.last()?.fault).toBe('slow');
  });

  it('rolls probabilities deterministically from the seed', () => {
    const roll = () => {
      const faults = new FaultInjector({ seed: 42, probabilities: { serverError: 0.3, reset: 0.1 } });
      return Array.from({ length: 200 }, () => {
        const d = faults.decide({ method: 'GET', path: '/' });
        return d.fault ? (d.fault.kind === 'serverError' ? d.fault.status : 'reset') : 'ok';
      });
    };
    const a = roll();
    expect(roll()).toEqual(a);
    const errors = a.filter((x) => typeof x === 'number').length;
    const resets = a.filter((x) => x === 'reset').length;
    expect(errors).toBeGreaterThan(30);
    expect(errors).toBeLessThan(90);
    expect(resets).toBeGreaterThan(5);
    expect(new Set(a.filter((x) => typeof x === 'number'))).toEqual(new Set([500, 502, 503]));
  });

  it('honours every/times/match and can be cleared at run time', () => {
    const faults = new FaultInjector({
      rules: [{ every: 2, times: 2, fault: { kind: 'serverError' } }],
      match: (req) => req.path !== '/health',
    });
    const kinds: Array<string | null> = [];
    for (let i = 0; i < 8; i++) {
      faults.decide({ method: 'GET', path: '/health' });
      kinds.push(faults.decide({ method: 'GET', path: '/x' }).fault?.kind ?? null);
    }
    expect(kinds).toEqual([null, 'serverError', null, 'serverError', null, null, null, null]);
    expect(faults.seen).toBe(8);
    faults.set({ probabilities: { malformed: 1 } });
    expect(faults.decide({ method: 'GET', path: '/x' }).fault?.kind).toBe('malformed');
    faults.clear();
    expect(faults.decide({ method: 'GET', path: '/x' }).fault).toBeNull();
  });
});

describe('request log', () => {
  it('records requests without credentials or secrets', async () => {
    const log = new RequestLog();
    log.addSecret(API_KEY);
    const { baseUrl, server } = await startServer({ log });
    await fetch(`${baseUrl}/items?api_key=${API_KEY}`, {
      method: 'POST',
      headers: { ...auth(), authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify({
        name: 'n1',
        password: 'hunter2',
        nested: { clientSecret: 's3', note: `key is ${API_KEY}` },
      }),
    });
    await fetch(`${baseUrl}/items/7`, { headers: auth('wrong-key') });

    const entries = server.log.entries();
    expect(entries).toHaveLength(2);
    const [created, denied] = entries;
    expect(created).toMatchObject({
      seq: 1,
      method: 'POST',
      path: '/items',
      status: 201,
      identity: 'caller-1',
      rateClass: 'write',
    });
    expect(created!.body).toEqual({
      name: 'n1',
      password: '[REDACTED]',
      nested: { clientSecret: '[REDACTED]', note: 'key is [REDACTED]' },
    });
    expect(created!.query).toEqual({ api_key: '[REDACTED]' });
    expect(denied).toMatchObject({ status: 401, identity: null, path: '/items/7' });
    const dump = JSON.stringify(entries);
    expect(dump).not.toContain(API_KEY);
    expect(dump).not.toContain('hunter2');
    expect(dump).not.toContain('wrong-key');

    expect(server.log.count((e) => e.status === 401)).toBe(1);
    server.log.clear();
    expect(server.log.count()).toBe(0);
    expect(server.requestCount()).toBe(2);
  });

  it('keeps at most maxEntries', () => {
    const log = new RequestLog({ maxEntries: 3 });
    for (let i = 0; i < 5; i++) {
      log.record({
        time: i,
        method: 'GET',
        path: `/${i}`,
        query: {},
        body: undefined,
        status: 200,
        identity: null,
        durationMs: 0,
        rateClass: null,
        rateLimited: false,
        fault: null,
        info: {},
      });
    }
    expect(log.entries().map((e) => e.path)).toEqual(['/2', '/3', '/4']);
    expect(log.last()?.seq).toBe(5);
  });
});

describe('latency and stats', () => {
  it('delays every request by latencyMs (changeable while running) and counts answers by status', async () => {
    const { server, baseUrl } = await startServer({ latencyMs: 60 });
    let started = performance.now();
    expect((await fetch(`${baseUrl}/public`)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    // Refusals cost the round trip too.
    started = performance.now();
    expect((await fetch(`${baseUrl}/items/1`)).status).toBe(401);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    server.setLatencyMs(0);
    expect((await fetch(`${baseUrl}/items/2`, { headers: auth() })).status).toBe(200);
    expect((await fetch(`${baseUrl}/nowhere`)).status).toBe(404);
    expect(server.stats()).toEqual({ requests: 4, byStatus: { '200': 2, '401': 1, '404': 1 } });
    expect(() => server.setLatencyMs(-1)).toThrow(RangeError);
  });
});

describe('close', () => {
  it('closes promptly with idle keep-alive connections and in-flight slow requests', async () => {
    const { baseUrl, server } = await startServer();
    expect((await fetch(`${baseUrl}/items/1`, { headers: auth() })).status).toBe(200);
    server.faults.injectNext({ kind: 'slow', delayMs: 30_000 });
    const pending = fetch(`${baseUrl}/items/1`, { headers: auth() }).then(
      (r) => r.status,
      () => 'failed',
    );
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await pending).toBe('failed');
    await expect(fetch(`${baseUrl}/items/1`, { headers: auth() })).rejects.toThrow();
    await server.close(); // idempotent
  });
});

describe('seeded data', () => {
  it('is deterministic per seed', () => {
    const seq = (seed: string) => {
      const r = new SeededRandom(seed);
      return [r.next(), r.int(1, 6), r.pick(['a', 'b', 'c']), r.sampleIndexes(100, 5)];
    };
    expect(seq('x')).toEqual(seq('x'));
    expect(seq('x')).not.toEqual(seq('y'));
  });

  it('samples distinct sorted indexes and produces unique emails', () => {
    const r = new SeededRandom(7);
    const sample = r.sampleIndexes(10_000, 500);
    expect(new Set(sample).size).toBe(500);
    expect([...sample].sort((a, b) => a - b)).toEqual(sample);
    expect(sample.every((i) => i >= 0 && i < 10_000)).toBe(true);
    expect(r.sampleIndexes(5, 5)).toEqual([0, 1, 2, 3, 4]);

    const emails = new UniqueEmails('example.com');
    const name = { firstName: 'Ada', lastName: "O'Neil" };
    expect([emails.next(name), emails.next(name), emails.next(name)]).toEqual([
      'ada.oneil@example.com',
      'ada.oneil.2@example.com',
      'ada.oneil.3@example.com',
    ]);
  });
});
