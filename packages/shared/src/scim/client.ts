/**
 * An RFC 7644 client on the shared HTTP client (retries, Retry-After in seconds or as an HTTP date, rate-limit
 * headers, secret redaction). Nothing here knows about Baton; the syncers in this directory use it.
 *
 * - Sends `Accept: application/scim+json, application/json` and `Content-Type: application/scim+json` on bodies;
 *   accepts JSON responses whatever their content type says.
 * - Every failure is a ScimError with a gRPC code (errors.ts) and the server's `detail`; the connector's `explain`
 *   hook adds advice (explain.ts).
 * - Lists page by startIndex (paging.ts), with overlap trimming and a bounded buffer for servers that ignore `count`.
 * - PATCHes are sent in the RFC dialect and fall back once to Entra's legacy dialect (patch.ts); the dialect that
 *   worked is kept for the life of the client.
 */
import { Code, ConnectorError } from '../sdk/errors.js';
import type { RuntimeStats } from '../sdk/connector.js';
import type { Logger } from '../log/logger.js';
import {
  createHttpClient,
  redactQueryString,
  secretVariants,
  type HttpClient,
  type HttpClientError,
  type HttpRequest,
  type RetryOptions,
} from '../http/index.js';
import { codeForScimError, parseScimErrorBody, ScimError } from './errors.js';
import { advancePage, ScimPageBuffer, type ScimPageState } from './paging.js';
import { patchRequest, type PatchDialect, type PatchIntent } from './patch.js';
import { SCIM_MEDIA_TYPE, type ScimListResponse } from './types.js';

/** Items asked for per list request: RudderStack's other APIs cap pages at 100, and so do many SCIM servers. */
export const DEFAULT_SCIM_PAGE_SIZE = 100;

/** Statuses whose SCIM error body we read ourselves (none of them is retried). */
const SCIM_ERROR_STATUSES = [400, 401, 403, 404, 405, 409, 412, 413, 422, 501];

export interface ScimClientOptions {
  /** Prefix of log lines and error messages, e.g. "rudderstack". */
  service: string;
  /** The SCIM base URL, e.g. https://api.rudderstack.com/scim/v2 (resource paths are appended). */
  baseUrl: string;
  /** Bearer token; never logged or put into an error. */
  token: string;
  logger?: Logger;
  stats?: RuntimeStats;
  retry?: RetryOptions;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  timeoutMs?: number;
  /** `count` of list requests (default 100). */
  pageSize?: number;
  /** Items kept from pages larger than asked for (default 50,000; 0 disables the buffer). */
  bufferItems?: number;
  /** Adds advice to a failure (the connector's wording); applied to every error this client throws. */
  explain?: (err: ScimError) => ScimError;
}

export interface ScimListQuery {
  filter?: string;
  attributes?: string[];
  excludedAttributes?: string[];
}

export interface ScimPage<T> {
  items: T[];
  /** State of the next page; undefined when the listing is complete. */
  next?: ScimPageState;
  totalResults?: number;
}

export interface ScimRequestOptions {
  signal?: AbortSignal;
}

type Query = Record<string, string | number | undefined>;

export class ScimClient {
  readonly service: string;
  readonly baseUrl: string;
  readonly pageSize: number;
  private readonly http: HttpClient;
  private readonly buffer: ScimPageBuffer;
  private readonly redactions: string[];
  private readonly explain: (err: ScimError) => ScimError;
  private readonly logger?: Logger;
  private dialect: PatchDialect | undefined;

  constructor(options: ScimClientOptions) {
    this.service = options.service;
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.pageSize = Math.max(1, Math.floor(options.pageSize ?? DEFAULT_SCIM_PAGE_SIZE));
    this.buffer = new ScimPageBuffer(options.bufferItems);
    this.explain = options.explain ?? ((err) => err);
    this.logger = options.logger;
    const authorization = `Bearer ${options.token ?? ''}`;
    this.redactions = secretVariants(authorization).sort((a, b) => b.length - a.length);
    this.http = createHttpClient({
      service: options.service,
      baseURL: this.baseUrl,
      headers: { Accept: `${SCIM_MEDIA_TYPE}, application/json` },
      secretHeaders: { Authorization: authorization },
      logger: options.logger,
      stats: options.stats,
      retry: options.retry,
      sleep: options.sleep,
      timeoutMs: options.timeoutMs,
    });
  }

  /** The PatchOp dialect this server accepted, once a PATCH has succeeded (undefined before). */
  get patchDialect(): PatchDialect | undefined {
    return this.dialect;
  }

  /**
   * One page of `resource` (`Users`, `Groups`) for a host page of at most `size` items. Requests `pageSize`
   * items whatever `size` is, so the number of API requests does not depend on the host's page size.
   */
  async listPage<T extends { id: string }>(
    resource: string,
    state: ScimPageState | undefined,
    size: number,
    query: ScimListQuery = {},
    options: ScimRequestOptions = {},
  ): Promise<ScimPage<T>> {
    const startIndex = validStartIndex(state?.startIndex);
    const key = `${resource}?${JSON.stringify(query)}`;
    const buffered = this.buffer.take<T>(key, startIndex, size);
    if (buffered) {
      const last = buffered.items[buffered.items.length - 1];
      return {
        items: buffered.items,
        next: buffered.done ? undefined : { startIndex: buffered.nextStartIndex, lastId: last?.id ?? state?.lastId },
      };
    }

    const res = await this.send<ScimListResponse<T>>(
      { method: 'GET', path: resource, query: { ...listQuery(query), startIndex, count: this.pageSize } },
      options,
    );
    let page;
    try {
      page = advancePage(startIndex, res, state?.lastId, resource === 'Users' ? 'users' : 'resources');
    } catch (err) {
      const path = displayPath(resource, { startIndex, count: this.pageSize });
      throw new ScimError(
        err instanceof ConnectorError ? err.code : Code.Unknown,
        `${this.service}: GET ${path}: ${err instanceof Error ? err.message : String(err)}`,
        { method: 'GET', path, status: 200 },
      );
    }
    if (page.note) this.logger?.warn(`${this.service}: ${page.note}`, { resource });
    const items = page.fresh.slice(0, size);
    const rest = page.fresh.slice(size);
    const nextStart = startIndex + items.length;
    if (rest.length > 0) this.buffer.put(key, nextStart, rest, page.nextStartIndex, page.done);
    const done = rest.length === 0 && page.done;
    const last = items[items.length - 1];
    return {
      items,
      totalResults: page.totalResults,
      next: done
        ? undefined
        : { startIndex: rest.length > 0 ? nextStart : page.nextStartIndex, lastId: last?.id ?? state?.lastId },
    };
  }

  /** Every item of a listing (for fallbacks and tests; syncers page through `listPage`). */
  async listAll<T extends { id: string }>(
    resource: string,
    query: ScimListQuery = {},
    options: ScimRequestOptions = {},
    onPage?: (items: T[], state: ScimPageState | undefined, next: ScimPageState | undefined) => void,
  ): Promise<T[]> {
    const all: T[] = [];
    let state: ScimPageState | undefined;
    do {
      const page: ScimPage<T> = await this.listPage<T>(resource, state, this.pageSize, query, options);
      onPage?.(page.items, state, page.next);
      all.push(...page.items);
      state = page.next;
    } while (state);
    return all;
  }

  /**
   * The cheapest request that proves the URL and token work: the first user, `GET /Users?startIndex=1&count=1`.
   * A 2xx that is not a ListResponse (a login page, another API) is FAILED_PRECONDITION with status set.
   */
  async probe(options: ScimRequestOptions = {}): Promise<void> {
    const res = await this.send<ScimListResponse<unknown>>(
      { method: 'GET', path: 'Users', query: { startIndex: 1, count: 1 } },
      options,
    );
    const looksRight =
      res !== null && typeof res === 'object' && (typeof res.totalResults === 'number' || Array.isArray(res.Resources));
    if (!looksRight) {
      throw this.explain(
        new ScimError(
          Code.FailedPrecondition,
          `${this.service}: GET /Users?startIndex=1&count=1: the answer is not a SCIM ListResponse`,
          { method: 'GET', path: '/Users?startIndex=1&count=1', status: 200 },
        ),
      );
    }
  }

  /** The first resource matching `filter` (e.g. `userName eq "a@b.c"`), or undefined. */
  async findOne<T extends { id: string }>(
    resource: string,
    filter: string,
    options: ScimRequestOptions = {},
  ): Promise<T | undefined> {
    const res = await this.send<ScimListResponse<T>>(
      { method: 'GET', path: resource, query: { filter, startIndex: 1, count: 1 } },
      options,
    );
    return (res?.Resources ?? []).find((r) => typeof r?.id === 'string');
  }

  /** GET `resource/id`; undefined when the server answers 404. */
  async get<T>(
    resource: string,
    id: string,
    options: ScimRequestOptions & Pick<ScimListQuery, 'attributes' | 'excludedAttributes'> = {},
  ): Promise<T | undefined> {
    const query = listQuery({ attributes: options.attributes, excludedAttributes: options.excludedAttributes });
    return this.send<T>({ method: 'GET', path: resourcePath(resource, id), query }, options, [404]);
  }

  /** POST `resource`; the created resource. Not retried after the request may have reached the server. */
  async create<T>(resource: string, body: unknown, options: ScimRequestOptions = {}): Promise<T> {
    const created = await this.send<T>({ method: 'POST', path: resource, body }, options);
    if (!created || typeof created !== 'object' || typeof (created as { id?: unknown }).id !== 'string') {
      throw new ScimError(
        Code.Unknown,
        `${this.service}: POST /${resource}: the server did not return the created resource with its id`,
        { method: 'POST', path: `/${resource}` },
      );
    }
    return created;
  }

  /**
   * PATCH `resource/id` with intents (patch.ts); the resource when the server answers 200 with a body, undefined
   * for 204. Every intent we send is idempotent (adding a member twice does not duplicate it, removing a removed
   * member changes nothing), so transient failures are retried.
   */
  async patch(
    resource: string,
    id: string,
    intents: PatchIntent[],
    options: ScimRequestOptions = {},
  ): Promise<unknown> {
    const path = resourcePath(resource, id);
    const send = (dialect: PatchDialect) =>
      this.send<unknown>({ method: 'PATCH', path, body: patchRequest(intents, dialect), retryable: true }, options);
    if (this.dialect) return send(this.dialect);
    try {
      const result = await send('rfc');
      this.dialect = 'rfc';
      return result;
    } catch (err) {
      if (!rejectedAsMalformed(err)) throw err;
      this.logger?.debug(`${this.service}: PATCH in the RFC dialect was rejected; trying Entra's legacy dialect`, {
        path,
        scimType: err.scimType,
      });
      try {
        const result = await send('entra-legacy');
        this.dialect = 'entra-legacy';
        return result;
      } catch (legacyErr) {
        // Both spellings failed: report the RFC attempt, whose message is the one the server's docs would explain.
        if (rejectedAsMalformed(legacyErr)) throw err;
        throw legacyErr;
      }
    }
  }

  /** DELETE `resource/id`: true when deleted, false when the server answers 404 (already gone). */
  async delete(resource: string, id: string, options: ScimRequestOptions = {}): Promise<boolean> {
    let status = 0;
    await this.send<unknown>({ method: 'DELETE', path: resourcePath(resource, id) }, options, [404], (s) => {
      status = s;
    });
    return status !== 404;
  }

  /** Drops buffered pages (a new sync starts, or the connector is cleaned up). */
  clearBuffer(): void {
    this.buffer.clear();
  }

  /** Items held in the page buffer (tests, benchmarks). */
  get bufferedItems(): number {
    return this.buffer.size;
  }

  /**
   * One request; SCIM error statuses become ScimError from the body, other failures (429 and 5xx after retries,
   * network, timeouts) keep the HTTP client's code and message. `tolerate` lists statuses answered with undefined.
   */
  private async send<T>(
    req: Omit<HttpRequest, 'acceptStatus'> & { query?: Query },
    options: ScimRequestOptions,
    tolerate: number[] = [],
    onStatus?: (status: number) => void,
  ): Promise<T | undefined> {
    const display = displayPath(req.path, req.query);
    let res;
    try {
      res = await this.http.request<unknown>({
        ...req,
        headers: req.body !== undefined ? { 'Content-Type': SCIM_MEDIA_TYPE, ...req.headers } : req.headers,
        signal: options.signal,
        acceptStatus: SCIM_ERROR_STATUSES,
      });
    } catch (err) {
      throw this.explain(this.fromTransport(err, req.method, display));
    }
    onStatus?.(res.status);
    if (res.status >= 200 && res.status < 300) return res.data as T;
    if (tolerate.includes(res.status)) return undefined;
    const body = parseScimErrorBody(res.data, (text) => this.redact(text));
    const detail = body.detail;
    const message =
      `${this.service}: ${req.method} ${display}: ${res.status}` +
      (body.scimType ? ` (${body.scimType})` : '') +
      (detail ? `: ${detail}` : '');
    throw this.explain(
      new ScimError(codeForScimError(res.status, body.scimType), message, {
        method: req.method,
        path: display,
        status: res.status,
        scimType: body.scimType,
        detail,
      }),
    );
  }

  private fromTransport(err: unknown, method: string, path: string): ScimError {
    if (err instanceof ScimError) return err;
    if (err instanceof ConnectorError) {
      const http = err as Partial<HttpClientError>;
      return new ScimError(
        err.code,
        err.message,
        { method, path, status: http.status, detail: http.bodyExcerpt, errorCode: http.errorCode },
        { cause: err, rateLimit: err.rateLimit },
      );
    }
    return new ScimError(Code.Unknown, `${this.service}: ${method} ${path}: request failed`, { method, path });
  }

  private redact(text: string): string {
    let out = text;
    for (const secret of this.redactions) if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
    return out;
  }
}

/** A PATCH rejected for its form rather than its content: worth one try in the other dialect. */
function rejectedAsMalformed(err: unknown): err is ScimError {
  if (!(err instanceof ScimError) || err.status !== 400) return false;
  return !['noTarget', 'mutability', 'uniqueness', 'tooMany', 'sensitive'].includes(err.scimType ?? '');
}

function validStartIndex(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 ? value : 1;
}

function resourcePath(resource: string, id: string): string {
  return `${resource}/${encodeURIComponent(id)}`;
}

function listQuery(query: ScimListQuery): Query {
  const out: Query = {};
  if (query.filter) out.filter = query.filter;
  if (query.attributes?.length) out.attributes = query.attributes.join(',');
  if (query.excludedAttributes?.length) out.excludedAttributes = query.excludedAttributes.join(',');
  return out;
}

function displayPath(path: string, query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.append(k, String(v));
  const qs = params.toString();
  if (!qs) return `/${path.replace(/^\/+/, '')}`;
  // Readable in messages (`filter=userName eq "a@b.c"`), after secret-looking values were redacted.
  let shown = redactQueryString(`?${qs}`);
  try {
    shown = decodeURIComponent(shown.replace(/\+/g, ' '));
  } catch {
    // keep the encoded form
  }
  return `/${path.replace(/^\/+/, '')}${shown}`;
}
