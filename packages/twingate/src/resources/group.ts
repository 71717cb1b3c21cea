/**
 * Twingate groups. Each has one entitlement, `member`, held by users.
 *
 * - MANUAL groups are provisioned with `groupUpdate(addedUserIds / removedUserIds)`.
 * - SYNCED groups get their members from the identity provider and SYSTEM groups (e.g. "Everyone", which holds
 *   every user) are maintained by Twingate: their entitlements carry the immutable annotation, and a grant or
 *   revoke on them is refused with FAILED_PRECONDITION: before any API call when the host sends the entitlement as
 *   synced (its resource and annotations), otherwise after one read that finds the group type, never a mutation.
 *
 * Grants list every member: the groups listing brings the first 100 members of each group (see member-cache.ts),
 * and only groups with more members page on with `group(id) { users(after:) }`.
 */
import {
  entitlement,
  failedPrecondition,
  grant,
  groupResource,
  invalidArgument,
  isImmutable,
  notFound,
  profileString,
  resourceId,
  resourceType,
  type CallContext,
  type Entitlement,
  type Grant,
  type GrantOutcome,
  type PageRequest,
  type PageResult,
  type Resource,
  type ResourceSyncer,
  type RevokeOutcome,
} from '@baton-ts/shared';
import { MAX_PAGE_SIZE, type MemberPage, type TwingateClient, type TwingateGroup } from '../client.js';
import type { MemberPageCache } from '../member-cache.js';
import { userType } from './user.js';
import { MEMBER, requireUserPrincipal } from './common.js';

export const groupType = resourceType({
  id: 'group',
  displayName: 'Group',
  traits: ['group'],
  description: "A Twingate group; membership grants access to the group's resources",
});

/** Why a group's membership cannot be changed through the API, or undefined when it can. */
export function protectedGroupReason(type: string | undefined, name: string | undefined): string | undefined {
  const label = name ? `group "${name}"` : 'this group';
  if (type === 'SYNCED') {
    return `${label} is a SYNCED group: its members come from your identity provider, so change the membership there`;
  }
  if (type === 'SYSTEM') {
    return `${label} is a SYSTEM group managed by Twingate (e.g. "Everyone" always contains every user); its membership cannot be changed`;
  }
  return undefined;
}

export function toGroupResource(
  group: Pick<TwingateGroup, 'id' | 'name' | 'type' | 'isActive' | 'createdAt'>,
  consoleOrigin?: string,
): Resource {
  const created = group.createdAt ? new Date(group.createdAt) : undefined;
  return groupResource({
    type: groupType,
    id: group.id,
    displayName: group.name || group.id,
    description:
      group.type === 'SYNCED'
        ? 'Synced from your identity provider'
        : group.type === 'SYSTEM'
          ? 'Built-in Twingate group'
          : undefined,
    // Inactive groups give no access; the trait has no such state, so the resource status says it.
    status: group.isActive ? 'enabled' : 'disabled',
    statusDetails: group.isActive ? undefined : 'inactive in Twingate',
    createdAt: created && !Number.isNaN(created.getTime()) ? created : undefined,
    externalLink: consoleOrigin ? `${consoleOrigin}/groups/${encodeURIComponent(group.id)}` : undefined,
    profile: {
      group_id: group.id,
      group_name: group.name,
      type: group.type,
      is_active: group.isActive,
    },
  });
}

export function memberEntitlement(group: Resource): Entitlement {
  const name = group.displayName;
  const type = profileString(group, 'type');
  const reason = protectedGroupReason(type, name);
  return entitlement(group, MEMBER, {
    displayName: `${name} Group Member`,
    description: reason
      ? `Is member of the ${name} group in Twingate. Not requestable: ${reason}.`
      : `Is member of the ${name} group in Twingate`,
    grantableTo: [userType],
    purpose: 'assignment',
    immutable: reason !== undefined,
  });
}

interface GroupListState {
  after: string;
}

interface GroupGrantsState {
  /** Cursor the API page being returned starts after (absent: the first API page). */
  after?: string;
  /**
   * Members of that API page already returned. Set only when a client asks for pages smaller than the API's (hosts
   * never do): the page is then read again and this many members skipped, so no page holds more than asked for.
   */
  skip?: number;
}

export interface GroupSyncerDeps {
  client: TwingateClient;
  memberCache: MemberPageCache;
  consoleOrigin?: string;
}

export function groupSyncer(deps: GroupSyncerDeps): ResourceSyncer {
  const { client, memberCache } = deps;

  return {
    resourceType: groupType,
    defaultPageSize: MAX_PAGE_SIZE,

    async list(_parent, page: PageRequest<GroupListState>, ctx): Promise<PageResult<Resource, GroupListState>> {
      // A listing from the start is a new sync: first pages kept from an earlier one are not worth keeping.
      if (!page.state) memberCache.clear();
      const result = await client.listGroups({
        after: page.state?.after,
        first: page.size,
        membersFirst: MAX_PAGE_SIZE,
        signal: ctx.signal,
      });
      for (const group of result.items) memberCache.put(group.id, group.members);
      return {
        items: result.items.map((g) => toGroupResource(g, deps.consoleOrigin)),
        next: result.hasNextPage && result.endCursor ? { after: result.endCursor } : undefined,
      };
    },

    async entitlements(resource) {
      return { items: [memberEntitlement(resource)] };
    },

    async grants(resource, page: PageRequest<GroupGrantsState>, ctx): Promise<PageResult<Grant, GroupGrantsState>> {
      const groupId = resource.id!.resource;
      let members: MemberPage | undefined;
      if (!page.state) members = memberCache.take(groupId);
      if (!members) {
        const result = await client.groupMembers(groupId, {
          after: page.state?.after,
          first: MAX_PAGE_SIZE,
          signal: ctx.signal,
        });
        // The group was deleted since it was listed: it has no members left to report.
        if (!result.group) return { items: [] };
        members = result.members;
      }
      const ent = memberEntitlement(resource);
      // Memberships of SYNCED/SYSTEM groups cannot be revoked here: say so on each grant, as on the entitlement.
      const immutable = protectedGroupReason(profileString(resource, 'type'), resource.displayName);
      const skip = page.state?.skip ?? 0;
      const userIds = members.userIds.slice(skip, skip + page.size);
      const returned = skip + userIds.length;
      return {
        items: userIds.map((userId) => grant(ent, resourceId(userType, userId), { immutable: immutable ?? false })),
        next:
          returned < members.userIds.length
            ? { after: page.state?.after, skip: returned }
            : members.hasNextPage && members.endCursor
              ? { after: members.endCursor }
              : undefined,
      };
    },

    async grant(principal: Resource, ent: Entitlement, ctx: CallContext): Promise<GrantOutcome> {
      const userId = requireUserPrincipal(
        principal.id?.resourceType,
        principal.id?.resource,
        'can be members of a group',
      );
      const group = groupOf(ent);
      refuseProtected(ent, group.resource);

      const check = await client.checkMembership(group.id, userId, ctx.signal);
      const current = verifyMembershipTarget(check, group.id, userId);
      if (check.isMember) return { alreadyExists: true };
      await client.addGroupMembers(group.id, [userId], ctx.signal);
      memberCache.delete(group.id);
      ctx.logger.info('twingate: added group member', { groupId: group.id, groupName: current.name, userId });
      return {
        grants: [
          grant(
            memberEntitlement(group.resource ?? groupResourceStub(group.id, current)),
            resourceId(userType, userId),
          ),
        ],
      };
    },

    async revoke(g: Grant, ctx: CallContext): Promise<RevokeOutcome> {
      const userId = requireUserPrincipal(
        g.principal?.id?.resourceType,
        g.principal?.id?.resource,
        'can be members of a group',
      );
      const group = groupOf(g.entitlement);
      refuseProtected(g.entitlement, group.resource);

      const check = await client.checkMembership(group.id, userId, ctx.signal);
      const current = verifyMembershipTarget(check, group.id, userId);
      if (!check.isMember) return { alreadyRevoked: true };
      await client.removeGroupMembers(group.id, [userId], ctx.signal);
      memberCache.delete(group.id);
      ctx.logger.info('twingate: removed group member', { groupId: group.id, groupName: current.name, userId });
      return {};
    },
  };
}

/** The group an entitlement belongs to: from its resource, else from its id `group:<id>:member`. */
function groupOf(ent: Entitlement | undefined): { id: string; resource?: Resource } {
  if (!ent) throw invalidArgument('twingate: the grant has no entitlement');
  const rid = ent.resource?.id;
  if (rid) {
    if (rid.resourceType !== groupType.id || !rid.resource)
      throw invalidArgument(`twingate: not a group entitlement: ${ent.id}`);
    if (ent.slug && ent.slug !== MEMBER)
      throw invalidArgument(`twingate: groups have only the "member" entitlement, not "${ent.slug}"`);
    return { id: rid.resource, resource: ent.resource };
  }
  const match = /^group:(.+):member$/.exec(ent.id);
  if (!match) throw invalidArgument(`twingate: not a group membership entitlement: ${ent.id}`);
  return { id: match[1]! };
}

/** Refuses changes we can tell are impossible from what the host sent, before any API request. */
function refuseProtected(ent: Entitlement | undefined, group: Resource | undefined): void {
  const reason = protectedGroupReason(profileString(group, 'type'), group?.displayName);
  if (reason) throw failedPrecondition(`twingate: ${reason}`);
  if (isImmutable(ent)) {
    throw failedPrecondition(
      `twingate: the membership of ${group?.displayName ? `group "${group.displayName}"` : 'this group'} is not managed in Twingate (SYNCED or SYSTEM group) and cannot be changed`,
    );
  }
}

/** Checks the pre-read: both exist, and the group (as the API sees it now) may be changed. */
function verifyMembershipTarget(
  check: Awaited<ReturnType<TwingateClient['checkMembership']>>,
  groupId: string,
  userId: string,
): { name: string; type: string } {
  if (!check.group) throw notFound(`twingate: group ${groupId} not found`);
  if (!check.user) throw notFound(`twingate: user ${userId} not found`);
  // The host's copy of the group may be older than a type change, or carry no profile at all.
  const reason = protectedGroupReason(check.group.type, check.group.name);
  if (reason) throw failedPrecondition(`twingate: ${reason}`);
  return check.group;
}

function groupResourceStub(id: string, current: { name: string; type: string }): Resource {
  return toGroupResource({ id, name: current.name, type: current.type, isActive: true });
}
