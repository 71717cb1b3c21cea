/**
 * Retry policy of the HTTP client: which failed attempts are retried, and how long to wait before the next one.
 *
 * Idempotency policy (a retried non-idempotent write can duplicate side effects, e.g. create a user twice):
 *
 * | failure                                   | 'idempotent' (GET/PUT/DELETE, or retryable: true) | 'unsafe' (POST/PATCH default) |
 * |-------------------------------------------|---------------------------------------------------|-------------------------------|
 * | 429                                       | retry                                             | retry                         |
 * | 503 with Retry-After                      | retry                                             | retry                         |
 * | 503 without Retry-After, 500, 502, 504    | retry                                             | no                            |
 * | connection error, nothing was sent        | retry                                             | retry                         |
 * | connection error after bytes were sent    | retry (reset, hang up, ...)                       | no                            |
 * | attempt timed out                         | retry                                             | no                            |
 * | 2xx with a malformed JSON body            | retry                                             | no                            |
 * | anything else (4xx, 501, ...)             | no                                                | no                            |
 *
 * Why 429 and 503-with-Retry-After are safe for writes: rate limiters and maintenance/overload responses reject
 * the request before it reaches the handler, and a Retry-After is the server explicitly asking for a retry. A bare
 * 502/503/504 often comes from a proxy that gave up after the backend received (and maybe applied) the request, a
 * 500 may come after a partial write, and a timeout or a reset after sending says nothing about whether the write
 * happened. `retryable: true` opts a POST into the idempotent column (GraphQL queries, search endpoints, writes
 * the API documents as idempotent); `retryable: false` disables retries entirely, even on 429.
 */

export interface RetryOptions {
  /** Total attempts including the first one (default 5). */
  maxAttempts?: number;
  /** Upper bound of any single wait, server-directed or backoff (default 60 000 ms). */
  maxWaitMs?: number;
  /** First backoff step; doubles on each retry, with jitter (default 500 ms). */
  baseDelayMs?: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  maxWaitMs: number;
  baseDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  maxWaitMs: 60_000,
  baseDelayMs: 500,
});

export function resolveRetryPolicy(options: RetryOptions | undefined): RetryPolicy {
  const pick = (value: number | undefined, fallback: number, min: number) =>
    value === undefined || !Number.isFinite(value) ? fallback : Math.max(min, value);
  return {
    maxAttempts: Math.floor(pick(options?.maxAttempts, DEFAULT_RETRY_POLICY.maxAttempts, 1)),
    maxWaitMs: pick(options?.maxWaitMs, DEFAULT_RETRY_POLICY.maxWaitMs, 0),
    baseDelayMs: pick(options?.baseDelayMs, DEFAULT_RETRY_POLICY.baseDelayMs, 0),
  };
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** 'idempotent': retry every transient failure; 'unsafe': only failures where the request surely had no effect. */
export type RetryMode = 'idempotent' | 'unsafe' | 'never';

export function isIdempotentMethod(method: string): boolean {
  const m = method.toUpperCase();
  return m === 'GET' || m === 'PUT' || m === 'DELETE' || m === 'HEAD' || m === 'OPTIONS';
}

export function retryModeFor(method: string, retryable: boolean | undefined): RetryMode {
  if (retryable === true) return 'idempotent';
  if (retryable === false) return 'never';
  return isIdempotentMethod(method) ? 'idempotent' : 'unsafe';
}

/** Transport error codes that are worth another attempt. */
export const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET', // includes "socket hang up"
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** Codes raised before a connection exists, so no byte of the request can have reached the server. */
export const PRE_CONNECT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
]);

export type AttemptFailure =
  | { kind: 'status'; status: number; hasRetryAfter: boolean }
  | { kind: 'network'; code?: string; nothingSent: boolean }
  | { kind: 'timeout' }
  | { kind: 'malformed-body' };

export function shouldRetry(failure: AttemptFailure, mode: RetryMode): boolean {
  if (mode === 'never') return false;
  const idempotent = mode === 'idempotent';
  switch (failure.kind) {
    case 'status': {
      const s = failure.status;
      if (s === 429) return true;
      if (s === 503) return idempotent || failure.hasRetryAfter;
      if (s === 500 || s === 502 || s === 504) return idempotent;
      return false;
    }
    case 'network':
      if (failure.code === undefined || !RETRYABLE_NETWORK_CODES.has(failure.code)) return false;
      return idempotent || failure.nothingSent;
    case 'timeout':
    case 'malformed-body':
      return idempotent;
  }
}

/**
 * Exponential backoff with "equal jitter": the n-th retry (1-based) waits between half and all of
 * base × 2^(n-1), capped at maxWaitMs. Half is kept fixed so a retry never fires immediately.
 */
export function backoffDelayMs(retryNumber: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = policy.baseDelayMs * 2 ** Math.max(0, retryNumber - 1);
  const capped = Math.min(exp, policy.maxWaitMs);
  return Math.round(capped / 2 + (random() * capped) / 2);
}

/** The delay before the next attempt: the server's hint when it gave one, else backoff; always capped. */
export function nextDelayMs(
  retryNumber: number,
  policy: RetryPolicy,
  serverDelayMs: number | undefined,
  random: () => number = Math.random,
): number {
  const raw = serverDelayMs !== undefined ? serverDelayMs : backoffDelayMs(retryNumber, policy, random);
  return Math.max(0, Math.min(raw, policy.maxWaitMs));
}

/** The default sleep: a timer that rejects with the signal's reason as soon as the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
