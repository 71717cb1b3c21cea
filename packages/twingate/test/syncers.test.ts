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
import { EntitlementImmutableSchema } from '@baton-ts/shared/gen/c1/connector/v2/annotation_entitlement_pb';
import { UserTraitSchema, UserTrait_Status_Status } from '@baton-ts/shared/gen/c1/connector/v2/annotation_trait_pb';
import { SkipEntitlementsAndGrantsSchema } from '@baton-ts/shared/gen/c1/connector/v2/annotation_resource_tree_pb';
import type { DatasetSpec, GroupRecord, TwingateSimulator, UserRecord } from '../simulator/index.js';
import { MemberPageCache } from '../src/member-cache.js';
import { memberEntitlement, toGroupResource } from '../src/resources/group.js';
import { ROLES, roleEntitlement, toRoleResource } from '../src/resources/role.js';
import { toUserResource } from '../src/resources/user.js';
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
const MID: DatasetSpec = { users: 450, groups: 14, memberships: 1_200, seed: 'syncers-mid', largeGroupSizes: [320, 150, 101, 100] };

function syncer(t: TestConnector, type: string): ResourceSyncer {
  return t.connector.syncers.find((s) => s.resourceType.id === type)!;
}

/** Requests the design promises for a full sync of what the simulator holds. */
function expectedRequests(sim: TwingateSimulator) {
  const users = sim.state.listUsers();
  const groups = sim.state.listGroups();
  const pages = (n: number) => Math.max(1, Math.ceil(n / 100));
  const extraMemberPages = groups.reduce((n, g) => n + pages(sim.state.groupMembers(g.id).length) - 1, 0);
  const rolePages = ROLES.reduce((n, r) => n + pages(users.filter((u) => u.role === r.role).length), 0);
  return {
    Validate: 1,
    ListGroups: pages(groups.length),
    ListUsers: pages(users.length),
    GroupMembers: extraMemberPages,
    ListUserIdsWithRole: rolePages,
  };
}

/** The go connector's call pattern for the same data (spec §2.10 with 5 roles). */
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
  for (const g of groups) for (const u of sim.state.groupMembers(g.id)) expected.add(`group:${g.id}:member:user:${u.id}`);
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
    // Role grants read every user once across the five roles.
    expect(expected.ListUserIdsWithRole).toBeLessThanOrEqual(Math.ceil(450 / 100) + 4);
    expect(t.stats.apiRequests).toBe(sim.log.count());
  });

  it('role grants come from one pass over users: each user is returned exactly once across the five roles', async () => {
    const sim = await startSim({ dataset: MID });
    const t = connectTo(sim);
    const roles = syncer(t, 'role');
    const resources = await allPages((state, size) => roles.list(undefined, { state, size }, t.ctx));
    const seen: string[] = [];
    for (const r of resources) {
      const grants = await allPages<Grant>((state, size) => roles.grants(r, { state, size }, t.ctx));
      seen.push(...grants.map((g) => g.principal!.id!.resource));
    }
    expect(seen.sort()).toEqual(sim.state.listUsers().map((u) => u.id).sort());
    const requested = sim.log.entries().map((e) => (e.body as { variables: { first: number } }).variables.first);
    expect(requested.every((n) => n === 100)).toBe(true);
    expect(sim.log.count()).toBe(expectedRequests(sim).ListUserIdsWithRole);
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
    const withoutCache = total + sim.state.listGroups().length;
    console.log(
      `large dataset (${sim.state.listUsers().length} users, ${sim.state.listGroups().length} groups, ` +
        `${result.grants.length} grants): ${total} requests ${JSON.stringify(expected)}; ` +
        `${withoutCache} if the nested member pages are not cached; Go call pattern: ${go} (and truncated members)`,
    );
    expect(total).toBeLessThan(go / 3);
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

  it('10% 429s and 10% 5xx give exactly the same sync as a fault-free run', async () => {
    const clean = await startSim({ dataset: MID });
    const expected = await fullSync(connectTo(clean));

    const faulty = await startSim({
      dataset: MID,
      faults: { probabilities: { rateLimit: 0.1, serverError: 0.1 }, retryAfterSeconds: 0, seed: 'tg-faults' },
    });
    const t = connectTo(faulty);
    const got = await fullSync(t);
    const injected = faulty.faults.injected;
    expect(injected.rateLimit).toBeGreaterThan(0);
    expect(injected.serverError).toBeGreaterThan(0);
    expect(t.stats.retries).toBe(injected.rateLimit + injected.serverError);
    expect(stableJson(got.resources)).toBe(stableJson(expected.resources));
    expect(stableJson(got.entitlements)).toBe(stableJson(expected.entitlements));
    expect(stableJson(got.grants)).toBe(stableJson(expected.grants));
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
    expect(active.resource.profile).toMatchObject({ role: active.record.role, type: active.record.type, state: 'ACTIVE' });
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
    const groups = await allPages<Resource>((state, size) => syncer(t, 'group').list(undefined, { state, size }, t.ctx));
    for (const record of sim.state.listGroups()) {
      const resource = groups.find((g) => g.id!.resource === record.id)!;
      expect(resource.profile).toMatchObject({ type: record.type, is_active: record.isActive, group_name: record.name });
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
    expect((err as ConnectorError).message).toMatch(type === 'SYNCED' ? /identity provider/ : /SYSTEM group managed by Twingate/);
    const held = memberEntitlement(toGroupResource(g));
    const revokeErr = await groups
      .revoke!({ id: `${held.id}:user:${u.id}`, entitlement: held, principal: user(u) } as unknown as Grant, t.ctx)
      .catch((e: unknown) => e);
    expect((revokeErr as ConnectorError).code).toBe(Code.FailedPrecondition);
    expect(sim.requestCount()).toBe(before);
  });

  it('refuses a SYNCED group even when the host sends a bare entitlement, after a read and without a mutation', async () => {
    const { sim, t, groups, group, user } = await setup();
    const g = group('SYNCED');
    const bare = { id: `group:${g.id}:member`, resource: { id: resourceId('group', g.id) }, annotations: [] } as unknown as Entitlement;
    const err = (await groups.grant!(user(sim.state.listUsers()[10]!), bare, t.ctx).catch((e: unknown) => e)) as ConnectorError;
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
    expect(((await groups.grant!(ghost, ent(g), t.ctx).catch((e: unknown) => e)) as ConnectorError).code).toBe(Code.NotFound);
    const ghostGroup = ent({ ...g, id: 'R3JvdXA6OTk5OTk=' });
    expect(((await groups.grant!(user(sim.state.listUsers()[0]!), ghostGroup, t.ctx).catch((e: unknown) => e)) as ConnectorError).code).toBe(
      Code.NotFound,
    );
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
    const grant = { id: `role:member:member:user:${member.id}`, entitlement: ent('member'), principal } as unknown as Grant;
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
    expect(((await roles.grant!(group, ent('admin'), t.ctx).catch((e: unknown) => e)) as ConnectorError).code).toBe(Code.InvalidArgument);
    expect(sim.requestCount()).toBe(0);
    const ghost = toUserResource({ ...sim.state.listUsers()[0]!, id: 'VXNlcjo5OTk5OQ==' }, undefined);
    expect(((await roles.grant!(ghost, ent('admin'), t.ctx).catch((e: unknown) => e)) as ConnectorError).code).toBe(Code.NotFound);
    expect(mutationCount(sim)).toBe(0);
  });
});
