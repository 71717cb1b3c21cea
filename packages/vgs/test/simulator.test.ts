/**
 * The VGS simulator over real HTTP, without the connector: the token endpoint (Basic and form credentials, expiry,
 * scopes), JSON:API answers and paging, scope enforcement, 204 writes, invitation expiry, other organizations,
 * rate limits, faults and the request log. Any VGS client pointed at it must work unchanged, so these tests speak
 * plain HTTP the way the API documents it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, startSim } from './helpers.js';
import {
  DEFAULT_SCOPES,
  INVITE_LIFETIME_MS,
  JSON_API,
  PRIMARY_ORGANIZATION_ID,
  type VgsSimulator,
} from '../simulator/index.js';

afterEach(closeAll);

interface Answer {
  status: number;
  type: string;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary shapes
}

async function call(
  sim: VgsSimulator,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { Accept: JSON_API, ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] ??= JSON_API;
  }
  const res = await fetch(`${sim.baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json };
}

async function tokenFor(
  sim: VgsSimulator,
  how: 'basic' | 'form' = 'basic',
  credentials = { id: sim.clientId, secret: sim.clientSecret },
): Promise<Answer> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (how === 'basic') {
    headers.Authorization = `Basic ${Buffer.from(`${credentials.id}:${credentials.secret}`).toString('base64')}`;
  } else {
    form.set('client_id', credentials.id);
    form.set('client_secret', credentials.secret);
  }
  const res = await fetch(sim.tokenUrl, { method: 'POST', headers, body: form.toString() });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: JSON.parse(text) };
}

async function token(sim: VgsSimulator): Promise<string> {
  return (await tokenFor(sim)).json.access_token as string;
}

describe('token endpoint', () => {
  it('issues a bearer token for Basic and for form credentials, with expiry and scopes, at the real path', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    expect(new URL(sim.tokenUrl).pathname).toBe('/auth/realms/vgs/protocol/openid-connect/token');
    for (const how of ['basic', 'form'] as const) {
      const answer = await tokenFor(sim, how);
      expect(answer.status).toBe(200);
      expect(answer.type).toMatch(/^application\/json/);
      expect(answer.json).toMatchObject({ token_type: 'Bearer', expires_in: 1200, scope: DEFAULT_SCOPES.join(' ') });
      expect(answer.json.access_token).toMatch(/^eyJ/);
    }
    expect(sim.issuedTokens()).toBe(2);
  });

  it('refuses wrong credentials (401) and malformed grants (400) the way Keycloak does', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const wrong = await tokenFor(sim, 'basic', { id: sim.clientId, secret: 'not-the-secret' });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({
      error: 'unauthorized_client',
      error_description: 'Invalid client or Invalid client credentials',
    });
    const noGrant = await fetch(sim.tokenUrl, { method: 'POST', body: '' });
    expect(noGrant.status).toBe(400);
    expect(await noGrant.json()).toMatchObject({ error: 'invalid_request' });
    const password = await fetch(sim.tokenUrl, { method: 'POST', body: 'grant_type=password' });
    expect(await password.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('tokens expire after their lifetime, and revoked tokens stop working at once', async () => {
    let now = Date.parse('2025-06-01T12:00:00Z');
    const sim = await startSim({ dataset: 'tiny', clock: () => now, tokenLifetimeSeconds: 60 });
    const t = await token(sim);
    expect((await call(sim, 'GET', '/organizations', { token: t })).status).toBe(200);
    now += 61_000;
    const expired = await call(sim, 'GET', '/organizations', { token: t });
    expect(expired.status).toBe(401);
    expect(expired.json.errors[0].detail).toBe('Access token expired');
    const fresh = await token(sim);
    sim.revokeTokens();
    expect((await call(sim, 'GET', '/organizations', { token: fresh })).status).toBe(401);
  });

  it('can leave the scope list out of token responses', async () => {
    const sim = await startSim({ dataset: 'tiny', listScopesInToken: false });
    expect((await tokenFor(sim)).json.scope).toBeUndefined();
  });
});

describe('accounts API', () => {
  it('needs a bearer token: 401 as a JSON:API error document otherwise', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    for (const t of [undefined, 'forged-token']) {
      const answer = await call(sim, 'GET', '/organizations', { token: t });
      expect(answer.status).toBe(401);
      expect(answer.type).toBe(JSON_API);
      expect(answer.json.errors[0]).toMatchObject({ status: '401', title: 'Unauthorized' });
    }
  });

  it('lists the organizations the token may read (not the third one) as JSON:API', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const answer = await call(sim, 'GET', '/organizations', { token: await token(sim) });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe(JSON_API);
    const orgs = answer.json.data as Array<{ id: string; type: string; attributes: { name: string } }>;
    expect(orgs.map((o) => o.attributes.name)).toEqual(['Acme Payments', 'Acme Sandbox']);
    expect(orgs[0]).toMatchObject({ id: PRIMARY_ORGANIZATION_ID, type: 'organizations' });
    const hidden = sim.state.listOrganizations()[2]!;
    const members = await call(sim, 'GET', `/organizations/${hidden.id}/members`, { token: await token(sim) });
    expect(members.status).toBe(403);
    const unknown = await call(sim, 'GET', '/organizations/ACnope/members', { token: await token(sim) });
    expect(unknown.status).toBe(404);
  });

  it('enforces scopes with 403 and a detail naming the scope', async () => {
    const sim = await startSim({ dataset: 'tiny', scopes: ['vaults:read'] });
    const t = await token(sim);
    expect((await call(sim, 'GET', '/vaults', { token: t })).status).toBe(200);
    const members = await call(sim, 'GET', `/organizations/${sim.organizationId}/members`, { token: t });
    expect(members.status).toBe(403);
    expect(members.json.errors[0].detail).toBe('Insufficient scope: organization-users:read is required');
    const orgs = await call(sim, 'GET', '/organizations', { token: t });
    expect(orgs.json.errors[0].detail).toContain('organizations:read');
  });

  it('members carry role and vaults; service accounts appear as <clientId>@vgs.dev technical users', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const answer = await call(sim, 'GET', `/organizations/${sim.organizationId}/members`, { token: await token(sim) });
    const data = answer.json.data as Array<{ id: string; attributes: Record<string, unknown> }>;
    expect(data[0]!.attributes).toMatchObject({ role: 'admin', id: data[0]!.id });
    const technical = data.filter((m) => String(m.attributes.email_address).endsWith('@vgs.dev'));
    expect(technical.map((m) => m.attributes.email_address)).toContain(`${sim.clientId}@vgs.dev`);
    sim.setOptions({ serviceAccountsInMembers: false });
    const people = await call(sim, 'GET', `/organizations/${sim.organizationId}/members`, { token: await token(sim) });
    expect(people.json.data).toHaveLength(data.length - technical.length);
  });

  it('pages with links.next (absolute URLs) and answers everything at once when paging is off', async () => {
    const sim = await startSim({ dataset: 'small', pageSize: 7 });
    const t = await token(sim);
    const seen: string[] = [];
    let url: string | undefined = `${sim.baseUrl}/organizations/${sim.organizationId}/members`;
    let pages = 0;
    while (url) {
      const answer = await call(sim, 'GET', url.slice(sim.baseUrl.length), { token: t });
      expect(answer.status).toBe(200);
      seen.push(...(answer.json.data as Array<{ id: string }>).map((m) => m.id));
      url = answer.json.links.next;
      pages++;
    }
    const total =
      sim.state.listMembers(sim.organizationId).length + sim.state.listServiceAccounts(sim.organizationId).length;
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    expect(pages).toBe(Math.ceil(total / 7));
    const big = await call(sim, 'GET', `/organizations/${sim.organizationId}/members?page[size]=500`, { token: t });
    expect(big.json.links.self).toContain('page[size]=100'); // capped at maxPageSize
    expect(big.json.data).toHaveLength(Math.min(total, 100));
    sim.setOptions({ pageSize: 0 });
    const all = await call(sim, 'GET', `/organizations/${sim.organizationId}/members`, { token: t });
    expect(all.json.data).toHaveLength(total);
    expect(all.json.links.next).toBeUndefined();
    const bad = await call(sim, 'GET', `/vaults?page[number]=0`, { token: t });
    expect(bad.status).toBe(400);
  });

  it('lists vaults of every readable organization with relationships.organization, and vault members', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = await token(sim);
    const vaults = (await call(sim, 'GET', '/vaults', { token: t })).json.data as Array<{
      attributes: { identifier: string };
      relationships: { organization: { data: { id: string } } };
    }>;
    const [primary, sandbox, hidden] = sim.state.listOrganizations();
    const orgsOf = vaults.map((v) => v.relationships.organization.data.id);
    expect(orgsOf.filter((id) => id === primary!.id)).toHaveLength(3);
    expect(orgsOf.filter((id) => id === sandbox!.id)).toHaveLength(2);
    expect(orgsOf).not.toContain(hidden!.id);
    const first = vaults[0]!.attributes.identifier;
    const members = await call(sim, 'GET', `/vaults/${first}/members`, { token: t });
    const listed = members.json.data as Array<{ id: string; attributes: { id: string; email: string; role: string } }>;
    expect(new Set(listed.map((m) => m.attributes.role))).toEqual(new Set(['read', 'write', 'admin']));
    expect(listed.find((m) => m.attributes.email === `${sim.clientId}@vgs.dev`)?.attributes.role).toBe('write');
    for (const m of listed) expect(m.attributes.id).toBe(m.id);
    const one = await call(sim, 'GET', `/vaults?filter[vaults][identifier]=${first}`, { token: t });
    expect(
      (one.json.data as Array<{ attributes: { identifier: string } }>).map((v) => v.attributes.identifier),
    ).toEqual([first]);
    const older = await call(sim, 'GET', `/organizations/${primary!.id}/users`, { token: t });
    expect(older.json.data.length).toBe(sim.state.listMembers(primary!.id).length + 2);
    const hiddenVault = sim.state.listVaults(new Set([hidden!.id]))[0]!;
    expect((await call(sim, 'GET', `/vaults/${hiddenVault.identifier}/members`, { token: t })).status).toBe(403);
  });
});

describe('writes', () => {
  it('vault members: PUT adds or changes (204, empty body), DELETE removes (204), then 404 with a detail', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = await token(sim);
    const vault = sim.state.listVaults(new Set([sim.organizationId]))[1]!;
    const person = sim.state.listMembers(sim.organizationId)[5]!;
    const path = `/vaults/${vault.identifier}/members/${person.id}`;
    const put = await call(sim, 'PUT', path, { token: t, body: { data: { attributes: { role: 'read' } } } });
    expect(put.status).toBe(204);
    expect(put.text).toBe('');
    expect(sim.state.vaultRole(vault.identifier, person.id)).toBe('read');
    await call(sim, 'PUT', path, { token: t, body: { data: { attributes: { role: 'admin' } } } });
    expect(sim.state.vaultRole(vault.identifier, person.id)).toBe('admin');
    const badRole = await call(sim, 'PUT', path, { token: t, body: { data: { attributes: { role: 'owner' } } } });
    expect(badRole.status).toBe(400);
    expect(badRole.json.errors[0].detail).toContain('read, write, admin');
    expect((await call(sim, 'DELETE', path, { token: t })).status).toBe(204);
    const again = await call(sim, 'DELETE', path, { token: t });
    expect(again.status).toBe(404);
    expect(again.json.errors[0].detail).toContain('is not a member of vault');
    const stranger = await call(sim, 'PUT', `/vaults/${vault.identifier}/members/IDnobody`, {
      token: t,
      body: { data: { attributes: { role: 'read' } } },
    });
    expect(stranger.status).toBe(404);
    const text = await call(sim, 'PUT', path, { token: t, body: 'x', headers: { 'Content-Type': 'text/plain' } });
    expect(text.status).toBe(415);
  });

  it('organization members: role change, the last admin is kept, removal also leaves the vaults', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = await token(sim);
    const org = sim.organizationId;
    const admins = sim.state.listMembers(org).filter((m) => m.role === 'admin');
    for (const extra of admins.slice(1)) sim.state.setMemberRole(org, extra.id, 'user');
    const owner = admins[0]!;
    const demote = await call(sim, 'PUT', `/organizations/${org}/members/${owner.id}`, {
      token: t,
      body: { data: { attributes: { role: 'user' } } },
    });
    expect(demote.status).toBe(422);
    expect(demote.json.errors[0].detail).toBe('The organization must keep at least one admin');
    const someone = sim.state.listMembers(org).find((m) => m.role === 'user')!;
    const promote = await call(sim, 'PUT', `/organizations/${org}/members/${someone.id}`, {
      token: t,
      body: { data: { attributes: { role: 'admin' } } },
    });
    expect(promote.status).toBe(204);
    expect(sim.state.member(someone.id)!.role).toBe('admin');
    const vault = sim.state.listVaults(new Set([org]))[0]!;
    sim.state.setVaultRole(vault.identifier, someone.id, 'write');
    expect((await call(sim, 'DELETE', `/organizations/${org}/members/${someone.id}`, { token: t })).status).toBe(204);
    expect(sim.state.member(someone.id)).toBeUndefined();
    expect(sim.state.vaultRole(vault.identifier, someone.id)).toBeUndefined();
  });

  it('invitations: 201 with the invitation, 409 for duplicates and members, EXPIRED after 7 days, cancel', async () => {
    let now = Date.parse('2025-06-01T12:00:00Z');
    const sim = await startSim({ dataset: 'tiny', clock: () => now, tokenLifetimeSeconds: 30 * 86_400 });
    const t = await token(sim);
    const org = sim.organizationId;
    const vault = sim.state.listVaults(new Set([org]))[0]!;
    const created = await call(sim, 'POST', `/organizations/${org}/invites`, {
      token: t,
      body: {
        data: {
          attributes: {
            user_email: 'new.person@example.org',
            role: 'admin',
            vaults: [{ id: vault.identifier, role: 'write' }],
          },
        },
      },
    });
    expect(created.status).toBe(201);
    expect(created.type).toBe(JSON_API);
    expect(created.json.data).toMatchObject({
      type: 'invites',
      attributes: {
        invite_status: 'PENDING',
        user_email: 'new.person@example.org',
        invited_by: `${sim.clientId}@vgs.dev`,
        role: 'admin',
        vaults: [{ id: vault.identifier, role: 'write' }],
      },
    });
    const inviteId = created.json.data.attributes.invite_id as string;
    const duplicate = await call(sim, 'POST', `/organizations/${org}/invites`, {
      token: t,
      body: { data: { attributes: { user_email: 'NEW.person@example.org', role: 'user' } } },
    });
    expect(duplicate.status).toBe(409);
    const member = sim.state.listMembers(org)[0]!;
    const existing = await call(sim, 'POST', `/organizations/${org}/invites`, {
      token: t,
      body: { data: { attributes: { user_email: member.email, role: 'user' } } },
    });
    expect(existing.json.errors[0].detail).toContain('already a member');

    now += INVITE_LIFETIME_MS + 1_000;
    const listed = await call(sim, 'GET', `/organizations/${org}/invites`, { token: t });
    const mine = (listed.json.data as Array<{ attributes: { invite_id: string; invite_status: string } }>).find(
      (i) => i.attributes.invite_id === inviteId,
    );
    expect(mine!.attributes.invite_status).toBe('EXPIRED');
    expect((await call(sim, 'DELETE', `/organizations/${org}/invites/${inviteId}`, { token: t })).status).toBe(404);

    const second = await call(sim, 'POST', `/organizations/${org}/invites`, {
      token: t,
      body: { data: { attributes: { user_email: 'new.person@example.org' } } },
    });
    expect(second.json.data.attributes.role).toBe('user');
    const id2 = second.json.data.attributes.invite_id as string;
    expect((await call(sim, 'DELETE', `/organizations/${org}/invites/${id2}`, { token: t })).status).toBe(204);
    expect(sim.state.invite(id2)).toBeUndefined();
  });

  it('writes need organization-users:write', async () => {
    const sim = await startSim({ dataset: 'tiny', scopes: DEFAULT_SCOPES.filter((s) => !s.endsWith(':write')) });
    const t = await token(sim);
    const vault = sim.state.listVaults(new Set([sim.organizationId]))[0]!;
    const put = await call(sim, 'PUT', `/vaults/${vault.identifier}/members/IDx`, {
      token: t,
      body: { data: { attributes: { role: 'read' } } },
    });
    expect(put.status).toBe(403);
    expect(put.json.errors[0].detail).toContain('organization-users:write');
  });
});

describe('service accounts listing', () => {
  it('answers {data:{attributes:{service_accounts}}} with the assumed scope, 403 without it', async () => {
    const sim = await startSim({ dataset: 'tiny', scopes: [...DEFAULT_SCOPES, 'service-accounts:read'] });
    const answer = await call(sim, 'GET', `/organizations/${sim.organizationId}/service-accounts`, {
      token: await token(sim),
    });
    expect(answer.status).toBe(200);
    const accounts = answer.json.data.attributes.service_accounts as Array<Record<string, unknown>>;
    expect(accounts.map((a) => a.client_id)).toEqual(
      sim.state.listServiceAccounts(sim.organizationId).map((a) => a.clientId),
    );
    expect(accounts[0]).toMatchObject({
      name: 'c1integration',
      scopes: expect.arrayContaining([{ name: 'vaults:read' }]),
    });
    expect(JSON.stringify(answer.json)).not.toContain(sim.clientSecret);
    const other = await startSim({ dataset: 'tiny' });
    const refused = await call(other, 'GET', `/organizations/${other.organizationId}/service-accounts`, {
      token: await token(other),
    });
    expect(refused.status).toBe(403);
  });
});

describe('limits, faults and the request log', () => {
  it('rate limits per service account with 429, Retry-After and a JSON:API error', async () => {
    // A stopped clock 20 s into a minute: no window can turn between the requests, and the wait is known.
    const now = 1_000 * 60_000 + 20_000;
    const sim = await startSim({ dataset: 'tiny', rateLimits: { read: 2, write: 0 }, clock: () => now });
    const t = await token(sim);
    expect((await call(sim, 'GET', '/vaults', { token: t })).status).toBe(200);
    expect((await call(sim, 'GET', '/vaults', { token: t })).status).toBe(200);
    const limited = await fetch(`${sim.baseUrl}/vaults`, { headers: { Authorization: `Bearer ${t}` } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('40');
    expect(((await limited.json()) as { errors: Array<{ detail: string }> }).errors[0]!.detail).toContain(
      '2 read requests per minute',
    );
    // The token endpoint is not limited.
    expect((await tokenFor(sim)).status).toBe(200);
  });

  it('injects faults and logs every request without credentials', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    await tokenFor(sim, 'form');
    const t = await token(sim);
    sim.faults.injectNext({ kind: 'serverError', status: 503 });
    expect((await call(sim, 'GET', '/vaults', { token: t })).status).toBe(503);
    expect((await call(sim, 'GET', '/vaults', { token: t })).status).toBe(200);
    const log = JSON.stringify(sim.log.entries());
    expect(sim.log.count()).toBe(4);
    expect(log).not.toContain(sim.clientSecret);
    expect(log).not.toContain(t);
    expect(sim.log.entries()[0]!.info).toMatchObject({ clientAuthentication: 'body', clientId: sim.clientId });
  });
});
