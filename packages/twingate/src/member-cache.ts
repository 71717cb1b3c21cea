/**
 * The first page of each group's members, carried from the groups listing to the group's grants call.
 *
 * Why: the groups query fetches up to 100 members of every group in the same request, but a Baton host asks for a
 * group's grants in a later RPC (after every resource of every type is listed). Keeping those nested pages here
 * lets the grants call answer without a request for every group that has at most 100 members; only larger groups
 * page further (with the cursor the nested page returned).
 *
 * It is an optimisation only: page tokens never refer to it, and on a miss (process restarted, entry evicted or
 * expired, group changed by a grant/revoke here) the grants call reads the first page from the API instead, which
 * costs one request for that group and gives the same grants.
 *
 * Memory is bounded: at most `maxUserIds` member ids are held, each entry counting one more for itself so empty
 * groups are bounded too (oldest groups are evicted first), and each entry is dropped as soon as its grants call
 * consumes it.
 */
import type { MemberPage } from './client.js';

export interface MemberCacheOptions {
  /** Upper bound on member ids held across all groups (default 250,000: a few tens of MB at most). */
  maxUserIds?: number;
  /** Entries older than this are ignored (default 1 hour), for long-lived `serve` processes. */
  ttlMs?: number;
  now?: () => number;
}

interface Entry {
  page: MemberPage;
  storedAt: number;
}

export class MemberPageCache {
  private readonly entries = new Map<string, Entry>();
  private held = 0;
  private readonly maxUserIds: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  hits = 0;
  misses = 0;

  constructor(options: MemberCacheOptions = {}) {
    this.maxUserIds = options.maxUserIds ?? 250_000;
    this.ttlMs = options.ttlMs ?? 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
  }

  put(groupId: string, page: MemberPage): void {
    this.delete(groupId);
    const cost = page.userIds.length + 1;
    if (cost > this.maxUserIds) return;
    while (this.held + cost > this.maxUserIds) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    this.entries.set(groupId, { page, storedAt: this.now() });
    this.held += cost;
  }

  /** The cached first page, removed from the cache (each sync reads a group's grants once). */
  take(groupId: string): MemberPage | undefined {
    const entry = this.entries.get(groupId);
    this.delete(groupId);
    if (!entry || this.now() - entry.storedAt > this.ttlMs) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.page;
  }

  delete(groupId: string): void {
    const entry = this.entries.get(groupId);
    if (!entry) return;
    this.entries.delete(groupId);
    this.held -= entry.page.userIds.length + 1;
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Member ids held plus one per entry. */
  get heldUnits(): number {
    return this.held;
  }
}
