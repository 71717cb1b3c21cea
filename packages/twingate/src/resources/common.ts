/** What the group and role resource types share: the `member` entitlement slug and the user-only principal rule. */
import { invalidArgument } from '@baton-ts/shared';
import { userType } from './user.js';

/** Slug of the one entitlement groups and roles have. */
export const MEMBER = 'member';

/**
 * The principal's user id; INVALID_ARGUMENT (before any API call) when the principal is not a user.
 * `holds` completes "only users …", e.g. "can be members of a group".
 */
export function requireUserPrincipal(type: string | undefined, id: string | undefined, holds: string): string {
  if (type !== userType.id || !id) {
    throw invalidArgument(`twingate: only users ${holds}; the principal is a ${type || 'resource of unknown type'}`);
  }
  return id;
}
