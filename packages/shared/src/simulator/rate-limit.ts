import { systemClock, type Clock } from './types.js';

/** Requests allowed per window for each class; 0, Infinity or a missing class mean "unlimited". */
export type RateLimits = Record<string, number>;

export interface RateLimiterOptions {
  limits?: RateLimits;
  /** Window length; SaaS APIs typically count per minute. */
  windowMs?: number;
  clock?: Clock;
}

export type RateLimitDecision =
  | { allowed: true; limited: boolean; limit: number; remaining: number; resetAtMs: number }
  | { allowed: false; limited: true; limit: number; remaining: 0; resetAtMs: number; retryAfterSeconds: number };

interface Window {
  startMs: number;
  count: number;
}

/**
 * Fixed-window counters per (identity, class). Windows are aligned to multiples of `windowMs` on the clock, so
 * with an injected clock a test knows exactly when a window resets. Refused requests do not consume quota.
 */
export class RateLimiter {
  private limits: RateLimits;
  private readonly windowMs: number;
  private readonly clock: Clock;
  private readonly windows = new Map<string, Window>();

  constructor(options: RateLimiterOptions = {}) {
    this.limits = { ...(options.limits ?? {}) };
    this.windowMs = options.windowMs ?? 60_000;
    this.clock = options.clock ?? systemClock;
    if (!(this.windowMs > 0)) throw new RangeError('rate limit windowMs must be positive');
  }

  /** Changes limits at run time; a class set to undefined becomes unlimited. Counters are kept. */
  setLimits(limits: Record<string, number | undefined>): void {
    for (const [cls, limit] of Object.entries(limits)) {
      if (limit === undefined) delete this.limits[cls];
      else this.limits[cls] = limit;
    }
  }

  getLimits(): RateLimits {
    return { ...this.limits };
  }

  /** Forgets every counter (e.g. between test cases). */
  reset(): void {
    this.windows.clear();
  }

  /** Decides and, when allowed, counts the request. */
  take(identity: string, cls: string): RateLimitDecision {
    const now = this.clock();
    const startMs = Math.floor(now / this.windowMs) * this.windowMs;
    const resetAtMs = startMs + this.windowMs;
    const limit = this.limits[cls];
    if (limit === undefined || limit <= 0 || !Number.isFinite(limit)) {
      return { allowed: true, limited: false, limit: Infinity, remaining: Infinity, resetAtMs };
    }
    const key = `${identity}\u0000${cls}`;
    let window = this.windows.get(key);
    if (!window || window.startMs !== startMs) {
      window = { startMs, count: 0 };
      this.windows.set(key, window);
    }
    if (window.count >= limit) {
      // Round up and never say 0: a client that sleeps "0 s" would hammer the server until the window turns.
      const retryAfterSeconds = Math.max(1, Math.ceil((resetAtMs - now) / 1000));
      return { allowed: false, limited: true, limit, remaining: 0, resetAtMs, retryAfterSeconds };
    }
    window.count++;
    return { allowed: true, limited: true, limit, remaining: limit - window.count, resetAtMs };
  }
}
