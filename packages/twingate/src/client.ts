/**
 * The Twingate Admin API client: GraphQL over the shared HTTP client. Nothing here knows about gRPC or Baton.
 *
 * What it does differently from the Go connector (docs/apis/twingate.md, "Its bugs, which ours does not reproduce"), on purpose:
 * - ids, cursors and page sizes travel as GraphQL variables, never pasted into the query text;
 * - the first page is requested without `after` (never the literal "<nil>");
 * - pages use the largest size the API accepts (100), and group members arrive nested in the groups query;
 * - a 429 is retried after its Retry-After by the HTTP client and is never mistaken for an empty page;
 * - top-level `errors[]`, a missing payload and `ok: false` are all errors carrying the API's own message;
 * - a null edge or node is skipped and logged instead of crashing the sync.
 */
import { Code, ConnectorError, type Logger, type RuntimeStats } from '@baton-ts/shared';
import { createHttpClient, type HttpClient, type RetryOptions } from '@baton-ts/shared/http';

/** The largest `first` the API accepts (graphene's max_limit on Twingate; TF's "extended" page size). */
export const MAX_PAGE_SIZE = 100;

export const USER_ROLES = ['ADMIN', 'DEVOPS', 'SUPPORT', 'ACCESS_REVIEWER', 'MEMBER'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface TwingateUser {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  /** ADMIN, DEVOPS, SUPPORT, ACCESS_REVIEWER, MEMBER (kept as a string: a newer API may add roles). */
  role: string;
  /** ACTIVE, DISABLED or PENDING. */
  state: string;
  /** MANUAL or SYNCED (from an identity provider). */
  type: string;
  createdAt?: string;
}

/** One page of a group's members, as user ids. */
export interface MemberPage {
  userIds: string[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface TwingateGroup {
  id: string;
  name: string;
  /** MANUAL, SYNCED (membership from an identity provider) or SYSTEM (built in, e.g. "Everyone"). */
  type: string;
  isActive: boolean;
  createdAt?: string;
  /** The first page of members, fetched nested in the groups query. */
  members: MemberPage;
}

export interface Page<T> {
  items: T[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface PageArgs {
  after?: string;
  first?: number;
  signal?: AbortSignal;
}

/** What a membership pre-read learns (group and user exist, and whether the user is a member). */
export interface MembershipCheck {
  group: { id: string; name: string; type: string } | null;
  user: { id: string } | null;
  isMember: boolean;
}

export interface TwingateClientOptions {
  /** The full GraphQL endpoint URL, e.g. https://acme.twingate.com/api/graphql/. */
  endpoint: string;
  apiKey: string;
  logger?: Logger;
  stats?: RuntimeStats;
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Injectable for tests (Retry-After waits). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Operations. Selections ask only for what the connector uses.

const PAGE_INFO = 'pageInfo { endCursor hasNextPage }';
const USER_FIELDS = 'id email firstName lastName role state type createdAt';

const VALIDATE = `query Validate { users(first: 1) { edges { node { id } } ${PAGE_INFO} } }`;

const LIST_USERS = `query ListUsers($first: Int!, $after: String) {
  users(first: $first, after: $after) { edges { node { ${USER_FIELDS} } } ${PAGE_INFO} }
}`;

// Role grants: the API filters by role, so the five roles together read every user exactly once.
const LIST_USER_IDS_WITH_ROLE = `query ListUserIdsWithRole($role: UserRole!, $first: Int!, $after: String) {
  users(first: $first, after: $after, filter: { role: { in: [$role] } }) { edges { node { id } } ${PAGE_INFO} }
}`;

const LIST_GROUPS = `query ListGroups($first: Int!, $after: String, $membersFirst: Int!) {
  groups(first: $first, after: $after) {
    edges { node { id name type isActive createdAt users(first: $membersFirst) { edges { node { id } } ${PAGE_INFO} } } }
    ${PAGE_INFO}
  }
}`;

const GROUP_MEMBERS = `query GroupMembers($id: ID!, $first: Int!, $after: String) {
  group(id: $id) { id type users(first: $first, after: $after) { edges { node { id } } ${PAGE_INFO} } }
}`;

const GET_USER = `query GetUser($id: ID!) { user(id: $id) { ${USER_FIELDS} } }`;

// Membership is checked from the user's side: a user belongs to a handful of groups, while a group can hold
// thousands of users. The group is read in the same request for its type and existence.
const MEMBERSHIP_CHECK = `query GroupMembershipCheck($groupId: ID!, $userId: ID!, $first: Int!, $after: String) {
  group(id: $groupId) { id name type }
  user(id: $userId) { id groups(first: $first, after: $after) { edges { node { id } } ${PAGE_INFO} } }
}`;

const ADD_GROUP_MEMBERS = `mutation AddGroupMembers($id: ID!, $userIds: [ID!]!) {
  groupUpdate(id: $id, addedUserIds: $userIds) { ok error }
}`;

const REMOVE_GROUP_MEMBERS = `mutation RemoveGroupMembers($id: ID!, $userIds: [ID!]!) {
  groupUpdate(id: $id, removedUserIds: $userIds) { ok error }
}`;

const UPDATE_USER_ROLE = `mutation UpdateUserRole($id: ID!, $role: UserRole!) {
  userRoleUpdate(id: $id, role: $role) { ok error }
}`;

// ---------------------------------------------------------------------------------------------------------------

interface GraphQLErrorShape {
  message?: unknown;
}

interface GraphQLResponse {
  data?: Record<string, unknown> | null;
  errors?: GraphQLErrorShape[];
}

const PERMISSION_HINT = /permission|not authori[sz]ed|forbidden|not allowed|access denied/i;

function errorMessages(errors: GraphQLErrorShape[]): string {
  const messages = errors.map((e) =>
    typeof e?.message === 'string' && e.message.trim() ? e.message.trim() : 'unknown error',
  );
  return [...new Set(messages)].join('; ');
}

/** An error the API reported in a 2xx body; PermissionDenied when the API says it is about permissions. */
export function apiError(operation: string, message: string): ConnectorError {
  if (PERMISSION_HINT.test(message)) {
    return new ConnectorError(
      Code.PermissionDenied,
      `twingate: ${operation}: ${message} (the API token needs the Read & Write permission to change groups and roles)`,
    );
  }
  return new ConnectorError(Code.Unknown, `twingate: ${operation}: ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export class TwingateClient {
  private readonly http: HttpClient;
  private readonly path: string;
  private readonly logger?: Logger;

  constructor(options: TwingateClientOptions) {
    const url = new URL(options.endpoint);
    this.path = `${url.pathname}${url.search}`;
    this.logger = options.logger;
    this.http = createHttpClient({
      service: 'twingate',
      baseURL: url.origin,
      secretHeaders: { 'X-API-KEY': options.apiKey },
      timeoutMs: options.timeoutMs,
      retry: options.retry,
      stats: options.stats,
      logger: options.logger,
      sleep: options.sleep,
    });
  }

  /**
   * Sends one operation and returns `data`. Queries are retried like idempotent requests (a GraphQL query is a
   * POST but has no side effects); mutations only when the server surely did not process them (429, 503 with
   * Retry-After, nothing sent), per the HTTP client's policy.
   */
  async execute(
    operation: string,
    query: string,
    variables: Record<string, unknown> | undefined,
    options: { mutation?: boolean; signal?: AbortSignal } = {},
  ): Promise<Record<string, unknown>> {
    const body: Record<string, unknown> = { query, operationName: operation };
    if (variables) {
      // Absent, not null and never a placeholder string: unset cursors are simply left out.
      const defined = Object.fromEntries(Object.entries(variables).filter(([, v]) => v !== undefined));
      if (Object.keys(defined).length > 0) body.variables = defined;
    }
    let response: Awaited<ReturnType<HttpClient['post']>>;
    try {
      response = await this.http.post<unknown>(this.path, body, {
        retryable: options.mutation ? undefined : true,
        // graphene answers validation errors with 400 and a GraphQL body: read it to report the API's message.
        acceptStatus: [400],
        signal: options.signal,
      });
    } catch (err) {
      if (options.mutation && err instanceof ConnectorError && err.code === Code.PermissionDenied) {
        throw new ConnectorError(
          Code.PermissionDenied,
          `${err.message} (the API token needs the Read & Write permission to change groups and roles)`,
          { cause: err },
        );
      }
      throw err;
    }
    const payload = response.data;
    if (!isObject(payload)) {
      const what = response.status === 400 ? 'HTTP 400' : `HTTP ${response.status}`;
      throw new ConnectorError(
        response.status === 400 ? Code.InvalidArgument : Code.Unknown,
        `twingate: ${operation}: unexpected response (${what}, not a GraphQL JSON object)`,
      );
    }
    const gql = payload as GraphQLResponse;
    if (Array.isArray(gql.errors) && gql.errors.length > 0) {
      // Even with partial data, an error means the answer is incomplete: never treat it as a (short) success.
      throw apiError(operation, errorMessages(gql.errors));
    }
    if (response.status === 400 || !isObject(gql.data)) {
      throw new ConnectorError(Code.Unknown, `twingate: ${operation}: response has no data (HTTP ${response.status})`);
    }
    return gql.data;
  }

  /** The cheapest authenticated read: one user. */
  async validate(signal?: AbortSignal): Promise<void> {
    const data = await this.execute('Validate', VALIDATE, undefined, { signal });
    this.connection('Validate', data.users, 'users');
  }

  async listUsers(args: PageArgs = {}): Promise<Page<TwingateUser>> {
    const data = await this.execute(
      'ListUsers',
      LIST_USERS,
      { first: pageSize(args.first), after: args.after },
      { signal: args.signal },
    );
    const page = this.connection('ListUsers', data.users, 'users', args.after);
    return { ...page, items: page.items.map(toUser) };
  }

  /** Ids of the users holding `role`, one page at a time. */
  async listUserIdsWithRole(role: UserRole, args: PageArgs = {}): Promise<Page<string>> {
    const data = await this.execute(
      'ListUserIdsWithRole',
      LIST_USER_IDS_WITH_ROLE,
      { role, first: pageSize(args.first), after: args.after },
      { signal: args.signal },
    );
    const page = this.connection('ListUserIdsWithRole', data.users, 'users', args.after);
    return { ...page, items: page.items.map((n) => str(n.id)) };
  }

  /** Groups with their first page of members (`membersFirst`, default 100) in the same request. */
  async listGroups(args: PageArgs & { membersFirst?: number } = {}): Promise<Page<TwingateGroup>> {
    const data = await this.execute(
      'ListGroups',
      LIST_GROUPS,
      { first: pageSize(args.first), after: args.after, membersFirst: pageSize(args.membersFirst) },
      { signal: args.signal },
    );
    const page = this.connection('ListGroups', data.groups, 'groups', args.after);
    return {
      ...page,
      items: page.items.map((node) => ({
        id: str(node.id),
        name: str(node.name),
        type: str(node.type),
        isActive: node.isActive !== false,
        createdAt: str(node.createdAt) || undefined,
        members: this.memberPage('ListGroups', node.users, `groups[${str(node.id)}].users`),
      })),
    };
  }

  /** A page of a group's members; `group` is null when the group does not exist. */
  async groupMembers(
    groupId: string,
    args: PageArgs = {},
  ): Promise<{ group: { id: string; type: string } | null; members: MemberPage }> {
    const data = await this.execute(
      'GroupMembers',
      GROUP_MEMBERS,
      { id: groupId, first: pageSize(args.first), after: args.after },
      { signal: args.signal },
    );
    if (data.group === null || data.group === undefined) {
      return { group: null, members: { userIds: [], endCursor: null, hasNextPage: false } };
    }
    if (!isObject(data.group)) throw malformed('GroupMembers', 'group');
    return {
      group: { id: str(data.group.id), type: str(data.group.type) },
      members: this.memberPage('GroupMembers', data.group.users, 'group.users', args.after),
    };
  }

  async getUser(userId: string, signal?: AbortSignal): Promise<TwingateUser | null> {
    const data = await this.execute('GetUser', GET_USER, { id: userId }, { signal });
    if (data.user === null || data.user === undefined) return null;
    if (!isObject(data.user)) throw malformed('GetUser', 'user');
    return toUser(data.user);
  }

  /**
   * Whether `userId` is a member of `groupId`, read from the user's groups (usually one page), together with the
   * group's type. Answers with `group`/`user` null when either does not exist.
   */
  async checkMembership(groupId: string, userId: string, signal?: AbortSignal): Promise<MembershipCheck> {
    let after: string | undefined;
    let group: MembershipCheck['group'] = null;
    for (let pageNo = 0; ; pageNo++) {
      const data = await this.execute(
        'GroupMembershipCheck',
        MEMBERSHIP_CHECK,
        { groupId, userId, first: MAX_PAGE_SIZE, after },
        { signal },
      );
      if (pageNo === 0) {
        if (isObject(data.group))
          group = { id: str(data.group.id), name: str(data.group.name), type: str(data.group.type) };
        else if (data.group !== null && data.group !== undefined) throw malformed('GroupMembershipCheck', 'group');
      }
      if (data.user === null || data.user === undefined) return { group, user: null, isMember: false };
      if (!isObject(data.user)) throw malformed('GroupMembershipCheck', 'user');
      if (!group) return { group: null, user: { id: userId }, isMember: false };
      const page = this.connection('GroupMembershipCheck', data.user.groups, 'user.groups', after);
      if (page.items.some((node) => node.id === groupId)) return { group, user: { id: userId }, isMember: true };
      if (!page.hasNextPage) return { group, user: { id: userId }, isMember: false };
      after = page.endCursor!;
    }
  }

  async addGroupMembers(groupId: string, userIds: string[], signal?: AbortSignal): Promise<void> {
    const data = await this.execute(
      'AddGroupMembers',
      ADD_GROUP_MEMBERS,
      { id: groupId, userIds },
      { mutation: true, signal },
    );
    checkPayload('AddGroupMembers', data.groupUpdate, `add ${userIds.join(', ')} to group ${groupId}`);
  }

  async removeGroupMembers(groupId: string, userIds: string[], signal?: AbortSignal): Promise<void> {
    const data = await this.execute(
      'RemoveGroupMembers',
      REMOVE_GROUP_MEMBERS,
      { id: groupId, userIds },
      { mutation: true, signal },
    );
    checkPayload('RemoveGroupMembers', data.groupUpdate, `remove ${userIds.join(', ')} from group ${groupId}`);
  }

  async updateUserRole(userId: string, role: UserRole, signal?: AbortSignal): Promise<void> {
    const data = await this.execute(
      'UpdateUserRole',
      UPDATE_USER_ROLE,
      { id: userId, role },
      { mutation: true, signal },
    );
    checkPayload('UpdateUserRole', data.userRoleUpdate, `set the role of user ${userId} to ${role}`);
  }

  // -------------------------------------------------------------------------------------------------------------

  /**
   * Reads a Relay connection: nodes (null edges/nodes skipped with a warning), endCursor and hasNextPage.
   * A connection that says there is more but gives no new cursor is an error, never a silently short listing.
   */
  private connection(operation: string, value: unknown, field: string, after?: string): Page<Record<string, unknown>> {
    if (!isObject(value)) throw malformed(operation, field);
    const edges = value.edges;
    const pageInfo = value.pageInfo;
    if (!Array.isArray(edges) || !isObject(pageInfo)) throw malformed(operation, `${field}.edges/pageInfo`);
    const items: Record<string, unknown>[] = [];
    let skipped = 0;
    for (const edge of edges) {
      const node = isObject(edge) ? edge.node : undefined;
      if (!isObject(node) || typeof node.id !== 'string' || node.id === '') {
        skipped++;
        continue;
      }
      items.push(node);
    }
    if (skipped > 0) {
      this.logger?.warn('twingate: skipped edges without a node', { operation, field, skipped });
    }
    const hasNextPage = pageInfo.hasNextPage === true;
    const endCursor = typeof pageInfo.endCursor === 'string' && pageInfo.endCursor !== '' ? pageInfo.endCursor : null;
    if (hasNextPage && (endCursor === null || endCursor === after)) {
      throw new ConnectorError(
        Code.Unknown,
        `twingate: ${operation}: ${field} reports more pages but no new cursor; refusing to return a truncated list`,
      );
    }
    return { items, endCursor, hasNextPage };
  }

  private memberPage(operation: string, value: unknown, field: string, after?: string): MemberPage {
    const page = this.connection(operation, value, field, after);
    return { userIds: page.items.map((n) => str(n.id)), endCursor: page.endCursor, hasNextPage: page.hasNextPage };
  }
}

function pageSize(requested: number | undefined): number {
  if (requested === undefined || !Number.isFinite(requested) || requested <= 0) return MAX_PAGE_SIZE;
  return Math.min(MAX_PAGE_SIZE, Math.floor(requested));
}

function toUser(node: Record<string, unknown>): TwingateUser {
  return {
    id: str(node.id),
    email: str(node.email),
    firstName: str(node.firstName),
    lastName: str(node.lastName),
    role: str(node.role),
    state: str(node.state),
    type: str(node.type),
    createdAt: str(node.createdAt) || undefined,
  };
}

function malformed(operation: string, field: string): ConnectorError {
  return new ConnectorError(Code.Unknown, `twingate: ${operation}: unexpected response shape at ${field}`);
}

/** A mutation payload `{ok, error}`: anything but `ok: true` is an error with the API's message. */
function checkPayload(operation: string, payload: unknown, what: string): void {
  if (!isObject(payload)) {
    throw new ConnectorError(Code.Unknown, `twingate: ${operation}: no result returned; could not ${what}`);
  }
  if (payload.ok === true) return;
  const reason = typeof payload.error === 'string' && payload.error.trim() ? payload.error.trim() : 'no reason given';
  const err = apiError(operation, `Twingate refused to ${what}: ${reason}`);
  // A refusal is a fact about the tenant (protected group, unknown id, ...): retrying the same call will not help.
  throw err.code === Code.Unknown ? new ConnectorError(Code.FailedPrecondition, err.message) : err;
}
