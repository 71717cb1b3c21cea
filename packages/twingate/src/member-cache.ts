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
 * Memory is bounded by the SDK's `ResponseCache`: at most `maxUserIds` member ids are held, each entry counting one
 * more for itself so empty groups are bounded too (oldest groups are evicted first), entries expire, and each entry
 * is dropped as soon as its grants call consumes it.
 */
import { ResponseCache } from '@baton-ts/shared/http';
import type { MemberPage } from './client.js';

export interface MemberCacheOptions {
  /** Upper bound on member ids held across all groups (default 250,000: a few tens of MB at most). */
  maxUserIds?: number;
  /** Entries older than this are ignored (default 1 hour), for long-lived `serve` processes. */
  ttlMs?: number;
  now?: () => number;
}

export class MemberPageCache {
  private readonly pages: ResponseCache<MemberPage>;
  hits = 0;
  misses = 0;

  constructor(options: MemberCacheOptions = {}) {
    this.pages = new ResponseCache<MemberPage>({
      maxWeight: options.maxUserIds ?? 250_000,
      ttlMs: options.ttlMs,
      now: options.now,
    });
  }

  put(groupId: string, page: MemberPage): void {
    this.pages.put(groupId, page, page.userIds.length + 1);
  }

  /** The cached first page, removed from the cache (each sync reads a group's grants once). */
  take(groupId: string): MemberPage | undefined {
    const page = this.pages.get(groupId);
    this.pages.delete(groupId);
    if (page === undefined) this.misses++;
    else this.hits++;
    return page;
  }

  delete(groupId: string): void {
    this.pages.delete(groupId);
  }

  clear(): void {
    this.pages.clear();
  }

  get size(): number {
    return this.pages.size;
  }

  /** Member ids held plus one per entry. */
  get heldUnits(): number {
    return this.pages.weight;
  }
}
