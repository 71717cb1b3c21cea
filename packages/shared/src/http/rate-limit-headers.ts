/**
 * Rate-limit response headers -> RateLimitInfo, following the Go SDK's `ExtractRateLimitData` (docs/protocol.md, "Errors and rate limits").
 *
 * Header families read, first one present wins:
 *   limit:     X-Ratelimit-Limit, Ratelimit-Limit, X-RateLimit-Requests-Limit
 *   remaining: X-Ratelimit-Remaining, Ratelimit-Remaining, X-RateLimit-Requests-Remaining
 *   reset:     Retry-After, then X-Ratelimit-Reset, Ratelimit-Reset, X-RateLimit-Requests-Reset
 *
 * Retry-After is read before the window reset headers: it is the server's answer for this very request, while a
 * window reset can be far away (hourly windows) even when the server wants a retry in a second.
 *
 * A numeric reset is seconds from now, unless it is larger than 30 years in seconds (then epoch seconds) or 1000×
 * that (then epoch milliseconds). Dates are accepted as IMF-fixdate (RFC 7231 HTTP-date), RFC 850, asctime and
 * RFC 3339.
 */
import type { RateLimitInfo } from '../sdk/rate-limit.js';

/** Response or request headers in any of the shapes Node, axios or tests produce. Names are case-insensitive. */
export type HeaderBag = Record<string, string | string[] | number | null | undefined>;

export const THIRTY_YEARS_SECONDS = 30 * 365 * 24 * 60 * 60;
/** The Go SDK's reset for a 429 that carries no usable reset information. */
export const DEFAULT_OVERLIMIT_RESET_MS = 60_000;

export const LIMIT_HEADERS = ['x-ratelimit-limit', 'ratelimit-limit', 'x-ratelimit-requests-limit'] as const;
export const REMAINING_HEADERS = [
  'x-ratelimit-remaining',
  'ratelimit-remaining',
  'x-ratelimit-requests-remaining',
] as const;
export const RESET_HEADERS = ['x-ratelimit-reset', 'ratelimit-reset', 'x-ratelimit-requests-reset'] as const;

/** Case-insensitive header lookup; multi-valued headers yield their first value. */
export function getHeader(headers: HeaderBag | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, raw] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || raw === undefined || raw === null) continue;
    const value = Array.isArray(raw) ? raw[0] : String(raw);
    if (value === undefined) continue;
    const trimmed = value.trim();
    if (trimmed !== '') return trimmed;
  }
  return undefined;
}

const NUMERIC = /^\d+(?:\.\d+)?$/;
// Only hand strings that look like one of the accepted date formats to Date.parse: V8's legacy parser is lenient
// enough to turn "foo 2" into a date in 2001.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})$/;
const HTTP_DATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+(?:\d{1,2}[\s-][A-Za-z]{3}[\s-]\d{2,4}|[A-Za-z]{3}\s+\d{1,2})\s+\d{2}:\d{2}:\d{2}(?:\s+(?:GMT|UTC|\d{4}))?(?:\s+\d{4})?$/i;

/**
 * A reset header value -> epoch milliseconds, or undefined when it is not understood.
 * Numbers: seconds from now (fractions allowed), epoch seconds (> 30 years), epoch milliseconds (> 30 000 years).
 */
export function parseResetTime(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (NUMERIC.test(v)) {
    const n = Number(v);
    if (!Number.isFinite(n)) return undefined;
    if (n > THIRTY_YEARS_SECONDS * 1000) return Math.round(n);
    if (n > THIRTY_YEARS_SECONDS) return Math.round(n * 1000);
    return nowMs + Math.round(n * 1000);
  }
  if (RFC3339.test(v) || HTTP_DATE.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/**
 * `Retry-After` (delta seconds or a date; epoch numbers tolerated by the same rule as reset headers) -> delay in
 * milliseconds from now, never negative. Undefined when absent or not understood.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  const at = parseResetTime(value, nowMs);
  return at === undefined ? undefined : Math.max(0, at - nowMs);
}

/** Leading non-negative integer ("100" and IETF-draft "100, 100;w=60" both give 100). */
function parseCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

function first<T>(headers: HeaderBag, names: readonly string[], parse: (v: string | undefined) => T | undefined) {
  for (const name of names) {
    const parsed = parse(getHeader(headers, name));
    if (parsed !== undefined) return parsed;
  }
  return undefined;
}

export interface ParseRateLimitOptions {
  /** The response status: 429 (and 503 with Retry-After) mark the result overlimit. */
  status?: number;
  nowMs?: number;
}

/**
 * Rate-limit headers -> RateLimitInfo.
 *
 * - 429, and 503 carrying Retry-After (the server explicitly said "come back later"), give status 'overlimit' with
 *   remaining 0. A missing limit becomes 1 and a missing reset becomes now + 60 s (the Go SDK does this only when no
 *   headers at all are present; filling each missing field separately keeps the description usable by every host:
 *   v0.2.x divides by limit, HEAD waits until reset_at).
 * - Any other status gives 'ok' with whatever the headers say, or undefined when none of them is present.
 */
export function parseRateLimitHeaders(
  headers: HeaderBag | undefined,
  options: ParseRateLimitOptions = {},
): RateLimitInfo | undefined {
  const nowMs = options.nowMs ?? Date.now();
  const bag = headers ?? {};
  const limit = first(bag, LIMIT_HEADERS, parseCount);
  const remaining = first(bag, REMAINING_HEADERS, parseCount);
  const retryAfterAt = parseResetTime(getHeader(bag, 'retry-after'), nowMs);
  const resetAtMs = retryAfterAt ?? first(bag, RESET_HEADERS, (v) => parseResetTime(v, nowMs));

  const overlimit = options.status === 429 || (options.status === 503 && retryAfterAt !== undefined);
  if (overlimit) {
    return {
      status: 'overlimit',
      limit: limit !== undefined && limit > 0 ? limit : 1,
      remaining: 0,
      resetAtMs: resetAtMs ?? nowMs + DEFAULT_OVERLIMIT_RESET_MS,
    };
  }
  if (limit === undefined && remaining === undefined && resetAtMs === undefined) return undefined;
  const info: RateLimitInfo = { status: 'ok' };
  if (limit !== undefined) info.limit = limit;
  if (remaining !== undefined) info.remaining = remaining;
  if (resetAtMs !== undefined) info.resetAtMs = resetAtMs;
  return info;
}

/**
 * How long the server asked us to wait before the next attempt, in ms from now, or undefined if it gave no hint:
 * Retry-After always counts; a window reset header counts on 429 or when the window is exhausted (remaining 0),
 * since otherwise it says nothing about this failure.
 */
export function serverRetryDelayMs(
  headers: HeaderBag | undefined,
  status: number,
  nowMs: number = Date.now(),
): number | undefined {
  const bag = headers ?? {};
  const retryAfter = parseRetryAfterMs(getHeader(bag, 'retry-after'), nowMs);
  if (retryAfter !== undefined) return retryAfter;
  const remaining = first(bag, REMAINING_HEADERS, parseCount);
  if (status !== 429 && remaining !== 0) return undefined;
  const reset = first(bag, RESET_HEADERS, (v) => parseResetTime(v, nowMs));
  return reset === undefined ? undefined : Math.max(0, reset - nowMs);
}
