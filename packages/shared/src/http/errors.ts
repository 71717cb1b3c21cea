/**
 * HTTP outcomes -> ConnectorError (gRPC code + message + optional RateLimitInfo), following the Go SDK's `uhttp`
 * mapping (docs/protocol.md, "Errors and rate limits") with two deliberate differences, marked below.
 *
 * Messages look like `<service>: <METHOD> <path>: <status> <statusText>: <body excerpt>` and pass through the
 * redactor given by the client (registered secrets plus the request's secret header values) before they are built
 * into an error. No error produced here carries the axios error, its config (which holds the request headers) or the
 * raw body, so neither the message nor the cause chain can leak a credential.
 */
import { STATUS_CODES } from 'node:http';
import { Code, ConnectorError } from '../sdk/errors.js';
import type { RateLimitInfo } from '../sdk/rate-limit.js';
import { describeEndpointProblem, type EndpointProblem } from './config-check.js';

export const MAX_BODY_EXCERPT = 300;

/**
 * HTTP status -> gRPC code.
 *
 * - 400/422 -> InvalidArgument (Go: Unknown). The SaaS rejected the request's content, typically an id, email or
 *   field value that came from the grant/create request or from config; the same request will fail again, so it is
 *   not Unavailable, and InvalidArgument tells the operator "fix the input" where Unknown says nothing. Hosts abort
 *   the step on both codes, so sync behaviour is unchanged.
 * - 409 -> AlreadyExists (Go: Unknown). Most SaaS and SCIM APIs (RFC 7644 §3.3, "uniqueness") answer 409 to a
 *   create that collides with an existing object, which is exactly AlreadyExists, and provisioning code can turn it
 *   into GrantAlreadyExists. Some APIs also use 409 for edit conflicts (optimistic locking, gRPC's Aborted); callers
 *   of such APIs should catch `HttpClientError` with status 409 themselves. Hosts abort on both codes.
 */
export function codeForHttpStatus(status: number): Code {
  switch (status) {
    case 400:
    case 422:
      return Code.InvalidArgument;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.NotFound;
    case 408:
      return Code.DeadlineExceeded;
    case 409:
      return Code.AlreadyExists;
    case 429:
      return Code.Unavailable;
    case 501:
      return Code.Unimplemented;
  }
  if (status >= 500 && status <= 599) return Code.Unavailable;
  return Code.Unknown;
}

/** What went wrong at the HTTP level, for callers that need more than the gRPC code (e.g. a 409 on an edit). */
export interface HttpErrorDetails {
  service: string;
  method: string;
  /** The request path as given (query values with secret-looking names redacted). */
  path: string;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** Short redacted excerpt of the response body. */
  bodyExcerpt?: string;
  /** Transport error code (ECONNRESET, ...) when no usable response arrived. */
  errorCode?: string;
  /** Attempts made, including the first. */
  attempts: number;
}

/** The ConnectorError the HTTP client throws; `instanceof ConnectorError` holds. */
export class HttpClientError extends ConnectorError {
  readonly service: string;
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  readonly bodyExcerpt?: string;
  readonly errorCode?: string;
  readonly attempts: number;

  constructor(
    code: Code,
    message: string,
    details: HttpErrorDetails,
    options: { cause?: Error; rateLimit?: RateLimitInfo } = {},
  ) {
    super(code, message, options);
    this.service = details.service;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.bodyExcerpt = details.bodyExcerpt;
    this.errorCode = details.errorCode;
    this.attempts = details.attempts;
  }
}

/** A transport failure with a redacted message and nothing else (no config, no headers, no socket). */
export class HttpTransportError extends Error {
  readonly code?: string;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'HttpTransportError';
    this.code = code;
  }
}

export type Redactor = (text: string) => string;

export function statusText(status: number, given?: string): string {
  const text = given?.trim();
  return text ? text : (STATUS_CODES[status] ?? '');
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return text.slice(0, Math.max(0, max - 1)) + '…';
}

function pickMessage(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (Array.isArray(value)) {
    const parts = value.map(pickMessage).filter((v): v is string => v !== undefined);
    return parts.length ? parts.join('; ') : undefined;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.error === 'string' && typeof o.error_description === 'string') {
      return `${o.error}: ${o.error_description}`;
    }
    for (const key of ['message', 'error_description', 'detail', 'error', 'errors', 'errorMessages', 'title', 'msg']) {
      const found = pickMessage(o[key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * A short, human-readable excerpt of an error body: the message field of a JSON error when there is one (`message`,
 * `error`/`error_description`, `detail`, `errors[].message`, ...), else the compact JSON, else the text with HTML
 * tags stripped and whitespace collapsed. Redacted before truncation, so a secret cut in half cannot survive.
 */
export function bodyExcerpt(body: string | undefined, redact: Redactor, max: number = MAX_BODY_EXCERPT): string {
  if (!body) return '';
  const text = body.length > 64 * 1024 ? body.slice(0, 64 * 1024) : body;
  let summary: string | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    summary = pickMessage(parsed) ?? (typeof parsed === 'object' ? JSON.stringify(parsed) : String(parsed));
  } catch {
    summary = /^\s*</.test(text) ? text.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ') : text;
  }
  return truncate(redact(summary.replace(/\s+/g, ' ').trim()), max);
}

function prefix(service: string, method: string, path: string): string {
  return `${service}: ${method} ${path}`;
}

export interface StatusErrorParams {
  service: string;
  method: string;
  path: string;
  status: number;
  statusText?: string;
  body?: string;
  rateLimit?: RateLimitInfo;
  attempts: number;
  redact: Redactor;
}

/** A non-accepted HTTP status -> `<service>: <METHOD> <path>: <status> <statusText>: <excerpt>`. */
export function httpStatusError(p: StatusErrorParams): HttpClientError {
  const excerpt = bodyExcerpt(p.body, p.redact);
  const line = `${p.status} ${statusText(p.status, p.statusText)}`.trim();
  const message = p.redact(`${prefix(p.service, p.method, p.path)}: ${line}${excerpt ? `: ${excerpt}` : ''}`);
  return new HttpClientError(
    codeForHttpStatus(p.status),
    message,
    {
      service: p.service,
      method: p.method,
      path: p.path,
      status: p.status,
      bodyExcerpt: excerpt || undefined,
      attempts: p.attempts,
    },
    { rateLimit: p.rateLimit },
  );
}

/** A 2xx whose body is not the JSON we asked for: usually a transient proxy/CDN page, so Unavailable. */
export function malformedBodyError(p: StatusErrorParams & { parseError: string }): HttpClientError {
  const excerpt = bodyExcerpt(p.body, p.redact, 120);
  const line = `${p.status} ${statusText(p.status, p.statusText)}`.trim();
  const message = p.redact(
    `${prefix(p.service, p.method, p.path)}: ${line}: malformed JSON response (${p.parseError})${excerpt ? `: ${excerpt}` : ''}`,
  );
  return new HttpClientError(Code.Unavailable, message, {
    service: p.service,
    method: p.method,
    path: p.path,
    status: p.status,
    bodyExcerpt: excerpt || undefined,
    attempts: p.attempts,
  });
}

export interface TransportErrorParams {
  service: string;
  method: string;
  path: string;
  attempts: number;
  redact: Redactor;
}

/** No response: connection refused/reset, DNS, TLS... Unavailable, except for local misuse (bad URL/options). */
export function networkError(p: TransportErrorParams & { code?: string; detail: string }): HttpClientError {
  const detail = p.redact(p.detail);
  const local = p.code !== undefined && /^ERR_(INVALID|BAD_OPTION)/.test(p.code);
  const message = p.redact(
    `${prefix(p.service, p.method, p.path)}: ${detail}${p.code && !detail.includes(p.code) ? ` (${p.code})` : ''}`,
  );
  return new HttpClientError(
    local ? Code.Unknown : Code.Unavailable,
    message,
    { service: p.service, method: p.method, path: p.path, errorCode: p.code, attempts: p.attempts },
    { cause: new HttpTransportError(detail, p.code) },
  );
}

/**
 * The endpoint is misconfigured (see config-check.ts): FailedPrecondition, so no host retries it, with a message
 * naming the host and what to check. Only raised inside a configuration check (Validate).
 */
export function endpointError(
  p: TransportErrorParams & { code: string; detail: string; problem: EndpointProblem; host: string; hint?: string },
): HttpClientError {
  const detail = p.redact(p.detail);
  const message = p.redact(
    describeEndpointProblem({
      service: p.service,
      problem: p.problem,
      host: p.host,
      code: p.code,
      detail,
      hint: p.hint,
    }),
  );
  return new HttpClientError(
    Code.FailedPrecondition,
    message,
    { service: p.service, method: p.method, path: p.path, errorCode: p.code, attempts: p.attempts },
    { cause: new HttpTransportError(detail, p.code) },
  );
}

/** The per-attempt timeout fired. */
export function timeoutError(p: TransportErrorParams & { timeoutMs: number }): HttpClientError {
  return new HttpClientError(
    Code.DeadlineExceeded,
    p.redact(`${prefix(p.service, p.method, p.path)}: timed out after ${p.timeoutMs} ms`),
    { service: p.service, method: p.method, path: p.path, errorCode: 'ETIMEDOUT', attempts: p.attempts },
  );
}

/** The caller's signal aborted: Canceled, or DeadlineExceeded when the signal was a timeout signal. */
export function abortedError(p: TransportErrorParams & { reason?: unknown }): HttpClientError {
  const isTimeout = (p.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
  return new HttpClientError(
    isTimeout ? Code.DeadlineExceeded : Code.Canceled,
    p.redact(`${prefix(p.service, p.method, p.path)}: ${isTimeout ? 'deadline exceeded' : 'request aborted'}`),
    { service: p.service, method: p.method, path: p.path, errorCode: 'ABORTED', attempts: p.attempts },
  );
}
