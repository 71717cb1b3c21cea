import { GraphQLError } from 'graphql';

import { decodeCursor, encodeCursor } from './ids.js';

/** What happens when a client asks for more than the maximum page size. */
export type PageSizeOverflow = 'error' | 'clamp';

export interface PagingPolicy {
  /** Page size when neither `first` nor `last` is given (applies to nested connections too). */
  defaultPageSize: number;
  maxPageSize: number;
  overflow: PageSizeOverflow;
}

export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Edge<T> {
  node: T;
  cursor: string;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: {
    startCursor: string | null;
    endCursor: string | null;
    hasNextPage: boolean;
    hasPreviousPage: boolean;
  };
  totalCount: number;
}

function checkSize(name: 'first' | 'last', value: number, policy: PagingPolicy, connectionName: string): number {
  if (value < 0)
    throw new GraphQLError(`Argument "${name}" on the \`${connectionName}\` connection cannot be negative.`);
  if (value > policy.maxPageSize) {
    if (policy.overflow === 'clamp') return policy.maxPageSize;
    // Same wording as graphene's max_limit error, so clients learn the maximum from the message.
    throw new GraphQLError(
      `Requesting ${value} records on the \`${connectionName}\` connection exceeds the \`${name}\` limit of ${policy.maxPageSize} records.`,
    );
  }
  return value;
}

/**
 * Relay connection over an in-memory list, with graphql-relay's offset semantics (what graphene, and so
 * Twingate, implements): `after` is exclusive, an unreadable cursor means "start" (or "end" for `before`),
 * `hasNextPage` is only computed for forward paging and `hasPreviousPage` only for backward paging.
 */
export function connectionFromList<T>(
  items: readonly T[],
  args: ConnectionArgs,
  policy: PagingPolicy,
  connectionName: string,
): Connection<T> {
  const total = items.length;
  let first = args.first ?? null;
  let last = args.last ?? null;
  if (first !== null) first = checkSize('first', first, policy, connectionName);
  if (last !== null) last = checkSize('last', last, policy, connectionName);
  if (first === null && last === null) first = Math.min(policy.defaultPageSize, policy.maxPageSize);

  const afterOffset = decodeCursor(args.after);
  const beforeOffset = decodeCursor(args.before);
  let start = afterOffset === null ? 0 : Math.min(afterOffset + 1, total);
  let end = beforeOffset === null ? total : Math.max(start, Math.min(beforeOffset, total));
  const lowerBound = start;
  const upperBound = end;
  if (first !== null) end = Math.min(end, start + first);
  if (last !== null) start = Math.max(start, end - last);

  const edges: Edge<T>[] = [];
  for (let i = start; i < end; i++) edges.push({ node: items[i] as T, cursor: encodeCursor(i) });
  return {
    edges,
    pageInfo: {
      startCursor: edges.length > 0 ? edges[0]!.cursor : null,
      endCursor: edges.length > 0 ? edges[edges.length - 1]!.cursor : null,
      hasNextPage: first !== null ? end < upperBound : false,
      hasPreviousPage: last !== null ? start > lowerBound : false,
    },
    totalCount: total,
  };
}
