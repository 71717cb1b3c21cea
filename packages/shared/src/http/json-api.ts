/**
 * JSON:API (https://jsonapi.org) list documents: the media type, the `data` array, and paging by `links.next`.
 *
 * APIs that speak JSON:API page (if at all) by putting the next page's URL in `links.next`; the client follows it
 * verbatim instead of building page parameters itself, and stops when it is absent, null or empty. Links are kept
 * as origin-relative paths (`/path?query`): page tokens stay short, and a link (or a forged page token) can never
 * make the client send its credentials to another host.
 *
 * A Baton host asks for pages of its own size, which need not match the API's, so `linkedPageChunk` serves an API
 * page in host-sized chunks: the page state is the API page's link plus an offset into it.
 */
import { Code, ConnectorError, invalidArgument } from '../sdk/errors.js';

export const JSON_API_MEDIA_TYPE = 'application/vnd.api+json';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `data` array of a JSON:API list document; anything else is an error naming `what`. */
export function jsonApiData(document: unknown, service: string, what: string): unknown[] {
  if (isObject(document) && Array.isArray(document.data)) return document.data;
  throw new ConnectorError(Code.Unknown, `${service}: ${what}: the response is not a JSON:API list (no "data" array)`);
}

/**
 * `link` (absolute, or relative to `currentUrl`) as a path on `origin`. A link to any other origin is an error: the
 * client would otherwise send its credentials there.
 */
export function sameOriginPath(link: string, currentUrl: string, origin: string, service: string): string {
  let url: URL;
  try {
    url = new URL(link, currentUrl);
  } catch {
    throw new ConnectorError(Code.Unknown, `${service}: the API returned an invalid page link ${JSON.stringify(link)}`);
  }
  if (url.origin !== new URL(origin).origin) {
    throw new ConnectorError(
      Code.Unknown,
      `${service}: the API returned a page link to another host (${url.origin}); refusing to send credentials there`,
    );
  }
  return `${url.pathname}${url.search}`;
}

/**
 * `links.next` of a JSON:API document as a path on `origin` (see `sameOriginPath`), or undefined when there is no
 * next page. `currentUrl` is the absolute URL the document came from (relative links resolve against it).
 */
export function jsonApiNextLink(
  document: unknown,
  currentUrl: string,
  origin: string,
  service: string,
): string | undefined {
  const links = isObject(document) ? document.links : undefined;
  if (!isObject(links)) return undefined;
  const next = links.next;
  // A link may be a string or a link object `{ href, meta }`.
  const href = isObject(next) ? next.href : next;
  if (typeof href !== 'string' || href.trim() === '') return undefined;
  const path = sameOriginPath(href.trim(), currentUrl, origin, service);
  const current = new URL(currentUrl);
  if (path === `${current.pathname}${current.search}`) {
    throw new ConnectorError(
      Code.Unknown,
      `${service}: links.next of ${current.pathname} points back at the same page; refusing to loop`,
    );
  }
  return path;
}

/** One API page: its items and the path of the next page, if any. */
export interface LinkedPage<T> {
  items: T[];
  next?: string;
}

/** Page state of `linkedPageChunk`: the API page (undefined: the first) and how many of its items were served. */
export interface LinkedPageState {
  url?: string;
  offset?: number;
}

/** Checks a state that came back in a page token (tokens are not signed). */
export function parseLinkedPageState(state: unknown): LinkedPageState {
  if (state === undefined) return {};
  if (!isObject(state)) throw invalidArgument('invalid page token: not a page position issued by this connector');
  const { url, offset } = state;
  if (url !== undefined && (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//'))) {
    throw invalidArgument('invalid page token: not a page link issued by this connector');
  }
  if (offset !== undefined && (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0)) {
    throw invalidArgument('invalid page token: not an offset issued by this connector');
  }
  return { url: url as string | undefined, offset: offset as number | undefined };
}

/**
 * The next `size` items of a chain of linked API pages. `load(url, fresh)` reads one API page (`url` undefined:
 * the first); `fresh` is true when the page is entered at offset 0, i.e. not a continuation of a page already
 * served, so a caller that caches pages knows when to read them anew. Pages that turn out empty (e.g. every item
 * filtered out) are skipped, at most `maxPagesPerCall` of them per call.
 */
export async function linkedPageChunk<T>(
  state: unknown,
  size: number,
  load: (url: string | undefined, fresh: boolean) => Promise<LinkedPage<T>>,
  maxPagesPerCall = 20,
): Promise<{ items: T[]; next?: LinkedPageState }> {
  const position = parseLinkedPageState(state);
  let url = position.url;
  let offset = position.offset ?? 0;
  const chunk = Math.max(1, Math.floor(size));
  for (let pages = 1; ; pages++) {
    const page = await load(url, offset === 0);
    if (offset < page.items.length) {
      const end = Math.min(page.items.length, offset + chunk);
      const items = page.items.slice(offset, end);
      if (end < page.items.length) return { items, next: { url, offset: end } };
      return { items, next: page.next ? { url: page.next } : undefined };
    }
    if (!page.next) return { items: [] };
    url = page.next;
    offset = 0;
    if (pages >= maxPagesPerCall) return { items: [], next: { url } };
  }
}
