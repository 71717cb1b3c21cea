/**
 * The syncers and provisioners called in-process, as the plugin server calls them, against the simulator over real
 * HTTP. Request counts come from the simulator's request log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Code,
  ConnectorError,
  findAnnotation,
  hasAnnotation,
  resourceId,
  type Entitlement,
  type Grant,
  type Resource,
  type ResourceSyncer,
} from '@baton-ts/shared';
import { EntitlementImmutableSchema } from '@baton-ts/shared/pb';
import { UserTraitSchema, UserTrait_Status_Status } from '@baton-ts/shared/pb';
import { SkipEntitlementsAndGrantsSchema } from '@baton-ts/shared/pb';
import type { DatasetSpec, GroupRecord, TwingateSimulator, UserRecord } from '../simulator/index.js';
import type { TwingateClient } from '../src/client.js';
import { MemberPageCache } from '../src/member-cache.js';
import { newUserRoleIndex, type UserRoleIndex } from '../src/role-index.js';
import { memberEntitlement, toGroupResource } from '../src/resources/group.js';
import { ROLES, roleEntitlement, roleSyncer, toRoleResource } from '../src/resources/role.js';
import { toUserResource, userSyncer } from '../src/resources/user.js';
import {
  FAST_RETRY,
  allPages,
  closeAll,
  connectTo,
  countOps,
  fullSync,
  mutationCount,
  stableJson,
  startSim,
  type SyncResult,
  type TestConnector,
} from './helpers.js';

afterEach(closeAll);

/** Mid-size tenant: 450 users (5 pages), groups of 320/150/101/100 members plus Everyone (450). */
const MID: DatasetSpec = {
  users: 450,
  groups: 14,
  memberships: 1_200,
  seed: 'syncers-mid',
  largeGroupSizes: [320, 150, 101, 100],
};

function syncer(t: TestConnector, type: string): ResourceSyncer {
  return t.connector.syncers.find((s) => s.resourceType.id === type)!;
}

const pages = (n: number) => Math.max(1, Math.ceil(n / 100));

/**
 * Requests the design promises for a full sync of what the simulator holds. Role grants come from the user role
 * index the users listing filled, so they cost no request (no ListUserIdsWithRole at all).
 */
function expectedRequests(sim: TwingateSimulator) {
  const users = sim.state.listUsers();
  const groups = sim.state.listGroups();
  const extraMemberPages = groups.reduce((n, g) => n + pages(sim.state.groupMembers(g.id).length) - 1, 0);
  return {
    Validate: 1,
    ListGroups: pages(groups.length),
    ListUsers: pages(users.length),
    GroupMembers: extraMemberPages,
  };
}

/** Requests of the role grants' fallback path (filtered users query), for all five roles. */
function apiRolePages(sim: TwingateSimulator, role?: string): number {
  const users = sim.state.listUsers();
  return ROLES.filter((r) => role === undefined || r.role === role).reduce(
    (n, r) => n + pages(users.filter((u) => u.role === r.role).length),
    0,
  );
}

/** Every role's grants, role by role, with every state through a page token. */
async function roleGrants(t: TestConnector, ctx = t.ctx): Promise<Grant[]> {
  const roles = syncer(t, 'role');
  const grants: Grant[] = [];
  for (const r of ROLES)
    grants.push(...(await allPages<Grant>((state, size) => roles.grants(toRoleResource(r), { state, size }, ctx))));
  return grants;
}

/** The users listing (resources phase), all pages or only the first `limit`. */
async function listUsers(t: TestConnector, ctx = t.ctx, limit = Infinity): Promise<void> {
  const users = syncer(t, 'user');
  let state: unknown;
  for (let i = 0; i < limit; i++) {
    const page = await users.list(undefined, { state, size: 100 }, ctx);
    if (!page.next) return;
    state = JSON.parse(JSON.stringify(page.next));
  }
}

/** The go connector's call pattern for the same data (docs/apis/twingate.md, "Its call pattern", with 5 roles). */
function goRequests(sim: TwingateSimulator): number {
  const U = sim.state.listUsers().length;
  const G = sim.state.listGroups().length;
  return 1 + Math.ceil(G / 100) + Math.ceil(U / 100) + G + 5 * Math.ceil(U / 100);
}

function expectCompleteSync(sim: TwingateSimulator, result: SyncResult): void {
  const users = sim.state.listUsers();
  const groups = sim.state.listGroups();
  const ids = (type: string) => result.resources.filter((r) => r.id!.resourceType === type).map((r) => r.id!.resource);
  expect(ids('user')).toEqual(users.map((u) => u.id));
  expect(ids('group')).toEqual(groups.map((g) => g.id));
  expect(ids('role')).toEqual(['admin', 'devops', 'support', 'access_reviewer', 'member']);
  expect(result.entitlements.map((e) => e.id).sort()).toEqual(
    [...groups.map((g) => `group:${g.id}:member`), ...ROLES.map((r) => `role:${r.id}:member`)].sort(),
  );

  const expected = new Set<string>();
  for (const g of groups)
    for (const u of sim.state.groupMembers(g.id)) expected.add(`group:${g.id}:member:user:${u.id}`);
  for (const u of users) expected.add(`role:${ROLES.find((r) => r.role === u.role)!.id}:member:user:${u.id}`);
  const got = result.grants.map((g) => g.id);
  expect(new Set(got).size).toBe(got.length); // no duplicates
  // Plain comparisons: deep equality of 70,000-element sets is slow.
  expect(got.length).toBe(expected.size);
  expect(got.filter((id) => !expected.has(id))).toEqual([]);
  for (const g of result.grants) expect(g.principal!.id!.resourceType).toBe('user');
}

describe('full sync', () => {
  it('emits every user, group, role, entitlement and grant, with the promised number of requests', async () => {
    const sim = await startSim({ dataset: MID });
    const t = connectTo(sim);
    const result = await fullSync(t);
    expectCompleteSync(sim, result);
    const expected = expectedRequests(sim);
    expect(countOps(sim)).toEqual(expected);
    // Groups above 100 members: Everyone (450), 320, 150 and 101 need 4 + 3 + 1 + 1 extra pages; 100 needs none.
    expect(expected.GroupMembers).toBeGreaterThanOrEqual(9);
    expect(t.connector.roleIndex.complete).toBe(true);
    expect(t.stats.apiRequests).toBe(sim.log.count());
  });

  it('role grants without the index (no users listing in this process) read each user exactly once across the five roles', async () => {
    const sim = await startSim({ dataset: MID });
    const t = connectTo(sim);
    const roles = syncer(t, 'role');
    const resources = await allPages((state, size) => roles.list(undefined, { state, size }, t.ctx));
    const seen: string[] = [];
    for (const r of resources) {
      const grants = await allPages<Grant>((state, size) => roles.grants(r, { state, size }, t.ctx));
      seen.push(...grants.map((g) => g.principal!.id!.resource));
    }
    expect(seen.sort()).toEqual(
      sim.state
        .listUsers()
        .map((u) => u.id)
        .sort(),
    );
    const requested = sim.log.entries().map((e) => (e.body as { variables: { first: number } }).variables.first);
    expect(requested.every((n) => n === 100)).toBe(true);
    expect(sim.log.count()).toBe(apiRolePages(sim));
    // Every user read once: at most one partial page per role on top of ⌈U/100⌉.
    expect(sim.log.count()).toBeLessThanOrEqual(Math.ceil(450 / 100) + 4);
  });

  it('large dataset: all members of every group, far fewer requests than the Go call pattern', async () => {
    const sim = await startSim({ dataset: 'large' });
    const t = connectTo(sim);
    const result = await fullSync(t);
    expectCompleteSync(sim, result);
    const expected = expectedRequests(sim);
    expect(countOps(sim)).toEqual(expected);
    const total = sim.log.count();
    const go = goRequests(sim);
    const withoutCache = total + sim.state.listGroups().length + apiRolePages(sim);
    console.log(
      `large dataset (${sim.state.listUsers().length} users, ${sim.state.listGroups().length} groups, ` +
        `${result.grants.length} grants): ${total} requests ${JSON.stringify(expected)}; ` +
        `${withoutCache} if neither the nested member pages nor the role index are at hand; Go call pattern: ${go} (and truncated members)`,
    );
    expect(total).toBe(355);
    expect(apiRolePages(sim)).toBe(102);
    expect(total).toBeLessThan(go / 4);
  }, 120_000);

  it('a grants call without the nested page (new process, evicted) reads it from the API and gives the same grants', async () => {
    const sim = await startSim({ dataset: MID });
    const warm = connectTo(sim);
    const cold = connectTo(sim, {}, { http: FAST_RETRY, memberCache: new MemberPageCache({ maxUserIds: 0 }) });
    const groups = syncer(warm, 'group');
    const resources = await allPages<Resource>((state, size) => groups.list(undefined, { state, size }, warm.ctx));
    await allPages<Resource>((state, size) => syncer(cold, 'group').list(undefined, { state, size }, cold.ctx));
    for (const r of resources) {
      sim.log.clear();
      const a = await allPages<Grant>((state, size) => groups.grants(r, { state, size }, warm.ctx));
      const warmRequests = sim.log.count();
      sim.log.clear();
      const b = await allPages<Grant>((state, size) => syncer(cold, 'group').grants(r, { state, size }, cold.ctx));
      expect(stableJson(b)).toBe(stableJson(a));
      expect(sim.log.count()).toBe(warmRequests + 1);
      expect(a.length).toBe(sim.state.groupMembers(r.id!.resource).length);
    }
    expect(cold.connector.memberCache.heldUnits).toBe(0);
  });

  it('group grants never put more members on a page than asked for, and page sizes change no grant', async () => {
    const sim = await startSim({ dataset: MID });
    const t = connectTo(sim);
    const groups = syncer(t, 'group');
    const resources = await allPages<Resource>((state, size) => groups.list(undefined, { state, size }, t.ctx));
    const big = resources.filter((r) => sim.state.groupMembers(r.id!.resource).length > 30);
    expect(big.length).toBeGreaterThan(0);
    for (const r of big) {
      // allPages fails on a page larger than the size asked for.
      const small = await allPages<Grant>((state, size) => groups.grants(r, { state, size }, t.ctx), 30);
      const full = await allPages<Grant>((state, size) => groups.grants(r, { state, size }, t.ctx));
      expect(stableJson(small)).toBe(stableJson(full));
      expect(small.length).toBe(sim.state.groupMembers(r.id!.resource).length);
    }
  });

  it('10% 429s and 10% 5xx give exactly the same sync as a fault-free run', async () => {
    const clean = await startSim({ dataset: MID });
    const expected = await fullSync(connectTo(clean));

    const faulty = await startSim({
      dataset: MID,
      faults: { probabilities: { rateLimit: 0.1, serverError: 0.1 }, retryAfterSeconds: 0, seed: 'tg-faults' },
    });
    // Role grants forced onto the filtered query (an index that holds nobody), so the faults hit every kind of read.
    const t = connectTo(faulty, {}, { http: FAST_RETRY, roleIndex: newUserRoleIndex({ maxUsers: 0 }) });
    const got = await fullSync(t);
    expect(countOps(faulty).ListUserIdsWithRole).toBeGreaterThan(0);
    const injected = faulty.faults.injected;
    expect(injected.rateLimit).toBeGreaterThan(0);
    expect(injected.serverError).toBeGreaterThan(0);
    expect(t.stats.retries).toBe(injected.rateLimit + injected.serverError);
    expect(stableJson(got.resources)).toBe(stableJson(expected.resources));
    expect(stableJson(got.entitlements)).toBe(stableJson(expected.entitlements));
    expect(stableJson(got.grants)).toBe(stableJson(expected.grants));
  });
});

describe('role grants from the user role index', () => {
  it('after the users listing: zero requests, exactly the grants (and order) of the filtered-query path', async () => {
    const sim = await startSim({ dataset: MID });
    const warm = connectTo(sim);
    await listUsers(warm);
    expect(warm.connector.roleIndex.complete).toBe(true);
    sim.log.clear();
    const fromIndex = await roleGrants(warm);
    expect(sim.log.count()).toBe(0);

    const cold = connectTo(sim);
    const fromApi = await roleGrants(cold);
    expect(countOps(sim)).toEqual({ ListUserIdsWithRole: apiRolePages(sim) });
    expect(fromIndex.length).toBe(sim.state.listUsers().length);
    expect(stableJson(fromIndex)).toBe(stableJson(fromApi));
  });

  it('index pages carry { from: "index", offset } and honour the page size', async () => {
    const sim = await startSim({ dataset: MID });
    const t = connectTo(sim);
    await listUsers(t);
    const member = toRoleResource(ROLES.find((r) => r.role === 'MEMBER')!);
    const first = await syncer(t, 'role').grants(member, { state: undefined, size: 50 }, t.ctx);
    expect(first.items).toHaveLength(50);
    expect(first.next).toEqual({ from: 'index', offset: 50 });
    const all = await allPages<Grant>((state, size) => syncer(t, 'role').grants(member, { state, size }, t.ctx), 50);
    expect(all.map((g) => g.principal!.id!.resource)).toEqual(
      sim.state
        .listUsers()
        .filter((u) => u.role === 'MEMBER')
        .map((u) => u.id),
    );
  });

  it('falls back to the filtered query while the listing is unfinished, and uses the index once it finishes', async () => {
    const sim = await startSim({ dataset: MID });
    const t = connectTo(sim);
    await listUsers(t, t.ctx, 2); // 2 of 5 pages
    expect(t.connector.roleIndex.complete).toBe(false);
    sim.log.clear();
    const partial = await roleGrants(t);
    expect(sim.log.count()).toBe(apiRolePages(sim));
    await listUsers(t); // a new listing from the first page starts the index afresh
    sim.log.clear();
    expect(stableJson(await roleGrants(t))).toBe(stableJson(partial));
    expect(sim.log.count()).toBe(0);
  });

  it('falls back for a different sync id, and when the listing was not read in order', async () => {
    const sim = await startSim({ dataset: MID });
    const t = connectTo(sim);
    const syncA = { ...t.ctx, syncId: 'sync-a' };
    await listUsers(t, syncA);
    sim.log.clear();
    const other = await roleGrants(t, { ...t.ctx, syncId: 'sync-b' });
    expect(sim.log.count()).toBe(apiRolePages(sim));
    const noId = await roleGrants(t, t.ctx);
    expect(sim.log.count()).toBe(2 * apiRolePages(sim));
    sim.log.clear();
    expect(stableJson(await roleGrants(t, syncA))).toBe(stableJson(other));
    expect(stableJson(noId)).toBe(stableJson(other));
    expect(sim.log.count()).toBe(0);

    // A page that does not continue the recorded listing (here: the second page again) abandons the index.
    const users = syncer(t, 'user');
    const first = await users.list(undefined, { state: undefined, size: 100 }, syncA);
    await users.list(undefined, { state: first.next, size: 100 }, syncA);
    await users.list(undefined, { state: first.next, size: 100 }, syncA);
    expect(t.connector.roleIndex.size).toBe(0);
    sim.log.clear();
    await roleGrants(t, syncA);
    expect(sim.log.count()).toBe(apiRolePages(sim));
  });

  it('over its cap the index stops recording and the filtered query is used', async () => {
    const sim = await startSim({ dataset: MID });
    const t = connectTo(sim, {}, { http: FAST_RETRY, roleIndex: newUserRoleIndex({ maxUsers: 449 }) });
    await listUsers(t);
    expect(t.connector.roleIndex.complete).toBe(false);
    expect(t.connector.roleIndex.size).toBe(0);
    sim.log.clear();
    const grants = await roleGrants(t);
    expect(sim.log.count()).toBe(apiRolePages(sim));
    expect(grants.length).toBe(450);

    const atCap = connectTo(sim, {}, { http: FAST_RETRY, roleIndex: newUserRoleIndex({ maxUsers: 450 }) });
    await listUsers(atCap);
    sim.log.clear();
    expect(stableJson(await roleGrants(atCap))).toBe(stableJson(grants));
    expect(sim.log.count()).toBe(0);
  });

  it('an index-path page token in a process without the index restarts that role on the filtered query from the start', async () => {
    const sim = await startSim({ dataset: MID });
    const warm = connectTo(sim);
    await listUsers(warm);
    const member = toRoleResource(ROLES.find((r) => r.role === 'MEMBER')!);
    const first = await syncer(warm, 'role').grants(member, { state: undefined, size: 100 }, warm.ctx);
    expect(first.next).toEqual({ from: 'index', offset: 100 });

    const restarted = connectTo(sim); // same host token, new process: empty index
    sim.log.clear();
    const rest = await allPages<Grant>((state, size) =>
      syncer(restarted, 'role').grants(member, { state: state ?? first.next, size }, restarted.ctx),
    );
    const holders = sim.state
      .listUsers()
      .filter((u) => u.role === 'MEMBER')
      .map((u) => u.id);
    // The whole role again (the host upserts by id, so the first page emitted twice is harmless), nothing missing.
    expect(rest.map((g) => g.principal!.id!.resource)).toEqual(holders);
    expect(sim.log.count()).toBe(apiRolePages(sim, 'MEMBER'));
    const union = new Set([...first.items, ...rest].map((g) => g.id));
    expect(union.size).toBe(holders.length);

    // An API-path cursor stays on the API path even when the index is complete.
    const apiFirst = await syncer(restarted, 'role').grants(member, { state: undefined, size: 100 }, restarted.ctx);
    expect(apiFirst.next).toMatchObject({ after: expect.any(String) });
    sim.log.clear();
    const apiRest = await allPages<Grant>((state, size) =>
      syncer(warm, 'role').grants(member, { state: state ?? apiFirst.next, size }, warm.ctx),
    );
    expect([...apiFirst.items, ...apiRest].map((g) => g.principal!.id!.resource)).toEqual(holders);
    expect(sim.log.count()).toBe(apiRolePages(sim, 'MEMBER') - 1);
  });

  it('a role provisioned through the connector drops the index; the next grants read the API and show the change', async () => {
    const sim = await startSim({ dataset: 'small' });
    const t = connectTo(sim);
    await listUsers(t);
    const user = sim.state.listUsers().find((u) => u.role === 'MEMBER')!;
    const devops = toRoleResource(ROLES.find((r) => r.role === 'DEVOPS')!);
    await syncer(t, 'role').grant!(toUserResource(user, undefined), roleEntitlement(devops), t.ctx);
    expect(t.connector.roleIndex.complete).toBe(false);
    sim.log.clear();
    const grants = await allPages<Grant>((state, size) => syncer(t, 'role').grants(devops, { state, size }, t.ctx));
    expect(grants.map((g) => g.principal!.id!.resource)).toContain(user.id);
    expect(sim.log.count()).toBe(1);
  });

  it('cleanup() clears the index', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    await listUsers(t);
    expect(t.connector.roleIndex.size).toBe(sim.state.listUsers().length);
    await t.connector.cleanup!();
    expect(t.connector.roleIndex.size).toBe(0);
    expect(t.connector.roleIndex.complete).toBe(false);
  });

  it('a user with a role the connector does not know: a warning, and no role grant on either path', async () => {
    const users = [
      {
        id: 'u1',
        email: 'a@x',
        firstName: 'A',
        lastName: '',
        role: 'ADMIN',
        state: 'ACTIVE',
        type: 'MANUAL',
        createdAt: '',
      },
      {
        id: 'u2',
        email: 'b@x',
        firstName: 'B',
        lastName: '',
        role: 'BILLING_ADMIN',
        state: 'ACTIVE',
        type: 'MANUAL',
        createdAt: '',
      },
      {
        id: 'u3',
        email: 'c@x',
        firstName: 'C',
        lastName: '',
        role: 'MEMBER',
        state: 'ACTIVE',
        type: 'MANUAL',
        createdAt: '',
      },
    ];
    const client = {
      listUsers: async () => ({ items: users, hasNextPage: false, endCursor: 'c' }),
      // The API filters by role, so an unknown role is never among the answers.
      listUserIdsWithRole: async (role: string) => ({
        items: users.filter((u) => u.role === role).map((u) => u.id),
        hasNextPage: false,
      }),
    } as unknown as TwingateClient;
    const roleIndex = newUserRoleIndex();
    const t = connectTo(await startSim({ dataset: 'tiny' }));
    const knownRoles = new Set(ROLES.map((r) => r.role));
    await userSyncer({ client, knownRoles, roleIndex }).list(undefined, { state: undefined, size: 100 }, t.ctx);
    expect(t.log.lines.join('\n')).toMatch(/does not know.*BILLING_ADMIN|BILLING_ADMIN.*does not know/s);
    expect(roleIndex.complete).toBe(true);

    const principals = async (index: UserRoleIndex | undefined) => {
      const roles = roleSyncer({ client, roleIndex: index });
      const ids: string[] = [];
      for (const r of ROLES) {
        const page = await roles.grants(toRoleResource(r), { state: undefined, size: 100 }, t.ctx);
        ids.push(...page.items.map((g) => g.id));
      }
      return ids.sort();
    };
    const expected = ['role:admin:member:user:u1', 'role:member:member:user:u3'];
    expect(await principals(roleIndex)).toEqual(expected);
    expect(await principals(undefined)).toEqual(expected);
  });
});

describe('resources', () => {
  it('users: status from state, names, email, login, profile, skip entitlements and grants', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const [first] = sim.state.listUsers();
    first!.firstName = '';
    first!.lastName = '';
    const t = connectTo(sim);
    expect(hasAnnotation(syncer(t, 'user').resourceType.annotations, SkipEntitlementsAndGrantsSchema)).toBe(true);
    const users = await allPages<Resource>((state, size) => syncer(t, 'user').list(undefined, { state, size }, t.ctx));
    const byState = (state: string) => {
      const record = sim.state.listUsers().find((u) => u.state === state)!;
      const resource = users.find((u) => u.id!.resource === record.id)!;
      return { record, resource, trait: findAnnotation(resource.annotations, UserTraitSchema)! };
    };
    const active = byState('ACTIVE');
    expect(active.trait.status!.status).toBe(UserTrait_Status_Status.ENABLED);
    expect(active.trait.emails[0]).toMatchObject({ address: active.record.email, isPrimary: true });
    expect(active.trait.login).toBe(active.record.email);
    expect(active.resource.profile).toMatchObject({
      role: active.record.role,
      type: active.record.type,
      state: 'ACTIVE',
    });
    const disabled = byState('DISABLED');
    expect(disabled.trait.status!.status).toBe(UserTrait_Status_Status.DISABLED);
    const pending = byState('PENDING');
    expect(pending.trait.status!.status).toBe(UserTrait_Status_Status.ENABLED);
    expect(pending.trait.status!.details).toMatch(/pending/i);
    expect(pending.resource.status!.details).toMatch(/invited/);

    const noName = users.find((u) => u.id!.resource === first!.id)!;
    expect(noName.displayName).toBe(first!.email);
    const named = users.find((u) => u.id!.resource === sim.state.listUsers()[1]!.id)!;
    expect(named.displayName).toBe(`${sim.state.listUsers()[1]!.firstName} ${sim.state.listUsers()[1]!.lastName}`);
  });

  it('groups: type and isActive in the profile; SYNCED and SYSTEM entitlements are immutable', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const groups = await allPages<Resource>((state, size) =>
      syncer(t, 'group').list(undefined, { state, size }, t.ctx),
    );
    for (const record of sim.state.listGroups()) {
      const resource = groups.find((g) => g.id!.resource === record.id)!;
      expect(resource.profile).toMatchObject({
        type: record.type,
        is_active: record.isActive,
        group_name: record.name,
      });
      expect(resource.status!.status).toBe(record.isActive ? 1 : 2);
      const [ent] = (await syncer(t, 'group').entitlements(resource, { state: undefined, size: 100 }, t.ctx)).items;
      expect(ent!.slug).toBe('member');
      expect(ent!.grantableTo.map((g) => g.id)).toEqual(['user']);
      expect(hasAnnotation(ent!.annotations, EntitlementImmutableSchema)).toBe(record.type !== 'MANUAL');
    }
    expect(new Set(sim.state.listGroups().map((g) => g.type))).toEqual(new Set(['MANUAL', 'SYNCED', 'SYSTEM']));
  });
});

describe('group provisioning', () => {
  async function setup() {
    const sim = await startSim({ dataset: 'small' });
    const t = connectTo(sim);
    const group = (type: string) => sim.state.listGroups().find((g) => g.type === type && g.isActive)!;
    const ent = (g: GroupRecord): Entitlement => memberEntitlement(toGroupResource(g));
    const user = (u: UserRecord): Resource => toUserResource(u, undefined);
    return { sim, t, groups: syncer(t, 'group'), group, ent, user };
  }

  it('grant adds, a second grant is alreadyExists with no mutation; revoke removes, a second revoke is alreadyRevoked', async () => {
    const { sim, t, groups, group, ent, user } = await setup();
    const g = group('MANUAL');
    const u = sim.state.listUsers().find((x) => !sim.state.isMember(g.id, x.id))!;

    const granted = await groups.grant!(user(u), ent(g), t.ctx);
    expect(granted.alreadyExists).toBeFalsy();
    expect(granted.grants!.map((x) => x.id)).toEqual([`group:${g.id}:member:user:${u.id}`]);
    expect(sim.state.isMember(g.id, u.id)).toBe(true);
    expect(mutationCount(sim)).toBe(1);

    sim.log.clear();
    expect(await groups.grant!(user(u), ent(g), t.ctx)).toEqual({ alreadyExists: true });
    expect(mutationCount(sim)).toBe(0);
    expect(sim.log.count()).toBe(1); // one cheap read

    const held: Grant = granted.grants![0]!;
    sim.log.clear();
    expect(await groups.revoke!(held, t.ctx)).toEqual({});
    expect(sim.state.isMember(g.id, u.id)).toBe(false);
    expect(mutationCount(sim)).toBe(1);

    sim.log.clear();
    expect(await groups.revoke!(held, t.ctx)).toEqual({ alreadyRevoked: true });
    expect(mutationCount(sim)).toBe(0);
  });

  it('the next sync shows the change (the cached nested page is dropped on change)', async () => {
    const { sim, t, groups, group, ent, user } = await setup();
    const g = group('MANUAL');
    const u = sim.state.listUsers().find((x) => !sim.state.isMember(g.id, x.id))!;
    const listed = await allPages<Resource>((state, size) => groups.list(undefined, { state, size }, t.ctx));
    await groups.grant!(user(u), ent(g), t.ctx);
    const resource = listed.find((r) => r.id!.resource === g.id)!;
    const grants = await allPages<Grant>((state, size) => groups.grants(resource, { state, size }, t.ctx));
    expect(grants.map((x) => x.principal!.id!.resource)).toContain(u.id);
  });

  it.each(['SYNCED', 'SYSTEM'])('refuses %s groups with FAILED_PRECONDITION before any request', async (type) => {
    const { sim, t, groups, group, ent, user } = await setup();
    const g = group(type);
    const u = sim.state.listUsers()[10]!;
    const before = sim.requestCount();
    const err = await groups.grant!(user(u), ent(g), t.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe(Code.FailedPrecondition);
    expect((err as ConnectorError).message).toMatch(
      type === 'SYNCED' ? /identity provider/ : /SYSTEM group managed by Twingate/,
    );
    const held = memberEntitlement(toGroupResource(g));
    const revokeErr = await groups.revoke!(
      { id: `${held.id}:user:${u.id}`, entitlement: held, principal: user(u) } as unknown as Grant,
      t.ctx,
    ).catch((e: unknown) => e);
    expect((revokeErr as ConnectorError).code).toBe(Code.FailedPrecondition);
    expect(sim.requestCount()).toBe(before);
  });

  it('refuses a SYNCED group even when the host sends a bare entitlement, after a read and without a mutation', async () => {
    const { sim, t, groups, group, user } = await setup();
    const g = group('SYNCED');
    const bare = {
      id: `group:${g.id}:member`,
      resource: { id: resourceId('group', g.id) },
      annotations: [],
    } as unknown as Entitlement;
    const err = (await groups.grant!(user(sim.state.listUsers()[10]!), bare, t.ctx).catch(
      (e: unknown) => e,
    )) as ConnectorError;
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain('identity provider');
    expect(mutationCount(sim)).toBe(0);
  });

  it('only users can be members; unknown users and groups are NOT_FOUND', async () => {
    const { sim, t, groups, group, ent, user } = await setup();
    const g = group('MANUAL');
    const notUser = { ...toGroupResource(group('MANUAL')) } as Resource;
    const err = (await groups.grant!(notUser, ent(g), t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.InvalidArgument);
    expect(sim.requestCount()).toBe(0);

    const ghost = user({ ...sim.state.listUsers()[0]!, id: 'VXNlcjo5OTk5OQ==' });
    expect(((await groups.grant!(ghost, ent(g), t.ctx).catch((e: unknown) => e)) as ConnectorError).code).toBe(
      Code.NotFound,
    );
    const ghostGroup = ent({ ...g, id: 'R3JvdXA6OTk5OTk=' });
    expect(
      (
        (await groups.grant!(user(sim.state.listUsers()[0]!), ghostGroup, t.ctx).catch(
          (e: unknown) => e,
        )) as ConnectorError
      ).code,
    ).toBe(Code.NotFound);
    expect(mutationCount(sim)).toBe(0);
  });

  it('an ok:false from groupUpdate is an error with the API message, never a silent success', async () => {
    const { sim, t, groups, group, ent, user } = await setup();
    sim.setOptions({ protectedGroupTypes: ['MANUAL', 'SYNCED', 'SYSTEM'] });
    const g = group('MANUAL');
    const u = sim.state.listUsers().find((x) => !sim.state.isMember(g.id, x.id))!;
    const err = (await groups.grant!(user(u), ent(g), t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.message).toContain('cannot be modified');
    expect(sim.state.isMember(g.id, u.id)).toBe(false);
  });
});

describe('role provisioning', () => {
  async function setup() {
    const sim = await startSim({ dataset: 'small' });
    const t = connectTo(sim);
    const ent = (id: string) => roleEntitlement(toRoleResource(ROLES.find((r) => r.id === id)!));
    const member = sim.state.listUsers().find((u) => u.role === 'MEMBER' && u.state === 'ACTIVE')!;
    return { sim, t, roles: syncer(t, 'role'), ent, member, principal: toUserResource(member, undefined) };
  }

  it('grant sets the role, again is alreadyExists; revoke demotes to MEMBER, again is alreadyRevoked; no needless mutations', async () => {
    const { sim, t, roles, ent, member, principal } = await setup();
    const granted = await roles.grant!(principal, ent('devops'), t.ctx);
    expect(granted.grants!.map((g) => g.id)).toEqual([`role:devops:member:user:${member.id}`]);
    expect(sim.state.getUser(member.id)!.role).toBe('DEVOPS');
    expect(mutationCount(sim)).toBe(1);

    sim.log.clear();
    expect(await roles.grant!(principal, ent('devops'), t.ctx)).toEqual({ alreadyExists: true });
    expect(mutationCount(sim)).toBe(0);

    // Granting another role replaces the current one.
    await roles.grant!(principal, ent('support'), t.ctx);
    expect(sim.state.getUser(member.id)!.role).toBe('SUPPORT');

    sim.log.clear();
    const held = granted.grants![0]!; // devops, no longer held
    expect(await roles.revoke!(held, t.ctx)).toEqual({ alreadyRevoked: true });
    expect(mutationCount(sim)).toBe(0);

    const support = (await roles.grant!(principal, ent('access_reviewer'), t.ctx)).grants![0]!;
    sim.log.clear();
    expect(await roles.revoke!(support, t.ctx)).toEqual({});
    expect(sim.state.getUser(member.id)!.role).toBe('MEMBER');
    expect(mutationCount(sim)).toBe(1);
  });

  it('revoking MEMBER is INVALID_ARGUMENT telling to grant another role, with no request', async () => {
    const { sim, t, roles, ent, member, principal } = await setup();
    const grant = {
      id: `role:member:member:user:${member.id}`,
      entitlement: ent('member'),
      principal,
    } as unknown as Grant;
    const err = (await roles.revoke!(grant, t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toMatch(/grant a different role/);
    expect(sim.requestCount()).toBe(0);
    // Granting MEMBER is how a user is demoted.
    const admin = sim.state.listUsers().find((u) => u.role === 'ADMIN')!;
    await roles.grant!(toUserResource(admin, undefined), ent('member'), t.ctx);
    expect(sim.state.getUser(admin.id)!.role).toBe('MEMBER');
  });

  it('principal must be a user; unknown users are NOT_FOUND', async () => {
    const { sim, t, roles, ent } = await setup();
    const group = toGroupResource(sim.state.listGroups()[1]!);
    expect(((await roles.grant!(group, ent('admin'), t.ctx).catch((e: unknown) => e)) as ConnectorError).code).toBe(
      Code.InvalidArgument,
    );
    expect(sim.requestCount()).toBe(0);
    const ghost = toUserResource({ ...sim.state.listUsers()[0]!, id: 'VXNlcjo5OTk5OQ==' }, undefined);
    expect(((await roles.grant!(ghost, ent('admin'), t.ctx).catch((e: unknown) => e)) as ConnectorError).code).toBe(
      Code.NotFound,
    );
    expect(mutationCount(sim)).toBe(0);
  });
});
