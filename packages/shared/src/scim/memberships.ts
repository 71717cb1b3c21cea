/**
 * Where a group's members come from, cheapest first (docs/apis/scim.md, "Memberships"):
 *
 * 1. the groups listing: groups are listed with their `members`, so most groups' grants cost no request at all
 *    (kept here, bounded, until the group's last grants page is served);
 * 2. `GET /Groups/{id}` for a group whose members were not at hand (left out of the listing, evicted, or a new
 *    process);
 * 3. the users' `groups` attribute, when the group resource carries no `members` key at all: some servers leave
 *    members out of groups. The users listing of the same sync records every user's groups for this (an index that
 *    is trusted only when complete: a listing from the first page to the last, in order, for the same sync id);
 *    without it the users are listed once more, with `attributes=groups`. Once a group without `members` is shown by
 *    the index to have members, the server is known to omit them and the GETs stop for the rest of the sync.
 *
 * Members of type `Group` (nested groups) are skipped: the entitlement is held by users only. Duplicate member ids
 * are dropped. Members that are not among the listed users are kept; the host decides what to do with them.
 */
import type { CallContext } from '../sdk/connector.js';
import type { Logger } from '../log/logger.js';
import type { ScimClient } from './client.js';
import type { ScimPageState } from './paging.js';
import type { ScimGroup, ScimMultiValue, ScimUser } from './types.js';

/** Member user ids of a `members` list, in order, without duplicates and without nested groups. */
export function memberUserIds(members: readonly ScimMultiValue[] | undefined): { userIds: string[]; groups: number } {
  const seen = new Set<string>();
  let groups = 0;
  for (const member of members ?? []) {
    const id = typeof member?.value === 'string' ? member.value.trim() : '';
    if (!id) continue;
    if (typeof member.type === 'string' && member.type.toLowerCase() === 'group') {
      groups++;
      continue;
    }
    seen.add(id);
  }
  return { userIds: [...seen], groups };
}

/** Direct group ids of a user's `groups` (entries typed `indirect` come from nesting and are not memberships). */
function directGroupIds(groups: readonly ScimMultiValue[]): string[] {
  return groups
    .filter((g) => typeof g?.value === 'string' && g.value && String(g.type ?? '').toLowerCase() !== 'indirect')
    .map((g) => g.value as string);
}

/** Group id -> member user ids, bounded by the number of ids held; oldest groups are dropped first. */
class MemberIdCache {
  private readonly byGroup = new Map<string, string[]>();
  private held = 0;

  constructor(private readonly maxIds: number) {}

  set(groupId: string, userIds: string[]): void {
    this.delete(groupId);
    const cost = userIds.length + 1;
    if (cost > this.maxIds) return;
    for (const oldest of this.byGroup.keys()) {
      if (this.held + cost <= this.maxIds) break;
      this.delete(oldest);
    }
    this.byGroup.set(groupId, userIds);
    this.held += cost;
  }

  get(groupId: string): string[] | undefined {
    return this.byGroup.get(groupId);
  }

  delete(groupId: string): void {
    const ids = this.byGroup.get(groupId);
    if (!ids) return;
    this.byGroup.delete(groupId);
    this.held -= ids.length + 1;
  }

  clear(): void {
    this.byGroup.clear();
    this.held = 0;
  }

  get size(): number {
    return this.byGroup.size;
  }
}

/** One page of the users listing, as the user syncer saw it. */
export interface ListedUsers {
  /** The page state the page was read with (undefined: the first page). */
  state: ScimPageState | undefined;
  /** The state of the following page (undefined: this was the last page). */
  next: ScimPageState | undefined;
  users: readonly Pick<ScimUser, 'id' | 'groups'>[];
  syncId: string | undefined;
}

/** Users' `groups`, inverted: group id -> user ids. Complete only for an in-order listing of one sync. */
class UserGroupsIndex {
  private phase: 'empty' | 'recording' | 'complete' | 'abandoned' = 'empty';
  private syncId: string | undefined;
  private expectedStart = 1;
  private readonly usersOf = new Map<string, string[]>();
  private pairs = 0;
  /** Some listed user carried a `groups` array (possibly empty): the server reports memberships on users. */
  carriesGroups = false;

  constructor(private readonly maxPairs: number) {}

  record(page: ListedUsers): void {
    const start = page.state?.startIndex ?? 1;
    if (start === 1 && page.state === undefined) {
      this.reset();
      this.phase = 'recording';
      this.syncId = page.syncId;
    } else if (this.phase !== 'recording' || start !== this.expectedStart || page.syncId !== this.syncId) {
      if (this.phase === 'recording' || this.phase === 'complete') this.abandon();
      return;
    }
    for (const user of page.users) {
      if (!Array.isArray(user.groups)) continue;
      this.carriesGroups = true;
      for (const groupId of directGroupIds(user.groups)) {
        let ids = this.usersOf.get(groupId);
        if (!ids) this.usersOf.set(groupId, (ids = []));
        if (ids[ids.length - 1] !== user.id) ids.push(user.id);
        this.pairs++;
      }
    }
    if (this.pairs > this.maxPairs) return this.abandon();
    if (page.next === undefined) this.phase = 'complete';
    else this.expectedStart = page.next.startIndex;
  }

  /** A listing of the sync `syncId` was recorded from its first page to its last. */
  completeFor(syncId: string | undefined): boolean {
    return this.phase === 'complete' && syncId === this.syncId;
  }

  /** Members of `groupId` when the index is complete for this sync, else undefined. */
  membersOf(groupId: string, syncId: string | undefined): string[] | undefined {
    if (!this.completeFor(syncId)) return undefined;
    return this.usersOf.get(groupId) ?? [];
  }

  abandon(): void {
    this.reset();
    this.phase = 'abandoned';
  }

  reset(): void {
    this.phase = 'empty';
    this.syncId = undefined;
    this.expectedStart = 1;
    this.usersOf.clear();
    this.pairs = 0;
    this.carriesGroups = false;
  }
}

export interface ScimMembershipsOptions {
  client: ScimClient;
  logger?: Logger;
  /** Member ids held from listings and GETs (default 1,000,000). */
  maxMemberIds?: number;
  /** (user, group) pairs the users' groups index may hold (default 2,000,000). */
  maxIndexPairs?: number;
}

/** How this sync reads members, once the server has shown what it does. */
type MemberSource = 'groups' | 'users-groups' | 'none';

export class ScimMemberships {
  private readonly client: ScimClient;
  private readonly logger?: Logger;
  private readonly cache: MemberIdCache;
  private readonly index: UserGroupsIndex;
  private readonly maxIndexPairs: number;
  private source: MemberSource = 'groups';
  /** Some group of this sync came with a `members` key. */
  private sawMembers = false;
  private scanned: { syncId: string | undefined; index: Promise<UserGroupsIndex> } | undefined;
  private readonly nestedReported = new Set<string>();

  constructor(options: ScimMembershipsOptions) {
    this.client = options.client;
    this.logger = options.logger;
    this.cache = new MemberIdCache(options.maxMemberIds ?? 1_000_000);
    this.maxIndexPairs = options.maxIndexPairs ?? 2_000_000;
    this.index = new UserGroupsIndex(this.maxIndexPairs);
  }

  /** The groups listing starts from its first page: a new sync, so what the last one learned is dropped. */
  startGroupsListing(): void {
    this.cache.clear();
    this.source = 'groups';
    this.sawMembers = false;
    this.scanned = undefined;
    this.nestedReported.clear();
  }

  /** Groups as listed: those that came with `members` need no request for their grants. */
  noteListedGroups(groups: readonly ScimGroup[]): void {
    for (const group of groups) {
      if (!Array.isArray(group.members)) continue;
      this.sawMembers = true;
      this.cache.set(group.id, this.userIdsOf(group));
    }
  }

  /** Users as listed (every page, in the order the host asks for them). */
  noteListedUsers(page: ListedUsers): void {
    this.index.record(page);
  }

  /**
   * Member user ids of a group, from wherever they are cheapest (see the module comment); undefined when the group
   * no longer exists. Held until `release` so the group's later grants pages need no request.
   */
  async members(groupId: string, ctx: CallContext): Promise<string[] | undefined> {
    const cached = this.cache.get(groupId);
    if (cached) return cached;
    if (this.source !== 'groups') {
      const ids = this.source === 'none' ? [] : await this.fromUsersGroups(groupId, ctx);
      this.cache.set(groupId, ids);
      return ids;
    }
    const group = await this.client.get<ScimGroup>('Groups', groupId, { signal: ctx.signal });
    if (!group) return undefined;
    if (Array.isArray(group.members)) {
      const ids = this.userIdsOf(group);
      this.cache.set(groupId, ids);
      return ids;
    }
    // No `members` key: an empty group on a server that leaves empty lists out, or a server that omits members.
    const ids = await this.fromUsersGroups(groupId, ctx);
    if (ids.length > 0) {
      this.source = 'users-groups';
      ctx.logger.warn(
        `${this.client.service}: the SCIM server leaves "members" out of groups; memberships are read from the users' "groups" attribute instead`,
        { groupId },
      );
    } else if (!this.sawMembers && !(await this.usersCarryGroups(ctx))) {
      this.source = 'none';
      ctx.logger.warn(
        `${this.client.service}: the SCIM server returns neither group "members" nor users' "groups": no group memberships can be synced`,
        { groupId },
      );
    }
    this.cache.set(groupId, ids);
    return ids;
  }

  /** The group's last grants page was served: its members are no longer needed. */
  release(groupId: string): void {
    this.cache.delete(groupId);
  }

  /** A membership of the group changed through this connector: what was read about it is stale. */
  changed(groupId: string): void {
    this.cache.delete(groupId);
    this.index.abandon();
    this.scanned = undefined;
  }

  clear(): void {
    this.startGroupsListing();
    this.index.reset();
  }

  /** Groups whose members are held (tests). */
  get heldGroups(): number {
    return this.cache.size;
  }

  private userIdsOf(group: ScimGroup): string[] {
    const { userIds, groups } = memberUserIds(group.members);
    if (groups > 0 && !this.nestedReported.has(group.id)) {
      this.nestedReported.add(group.id);
      this.logger?.debug(`${this.client.service}: skipped nested group members (only users hold group membership)`, {
        groupId: group.id,
        nestedGroups: groups,
      });
    }
    return userIds;
  }

  private async fromUsersGroups(groupId: string, ctx: CallContext): Promise<string[]> {
    const listed = this.index.membersOf(groupId, ctx.syncId);
    if (listed) return listed;
    return (await this.scan(ctx)).membersOf(groupId, ctx.syncId) ?? [];
  }

  private async usersCarryGroups(ctx: CallContext): Promise<boolean> {
    if (this.index.completeFor(ctx.syncId)) return this.index.carriesGroups;
    return (await this.scan(ctx)).carriesGroups;
  }

  /** Lists every user's groups once per sync, when the listing of this sync was not seen whole in this process. */
  private scan(ctx: CallContext): Promise<UserGroupsIndex> {
    if (this.scanned && this.scanned.syncId === ctx.syncId) return this.scanned.index;
    const index = new UserGroupsIndex(this.maxIndexPairs);
    const promise = this.client
      .listAll<ScimUser>('Users', { attributes: ['groups'] }, { signal: ctx.signal }, (users, state, next) =>
        index.record({ state, next, users, syncId: ctx.syncId }),
      )
      .then(() => index);
    promise.catch(() => {
      if (this.scanned?.index === promise) this.scanned = undefined;
    });
    this.scanned = { syncId: ctx.syncId, index: promise };
    return promise;
  }
}
