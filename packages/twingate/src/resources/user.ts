/**
 * Twingate users: accounts only. They hold group memberships and a role, but have no entitlements of their own,
 * so the type carries SkipEntitlementsAndGrants and the host never asks for their entitlements or grants.
 */
import {
  resourceType,
  userResource,
  type PageRequest,
  type PageResult,
  type Resource,
  type ResourceStatusName,
  type ResourceSyncer,
} from '@baton-ts/shared';
import type { TwingateClient, TwingateUser } from '../client.js';
import type { UserRoleIndex } from '../role-index.js';
import { MAX_PAGE_SIZE } from '../client.js';

export const userType = resourceType({
  id: 'user',
  displayName: 'User',
  traits: ['user'],
  description: 'A Twingate user',
  skipEntitlementsAndGrants: true,
});

interface UserStatus {
  status: ResourceStatusName;
  details?: string;
}

/**
 * Twingate `state` -> trait status. The trait knows ENABLED, DISABLED and DELETED only, so PENDING (invited, has
 * not signed in yet) is ENABLED with details saying so: a pending user's group memberships and role are already in
 * force and take effect the moment the invitation is accepted, which is what an access review must see. DISABLED
 * would claim the access is off; leaving the status unspecified would drop the information.
 */
export function userStatus(state: string): UserStatus {
  switch (state) {
    case 'ACTIVE':
      return { status: 'enabled' };
    case 'DISABLED':
      return { status: 'disabled', details: 'disabled in Twingate' };
    case 'PENDING':
      return { status: 'enabled', details: 'pending: invited, has not signed in yet' };
    default:
      return { status: 'enabled', details: state ? `Twingate state ${state}` : undefined };
  }
}

/** "First Last", or whichever is set, or the email (never a lone space). */
export function userDisplayName(user: Pick<TwingateUser, 'firstName' | 'lastName' | 'email' | 'id'>): string {
  const name = [user.firstName.trim(), user.lastName.trim()].filter(Boolean).join(' ');
  return name || user.email || user.id;
}

export function toUserResource(user: TwingateUser, consoleOrigin: string | undefined): Resource {
  const status = userStatus(user.state);
  const created = user.createdAt ? new Date(user.createdAt) : undefined;
  return userResource({
    type: userType,
    id: user.id,
    displayName: userDisplayName(user),
    emails: user.email ? [user.email] : [],
    login: user.email || undefined,
    givenName: user.firstName || undefined,
    familyName: user.lastName || undefined,
    status: status.status,
    statusDetails: status.details,
    createdAt: created && !Number.isNaN(created.getTime()) ? created : undefined,
    externalLink: consoleOrigin ? `${consoleOrigin}/users/${encodeURIComponent(user.id)}` : undefined,
    profile: {
      user_id: user.id,
      email: user.email,
      first_name: user.firstName,
      last_name: user.lastName,
      role: user.role,
      state: user.state,
      type: user.type,
    },
  });
}

interface UserPageState {
  /** Cursor of the last user on the previous page. */
  after: string;
}

/**
 * `knownRoles`: the role enum values the role syncer emits grants for. A user holding any other role (Twingate adds
 * roles from time to time, ACCESS_REVIEWER in 2025) would silently get no role grant, so it is reported instead.
 *
 * `roleIndex`: every listed page is recorded there, so the role grants can be answered without reading the users
 * again (see role-index.ts).
 */
export function userSyncer(deps: {
  client: TwingateClient;
  consoleOrigin?: string;
  knownRoles: ReadonlySet<string>;
  roleIndex?: UserRoleIndex;
}): ResourceSyncer {
  return {
    resourceType: userType,
    defaultPageSize: MAX_PAGE_SIZE,

    async list(_parent, page: PageRequest<UserPageState>, ctx): Promise<PageResult<Resource, UserPageState>> {
      const result = await deps.client.listUsers({ after: page.state?.after, first: page.size, signal: ctx.signal });
      for (const user of result.items) {
        if (!deps.knownRoles.has(user.role)) {
          ctx.logger.warn('twingate: user has a role this connector does not know; no role grant is emitted for it', {
            user: user.id,
            role: user.role,
          });
        }
      }
      const next = result.hasNextPage && result.endCursor ? { after: result.endCursor } : undefined;
      deps.roleIndex?.record({
        from: page.state?.after,
        next: next?.after,
        entries: result.items.map((u) => [u.id, u.role] as const),
        syncId: ctx.syncId,
      });
      return {
        items: result.items.map((u) => toUserResource(u, deps.consoleOrigin)),
        next,
      };
    },

    async entitlements() {
      return { items: [] };
    },

    async grants() {
      return { items: [] };
    },
  };
}
