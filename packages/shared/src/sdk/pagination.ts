/**
 * Page tokens are opaque to the host, but they must be self-contained: hosts checkpoint them in the c1z and may
 * replay them after a crash, possibly into a new process. So a token carries the connector's whole paging state
 * (cursor, offset, nested positions) as versioned base64url JSON, and never refers to anything held in memory.
 * Tokens stay within 4096 bytes, the limit old SDKs (v0.1.3-v0.2.44) validate.
 */
import type { Any } from '@bufbuild/protobuf/wkt';
import { invalidArgument, internal } from './errors.js';

export const MAX_PAGE_TOKEN_BYTES = 4096;
const TOKEN_PREFIX = 'bt1.';

export function encodePageToken(state: unknown): string {
  if (state === undefined || state === null) return '';
  const token = TOKEN_PREFIX + Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
  if (token.length > MAX_PAGE_TOKEN_BYTES) {
    throw internal(`page token of ${token.length} bytes exceeds the ${MAX_PAGE_TOKEN_BYTES}-byte limit`);
  }
  return token;
}

/**
 * Decodes a token this SDK produced; anything else is INVALID_ARGUMENT, never a silent restart. The token is not
 * signed, so a syncer that trusts its state's shape should check it (pageOfArray does).
 */
export function decodePageToken<S = unknown>(token: string | undefined): S | undefined {
  if (!token) return undefined;
  if (!token.startsWith(TOKEN_PREFIX)) throw invalidArgument('invalid page token: not issued by this connector');
  try {
    return JSON.parse(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8')) as S;
  } catch {
    throw invalidArgument('invalid page token: cannot be decoded');
  }
}

/** What a syncer's list method receives. */
export interface PageRequest<S> {
  /** The state the syncer returned as `next` for the previous page; undefined on the first page. */
  state: S | undefined;
  /** Page size the host asked for, or the connector's default when it did not say (it never does). */
  size: number;
}

/** What a syncer's list method returns. */
export interface PageResult<T, S> {
  items: T[];
  /** State for the next page; undefined (or absent) when this was the last page. */
  next?: S;
  annotations?: Any[];
}

/**
 * Paging over an in-memory list (static roles, a small fixed set): the state is the offset.
 */
export function pageOfArray<T>(all: readonly T[], page: PageRequest<number>): PageResult<T, number> {
  const start = page.state ?? 0;
  if (!Number.isInteger(start) || start < 0)
    throw invalidArgument('invalid page token: not an offset issued by this connector');
  const end = Math.min(all.length, start + page.size);
  return { items: all.slice(start, end), next: end < all.length ? end : undefined };
}
