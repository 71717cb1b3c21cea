/**
 * Full syncs against the simulator over real HTTP: what each resource type emits, compared with the simulator's
 * state; ids byte-identical to the Go connector's; request counts (one read per API page, role grants free); paging
 * at any RPC page size; the fallbacks when the users listing of the sync is not available.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { profileOf, type Grant } from '@baton-ts/shared';
import { allPages } from '@baton-ts/shared/testing';
import { generateDataset, type AccessLevel, type AshareRecord, type CeligoData } from '../simulator/index.js';
import {
  closeAll,
  connectTo,
  countRoutes,
  fullSync,
  lastSeq,
  startSim,
  type SyncResult,
  expectedGrantIds,
} from './helpers.js';

afterEach(closeAll);

const pages = (n: number, size: number) => Math.max(1, Math.ceil(n / size));
const grantIds = (grants: Grant[], prefix: string) =>
  grants
    .map((g) => g.id)
    .filter((id) => id.startsWith(prefix))
    .sort();

function byId(result: SyncResult, type: string, id: string) {
  return result.resources.find((r) => r.id?.resourceType === type && r.id.resource === id)!;
}

describe('full sync of the small account', () => {
  it('emits every user, integration and role with Go-compatible ids, and grants matching the simulator', async () => {
    const sim = await startSim({ dataset: 'small' });
    const t = connectTo(sim, { syncId: 'sync-1' });
    const result = await fullSync(t);
    const shares = sim.state.listShares();
    const integrations = sim.state.listIntegrations();

    expect(result.resources.map((r) => `${r.id!.resourceType}:${r.id!.resource}`).sort()).toEqual(
      [
        ...shares.map((s) => `user:${s._id}`),
        ...integrations.map((i) => `integration:${i._id}`),
        'role:administrator',
        'role:manage',
        'role:monitor',
      ].sort(),
    );
    expect(result.entitlements.map((e) => e.id).sort()).toEqual(
      [
        ...integrations.flatMap((i) => ['manage', 'monitor', 'administrator'].map((l) => `integration:${i._id}:${l}`)),
        'role:administrator:assigned',
        'role:manage:assigned',
        'role:monitor:assigned',
      ].sort(),
    );
    expect(result.grants.map((g) => g.id).sort()).toEqual(expectedGrantIds(sim));
    // Grant ids are `<entitlement id>:user:<share id>`, and the grant's parts agree with its id.
    for (const g of result.grants) {
      expect(g.id).toBe(`${g.entitlement!.id}:${g.principal!.id!.resourceType}:${g.principal!.id!.resource}`);
    }
    // The data really needs paging at the simulator's page size of 50.
    expect(shares.length).toBe(60);
    expect(Math.max(...integrations.map((i) => sim.state.integrationUsers(i._id)!.length))).toBeGreaterThan(50);
  });

  it('reads each API page once and answers role grants without any request (index of the users listing)', async () => {
    const sim = await startSim({ dataset: 'small' });
    const t = connectTo(sim, { syncId: 'sync-1' });
    await fullSync(t);
    const integrationPages = sim.state
      .listIntegrations()
      .reduce((n, i) => n + pages(sim.state.integrationUsers(i._id)!.length, 50), 0);
    expect(countRoutes(sim)).toEqual({
      'GET /v1/ashares': 1 + pages(60, 50), // validate, then the listing
      'GET /v1/integrations': 1,
      'GET /v1/integrations/:id/ashares': integrationPages,
    });
    expect(sim.log.filter((e) => e.status !== 200)).toEqual([]);
    // The first page asks for Celigo's page size; later pages are the Link targets, verbatim.
    const userPages = sim.log.filter((e) => e.path === '/v1/ashares').map((e) => e.query);
    expect(userPages).toEqual([{ limit: '1' }, { limit: '1000' }, { skip: '50', limit: '50' }]);
    expect(t.stats.apiRequests).toBe(sim.log.count());
  });

  it('gives the same result at any RPC page size, from the same API requests', async () => {
    const sim = await startSim({ dataset: 'small' });
    const reference = await fullSync(connectTo(sim, { syncId: 'a' }), 250);
    const requests = sim.log.count();
    for (const size of [1, 7, 50]) {
      const from = lastSeq(sim);
      const result = await fullSync(connectTo(sim, { syncId: `size-${size}` }), size);
      expect(result.grants.map((g) => g.id).sort()).toEqual(reference.grants.map((g) => g.id).sort());
      expect(result.resources.map((r) => r.id!.resource)).toEqual(reference.resources.map((r) => r.id!.resource));
      expect(sim.log.count() - from, `page size ${size}`).toBe(requests);
    }
  });

  it('follows cursor-style (after=) links and treats 204 empty lists as empty', async () => {
    const sim = await startSim({ dataset: 'small', pagination: 'after', pageSize: 7, maxPageSize: 7 });
    const result = await fullSync(connectTo(sim, { syncId: 's' }));
    expect(result.grants.map((g) => g.id).sort()).toEqual(expectedGrantIds(sim));
    expect(sim.log.filter((e) => e.path === '/v1/ashares' && e.query.after !== undefined).length).toBe(
      pages(60, 7) - 1,
    );

    const empty = await startSim({
      dataset: { owner: sim.state.owner, shares: [], integrations: [] },
      emptyListStatus: 204,
    });
    const none = await fullSync(connectTo(empty));
    expect(none.resources.map((r) => r.id!.resource)).toEqual(['monitor', 'manage', 'administrator']);
    expect(none.grants).toEqual([]);
    expect(empty.log.filter((e) => e.path === '/v1/ashares').map((e) => e.status)).toEqual([204, 204]);
  });
});

describe('users', () => {
  it('maps status, names and the profile (the Go keys first)', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const result = await fullSync(connectTo(sim));
    const shares = sim.state.listShares();
    const user = (i: number) => byId(result, 'user', shares[i]!._id);

    const admin = user(0);
    expect(admin.displayName).toBe(shares[0]!.sharedWithUser.name);
    expect(profileOf(admin)).toMatchObject({
      email: shares[0]!.sharedWithUser.email,
      login: shares[0]!.sharedWithUser.email,
      allowedToResetMFA: shares[0]!.sharedWithUser.allowedToResetMFA,
      accountSSOLinked: 'this_account',
      accountSSORequired: true,
      accessLevel: 'administrator',
      userId: shares[0]!.sharedWithUser._id,
    });
    expect(Object.keys(profileOf(admin)!)).toEqual(
      expect.arrayContaining(['email', 'login', 'allowedToResetMFA', 'accountSSOLinked', 'accountSSORequired']),
    );
    expect(admin.status?.status).toBe(1); // ENABLED
    expect(profileOf(user(3))).toMatchObject({
      accessLevel: '',
      accountMFARequired: true,
      integrationAccessLevel: shares[3]!.integrationAccessLevel.map((e) => ({
        integrationId: e._integrationId,
        accessLevel: e.accessLevel,
      })),
    });
    expect(user(4).status).toMatchObject({ status: 1, details: 'pending: invited, has not accepted yet' });
    expect(user(5).status).toMatchObject({ status: 2, details: 'disabled in Celigo' });
    expect(user(6).status).toMatchObject({ status: 2, details: 'invitation declined' });
    // No name: the email is the display name.
    expect(shares[7]!.sharedWithUser.name).toBeUndefined();
    expect(user(7).displayName).toBe(shares[7]!.sharedWithUser.email);
  });

  it('a share without sharedWithUser gets the share id as display name and the Go empty profile values', async () => {
    const data = generateDataset('tiny');
    const bare = { ...data.shares[1]!, sharedWithUser: undefined } as unknown as AshareRecord;
    const sim = await startSim({ dataset: { ...data, shares: [bare] } });
    const result = await fullSync(connectTo(sim));
    const user = byId(result, 'user', bare._id);
    expect(user.displayName).toBe(bare._id);
    expect(profileOf(user)).toMatchObject({ email: '', login: '', accountSSOLinked: '', allowedToResetMFA: false });
  });
});

describe('roles', () => {
  it('without the users listing of this sync, reads the users once per role and gives the same grants', async () => {
    const sim = await startSim({ dataset: 'small' });
    const t = connectTo(sim, { syncId: 'sync-a' });
    const reference = await fullSync(t);
    const roleSyncer = t.connector.syncers.find((s) => s.resourceType.id === 'role')!;
    const roles = reference.resources.filter((r) => r.id!.resourceType === 'role');

    // Another sync id: the index of sync-a must not answer.
    const ctx = { ...t.ctx, syncId: 'sync-b' };
    const from = lastSeq(sim);
    const grants: Grant[] = [];
    for (const role of roles) {
      grants.push(...(await allPages((state, size) => roleSyncer.grants(role, { state, size }, ctx), 25)));
    }
    expect(grants.map((g) => g.id).sort()).toEqual(grantIds(reference.grants, 'role:'));
    expect(countRoutes(sim, from)).toEqual({ 'GET /v1/ashares': 3 * pages(60, 50) });
  });

  it('an index page token reaching a process without the index restarts that role from the API', async () => {
    const sim = await startSim({ dataset: 'small' });
    const t = connectTo(sim, { syncId: 's' });
    const reference = await fullSync(t);
    const role = reference.resources.find((r) => r.id!.resource === 'monitor')!;
    const syncer = t.connector.syncers.find((s) => s.resourceType.id === 'role')!;
    const first = await syncer.grants(role, { state: undefined, size: 2 }, t.ctx);
    expect(first.next).toEqual({ index: 2 });

    const restarted = connectTo(sim, { syncId: 's' });
    const other = restarted.connector.syncers.find((s) => s.resourceType.id === 'role')!;
    const rest = await allPages(
      (state, size) => other.grants(role, { state: state ?? first.next, size }, restarted.ctx),
      2,
    );
    const all = new Set([...first.items, ...rest].map((g) => g.id));
    expect([...all].sort()).toEqual(grantIds(reference.grants, 'role:monitor:'));
  });
});

describe('integrations', () => {
  function withLevel(level: string): CeligoData {
    const data = generateDataset('tiny');
    // A level Celigo might add one day, held account-wide by one user and so shown on every integration.
    data.shares[1] = { ...data.shares[1]!, accessLevel: level as AccessLevel };
    return data;
  }

  it('declares an entitlement for every level the API reports, so no grant points at an undeclared one', async () => {
    const sim = await startSim({ dataset: withLevel('approver') });
    const t = connectTo(sim, { syncId: 's' });
    const result = await fullSync(t);
    const shareId = sim.state.listShares()[1]!._id;
    for (const integration of sim.state.listIntegrations()) {
      expect(result.entitlements.map((e) => e.id)).toContain(`integration:${integration._id}:approver`);
      expect(result.grants.map((g) => g.id)).toContain(`integration:${integration._id}:approver:user:${shareId}`);
    }
    const declared = new Set(result.entitlements.map((e) => e.id));
    for (const g of result.grants) expect(declared.has(g.entitlement!.id)).toBe(true);
    // No role grant for a level that is not a role, and a warning that says so.
    expect(result.grants.filter((g) => g.principal!.id!.resource === shareId && g.id.startsWith('role:'))).toEqual([]);
    expect(t.log.lines.some((l) => l.includes('account access level this connector does not know'))).toBe(true);
  });

  it('leaves out (with a warning) a user whose level was not declared, e.g. in a process that did not list users', async () => {
    const sim = await startSim({ dataset: withLevel('approver') });
    const t = connectTo(sim);
    const syncer = t.connector.syncers.find((s) => s.resourceType.id === 'integration')!;
    const [integration] = await allPages((state, size) => syncer.list(undefined, { state, size }, t.ctx));
    const entitlements = await syncer.entitlements(integration!, { state: undefined, size: 100 }, t.ctx);
    expect(entitlements.items.map((e) => e.slug)).toEqual(['manage', 'monitor', 'administrator']);
    const grants = await allPages((state, size) => syncer.grants(integration!, { state, size }, t.ctx));
    const slugs = new Set(grants.map((g) => g.entitlement!.id.split(':').pop()));
    expect([...slugs].every((s) => ['manage', 'monitor', 'administrator'].includes(s!))).toBe(true);
    expect(grants.length).toBe(sim.state.integrationUsers(integration!.id!.resource)!.length - 1);
    expect(t.log.lines.some((l) => l.includes('has no entitlement') && l.includes('approver'))).toBe(true);
  });

  it('maps the app profile with the Go keys and tolerates a missing description', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const result = await fullSync(connectTo(sim));
    const [first, second] = sim.state.listIntegrations();
    const noDescription = byId(result, 'integration', first!._id);
    expect(first!.description).toBeUndefined();
    expect(noDescription.displayName).toBe(first!.name);
    expect(profileOf(noDescription)).toEqual({ name: first!.name, id: first!._id, description: '', sandbox: false });
    expect(profileOf(byId(result, 'integration', second!._id))).toMatchObject({
      description: second!.description ?? '',
    });
  });

  it('an integration deleted after it was listed has no grants (not an error)', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const syncer = t.connector.syncers.find((s) => s.resourceType.id === 'integration')!;
    const [integration] = await allPages((state, size) => syncer.list(undefined, { state, size }, t.ctx));
    const gone = { ...integration!, id: { ...integration!.id!, resource: 'ffffffffffffffffffffffff' } };
    const result = await syncer.grants(gone, { state: undefined, size: 50 }, t.ctx);
    expect(result).toEqual({ items: [] });
    expect(sim.log.last()!.status).toBe(404);
  });
});
