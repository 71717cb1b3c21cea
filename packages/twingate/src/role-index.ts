/**
 * Every user's role, recorded while the users listing runs, so the role grants need no request of their own.
 *
 * Why: the users listing (resources phase) already returns each user's `role`, and a Baton host lists every
 * resource of every type before it asks for any grants. Without this index each role's grants would read the users
 * again through `users(filter: {role: {in: [ROLE]}})` (about ⌈U/100⌉ + 4 requests for the five roles).
 *
 * It is the SDK's `ListingIndex` (user id -> role; the pages are chained by the users listing's cursors), so it is
 * trusted only when it certainly holds every user of this sync: a complete, unbroken listing with the same sync id,
 * under its cap, and not invalidated since (a role changed through this connector drops it). Whenever it is not
 * usable, the role syncer falls back to the filtered users query, which gives the same grants.
 */

import { ListingIndex } from '@baton-ts/shared';

/** User id -> role, recorded by the users listing; `keysWithValue(role, syncId)` gives a role's users. */
export type UserRoleIndex = ListingIndex<string>;

/** `maxUsers`: upper bound on users recorded (default 250,000: two short strings each, a few tens of MB at most). */
export function newUserRoleIndex(options: { maxUsers?: number } = {}): UserRoleIndex {
  return new ListingIndex<string>({ maxEntries: options.maxUsers });
}
