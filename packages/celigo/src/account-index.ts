/**
 * What the users listing learned that later phases of the same sync need, so they need no request of their own:
 *
 * - every user's account-wide access level, for the role grants. Without it each of the three roles would read all
 *   of `/v1/ashares` again (the API cannot filter by level), as the Go connector does. It is a `ListingIndex`: used
 *   only when it holds a complete listing of the same sync; otherwise the role grants fall back to reading the users.
 * - every access level the API reported (account-wide and per integration), so each integration declares an
 *   entitlement for every level its users can hold before any grant refers to it (see resources/integration.ts).
 */
import { ListingIndex } from '@baton-ts/shared';
import type { Ashare } from './client.js';

/** Levels every integration declares: the two per-integration levels, and the administrators' full access. */
export const INTEGRATION_LEVELS = ['manage', 'monitor', 'administrator'] as const;

export class AccountIndex {
  /** share id -> account-wide access level ('' for integration-only users). */
  private readonly levels: ListingIndex<string>;
  /** Levels seen beyond INTEGRATION_LEVELS since the last listing began, e.g. a level Celigo added later. */
  private readonly extraLevels = new Set<string>();

  constructor(options: { maxUsers?: number } = {}) {
    this.levels = new ListingIndex<string>({ maxEntries: options.maxUsers });
  }

  /** Called by the user syncer for every page it lists; `from`/`next` identify page positions (see ListingIndex). */
  recordUsers(page: { from: string | undefined; next: string | undefined; shares: Ashare[]; syncId?: string }): void {
    if (page.from === undefined) this.extraLevels.clear();
    for (const share of page.shares) {
      this.noteLevel(share.accessLevel);
      for (const entry of share.integrationAccessLevel ?? []) this.noteLevel(entry?.accessLevel);
    }
    this.levels.record({
      from: page.from,
      next: page.next,
      entries: page.shares.map((s) => [s._id, typeof s.accessLevel === 'string' ? s.accessLevel : ''] as const),
      syncId: page.syncId,
    });
  }

  /**
   * Ids of the users whose account-wide level is `level`, in listing order; undefined when the index cannot be
   * trusted for sync `syncId` (the caller then reads the users from the API).
   */
  usersWithLevel(level: string, syncId: string | undefined): readonly string[] | undefined {
    return this.levels.keysWithValue(level, syncId);
  }

  /** Levels an integration declares entitlements for: the three known ones, then any other level seen, sorted. */
  integrationLevels(): string[] {
    return [...INTEGRATION_LEVELS, ...[...this.extraLevels].sort()];
  }

  /** A user's level changed through this connector: the recorded levels no longer describe Celigo. */
  invalidate(): void {
    this.levels.invalidate();
  }

  clear(): void {
    this.levels.clear();
    this.extraLevels.clear();
  }

  /** True when a complete users listing is held (for any sync). */
  get complete(): boolean {
    return this.levels.complete;
  }

  private noteLevel(level: unknown): void {
    if (typeof level !== 'string' || level === '') return;
    if ((INTEGRATION_LEVELS as readonly string[]).includes(level)) return;
    this.extraLevels.add(level);
  }
}
