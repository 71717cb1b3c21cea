/**
 * RudderStack SCIM groups. Each has one entitlement, `member`, held by users; grants come from the groups'
 * members (or the users' `groups` when RudderStack leaves members out). RudderStack documents SCIM group support as
 * recent, so an organization whose SCIM API has no /Groups (404 or 501) syncs users only, with a warning. The
 * workspace member/admin role is not part of the SCIM API and is not synced. Read-only.
 */
import { scimGroupSyncer, scimGroupType, type ScimParts } from '@baton-ts/shared/scim';
import { PRODUCT } from './common.js';
import { userType } from './user.js';

export const groupType = scimGroupType('A RudderStack group (SCIM); members get the access its policies give');

export function groupSyncer(parts: ScimParts) {
  return scimGroupSyncer({ ...parts, type: groupType, userType, product: PRODUCT });
}
