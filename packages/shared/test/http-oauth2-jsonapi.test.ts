/**
 * Client-credentials tokens and the bearer wrapper against a real loopback token endpoint (the simulator kit's
 * server), JSON:API paging helpers, the response cache, mapConcurrent, the account-creation schema builder, and the
 * simulator kit's runtime options and dataset presets.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ClientCredentialsTokenSource,
  ResponseCache,
  createHttpClient,
  jsonApiData,
  jsonApiNextLink,
  linkedPageChunk,
  parseLinkedPageState,
  withBearerToken,
  type LinkedPage,
} from '../src/http/index.js';
import {
  RateLimiter,
  SimulatorServer,
  resolvePreset,
  runtimeOptionsControl,
  type SimRequest,
} from '../src/simulator/index.js';
import { Code, ConnectorError } from '../src/sdk/errors.js';
import { accountCreationSchema, mapConcurrent } from '../src/index.js';
import { newRuntimeStats } from '../src/sdk/connector.js';
import { redactSecrets } from '../src/log/secrets.js';

const CLIENT_ID = 'client id+1';
const SECRET = 'oauth-SECRET-4b7e1d2c9a';

let server: SimulatorServer;
let base: string;
let issued = 0;
let tokenAnswer: (req: SimRequest) => { status: number; json?: unknown; text?: string };
const valid = new Set<string>();
const tokenRequests: Array<{ authorization?: string; body: string }> = [];

beforeAll(async () => {
  server = new SimulatorServer();
  server.post(
    '/token',
    (req) => {
      tokenRequests.push({ authorization: req.headers.authorization, body: req.rawBody.toString('utf8') });
      return tokenAnswer(req);
    },
    { parseJson: false },
  );
  server.get('/resource', (req) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return token && valid.has(token) ? { json: { ok: token } } : { status: 401, json: { error: 'expired' } };
  });
  base = await server.start();
});
afterAll(() => server.close());

function issue(extra: Record<string, unknown> = {}) {
  const value = `tok-${++issued}-abcdef`;
  valid.add(value);
  return { status: 200, json: { access_token: value, token_type: 'Bearer', expires_in: 100, ...extra } };
}

beforeEach(() => {
  tokenRequests.length = 0;
  valid.clear();
  tokenAnswer = () => issue({ scope: 'a:read b:write' });
});

function source(options: Partial<ConstructorParameters<typeof ClientCredentialsTokenSource>[0]> = {}) {
  return new ClientCredentialsTokenSource({
    service: 'svc',
    tokenUrl: `${base}/token`,
    clientId: CLIENT_ID,
    clientSecret: SECRET,
    credentialsHint: 'check --client-id and --client-secret',
    retry: { maxAttempts: 2, baseDelayMs: 1 },
    ...options,
  });
}

describe('ClientCredentialsTokenSource', () => {
  it('authenticates with Basic (form-encoded id and secret), caches the token and keeps its scopes', async () => {
    const tokens = source();
    const a = await tokens.token();
    const b = await tokens.token();
    expect(b).toBe(a);
    expect(tokens.fetched).toBe(1);
    expect(a.scopes).toEqual(new Set(['a:read', 'b:write']));
    const decoded = Buffer.from(tokenRequests[0]!.authorization!.replace(/^Basic /, ''), 'base64').toString('utf8');
    expect(decoded).toBe(`client+id%2B1:${SECRET}`);
    expect(tokenRequests[0]!.body).toBe('grant_type=client_credentials');
    // Both secrets are registered: nothing logged can show them.
    expect(redactSecrets(`${SECRET} ${a.value}`)).toBe('[REDACTED] [REDACTED]');
  });

  it('can send the credentials as form fields and ask for scopes', async () => {
    await source({ clientAuthentication: 'body', scope: 'a:read' }).token();
    expect(tokenRequests[0]!.authorization).toBeUndefined();
    expect(new URLSearchParams(tokenRequests[0]!.body).get('client_secret')).toBe(SECRET);
    expect(new URLSearchParams(tokenRequests[0]!.body).get('scope')).toBe('a:read');
  });

  it('renews a tenth of the lifetime before expiry, and after invalidate()', async () => {
    let now = 1_000_000;
    const tokens = source({ now: () => now });
    const first = await tokens.token();
    expect(first.expiresAt).toBe(now + 100_000);
    now += 89_000;
    expect(await tokens.token()).toBe(first);
    now += 2_000; // 91 s of 100: inside the 10 s margin
    const second = await tokens.token();
    expect(second).not.toBe(first);
    tokens.invalidate(second);
    expect((await tokens.token()).value).not.toBe(second.value);
    expect(tokens.fetched).toBe(3);
  });

  it('shares one request between concurrent callers; no scope in the answer means unknown scopes', async () => {
    tokenAnswer = () => issue();
    const tokens = source();
    const all = await Promise.all([tokens.token(), tokens.token(), tokens.token()]);
    expect(new Set(all).size).toBe(1);
    expect(tokenRequests).toHaveLength(1);
    expect(all[0]!.scopes).toBeUndefined();
  });

  it('refused credentials are UNAUTHENTICATED with the hint, never with the secret', async () => {
    for (const answer of [
      { status: 401, json: { error: 'unauthorized_client', error_description: 'Invalid client credentials' } },
      { status: 400, json: { error: 'invalid_client', error_description: 'bad' } },
    ]) {
      tokenAnswer = () => answer;
      const err = (await source()
        .token()
        .catch((e: unknown) => e)) as ConnectorError;
      expect(err.code).toBe(Code.Unauthenticated);
      expect(err.message).toContain('refused the client credentials: check --client-id and --client-secret');
      expect(err.message).toContain(answer.json.error);
      expect(err.message).not.toContain(SECRET);
    }
    tokenAnswer = () => ({ status: 400, json: { error: 'invalid_scope' } });
    expect(
      (
        (await source()
          .token()
          .catch((e: unknown) => e)) as ConnectorError
      ).code,
    ).toBe(Code.InvalidArgument);
  });

  it('rejects answers without a bearer access token', async () => {
    tokenAnswer = () => ({ status: 200, json: { token_type: 'Bearer' } });
    await expect(source().token()).rejects.toThrow(/without an access_token/);
    tokenAnswer = () => issue({ token_type: 'mac' });
    await expect(source().token()).rejects.toThrow(/only bearer tokens/);
  });

  it('never quotes a garbled answer: it carries the token, not yet known as a secret', async () => {
    const token = 'tok-GARBLED-5e0a7c31d9';
    // Cut short inside the token, as a proxy dropping the connection mid-body would (JSON.parse quotes its input).
    tokenAnswer = () => ({ status: 200, text: `{"access_token":"${token}","token_type":"Bea` });
    const err = await source()
      .token()
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err?.message).toMatch(
      /malformed JSON response \(cut short or not JSON\): \(not quoted: it carries credentials\)/,
    );
    expect(err?.message).not.toContain('GARBLED');
    // Named by the token endpoint's URL, not by an empty path.
    expect(err?.message).toMatch(/^svc: POST http:\/\/127\.0\.0\.1:\d+\/token: 200 OK/);
  });
});

describe('withBearerToken', () => {
  it('sends the token, and on a 401 fetches a new one and retries once', async () => {
    const stats = newRuntimeStats();
    const tokens = source({ stats });
    const http = withBearerToken(createHttpClient({ service: 'svc', baseURL: base, stats }), tokens);
    const first = await http.get<{ ok: string }>('/resource');
    expect(first.data.ok).toBe(tokens.current!.value);
    valid.clear(); // revoked server-side before its expiry
    const second = await http.get<{ ok: string }>('/resource');
    expect(second.data.ok).not.toBe(first.data.ok);
    expect(tokens.fetched).toBe(2);
    // token, resource, resource (401), token, resource
    expect(stats.apiRequests).toBe(5);
  });

  it('a 401 to the fresh token too is the error', async () => {
    tokenAnswer = () => ({ status: 200, json: { access_token: `never-valid-${++issued}`, expires_in: 100 } });
    const tokens = source();
    const http = withBearerToken(createHttpClient({ service: 'svc', baseURL: base }), tokens);
    const err = (await http.get('/resource').catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.Unauthenticated);
    expect(tokens.fetched).toBe(2);
  });
});

describe('JSON:API paging', () => {
  const origin = 'https://api.example.com';
  const current = `${origin}/items?page[number]=1`;

  it('reads links.next as a same-origin path, absent/null/empty as the end', () => {
    expect(jsonApiNextLink({ links: { next: `${origin}/items?page[number]=2` } }, current, origin, 's')).toBe(
      '/items?page[number]=2',
    );
    expect(jsonApiNextLink({ links: { next: { href: '/items?page=3' } } }, current, origin, 's')).toBe('/items?page=3');
    expect(jsonApiNextLink({ links: { next: '?page[number]=4' } }, current, origin, 's')).toBe('/items?page[number]=4');
    for (const doc of [{}, { links: {} }, { links: { next: null } }, { links: { next: '' } }, null]) {
      expect(jsonApiNextLink(doc, current, origin, 's')).toBeUndefined();
    }
  });

  it('refuses a link to another host (credentials) and a link to the same page (a loop)', () => {
    expect(() => jsonApiNextLink({ links: { next: 'https://evil.example.net/x' } }, current, origin, 's')).toThrow(
      /another host \(https:\/\/evil\.example\.net\)/,
    );
    expect(() => jsonApiNextLink({ links: { next: current } }, current, origin, 's')).toThrow(/same page/);
  });

  it('requires a data array', () => {
    expect(jsonApiData({ data: [1] }, 's', 'GET /x')).toEqual([1]);
    expect(() => jsonApiData({ data: {} }, 's', 'GET /x')).toThrow(/s: GET \/x: the response is not a JSON:API list/);
  });

  it('serves linked pages in host-sized chunks, skipping empty pages, and says when a page is entered', async () => {
    const pages: Record<string, LinkedPage<number>> = {
      first: { items: [1, 2, 3, 4, 5], next: '/p2' },
      '/p2': { items: [], next: '/p3' },
      '/p3': { items: [6], next: undefined },
    };
    const loads: string[] = [];
    const load = async (url: string | undefined, fresh: boolean) => {
      loads.push(`${url ?? 'first'}${fresh ? '*' : ''}`);
      return pages[url ?? 'first']!;
    };
    const seen: number[][] = [];
    let state: unknown;
    do {
      const chunk = await linkedPageChunk(state, 2, load);
      seen.push(chunk.items);
      state = JSON.parse(JSON.stringify(chunk.next ?? null)) ?? undefined;
    } while (state);
    expect(seen).toEqual([[1, 2], [3, 4], [5], [6]]);
    expect(loads).toEqual(['first*', 'first', 'first', '/p2*', '/p3*']);
  });

  it('refuses forged page states', () => {
    expect(parseLinkedPageState({ url: '/x', offset: 3 })).toEqual({ url: '/x', offset: 3 });
    for (const bad of [5, { url: 'https://evil/x' }, { url: '//evil/x' }, { offset: -1 }, { offset: 1.5 }]) {
      expect(() => parseLinkedPageState(bad)).toThrow(/invalid page token/);
    }
  });
});

describe('ResponseCache', () => {
  it('fresh always loads; readThrough uses what is there, shares loads, and expires', async () => {
    let now = 0;
    const cache = new ResponseCache<string>({ ttlMs: 1_000, now: () => now });
    let loads = 0;
    const load = async () => `v${++loads}`;
    const one = () => 1;
    expect(await cache.fresh('k', load, one)).toBe('v1');
    expect(await cache.readThrough('k', load, one)).toBe('v1');
    expect(await cache.fresh('k', load, one)).toBe('v2');
    const shared = await Promise.all([cache.readThrough('j', load, one), cache.readThrough('j', load, one)]);
    expect(shared).toEqual(['v3', 'v3']);
    now = 5_000;
    expect(await cache.readThrough('k', load, one)).toBe('v4');
    expect(cache.hits).toBe(2);
  });

  it('is bounded by weight (oldest out first) and forgets keys on request', async () => {
    const cache = new ResponseCache<number[]>({ maxWeight: 10 });
    cache.put('/a/1', [1, 2, 3], 4);
    cache.put('/a/2', [1, 2, 3], 4);
    cache.put('/b/1', [1], 2);
    expect(cache.weight).toBe(10);
    cache.put('/c', [1], 2);
    expect(cache.get('/a/1')).toBeUndefined();
    expect(cache.get('/a/2')).toBeDefined();
    cache.put('/huge', [], 11);
    expect(cache.get('/huge')).toBeUndefined();
    cache.deleteWhere((k) => k.startsWith('/a/'));
    expect(cache.size).toBe(2);
    expect(cache.weight).toBe(4);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});

describe('mapConcurrent', () => {
  it('runs at most N at once and returns results in input order', async () => {
    let active = 0;
    let peak = 0;
    const out = await mapConcurrent([5, 1, 4, 2, 3], 2, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, n));
      active--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
    expect(await mapConcurrent([], 4, async () => 1)).toEqual([]);
  });

  it('rejects on the first failure and starts nothing after it', async () => {
    const started: number[] = [];
    await expect(
      mapConcurrent([1, 2, 3, 4], 1, async (n) => {
        started.push(n);
        if (n === 2) throw new ConnectorError(Code.Unavailable, 'boom');
        return n;
      }),
    ).rejects.toThrow('boom');
    expect(started).toEqual([1, 2]);
  });
});

describe('accountCreationSchema', () => {
  it('builds the field map with types, defaults and order', () => {
    const schema = accountCreationSchema({
      email: { type: 'string', displayName: 'Email', required: true, placeholder: 'a@b.c' },
      role: { type: 'string', displayName: 'Role', defaultValue: 'user' },
      vaults: { type: 'stringList', displayName: 'Vaults' },
      admin: { type: 'bool', displayName: 'Admin', defaultValue: false, order: 9 },
    });
    expect(schema.fieldMap.email).toMatchObject({
      displayName: 'Email',
      required: true,
      order: 1,
      placeholder: 'a@b.c',
    });
    expect(schema.fieldMap.role!.field).toEqual({
      case: 'stringField',
      value: expect.objectContaining({ defaultValue: 'user' }),
    });
    expect(schema.fieldMap.vaults!.field.case).toBe('stringListField');
    expect(schema.fieldMap.admin).toMatchObject({ order: 9, field: { case: 'boolField' } });
  });
});

describe('simulator runtime options and presets', () => {
  it('setOptions merges rate limits into the limiter and the rest into the options; options() is a copy', () => {
    const limiter = new RateLimiter({ limits: { read: 5, write: 1 } });
    const runtime = { rateLimits: { read: 5, write: 1 }, pageSize: 10 };
    const control = runtimeOptionsControl(runtime, (options) => limiter.setLimits(options.rateLimits));
    control.setOptions({ rateLimits: { read: 0 } as { read: number; write: number }, pageSize: 3 });
    expect(control.options()).toEqual({ rateLimits: { read: 0, write: 1 }, pageSize: 3 });
    expect(limiter.getLimits()).toEqual({ read: 0, write: 1 });
    control.options().rateLimits.write = 99;
    expect(runtime.rateLimits.write).toBe(1);
  });

  it('setOptions with an apply function: objects merge key by key, other fields are replaced, undefined is skipped', () => {
    const runtime = { bucket: { burst: 10, perSecond: 2 } as { burst: number; perSecond: number } | null, pageSize: 5 };
    const applied: unknown[] = [];
    const control = runtimeOptionsControl(runtime, (options) => applied.push(structuredClone(options)));
    control.setOptions({ bucket: { burst: 3 } as { burst: number; perSecond: number }, pageSize: undefined });
    expect(control.options()).toEqual({ bucket: { burst: 3, perSecond: 2 }, pageSize: 5 });
    control.setOptions({ bucket: null });
    expect(applied).toEqual([
      { bucket: { burst: 3, perSecond: 2 }, pageSize: 5 },
      { bucket: null, pageSize: 5 },
    ]);
  });

  it('resolvePreset answers a preset by name, a spec as is, and lists the presets for an unknown name', () => {
    const presets = { tiny: { n: 1 }, large: { n: 9 } };
    expect(resolvePreset(presets, 'large')).toEqual({ n: 9 });
    expect(resolvePreset(presets, { n: 4 })).toEqual({ n: 4 });
    expect(() => resolvePreset(presets, 'toString')).toThrow('unknown dataset "toString"; use one of tiny, large');
  });
});
