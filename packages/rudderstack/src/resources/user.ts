/**
 * RudderStack users: the organization's members as RudderStack's SCIM API reports them (`userName` is the login,
 * usually the email; `active: false` is a deactivated member whose organization role was revoked). Accounts only:
 * no entitlements of their own. Read-only.
 */
import { scimUserSyncer, scimUserType, type ScimParts } from '@baton-ts/shared/scim';
import { PRODUCT } from './common.js';

export const userType = scimUserType('A member of the RudderStack organization (SCIM user)');

export function userSyncer(parts: ScimParts) {
  return scimUserSyncer({ ...parts, type: userType, product: PRODUCT });
}
