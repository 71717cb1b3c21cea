/**
 * SCIM error responses (RFC 7644 §3.12) -> ConnectorError with a gRPC code and the server's own `detail`.
 *
 * The body is parsed tolerantly: `status` may be a JSON string (as the RFC says) or a number (as many servers send),
 * `scimType` and `detail` are optional, and the body may not be SCIM at all (a proxy's HTML page, `{"message": ...}`,
 * plain text), in which case its text is the detail.
 */
import { Code, ConnectorError } from '../sdk/errors.js';
import type { RateLimitInfo } from '../sdk/rate-limit.js';
import { bodyExcerpt, codeForHttpStatus, type Redactor } from '../http/errors.js';

/** What an error body says, whatever shape it came in. */
export interface ScimErrorBody {
  /** `status` from the body (string or number), when it is a number. */
  status?: number;
  scimType?: string;
  /**
   * `detail`, else the message of a non-SCIM JSON error or the text with markup stripped: a short excerpt, with
   * `redact` applied before it is cut (so half a secret cannot survive).
   */
  detail?: string;
}

/** Reads an error body: parsed JSON (any shape), text, or nothing. */
export function parseScimErrorBody(body: unknown, redact: Redactor = (text) => text): ScimErrorBody {
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object') return { detail: bodyExcerpt(String(body), redact) || undefined };
  const o = body as Record<string, unknown>;
  const out: ScimErrorBody = {};
  const status = typeof o.status === 'number' ? o.status : typeof o.status === 'string' ? Number(o.status) : NaN;
  if (Number.isInteger(status) && status >= 100 && status <= 599) out.status = status;
  if (typeof o.scimType === 'string' && o.scimType.trim()) out.scimType = o.scimType.trim();
  // The SCIM `detail` first; any other JSON error is summarised by the HTTP client's excerpt rules.
  const detail = bodyExcerpt(JSON.stringify(typeof o.detail === 'string' ? o.detail : body), redact);
  if (detail && detail !== '{}') out.detail = detail;
  return out;
}

/**
 * HTTP status and scimType -> gRPC code: the HTTP client's mapping (400 InvalidArgument, 401 Unauthenticated,
 * 403 PermissionDenied, 404 NotFound, 409 AlreadyExists, 429 and 5xx Unavailable, 501 Unimplemented, ...), refined
 * where SCIM says more:
 * - 400 `noTarget` (the path matched nothing) is NotFound, `mutability` (the attribute cannot be changed)
 *   FailedPrecondition, `tooMany` (the query is too broad) ResourceExhausted;
 * - 405 (no such operation here) is Unimplemented, 412 (ETag mismatch: a concurrent change) Aborted, 413 (payload
 *   too large) ResourceExhausted.
 */
export function codeForScimError(status: number | undefined, scimType?: string): Code {
  if (status === undefined) return Code.Unknown;
  if (status === 400 || status === 422) {
    if (scimType === 'noTarget') return Code.NotFound;
    if (scimType === 'mutability') return Code.FailedPrecondition;
    if (scimType === 'tooMany') return Code.ResourceExhausted;
  }
  if (status === 405) return Code.Unimplemented;
  if (status === 412) return Code.Aborted;
  if (status === 413) return Code.ResourceExhausted;
  return codeForHttpStatus(status);
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
