/**
 * The SCIM simulator itself, over plain fetch: the RFC behaviour the connectors' tests rely on (filters, PATCH forms,
 * atomicity, derived User.groups, auth, discovery) and what each quirk switch changes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SCIM_PATCH_OP_SCHEMA, SCIM_USER_SCHEMA } from '../src/scim/index.js';
import { generateScimDataset, scimSimulatorSet, type ScimSimulator } from '../src/scim/simulator/index.js';
import { matchesFilter, parseFilter } from '../src/scim/simulator/filter.js';

const sims = scimSimulatorSet({ dataset: 'tiny' });
afterEach(() => sims.closeAll());
const startSim = sims.start;

interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown> | undefined;
}

async function call(
  sim: ScimSimulator,
  method: string,
  path: string,
  body?: unknown,
  token = sim.token,
): Promise<Answer> {
  const res = await fetch(`${sim.scimUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

const patchBody = (...ops: unknown[]) => ({ schemas: [SCIM_PATCH_OP_SCHEMA], Operations: ops });

describe('filters', () => {
  const user = {
    id: 'u1',
    userName: 'Ada.Lopez@Example.com',
    externalId: 'E1',
    active: true,
    name: { givenName: 'Ada', familyName: 'Lopez' },
    emails: [
      { value: 'ada@home.example', type: 'home' },
      { value: 'ada.lopez@example.com', type: 'work', primary: true },
    ],
  };
  it.each([
    ['userName eq "ada.lopez@example.com"', true],
    ['USERNAME EQ "ADA.LOPEZ@EXAMPLE.COM"', true],
    ['externalId eq "e1"', false],
    ['externalId eq "E1"', true],
    ['emails[type eq "work"].value eq "ada.lopez@example.com"', true],
    ['emails[type eq "work"].value eq "ada@home.example"', false],
    ['emails[type eq "home"]', true],
    ['name.givenName sw "Ad" and active eq true', true],
    ['name.familyName co "opez" and not (userName ew "example.com")', false],
    ['title pr or externalId pr', true],
    ['(title pr or displayName pr) and active eq true', false],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada.lopez@example.com"', true],
  ])('%s -> %s', (text, expected) => {
    expect(matchesFilter(user, parseFilter(text))).toBe(expected);
  });

  it('answers 400 invalidFilter for a filter it cannot parse', async () => {
    const sim = await startSim();
    const res = await call(sim, 'GET', `/Users?filter=${encodeURIComponent('userName eq')}`);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ scimType: 'invalidFilter', status: '400' });
  });
});

describe('users and groups', () => {
  it('creates (201, Location, 409 on a taken userName), replaces, patches and deletes users', async () => {
    const sim = await startSim();
    const created = await call(sim, 'POST', '/Users', {
      schemas: [SCIM_USER_SCHEMA],
      userName: 'new@example.com',
      emails: [{ value: 'new@example.com', type: 'work', primary: true }],
    });
    expect(created.status).toBe(201);
    const id = created.json!.id as string;
    expect(created.headers.get('location')).toBe(`${sim.scimUrl}/Users/${id}`);
    expect(created.headers.get('content-type')).toBe('application/scim+json');
    expect((await call(sim, 'POST', '/Users', { userName: 'NEW@example.com' })).json).toMatchObject({
      status: '409',
      scimType: 'uniqueness',
    });

    // Entra's legacy disable: capitalised op, "False" as a string; the no-path form with dotted keys.
    const disabled = await call(
      sim,
      'PATCH',
      `/Users/${id}`,
      patchBody({ op: 'Replace', path: 'active', value: 'False' }),
    );
    expect(disabled.status).toBe(200);
    expect(disabled.json).toMatchObject({ active: false, meta: { version: 'W/"2"' } });
    await call(
      sim,
      'PATCH',
      `/Users/${id}`,
      patchBody({ op: 'replace', value: { 'name.givenName': 'Nia', displayName: 'Nia N' } }),
    );
    await call(
      sim,
      'PATCH',
      `/Users/${id}`,
      patchBody({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'nia@example.com' }),
    );
    expect(sim.state.getUser(id)).toMatchObject({
      active: false,
      displayName: 'Nia N',
      name: { givenName: 'Nia' },
      emails: [{ value: 'nia@example.com', type: 'work' }],
    });

    const replaced = await call(sim, 'PUT', `/Users/${id}`, { userName: 'nia@example.com', active: true });
    expect(replaced.json).toMatchObject({ userName: 'nia@example.com', active: true });
    expect((await call(sim, 'DELETE', `/Users/${id}`)).status).toBe(204);
    expect((await call(sim, 'DELETE', `/Users/${id}`)).status).toBe(404);
    expect((await call(sim, 'GET', `/Users/${id}`)).json).toMatchObject({ status: '404' });
  });

  it('applies a PATCH atomically: one bad operation changes nothing', async () => {
    const sim = await startSim();
    const group = sim.state.listGroups()[0]!;
    const outsider = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    const before = sim.state.groupMembers(group.id).length;
    const res = await call(
      sim,
      'PATCH',
      `/Groups/${group.id}`,
      patchBody(
        { op: 'add', path: 'members', value: [{ value: outsider.id }] },
        { op: 'remove', path: 'members[value eq "nobody"]' },
      ),
    );
    expect(res.json).toMatchObject({ scimType: 'noTarget' });
    expect(sim.state.groupMembers(group.id)).toHaveLength(before);
    expect(sim.state.getGroup(group.id)!.meta.version).toBe(1);
  });

  it('keeps User.groups in step with group membership, and refuses unknown members', async () => {
    const sim = await startSim();
    const group = sim.state.listGroups()[0]!;
    const outsider = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    const add = await call(
      sim,
      'PATCH',
      `/Groups/${group.id}`,
      patchBody({ op: 'Add', path: 'members', value: [{ value: outsider.id }] }),
    );
    expect(add.status).toBe(204);
    const user = await call(sim, 'GET', `/Users/${outsider.id}`);
    expect(user.json!.groups).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ value: group.id, type: 'direct', display: group.displayName }),
      ]),
    );
    const unknown = await call(
      sim,
      'PATCH',
      `/Groups/${group.id}`,
      patchBody({ op: 'add', path: 'members', value: [{ value: 'ghost' }] }),
    );
    expect(unknown.json).toMatchObject({ status: '400', scimType: 'invalidValue' });
    // Adding a member twice does not duplicate them.
    await call(
      sim,
      'PATCH',
      `/Groups/${group.id}`,
      patchBody({ op: 'add', path: 'members', value: [{ value: outsider.id }] }),
    );
    expect(sim.state.groupMembers(group.id).filter((u) => u.id === outsider.id)).toHaveLength(1);
  });

  it('removes members in both of the forms Entra uses, and each can be switched off', async () => {
    const sim = await startSim();
    const group = sim.state.listGroups()[0]!;
    const [a, b] = sim.state.groupMembers(group.id);
    const filterForm = patchBody({ op: 'remove', path: `members[value eq "${a!.id}"]` });
    const legacyForm = patchBody({ op: 'Remove', path: 'members', value: [{ value: b!.id }] });

    sim.setQuirks({ removeMemberForms: 'legacy' });
    expect((await call(sim, 'PATCH', `/Groups/${group.id}`, filterForm)).json).toMatchObject({
      scimType: 'invalidPath',
    });
    sim.setQuirks({ removeMemberForms: 'filter' });
    expect((await call(sim, 'PATCH', `/Groups/${group.id}`, legacyForm)).json).toMatchObject({
      scimType: 'invalidValue',
    });
    expect(sim.state.isMember(group.id, a!.id) && sim.state.isMember(group.id, b!.id)).toBe(true);

    sim.setQuirks({ removeMemberForms: 'both' });
    expect((await call(sim, 'PATCH', `/Groups/${group.id}`, filterForm)).status).toBe(204);
    expect((await call(sim, 'PATCH', `/Groups/${group.id}`, legacyForm)).status).toBe(204);
    expect(sim.state.isMember(group.id, a!.id) || sim.state.isMember(group.id, b!.id)).toBe(false);
  });

  it('matches op case per switch: any, lower case only, or capitalised only', async () => {
    const sim = await startSim();
    const group = sim.state.listGroups()[0]!;
    const rename = (op: string) =>
      call(sim, 'PATCH', `/Groups/${group.id}`, patchBody({ op, path: 'displayName', value: op }));
    expect((await rename('REPLACE')).status).toBe(204);
    sim.setQuirks({ patchOpCase: 'lowercase' });
    expect((await rename('Replace')).json).toMatchObject({ scimType: 'invalidSyntax' });
    expect((await rename('replace')).status).toBe(204);
    sim.setQuirks({ patchOpCase: 'capitalised' });
    expect((await rename('replace')).json).toMatchObject({ scimType: 'invalidSyntax' });
    expect((await rename('Replace')).status).toBe(204);
  });
});

describe('quirks', () => {
  it('no /Groups (404, 501), members omitted, users without groups, active as a string', async () => {
    const sim = await startSim();
    const group = sim.state.listGroups()[0]!;
    const user = sim.state.groupMembers(group.id)[0]!;
    sim.setQuirks({ groupsEndpoint: 404 });
    expect((await call(sim, 'GET', '/Groups')).status).toBe(404);
    expect((await call(sim, 'GET', '/ResourceTypes')).json!.totalResults).toBe(1);
    sim.setQuirks({ groupsEndpoint: 501 });
    expect((await call(sim, 'GET', `/Groups/${group.id}`)).status).toBe(501);
    sim.setQuirks({ groupsEndpoint: 'ok', membersOnGroupGet: 'omit', usersCarryGroups: false, activeAsString: true });
    expect((await call(sim, 'GET', `/Groups/${group.id}`)).json).not.toHaveProperty('members');
    const listed = (await call(sim, 'GET', '/Groups')).json!.Resources as Array<Record<string, unknown>>;
    expect(listed.every((g) => !('members' in g))).toBe(true);
    const u = (await call(sim, 'GET', `/Users/${user.id}`)).json!;
    expect(u).not.toHaveProperty('groups');
    expect(u.active).toMatch(/^(True|False)$/);
  });

  it('caps count, echoes it, ignores it, and leaves out paging fields, as switched', async () => {
    const sim = await startSim({ dataset: 'small' });
    const page = async () => (await call(sim, 'GET', '/Users?startIndex=11&count=20')).json!;
    expect(await page()).toMatchObject({ totalResults: 250, startIndex: 11, itemsPerPage: 20 });
    sim.setQuirks({ maxPageSize: 7 });
    expect(((await page()).Resources as unknown[]).length).toBe(7);
    sim.setQuirks({ echoCount: true });
    expect(await page()).toMatchObject({ itemsPerPage: 20 });
    sim.setQuirks({ ignoreCount: true, echoCount: false });
    expect(((await page()).Resources as unknown[]).length).toBe(240);
    sim.setQuirks({ omitPagingFields: true });
    expect(Object.keys(await page()).sort()).toEqual(['Resources', 'schemas', 'totalResults']);
  });
});

describe('auth and discovery', () => {
  it('401 with WWW-Authenticate for a wrong token, 403 for a forbidden token or with SCIM disabled', async () => {
    const sim = await startSim({ forbiddenTokens: ['workspace-token-5521'] });
    const wrong = await call(sim, 'GET', '/Users', undefined, 'nope-nope');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
    expect((await call(sim, 'GET', '/Users', undefined, 'workspace-token-5521')).status).toBe(403);
    sim.setQuirks({ scimDisabled: true });
    expect((await call(sim, 'GET', '/Users')).json).toMatchObject({
      status: '403',
      detail: expect.stringContaining('not enabled'),
    });
    // Tokens never reach the request log.
    expect(JSON.stringify(sim.log.entries())).not.toContain('workspace-token-5521');
  });

  it('serves ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    const sim = await startSim();
    expect((await call(sim, 'GET', '/ServiceProviderConfig')).json).toMatchObject({
      patch: { supported: true },
      filter: { supported: true, maxResults: 100 },
      etag: { supported: true },
    });
    expect((await call(sim, 'GET', '/ResourceTypes')).json).toMatchObject({ totalResults: 2 });
    expect((await call(sim, 'GET', '/ResourceTypes/Group')).json).toMatchObject({ endpoint: '/Groups' });
    expect((await call(sim, 'GET', `/Schemas/${SCIM_USER_SCHEMA}`)).json).toMatchObject({ name: 'User' });
  });
});

describe('datasets', () => {
  it('are seeded, cover the awkward cases, and reach the large size', () => {
    const small = generateScimDataset('small');
    expect(generateScimDataset('small')).toEqual(small);
    expect(small.users).toHaveLength(250);
    expect(small.users.some((u) => !u.active)).toBe(true);
    expect(small.users.some((u) => !u.name && !u.emails)).toBe(true);
    expect(small.groups.at(-1)!.members).toEqual([]);
    expect(small.groups.some((g) => g.members.some((m) => m.type === 'Group'))).toBe(true);
    const large = generateScimDataset('large');
    expect(large.users).toHaveLength(10_000);
    expect(large.groups).toHaveLength(500);
    expect(large.groups.reduce((n, g) => n + g.members.filter((m) => m.type === 'User').length, 0)).toBe(50_000);
  });
});
