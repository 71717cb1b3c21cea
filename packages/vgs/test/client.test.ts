/**
 * The VGS client against the simulator over real HTTP: tokens (renewed before expiry, once more on a 401), scope
 * errors that name the scope, JSON:API paging with and without links.next, VGS's `detail` in every error, retries,
 * the service-accounts listing where the token allows it, and the page cache.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Code, type ConnectorError } from '@baton-ts/shared';
import { newRuntimeStats } from '@baton-ts/shared/testing';
import { parseVgsTime, VgsClient, type VgsClientOptions } from '../src/client.js';
import { DEFAULT_SCOPES, type VgsSimulator } from '../simulator/index.js';
import { closeAll, FAST_RETRY, route, startSim } from './helpers.js';

afterEach(closeAll);

function clientFor(sim: VgsSimulator, overrides: Partial<VgsClientOptions> = {}) {
  const stats = newRuntimeStats();
  const client = new VgsClient({
    accountsUrl: sim.accountsUrl,
    tokenUrl: sim.tokenUrl,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    organizationId: sim.organizationId,
    stats,
    ...FAST_RETRY,
    ...overrides,
  });
  return { client, stats };
}

const error = async (p: Promise<unknown>) => (await p.catch((e: unknown) => e)) as ConnectorError;

describe('tokens', () => {
  it('one token serves many requests and is renewed before it expires, never after a 401', async () => {
    let now = Date.parse('2025-06-01T12:00:00Z');
    const sim = await startSim({ dataset: 'tiny', clock: () => now, tokenLifetimeSeconds: 120 });
    const { client } = clientFor(sim, { now: () => now });
    await client.organizations('fresh');
    await client.vaultsPage(undefined, 'fresh');
    expect(sim.issuedTokens()).toBe(1);
    now += 110_000; // inside the last tenth of the token's life
    await client.vaultsPage(undefined, 'fresh');
    expect(sim.issuedTokens()).toBe(2);
    expect(sim.log.filter((e) => e.status === 401)).toEqual([]);
  });

  it('a token revoked early gets a 401, then a new token and one retry', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    await client.organizations('fresh');
    sim.revokeTokens();
    const orgs = await client.organizations('fresh');
    expect(orgs.map((o) => o.id)).toContain(sim.organizationId);
    expect(sim.log.entries().map((e) => `${route(e)} ${e.status}`)).toEqual([
      'POST /auth/realms/vgs/protocol/openid-connect/token 200',
      'GET /organizations 200',
      'GET /organizations 401',
      'POST /auth/realms/vgs/protocol/openid-connect/token 200',
      'GET /organizations 200',
    ]);
  });

  it('refused credentials are UNAUTHENTICATED naming both flags, without the secret', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim, { clientSecret: 'vgs-wrong-secret-91c2f' });
    const err = await error(client.organizations('fresh'));
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.message).toContain('--service-account-client-id (BATON_SERVICE_ACCOUNT_CLIENT_ID)');
    expect(err.message).toContain('--service-account-client-secret (BATON_SERVICE_ACCOUNT_CLIENT_SECRET)');
    expect(err.message).toContain('unauthorized_client');
    expect(err.message).not.toContain('vgs-wrong-secret-91c2f');
  });
});

describe('scopes', () => {
  it('a token without organization-users:read is refused before the request, naming the scope', async () => {
    const sim = await startSim({ dataset: 'tiny', scopes: ['organizations:read', 'vaults:read'] });
    const { client } = clientFor(sim);
    const err = await error(client.membersPage(undefined, 'fresh'));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(/lacks the organization-users:read scope/);
    expect(err.message).toMatch(/VGS scopes are fixed when a service account is created/);
    expect(sim.log.entries().map(route)).toEqual(['POST /auth/realms/vgs/protocol/openid-connect/token']);
  });

  it('provisioning without organization-users:write names that scope, with no write request', async () => {
    const sim = await startSim({
      dataset: 'tiny',
      scopes: DEFAULT_SCOPES.filter((s) => s !== 'organization-users:write'),
    });
    const { client } = clientFor(sim);
    const vault = sim.state.listVaults(new Set([sim.organizationId]))[0]!;
    const err = await error(client.setVaultMemberRole(vault.identifier, 'IDsomeone', 'read'));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain('lacks the organization-users:write scope, needed to change vault access');
    expect(sim.log.count((e) => e.method === 'PUT')).toBe(0);
  });

  it('when tokens do not list scopes, VGS’s 403 is explained with the scope and VGS’s detail', async () => {
    const sim = await startSim({ dataset: 'tiny', scopes: ['vaults:read'], listScopesInToken: false });
    const { client } = clientFor(sim);
    const err = await error(client.membersPage(undefined, 'fresh'));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain('403');
    expect(err.message).toContain('Insufficient scope: organization-users:read is required');
    expect(err.message).toContain('the service account needs the organization-users:read scope');
  });
});

describe('lists', () => {
  it('follow links.next through every page, and need none when the API does not page', async () => {
    const sim = await startSim({ dataset: 'small', pageSize: 7 });
    const { client } = clientFor(sim);
    const expected =
      sim.state.listMembers(sim.organizationId).length + sim.state.listServiceAccounts(sim.organizationId).length;
    const paged = await client.all((url, mode) => client.membersPage(url, mode), 'fresh');
    expect(paged).toHaveLength(expected);
    expect(sim.log.count((e) => e.path.endsWith('/members'))).toBe(Math.ceil(expected / 7));
    sim.setOptions({ pageSize: 0 });
    const first = await client.membersPage(undefined, 'fresh');
    expect(first.items).toHaveLength(expected);
    expect(first.next).toBeUndefined();
  });

  it('parse records the way the connector uses them', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    const [member] = (await client.membersPage(undefined, 'fresh')).items;
    const record = sim.state.listMembers(sim.organizationId)[0]!;
    expect(member).toMatchObject({ id: record.id, name: record.name, email: record.email, role: 'admin' });
    expect(member!.createdAt!.toISOString()).toBe(record.createdAt);
    const vaults = (await client.vaultsPage(undefined, 'fresh')).items;
    expect(vaults.filter((v) => v.organizationId === sim.organizationId)).toHaveLength(3);
    expect(vaults[0]!.createdAt).toBeInstanceOf(Date);
    const invites = (await client.invitesPage(undefined, 'fresh')).items;
    const staleId = sim.state.listInvites(sim.organizationId).find((i) => i.statusOverride === 'PENDING')!.inviteId;
    const stale = invites.find((i) => i.inviteId === staleId)!;
    expect(stale.status).toBe('PENDING');
    expect(client.isPast(stale.expiresAt)).toBe(true);
  });

  it('an unknown organization is NOT_FOUND pointing at --organization-id', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim, { organizationId: 'ACunknownOrganization1234' });
    const err = await error(client.invitesPage(undefined, 'fresh'));
    expect(err.code).toBe(Code.NotFound);
    expect(err.message).toContain('Organization ACunknownOrganization1234 not found');
    expect(err.message).toContain('check --organization-id (BATON_ORGANIZATION_ID)');
  });

  it('retries 429 and 5xx answers (Retry-After honoured) without losing a page', async () => {
    const sim = await startSim({ dataset: 'small', pageSize: 10 });
    const { client, stats } = clientFor(sim);
    sim.faults.set({
      rules: [
        { fault: { kind: 'rateLimit', retryAfterSeconds: 0 }, every: 3 },
        { fault: { kind: 'serverError', status: 502 }, nth: 4 },
      ],
    });
    const all = await client.all((url, mode) => client.membersPage(url, mode), 'fresh');
    expect(all).toHaveLength(44);
    expect(stats.retries).toBeGreaterThan(0);
  });
});

describe('service accounts listing', () => {
  it('is not requested when the token’s scopes do not allow it', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    expect(await client.serviceAccounts()).toBeUndefined();
    expect(sim.log.count((e) => e.path.endsWith('/service-accounts'))).toBe(0);
  });

  it('is read when allowed, and tolerated when VGS refuses it', async () => {
    const sim = await startSim({ dataset: 'tiny', scopes: [...DEFAULT_SCOPES, 'service-accounts:read'] });
    const { client } = clientFor(sim);
    const accounts = (await client.serviceAccounts())!;
    expect(accounts.map((a) => a.clientId)).toEqual(
      sim.state.listServiceAccounts(sim.organizationId).map((a) => a.clientId),
    );
    expect(accounts[0]!.scopes).toContain('organization-users:write');
    const other = await startSim({ dataset: 'tiny', listScopesInToken: false });
    const refused = clientFor(other).client;
    expect(await refused.serviceAccounts()).toBeUndefined();
    expect(other.log.filter((e) => e.path.endsWith('/service-accounts')).map((e) => e.status)).toEqual([403]);
  });
});

describe('writes', () => {
  it('carry VGS’s detail in errors; deleting what is gone answers "gone"', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    const org = sim.organizationId;
    for (const m of sim.state.listMembers(org).slice(1))
      if (m.role === 'admin') sim.state.setMemberRole(org, m.id, 'user');
    const owner = sim.state.listMembers(org)[0]!;
    const err = await error(client.setMemberRole(owner.id, 'user'));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toContain('422');
    expect(err.message).toContain('The organization must keep at least one admin');
    const vault = sim.state.listVaults(new Set([org]))[2]!;
    expect(await client.removeVaultMember(vault.identifier, owner.id)).toBe('gone');
    expect(await client.cancelInvite('IVnope')).toBe('gone');
  });

  it('creates invitations and forgets cached pages of what changed', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    await client.invitesPage(undefined, 'fresh');
    const vault = sim.state.listVaults(new Set([sim.organizationId]))[0]!;
    await client.vaultMembersPage(vault.identifier, undefined, 'fresh');
    const size = client.pages.size;
    const created = await client.createInvite({
      email: 'z@example.org',
      role: 'admin',
      vaults: [{ id: vault.identifier, role: 'read' }],
    });
    expect(created).toMatchObject({
      email: 'z@example.org',
      role: 'admin',
      status: 'PENDING',
      vaults: [{ id: vault.identifier, role: 'read' }],
    });
    expect(created!.expiresAt!.getTime() - created!.createdAt!.getTime()).toBe(7 * 86_400_000);
    expect(client.pages.size).toBe(size - 1);
    const person = sim.state.listMembers(sim.organizationId)[4]!;
    await client.setVaultMemberRole(vault.identifier, person.id, 'write');
    expect(client.pages.size).toBe(size - 2);
    expect(sim.state.vaultRole(vault.identifier, person.id)).toBe('write');
  });
});

describe('parseVgsTime', () => {
  it('reads times with and without a zone as UTC, and nothing else', () => {
    expect(parseVgsTime('2024-03-14T21:36:14')?.toISOString()).toBe('2024-03-14T21:36:14.000Z');
    expect(parseVgsTime('2021-06-15T12:30:45.625Z')?.toISOString()).toBe('2021-06-15T12:30:45.625Z');
    expect(parseVgsTime('2021-06-15T12:30:45+02:00')?.toISOString()).toBe('2021-06-15T10:30:45.000Z');
    expect(parseVgsTime('soon')).toBeUndefined();
    expect(parseVgsTime(null)).toBeUndefined();
  });
});
