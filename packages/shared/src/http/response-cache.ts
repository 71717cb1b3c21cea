/**
 * A bounded in-memory cache of API responses, for data a connector reads in one RPC and needs again in a later one
 * of the same sync (a Baton host lists every resource before it asks for any grant, so a listing that already
 * returned the grants' data would otherwise be read twice).
 *
 * It is an optimisation only: page tokens never refer to it, and a miss (another process, an evicted or expired
 * entry) simply reads the API again. Two ways in:
 * - `fresh` always reads the API and stores the answer: for the call that starts a listing, so every sync sees
 *   current data even when a long-lived process (`serve`) keeps the cache between syncs;
 * - `readThrough` answers from the cache when it can: for the later calls that consume what the listing read.
 * Concurrent `readThrough` calls for one key share one API read.
 *
 * Memory is bounded by a weight (callers weigh an entry by its item count, plus one), oldest entries evicted first,
 * and entries expire after `ttlMs`.
 */

export interface ResponseCacheOptions {
  /** Upper bound of the summed weights (default 500,000: a few tens of MB of small records at most). */
  maxWeight?: number;
  /** Entries older than this are not used (default 1 hour). */
  ttlMs?: number;
  now?: () => number;
}

interface Entry<V> {
  value: V;
  weight: number;
  storedAt: number;
}

export class ResponseCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<V>>();
  private readonly maxWeight: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private held = 0;
  /** Answers that needed no load of their own (cached, or shared with a load in flight). */
  hits = 0;
  /** Loads started. */
  misses = 0;

  constructor(options: ResponseCacheOptions = {}) {
    this.maxWeight = options.maxWeight ?? 500_000;
    this.ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  /** Reads with `load` and stores the result, whatever is cached. */
  async fresh(key: string, load: () => Promise<V>, weight: (value: V) => number): Promise<V> {
    this.misses++;
    const value = await load();
    this.put(key, value, weight(value));
    return value;
  }

  /** The cached value when present and not expired, else `load` (shared by concurrent callers), stored. */
  async readThrough(key: string, load: () => Promise<V>, weight: (value: V) => number): Promise<V> {
    const cached = this.get(key);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    const inFlight = this.loading.get(key);
    if (inFlight) {
      this.hits++;
      return inFlight;
    }
    this.misses++;
    const promise = load()
      .then((value) => {
        this.put(key, value, weight(value));
        return value;
      })
      .finally(() => this.loading.delete(key));
    this.loading.set(key, promise);
    return promise;
  }

  /** The cached value, if present and not expired. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.storedAt > this.ttlMs) {
      this.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores `value` as the newest entry; `storedAt` (default now) is when it was read, which its expiry counts from. */
  put(key: string, value: V, weight: number, storedAt: number = this.now()): void {
    this.delete(key);
    const cost = Math.max(1, Math.ceil(weight));
    if (cost > this.maxWeight) return;
    while (this.held + cost > this.maxWeight) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    this.entries.set(key, { value, weight: cost, storedAt });
    this.held += cost;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.held -= entry.weight;
  }

  /** Drops every entry whose key satisfies `predicate` (e.g. the pages of something just changed). */
  deleteWhere(predicate: (key: string) => boolean): void {
    for (const key of [...this.entries.keys()]) if (predicate(key)) this.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Summed weight of the entries held. */
  get weight(): number {
    return this.held;
  }
}
