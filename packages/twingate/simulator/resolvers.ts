import {
  GraphQLError,
  GraphQLInterfaceType,
  GraphQLObjectType,
  GraphQLScalarType,
  buildSchema,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';

import { connectionFromList, type ConnectionArgs, type PagingPolicy } from './connection.js';
import { decodeId } from './ids.js';
import type { GroupRecord, GroupType, UserRecord, UserRole, UserState } from './model.js';
import { TWINGATE_SDL } from './schema.js';
import type { MutationPolicy, MutationResult, TwingateState } from './state.js';

/** Per-request context handed to every resolver. */
export interface ResolverContext {
  state: TwingateState;
  paging: PagingPolicy;
  mutations: MutationPolicy;
}

interface StringFilter {
  eq?: string | null;
  ne?: string | null;
  startsWith?: string | null;
  endsWith?: string | null;
  contains?: string | null;
  regexp?: string | null;
}

interface UserFilter {
  firstName?: StringFilter | null;
  lastName?: StringFilter | null;
  email?: StringFilter | null;
  role?: { in?: UserRole[] | null } | null;
}

interface GroupFilter {
  name?: StringFilter | null;
  type?: { in?: GroupType[] | null } | null;
  isActive?: { eq?: boolean | null } | null;
}

type ListArgs<F> = ConnectionArgs & { filter?: F | null };

function stringMatcher(filter: StringFilter | null | undefined): ((value: string) => boolean) | null {
  if (!filter) return null;
  let regexp: RegExp | null = null;
  if (filter.regexp !== undefined && filter.regexp !== null) {
    try {
      regexp = new RegExp(filter.regexp);
    } catch {
      throw new GraphQLError(`Invalid regular expression: ${filter.regexp}`);
    }
  }
  return (value) =>
    (filter.eq == null || value === filter.eq) &&
    (filter.ne == null || value !== filter.ne) &&
    (filter.startsWith == null || value.startsWith(filter.startsWith)) &&
    (filter.endsWith == null || value.endsWith(filter.endsWith)) &&
    (filter.contains == null || value.includes(filter.contains)) &&
    (regexp === null || regexp.test(value));
}

function filterUsers(users: readonly UserRecord[], filter: UserFilter | null | undefined): readonly UserRecord[] {
  if (!filter) return users;
  const first = stringMatcher(filter.firstName);
  const last = stringMatcher(filter.lastName);
  const email = stringMatcher(filter.email);
  const roles = filter.role?.in ?? null;
  if (!first && !last && !email && !roles) return users;
  return users.filter(
    (u) =>
      (!first || first(u.firstName)) &&
      (!last || last(u.lastName)) &&
      (!email || email(u.email)) &&
      (!roles || roles.includes(u.role)),
  );
}

function filterGroups(groups: readonly GroupRecord[], filter: GroupFilter | null | undefined): readonly GroupRecord[] {
  if (!filter) return groups;
  const name = stringMatcher(filter.name);
  const types = filter.type?.in ?? null;
  const active = filter.isActive?.eq ?? null;
  if (!name && !types && active === null) return groups;
  return groups.filter(
    (g) => (!name || name(g.name)) && (!types || types.includes(g.type)) && (active === null || g.isActive === active),
  );
}

function payload<T>(result: MutationResult<T>): { ok: boolean; error: string | null; entity: T | null } {
  return result.ok
    ? { ok: true, error: null, entity: result.entity }
    : { ok: false, error: result.error, entity: result.entity };
}

/**
 * A field resolver with its own source and argument types (each resolver below declares them). `never` here accepts
 * them all: graphql-js calls each resolver with the parent value and arguments its schema field defines.
 */
type Resolver = GraphQLFieldResolver<never, ResolverContext, never>;

const resolvers: Record<string, Record<string, Resolver>> = {
  Query: {
    node: (_root, { id }: { id: string }, ctx) => ctx.state.getUser(id) ?? ctx.state.getGroup(id) ?? null,
    user: (_root, { id }: { id: string }, ctx) => ctx.state.getUser(id) ?? null,
    group: (_root, { id }: { id: string }, ctx) => ctx.state.getGroup(id) ?? null,
    users: (_root, args: ListArgs<UserFilter>, ctx) =>
      connectionFromList(filterUsers(ctx.state.listUsers(), args.filter), args, ctx.paging, 'users'),
    groups: (_root, args: ListArgs<GroupFilter>, ctx) =>
      connectionFromList(filterGroups(ctx.state.listGroups(), args.filter), args, ctx.paging, 'groups'),
  },
  User: {
    isAdmin: (user: UserRecord) => user.role !== 'MEMBER',
    groups: (user: UserRecord, args: ConnectionArgs, ctx) =>
      connectionFromList(ctx.state.groupsOf(user.id), args, ctx.paging, 'groups'),
  },
  Group: {
    users: (group: GroupRecord, args: ConnectionArgs, ctx) =>
      connectionFromList(ctx.state.groupMembers(group.id), args, ctx.paging, 'users'),
  },
  Mutation: {
    groupUpdate: (
      _root,
      args: {
        id: string;
        name?: string | null;
        isActive?: boolean | null;
        addedUserIds?: string[] | null;
        removedUserIds?: string[] | null;
      },
      ctx,
    ) => payload(ctx.state.updateGroup(args, ctx.mutations)),
    groupCreate: (_root, args: { name: string; userIds?: string[] | null }, ctx) =>
      payload(ctx.state.createGroup(args)),
    groupDelete: (_root, { id }: { id: string }, ctx) => {
      const result = ctx.state.deleteGroup(id, ctx.mutations);
      return result.ok ? { ok: true, error: null } : { ok: false, error: result.error };
    },
    userRoleUpdate: (_root, { id, role }: { id: string; role: UserRole }, ctx) =>
      payload(ctx.state.setUserRole(id, role)),
    userDetailsUpdate: (
      _root,
      args: { id: string; firstName?: string | null; lastName?: string | null; state?: UserState | null },
      ctx,
    ) => payload(ctx.state.updateUserDetails(args)),
    userCreate: (
      _root,
      args: { email: string; firstName?: string | null; lastName?: string | null; role?: UserRole | null },
      ctx,
    ) => payload(ctx.state.createUser(args)),
    userDelete: (_root, { id }: { id: string }, ctx) => {
      const result = ctx.state.deleteUser(id);
      return result.ok ? { ok: true, error: null } : { ok: false, error: result.error };
    },
  },
};

/** Builds the executable schema: SDL plus resolvers attached to its fields. */
export function buildTwingateSchema(): GraphQLSchema {
  const schema = buildSchema(TWINGATE_SDL);
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(typeName);
    if (!(type instanceof GraphQLObjectType)) throw new Error(`schema has no object type ${typeName}`);
    const defined = type.getFields();
    for (const [fieldName, resolve] of Object.entries(fields)) {
      const field = defined[fieldName];
      if (!field) throw new Error(`schema has no field ${typeName}.${fieldName}`);
      // graphql-js passes the source and arguments this field's definition promises (see Resolver).
      field.resolve = resolve as GraphQLFieldResolver<unknown, unknown, unknown>;
    }
  }
  const node = schema.getType('Node');
  if (node instanceof GraphQLInterfaceType) {
    node.resolveType = (value: { id?: unknown }) => (decodeId(String(value.id), 'User') !== null ? 'User' : 'Group');
  }
  const dateTime = schema.getType('DateTime');
  if (dateTime instanceof GraphQLScalarType) {
    dateTime.serialize = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));
  }
  return schema;
}
