/**
 * Celigo roles: the account-wide access levels `monitor`, `manage` and `administrator`. They are a field of each
 * user's share, not API objects, so the three role resources are a fixed list (ids, entitlement slug `assigned` and
 * grant ids as the Go connector's). A user holds at most one; integration-only users hold none.
 *
 * Grants: from the levels the users listing of this sync already recorded (account-index.ts; no request), else by
 * reading `/v1/ashares` and keeping the users with this level (the API has no filter). The page state says which:
 * `{ index: offset }` or `{ api: <LinkPageState> }`. An index state that reaches a process whose index is not usable
 * (a restart, a role provisioned since, another sync) restarts the role from the API's first page: hosts upsert
 * grants by id, so grants emitted twice are harmless and none is lost.
 *
 * Provisioning changes only the share's `accessLevel`, by read-modify-write: Celigo's `PUT /v1/ashares/{id}`
 * replaces the whole record (fields the body omits are cleared; there is no PATCH), so the connector reads the share,
 * sends every writable field back unchanged with the new level, and so keeps per-integration access
 * (`integrationAccessLevel`, which applies again if the user is later demoted to Monitor), SSO and MFA requirements
 * and the other flags. The person's name and email are not part of the share and are never sent. The Go connector
 * sent a body with only `accessLevel` set and wiped the rest.
 * - grant R: sets the level to R (replacing the current one);
 * - revoke `manage` or `administrator`: demotes the user to `monitor`;
 * - revoke `monitor`: refused with FAILED_PRECONDITION before any request. Monitor is the lowest account-wide level;
 *   taking it away means removing the user from the account (`DELETE /v1/ashares/{id}`), which is not a role change.
 * Granting what the user holds answers GrantAlreadyExists and revoking what they do not hold GrantAlreadyRevoked,
 * after one read and without a PUT.
 */
import {
  entitlement,
  failedPrecondition,
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
  type ResourceId,
  type ResourceSyncer,
  type RevokeOutcome,
} from '@baton-ts/shared';
import type { LinkPageState } from '@baton-ts/shared/http';
import { writableShare, type AccessLevel, type Ashare, type CeligoClient } from '../client.js';
import type { AccountIndex } from '../account-index.js';
import { PAGE_SIZE, requireUserPrincipal } from './common.js';
import { userType } from './user.js';

export const roleType = resourceType({
  id: 'role',
  displayName: 'Role',
  traits: ['role'],
  description: 'A Celigo account-wide access level (Monitor, Manage or Administrator); a user holds at most one',
});

/** Slug of the one entitlement each role has. */
export const ASSIGNED = 'assigned';

export interface RoleInfo {
  /** Resource id, and the `accessLevel` value in the API. */
  id: AccessLevel;
  displayName: string;
  /** What the level allows, for descriptions. */
  allows: string;
}

/** In the Go connector's order. */
export const ROLES: readonly RoleInfo[] = [
  {
    id: 'monitor',
    displayName: 'Monitor',
    allows: 'can view every integration, run flows and retry or resolve errors, but cannot change configurations',
  },
  {
    id: 'manage',
    displayName: 'Manage',
    allows: 'can create and edit every integration and its resources, but not account settings or users',
  },
  {
    id: 'administrator',
    displayName: 'Administrator',
    allows: 'administers the account: every integration, users, API tokens and account settings',
  },
];

/** The level a revoke demotes to. */
const LOWEST: AccessLevel = 'monitor';

export function roleById(id: string | undefined): RoleInfo | undefined {
  const wanted = id?.toLowerCase();
  return ROLES.find((r) => r.id === wanted);
}

export function toRoleResource(role: RoleInfo): Resource {
  return roleResource({
    type: roleType,
    id: role.id,
    displayName: role.displayName,
    description: `Celigo ${role.displayName} access to the whole account: ${role.allows}`,
    // `name` is the Go connector's profile key and value.
    profile: { name: role.id, displayName: role.displayName },
  });
}

const ROLE_RESOURCES = ROLES.map(toRoleResource);

export function roleEntitlement(resource: Resource): Entitlement {
  const role = roleById(resource.id?.resource);
  const name = role?.displayName ?? resource.displayName;
  const revoke =
    role?.id === LOWEST
      ? 'It cannot be revoked here: removing a user from the account is a different operation.'
      : 'Revoking it demotes the user to Monitor.';
  return entitlement(resource, ASSIGNED, {
    displayName: `${name} role assigned`,
    description: `Assigned to the ${name} role (${role?.allows ?? 'Celigo account-wide access'}). ${revoke}`,
    grantableTo: [userType],
    purpose: 'assignment',
  });
}

type RoleGrantsState = { index: number } | { api: LinkPageState };

export function roleSyncer(deps: { client: CeligoClient; accountIndex?: AccountIndex }): ResourceSyncer {
  const { client, accountIndex } = deps;

  return {
    resourceType: roleType,
    defaultPageSize: PAGE_SIZE,

    async list(_parent, page: PageRequest<number>) {
      return pageOfArray(ROLE_RESOURCES, page);
    },

    async get(id: ResourceId) {
      const role = roleById(id.resource);
      return role && role.id === id.resource ? toRoleResource(role) : undefined;
    },

    async entitlements(resource) {
      return { items: [roleEntitlement(resource)] };
    },

    async grants(resource, page: PageRequest<RoleGrantsState>, ctx): Promise<PageResult<Grant, RoleGrantsState>> {
      const role = roleById(resource.id?.resource);
      if (!role) throw notFound(`celigo: unknown role ${JSON.stringify(resource.id?.resource)}`);
      const ent = roleEntitlement(resource);
      const toGrant = (shareId: string) => grant(ent, resourceId(userType, shareId));
      const state = page.state;

      // A role started on the API path stays on it: its position means nothing to the index.
      const fromIndex =
        state === undefined || 'index' in state ? accountIndex?.usersWithLevel(role.id, ctx.syncId) : undefined;
      if (fromIndex) {
        const offset = state && 'index' in state && Number.isInteger(state.index) && state.index > 0 ? state.index : 0;
        const end = offset + page.size;
        return {
          items: fromIndex.slice(offset, end).map(toGrant),
          next: end < fromIndex.length ? { index: end } : undefined,
        };
      }

      const position = state && 'api' in state ? state.api : undefined;
      const slice = await client.listAshares(position, page.size, ctx.signal);
      return {
        items: slice.items.filter((share) => share.accessLevel === role.id).map((share) => toGrant(share._id)),
        next: slice.next ? { api: slice.next } : undefined,
      };
    },

    async grant(principal: Resource, ent: Entitlement, ctx: CallContext): Promise<GrantOutcome> {
      const shareId = requireUserPrincipal(principal.id?.resourceType, principal.id?.resource, 'hold Celigo roles');
      const role = roleOf(ent);
      const share = await client.getAshare(shareId, ctx.signal);
      if (!share) throw notFound(`celigo: user ${shareId} not found in the Celigo account`);
      if (share.accessLevel === role.id) return { alreadyExists: true };
      await setAccessLevel(shareId, share, role.id, ctx);
      const roleResourceForGrant = ent.resource?.id ? ent.resource : toRoleResource(role);
      return { grants: [grant(roleEntitlement(roleResourceForGrant), resourceId(userType, shareId))] };
    },

    async revoke(g: Grant, ctx: CallContext): Promise<RevokeOutcome> {
      const shareId = requireUserPrincipal(
        g.principal?.id?.resourceType,
        g.principal?.id?.resource,
        'hold Celigo roles',
      );
      const role = roleOf(g.entitlement);
      if (role.id === LOWEST) {
        throw failedPrecondition(
          'celigo: the Monitor role cannot be revoked: Monitor is the lowest account-wide access level in Celigo, and ' +
            'taking it away means removing the user from the account, a different operation that this connector does not ' +
            'perform (grant Manage or Administrator to change the level instead)',
        );
      }
      const share = await client.getAshare(shareId, ctx.signal);
      if (!share) {
        ctx.logger.info('celigo: user no longer in the account; nothing to revoke', { userId: shareId, role: role.id });
        return { alreadyRevoked: true };
      }
      if (share.accessLevel !== role.id) return { alreadyRevoked: true };
      await setAccessLevel(shareId, share, LOWEST, ctx);
      return {};
    },
  };

  async function setAccessLevel(shareId: string, share: Ashare, level: AccessLevel, ctx: CallContext): Promise<void> {
    // Before the PUT: should it fail after taking effect, the index must not claim the old level.
    accountIndex?.invalidate();
    await client.updateAshare(shareId, writableShare(share, { accessLevel: level }), ctx.signal);
    ctx.logger.info('celigo: changed account access level', {
      userId: shareId,
      from: share.accessLevel ?? '(integration-only)',
      to: level,
    });
  }
}

/** The role an entitlement belongs to: from its resource, else from its id `role:<role>:assigned`. */
function roleOf(ent: Entitlement | undefined): RoleInfo {
  if (!ent) throw invalidArgument('celigo: the request has no entitlement');
  const rid = ent.resource?.id;
  let id: string | undefined;
  if (rid) {
    if (rid.resourceType !== roleType.id) throw invalidArgument(`celigo: not a role entitlement: ${ent.id}`);
    if (ent.slug && ent.slug !== ASSIGNED)
      throw invalidArgument(`celigo: roles have only the "${ASSIGNED}" entitlement, not "${ent.slug}"`);
    id = rid.resource;
  } else {
    id = /^role:(.+):assigned$/.exec(ent.id)?.[1];
  }
  const role = roleById(id);
  if (!role) {
    throw invalidArgument(
      `celigo: unknown role ${JSON.stringify(id ?? ent.id)}; the roles are ${ROLES.map((r) => r.id).join(', ')}`,
    );
  }
  return role;
}
