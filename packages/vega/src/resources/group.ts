/**
 * VEGA groups (SCIM). Each has one entitlement, `member`, held by users; grants come from the groups' members,
 * or from the users' `groups` when VEGA leaves members out (servers built for Entra may). A VEGA tenant without
 * /Groups syncs users only, with a warning.
 *
 * Provisioning: a grant adds the user with PATCH `add members`; a revoke removes them with PATCH `remove
 * members[value eq "<id>"]`, or in Entra's legacy form (`path: members` with a value list) when VEGA only
 * understands that. Both read the membership first, so granting what is held or revoking what is not changes
 * nothing.
 */
import { scimGroupSyncer, scimGroupType, type ScimParts } from '@baton-ts/shared/scim';
import { PRODUCT } from './common.js';
import { userType } from './user.js';

export const groupType = scimGroupType('A VEGA group (SCIM)');

export function groupSyncer(parts: ScimParts) {
  return scimGroupSyncer({ ...parts, type: groupType, userType, product: PRODUCT, provisioning: true });
}
