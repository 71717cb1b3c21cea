/**
 * Every user's role, recorded while the users listing runs, so the role grants need no request of their own.
 *
 * Why: the users listing (resources phase) already returns each user's `role`, and a Baton host lists every
 * resource of every type before it asks for any grants. Without this index each role's grants would read the users
 * again through `users(filter: {role: {in: [ROLE]}})` (about ⌈U/100⌉ + 4 requests for the five roles).
 *
 * It is an optimisation only, so it is trusted only when it certainly holds every user:
 * - complete: a listing that started from the first page (no page state) reached the last page, each page
 *   continuing from the cursor where the previous one ended. A page out of that order (a retried or concurrent
 *   listing) abandons it, and a new first-page listing starts it afresh;
 * - same sync: the index remembers the host's sync id (`CallContext.syncId`, when the host sends one) and answers
 *   nothing for another sync id, so a host that asks for grants without listing users first never gets stale data;
 * - bounded: above `maxUsers` recorded users it stops recording and stays unusable until the next listing;
 * - unchanged: a role changed through this connector (provisioning) abandons it, as the next sync relists anyway.
 * Whenever it is not usable, the role syncer falls back to the filtered users query, which gives the same grants.
 */

export interface RoleIndexOptions {
  /** Upper bound on users recorded (default 250,000: two short strings each, a few tens of MB at most). */
  maxUsers?: number;
}

/** One page of the users listing, as the user syncer saw it. */
export interface ListedUsersPage {
  /** The cursor this page was read after; undefined for the first page. */
  after: string | undefined;
  /** The cursor the next page will be read after; undefined when this was the last page. */
  next: string | undefined;
  users: ReadonlyArray<{ id: string; role: string }>;
  /** `CallContext.syncId` of the listing call. */
  syncId: string | undefined;
}

type IndexState = 'empty' | 'recording' | 'complete' | 'unusable';

export class UserRoleIndex {
  private readonly maxUsers: number;
  private state: IndexState = 'empty';
  private syncId: string | undefined;
  /** The cursor the next page of the current listing must be read after. */
  private expectedAfter: string | undefined;
  /** userId → role, in listing order (a user seen twice keeps its first position and its latest role). */
  private readonly roleOfUser = new Map<string, string>();
  /** role → user ids in listing order, built once the listing is complete. */
  private usersByRole: Map<string, string[]> | undefined;

  constructor(options: RoleIndexOptions = {}) {
    this.maxUsers = options.maxUsers ?? 250_000;
  }

  /** Called by the user syncer for every page it lists. */
  recordListedPage(page: ListedUsersPage): void {
    if (page.after === undefined) {
      // A first-page listing starts a new index, whatever came before.
      this.reset();
      this.state = 'recording';
      this.syncId = page.syncId;
    } else if (this.state !== 'recording' || page.after !== this.expectedAfter || page.syncId !== this.syncId) {
      // Not the continuation of the listing being recorded: whatever is recorded may miss users.
      if (this.state === 'recording' || this.state === 'complete') this.abandon();
      return;
    }
    for (const user of page.users) this.roleOfUser.set(user.id, user.role);
    if (this.roleOfUser.size > this.maxUsers) {
      this.abandon();
      return;
    }
    if (page.next === undefined) {
      this.state = 'complete';
    } else {
      this.expectedAfter = page.next;
    }
  }

  /**
   * Ids of the users holding `role` in listing order, or undefined when the index cannot be trusted for the sync
   * `syncId` (not complete, abandoned, or recorded for another sync): the caller then asks the API.
   */
  usersWithRole(role: string, syncId: string | undefined): readonly string[] | undefined {
    if (this.state !== 'complete' || syncId !== this.syncId) return undefined;
    if (!this.usersByRole) {
      this.usersByRole = new Map();
      for (const [userId, userRole] of this.roleOfUser) {
        let ids = this.usersByRole.get(userRole);
        if (!ids) this.usersByRole.set(userRole, (ids = []));
        ids.push(userId);
      }
    }
    return this.usersByRole.get(role) ?? [];
  }

  /** A role changed (provisioning): the index no longer describes Twingate, so it is dropped until the next listing. */
  invalidate(): void {
    if (this.state !== 'empty') this.abandon();
  }

  /** Frees the memory (connector cleanup). */
  clear(): void {
    this.reset();
  }

  /** True when a complete listing is recorded (for any sync id). */
  get complete(): boolean {
    return this.state === 'complete';
  }

  /** Users recorded (0 once abandoned or cleared). */
  get size(): number {
    return this.roleOfUser.size;
  }

  private abandon(): void {
    this.reset();
    this.state = 'unusable';
  }

  private reset(): void {
    this.state = 'empty';
    this.syncId = undefined;
    this.expectedAfter = undefined;
    this.roleOfUser.clear();
    this.usersByRole = undefined;
  }
}
