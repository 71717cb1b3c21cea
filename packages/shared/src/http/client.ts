/**
 * The SaaS HTTP client every connector uses: an axios instance plus our own retry loop, status -> gRPC code
 * mapping, rate-limit header parsing and secret redaction.
 *
 * - Every attempt counts in `stats.apiRequests`; every retry in `stats.retries`; waits caused by a 429 or a
 *   Retry-After header in `stats.rateLimitWaits` / `stats.rateLimitWaitMs`.
 * - Retries follow the idempotency policy documented in retry.ts.
 * - Redirects are not followed by default (`maxRedirects: 0`): a redirect to another host would carry our auth
 *   headers along (follow-redirects only strips Authorization/Cookie, not X-Api-Key style headers). A 3xx is then
 *   an ordinary non-2xx (Unknown) unless listed in `acceptStatus`.
 * - Nothing thrown by this client holds the axios error: its `config` carries the request headers.
 */
import type { AxiosInstance, AxiosResponse } from 'axios';

/**
 * axios (with its Node dependencies) is loaded on the first request, not at start-up: a host spawns a plugin per job
 * and often asks only for metadata or capabilities, and loading axios costs ~50 ms (it probes the global fetch,
 * which pulls in undici).
 */
let axiosModule: Promise<typeof import('axios')> | undefined;
const loadAxios = () => (axiosModule ??= import('axios'));
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import { redactSecrets, registerSecret } from '../log/secrets.js';
import type { RuntimeStats } from '../sdk/connector.js';
import type { RateLimitInfo } from '../sdk/rate-limit.js';
import { endpointProblemOf, getEndpointHint, inConfigurationCheck } from './config-check.js';
import {
  abortedError,
  bodyExcerpt,
  endpointError,
  httpStatusError,
  malformedBodyError,
  networkError,
  timeoutError,
  type HttpClientError,
  type Redactor,
} from './errors.js';
import { parseRateLimitHeaders, serverRetryDelayMs } from './rate-limit-headers.js';
import { notifyWaitEnded, notifyWaitStarted, type HttpWaitEvent } from './wait-events.js';
import {
  PRE_CONNECT_CODES,
  abortableSleep,
  nextDelayMs,
  resolveRetryPolicy,
  retryModeFor,
  shouldRetry,
  type AttemptFailure,
  type HttpMethod,
  type RetryOptions,
} from './retry.js';

export interface HttpClientOptions {
  /** e.g. "twingate"; prefixes error messages: "twingate: POST /api/graphql/: 401 Unauthorized: Invalid API key". */
  service: string;
  baseURL: string;
  /** Static headers. */
  headers?: Record<string, string>;
  /** Auth headers; every value is registerSecret()-ed and never logged or put in an error. */
  secretHeaders?: Record<string, string>;
  /** Per attempt, covering connect, upload and the whole response body (default 30 000). */
  timeoutMs?: number;
  /** Defaults: 5 attempts, waits capped at 60 000 ms, base 500 ms exponential with jitter. */
  retry?: RetryOptions;
  /** Counts apiRequests (every attempt), retries, rateLimitWaits and rateLimitWaitMs (waits caused by 429 / Retry-After). */
  stats?: RuntimeStats;
  /** Debug line per attempt: method, path, status, ms, attempt; never headers; error bodies only as short redacted excerpts. */
  logger?: Logger;
  /** Injectable for tests. Should reject when `signal` aborts; the client also stops waiting on abort by itself. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Redirects to follow (default 0, see the module comment). */
  maxRedirects?: number;
  /** Random source for backoff jitter (tests). */
  random?: () => number;
}

export interface HttpRequest {
  method: HttpMethod;
  /** Relative to baseURL, or an absolute URL. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON; a URLSearchParams is sent as application/x-www-form-urlencoded. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Per-request credentials (e.g. a freshly minted token); treated like the client's secretHeaders. */
  secretHeaders?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Non-2xx statuses returned instead of thrown (e.g. [404] for an idempotent delete). Their body is parsed
   * leniently: JSON when it parses, else the raw text.
   */
  acceptStatus?: number[];
  /**
   * Default: GET/PUT/DELETE retry every transient failure; POST/PATCH retry only on 429, 503 with Retry-After and
   * connection errors where nothing was sent. `true` gives a POST the idempotent policy (GraphQL queries, searches);
   * `false` disables retries altogether. See retry.ts.
   */
  retryable?: boolean;
  /** 'json' (default): parse the body, a malformed 2xx body is an error. 'text': return the body as a string. */
  responseType?: 'json' | 'text';
  /**
   * A successful answer carries credentials (a token endpoint's access token): when it cannot be parsed, the error
   * says so without quoting it. The token is registered as a secret only once parsed, so redaction cannot help.
   */
  secretResponse?: boolean;
}

export interface HttpResponse<T> {
  status: number;
  data: T;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Parsed rate-limit headers, when the response had any (for response annotations). */
  rateLimit?: RateLimitInfo;
}

export type RequestOptions = Omit<HttpRequest, 'method' | 'path'>;
export type RequestOptionsWithoutBody = Omit<HttpRequest, 'method' | 'path' | 'body'>;

export interface HttpClient {
  request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>>;
  get<T = unknown>(path: string, opts?: RequestOptions): Promise<HttpResponse<T>>;
  post<T = unknown>(path: string, body?: unknown, opts?: RequestOptionsWithoutBody): Promise<HttpResponse<T>>;
  put<T = unknown>(path: string, body?: unknown, opts?: RequestOptionsWithoutBody): Promise<HttpResponse<T>>;
  patch<T = unknown>(path: string, body?: unknown, opts?: RequestOptionsWithoutBody): Promise<HttpResponse<T>>;
  delete<T = unknown>(path: string, opts?: RequestOptions): Promise<HttpResponse<T>>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
const REDACTED = '[REDACTED]';
const MIN_SECRET_LENGTH = 4;

/** Query parameter names whose values never appear in logs or errors. */
export const SENSITIVE_QUERY_NAME =
  /token|secret|passw(or)?d|pwd|key|signature|^sig$|credential|auth|session|cookie|^code$/i;

/**
 * Every form a secret header value can come back in: the value, the credential after an auth scheme
 * ("Bearer <token>"), the password inside Basic credentials, and URL/JSON-escaped variants.
 */
export function secretVariants(value: string): string[] {
  const out = new Set<string>();
  const add = (v: string | undefined) => {
    if (v === undefined || v.length < MIN_SECRET_LENGTH) return;
    out.add(v);
    const uri = encodeURIComponent(v);
    if (uri !== v) out.add(uri);
    const json = JSON.stringify(v).slice(1, -1);
    if (json !== v) out.add(json);
  };
  const trimmed = value.trim();
  add(value);
  add(trimmed);
  const scheme = /^(\S+)\s+(\S+)$/.exec(trimmed);
  if (scheme) {
    add(scheme[2]);
    if (scheme[1].toLowerCase() === 'basic') {
      const decoded = Buffer.from(scheme[2], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) add(decoded.slice(colon + 1));
    }
  }
  return [...out];
}

function makeRedactor(secrets: Iterable<string>): Redactor {
  const list = [...new Set(secrets)].sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = redactSecrets(text);
    for (const s of list) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  };
}

function collectSecrets(headers: Record<string, string> | undefined): string[] {
  const out: string[] = [];
  for (const value of Object.values(headers ?? {})) {
    for (const v of secretVariants(String(value))) {
      registerSecret(v);
      out.push(v);
    }
  }
  return out;
}

const ABSOLUTE_URL = /^[a-z][a-z\d+\-.]*:\/\//i;

/** Backoff waits at least this long are logged at info level (shorter ones at debug). */
const LONG_WAIT_MS = 5_000;

/** `host:port` of a URL, for messages (never userinfo). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function buildUrl(baseURL: string, path: string, query?: HttpRequest['query']): string {
  let url: string;
  if (ABSOLUTE_URL.test(path)) url = path;
  else if (!path) url = baseURL;
  else url = `${baseURL.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.append(k, String(v));
    const qs = params.toString();
    if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  }
  return url;
}

/** A query string with the values of secret-looking parameters replaced ("?a=1&api_token=[REDACTED]"). */
export function redactQueryString(search: string): string {
  const raw = search.startsWith('?') ? search.slice(1) : search;
  if (!raw) return '';
  const parts = raw.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    let name = rawName;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
    } catch {
      /* keep raw */
    }
    return eq >= 0 && SENSITIVE_QUERY_NAME.test(name) ? `${rawName}=${REDACTED}` : pair;
  });
  return `?${parts.join('&')}`;
}

/** A path or URL for logs and errors: secret query values redacted, userinfo dropped, fragment dropped. */
export function redactUrlForDisplay(pathOrUrl: string, keepOrigin: boolean): string {
  const noHash = pathOrUrl.split('#')[0];
  if (ABSOLUTE_URL.test(noHash)) {
    try {
      const u = new URL(noHash);
      return `${keepOrigin ? u.origin : ''}${u.pathname}${redactQueryString(u.search)}`;
    } catch {
      /* fall through */
    }
  }
  const q = noHash.indexOf('?');
  return q < 0 ? noHash : noHash.slice(0, q) + redactQueryString(noHash.slice(q));
}

function mergeHeaders(...sources: Array<Record<string, string> | undefined>): Record<string, string> {
  const map = new Map<string, [string, string]>();
  for (const src of sources) {
    for (const [name, value] of Object.entries(src ?? {})) {
      if (value === undefined || value === null) continue;
      map.set(name.toLowerCase(), [name, String(value)]);
    }
  }
  return Object.fromEntries([...map.values()]);
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  const wanted = name.toLowerCase();
  return Object.keys(headers).some((k) => k.toLowerCase() === wanted);
}

function toHeaderRecord(headers: AxiosResponse['headers'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  const plain: Record<string, unknown> =
    typeof (headers as { toJSON?: unknown }).toJSON === 'function'
      ? (headers as { toJSON: () => Record<string, unknown> }).toJSON()
      : (headers as Record<string, unknown>);
  for (const [name, value] of Object.entries(plain)) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.map(String).join(', ') : String(value);
  }
  return out;
}

/** True only when we can tell that no byte of the request reached the wire. */
function nothingSent(err: unknown, code: string | undefined): boolean {
  if (code !== undefined && PRE_CONNECT_CODES.has(code)) return true;
  const req = (err as { request?: unknown } | undefined)?.request as
    { reusedSocket?: boolean; socket?: { bytesWritten?: number } | null; _currentRequest?: unknown } | undefined;
  const inner = (req?._currentRequest ?? req) as
    { reusedSocket?: boolean; socket?: { bytesWritten?: number } | null } | undefined;
  return inner?.reusedSocket === false && inner.socket?.bytesWritten === 0;
}

class AbortedSignal extends Error {}

type AttemptResult<T> =
  | { ok: true; response: HttpResponse<T> }
  | { ok: false; failure: AttemptFailure; error: HttpClientError; serverDelayMs?: number; final?: boolean };

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const service = options.service;
  const baseURL = options.baseURL;
  const policy = resolveRetryPolicy(options.retry);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const logger = options.logger;
  const stats = options.stats;
  const clientSecrets = collectSecrets(options.secretHeaders);
  const clientRedact = makeRedactor(clientSecrets);

  let instance: Promise<AxiosInstance> | undefined;
  const axiosInstance = () =>
    (instance ??= loadAxios().then(({ default: axios }) =>
      axios.create({
        validateStatus: () => true,
        maxRedirects: options.maxRedirects ?? 0,
        responseType: 'text',
        responseEncoding: 'utf8',
        // We serialise and parse ourselves: axios' JSON handling silently falls back to the raw string.
        transformRequest: [(data: unknown) => data],
        transformResponse: [(data: unknown) => data],
        decompress: true,
      }),
    ));

  async function waitFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (!signal) return sleep(ms);
    if (signal.aborted) throw new AbortedSignal();
    let onAbort: () => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new AbortedSignal());
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([sleep(ms, signal), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async function request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    const method = req.method.toUpperCase() as HttpMethod;
    const requestSecrets = req.secretHeaders ? collectSecrets(req.secretHeaders) : [];
    const redact = requestSecrets.length ? makeRedactor([...clientSecrets, ...requestSecrets]) : clientRedact;
    const url = buildUrl(baseURL, req.path, req.query);
    // A request for the base URL itself (a token endpoint) is named by that URL rather than by an empty path.
    const displayPath = redact(redactUrlForDisplay(req.path || url, true));
    const logPath = redact(redactUrlForDisplay(url, false));
    const mode = retryModeFor(method, req.retryable);
    const responseType = req.responseType ?? 'json';
    const signal = req.signal;

    const headers = mergeHeaders(
      { Accept: 'application/json' },
      options.headers,
      options.secretHeaders,
      req.headers,
      req.secretHeaders,
    );
    let data: string | undefined;
    if (req.body !== undefined) {
      if (req.body instanceof URLSearchParams) {
        data = req.body.toString();
        if (!hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
      } else {
        data = JSON.stringify(req.body);
        if (!hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
      }
    }

    const base = { service, method, path: displayPath, redact };
    // Inside Validate (see config-check.ts): a wrong endpoint is reported at once instead of retried.
    const checkingConfiguration = inConfigurationCheck();

    const attemptOnce = async (attempt: number): Promise<AttemptResult<T>> => {
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      const onUserAbort = () => controller.abort();
      signal?.addEventListener('abort', onUserAbort, { once: true });
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);

      let res: AxiosResponse<unknown>;
      try {
        res = await (await axiosInstance()).request<unknown>({ method, url, headers, data, signal: controller.signal });
      } catch (err) {
        if (signal?.aborted) throw new AbortedSignal();
        if (timedOut) {
          logger?.debug('http request', { service, method, path: logPath, error: 'timeout', ms: elapsed(), attempt });
          return {
            ok: false,
            failure: { kind: 'timeout' },
            error: timeoutError({ ...base, attempts: attempt, timeoutMs }),
          };
        }
        const code = (err as { code?: unknown } | undefined)?.code;
        const codeStr = typeof code === 'string' ? code : undefined;
        const detail = err instanceof Error ? err.message : String(err);
        logger?.debug('http request', {
          service,
          method,
          path: logPath,
          error: redact(codeStr ?? detail),
          ms: elapsed(),
          attempt,
        });
        const problem = checkingConfiguration ? endpointProblemOf(codeStr) : undefined;
        if (problem && codeStr) {
          return {
            ok: false,
            final: true,
            failure: { kind: 'network', code: codeStr, nothingSent: nothingSent(err, codeStr) },
            error: endpointError({
              ...base,
              attempts: attempt,
              code: codeStr,
              detail,
              problem,
              host: hostOf(url),
              hint: getEndpointHint(hostOf(url)),
            }),
          };
        }
        return {
          ok: false,
          failure: { kind: 'network', code: codeStr, nothingSent: nothingSent(err, codeStr) },
          error: networkError({ ...base, attempts: attempt, code: codeStr, detail }),
        };
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onUserAbort);
      }

      const status = res.status;
      const resHeaders = toHeaderRecord(res.headers);
      const body = typeof res.data === 'string' ? res.data : res.data == null ? '' : String(res.data);
      const ok = status >= 200 && status < 300;
      const accepted = ok || (req.acceptStatus?.includes(status) ?? false);
      const rateLimit = parseRateLimitHeaders(resHeaders, { status });
      const logFields: Record<string, unknown> = { service, method, path: logPath, status, ms: elapsed(), attempt };
      if (!ok) logFields.body = bodyExcerpt(body, redact);
      logger?.debug('http request', logFields);

      if (accepted) {
        const response = (value: unknown): AttemptResult<T> => ({
          ok: true,
          response: { status, data: value as T, headers: resHeaders, ...(rateLimit ? { rateLimit } : {}) },
        });
        if (responseType === 'text') return response(body);
        if (body.trim() === '') return response(undefined);
        try {
          return response(JSON.parse(body));
        } catch (parseErr) {
          if (!ok) return response(body);
          return {
            ok: false,
            failure: { kind: 'malformed-body' },
            error: malformedBodyError({
              ...base,
              status,
              statusText: res.statusText,
              body: req.secretResponse ? '(not quoted: it carries credentials)' : body,
              attempts: attempt,
              parseError: req.secretResponse
                ? 'cut short or not JSON'
                : parseErr instanceof Error
                  ? parseErr.message
                  : 'invalid JSON',
            }),
          };
        }
      }

      const hasRetryAfter = Object.prototype.hasOwnProperty.call(resHeaders, 'retry-after');
      return {
        ok: false,
        failure: { kind: 'status', status, hasRetryAfter },
        serverDelayMs: serverRetryDelayMs(resHeaders, status),
        error: httpStatusError({ ...base, status, statusText: res.statusText, body, rateLimit, attempts: attempt }),
      };
    };

    let attempt = 0;
    try {
      for (;;) {
        attempt++;
        if (signal?.aborted) throw new AbortedSignal();
        if (stats) stats.apiRequests++;
        const result = await attemptOnce(attempt);
        if (result.ok) return result.response;
        const { failure, error } = result;
        if (!result.final && mode === 'unsafe' && !shouldRetry(failure, mode) && shouldRetry(failure, 'idempotent')) {
          // A write that reached the API and got no usable answer: say that it may have been applied.
          error.message += '; the request was sent, so the API may have applied it';
          throw error;
        }
        if (result.final || attempt >= policy.maxAttempts || !shouldRetry(failure, mode)) throw error;

        const waitMs = nextDelayMs(attempt, policy, result.serverDelayMs, random);
        const rateLimited = failure.kind === 'status' && (failure.status === 429 || failure.hasRetryAfter);
        if (stats) {
          stats.retries++;
          if (rateLimited) {
            stats.rateLimitWaits++;
            stats.rateLimitWaitMs += waitMs;
          }
        }
        const wait: HttpWaitEvent = {
          service,
          method,
          path: logPath,
          reason: rateLimited ? 'rate-limit' : 'retry',
          ...(failure.kind === 'status' ? { status: failure.status } : {}),
          ...(failure.kind === 'network' && failure.code ? { errorCode: failure.code } : {}),
          waitMs,
          startedAt: Date.now(),
          attempt,
        };
        // A rate-limit wait or a long backoff is worth telling at info level: the run looks stuck otherwise.
        const level = rateLimited || waitMs >= LONG_WAIT_MS ? 'info' : 'debug';
        logger?.[level](rateLimited ? 'rate limited: waiting before the next request' : 'waiting before retrying', {
          service,
          method,
          path: logPath,
          reason:
            failure.kind === 'status'
              ? failure.status
              : failure.kind === 'network'
                ? (failure.code ?? 'network')
                : failure.kind,
          attempt,
          waitMs,
          rateLimited,
        });
        notifyWaitStarted(wait);
        try {
          await waitFor(waitMs, signal);
        } finally {
          notifyWaitEnded(wait);
        }
      }
    } catch (err) {
      if (
        err instanceof AbortedSignal ||
        (signal?.aborted && !(err instanceof Error && err.name === 'ConnectorError'))
      ) {
        throw abortedError({ ...base, attempts: attempt, reason: signal?.reason });
      }
      throw err;
    }
  }

  const withBody =
    (method: HttpMethod) =>
    <T = unknown>(path: string, body?: unknown, opts?: RequestOptionsWithoutBody) =>
      request<T>({ ...opts, method, path, body });

  return {
    request,
    get: <T = unknown>(path: string, opts?: RequestOptions) => request<T>({ ...opts, method: 'GET', path }),
    post: withBody('POST'),
    put: withBody('PUT'),
    patch: withBody('PATCH'),
    delete: <T = unknown>(path: string, opts?: RequestOptions) => request<T>({ ...opts, method: 'DELETE', path }),
  };
}
