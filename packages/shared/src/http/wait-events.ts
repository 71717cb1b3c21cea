/**
 * Waits of the HTTP client (a 429's Retry-After, backoff before a retry) as events, so whoever runs the connector
 * can show them while they happen: the CLI runner forwards them to the one-shot parent, which draws a countdown
 * ("rate limited by Twingate: resuming in 18 s") and logs them at a steady pace. Process-wide, like the secret
 * registry: a plugin process runs one connector.
 */

export interface HttpWaitEvent {
  /** The client's `service` option, e.g. "twingate". */
  service: string;
  method: string;
  /** Path for display (secret query values redacted). */
  path: string;
  /** 'rate-limit': a 429 or a Retry-After asked us to wait; 'retry': backoff after a transient failure. */
  reason: 'rate-limit' | 'retry';
  /** HTTP status that caused the wait, when a response arrived. */
  status?: number;
  /** Transport error code (ECONNRESET, ...) when no response arrived. */
  errorCode?: string;
  waitMs: number;
  /** Epoch ms when the wait started. */
  startedAt: number;
  /** The attempt that failed (1-based). */
  attempt: number;
}

export interface HttpWaitListener {
  waitStarted(event: HttpWaitEvent): void;
  /** The wait ended (time elapsed, or the request was aborted). */
  waitEnded(event: HttpWaitEvent): void;
}

const listeners = new Set<HttpWaitListener>();

/** Receive every wait of every HTTP client in this process; returns the unsubscribe function. */
export function observeHttpWaits(listener: HttpWaitListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function notifyWaitStarted(event: HttpWaitEvent): void {
  for (const l of listeners) {
    try {
      l.waitStarted(event);
    } catch {
      // An observer must never break a request.
    }
  }
}

export function notifyWaitEnded(event: HttpWaitEvent): void {
  for (const l of listeners) {
    try {
      l.waitEnded(event);
    } catch {
      // An observer must never break a request.
    }
  }
}
