/**
 * The simulator's data: users and groups as SCIM JSON (what a PATCH edits), in creation order, with
 * `User.groups` derived from group membership as the RFC says (read-only, type "direct").
 */
import type { Clock } from '../../simulator/types.js';
import type { ScimMultiValue, ScimName } from '../types.js';

export interface StoredMeta {
  created: string;
  lastModified: string;
  /** Incremented on every change; served as the weak ETag W/"<version>". */
  version: number;
}

/** A user as stored: SCIM attributes (camelCase as sent by clients), `active` always a boolean. */
export interface StoredUser {
  id: string;
  userName: string;
  externalId?: string;
  name?: ScimName;
  displayName?: string;
  title?: string;
  emails?: ScimMultiValue[];
  active: boolean;
  /** Other attributes clients sent (e.g. the enterprise extension), kept verbatim. */
  extra: Record<string, unknown>;
  meta: StoredMeta;
}

export interface StoredMember {
  value: string;
  type: 'User' | 'Group';
}

export interface StoredGroup {
  id: string;
  displayName: string;
  externalId?: string;
  members: StoredMember[];
  meta: StoredMeta;
}

export interface ScimData {
  users: StoredUser[];
  groups: StoredGroup[];
}

/** A SCIM error the handlers turn into an Error response (RFC 7644 §3.12). */
export class ScimSimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: string | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

export class ScimState {
  private readonly users = new Map<string, StoredUser>();
  private readonly groups = new Map<string, StoredGroup>();
  /** userId -> groupIds holding the user as a direct member. */
  private readonly groupsOfUser = new Map<string, Set<string>>();
  private counter = 0;

  constructor(
    data: ScimData,
    private readonly clock: Clock,
  ) {
    for (const u of data.users) this.users.set(u.id, u);
    for (const g of data.groups) this.putGroup(g);
  }

  listUsers(): StoredUser[] {
    return [...this.users.values()];
  }

  listGroups(): StoredGroup[] {
    return [...this.groups.values()];
  }

  getUser(id: string): StoredUser | undefined {
    return this.users.get(id);
  }

  getGroup(id: string): StoredGroup | undefined {
    return this.groups.get(id);
  }

  userByName(userName: string): StoredUser | undefined {
    const wanted = userName.toLowerCase();
    for (const u of this.users.values()) if (u.userName.toLowerCase() === wanted) return u;
    return undefined;
  }

  /** Ids of the groups a user is a direct member of. */
  groupIdsOf(userId: string): string[] {
    return [...(this.groupsOfUser.get(userId) ?? [])];
  }

  /** User members of a group (nested groups excluded), in membership order. */
  groupMembers(groupId: string): StoredUser[] {
    const g = this.groups.get(groupId);
    if (!g) return [];
    return g.members.filter((m) => m.type === 'User').flatMap((m) => this.users.get(m.value) ?? []);
  }

  isMember(groupId: string, userId: string): boolean {
    return this.groupsOfUser.get(userId)?.has(groupId) ?? false;
  }

  newMeta(): StoredMeta {
    const now = new Date(this.clock()).toISOString();
    return { created: now, lastModified: now, version: 1 };
  }

  /** A new id in the RFC's usual UUID form, unique in this state. */
  newId(): string {
    for (;;) {
      const id = `5c1a0000-0000-4000-8000-${(++this.counter).toString(16).padStart(12, '0')}`;
      if (!this.users.has(id) && !this.groups.has(id)) return id;
    }
  }

  /** Adds or replaces a user; 409 uniqueness when another user has the userName. */
  saveUser(user: StoredUser): void {
    const clash = this.userByName(user.userName);
    if (clash && clash.id !== user.id) {
      throw new ScimSimError(409, 'uniqueness', `User with userName ${user.userName} already exists`);
    }
    const previous = this.users.get(user.id);
    if (previous)
      user.meta = {
        ...previous.meta,
        lastModified: new Date(this.clock()).toISOString(),
        version: previous.meta.version + 1,
      };
    this.users.set(user.id, user);
  }

  deleteUser(id: string): boolean {
    if (!this.users.delete(id)) return false;
    for (const groupId of this.groupsOfUser.get(id) ?? []) {
      const g = this.groups.get(groupId);
      if (g) this.putGroup({ ...g, members: g.members.filter((m) => m.value !== id) }, true);
    }
    this.groupsOfUser.delete(id);
    return true;
  }

  /** Adds or replaces a group (members deduplicated by value). */
  saveGroup(group: StoredGroup): void {
    this.putGroup(group, this.groups.has(group.id));
  }

  deleteGroup(id: string): boolean {
    const g = this.groups.get(id);
    if (!g) return false;
    for (const m of g.members) this.groupsOfUser.get(m.value)?.delete(id);
    this.groups.delete(id);
    return true;
  }

  private putGroup(group: StoredGroup, touch = false): void {
    const previous = this.groups.get(group.id);
    if (previous) for (const m of previous.members) this.groupsOfUser.get(m.value)?.delete(group.id);
    const seen = new Set<string>();
    group.members = group.members.filter((m) => !seen.has(m.value) && seen.add(m.value));
    if (touch && previous) {
      group.meta = {
        ...previous.meta,
        lastModified: new Date(this.clock()).toISOString(),
        version: previous.meta.version + 1,
      };
    }
    this.groups.set(group.id, group);
    for (const m of group.members) {
      if (m.type !== 'User') continue;
      let set = this.groupsOfUser.get(m.value);
      if (!set) this.groupsOfUser.set(m.value, (set = new Set()));
      set.add(group.id);
    }
  }
}
