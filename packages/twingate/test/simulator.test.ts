import { afterEach, describe, expect, it } from 'vitest';
import {
  DATASETS,
  decodeCursor,
  decodeId,
  encodeCursor,
  encodeId,
  generateDataset,
  startTwingateSimulator,
  type GraphQLRequestInfo,
  type TwingateSimulator,
  type TwingateSimulatorOptions,
} from '../simulator/index.js';

const sims: TwingateSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

/** Tests that are not about rate limits turn them off, so they can send as many requests as they like. */
async function start(options: TwingateSimulatorOptions = {}): Promise<TwingateSimulator> {
  const sim = await startTwingateSimulator({ rateLimits: { read: 0, write: 0 }, ...options });
  sims.push(sim);
  return sim;
}

/** A User or Group as the queries below select it (each selects a subset of these fields). */
interface GqlNode {
  id: string;
  email: string;
  role: string;
  isAdmin: boolean;
  state: string;
  type: string;
  name: string;
  isActive: boolean;
  users: GqlConnection;
  groups: GqlConnection;
}

interface GqlConnection {
  edges: Array<{ cursor: string; node: GqlNode }>;
  pageInfo: { startCursor: string | null; endCursor: string | null; hasNextPage: boolean; hasPreviousPage: boolean };
  totalCount: number;
}

/** A mutation's payload; `entity` is null when `ok` is false. */
interface GqlPayload {
  ok: boolean;
  error: string | null;
  entity: GqlNode;
}

/** The JSON body of a response, typed by the top-level fields the tests query. */
interface GqlBody {
  data: {
    users: GqlConnection;
    groups: GqlConnection;
    user: GqlNode;
    group: GqlNode;
    node: GqlNode;
    groupUpdate: GqlPayload;
    groupCreate: GqlPayload;
    groupDelete: GqlPayload;
    userRoleUpdate: GqlPayload;
    userDetailsUpdate: GqlPayload;
    userCreate: GqlPayload;
    userDelete: GqlPayload;
  };
  /** Absent when the request succeeded (tests check that with toBeUndefined). */
  errors: Array<{ message: string; path?: Array<string | number> }>;
  /** The simulator's own (non-GraphQL) error answers. */
  detail?: string;
  retryAfterSeconds?: number;
}

interface GqlResult {
  status: number;
  headers: Headers;
  body: GqlBody;
}

async function gql(
  sim: TwingateSimulator,
  query: string,
  variables?: Record<string, unknown>,
  extra: { key?: string | null; operationName?: string; url?: string } = {},
): Promise<GqlResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const key = extra.key === undefined ? sim.apiKey : extra.key;
  if (key !== null) headers['X-API-KEY'] = key;
  const res = await fetch(extra.url ?? sim.config['base-url']!, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      query,
      ...(variables ? { variables } : {}),
      ...(extra.operationName ? { operationName: extra.operationName } : {}),
    }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as GqlBody) : (undefined as unknown as GqlBody),
  };
}

const USERS_PAGE = `query Users($first: Int, $after: String) {
  users(first: $first, after: $after) {
    edges { cursor node { id email role isAdmin state type } }
    pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
    totalCount
  }
}`;

const GROUP_MEMBERS = `query Members($id: ID!, $first: Int, $after: String) {
  group(id: $id) {
    id name type
    users(first: $first, after: $after) {
      edges { node { id } }
      pageInfo { endCursor hasNextPage }
      totalCount
    }
  }
}`;

const GROUP_UPDATE = `mutation Update($id: ID!, $add: [ID!], $remove: [ID!]) {
  groupUpdate(id: $id, addedUserIds: $add, removedUserIds: $remove) {
    ok error entity { id users(first: 100) { totalCount edges { node { id } } } }
  }
}`;

async function allMemberIds(sim: TwingateSimulator, groupId: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res = await gql(sim, GROUP_MEMBERS, { id: groupId, first: 100, after });
    const conn = res.body.data.group.users;
    ids.push(...conn.edges.map((e) => e.node.id));
    if (!conn.pageInfo.hasNextPage) return ids;
    after = conn.pageInfo.endCursor;
  }
  throw new Error('member paging did not terminate');
}

describe('endpoint and auth', () => {
  it('exposes a RunningSimulator with connector config', async () => {
    const sim = await start({ apiKey: 'tg-test-key-1', domain: 'acme' });
    expect(sim.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.config).toEqual({
      'api-key': 'tg-test-key-1',
      domain: 'acme',
      'base-url': `${sim.baseUrl}/api/graphql/`,
    });
    expect(sim.requestCount()).toBe(0);
    await gql(sim, '{ users(first: 1) { totalCount } }');
    expect(sim.requestCount()).toBe(1);
  });

  it('rejects a missing or wrong X-API-KEY with 401 and matches the header name case-insensitively', async () => {
    const sim = await start();
    const missing = await gql(sim, '{ users { totalCount } }', undefined, { key: null });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ detail: 'Invalid API key' });
    const wrong = await gql(sim, '{ users { totalCount } }', undefined, { key: `${sim.apiKey}x` });
    expect(wrong.status).toBe(401);

    for (const name of ['x-api-key', 'X-Api-Key']) {
      const res = await fetch(sim.config['base-url']!, {
        method: 'POST',
        headers: { [name]: sim.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ users { totalCount } }' }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as GqlBody).data.users.totalCount).toBe(60);
    }
  });

  it('accepts /api/graphql without the trailing slash, refuses GET and other paths', async () => {
    const sim = await start();
    const res = await gql(sim, '{ users { totalCount } }', undefined, { url: `${sim.baseUrl}/api/graphql` });
    expect(res.body.data.users.totalCount).toBe(60);
    expect((await fetch(`${sim.baseUrl}/api/graphql/`, { headers: { 'x-api-key': sim.apiKey } })).status).toBe(405);
    expect((await gql(sim, '{ users { totalCount } }', undefined, { url: `${sim.baseUrl}/graphql` })).status).toBe(404);
  });

  it('answers request errors with {errors} and HTTP 200 by default, 400 when configured', async () => {
    const sim = await start();
    const syntax = await gql(sim, '{ users { ');
    expect(syntax.status).toBe(200);
    expect(syntax.body.errors[0].message).toMatch(/Syntax Error/);
    expect(syntax.body.data).toBeUndefined();

    const unknownField = await gql(sim, '{ users { edges { node { password } } } }');
    expect(unknownField.status).toBe(200);
    expect(unknownField.body.errors[0].message).toMatch(/Cannot query field "password" on type "User"/);

    sim.setOptions({ requestErrorStatus: 400 });
    expect((await gql(sim, '{ users { ')).status).toBe(400);

    const noQuery = await fetch(sim.config['base-url']!, {
      method: 'POST',
      headers: { 'x-api-key': sim.apiKey },
      body: JSON.stringify({ variables: {} }),
    });
    expect(noQuery.status).toBe(400);
    expect(((await noQuery.json()) as GqlBody).errors[0].message).toBe('Must provide query string.');
  });
});

describe('queries', () => {
  it('serves the Go connector literal query, "<nil>" cursor included', async () => {
    const sim = await start();
    const query =
      'query getUsers{ users(after: "<nil>", first: 100) { edges { node { id firstName lastName email createdAt updatedAt isAdmin state } } pageInfo { endCursor hasNextPage } } }';
    const res = await gql(sim, query);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const edges = res.body.data.users.edges;
    expect(edges).toHaveLength(60);
    expect(res.body.data.users.pageInfo.hasNextPage).toBe(false);
    expect(edges.map((e) => decodeId(e.node.id, 'User'))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(Buffer.from(edges[0].node.id, 'base64').toString()).toBe('User:1');
    const first = sim.state.listUsers()[0]!;
    expect(edges[0].node).toEqual({
      id: first.id,
      firstName: first.firstName,
      lastName: first.lastName,
      email: first.email,
      createdAt: first.createdAt,
      updatedAt: first.updatedAt,
      isAdmin: true,
      state: 'ACTIVE',
    });
    expect(first.role).toBe('ADMIN');
  });

  it('supports variables, anonymous operations and operationName selection', async () => {
    const sim = await start();
    const anon = await gql(sim, '{ users(first: 3) { edges { node { id } } totalCount } }');
    expect(anon.body.data.users.edges).toHaveLength(3);
    expect(anon.body.data.users.totalCount).toBe(60);

    const withVars = await gql(sim, USERS_PAGE, { first: 4 });
    expect(withVars.body.data.users.edges).toHaveLength(4);

    const twoOps =
      'query A { users(first: 1) { totalCount } } query B { groups(first: 2) { edges { node { name } } } }';
    const b = await gql(sim, twoOps, undefined, { operationName: 'B' });
    expect(b.body.data).toEqual({
      groups: { edges: [{ node: { name: 'Everyone' } }, { node: { name: sim.state.listGroups()[1]!.name } }] },
    });
    const ambiguous = await gql(sim, twoOps);
    expect(ambiguous.body.errors[0].message).toMatch(/operation name/i);

    const fragment = await gql(sim, 'query { user(id: "VXNlcjoy") { ...U } } fragment U on User { id role isAdmin }');
    expect(fragment.body.data.user).toEqual({ id: 'VXNlcjoy', role: 'DEVOPS', isAdmin: true });
  });

  it('pages through every user of `small` with no gaps or duplicates', async () => {
    const sim = await start();
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res = await gql(sim, USERS_PAGE, { first: 7, after });
      const conn = res.body.data.users;
      pages++;
      expect(conn.totalCount).toBe(60);
      expect(conn.pageInfo.hasPreviousPage).toBe(false);
      if (conn.edges.length > 0) {
        expect(conn.pageInfo.startCursor).toBe(conn.edges[0].cursor);
        expect(conn.pageInfo.endCursor).toBe(conn.edges[conn.edges.length - 1].cursor);
      }
      seen.push(...conn.edges.map((e) => e.node.id));
      if (!conn.pageInfo.hasNextPage) {
        after = conn.pageInfo.endCursor;
        break;
      }
      after = conn.pageInfo.endCursor;
    }
    expect(pages).toBe(9);
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
    expect(seen).toEqual(sim.state.listUsers().map((u) => u.id));

    // Past the end: an empty page whose endCursor is null.
    const past = await gql(sim, USERS_PAGE, { first: 7, after });
    expect(past.body.data.users.edges).toEqual([]);
    expect(past.body.data.users.pageInfo).toMatchObject({ endCursor: null, startCursor: null, hasNextPage: false });
  });

  it('treats unreadable cursors as the start', async () => {
    const sim = await start();
    const firstPage = (await gql(sim, USERS_PAGE, { first: 5 })).body.data.users;
    for (const garbage of [
      '<nil>',
      '0',
      '',
      'garbage!!',
      'bm9wZQ==',
      Buffer.from('arrayconnection:abc').toString('base64'),
    ]) {
      const res = await gql(sim, USERS_PAGE, { first: 5, after: garbage });
      expect(res.body.data.users, garbage).toEqual(firstPage);
    }
    expect(decodeCursor(encodeCursor(41))).toBe(41);
    const fromCursor = (await gql(sim, USERS_PAGE, { first: 2, after: encodeCursor(9) })).body.data.users;
    expect(fromCursor.edges.map((e) => decodeId(e.node.id, 'User'))).toEqual([11, 12]);
  });

  it('applies the default page size when first is missing, also to nested group.users', async () => {
    const sim = await start();
    const users = (await gql(sim, '{ users { edges { node { id } } pageInfo { hasNextPage } } }')).body.data.users;
    expect(users.edges).toHaveLength(50);
    expect(users.pageInfo.hasNextPage).toBe(true);

    const big = sim.state.listGroups().find((g) => sim.state.groupMembers(g.id).length === 55)!;
    expect(big).toBeDefined();
    const nested = await gql(
      sim,
      `{ groups(first: 100) { edges { node { id users { edges { node { id } } pageInfo { endCursor hasNextPage } totalCount } } } } }`,
    );
    const node = nested.body.data.groups.edges.map((e) => e.node).find((g) => g.id === big.id)!;
    expect(node.users.edges).toHaveLength(50);
    expect(node.users.totalCount).toBe(55);
    expect(node.users.pageInfo.hasNextPage).toBe(true);

    const rest = await gql(sim, GROUP_MEMBERS, { id: big.id, after: node.users.pageInfo.endCursor });
    expect(rest.body.data.group.users.edges).toHaveLength(5);
    expect(rest.body.data.group.users.pageInfo.hasNextPage).toBe(false);
    const all = [...node.users.edges, ...rest.body.data.group.users.edges].map((e) => e.node.id);
    expect(new Set(all).size).toBe(55);
    expect(all).toEqual(sim.state.groupMembers(big.id).map((u) => u.id));

    sim.setOptions({ defaultPageSize: 10 });
    expect((await gql(sim, '{ users { edges { node { id } } } }')).body.data.users.edges).toHaveLength(10);
  });

  it('refuses first above the maximum with a GraphQL error, or clamps when configured', async () => {
    const sim = await start();
    const tooMany = await gql(sim, '{ users(first: 101) { edges { node { id } } } }');
    expect(tooMany.status).toBe(200);
    expect(tooMany.body.data).toEqual({ users: null });
    expect(tooMany.body.errors[0].message).toMatch(/exceeds the `first` limit of 100 records/);
    expect(tooMany.body.errors[0].path).toEqual(['users']);
    expect((await gql(sim, '{ users(first: 100) { edges { node { id } } } }')).body.data.users.edges).toHaveLength(60);
    expect((await gql(sim, '{ users(first: -1) { totalCount } }')).body.errors[0].message).toMatch(/negative/);

    sim.setOptions({ maxPageSize: 10, pageSizeOverflow: 'clamp' });
    const clamped = await gql(sim, '{ users(first: 50) { edges { node { id } } pageInfo { hasNextPage } } }');
    expect(clamped.body.errors).toBeUndefined();
    expect(clamped.body.data.users.edges).toHaveLength(10);
    expect(clamped.body.data.users.pageInfo.hasNextPage).toBe(true);
  });

  it('supports backward paging with last/before', async () => {
    const sim = await start();
    const res = await gql(sim, '{ users(last: 3) { edges { node { id } } pageInfo { hasPreviousPage hasNextPage } } }');
    expect(res.body.data.users.edges.map((e) => decodeId(e.node.id, 'User'))).toEqual([58, 59, 60]);
    expect(res.body.data.users.pageInfo).toEqual({ hasPreviousPage: true, hasNextPage: false });
    const before = await gql(sim, `{ users(last: 2, before: "${encodeCursor(5)}") { edges { node { id } } } }`);
    expect(before.body.data.users.edges.map((e) => decodeId(e.node.id, 'User'))).toEqual([4, 5]);
  });

  it('looks up single objects and filters lists', async () => {
    const sim = await start();
    expect((await gql(sim, `{ user(id: "${encodeId('User', 999)}") { id } }`)).body.data.user).toBeNull();
    expect((await gql(sim, '{ group(id: "garbage") { id } }')).body.data.group).toBeNull();
    const node = await gql(
      sim,
      `{ node(id: "${encodeId('Group', 1)}") { __typename id ... on Group { name type isActive } } }`,
    );
    expect(node.body.data.node).toEqual({
      __typename: 'Group',
      id: encodeId('Group', 1),
      name: 'Everyone',
      type: 'SYSTEM',
      isActive: true,
    });

    const synced = await gql(sim, '{ groups(filter: {type: {in: [SYNCED]}}) { edges { node { type } } totalCount } }');
    const expectedSynced = sim.state.listGroups().filter((g) => g.type === 'SYNCED').length;
    expect(synced.body.data.groups.totalCount).toBe(expectedSynced);
    expect(expectedSynced).toBeGreaterThan(0);
    expect(synced.body.data.groups.edges.every((e) => e.node.type === 'SYNCED')).toBe(true);

    const inactive = await gql(
      sim,
      'query($f: GroupFilterInput) { groups(filter: $f) { edges { node { isActive } } } }',
      { f: { isActive: { eq: false } } },
    );
    expect(inactive.body.data.groups.edges.length).toBeGreaterThan(0);
    expect(inactive.body.data.groups.edges.every((e) => e.node.isActive === false)).toBe(true);

    const admins = await gql(
      sim,
      '{ users(filter: {role: {in: [ADMIN, DEVOPS]}}, first: 100) { totalCount edges { node { role } } } }',
    );
    expect(admins.body.data.users.totalCount).toBe(
      sim.state.listUsers().filter((u) => u.role === 'ADMIN' || u.role === 'DEVOPS').length,
    );
    expect(new Set(admins.body.data.users.edges.map((e) => e.node.role))).toEqual(new Set(['ADMIN', 'DEVOPS']));

    const email = sim.state.listUsers()[10]!.email;
    const byEmail = await gql(
      sim,
      'query($e: String) { users(filter: {email: {eq: $e}}) { edges { node { email } } } }',
      { e: email },
    );
    expect(byEmail.body.data.users.edges).toEqual([{ node: { email } }]);
  });

  it("lists a user's groups including Everyone", async () => {
    const sim = await start();
    const user = sim.state.listUsers()[3]!;
    const res = await gql(
      sim,
      `{ user(id: "${user.id}") { groups(first: 100) { edges { node { name } } totalCount } } }`,
    );
    const names = res.body.data.user.groups.edges.map((e) => e.node.name);
    expect(names[0]).toBe('Everyone');
    expect(names).toEqual(sim.state.groupsOf(user.id).map((g) => g.name));
    expect(res.body.data.user.groups.totalCount).toBe(names.length);
  });
});

describe('mutations', () => {
  it('groupUpdate adds and removes members with set semantics, visible in later queries', async () => {
    const sim = await start();
    const group = sim.state.listGroups().find((g) => g.type === 'MANUAL' && g.isActive)!;
    const outsider = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    const before = sim.state.groupMembers(group.id).length;

    const added = await gql(sim, GROUP_UPDATE, { id: group.id, add: [outsider.id] });
    expect(added.body.data.groupUpdate.ok).toBe(true);
    expect(added.body.data.groupUpdate.error).toBeNull();
    expect(added.body.data.groupUpdate.entity.users.totalCount).toBe(before + 1);
    expect(await allMemberIds(sim, group.id)).toContain(outsider.id);
    const groupsOfUser = await gql(
      sim,
      `{ user(id: "${outsider.id}") { groups(first: 100) { edges { node { id } } } } }`,
    );
    expect(groupsOfUser.body.data.user.groups.edges.map((e) => e.node.id)).toContain(group.id);

    const again = await gql(sim, GROUP_UPDATE, { id: group.id, add: [outsider.id] });
    expect(again.body.data.groupUpdate).toMatchObject({ ok: true, error: null });
    expect(again.body.data.groupUpdate.entity.users.totalCount).toBe(before + 1);

    const removed = await gql(sim, GROUP_UPDATE, { id: group.id, remove: [outsider.id] });
    expect(removed.body.data.groupUpdate.ok).toBe(true);
    expect(await allMemberIds(sim, group.id)).not.toContain(outsider.id);
    const removedAgain = await gql(sim, GROUP_UPDATE, { id: group.id, remove: [outsider.id] });
    expect(removedAgain.body.data.groupUpdate.ok).toBe(true);
    expect(sim.state.groupMembers(group.id)).toHaveLength(before);

    const literal = await gql(
      sim,
      `mutation { groupUpdate(id: "${group.id}", addedUserIds: ["${outsider.id}"]) { ok entity { id } } }`,
    );
    expect(literal.body.data.groupUpdate).toEqual({ ok: true, entity: { id: group.id } });
    expect(sim.state.isMember(group.id, outsider.id)).toBe(true);
  });

  it('groupUpdate reports unknown groups and users with ok:false and changes nothing', async () => {
    const sim = await start();
    const group = sim.state.listGroups().find((g) => g.type === 'MANUAL')!;
    const user = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    const unknownGroup = await gql(sim, GROUP_UPDATE, { id: encodeId('Group', 9999), add: [user.id] });
    expect(unknownGroup.body.data.groupUpdate.ok).toBe(false);
    expect(unknownGroup.body.data.groupUpdate.error).toMatch(/does not exist/);
    expect(unknownGroup.body.data.groupUpdate.entity).toBeNull();

    const unknownUser = await gql(sim, GROUP_UPDATE, { id: group.id, add: [user.id, encodeId('User', 9999)] });
    expect(unknownUser.body.data.groupUpdate.ok).toBe(false);
    expect(unknownUser.body.data.groupUpdate.error).toContain(encodeId('User', 9999));
    expect(sim.state.isMember(group.id, user.id)).toBe(false);
  });

  it('refuses SYNCED and SYSTEM groups by default, and allows them when configured', async () => {
    const sim = await start();
    const synced = sim.state.listGroups().find((g) => g.type === 'SYNCED')!;
    const everyone = sim.state.groupByName('Everyone')!;
    const user = sim.state.listUsers().find((u) => !sim.state.isMember(synced.id, u.id))!;

    const refusedSynced = await gql(sim, GROUP_UPDATE, { id: synced.id, add: [user.id] });
    expect(refusedSynced.body.data.groupUpdate.ok).toBe(false);
    expect(refusedSynced.body.data.groupUpdate.error).toMatch(/SYNCED/);
    expect(sim.state.isMember(synced.id, user.id)).toBe(false);

    const refusedSystem = await gql(sim, GROUP_UPDATE, { id: everyone.id, remove: [user.id] });
    expect(refusedSystem.body.data.groupUpdate.ok).toBe(false);
    expect(refusedSystem.body.data.groupUpdate.error).toMatch(/SYSTEM/);

    sim.setOptions({ protectedGroupTypes: ['SYSTEM'] });
    const allowed = await gql(sim, GROUP_UPDATE, { id: synced.id, add: [user.id] });
    expect(allowed.body.data.groupUpdate.ok).toBe(true);
    expect(sim.state.isMember(synced.id, user.id)).toBe(true);
  });

  it('userRoleUpdate changes the role and isAdmin; unknown users and bad enums fail', async () => {
    const sim = await start();
    const member = sim.state.listUsers().find((u) => u.role === 'MEMBER')!;
    const q =
      'mutation($id: ID!, $role: UserRole!) { userRoleUpdate(id: $id, role: $role) { ok error entity { id role isAdmin } } }';

    const promoted = await gql(sim, q, { id: member.id, role: 'ACCESS_REVIEWER' });
    expect(promoted.body.data.userRoleUpdate).toEqual({
      ok: true,
      error: null,
      entity: { id: member.id, role: 'ACCESS_REVIEWER', isAdmin: true },
    });
    const read = await gql(sim, `{ user(id: "${member.id}") { role isAdmin } }`);
    expect(read.body.data.user).toEqual({ role: 'ACCESS_REVIEWER', isAdmin: true });

    const demoted = await gql(
      sim,
      `mutation { userRoleUpdate(id: "${member.id}", role: MEMBER) { ok entity { isAdmin } } }`,
    );
    expect(demoted.body.data.userRoleUpdate).toEqual({ ok: true, entity: { isAdmin: false } });

    const unknown = await gql(sim, q, { id: encodeId('User', 12345), role: 'ADMIN' });
    expect(unknown.body.data.userRoleUpdate).toMatchObject({ ok: false, entity: null });
    expect(unknown.body.data.userRoleUpdate.error).toMatch(/does not exist/);

    const badLiteral = await gql(sim, `mutation { userRoleUpdate(id: "${member.id}", role: OWNER) { ok } }`);
    expect(badLiteral.status).toBe(200);
    expect(badLiteral.body.data).toBeUndefined();
    expect(badLiteral.body.errors[0].message).toMatch(/OWNER/);

    const badVariable = await gql(sim, q, { id: member.id, role: 'owner' });
    expect(badVariable.body.errors[0].message).toMatch(/UserRole/);
    expect(sim.state.getUser(member.id)!.role).toBe('MEMBER');

    sim.setOptions({ requestErrorStatus: 400 });
    expect((await gql(sim, q, { id: member.id, role: 'owner' })).status).toBe(400);
  });

  it('keeps Everyone equal to all users through userCreate and userDelete', async () => {
    const sim = await start({ dataset: 'tiny' });
    const everyone = sim.state.groupByName('Everyone')!;
    const count = async () =>
      (await gql(sim, `{ group(id: "${everyone.id}") { users(first: 100) { totalCount edges { node { id } } } } }`))
        .body.data.group.users;
    expect((await count()).totalCount).toBe(8);

    const created = await gql(
      sim,
      'mutation { userCreate(email: "new.person@example.com", firstName: "New", lastName: "Person", role: SUPPORT) { ok error entity { id state role type } } }',
    );
    expect(created.body.data.userCreate).toMatchObject({
      ok: true,
      entity: { state: 'PENDING', role: 'SUPPORT', type: 'MANUAL' },
    });
    const newId = created.body.data.userCreate.entity.id;
    expect(decodeId(newId, 'User')).toBe(9);
    const afterCreate = await count();
    expect(afterCreate.totalCount).toBe(9);
    expect(afterCreate.edges.map((e) => e.node.id)).toContain(newId);

    const dup = await gql(sim, 'mutation { userCreate(email: "NEW.person@example.com") { ok error } }');
    expect(dup.body.data.userCreate.ok).toBe(false);

    const someGroup = sim.state
      .listGroups()
      .find((g) => g.type === 'MANUAL' && sim.state.groupMembers(g.id).length > 0)!;
    const victim = sim.state.groupMembers(someGroup.id)[0]!;
    const deleted = await gql(sim, `mutation { userDelete(id: "${victim.id}") { ok error } }`);
    expect(deleted.body.data.userDelete).toEqual({ ok: true, error: null });
    expect((await count()).totalCount).toBe(8);
    expect(await allMemberIds(sim, someGroup.id)).not.toContain(victim.id);
    expect((await gql(sim, `mutation { userDelete(id: "${victim.id}") { ok error } }`)).body.data.userDelete.ok).toBe(
      false,
    );
  });

  it('userDetailsUpdate and groupCreate work', async () => {
    const sim = await start({ dataset: 'tiny' });
    const user = sim.state.listUsers()[0]!;
    const upd = await gql(
      sim,
      'mutation($id: ID!, $s: UserStateUpdateInput) { userDetailsUpdate(id: $id, firstName: "Renamed", state: $s) { ok entity { firstName state } } }',
      { id: user.id, s: 'DISABLED' },
    );
    expect(upd.body.data.userDetailsUpdate).toEqual({ ok: true, entity: { firstName: 'Renamed', state: 'DISABLED' } });

    const made = await gql(
      sim,
      'mutation($ids: [ID!]) { groupCreate(name: "Auditors", userIds: $ids) { ok entity { id name type isActive users { totalCount } } } }',
      { ids: [user.id] },
    );
    expect(made.body.data.groupCreate).toMatchObject({
      ok: true,
      entity: { name: 'Auditors', type: 'MANUAL', isActive: true, users: { totalCount: 1 } },
    });
    expect(decodeId(made.body.data.groupCreate.entity.id, 'Group')).toBe(7);
  });
});

describe('rate limits', () => {
  it('limits queries and mutations per token per minute with 429 and Retry-After', async () => {
    let now = 1_000 * 60_000 + 15_000; // 15 s into a window
    const sim = await start({
      rateLimits: { read: 3, write: 1 },
      clock: () => now,
      extraApiKeys: ['second-token-xyz'],
    });
    const read = (key?: string) => gql(sim, '{ users(first: 1) { totalCount } }', undefined, { key });
    const write = () => gql(sim, `mutation { userRoleUpdate(id: "${encodeId('User', 9)}", role: MEMBER) { ok } }`);

    for (let i = 0; i < 3; i++) expect((await read()).status).toBe(200);
    const limited = await read();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('45');
    expect(limited.body.retryAfterSeconds).toBe(45);
    expect(limited.body.detail).toMatch(/3 queries per minute/);

    expect((await write()).status).toBe(200);
    expect((await write()).status).toBe(429);
    expect((await read('second-token-xyz')).status).toBe(200);

    now += 45_000;
    expect((await read()).status).toBe(200);
    expect((await write()).status).toBe(200);

    sim.setOptions({ rateLimits: { read: 0, write: 1 } });
    for (let i = 0; i < 10; i++) expect((await read()).status).toBe(200);
    expect(sim.log.count((e) => e.status === 429)).toBe(2);
  });

  it('defaults to 60 reads and 20 writes per minute', async () => {
    const sim = await startTwingateSimulator({ clock: () => 0, dataset: 'tiny' });
    sims.push(sim);
    expect(sim.options().rateLimits).toEqual({ read: 60, write: 20 });
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await gql(sim, '{ users(first: 1) { totalCount } }')).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses[60]).toBe(429);
  });
});

describe('faults', () => {
  it('injects 5xx on the Nth request, connection resets and malformed bodies', async () => {
    const sim = await start({ faults: { rules: [{ nth: 2, fault: { kind: 'serverError', status: 503 } }] } });
    const q = '{ users(first: 1) { totalCount } }';
    expect((await gql(sim, q)).status).toBe(200);
    const failing = await fetch(sim.config['base-url']!, {
      method: 'POST',
      headers: { 'x-api-key': sim.apiKey },
      body: JSON.stringify({ query: q }),
    });
    expect(failing.status).toBe(503);
    expect((await gql(sim, q)).status).toBe(200);

    sim.faults.set({ rules: [{ nth: 1, fault: { kind: 'reset' } }] });
    await expect(gql(sim, q)).rejects.toThrow();

    sim.faults.injectNext({ kind: 'malformed' });
    const res = await fetch(sim.config['base-url']!, {
      method: 'POST',
      headers: { 'x-api-key': sim.apiKey },
      body: JSON.stringify({ query: q }),
    });
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow();

    sim.faults.injectNext({ kind: 'rateLimit' });
    const limited = await gql(sim, q);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');

    sim.faults.clear();
    expect((await gql(sim, q)).body.data.users.totalCount).toBe(60);
    expect(sim.log.entries().map((e) => e.fault)).toEqual([
      null,
      'serverError',
      null,
      'reset',
      'malformed',
      'rateLimit',
      null,
    ]);
  });
});

describe('request log', () => {
  it('records the operation, its fields and arguments, never the API key', async () => {
    const sim = await start();
    await gql(sim, 'query getUsers{ users(after: "<nil>", first: 100) { edges { node { id } } } }');
    await gql(
      sim,
      'query G($n: Int, $a: String) { groups(first: $n) { edges { node { id users(first: 100, after: $a) { totalCount } } } } }',
      { n: 3, a: null },
    );
    await gql(sim, `mutation { userRoleUpdate(id: "${encodeId('User', 7)}", role: ADMIN) { ok } }`);
    // A client that leaks its key into the body must not get it stored either.
    await gql(sim, 'query($k: String) { users(filter: {email: {eq: $k}}) { totalCount } }', { k: sim.apiKey });
    await gql(sim, '{ users { totalCount } }', undefined, { key: 'not-the-key' });

    const entries = sim.log.entries();
    expect(entries).toHaveLength(5);
    expect(entries[0]!.info.graphql).toEqual({
      operationType: 'query',
      operationName: 'getUsers',
      topLevelFields: ['users'],
      calls: [{ path: 'users', field: 'users', args: { after: '<nil>', first: 100 } }],
    });
    expect((entries[1]!.info.graphql as GraphQLRequestInfo).calls).toEqual([
      { path: 'groups', field: 'groups', args: { first: 3 } },
      { path: 'groups.edges.node.users', field: 'users', args: { first: 100, after: null } },
    ]);
    expect(entries[2]).toMatchObject({ rateClass: 'write', identity: 'token-1', status: 200 });
    expect(entries[2]!.info.graphql).toMatchObject({ operationType: 'mutation', topLevelFields: ['userRoleUpdate'] });
    expect(entries[4]).toMatchObject({ status: 401, identity: null });

    const usedNilCursor = sim.log.count((e) =>
      ((e.info.graphql as GraphQLRequestInfo | undefined)?.calls ?? []).some((c) => c.args.after === '<nil>'),
    );
    expect(usedNilCursor).toBe(1);
    const dump = JSON.stringify(entries);
    expect(dump).not.toContain(sim.apiKey);
    expect(dump).toContain('[REDACTED]');
  });
});

describe('datasets', () => {
  it('tiny covers every role, state, type, group type, an inactive group and an empty group', () => {
    const data = generateDataset('tiny');
    expect(data.users).toHaveLength(8);
    expect(data.groups).toHaveLength(6);
    expect(data.memberships).toHaveLength(12);
    expect(new Set(data.users.map((u) => u.role))).toEqual(
      new Set(['ADMIN', 'DEVOPS', 'SUPPORT', 'ACCESS_REVIEWER', 'MEMBER']),
    );
    expect(new Set(data.users.map((u) => u.state))).toEqual(new Set(['ACTIVE', 'DISABLED', 'PENDING']));
    expect(new Set(data.users.map((u) => u.type))).toEqual(new Set(['MANUAL', 'SYNCED']));
    expect(new Set(data.groups.map((g) => g.type))).toEqual(new Set(['MANUAL', 'SYNCED', 'SYSTEM']));
    expect(data.groups.some((g) => !g.isActive)).toBe(true);
    const withMembers = new Set(data.memberships.map(([g]) => g));
    expect(data.groups.filter((g) => g.type !== 'SYSTEM' && !withMembers.has(g.id)).length).toBeGreaterThan(0);
    expect(data.groups[0]).toMatchObject({ name: 'Everyone', type: 'SYSTEM', id: encodeId('Group', 1) });
  });

  it('is deterministic and emails are unique', () => {
    expect(generateDataset('small')).toEqual(generateDataset('small'));
    const small = generateDataset('small');
    expect(new Set(small.users.map((u) => u.email)).size).toBe(60);
    expect(new Set(small.memberships.map(([g, u]) => `${g}/${u}`)).size).toBe(200);
    expect(generateDataset({ users: 30, groups: 5, memberships: 40, seed: 'a' })).not.toEqual(
      generateDataset({ users: 30, groups: 5, memberships: 40, seed: 'b' }),
    );
  });

  it('large has 10,000 users, 1,000 groups, 50,000 memberships', async () => {
    const data = generateDataset('large');
    expect(data.users).toHaveLength(DATASETS.large.users);
    expect(data.groups).toHaveLength(1_000);
    expect(data.memberships).toHaveLength(50_000);
    expect(new Set(data.memberships.map(([g, u]) => `${g}/${u}`)).size).toBe(50_000);
    const sizes = new Map<string, number>();
    for (const [g] of data.memberships) sizes.set(g, (sizes.get(g) ?? 0) + 1);
    expect([...sizes.values()].filter((n) => n > 100).length).toBeGreaterThanOrEqual(6);
    expect(new Set(data.groups.map((g) => g.type))).toEqual(new Set(['MANUAL', 'SYNCED', 'SYSTEM']));
    expect(new Set(data.users.map((u) => u.state))).toEqual(new Set(['ACTIVE', 'DISABLED', 'PENDING']));

    // And a full paged read through the simulator sees all of it.
    const sim = await start({ dataset: data });
    const biggest = [...sizes.entries()].sort((a, b) => b[1] - a[1])[0]!;
    const members = await allMemberIds(sim, biggest[0]);
    expect(members).toHaveLength(biggest[1]);
    expect(new Set(members).size).toBe(biggest[1]);
    expect((await gql(sim, '{ users { totalCount } groups { totalCount } }')).body.data).toEqual({
      users: { totalCount: 10_000 },
      groups: { totalCount: 1_000 },
    });
  });
});
