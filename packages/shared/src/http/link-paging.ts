/**
 * Paging through APIs that announce the next page in an RFC 8288 `Link` header (`<url>; rel="next"`), as GitHub,
 * Celigo and many REST APIs do.
 *
 * - `parseLinkHeader` reads a `Link` header the way RFC 8288 §3 writes it: several comma-separated link values, each a
 *   `<URI-Reference>` followed by `;`-separated parameters whose values may be tokens or quoted strings (which may
 *   hold commas and semicolons), and a `rel` that may list several space-separated relation types. A value that does
 *   not parse is skipped, never half-read.
 * - `nextPagePath` finds `rel="next"` (only `next`: a `prev`, `first` or `last` link never counts), resolves it against
 *   the URL of the request that returned it, and refuses a link to another origin: following it would send our
 *   credentials to a host nobody configured.
 * - `LinkPager` lists one API collection in slices of at most the size a caller asks for. APIs that page this way
 *   usually return large pages (1000 records), while a Baton host asks for at most 250 per RPC: the pager fetches each
 *   API page once, serves it in slices, and keeps the rest between calls in a small bounded cache. Its page state
 *   (the API page's path and how many of its records were already served) is self-contained, so a state replayed
 *   after a restart simply fetches that API page again.
 */
import { Code, ConnectorError, invalidArgument } from '../sdk/errors.js';
import type { HttpClient } from './client.js';
import { buildUrl } from './client.js';
import { linkedPageChunk, parseLinkedPageState, type LinkedPageState } from './json-api.js';
import { getHeader, type HeaderBag } from './rate-limit-headers.js';
import { ResponseCache } from './response-cache.js';

/** One link value of a `Link` header. */
export interface WebLink {
  /** The target exactly as written between `<` and `>` (may be relative). */
  url: string;
  /** Relation types, lower-cased (`rel="next prev"` gives `["next", "prev"]`). */
  rels: string[];
  /** Every parameter by lower-cased name (the first occurrence wins, as RFC 8288 §3.3 asks for `rel`). */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** Parses a `Link` header value into its link values; malformed values are skipped. */
export function parseLinkHeader(value: string | undefined): WebLink[] {
  if (!value) return [];
  const links: WebLink[] = [];
  let i = 0;
  const n = value.length;
  const skipSpace = () => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  /** Moves past the current link value (to just after the next comma outside <> and quotes). */
  const skipToNextValue = () => {
    let quoted = false;
    for (; i < n; i++) {
      const c = value[i];
      if (quoted) {
        if (c === '\\') i++;
        else if (c === '"') quoted = false;
      } else if (c === '"') quoted = true;
      else if (c === ',') {
        i++;
        return;
      }
    }
  };

  while (i < n) {
    skipSpace();
    if (value[i] === ',') {
      i++;
      continue;
    }
    if (value[i] !== '<') {
      skipToNextValue();
      continue;
    }
    const close = value.indexOf('>', i + 1);
    if (close < 0) break;
    const url = value.slice(i + 1, close).trim();
    i = close + 1;
    const params: Record<string, string> = {};
    let broken = false;
    for (;;) {
      skipSpace();
      if (i >= n || value[i] === ',') break;
      if (value[i] !== ';') {
        broken = true;
        break;
      }
      i++;
      skipSpace();
      let name = '';
      while (i < n && TOKEN_CHAR.test(value[i]!)) name += value[i++];
      if (name === '') {
        broken = true;
        break;
      }
      skipSpace();
      let paramValue = '';
      if (value[i] === '=') {
        i++;
        skipSpace();
        if (value[i] === '"') {
          i++;
          let closed = false;
          while (i < n) {
            const c = value[i++];
            if (c === '\\' && i < n) paramValue += value[i++];
            else if (c === '"') {
              closed = true;
              break;
            } else paramValue += c;
          }
          if (!closed) {
            broken = true;
            break;
          }
        } else {
          while (i < n && value[i] !== ';' && value[i] !== ',') paramValue += value[i++];
          paramValue = paramValue.trim();
        }
      }
      const key = name.toLowerCase();
      if (!(key in params)) params[key] = paramValue;
    }
    if (broken) {
      skipToNextValue();
      continue;
    }
    const rels = (params.rel ?? '')
      .split(/[ \t]+/)
      .filter(Boolean)
      .map((r) => r.toLowerCase());
    links.push({ url, rels, params });
  }
  return links;
}

/** One link for `formatLinkHeader`. */
export interface LinkTarget {
  url: string;
  rel: string;
}

/** `<url>; rel="next", <url>; rel="prev"`: the form simulators answer with. */
export function formatLinkHeader(links: readonly LinkTarget[]): string {
  return links.map((l) => `<${l.url}>; rel="${l.rel}"`).join(', ');
}

/**
 * The `rel="next"` target of a response as an absolute path with its query (`/v1/users?skip=100`), or undefined when
 * there is no next page. Relative targets are resolved against `requestUrl`. A target on another origin than
 * `requestUrl`'s, or one that does not parse, is an error naming `service`: never a silently shorter listing, and
 * never a request that would carry our credentials elsewhere.
 */
export function nextPagePath(headers: HeaderBag | undefined, requestUrl: string, service: string): string | undefined {
  const header = getHeader(headers, 'link');
  const next = parseLinkHeader(header).find((l) => l.rels.includes('next'));
  if (!next) return undefined;
  let target: URL;
  const base = new URL(requestUrl);
  try {
    target = new URL(next.url, base);
  } catch {
    throw new ConnectorError(
      Code.Unknown,
      `${service}: the API's Link header has a rel="next" target that is not a URL; refusing to return a truncated list`,
    );
  }
  if (target.origin !== base.origin) {
    throw new ConnectorError(
      Code.Unknown,
      `${service}: the API's Link header points the next page at another origin (${target.origin}); refusing to send credentials there`,
    );
  }
  return `${target.pathname}${target.search}`;
}

/**
 * Paging state of a `LinkPager` listing (JSON-safe, so it can live in a page token): the same `{ url, offset }` as
 * every linked listing (json-api.ts), `url` being the path of the API page the next slice starts in (undefined: the
 * first page) and `offset` how many of its records were already served.
 */
export type LinkPageState = LinkedPageState;

/** A slice of a Link-paged listing; `next` is undefined after the last record. */
export interface LinkSlice<T> {
  items: T[];
  next?: LinkPageState;
}

export interface LinkPagerOptions {
  http: HttpClient;
  /** The client's base URL: relative paths are resolved against it, and next links must stay on its origin. */
  baseUrl: string;
  /** Prefixes error messages, e.g. "celigo". */
  service: string;
  /** API pages kept between calls (default 8): one per listing in progress is enough for a sequential host. */
  maxCachedPages?: number;
  /** How long a partly served API page is kept (default 120 000 ms). */
  ttlMs?: number;
  now?: () => number;
}

interface CachedPage {
  items: unknown[];
  next: string | undefined;
  storedAt: number;
}

/**
 * Lists Link-paged collections in slices (see the module comment). An empty body (e.g. a 204) is an empty page; a
 * body that is not a JSON array is an error, as is a next link that points back at the page it came from.
 */
export class LinkPager {
  private readonly http: HttpClient;
  private readonly origin: string;
  private readonly baseUrl: string;
  private readonly service: string;
  private readonly now: () => number;
  /** Partly served API pages by path, one weight unit each; a page expires `ttlMs` after it was fetched. */
  private readonly cache: ResponseCache<CachedPage>;

  constructor(options: LinkPagerOptions) {
    this.http = options.http;
    this.baseUrl = options.baseUrl;
    this.origin = new URL(options.baseUrl).origin;
    this.service = options.service;
    this.now = options.now ?? Date.now;
    this.cache = new ResponseCache<CachedPage>({
      maxWeight: options.maxCachedPages ?? 8,
      ttlMs: options.ttlMs ?? 120_000,
      now: this.now,
    });
  }

  /**
   * Up to `size` records of the collection whose first page is `firstPath` (relative to the base URL, query
   * included), starting where `state` says (undefined: the first page, always fetched fresh).
   */
  async slice<T>(
    firstPath: string,
    state: LinkPageState | undefined,
    size: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<LinkSlice<T>> {
    const first = this.absolutePath(firstPath);
    if (state !== undefined) this.checkState(state, first);
    const pages = new Map<string, CachedPage>();
    // The slicing (offsets, skipping empty pages) is linkedPageChunk's; this class adds the HTTP and the cache.
    const slice = await linkedPageChunk<unknown>(state, size, async (url, fresh) => {
      const path = url ?? first;
      const page = (!fresh && this.cache.get(path)) || (await this.fetch(path, options.signal));
      pages.set(path, page);
      return page;
    });
    for (const [path, page] of pages) {
      // Keep the page the next slice starts in (partly served); forget the ones fully served.
      if (slice.next?.offset !== undefined && (slice.next.url ?? first) === path) {
        this.cache.put(path, page, 1, page.storedAt);
      } else this.cache.delete(path);
    }
    return { items: slice.items as T[], next: slice.next };
  }

  /** Drops every cached page (e.g. when a sync ends). */
  clear(): void {
    this.cache.clear();
  }

  /** Pages held (for tests). */
  get cachedPages(): number {
    return this.cache.size;
  }

  private absolutePath(path: string): string {
    const url = new URL(buildUrl(this.baseUrl, path));
    return `${url.pathname}${url.search}`;
  }

  /**
   * A state comes from a page token, which is not signed: beyond the shape linkedPageChunk checks, it must name a
   * page of the same collection.
   */
  private checkState(state: LinkPageState, first: string): void {
    const { url } = parseLinkedPageState(state);
    const pathname = (p: string) => new URL(p, this.origin).pathname;
    if (url !== undefined && pathname(url) !== pathname(first)) {
      throw invalidArgument(`invalid page token: it belongs to another ${this.service} listing`);
    }
  }

  private async fetch(path: string, signal: AbortSignal | undefined): Promise<CachedPage> {
    const url = `${this.origin}${path}`;
    const response = await this.http.get<unknown>(url, { signal });
    const body = response.data;
    let items: unknown[];
    if (response.status === 204 || body === undefined || body === null) items = [];
    else if (Array.isArray(body)) items = body;
    else {
      throw new ConnectorError(
        Code.Unknown,
        `${this.service}: GET ${path}: expected a JSON array, got ${typeof body === 'object' ? 'an object' : typeof body}`,
      );
    }
    const next = nextPagePath(response.headers, url, this.service);
    if (next === path) {
      throw new ConnectorError(
        Code.Unknown,
        `${this.service}: GET ${path}: the Link header's next page is the page itself; refusing to loop`,
      );
    }
    return { items, next, storedAt: this.now() };
  }
}
