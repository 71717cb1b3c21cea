import { RateLimiter, type RateLimitDecision } from './rate-limit.js';
import { systemClock, type Clock } from './types.js';

/** A bucket: `burst` requests may arrive at once; the bucket drains `perSecond` requests every second. */
export interface BucketLimit {
  burst: number;
  perSecond: number;
}

export interface LeakyBucketOptions {
  /** Limits per rate-limit class; a class without one (or with a non-positive burst or rate) is unlimited. */
  buckets?: Record<string, BucketLimit>;
  clock?: Clock;
}

interface Level {
  level: number;
  at: number;
}

/**
 * A leaky-bucket rate limiter per (identity, class), for APIs that document their limit that way (e.g. "a bucket of
 * 1000 requests that drains 300 per second"), unlike the fixed windows of `RateLimiter`. A refused request does not
 * fill the bucket; its Retry-After is the whole seconds until one request fits again (at least 1). Drop-in for a
 * `SimulatorServer`'s `rateLimiter`.
 */
export class LeakyBucketRateLimiter extends RateLimiter {
  private buckets: Record<string, BucketLimit>;
  private readonly levels = new Map<string, Level>();
  private readonly now: Clock;

  constructor(options: LeakyBucketOptions = {}) {
    super({ clock: options.clock });
    this.buckets = { ...(options.buckets ?? {}) };
    this.now = options.clock ?? systemClock;
  }

  /** Replaces the bucket of the given classes; `undefined` makes a class unlimited. Levels are kept. */
  setBuckets(buckets: Record<string, BucketLimit | undefined>): void {
    for (const [cls, bucket] of Object.entries(buckets)) {
      if (bucket === undefined) delete this.buckets[cls];
      else this.buckets[cls] = bucket;
    }
  }

  getBuckets(): Record<string, BucketLimit> {
    return { ...this.buckets };
  }

  override reset(): void {
    this.levels.clear();
  }

  override take(identity: string, cls: string): RateLimitDecision {
    const now = this.now();
    const bucket = this.buckets[cls];
    if (!bucket || !(bucket.burst > 0) || !(bucket.perSecond > 0)) {
      return { allowed: true, limited: false, limit: Infinity, remaining: Infinity, resetAtMs: now };
    }
    const key = `${identity}\u0000${cls}`;
    const previous = this.levels.get(key);
    const drained = previous ? Math.max(0, previous.level - ((now - previous.at) / 1000) * bucket.perSecond) : 0;
    const emptyAt = (level: number) => now + Math.ceil((level / bucket.perSecond) * 1000);
    if (drained + 1 > bucket.burst) {
      this.levels.set(key, { level: drained, at: now });
      const waitSeconds = (drained + 1 - bucket.burst) / bucket.perSecond;
      return {
        allowed: false,
        limited: true,
        limit: bucket.burst,
        remaining: 0,
        resetAtMs: emptyAt(drained),
        retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)),
      };
    }
    const level = drained + 1;
    this.levels.set(key, { level, at: now });
    return {
      allowed: true,
      limited: true,
      limit: bucket.burst,
      remaining: Math.floor(bucket.burst - level),
      resetAtMs: emptyAt(level),
    };
  }
}
