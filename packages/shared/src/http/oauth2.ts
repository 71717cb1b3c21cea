/**
 * OAuth 2.0 client-credentials tokens (RFC 6749 §4.4) for SaaS APIs whose service accounts authenticate that way,
 * and an HttpClient wrapper that sends them as bearer tokens.
 *
 * - One token is shared by every request and fetched again shortly before it expires (by default a tenth of its
 *   lifetime, at most a minute, ahead), so a long sync never runs into an expired token.
 * - A 401 from the API makes the wrapper drop the token, fetch a new one and send the request once more: tokens can
 *   be revoked or shortened server-side before their announced expiry.
 * - Concurrent callers share one token request.
 * - The client secret and every issued token are registered as secrets: they never appear in logs or errors.
 * - The scopes the token response lists (`scope`, space-separated) are kept, so a connector can tell the operator
 *   which scope is missing before calling the API.
 */
import { Code, ConnectorError } from '../sdk/errors.js';
import type { RuntimeStats } from '../sdk/connector.js';
import type { Logger } from '../log/logger.js';
import { registerSecret } from '../log/secrets.js';
import {
  createHttpClient,
  type HttpClient,
  type HttpRequest,
  type HttpResponse,
  type RequestOptions,
  type RequestOptionsWithoutBody,
} from './client.js';
import { HttpClientError } from './errors.js';
import type { RetryOptions } from './retry.js';

/** An access token and what the token endpoint said about it. */
export interface AccessToken {
  /** The bearer token itself (a registered secret). */
  readonly value: string;
  /** Milliseconds since the epoch after which the token must not be used. */
  readonly expiresAt: number;
  /** Scopes granted, when the token response listed them (`scope`); undefined when it did not say. */
  readonly scopes?: ReadonlySet<string>;
}

export interface ClientCredentialsOptions {
  /** Prefix of error messages, e.g. "vgs". */
  service: string;
  /** The token endpoint URL. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /**
   * How the client authenticates (RFC 6749 §2.3.1): `basic` sends `Authorization: Basic` (the method every
   * authorization server must support, default); `body` sends `client_id` and `client_secret` form fields.
   */
  clientAuthentication?: 'basic' | 'body';
  /** Space-separated scopes to request; omitted from the request when undefined (the server's defaults apply). */
  scope?: string;
  /** Lifetime assumed when the response has no `expires_in` (default 300 s). */
  defaultLifetimeSeconds?: number;
  /** Renew this long before expiry (default: a tenth of the token's lifetime, at most 60 s). */
  refreshMarginMs?: number;
  /** Appended to credential failures, e.g. "check --client-id and --client-secret". */
  credentialsHint?: string;
  timeoutMs?: number;
  retry?: RetryOptions;
  /** The token request counts in `apiRequests` like any other request. */
  stats?: RuntimeStats;
  logger?: Logger;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injectable clock (tests). */
  now?: () => number;
}

const MAX_REFRESH_MARGIN_MS = 60_000;
/** Error codes of RFC 6749 §5.2 that mean "these credentials are not accepted". */
const CREDENTIAL_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant']);

/** Form-encodes a client id or secret for the Basic scheme, as RFC 6749 §2.3.1 asks. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fetches, caches and renews client-credentials access tokens. */
export class ClientCredentialsTokenSource {
  private readonly options: ClientCredentialsOptions;
  private readonly http: HttpClient;
  private readonly now: () => number;
  private currentToken: AccessToken | undefined;
  private renewAt = 0;
  private pending: Promise<AccessToken> | undefined;
  /** Tokens fetched so far (for tests and diagnostics). */
  fetched = 0;

  constructor(options: ClientCredentialsOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    registerSecret(options.clientSecret);
    const basic =
      (options.clientAuthentication ?? 'basic') === 'basic'
        ? `Basic ${Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`).toString('base64')}`
        : undefined;
    this.http = createHttpClient({
      service: options.service,
      baseURL: options.tokenUrl,
      secretHeaders: basic ? { Authorization: basic } : undefined,
      timeoutMs: options.timeoutMs,
      retry: options.retry,
      stats: options.stats,
      logger: options.logger,
      sleep: options.sleep,
    });
  }

  /** The token in use, if any (it may be about to expire). */
  get current(): AccessToken | undefined {
    return this.currentToken;
  }

  /** A token that is valid for a while yet: the cached one, or a new one. */
  async token(signal?: AbortSignal): Promise<AccessToken> {
    if (this.currentToken && this.now() < this.renewAt) return this.currentToken;
    this.pending ??= this.fetchToken(signal).finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets `token` (e.g. after the API answered 401 to it), so the next call fetches a new one. */
  invalidate(token: AccessToken | string): void {
    const value = typeof token === 'string' ? token : token.value;
    if (this.currentToken?.value === value) {
      this.currentToken = undefined;
      this.renewAt = 0;
    }
  }

  private async fetchToken(signal?: AbortSignal): Promise<AccessToken> {
    const o = this.options;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (o.clientAuthentication === 'body') {
      form.set('client_id', o.clientId);
      form.set('client_secret', o.clientSecret);
    }
    if (o.scope) form.set('scope', o.scope);
    let response: HttpResponse<unknown>;
    try {
      response = await this.http.post<unknown>('', form, {
        // Asking for another token has no side effect worth protecting: retry like a read.
        retryable: true,
        // Its answer is the token itself: a garbled one must not be quoted in an error.
        secretResponse: true,
        headers: { Accept: 'application/json' },
        signal,
      });
    } catch (err) {
      throw this.explain(err);
    }
    const body = response.data;
    const value = isObject(body) && typeof body.access_token === 'string' ? body.access_token.trim() : '';
    if (!value) {
      throw new ConnectorError(
        Code.Unknown,
        `${o.service}: the token endpoint ${o.tokenUrl} answered HTTP ${response.status} without an access_token`,
      );
    }
    const type = isObject(body) && typeof body.token_type === 'string' ? body.token_type : 'bearer';
    if (type.toLowerCase() !== 'bearer') {
      throw new ConnectorError(
        Code.Unknown,
        `${o.service}: the token endpoint issued a ${JSON.stringify(type)} token; only bearer tokens are supported`,
      );
    }
    registerSecret(value);
    const rawLifetime = isObject(body) ? Number(body.expires_in) : NaN;
    const lifetimeMs =
      (Number.isFinite(rawLifetime) && rawLifetime > 0 ? rawLifetime : (o.defaultLifetimeSeconds ?? 300)) * 1000;
    const scopeText = isObject(body) && typeof body.scope === 'string' ? body.scope : undefined;
    const issuedAt = this.now();
    const token: AccessToken = {
      value,
      expiresAt: issuedAt + lifetimeMs,
      scopes: scopeText === undefined ? undefined : new Set(scopeText.split(/\s+/).filter(Boolean)),
    };
    const margin = o.refreshMarginMs ?? Math.min(MAX_REFRESH_MARGIN_MS, lifetimeMs / 10);
    this.currentToken = token;
    this.renewAt = token.expiresAt - margin;
    this.fetched++;
    o.logger?.debug('oauth2 token issued', {
      service: o.service,
      expiresInSeconds: Math.round(lifetimeMs / 1000),
      scopes: scopeText,
    });
    return token;
  }

  /** Credential refusals become UNAUTHENTICATED with the hint; everything else keeps its code. */
  private explain(err: unknown): unknown {
    if (!(err instanceof HttpClientError)) return err;
    const o = this.options;
    const oauthError = /^([a-z_]+)(?::|$)/.exec(err.bodyExcerpt ?? '')?.[1];
    const refused = err.status === 401 || (err.status === 400 && !!oauthError && CREDENTIAL_ERRORS.has(oauthError));
    if (!refused) return err;
    const hint = o.credentialsHint ? `: ${o.credentialsHint}` : '';
    return new ConnectorError(
      Code.Unauthenticated,
      `${o.service}: the token endpoint refused the client credentials${hint} [${err.message}]`,
      { cause: err, rateLimit: err.rateLimit },
    );
  }
}

/**
 * An HttpClient that sends `Authorization: Bearer <token>` from `tokens` on every request, and on a 401 fetches a
 * new token and sends the request once more (the server refused it before doing anything, so this is safe for
 * every method).
 */
export function withBearerToken(http: HttpClient, tokens: ClientCredentialsTokenSource): HttpClient {
  const send = <T>(req: HttpRequest, token: AccessToken) =>
    http.request<T>({ ...req, secretHeaders: { ...req.secretHeaders, Authorization: `Bearer ${token.value}` } });

  async function request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    const token = await tokens.token(req.signal);
    try {
      return await send<T>(req, token);
    } catch (err) {
      if (!(err instanceof HttpClientError) || err.status !== 401) throw err;
      tokens.invalidate(token);
      return send<T>(req, await tokens.token(req.signal));
    }
  }

  return {
    request,
    get: <T = unknown>(path: string, opts?: RequestOptions) => request<T>({ ...opts, method: 'GET', path }),
    post: <T = unknown>(path: string, body?: unknown, opts?: RequestOptionsWithoutBody) =>
      request<T>({ ...opts, method: 'POST', path, body }),
    put: <T = unknown>(path: string, body?: unknown, opts?: RequestOptionsWithoutBody) =>
      request<T>({ ...opts, method: 'PUT', path, body }),
    patch: <T = unknown>(path: string, body?: unknown, opts?: RequestOptionsWithoutBody) =>
      request<T>({ ...opts, method: 'PATCH', path, body }),
    delete: <T = unknown>(path: string, opts?: RequestOptions) => request<T>({ ...opts, method: 'DELETE', path }),
  };
}
