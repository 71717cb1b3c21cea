/** What the resource types share: the RPC page size, page positions, and the user-only principal rule. */
import { invalidArgument } from '@baton-ts/shared';
import type { LinkPageState } from '@baton-ts/shared/http';

/**
 * Items per RPC page when the host does not ask (hosts never do): the most a Baton host accepts. An API page of 1000
 * records is then served in four RPC pages, from one API request.
 */
export const PAGE_SIZE = 250;

/** A page state as a comparable key (the account index chains pages by it); undefined for the first page. */
export function pagePosition(state: LinkPageState | undefined): string | undefined {
  return state === undefined ? undefined : JSON.stringify([state.url ?? null, state.offset ?? 0]);
}

/**
 * The principal's user (share) id; INVALID_ARGUMENT, before any API call, when the principal is not a user.
 * `holds` completes "only users …", e.g. "hold Celigo roles".
 */
export function requireUserPrincipal(type: string | undefined, id: string | undefined, holds: string): string {
  if (type !== 'user' || !id) {
    throw invalidArgument(`celigo: only users ${holds}; the principal is a ${type || 'resource of unknown type'}`);
  }
  return id;
}
