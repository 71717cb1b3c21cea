/**
 * The VEGA connector in-process against the SCIM simulator: the definition and what it advertises, a full sync
 * against every quirk switch, membership provisioning (idempotent, in the dialect the server speaks, with the
 * membership read from wherever the server reports it), account creation and deprovisioning, VEGA's error wording,
 * and the token never showing up.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Code, type ConnectorError, grant, resourceId, type ResourceSyncer } from '@baton-ts/shared';
import { AccountInfoSchema } from '@baton-ts/shared/pb';
import { create } from '@bufbuild/protobuf';
import { captureLogger, newRuntimeStats, stableJson, syncInProcess } from '@baton-ts/shared/testing';
import { scimGroupResource, scimMemberEntitlement, scimUserResource } from '@baton-ts/shared/scim';
import {
  SCIM_QUIRK_PRESETS,
  scimSyncMismatches,
  type ScimQuirkPreset,
  type ScimQuirks,
  type ScimSimulator,
  type ScimTestConnector,
} from '@baton-ts/shared/scim-simulator';
import { configSchema } from '../src/config.js';
import { vega, VERSION } from '../src/connector.js';
import { userType } from '../src/resources/user.js';
import { connectTo, lastSeq, mutations, sims } from './helpers.js';

afterEach(() => sims.closeAll());

const syncer = (t: ScimTestConnector, type: string): ResourceSyncer =>
  t.connector.syncers.find((s) => s.resourceType.id === type)!;

describe('definition', () => {
  it('names the connector, keeps the version in step, and takes three flags', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(vega.name).toBe('vega');
    expect(VERSION).toBe(pkg.version);
    expect(Object.keys(vega.config.shape)).toEqual(['scimEndpoint', 'scimToken', 'deprovisionMode']);
  });

  it('provisions group membership, deletes users and creates accounts (no password: users sign in through SSO)', () => {
    const config = configSchema.parse({ scimEndpoint: 'https://vega.example/scim', scimToken: 'vega-x-token' });
    const connector = vega.create(config, { logger: captureLogger().logger, stats: newRuntimeStats() });
    const [group, user] = connector.syncers;
    expect([group!.resourceType.id, user!.resourceType.id]).toEqual(['group', 'user']);
    expect([typeof group!.grant, typeof group!.revoke, group!.delete]).toEqual(['function', 'function', undefined]);
    expect([typeof user!.delete, user!.grant, user!.create]).toEqual(['function', undefined, undefined]);
    expect(connector.accountManager).toMatchObject({ resourceTypeId: 'user', credentialOptions: ['noPassword'] });
    expect(Object.keys(connector.accountManager!.accountCreationSchema!.fieldMap).sort()).toEqual([
      'display_name',
      'email',
      'external_id',
      'family_name',
      'given_name',
    ]);
  });

  it('starts its bundled simulator lazily; the simulator config is a valid config that validates', async () => {
    const sim = await (await vega.simulator!()).start({ dataset: 'tiny' });
    try {
      const config = configSchema.parse({
        scimEndpoint: sim.config['scim-endpoint'],
        scimToken: sim.config['scim-token'],
      });
      const log = captureLogger();
      await vega
        .create(config, { logger: log.logger, stats: newRuntimeStats() })
        .validate({ signal: new AbortController().signal, logger: log.logger });
      expect(sim.requestCount()).toBe(1);
    } finally {
      await sim.close();
    }
  });
});

describe('contract: a full sync against every quirk switch', () => {
  it.each(Object.keys(SCIM_QUIRK_PRESETS) as ScimQuirkPreset[])('%s', async (preset) => {
    const sim = await sims.start({ ...SCIM_QUIRK_PRESETS[preset] });
    const t = connectTo(sim);
    const result = await syncInProcess(t.connector, t.ctx);
    expect(scimSyncMismatches(sim, result, sim.log.count())).toEqual([]);
  });
});

/** Grant, grant again, revoke, revoke again for one outsider of the first non-empty group; what each call did. */
async function roundTrip(sim: ScimSimulator, t: ScimTestConnector) {
  const stored = sim.state.listGroups().find((g) => sim.state.groupMembers(g.id).length > 0)!;
  const outsider = sim.state.listUsers().find((u) => !sim.state.isMember(stored.id, u.id))!;
  const groups = syncer(t, 'group');
  const ent = scimMemberEntitlement(
    scimGroupResource({ id: stored.id, displayName: stored.displayName }, groups.resourceType),
    userType,
    'VEGA',
  );
  const principal = scimUserResource({ id: outsider.id, userName: outsider.userName }, userType, 'VEGA');
  const steps: Array<{ outcome: unknown; mutations: string[]; member: boolean }> = [];
  const step = async (call: () => Promise<unknown>) => {
    const from = lastSeq(sim);
    const outcome = await call();
    steps.push({ outcome, mutations: mutations(sim, from), member: sim.state.isMember(stored.id, outsider.id) });
  };
  await step(() => groups.grant!(principal, ent, t.ctx));
  await step(() => groups.grant!(principal, ent, t.ctx));
  await step(() => groups.revoke!(grant(ent, resourceId(userType, outsider.id)), t.ctx));
  await step(() => groups.revoke!(grant(ent, resourceId(userType, outsider.id)), t.ctx));
  return { steps, path: `PATCH /Groups/${stored.id}`, userId: outsider.id };
}

describe('membership provisioning', () => {
  const cases: Array<[string, Partial<ScimQuirks>, number]> = [
    ['standard', {}, 1],
    ['Entra legacy dialect only (capitalised ops, member list)', SCIM_QUIRK_PRESETS['entra-legacy-patch'], 2],
    ['RFC dialect only', SCIM_QUIRK_PRESETS['rfc-strict-patch'], 1],
    ['members omitted (membership read from the user)', SCIM_QUIRK_PRESETS['members-omitted'], 1],
    ['plain JSON, PATCH answers 200', SCIM_QUIRK_PRESETS['plain-json'], 1],
  ];
  it.each(cases)('%s: grant, grant again, revoke, revoke again', async (_name, quirks, firstGrantRequests) => {
    const sim = await sims.start({ dataset: 'tiny', ...quirks });
    const t = connectTo(sim);
    const { steps, path, userId } = await roundTrip(sim, t);
    // The dialect fallback costs one rejected PATCH, once per process.
    expect(steps.map((s) => s.mutations)).toEqual([Array(firstGrantRequests).fill(path), [], [path], []]);
    expect(steps.map((s) => s.member)).toEqual([true, true, false, false]);
    expect(steps[0]!.outcome).toMatchObject({ grants: [{ id: expect.stringContaining(`:member:user:${userId}`) }] });
    expect(steps.map((s) => s.outcome as { alreadyExists?: boolean; alreadyRevoked?: boolean })).toMatchObject([
      {},
      { alreadyExists: true },
      {},
      { alreadyRevoked: true },
    ]);
  });

  it('when the server reports membership nowhere, it changes and tells the truth it can', async () => {
    const sim = await sims.start({ dataset: 'tiny', membersOnGroupGet: 'omit', usersCarryGroups: false });
    const t = connectTo(sim);
    const { steps } = await roundTrip(sim, t);
    expect(steps.map((s) => s.member)).toEqual([true, true, false, false]);
    // Membership cannot be read first, so each call sends its (idempotent) PATCH; removing a non-member is noTarget.
    expect(steps.map((s) => s.mutations.length)).toEqual([1, 1, 1, 1]);
    expect(steps[3]!.outcome).toEqual({ alreadyRevoked: true });
  });

  it('refuses a non-user principal and an entitlement that is not a group membership, before any request', async () => {
    const sim = await sims.start({ dataset: 'tiny' });
    const t = connectTo(sim);
    const groups = syncer(t, 'group');
    const group = sim.state.listGroups()[0]!;
    const ent = scimMemberEntitlement(scimGroupResource({ id: group.id }, groups.resourceType), userType, 'VEGA');
    const asGroup = scimGroupResource({ id: sim.state.listGroups()[1]!.id }, groups.resourceType);
    for (const call of [
      () => groups.grant!(asGroup, ent, t.ctx),
      () =>
        groups.revoke!(grant({ ...ent, resource: undefined, id: 'role:x:admin' }, resourceId(userType, 'u')), t.ctx),
    ]) {
      const err = (await call().catch((e: unknown) => e)) as ConnectorError;
      expect(err.code).toBe(Code.InvalidArgument);
    }
    expect(sim.log.count()).toBe(0);
    const missing = scimMemberEntitlement(
      scimGroupResource({ id: 'no-such-group' }, groups.resourceType),
      userType,
      'VEGA',
    );
    const err = (await groups.grant!(
      scimUserResource({ id: sim.state.listUsers()[0]!.id }, userType, 'VEGA'),
      missing,
      t.ctx,
    ).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.NotFound);
    expect(mutations(sim)).toEqual([]);
  });
});

describe('accounts', () => {
  const info = (email: string, profile: Record<string, string> = {}) =>
    create(AccountInfoSchema, { emails: [{ address: email, isPrimary: true }], profile });

  it('creates a user with userName, work email, name and active, as Entra does', async () => {
    const sim = await sims.start({ dataset: 'tiny' });
    const t = connectTo(sim);
    const outcome = await t.connector.accountManager!.createAccount(
      info('nia.novak@example.com', { given_name: 'Nia', family_name: 'Novak' }),
      undefined,
      [],
      t.ctx,
    );
    expect(outcome.kind).toBe('success');
    const post = sim.log.filter((e) => e.method === 'POST');
    expect(post).toHaveLength(1);
    expect(post[0]!.body).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'nia.novak@example.com',
      active: true,
      name: { givenName: 'Nia', familyName: 'Novak', formatted: 'Nia Novak' },
      displayName: 'Nia Novak',
      emails: [{ value: 'nia.novak@example.com', type: 'work', primary: true }],
    });
    const created = sim.state.userByName('nia.novak@example.com')!;
    expect(outcome.kind === 'success' && outcome.resource.id!.resource).toBe(created.id);
  });

  it('an existing userName is AlreadyExists without a POST; two racing creates make one user', async () => {
    const sim = await sims.start({ dataset: 'tiny' });
    const t = connectTo(sim);
    const taken = sim.state.listUsers()[0]!;
    const again = await t.connector.accountManager!.createAccount(
      info(taken.userName.toUpperCase()),
      undefined,
      [],
      t.ctx,
    );
    expect(again).toMatchObject({ kind: 'alreadyExists', resource: { id: { resource: taken.id } } });
    expect(mutations(sim)).toEqual([]);
    const both = await Promise.all([
      t.connector.accountManager!.createAccount(info('twin@example.com'), undefined, [], t.ctx),
      t.connector.accountManager!.createAccount(info('twin@example.com'), undefined, [], t.ctx),
    ]);
    expect(both.map((o) => o.kind).sort()).toEqual(['alreadyExists', 'success']);
    expect(sim.state.listUsers().filter((u) => u.userName === 'twin@example.com')).toHaveLength(1);
  });

  it('refuses a request without an email or login', async () => {
    const sim = await sims.start({ dataset: 'tiny' });
    const t = connectTo(sim);
    const err = (await t.connector
      .accountManager!.createAccount(create(AccountInfoSchema, {}), undefined, [], t.ctx)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.InvalidArgument);
    expect(sim.log.count()).toBe(0);
  });
});

describe('deprovisioning', () => {
  it('delete (default): DELETE /Users/{id}; deleting again is ResourceDoesNotExist', async () => {
    const sim = await sims.start({ dataset: 'tiny' });
    const t = connectTo(sim);
    const user = sim.state.listUsers()[0]!;
    const users = syncer(t, 'user');
    expect(await users.delete!(resourceId(userType, user.id), undefined, t.ctx)).toEqual({ alreadyDeleted: false });
    expect(sim.state.getUser(user.id)).toBeUndefined();
    expect(await users.delete!(resourceId(userType, user.id), undefined, t.ctx)).toEqual({ alreadyDeleted: true });
    expect(mutations(sim)).toEqual([`DELETE /Users/${user.id}`, `DELETE /Users/${user.id}`]);
  });

  for (const activeAsString of [false, true]) {
    it(`deactivate: PATCH active false, then nothing to do (active as ${activeAsString ? 'a string' : 'a boolean'})`, async () => {
      const sim = await sims.start({ dataset: 'tiny', activeAsString });
      const t = connectTo(sim, { deprovisionMode: 'deactivate' });
      const user = sim.state.listUsers().find((u) => u.active)!;
      const users = syncer(t, 'user');
      expect(await users.delete!(resourceId(userType, user.id), undefined, t.ctx)).toEqual({});
      expect(sim.state.getUser(user.id)!.active).toBe(false);
      expect(await users.delete!(resourceId(userType, user.id), undefined, t.ctx)).toEqual({ alreadyDeleted: true });
      expect(mutations(sim)).toEqual([`PATCH /Users/${user.id}`]);
      expect(sim.log.filter((e) => e.method === 'PATCH')[0]!.body).toMatchObject({
        Operations: [{ op: 'replace', path: 'active', value: false }],
      });
    });
  }
});

describe('errors and secrets', () => {
  it('401 and 403 point at the Provisioning modal', async () => {
    const sim = await sims.start({ dataset: 'tiny' });
    const wrong = connectTo(sim, { token: 'vega-stale-token-8842' });
    const err = (await wrong.connector.validate(wrong.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.message).toContain(
      "VEGA rejected the SCIM token: check --scim-token (BATON_SCIM_TOKEN); use the Token from VEGA's Provisioning modal",
    );
    sim.setQuirks({ scimDisabled: true });
    const t = connectTo(sim);
    const denied = (await t.connector.validate(t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.message).toContain('Enable SCIM');
  });

  it('a distinctive token never appears in logs, errors or output, provisioning included', async () => {
    const TOKEN = 'vega-DISTINCTIVE-77c2e1f0aa-token';
    const sim = await sims.start({
      dataset: 'tiny',
      token: TOKEN,
      faults: { probabilities: { rateLimit: 0.2, serverError: 0.1 }, retryAfterSeconds: 0, seed: 'vega-secrets' },
    });
    const t = connectTo(sim);
    const result = await syncInProcess(t.connector, t.ctx);
    sim.faults.clear();
    const { steps } = await roundTrip(sim, t);
    const wrong = connectTo(sim, { token: `${TOKEN}-x` });
    const err = await wrong.connector.validate(wrong.ctx).catch((e: unknown) => e);
    const text = [
      ...t.log.lines,
      ...wrong.log.lines,
      `${String(err)} ${JSON.stringify(err)}`,
      stableJson(result),
      stableJson(steps),
    ];
    expect(t.log.lines.length).toBeGreaterThan(10);
    expect(text.join('\n')).not.toContain('77c2e1f0aa');
  });
});
