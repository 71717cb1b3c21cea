/**
 * Full syncs in host order (in process, every page state through a real page token) against the simulator: what is
 * synced equals the simulator's state for the configured organization and nothing else, ids are the Go connector's,
 * and the requests are the fewest the API allows, whatever the API's and the host's page sizes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { findAnnotation, profileOf, type Entitlement, type Grant, type Resource } from '@baton-ts/shared';
import { UserTraitSchema, V1IdentifierSchema } from '@baton-ts/shared/pb';
import { generateDataset, DEFAULT_SCOPES, type VgsData, type VgsSimulator } from '../simulator/index.js';
import { closeAll, connectTo, fullSync, principalKey, route, startSim, syncerOf, allPages } from './helpers.js';

afterEach(closeAll);

const ids = (list: Resource[], type: string) =>
  list
    .filter((r) => r.id!.resourceType === type)
    .map((r) => r.id!.resource)
    .sort();
const sorted = (values: string[]) => [...values].sort();

/** What a sync of the configured organization must contain, from the simulator's state. */
function expectedFrom(sim: VgsSimulator, options: { serviceAccountsEndpoint?: boolean } = {}) {
  const org = sim.organizationId;
  const state = sim.state;
  const vaults = state.listVaults(new Set([org]));
  const accounts = state.listServiceAccounts(org);
  const accountByMember = new Map(accounts.map((sa) => [sa.memberId, sa]));
  const vaultGrants: string[] = [];
  const inVault = new Set<string>();
  for (const v of vaults) {
    for (const m of state.listVaultMembers(v.identifier)) {
      const sa = accountByMember.get(m.id);
      const principal = sa ? `service_account:${sa.clientId.toLowerCase()}` : `user:${m.id}`;
      if (sa) inVault.add(sa.clientId.toLowerCase());
      vaultGrants.push(`vault:${v.identifier}:${m.role}:${principal}`);
    }
  }
  const members = state.listMembers(org);
  return {
    users: sorted(members.map((m) => m.id)),
    invitations: sorted(state.pendingInvites(org).map((i) => i.inviteId)),
    vaults: sorted(vaults.map((v) => v.identifier)),
    serviceAccounts: sorted(
      accounts
        .map((sa) => sa.clientId.toLowerCase())
        .filter((id) => options.serviceAccountsEndpoint || inVault.has(id)),
    ),
    orgGrants: sorted(members.map((m) => `org:${org}:${m.role === 'admin' ? 'admin' : 'member'}:user:${m.id}`)),
    vaultGrants: sorted(vaultGrants),
    entitlements: sorted([
      `org:${org}:member`,
      `org:${org}:admin`,
      ...vaults.flatMap((v) => ['read', 'write', 'admin'].map((r) => `vault:${v.identifier}:${r}`)),
    ]),
  };
}

function actual(result: { resources: Resource[]; entitlements: Entitlement[]; grants: Grant[] }, org: string) {
  const grantIds = result.grants.map((g) => g.id);
  return {
    users: ids(result.resources, 'user'),
    invitations: ids(result.resources, 'invitation'),
    vaults: ids(result.resources, 'vault'),
    serviceAccounts: ids(result.resources, 'service_account'),
    orgGrants: sorted(grantIds.filter((id) => id.startsWith(`org:${org}:`))),
    vaultGrants: sorted(grantIds.filter((id) => id.startsWith('vault:'))),
    entitlements: sorted(result.entitlements.map((e) => e.id)),
  };
}

/** The fewest requests a full sync can make: one per API page of each list it needs, plus the token. */
function floor(sim: VgsSimulator): number {
  const size = sim.options().pageSize;
  const pages = (n: number) => (size === 0 ? 1 : Math.max(1, Math.ceil(n / size)));
  const org = sim.organizationId;
  const own = sim.state.serviceAccount(sim.clientId)!;
  const visible = new Set(sim.state.organizationsOf(own).map((o) => o.id));
  const members = sim.state.listMembers(org).length + sim.state.listServiceAccounts(org).length;
  const vaults = sim.state.listVaults(new Set([org]));
  return (
    1 +
    pages(visible.size) +
    pages(members) +
    pages(sim.state.listInvites(org).length) +
    pages(sim.state.listVaults(visible).length) +
    vaults.reduce((n, v) => n + pages(sim.state.listVaultMembers(v.identifier).length), 0)
  );
}

describe('a full sync', () => {
  it('holds exactly the configured organization’s data, in the fewest requests', async () => {
    const sim = await startSim({ dataset: 'small' });
    const t = connectTo(sim);
    const result = await fullSync(t);
    expect(actual(result, sim.organizationId)).toEqual(expectedFrom(sim));
    expect(ids(result.resources, 'org')).toEqual([sim.organizationId]);
    expect(sim.log.count()).toBe(floor(sim));
    expect(sim.log.count()).toBe(5 + sim.state.listVaults(new Set([sim.organizationId])).length);
    // Nothing is read twice.
    const urls = sim.log.entries().map((e) => `${route(e)}?${new URLSearchParams(e.query).toString()}`);
    expect(new Set(urls).size).toBe(urls.length);
    expect(t.stats.apiRequests).toBe(sim.log.count());
    // Nothing of the two other organizations.
    const others = sim.state.listOrganizations().filter((o) => o.id !== sim.organizationId);
    const foreignVaults = sim.state.listVaults(new Set(others.map((o) => o.id))).map((v) => v.identifier);
    const foreignUsers = others.flatMap((o) => sim.state.listMembers(o.id).map((m) => m.id));
    const text = JSON.stringify(result.resources.map((r) => r.id)) + JSON.stringify(result.grants.map((g) => g.id));
    for (const id of [...foreignVaults, ...foreignUsers, ...others.map((o) => o.id)]) expect(text).not.toContain(id);
    expect(foreignVaults.length).toBeGreaterThan(0);
  });

  it('is the same, still in the fewest requests, when the API pages by 7 and the host by 5', async () => {
    const sim = await startSim({ dataset: 'small', pageSize: 7 });
    const t = connectTo(sim);
    const result = await fullSync(t, 5);
    expect(actual(result, sim.organizationId)).toEqual(expectedFrom(sim));
    expect(sim.log.count()).toBe(floor(sim));
    expect(sim.log.count((e) => e.path.endsWith('/members') && e.path.startsWith('/organizations'))).toBe(
      Math.ceil((40 + 4) / 7),
    );
  });

  it('works when the API sends no links at all (one document per list)', async () => {
    const sim = await startSim({ dataset: 'small', pageSize: 0 });
    const result = await fullSync(connectTo(sim), 3);
    expect(actual(result, sim.organizationId)).toEqual(expectedFrom(sim));
    expect(sim.log.count()).toBe(floor(sim));
  });

  it('reads again what it did not keep (another process asks for grants): same grants', async () => {
    const sim = await startSim({ dataset: 'small', pageSize: 9 });
    const first = connectTo(sim);
    const result = await fullSync(first);
    const second = connectTo(sim); // nothing cached
    const grants: string[] = [];
    for (const r of result.resources.filter((x) => x.id!.resourceType === 'org' || x.id!.resourceType === 'vault')) {
      const syncer = syncerOf(second, r.id!.resourceType);
      grants.push(
        ...(await allPages((state, size) => syncer.grants(r, { state, size }, second.ctx), 4)).map((g) => g.id),
      );
    }
    expect(sorted(grants)).toEqual(sorted(result.grants.map((g) => g.id)));
    const before = sim.log.count();
    const accounts = await allPages(
      (state, size) => syncerOf(second, 'service_account').list(undefined, { state, size }, second.ctx),
      2,
    );
    expect(sorted(accounts.map((a) => a.id!.resource))).toEqual(expectedFrom(sim).serviceAccounts);
    expect(sim.log.count()).toBeGreaterThan(before);
  });

  it('adds service accounts without vault access, with their names, when the token may list them', async () => {
    const sim = await startSim({ dataset: 'small', scopes: [...DEFAULT_SCOPES, 'service-accounts:read'] });
    const result = await fullSync(connectTo(sim));
    expect(actual(result, sim.organizationId)).toEqual(expectedFrom(sim, { serviceAccountsEndpoint: true }));
    const lonely = sim.state.listServiceAccounts(sim.organizationId).at(-1)!;
    const resource = result.resources.find((r) => r.id!.resource === lonely.clientId.toLowerCase())!;
    expect(resource.displayName).toBe(lonely.name);
    expect(profileOf(resource)).toMatchObject({ client_id: lonely.clientId, email: `${lonely.clientId}@vgs.dev` });
    expect(profileOf(resource)!.member_id).toBeUndefined();
    expect(sim.log.count()).toBe(floor(sim) + 1);
  });
});

describe('what each resource says', () => {
  it('keeps the Go connector’s ids, V1 identifiers and user profile keys', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const result = await fullSync(t);
    const org = sim.organizationId;
    const v1 = (anns: Parameters<typeof findAnnotation>[0]) => findAnnotation(anns, V1IdentifierSchema)?.id;
    expect(t.connector.syncers.map((s) => [s.resourceType.id, v1(s.resourceType.annotations)])).toEqual([
      ['user', undefined],
      ['invitation', undefined],
      ['org', 'org'],
      ['vault', 'vault'],
      ['service_account', undefined],
    ]);
    const orgResource = result.resources.find((r) => r.id!.resourceType === 'org')!;
    expect(v1(orgResource.annotations)).toBe(`org:${org}`);
    const member = result.entitlements.find((e) => e.id === `org:${org}:member`)!;
    expect(member).toMatchObject({ slug: 'member', displayName: 'Acme Payments Organization User' });
    expect(v1(member.annotations)).toBe(`org:${org}:role:member`);
    const vault = sim.state.listVaults(new Set([org]))[0]!;
    const write = result.entitlements.find((e) => e.id === `vault:${vault.identifier}:write`)!;
    expect(v1(write.annotations)).toBe(`vault:${vault.identifier}:role:write`);
    expect(write.grantableTo.map((rt) => rt.id)).toEqual(['user', 'service_account']);
    const grant = result.grants.find((g) => g.id.startsWith(`vault:${vault.identifier}:write:user:`))!;
    expect(grant.id).toBe(`vault:${vault.identifier}:write:${principalKey(grant)}`);

    const people = sim.state.listMembers(org);
    const user = (id: string) => result.resources.find((r) => r.id!.resource === id)!;
    const threeWords = user(people[2]!.id);
    expect(profileOf(threeWords)).toMatchObject({
      login: people[2]!.email,
      email: people[2]!.email,
      first_name: people[2]!.name.split(' ')[0],
      last_name: people[2]!.name.split(' ').slice(1).join(' '),
      role: people[2]!.role,
    });
    expect(user(people[1]!.id).displayName).toBe(people[1]!.email);
    expect(findAnnotation(threeWords.annotations, UserTraitSchema)?.emails[0]?.address).toBe(people[2]!.email);
  });

  it('service accounts are never users; their vault grants point at service_account resources', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const result = await fullSync(connectTo(sim));
    const users = result.resources.filter((r) => r.id!.resourceType === 'user');
    expect(users.some((u) => JSON.stringify(profileOf(u)).includes('@vgs.dev'))).toBe(false);
    const own = result.resources.find((r) => r.id!.resource === sim.clientId.toLowerCase())!;
    expect(own.id!.resourceType).toBe('service_account');
    expect(findAnnotation(own.annotations, UserTraitSchema)?.accountType).toBe(2); // SERVICE
    const memberId = sim.state.serviceAccount(sim.clientId)!.memberId;
    expect(profileOf(own)!.member_id).toBe(memberId);
    const ownGrants = result.grants.filter((g) => principalKey(g) === `service_account:${own.id!.resource}`);
    expect(ownGrants).toHaveLength(sim.state.listVaults(new Set([sim.organizationId])).length - 1);
    expect(result.grants.some((g) => principalKey(g) === `user:${memberId}`)).toBe(false);
  });

  it('invitations: pending only (expired and stale ones left out), shown by the invitee, expiring after 7 days', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const result = await fullSync(connectTo(sim));
    const all = sim.state.listInvites(sim.organizationId);
    const pending = sim.state.pendingInvites(sim.organizationId);
    expect(pending.length).toBeGreaterThan(0);
    expect(pending.length).toBeLessThan(all.length);
    expect(all.some((i) => i.statusOverride === 'PENDING' && !pending.includes(i))).toBe(true);
    for (const invite of pending) {
      const r = result.resources.find((x) => x.id!.resource === invite.inviteId)!;
      expect(r.displayName).toBe(invite.email);
      const profile = profileOf(r)!;
      expect(profile).toMatchObject({ email: invite.email, invited_by: invite.invitedBy, role: invite.role });
      expect(Date.parse(profile.expires_at as string) - Date.parse(invite.createdAt)).toBe(7 * 86_400_000);
      expect(findAnnotation(r.annotations, UserTraitSchema)?.status?.details).toMatch(/invitation pending until/);
    }
  });

  it('an unknown vault role is reported and skipped, not turned into a grant on a missing entitlement', async () => {
    const data: VgsData = generateDataset('tiny');
    const vault = data.vaults.find((v) => v.orgId === data.organizations[0]!.id)!;
    const someone = data.members.find(
      (m) => m.orgId === vault.orgId && !data.vaultMembers.some(([v, id]) => v === vault.identifier && id === m.id),
    )!;
    data.vaultMembers.push([vault.identifier, someone.id, 'owner' as 'admin']);
    const sim = await startSim({ dataset: data });
    const t = connectTo(sim);
    const result = await fullSync(t);
    expect(result.grants.some((g) => g.id.startsWith(`vault:${vault.identifier}:`) && g.id.endsWith(someone.id))).toBe(
      false,
    );
    expect(
      t.log.lines.some(
        (l) => l.includes('vault member has a role this connector does not know') && l.includes('owner'),
      ),
    ).toBe(true);
    const entitlementIds = new Set(result.entitlements.map((e) => e.id));
    for (const g of result.grants) expect(entitlementIds.has(g.entitlement!.id)).toBe(true);
  });
});
