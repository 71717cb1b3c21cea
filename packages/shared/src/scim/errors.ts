/**
 * SCIM error responses (RFC 7644 §3.12) -> ConnectorError with a gRPC code and the server's own `detail`.
 *
 * The body is parsed tolerantly: `status` may be a JSON string (as the RFC says) or a number (as many servers send),
 * `scimType` and `detail` are optional, and the body may not be SCIM at all (a proxy's HTML page, `{"message": ...}`,
 * plain text), in which case its text is the detail.
 */
import { Code, ConnectorError } from '../sdk/errors.js';
import type { RateLimitInfo } from '../sdk/rate-limit.js';

/** What an error body says, whatever shape it came in. */
export interface ScimErrorBody {
  /** `status` from the body (string or number), when it is a number. */
  status?: number;
  scimType?: string;
  /** `detail`, or the message of a non-SCIM JSON error, or the body text with markup stripped. */
  detail?: string;
}

const MAX_DETAIL = 300;

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= MAX_DETAIL ? flat : `${flat.slice(0, MAX_DETAIL - 1)}…`;
}

function messageOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (Array.isArray(value)) {
    const parts = value.map(messageOf).filter((v): v is string => v !== undefined);
    return parts.length ? parts.join('; ') : undefined;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const key of ['detail', 'message', 'error_description', 'error', 'errors', 'title']) {
      const found = messageOf(o[key]);
      if (found) return found;
    }
  }
  return undefined;
}

/** Reads an error body: parsed JSON (any shape), text, or nothing. */
export function parseScimErrorBody(body: unknown): ScimErrorBody {
  if (body === undefined || body === null || body === '') return {};
  if (typeof body === 'string') {
    const text = /^\s*</.test(body)
      ? body.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ')
      : body;
    return text.trim() ? { detail: clip(text) } : {};
  }
  if (typeof body !== 'object') return { detail: clip(String(body)) };
  const o = body as Record<string, unknown>;
  const out: ScimErrorBody = {};
  const status = typeof o.status === 'number' ? o.status : typeof o.status === 'string' ? Number(o.status) : NaN;
  if (Number.isInteger(status) && status >= 100 && status <= 599) out.status = status;
  if (typeof o.scimType === 'string' && o.scimType.trim()) out.scimType = o.scimType.trim();
  const detail = messageOf(o);
  if (detail) out.detail = clip(detail);
  else if (Object.keys(o).length > 0 && !Array.isArray(o.schemas)) out.detail = clip(JSON.stringify(o));
  return out;
}

/**
 * HTTP status and scimType -> gRPC code.
 * - 400 is InvalidArgument, except `noTarget` (the path matched nothing: NotFound), `mutability` (the attribute
 *   cannot be changed: FailedPrecondition) and `tooMany` (the query is too broad: ResourceExhausted).
 * - 409 `uniqueness` is AlreadyExists; 412 (ETag mismatch) is Aborted, a concurrent change; 413 ResourceExhausted.
 * - 404 NotFound, 401 Unauthenticated, 403 PermissionDenied, 405/501 Unimplemented, 429/5xx Unavailable.
 */
export function codeForScimError(status: number | undefined, scimType?: string): Code {
  switch (status) {
    case 400:
    case 422:
      if (scimType === 'noTarget') return Code.NotFound;
      if (scimType === 'mutability') return Code.FailedPrecondition;
      if (scimType === 'tooMany') return Code.ResourceExhausted;
      return Code.InvalidArgument;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.NotFound;
    case 405:
    case 501:
      return Code.Unimplemented;
    case 408:
      return Code.DeadlineExceeded;
    case 409:
      return Code.AlreadyExists;
    case 412:
      return Code.Aborted;
    case 413:
      return Code.ResourceExhausted;
    case 429:
      return Code.Unavailable;
  }
  if (status !== undefined && status >= 500 && status <= 599) return Code.Unavailable;
  return Code.Unknown;
}

export interface ScimErrorDetails {
  method: string;
  /** The request path relative to the SCIM base URL, query values redacted where they look secret. */
  path: string;
  status?: number;
  scimType?: string;
  detail?: string;
  /** Transport error code (ENOTFOUND, ECONNREFUSED, ...) when no response arrived. */
  errorCode?: string;
}

/** A failed SCIM request. `instanceof ConnectorError` holds; the message never contains the token. */
export class ScimError extends ConnectorError {
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  readonly scimType?: string;
  readonly detail?: string;
  readonly errorCode?: string;

  constructor(
    code: Code,
    message: string,
    details: ScimErrorDetails,
    options: { cause?: unknown; rateLimit?: RateLimitInfo } = {},
  ) {
    super(code, message, options);
    this.name = 'ConnectorError';
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.scimType = details.scimType;
    this.detail = details.detail;
    this.errorCode = details.errorCode;
  }

  /** The same failure with a message that says what to do about it (code and details kept). */
  withAdvice(code: Code, advice: string): ScimError {
    return new ScimError(
      code,
      `${advice} [${this.message}]`,
      {
        method: this.method,
        path: this.path,
        status: this.status,
        scimType: this.scimType,
        detail: this.detail,
        errorCode: this.errorCode,
      },
      { cause: this, rateLimit: this.rateLimit },
    );
  }
}
