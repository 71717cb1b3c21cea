/**
 * Celigo users: one per account share (`/v1/ashares`), with the share's `_id` as the resource id (as the Go
 * connector does; the person's own id is in the profile as `userId`). The account owner has no share, so it is not
 * listed. Users hold roles and integration access but have no entitlements of their own, so the type carries
 * SkipEntitlementsAndGrants and the host never asks for their entitlements or grants.
 */
import {
  resourceType,
  userResource,
  type CallContext,
  type PageRequest,
  type PageResult,
  type Resource,
  type ResourceId,
  type ResourceStatusName,
  type ResourceSyncer,
} from '@baton-ts/shared';
import type { LinkPageState } from '@baton-ts/shared/http';
import { isAccessLevel, type Ashare, type CeligoClient } from '../client.js';
import type { AccountIndex } from '../account-index.js';
import { pagePosition, PAGE_SIZE } from './common.js';

export const userType = resourceType({
  id: 'user',
  displayName: 'User',
  traits: ['user'],
  description: 'A user of the Celigo account (an account share)',
  skipEntitlementsAndGrants: true,
});

interface UserStatus {
  status: ResourceStatusName;
  details?: string;
}

/**
 * Share flags -> trait status. A pending invitation is ENABLED with details saying so: the access it carries is
 * already set and takes effect the moment the invitation is accepted, which is what an access review must see. A
 * declined invitation (`dismissed`) gives no access at all, so it is DISABLED, like a disabled user.
 */
export function userStatus(share: Pick<Ashare, 'disabled' | 'dismissed' | 'accepted'>): UserStatus {
  if (share.disabled === true) return { status: 'disabled', details: 'disabled in Celigo' };
  if (share.dismissed === true) return { status: 'disabled', details: 'invitation declined' };
  if (share.accepted === false) return { status: 'enabled', details: 'pending: invited, has not accepted yet' };
  return { status: 'enabled' };
}

function date(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function toUserResource(share: Ashare): Resource {
  const person = share.sharedWithUser ?? {};
  const email = typeof person.email === 'string' ? person.email : '';
  const name = typeof person.name === 'string' ? person.name.trim() : '';
  const ssoLinked = typeof person.accountSSOLinked === 'string' ? person.accountSSOLinked : '';
  const status = userStatus(share);
  return userResource({
    type: userType,
    id: share._id,
    displayName: name || email || share._id,
    emails: email ? [email] : [],
    login: email || undefined,
    status: status.status,
    statusDetails: status.details,
    createdAt: date(share.createdAt),
    lastLogin: date(person.lastSignIn) ?? date(share.lastSignIn),
    ssoEnabled: ssoLinked ? ssoLinked === 'this_account' : undefined,
    profile: {
      // The Go connector's five keys, with its values (a stable API: never renamed or removed).
      email,
      login: email,
      allowedToResetMFA: person.allowedToResetMFA === true,
      accountSSOLinked: ssoLinked,
      accountSSORequired: share.accountSSORequired === true,
      // What else an access review wants to see.
      name,
      userId: typeof person._id === 'string' ? person._id : '',
      accessLevel: typeof share.accessLevel === 'string' ? share.accessLevel : '',
      integrationAccessLevel: (share.integrationAccessLevel ?? [])
        .filter((e) => typeof e?._integrationId === 'string')
        .map((e) => ({ integrationId: e._integrationId, accessLevel: String(e.accessLevel ?? '') })),
      accepted: share.accepted !== false,
      disabled: share.disabled === true,
      accountMFARequired: share.accountMFARequired === true,
    },
  });
}

export function userSyncer(deps: { client: CeligoClient; accountIndex?: AccountIndex }): ResourceSyncer {
  const { client, accountIndex } = deps;
  return {
    resourceType: userType,
    defaultPageSize: PAGE_SIZE,

    async list(_parent, page: PageRequest<LinkPageState>, ctx): Promise<PageResult<Resource, LinkPageState>> {
      const slice = await client.listAshares(page.state, page.size, ctx.signal);
      for (const share of slice.items) {
        if (share.accessLevel !== undefined && !isAccessLevel(share.accessLevel)) {
          ctx.logger.warn(
            'celigo: user has an account access level this connector does not know; no role grant for it',
            {
              user: share._id,
              accessLevel: share.accessLevel,
            },
          );
        }
      }
      accountIndex?.recordUsers({
        from: pagePosition(page.state),
        next: pagePosition(slice.next),
        shares: slice.items,
        syncId: ctx.syncId,
      });
      return { items: slice.items.map(toUserResource), next: slice.next };
    },

    async get(id: ResourceId, _parent, ctx: CallContext) {
      const share = await client.getAshare(id.resource, ctx.signal);
      return share ? toUserResource(share) : undefined;
    },

    async entitlements() {
      return { items: [] };
    },

    async grants() {
      return { items: [] };
    },
  };
}
