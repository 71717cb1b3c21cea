/**
 * RFC 8288 `Link` header parsing and Link-paged listing (`LinkPager`) against a real loopback server.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  LinkPager,
  createHttpClient,
  formatLinkHeader,
  nextPagePath,
  parseLinkHeader,
  type HttpClient,
  type LinkPageState,
} from '../src/http/index.js';
import { Code, ConnectorError } from '../src/sdk/errors.js';
import { newRuntimeStats } from '../src/sdk/connector.js';
import { SimulatorServer } from '../src/simulator/index.js';

describe('parseLinkHeader', () => {
  it('reads several link values with quoted and token parameters', () => {
    const links = parseLinkHeader(
      '<https://api.example.com/v1/x?skip=100&limit=1000>; rel="next", <https://api.example.com/v1/x?skip=0&limit=1000>; rel=prev',
    );
    expect(links).toEqual([
      { url: 'https://api.example.com/v1/x?skip=100&limit=1000', rels: ['next'], params: { rel: 'next' } },
      { url: 'https://api.example.com/v1/x?skip=0&limit=1000', rels: ['prev'], params: { rel: 'prev' } },
    ]);
  });

  it('keeps commas and semicolons inside URLs and quoted strings, splits multiple rels, lower-cases names', () => {
    const links = parseLinkHeader(
      '</a?x=1,2;3>; REL="Next Last"; title="a, b; c \\"q\\""; type=text/html,<b>;rel=first',
    );
    expect(links).toHaveLength(2);
    expect(links[0]).toEqual({
      url: '/a?x=1,2;3',
      rels: ['next', 'last'],
      params: { rel: 'Next Last', title: 'a, b; c "q"', type: 'text/html' },
    });
    expect(links[1]).toMatchObject({ url: 'b', rels: ['first'] });
  });

  it('skips malformed values and keeps the good ones; the first rel wins', () => {
    expect(parseLinkHeader('garbage, <ok>; rel=next')).toEqual([
      { url: 'ok', rels: ['next'], params: { rel: 'next' } },
    ]);
    expect(parseLinkHeader('<a>; rel="unterminated, <b>; rel=next')).toEqual([]);
    expect(parseLinkHeader('<a> junk; rel=next, <b>; rel=next')).toEqual([
      { url: 'b', rels: ['next'], params: { rel: 'next' } },
    ]);
    expect(parseLinkHeader('<a>; rel=next; rel=prev')[0]!.rels).toEqual(['next']);
    expect(parseLinkHeader('')).toEqual([]);
    expect(parseLinkHeader(undefined)).toEqual([]);
    expect(parseLinkHeader('<unclosed; rel=next')).toEqual([]);
  });

  it('round-trips formatLinkHeader', () => {
    const header = formatLinkHeader([
      { url: 'http://127.0.0.1:1/v1/a?skip=2', rel: 'next' },
      { url: 'http://127.0.0.1:1/v1/a?skip=0', rel: 'prev' },
    ]);
    expect(parseLinkHeader(header).map((l) => [l.url, l.rels])).toEqual([
      ['http://127.0.0.1:1/v1/a?skip=2', ['next']],
      ['http://127.0.0.1:1/v1/a?skip=0', ['prev']],
    ]);
  });
});

describe('nextPagePath', () => {
  const req = 'https://api.example.com/v1/users?limit=10';
  it('follows rel="next" only, resolving relative targets', () => {
    expect(nextPagePath({ link: '<https://api.example.com/v1/users?skip=10>; rel="next"' }, req, 's')).toBe(
      '/v1/users?skip=10',
    );
    expect(nextPagePath({ Link: '<?skip=20>; rel="next"' }, req, 's')).toBe('/v1/users?skip=20');
    expect(nextPagePath({ link: '</v1/users?skip=0>; rel="prev"' }, req, 's')).toBeUndefined();
    expect(nextPagePath({}, req, 's')).toBeUndefined();
  });

  it('refuses a next page on another origin', () => {
    const err = (() => {
      try {
        nextPagePath({ link: '<https://evil.example.net/v1/users?skip=10>; rel="next"' }, req, 'svc');
      } catch (e) {
        return e;
      }
    })() as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.message).toMatch(/^svc: .*another origin \(https:\/\/evil\.example\.net\)/);
  });
});

describe('LinkPager over HTTP', () => {
  const RECORDS = Array.from({ length: 23 }, (_, i) => ({ _id: `r${String(i).padStart(2, '0')}` }));
  let server: SimulatorServer;
  let baseUrl: string;
  let http: HttpClient;
  let mode: 'absolute' | 'relative' | 'cursor' | 'empty204' | 'foreign' | 'self' | 'object' = 'absolute';
  const PAGE = 10;

  beforeAll(async () => {
    server = new SimulatorServer();
    server.get('/api/items', (req) => {
      if (mode === 'empty204') return { status: 204 };
      if (mode === 'object') return { status: 200, json: { items: [] } };
      const skip = Number(req.query.get('skip') ?? 0);
      const after = req.query.get('after');
      const start = after ? RECORDS.findIndex((r) => r._id > after) : skip;
      const page = RECORDS.slice(start, start + PAGE);
      const end = start + page.length;
      const links = [];
      if (end < RECORDS.length) {
        const target =
          mode === 'relative'
            ? `items?skip=${end}`
            : mode === 'cursor'
              ? `${baseUrl}/api/items?after=${page[page.length - 1]!._id}`
              : mode === 'foreign'
                ? `http://127.0.0.2:9/api/items?skip=${end}`
                : mode === 'self'
                  ? `${baseUrl}/api/items?limit=5`
                  : `${baseUrl}/api/items?skip=${end}`;
        links.push({ url: target, rel: 'next' });
      }
      if (start > 0) links.push({ url: `${baseUrl}/api/items?skip=0`, rel: 'prev' });
      return { status: 200, json: page, headers: links.length ? { link: formatLinkHeader(links) } : undefined };
    });
    baseUrl = await server.start();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    mode = 'absolute';
    server.log.clear();
    http = createHttpClient({ service: 'svc', baseURL: baseUrl, stats: newRuntimeStats() });
  });

  async function drain(pager: LinkPager, size: number) {
    const ids: string[] = [];
    let state: LinkPageState | undefined;
    let slices = 0;
    do {
      // Through JSON, as a page token would carry it.
      const slice = await pager.slice<{ _id: string }>('/api/items?limit=5', state, size);
      expect(slice.items.length).toBeLessThanOrEqual(size);
      ids.push(...slice.items.map((r) => r._id));
      state = slice.next ? (JSON.parse(JSON.stringify(slice.next)) as LinkPageState) : undefined;
      slices++;
    } while (state);
    return { ids, slices };
  }

  for (const m of ['absolute', 'relative', 'cursor'] as const) {
    it(`reads every record once per API page in slices (${m} next links, prev links ignored)`, async () => {
      mode = m;
      const pager = new LinkPager({ http, baseUrl, service: 'svc' });
      const { ids, slices } = await drain(pager, 4);
      expect(ids).toEqual(RECORDS.map((r) => r._id));
      // Pages of 10, 10 and 3 served as 3 + 3 + 1 slices of at most 4.
      expect(slices).toBe(7);
      expect(server.log.count()).toBe(3);
      expect(pager.cachedPages).toBe(0);
    });
  }

  it('a state replayed in a new pager (a restart) refetches its page and continues exactly', async () => {
    const first = new LinkPager({ http, baseUrl, service: 'svc' });
    const a = await first.slice<{ _id: string }>('/api/items?limit=5', undefined, 4);
    const b = await first.slice<{ _id: string }>('/api/items?limit=5', a.next, 4);
    const restarted = new LinkPager({ http, baseUrl, service: 'svc' });
    const c = await restarted.slice<{ _id: string }>('/api/items?limit=5', b.next, 4);
    expect([...a.items, ...b.items, ...c.items].map((r) => r._id)).toEqual(RECORDS.slice(0, 10).map((r) => r._id));
    expect(server.log.count()).toBe(2);
  });

  it('an empty 204 is an empty list', async () => {
    mode = 'empty204';
    const slice = await new LinkPager({ http, baseUrl, service: 'svc' }).slice('/api/items', undefined, 10);
    expect(slice).toEqual({ items: [], next: undefined });
  });

  it('refuses a body that is not an array, a next link to another origin, and a next link to the same page', async () => {
    const pager = new LinkPager({ http, baseUrl, service: 'svc' });
    mode = 'object';
    await expect(pager.slice('/api/items', undefined, 10)).rejects.toThrow(/expected a JSON array, got an object/);
    mode = 'foreign';
    await expect(pager.slice('/api/items', undefined, 10)).rejects.toThrow(/another origin/);
    expect(server.log.filter((e) => e.path !== '/api/items')).toEqual([]);
    mode = 'self';
    await expect(pager.slice('/api/items?limit=5', undefined, 100)).rejects.toThrow(/refusing to loop/);
  });

  it('rejects forged states: another path, a relative or protocol-relative path, a bad skip', async () => {
    const pager = new LinkPager({ http, baseUrl, service: 'svc' });
    for (const state of [
      { url: '/api/other?skip=1', offset: 0 },
      { url: 'api/items', offset: 0 },
      { url: '//evil.example/api/items', offset: 0 },
      { url: '/api/items', offset: -1 },
      { url: '/api/items', offset: 1.5 },
      'nope',
    ]) {
      const err = await pager.slice('/api/items', state as unknown as LinkPageState, 5).catch((e: unknown) => e);
      expect(err, JSON.stringify(state)).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).code).toBe(Code.InvalidArgument);
    }
    expect(server.log.count()).toBe(0);
  });

  it('keeps at most maxCachedPages partly served pages and expires them', async () => {
    let now = 0;
    const pager = new LinkPager({ http, baseUrl, service: 'svc', maxCachedPages: 1, ttlMs: 1000, now: () => now });
    const a = await pager.slice('/api/items?limit=5', undefined, 2);
    expect(pager.cachedPages).toBe(1);
    await pager.slice('/api/items?limit=5', a.next, 2);
    expect(server.log.count()).toBe(1);
    now = 5000;
    await pager.slice('/api/items?limit=5', { url: '/api/items?limit=5', offset: 4 }, 2);
    expect(server.log.count()).toBe(2);
    pager.clear();
    expect(pager.cachedPages).toBe(0);
  });
});
