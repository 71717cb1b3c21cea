import type { Clock } from '@baton-ts/shared/simulator';

import { decodeId, encodeId } from './ids.js';
import type { GroupRecord, GroupType, UserRecord, UserRole, UserState } from './model.js';

/** Initial contents: records plus explicit memberships as [groupId, userId] pairs. */
export interface TwingateData {
  users: UserRecord[];
  groups: GroupRecord[];
  memberships: Array<[groupId: string, userId: string]>;
}

export type MutationResult<T> = { ok: true; entity: T } | { ok: false; error: string; entity: T | null };

export interface GroupUpdateInput {
  id: string;
  name?: string | null;
  isActive?: boolean | null;
  addedUserIds?: readonly string[] | null;
  removedUserIds?: readonly string[] | null;
}

export interface MutationPolicy {
  /** Group types whose updates are refused with ok:false (default SYNCED and SYSTEM). */
  protectedGroupTypes: readonly GroupType[];
}

const byN = <T extends { n: number }>(a: T, b: T) => a.n - b.n;

/**
 * The tenant's mutable contents. Lists are kept ordered by id number, which is the order the API pages them in;
 * membership is indexed both ways so `group.users` and `user.groups` are cheap on a 10,000-user tenant.
 */
export class TwingateState {
  private users: UserRecord[] = [];
  private groups: GroupRecord[] = [];
  private readonly usersById = new Map<string, UserRecord>();
  private readonly groupsById = new Map<string, GroupRecord>();
  private readonly members = new Map<string, Set<string>>();
  private readonly groupsOfUser = new Map<string, Set<string>>();
  /** Sorted member lists, rebuilt lazily after a change to that group. */
  private readonly memberListCache = new Map<string, UserRecord[]>();
  private nextUserN = 1;
  private nextGroupN = 1;

  constructor(
    data: TwingateData,
    private readonly clock: Clock = Date.now,
  ) {
    for (const user of [...data.users].sort(byN)) this.insertUser(user);
    for (const group of [...data.groups].sort(byN)) this.insertGroup(group);
    for (const [groupId, userId] of data.memberships) this.addMember(groupId, userId);
  }

  // ---- reads ----

  listUsers(): readonly UserRecord[] {
    return this.users;
  }

  listGroups(): readonly GroupRecord[] {
    return this.groups;
  }

  getUser(id: string): UserRecord | undefined {
    return this.usersById.get(id);
  }

  getGroup(id: string): GroupRecord | undefined {
    return this.groupsById.get(id);
  }

  /** Members ordered by user id number; the SYSTEM "Everyone" group always holds every user. */
  groupMembers(groupId: string): readonly UserRecord[] {
    const group = this.groupsById.get(groupId);
    if (!group) return [];
    if (group.everyone) return this.users;
    let list = this.memberListCache.get(groupId);
    if (!list) {
      list = [...(this.members.get(groupId) ?? [])].map((id) => this.usersById.get(id)!).sort(byN);
      this.memberListCache.set(groupId, list);
    }
    return list;
  }

  /** Groups the user belongs to, ordered by group id number, including "Everyone". */
  groupsOf(userId: string): GroupRecord[] {
    if (!this.usersById.has(userId)) return [];
    const explicit = this.groupsOfUser.get(userId) ?? new Set<string>();
    return this.groups.filter((g) => g.everyone || explicit.has(g.id));
  }

  isMember(groupId: string, userId: string): boolean {
    const group = this.groupsById.get(groupId);
    if (!group || !this.usersById.has(userId)) return false;
    return group.everyone || (this.members.get(groupId)?.has(userId) ?? false);
  }

  /** Sizes, with `memberships` counting explicit (non-"Everyone") memberships. */
  counts(): { users: number; groups: number; memberships: number } {
    let memberships = 0;
    for (const set of this.members.values()) memberships += set.size;
    return { users: this.users.length, groups: this.groups.length, memberships };
  }

  // ---- mutations with API semantics (ok/error payloads) ----

  updateGroup(input: GroupUpdateInput, policy: MutationPolicy): MutationResult<GroupRecord> {
    const group = this.groupsById.get(input.id);
    if (!group) return { ok: false, error: `Group with id ${input.id} does not exist`, entity: null };
    if (policy.protectedGroupTypes.includes(group.type)) {
      const why =
        group.type === 'SYSTEM'
          ? 'system groups are managed by Twingate'
          : 'its membership is managed by your identity provider';
      return { ok: false, error: `Group ${group.name} (${group.type}) cannot be modified: ${why}`, entity: group };
    }
    const added = input.addedUserIds ?? [];
    const removed = input.removedUserIds ?? [];
    for (const userId of [...added, ...removed]) {
      if (!this.usersById.has(userId))
        return { ok: false, error: `User with id ${userId} does not exist`, entity: group };
    }
    if (input.name !== undefined && input.name !== null) {
      if (input.name.trim() === '') return { ok: false, error: 'Group name cannot be empty', entity: group };
      group.name = input.name;
    }
    if (input.isActive !== undefined && input.isActive !== null) group.isActive = input.isActive;
    // Set semantics: adding a member or removing a non-member is a successful no-op.
    if (!group.everyone) {
      for (const userId of added) this.addMember(group.id, userId);
      for (const userId of removed) this.removeMember(group.id, userId);
    }
    group.updatedAt = this.now();
    return { ok: true, entity: group };
  }

  setUserRole(id: string, role: UserRole): MutationResult<UserRecord> {
    const user = this.usersById.get(id);
    if (!user) return { ok: false, error: `User with id ${id} does not exist`, entity: null };
    if (user.role !== role) {
      user.role = role;
      user.updatedAt = this.now();
    }
    return { ok: true, entity: user };
  }

  updateUserDetails(input: {
    id: string;
    firstName?: string | null;
    lastName?: string | null;
    state?: UserState | null;
  }): MutationResult<UserRecord> {
    const user = this.usersById.get(input.id);
    if (!user) return { ok: false, error: `User with id ${input.id} does not exist`, entity: null };
    if (input.state === 'PENDING')
      return { ok: false, error: "A user's state can only be set to ACTIVE or DISABLED", entity: user };
    if (input.state && user.state === 'PENDING') {
      return {
        ok: false,
        error: 'A pending user must accept the invitation before their state can change',
        entity: user,
      };
    }
    if (input.firstName !== undefined && input.firstName !== null) user.firstName = input.firstName;
    if (input.lastName !== undefined && input.lastName !== null) user.lastName = input.lastName;
    if (input.state) user.state = input.state;
    user.updatedAt = this.now();
    return { ok: true, entity: user };
  }

  createUser(input: {
    email: string;
    firstName?: string | null;
    lastName?: string | null;
    role?: UserRole | null;
  }): MutationResult<UserRecord> {
    const email = input.email.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
      return { ok: false, error: `Invalid email address: ${input.email}`, entity: null };
    const lower = email.toLowerCase();
    if (this.users.some((u) => u.email.toLowerCase() === lower)) {
      return { ok: false, error: `A user with email ${email} already exists`, entity: null };
    }
    const now = this.now();
    const n = this.nextUserN;
    const user: UserRecord = {
      n,
      id: encodeId('User', n),
      firstName: input.firstName ?? '',
      lastName: input.lastName ?? '',
      email,
      role: input.role ?? 'MEMBER',
      // Invited users stay PENDING until they sign in for the first time.
      state: 'PENDING',
      type: 'MANUAL',
      createdAt: now,
      updatedAt: now,
    };
    this.insertUser(user);
    return { ok: true, entity: user };
  }

  deleteUser(id: string): MutationResult<UserRecord> {
    const user = this.usersById.get(id);
    if (!user) return { ok: false, error: `User with id ${id} does not exist`, entity: null };
    for (const groupId of this.groupsOfUser.get(id) ?? []) this.removeMember(groupId, id);
    this.groupsOfUser.delete(id);
    this.usersById.delete(id);
    this.users = this.users.filter((u) => u.id !== id);
    return { ok: true, entity: user };
  }

  createGroup(input: { name: string; userIds?: readonly string[] | null }): MutationResult<GroupRecord> {
    if (input.name.trim() === '') return { ok: false, error: 'Group name cannot be empty', entity: null };
    for (const userId of input.userIds ?? []) {
      if (!this.usersById.has(userId))
        return { ok: false, error: `User with id ${userId} does not exist`, entity: null };
    }
    const now = this.now();
    const n = this.nextGroupN;
    const group: GroupRecord = {
      n,
      id: encodeId('Group', n),
      name: input.name,
      type: 'MANUAL',
      isActive: true,
      createdAt: now,
      updatedAt: now,
      everyone: false,
    };
    this.insertGroup(group);
    for (const userId of input.userIds ?? []) this.addMember(group.id, userId);
    return { ok: true, entity: group };
  }

  deleteGroup(id: string, policy: MutationPolicy): MutationResult<GroupRecord> {
    const group = this.groupsById.get(id);
    if (!group) return { ok: false, error: `Group with id ${id} does not exist`, entity: null };
    if (group.type === 'SYSTEM' || policy.protectedGroupTypes.includes(group.type)) {
      return { ok: false, error: `Group ${group.name} (${group.type}) cannot be deleted`, entity: group };
    }
    for (const userId of this.members.get(id) ?? []) this.groupsOfUser.get(userId)?.delete(id);
    this.members.delete(id);
    this.memberListCache.delete(id);
    this.groupsById.delete(id);
    this.groups = this.groups.filter((g) => g.id !== id);
    return { ok: true, entity: group };
  }

  // ---- direct manipulation for tests (no API rules applied) ----

  /** Adds an explicit membership; ignores unknown ids and the computed "Everyone" group. Returns true if added. */
  addMember(groupId: string, userId: string): boolean {
    const group = this.groupsById.get(groupId);
    if (!group || group.everyone || !this.usersById.has(userId)) return false;
    let set = this.members.get(groupId);
    if (!set) this.members.set(groupId, (set = new Set()));
    if (set.has(userId)) return false;
    set.add(userId);
    let groups = this.groupsOfUser.get(userId);
    if (!groups) this.groupsOfUser.set(userId, (groups = new Set()));
    groups.add(groupId);
    this.memberListCache.delete(groupId);
    return true;
  }

  removeMember(groupId: string, userId: string): boolean {
    const removed = this.members.get(groupId)?.delete(userId) ?? false;
    if (removed) {
      this.groupsOfUser.get(userId)?.delete(groupId);
      this.memberListCache.delete(groupId);
    }
    return removed;
  }

  /** Looks a user up by the number inside its id. */
  userByNumber(n: number): UserRecord | undefined {
    return this.usersById.get(encodeId('User', n));
  }

  groupByName(name: string): GroupRecord | undefined {
    return this.groups.find((g) => g.name === name);
  }

  private insertUser(user: UserRecord): void {
    if (decodeId(user.id, 'User') !== user.n) throw new Error(`user ${user.id} does not encode User:${user.n}`);
    if (this.usersById.has(user.id)) throw new Error(`duplicate user id ${user.id}`);
    this.usersById.set(user.id, user);
    // New users get the highest number, so appending keeps the list ordered.
    if (this.users.length > 0 && this.users[this.users.length - 1]!.n > user.n) {
      this.users.push(user);
      this.users.sort(byN);
    } else {
      this.users.push(user);
    }
    this.nextUserN = Math.max(this.nextUserN, user.n + 1);
  }

  private insertGroup(group: GroupRecord): void {
    if (decodeId(group.id, 'Group') !== group.n) throw new Error(`group ${group.id} does not encode Group:${group.n}`);
    if (this.groupsById.has(group.id)) throw new Error(`duplicate group id ${group.id}`);
    this.groupsById.set(group.id, group);
    if (this.groups.length > 0 && this.groups[this.groups.length - 1]!.n > group.n) {
      this.groups.push(group);
      this.groups.sort(byN);
    } else {
      this.groups.push(group);
    }
    this.nextGroupN = Math.max(this.nextGroupN, group.n + 1);
  }

  private now(): string {
    return new Date(this.clock()).toISOString();
  }
}
