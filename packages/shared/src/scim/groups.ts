/**
 * SCIM groups as Baton `group` resources with one entitlement, `member`, held by users; grants from the group's
 * members (memberships.ts); optionally membership provisioning with PATCH add/remove.
 *
 * A server without `/Groups` (404, 405 or 501 on the first page) has no groups: the sync goes on with users only and
 * a warning says why, instead of failing.
 */
import { entitlement, grant, type Entitlement, type Grant } from '../sdk/entitlements.js';
import { groupResource, resourceId, resourceType, type Resource, type ResourceType } from '../sdk/resources.js';
import { invalidArgument, notFound } from '../sdk/errors.js';
import type { CallContext, GrantOutcome, ResourceSyncer, RevokeOutcome } from '../sdk/connector.js';
import type { PageRequest, PageResult } from '../sdk/pagination.js';
import type { ResourceId } from '../gen/c1/connector/v2/resource_pb.js';
import type { ScimClient, ScimListQuery, ScimPage } from './client.js';
import { ScimError } from './errors.js';
import { memberUserIds, type ScimMemberships } from './memberships.js';
import type { ScimPageState } from './paging.js';
import type { ScimGroup, ScimUser } from './types.js';
import { scimPageState } from './users.js';

/** Slug of the one entitlement a group has (the id `group:<groupId>:member`, as baton-scim names it). */
export const MEMBER = 'member';

export function scimGroupType(description: string): ResourceType {
  return resourceType({ id: 'group', displayName: 'Group', traits: ['group'], description });
}

export function scimGroupResource(group: ScimGroup, type: ResourceType): Resource {
  const name = typeof group.displayName === 'string' && group.displayName.trim() ? group.displayName.trim() : group.id;
  const created = typeof group.meta?.created === 'string' ? new Date(group.meta.created) : undefined;
  return groupResource({
    type,
    id: group.id,
    displayName: name,
    createdAt: created && !Number.isNaN(created.getTime()) ? created : undefined,
    profile: {
      group_id: group.id,
      group_name: name,
      external_id: typeof group.externalId === 'string' && group.externalId ? group.externalId : undefined,
    },
  });
}

/** The `member` entitlement of a group. `product` names the application ("RudderStack"). */
export function scimMemberEntitlement(group: Resource, userType: ResourceType, product: string): Entitlement {
  const name = group.displayName;
  return entitlement(group, MEMBER, {
    displayName: `${name} Group Member`,
    description: `Is member of the ${name} group in ${product}`,
    grantableTo: [userType],
    purpose: 'assignment',
  });
}

export interface ScimGroupSyncerOptions {
  client: ScimClient;
  memberships: ScimMemberships;
  type: ResourceType;
  userType: ResourceType;
  product: string;
  /** Membership provisioning (grant = PATCH add, revoke = PATCH remove); absent for a read-only connector. */
  provisioning?: boolean;
}

interface MemberPageState {
  /** Members of the group already returned. */
  offset: number;
}

/** Statuses that mean "this server has no /Groups". */
const NO_GROUPS_ENDPOINT = new Set([404, 405, 501]);

export function scimGroupSyncer(options: ScimGroupSyncerOptions): ResourceSyncer {
  const { client, memberships, type, userType, product } = options;
  const service = client.service;
  // Listing groups with their members saves a request per group; a server that cannot list that much at once gets
  // `excludedAttributes=members` for the rest of the process (members then come one group at a time).
  let query: ScimListQuery = {};

  const listGroups = async (state: ScimPageState | undefined, size: number, ctx: CallContext) => {
    try {
      return await client.listPage<ScimGroup>('Groups', state, size, query, { signal: ctx.signal });
    } catch (err) {
      if (query.excludedAttributes || !tooMuchAtOnce(err)) throw err;
      ctx.logger.warn(`${service}: listing groups with their members failed; listing them without members`, {
        error: err instanceof Error ? err.message : String(err),
      });
      query = { excludedAttributes: ['members'] };
      return client.listPage<ScimGroup>('Groups', state, size, query, { signal: ctx.signal });
    }
  };

  const syncer: ResourceSyncer = {
    resourceType: type,
    defaultPageSize: client.pageSize,

    async list(_parent, page: PageRequest<unknown>, ctx): Promise<PageResult<Resource, ScimPageState>> {
      const state = scimPageState(page.state);
      if (!state) memberships.startGroupsListing();
      let result: ScimPage<ScimGroup>;
      try {
        result = await listGroups(state, page.size, ctx);
      } catch (err) {
        if (!state && err instanceof ScimError && err.status !== undefined && NO_GROUPS_ENDPOINT.has(err.status)) {
          ctx.logger.warn(
            `${service}: the SCIM server does not support /Groups (HTTP ${err.status}); syncing users only`,
            { error: err.message },
          );
          return { items: [] };
        }
        throw err;
      }
      memberships.noteListedGroups(result.items);
      return { items: result.items.map((g) => scimGroupResource(g, type)), next: result.next };
    },

    async entitlements(resource) {
      return { items: [scimMemberEntitlement(resource, userType, product)] };
    },

    async grants(resource, page: PageRequest<unknown>, ctx): Promise<PageResult<Grant, MemberPageState>> {
      const groupId = resource.id!.resource;
      const offset = memberOffset(page.state);
      const members = await memberships.members(groupId, ctx);
      // Deleted since it was listed: no members left to report.
      if (!members) return { items: [] };
      const end = Math.min(members.length, offset + page.size);
      const ent = scimMemberEntitlement(resource, userType, product);
      const items = members.slice(offset, end).map((userId) => grant(ent, resourceId(userType, userId)));
      if (end >= members.length) {
        memberships.release(groupId);
        return { items };
      }
      return { items, next: { offset: end } };
    },

    async get(id: ResourceId, _parent, ctx: CallContext) {
      const group = await client.get<ScimGroup>('Groups', id.resource, {
        excludedAttributes: ['members'],
        signal: ctx.signal,
      });
      if (!group) throw notFound(`${service}: group ${id.resource} not found`);
      return scimGroupResource(group, type);
    },
  };

  if (options.provisioning) {
    syncer.grant = async (principal: Resource, ent: Entitlement, ctx: CallContext): Promise<GrantOutcome> => {
      const userId = userPrincipal(principal.id, userType, service);
      const groupId = groupOf(ent, type, service);
      const held = await holdsMembership(client, groupId, userId, ctx);
      if (held === true) return { alreadyExists: true };
      try {
        await client.patch('Groups', groupId, [{ kind: 'addMembers', ids: [userId] }], { signal: ctx.signal });
      } catch (err) {
        // Servers that refuse a duplicate member say so with 409; we only get there when membership was unknown.
        if (held === undefined && err instanceof ScimError && err.status === 409) return { alreadyExists: true };
        throw err;
      }
      memberships.changed(groupId);
      ctx.logger.info(`${service}: added group member`, { groupId, userId });
      const groupResourceValue = ent.resource?.id ? ent.resource : scimGroupResource({ id: groupId }, type);
      return {
        grants: [grant(scimMemberEntitlement(groupResourceValue, userType, product), resourceId(userType, userId))],
      };
    };

    syncer.revoke = async (g: Grant, ctx: CallContext): Promise<RevokeOutcome> => {
      const userId = userPrincipal(g.principal?.id, userType, service);
      const groupId = groupOf(g.entitlement, type, service);
      const held = await holdsMembership(client, groupId, userId, ctx);
      if (held === false) return { alreadyRevoked: true };
      try {
        await client.patch('Groups', groupId, [{ kind: 'removeMember', id: userId }], { signal: ctx.signal });
      } catch (err) {
        // noTarget: the path matched no member; it was removed in the meantime (or never there).
        if (err instanceof ScimError && err.scimType === 'noTarget') return { alreadyRevoked: true };
        throw err;
      }
      memberships.changed(groupId);
      ctx.logger.info(`${service}: removed group member`, { groupId, userId });
      return {};
    };
  }
  return syncer;
}

/**
 * Whether the user is a member, read before any change so a grant or revoke that would change nothing makes no
 * change: from the group's `members` (authoritative), else the user's `groups`; undefined when the server reports
 * neither. NotFound when the group (or, on the fallback, the user) does not exist.
 */
async function holdsMembership(
  client: ScimClient,
  groupId: string,
  userId: string,
  ctx: CallContext,
): Promise<boolean | undefined> {
  const group = await client.get<ScimGroup>('Groups', groupId, { signal: ctx.signal });
  if (!group) throw notFound(`${client.service}: group ${groupId} not found`);
  if (Array.isArray(group.members)) return memberUserIds(group.members).userIds.includes(userId);
  const user = await client.get<ScimUser>('Users', userId, { attributes: ['groups'], signal: ctx.signal });
  if (!user) throw notFound(`${client.service}: user ${userId} not found`);
  if (Array.isArray(user.groups)) return user.groups.some((g) => g?.value === groupId);
  return undefined;
}

/** A listing that failed because it asked for too much in one response (not auth, not "no such endpoint"). */
function tooMuchAtOnce(err: unknown): boolean {
  if (!(err instanceof ScimError)) return false;
  if (err.status === 413 || err.scimType === 'tooMany') return true;
  if (err.status === undefined) return err.errorCode === 'ETIMEDOUT';
  return err.status >= 500 && err.status !== 501;
}

function memberOffset(state: unknown): number {
  if (state === undefined) return 0;
  const offset = (state as Partial<MemberPageState> | null)?.offset;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw invalidArgument('invalid page token: not a member page issued by this connector');
  }
  return offset;
}

function userPrincipal(id: ResourceId | undefined, userType: ResourceType, service: string): string {
  if (id?.resourceType !== userType.id || !id.resource) {
    throw invalidArgument(
      `${service}: only users can be members of a group; the principal is a ${id?.resourceType || 'resource of unknown type'}`,
    );
  }
  return id.resource;
}

/** The group an entitlement belongs to: from its resource, else from its id `group:<id>:member`. */
function groupOf(ent: Entitlement | undefined, type: ResourceType, service: string): string {
  if (!ent) throw invalidArgument(`${service}: the request has no entitlement`);
  const rid = ent.resource?.id;
  if (rid) {
    if (rid.resourceType !== type.id || !rid.resource)
      throw invalidArgument(`${service}: not a group entitlement: ${ent.id}`);
    if (ent.slug && ent.slug !== MEMBER)
      throw invalidArgument(`${service}: groups have only the "member" entitlement, not "${ent.slug}"`);
    return rid.resource;
  }
  const match = /^group:(.+):member$/.exec(ent.id);
  if (!match) throw invalidArgument(`${service}: not a group membership entitlement: ${ent.id}`);
  return match[1]!;
}
