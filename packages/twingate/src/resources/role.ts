/**
 * Twingate roles: ADMIN, DEVOPS, SUPPORT, ACCESS_REVIEWER and MEMBER. Roles are not API objects but a field of
 * every user, so the five role resources are a fixed list; each has a `member` entitlement held by the users whose
 * `role` is that value. Every user holds exactly one role.
 *
 * Grants come from one of two paths, chosen per role on its first page and kept by its page state:
 * - index (no request): the users listing of this sync recorded every user's role (see role-index.ts); the role's
 *   users are paged from there with the state `{ from: 'index', offset }`.
 * - API (fallback, when the index is incomplete, over its cap, for another sync id, or absent after a restart):
 *   each role pages through `users(filter: {role: {in: [ROLE]}})` with the state `{ after }` (the API cursor), so
 *   every user is read exactly once across the five roles: Σ⌈Uᵣ/100⌉ ≤ ⌈U/100⌉ + 4 requests, against
 *   5 × ⌈U/100⌉ for scanning all users once per role. Such tokens survive a restart.
 * An index-path token that arrives when the index is no longer usable (the process restarted, a role was
 * provisioned, a new listing began) restarts that role on the API path from its first page: the host upserts
 * grants by id, so the grants already emitted from the index are simply emitted again, never lost or doubled.
 * Both paths emit a grant only for the five known roles; a user holding a role Twingate added later gets none (the
 * user syncer logs a warning for it).
 *
 * Provisioning: granting a role sets the user's role (replacing the previous one); revoking a role demotes the
 * user to MEMBER. MEMBER itself cannot be revoked: a user always has a role, so the way out of MEMBER is to grant
 * another role.
 */
import {
  entitlement,
  grant,
  invalidArgument,
  notFound,
  pageOfArray,
  resourceId,
  resourceType,
  roleResource,
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
import { MAX_PAGE_SIZE, type TwingateClient, type UserRole } from '../client.js';
import type { UserRoleIndex } from '../role-index.js';
import { userType } from './user.js';
import { MEMBER, requireUserPrincipal } from './common.js';

export const roleType = resourceType({
  id: 'role',
  displayName: 'Role',
  traits: ['role'],
  description: 'A Twingate admin role; every user holds exactly one',
});

export interface RoleInfo {
  /** Resource id, as the Go connector uses (so grant ids match across connectors). */
  id: string;
  role: UserRole;
  displayName: string;
}

export const ROLES: readonly RoleInfo[] = [
  { id: 'admin', role: 'ADMIN', displayName: 'Admin' },
  { id: 'devops', role: 'DEVOPS', displayName: 'DevOps' },
  { id: 'support', role: 'SUPPORT', displayName: 'Support' },
  { id: 'access_reviewer', role: 'ACCESS_REVIEWER', displayName: 'Access Reviewer' },
  { id: 'member', role: 'MEMBER', displayName: 'Member' },
];

const ROLE_BY_ID = new Map(ROLES.map((r) => [r.id, r]));

export function roleById(id: string | undefined): RoleInfo | undefined {
  return id ? ROLE_BY_ID.get(id.toLowerCase()) : undefined;
}

export function toRoleResource(role: RoleInfo): Resource {
  return roleResource({
    type: roleType,
    id: role.id,
    displayName: role.displayName,
    description: `The ${role.displayName} role in Twingate`,
    profile: { role_id: role.id, role_name: role.displayName, role: role.role },
  });
}

const ROLE_RESOURCES = ROLES.map(toRoleResource);

export function roleEntitlement(resource: Resource): Entitlement {
  const role = roleById(resource.id?.resource);
  const name = role?.displayName ?? resource.displayName;
  const note =
    role?.role === 'MEMBER'
      ? 'Granting it demotes the user to Member; it cannot be revoked (grant another role instead).'
      : 'A user holds exactly one role: granting it replaces the current role, revoking it demotes the user to Member.';
  return entitlement(resource, MEMBER, {
    displayName: `${name} Role Member`,
    description: `Has the ${name} role in Twingate. ${note}`,
    grantableTo: [userType],
    purpose: 'assignment',
  });
}

/** API path: cursor of the last user of this role already returned. */
interface RoleGrantsApiState {
  from?: undefined;
  after: string;
}

/** Index path: how many of this role's users (in the index's order) were already returned. */
interface RoleGrantsIndexState {
  from: 'index';
  offset: number;
}

type RoleGrantsState = RoleGrantsApiState | RoleGrantsIndexState;

export function roleSyncer(deps: { client: TwingateClient; roleIndex?: UserRoleIndex }): ResourceSyncer {
  const { client, roleIndex } = deps;

  return {
    resourceType: roleType,
    defaultPageSize: MAX_PAGE_SIZE,

    async list(_parent, page: PageRequest<number>) {
      return pageOfArray(ROLE_RESOURCES, page);
    },

    async entitlements(resource) {
      return { items: [roleEntitlement(resource)] };
    },

    async grants(resource, page: PageRequest<RoleGrantsState>, ctx): Promise<PageResult<Grant, RoleGrantsState>> {
      const role = roleById(resource.id?.resource);
      if (!role) throw notFound(`twingate: unknown role ${JSON.stringify(resource.id?.resource)}`);
      const ent = roleEntitlement(resource);
      const toGrant = (userId: string) => grant(ent, resourceId(userType, userId));
      const state = page.state;

      // A role started on the API path stays on it: its cursor means nothing to the index.
      const fromIndex =
        state?.from === 'index' || state === undefined ? roleIndex?.keysWithValue(role.role, ctx.syncId) : undefined;
      if (fromIndex) {
        const offset = state?.from === 'index' && Number.isInteger(state.offset) && state.offset > 0 ? state.offset : 0;
        const end = offset + (page.size || MAX_PAGE_SIZE);
        return {
          items: fromIndex.slice(offset, end).map(toGrant),
          next: end < fromIndex.length ? { from: 'index', offset: end } : undefined,
        };
      }

      // The API path; an index-path state whose index is gone restarts the role from the first page (see above).
      const after = state?.from === undefined ? state?.after : undefined;
      const result = await client.listUserIdsWithRole(role.role, { after, first: MAX_PAGE_SIZE, signal: ctx.signal });
      return {
        items: result.items.map(toGrant),
        next: result.hasNextPage && result.endCursor ? { after: result.endCursor } : undefined,
      };
    },

    async grant(principal: Resource, ent: Entitlement, ctx: CallContext): Promise<GrantOutcome> {
      const userId = requireUserPrincipal(principal.id?.resourceType, principal.id?.resource, 'hold roles');
      const role = roleOf(ent);
      const user = await client.getUser(userId, ctx.signal);
      if (!user) throw notFound(`twingate: user ${userId} not found`);
      if (user.role === role.role) return { alreadyExists: true };
      // Before the mutation: should it fail after taking effect, the index must not claim the old role.
      roleIndex?.invalidate();
      await client.updateUserRole(userId, role.role, ctx.signal);
      ctx.logger.info('twingate: changed user role', { userId, from: user.role, to: role.role });
      return {
        grants: [
          grant(roleEntitlement(ent.resource?.id ? ent.resource : toRoleResource(role)), resourceId(userType, userId)),
        ],
      };
    },

    async revoke(g: Grant, ctx: CallContext): Promise<RevokeOutcome> {
      const userId = requireUserPrincipal(g.principal?.id?.resourceType, g.principal?.id?.resource, 'hold roles');
      const role = roleOf(g.entitlement);
      if (role.role === 'MEMBER') {
        throw invalidArgument(
          'twingate: cannot revoke the Member role: every Twingate user has exactly one role; grant a different role to change it',
        );
      }
      const user = await client.getUser(userId, ctx.signal);
      if (!user) throw notFound(`twingate: user ${userId} not found`);
      if (user.role !== role.role) return { alreadyRevoked: true };
      // Before the mutation: should it fail after taking effect, the index must not claim the old role.
      roleIndex?.invalidate();
      await client.updateUserRole(userId, 'MEMBER', ctx.signal);
      ctx.logger.info('twingate: changed user role', { userId, from: user.role, to: 'MEMBER' });
      return {};
    },
  };
}

/** The role an entitlement belongs to: from its resource, else from its id `role:<id>:member`. */
function roleOf(ent: Entitlement | undefined): RoleInfo {
  if (!ent) throw invalidArgument('twingate: the grant has no entitlement');
  const rid = ent.resource?.id;
  let id: string | undefined;
  if (rid) {
    if (rid.resourceType !== roleType.id) throw invalidArgument(`twingate: not a role entitlement: ${ent.id}`);
    if (ent.slug && ent.slug !== MEMBER)
      throw invalidArgument(`twingate: roles have only the "member" entitlement, not "${ent.slug}"`);
    id = rid.resource;
  } else {
    id = /^role:(.+):member$/.exec(ent.id)?.[1];
  }
  const role = roleById(id);
  if (!role)
    throw invalidArgument(
      `twingate: unknown role ${JSON.stringify(id ?? ent.id)}; known roles: ${ROLES.map((r) => r.id).join(', ')}`,
    );
  return role;
}
