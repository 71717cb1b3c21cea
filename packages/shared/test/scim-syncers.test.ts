/**
 * The shared SCIM syncers in-process against the simulator: user resources, group grants from every membership
 * source (listing, GET, users' groups from the listing or from a scan), a missing /Groups, a listing too large to
 * include members, page tokens, and the number of requests each path costs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Code,
  ConnectorError,
  resourceId,
  type CallContext,
  type Resource,
  type ResourceSyncer,
} from '../src/index.js';
import { UserTraitSchema, UserTrait_Status_Status } from '../src/pb.js';
import { findAnnotation } from '../src/sdk/annotations.js';
import { newRuntimeStats } from '../src/sdk/connector.js';
import { allPages, captureLogger, syncInProcess, type CapturedLogger } from '../src/testing/in-process.js';
import {
  createScimConnector,
  scimGroupSyncer,
  scimGroupType,
  scimUserResource,
  scimUserSyncer,
  scimUserType,
  type ScimConnector,
  type ScimUser,
  type ScimWording,
} from '../src/scim/index.js';
import { scimSimulatorSet, type ScimSimulator } from '../src/scim/simulator/index.js';

const sims = scimSimulatorSet({ dataset: 'small' });
afterEach(() => sims.closeAll());
const startSim = sims.start;

const WORDING: ScimWording = {
  product: 'Acme',
  urlFlag: '--url (BATON_URL)',
  tokenFlag: '--token (BATON_TOKEN)',
  unauthenticated: 'use a valid token',
  permissionDenied: 'use an admin token',
  urlHint: 'it ends in /scim/v2',
};
const userType = scimUserType('An Acme user');
const groupType = scimGroupType('An Acme group');

interface Harness {
  connector: ScimConnector;
  log: CapturedLogger;
  ctx: CallContext;
}

function connect(sim: ScimSimulator, syncId = 'sync-1'): Harness {
  const log = captureLogger();
  const connector = createScimConnector({
    service: 'acme',
    baseUrl: sim.scimUrl,
    token: sim.token,
    wording: WORDING,
    runtime: { logger: log.logger, stats: newRuntimeStats() },
    http: { retry: { maxAttempts: 3, baseDelayMs: 1 } },
    syncers: (parts) => [
      scimGroupSyncer({ ...parts, type: groupType, userType, product: 'Acme' }),
      scimUserSyncer({ ...parts, type: userType, product: 'Acme' }),
    ],
  });
  return { connector, log, ctx: { signal: new AbortController().signal, logger: log.logger, syncId } };
}

const syncer = (h: Harness, type: string): ResourceSyncer =>
  h.connector.syncers.find((s) => s.resourceType.id === type)!;

/** The grants the simulator says exist: every user member of every group (nested groups are not users). */
function expectedGrants(sim: ScimSimulator): string[] {
  return sim.state
    .listGroups()
    .flatMap((g) => sim.state.groupMembers(g.id).map((u) => `group:${g.id}:member:user:${u.id}`))
    .sort();
}

const pages = (n: number) => Math.max(1, Math.ceil(n / 100));

/** validate + users pages + groups pages: what a full sync costs when every group comes with its members. */
function floor(sim: ScimSimulator): number {
  return 1 + pages(sim.state.listUsers().length) + pages(sim.state.listGroups().length);
}

const warnings = (log: CapturedLogger) => log.lines.filter((l) => l.includes('"level":"warn"'));

describe('users', () => {
  it('map display name, emails (primary first), login, status and profile', () => {
    const user: ScimUser = {
      id: 'u1',
      userName: 'ada@example.com',
      name: { givenName: 'Ada', familyName: 'Lopez' },
      emails: [
        { value: 'ada@home.example', type: 'home' },
        { value: 'not an email', type: 'other' },
        { value: 'ada.lopez@example.com', type: 'work', primary: 'True' },
      ],
      active: 'False',
      externalId: 'E-1',
      meta: { created: '2024-02-03T04:05:06Z' },
    };
    const r = scimUserResource(user, userType, 'Acme');
    const trait = findAnnotation(r.annotations, UserTraitSchema)!;
    expect(r.displayName).toBe('Ada Lopez');
    expect(trait.emails.map((e) => [e.address, e.isPrimary])).toEqual([
      ['ada.lopez@example.com', true],
      ['ada@home.example', false],
    ]);
    expect(trait.login).toBe('ada@example.com');
    expect(trait.status?.status).toBe(UserTrait_Status_Status.DISABLED);
    expect(trait.status?.details).toBe('inactive in Acme (SCIM active: false)');
    expect(trait.profile).toMatchObject({ user_name: 'ada@example.com', external_id: 'E-1', active: false });
    const bare = scimUserResource({ id: 'u2', userName: 'bo@example.com' }, userType, 'Acme');
    expect(bare.displayName).toBe('bo@example.com');
    expect(findAnnotation(bare.annotations, UserTraitSchema)!.emails[0]!.address).toBe('bo@example.com');
    expect(findAnnotation(bare.annotations, UserTraitSchema)!.status?.status).toBe(UserTrait_Status_Status.ENABLED);
  });
});

describe('full sync', () => {
  it('gets every member from the groups listing: no request per group', async () => {
    const sim = await startSim();
    const h = connect(sim);
    const result = await syncInProcess(h.connector, h.ctx);
    expect(result.resources.filter((r) => r.id!.resourceType === 'user')).toHaveLength(250);
    expect(result.entitlements.map((e) => e.id).sort()).toEqual(
      sim.state
        .listGroups()
        .map((g) => `group:${g.id}:member`)
        .sort(),
    );
    expect(result.grants.map((g) => g.id).sort()).toEqual(expectedGrants(sim));
    expect(sim.log.count()).toBe(floor(sim));
    expect(warnings(h.log)).toEqual([]);
    // Nothing is held once every group's grants were served.
    expect(h.connector.memberships.heldGroups).toBe(0);
  });

  it('members omitted: one GET shows it, then the users listing of the same sync answers', async () => {
    const sim = await startSim({ membersOnGroupGet: 'omit' });
    const h = connect(sim);
    const result = await syncInProcess(h.connector, h.ctx);
    expect(result.grants.map((g) => g.id).sort()).toEqual(expectedGrants(sim));
    const gets = sim.log.filter((e) => /^\/scim\/v2\/Groups\/./.test(e.path));
    // GETs until a group with members proves the server omits them (empty groups look the same).
    expect(gets.length).toBeGreaterThanOrEqual(1);
    expect(gets.length).toBeLessThanOrEqual(2);
    expect(sim.log.count()).toBe(floor(sim) + gets.length);
    expect(warnings(h.log)).toHaveLength(1);
    expect(warnings(h.log)[0]).toContain('memberships are read from the users\' \\"groups\\" attribute');
  });

  it('members omitted, users listed elsewhere (another process or sync): the users are read once more', async () => {
    const sim = await startSim({ membersOnGroupGet: 'omit' });
    const lister = connect(sim, 'sync-1');
    const groups = await allPages<Resource>((state, size) =>
      syncer(lister, 'group').list(undefined, { state, size }, lister.ctx),
    );
    const granter = connect(sim, 'sync-2');
    sim.log.clear();
    const ids: string[] = [];
    for (const g of groups) {
      const grants = await allPages((state, size) => syncer(granter, 'group').grants(g, { state, size }, granter.ctx));
      ids.push(...grants.map((x) => x.id));
    }
    expect(ids.sort()).toEqual(expectedGrants(sim));
    const scans = sim.log.filter((e) => e.path === '/scim/v2/Users');
    expect(scans).toHaveLength(3);
    for (const s of scans) expect(s.query.attributes).toBe('groups');
  });

  it("members omitted and no users' groups: a clear warning and no grants, without a GET per group", async () => {
    const sim = await startSim({ membersOnGroupGet: 'omit', usersCarryGroups: false });
    const h = connect(sim);
    const result = await syncInProcess(h.connector, h.ctx);
    expect(result.grants).toEqual([]);
    expect(sim.log.count()).toBe(floor(sim) + 1);
    expect(warnings(h.log).join('\n')).toContain('neither group \\"members\\" nor users\' \\"groups\\"');
  });

  for (const status of [404, 501] as const) {
    it(`no /Groups (${status}): users only, with a warning`, async () => {
      const sim = await startSim({ groupsEndpoint: status });
      const h = connect(sim);
      const result = await syncInProcess(h.connector, h.ctx);
      expect(result.resources.every((r) => r.id!.resourceType === 'user')).toBe(true);
      expect(result.resources).toHaveLength(250);
      expect(warnings(h.log).join('\n')).toContain(`does not support /Groups (HTTP ${status}); syncing users only`);
    });
  }

  it('a listing that fails with members included is retried without them; members then come per group', async () => {
    const sim = await startSim();
    const h = connect(sim);
    sim.faults.set({
      match: (r) => r.path === '/scim/v2/Groups',
      rules: [{ fault: { kind: 'serverError', status: 500 }, nth: [1, 2, 3] }],
    });
    const result = await syncInProcess(h.connector, h.ctx);
    expect(result.grants.map((g) => g.id).sort()).toEqual(expectedGrants(sim));
    const listings = sim.log.filter((e) => e.path === '/scim/v2/Groups');
    expect(listings.map((e) => [e.status, e.query.excludedAttributes])).toEqual([
      [500, undefined],
      [500, undefined],
      [500, undefined],
      [200, 'members'],
    ]);
    expect(sim.log.filter((e) => /^\/scim\/v2\/Groups\/./.test(e.path))).toHaveLength(sim.state.listGroups().length);
    expect(warnings(h.log).join('\n')).toContain('listing them without members');
  });
});

describe('grants paging', () => {
  it('pages a large group in host-sized pages, and a new process resumes with one GET', async () => {
    const sim = await startSim();
    const h = connect(sim);
    const groups = await allPages<Resource>((state, size) =>
      syncer(h, 'group').list(undefined, { state, size }, h.ctx),
    );
    const big = groups.find((g) => sim.state.groupMembers(g.id!.resource).length === 230)!;
    const first = await syncer(h, 'group').grants(big, { state: undefined, size: 100 }, h.ctx);
    expect(first.items).toHaveLength(100);
    expect(first.next).toEqual({ offset: 100 });

    const fresh = connect(sim);
    sim.log.clear();
    const second = await syncer(fresh, 'group').grants(big, { state: first.next, size: 100 }, fresh.ctx);
    const third = await syncer(fresh, 'group').grants(big, { state: second.next, size: 100 }, fresh.ctx);
    expect(sim.log.count()).toBe(1);
    expect(third.next).toBeUndefined();
    const ids = [...first.items, ...second.items, ...third.items].map((g) => g.principal!.id!.resource);
    expect(ids).toEqual(sim.state.groupMembers(big.id!.resource).map((u) => u.id));
  });

  it('a group deleted since the listing has no grants; a bad page token is INVALID_ARGUMENT', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const h = connect(sim);
    const group = sim.state.listGroups()[0]!;
    sim.state.deleteGroup(group.id);
    const gone = { id: resourceId(groupType, group.id), displayName: group.displayName } as Resource;
    expect((await syncer(h, 'group').grants(gone, { state: undefined, size: 100 }, h.ctx)).items).toEqual([]);
    for (const [type, state] of [
      ['group', { offset: -1 }],
      ['user', { startIndex: 'x' }],
    ] as const) {
      const call: () => Promise<unknown> =
        type === 'group'
          ? () => syncer(h, type).grants(gone, { state, size: 100 }, h.ctx)
          : () => syncer(h, type).list(undefined, { state, size: 100 }, h.ctx);
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).code).toBe(Code.InvalidArgument);
    }
  });
});

describe('validate', () => {
  it('is one request, and explains 401, 403, 404 and an unreachable host in the connector wording', async () => {
    const sim = await startSim({ dataset: 'tiny', forbiddenTokens: ['acme-workspace-token'] });
    const h = connect(sim);
    await h.connector.validate(h.ctx);
    expect(sim.log.entries().map((e) => `${e.path}?${new URLSearchParams(e.query).toString()}`)).toEqual([
      '/scim/v2/Users?startIndex=1&count=1',
    ]);
    const attempt = async (baseUrl: string, token: string) => {
      const log = captureLogger();
      const c = createScimConnector({
        service: 'acme',
        baseUrl,
        token,
        wording: WORDING,
        runtime: { logger: log.logger, stats: newRuntimeStats() },
        http: { retry: { maxAttempts: 1 } },
        syncers: () => [],
      });
      return (await c
        .validate({ signal: new AbortController().signal, logger: log.logger })
        .catch((e: unknown) => e)) as ConnectorError;
    };
    const wrong = await attempt(sim.scimUrl, 'acme-wrong-token');
    expect(wrong.code).toBe(Code.Unauthenticated);
    expect(wrong.message).toMatch(
      /^acme: Acme rejected the SCIM token: check --token \(BATON_TOKEN\); use a valid token \[acme: GET .* 401: /,
    );
    const scoped = await attempt(sim.scimUrl, 'acme-workspace-token');
    expect(scoped.code).toBe(Code.PermissionDenied);
    expect(scoped.message).toContain('refused the SCIM request (HTTP 403): use an admin token');
    const notScim = await attempt(`${sim.baseUrl}/other`, sim.token);
    expect(notScim.code).toBe(Code.NotFound);
    expect(notScim.message).toContain('check --url (BATON_URL); it ends in /scim/v2');
    const closed = await startSim({ dataset: 'tiny' });
    const url = closed.scimUrl;
    await closed.close();
    const down = await attempt(url, sim.token);
    expect(down.code).toBe(Code.FailedPrecondition);
    expect(down.message).toContain('could not be reached; it ends in /scim/v2');
    expect(down.message).toMatch(/ECONNREFUSED/);
  });
});
