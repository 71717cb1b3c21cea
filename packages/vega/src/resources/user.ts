/**
 * VEGA users, as VEGA's SCIM endpoint reports them: email and name (what VEGA's SCIM integration synchronises),
 * `userName` as the login, `active: false` as disabled. Accounts only: no entitlements of their own; VEGA's
 * granular permissions stay managed inside VEGA and are not part of SCIM.
 *
 * Provisioning: accounts are created with `POST /Users` (see the account manager in connector.ts) and deleted with
 * `DELETE /Users/{id}`, or deactivated with `active: false` under `--deprovision-mode deactivate`.
 */
import { scimUserSyncer, scimUserType, type DeprovisionMode, type ScimParts } from '@baton-ts/shared/scim';
import { PRODUCT } from './common.js';

export const userType = scimUserType('A VEGA user (SCIM)');

export function userSyncer(parts: ScimParts, deprovision: DeprovisionMode) {
  return scimUserSyncer({ ...parts, type: userType, product: PRODUCT, deprovision });
}
