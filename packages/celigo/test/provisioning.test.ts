/**
 * Role provisioning against the simulator, whose PUT replaces the whole share as Celigo's does: a grant or revoke
 * changes the account-wide level and nothing else; refusals make no request; idempotent calls make no PUT; every
 * failure is an error with Celigo's message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Code,
  entitlement,
  grant,
  resourceId,
  type Entitlement,
  type Resource,
  type ResourceSyncer,
} from '@baton-ts/shared';
import { generateDataset, type AshareRecord } from '../simulator/index.js';
import { READ_ONLY_SHARE_FIELDS } from '../src/client.js';
import { roleEntitlement, toRoleResource, ROLES } from '../src/resources/role.js';
import {
  closeAll,
  connectTo,
  countRoutes,
  fullSync,
  lastSeq,
  startSim,
  type TestConnector,
  errorOf,
} from './helpers.js';

afterEach(closeAll);

const roleResource = (id: string) => toRoleResource(ROLES.find((r) => r.id === id)!);
const roleEnt = (id: string): Entitlement => roleEntitlement(roleResource(id));
const userPrincipal = (shareId: string): Resource => ({ id: resourceId('user', shareId) }) as Resource;
const roleSyncerOf = (t: TestConnector): ResourceSyncer =>
  t.connector.syncers.find((s) => s.resourceType.id === 'role')!;

/** The share as it must look after only its level changed. */
function onlyLevelChanged(before: AshareRecord, level: string) {
  const { lastModified: _a, accessLevel: _b, ...rest } = before;
  return { ...rest, accessLevel: level };
}

describe('grant', () => {
  it('keeps per-integration access, SSO/MFA flags and the name: only accessLevel changes (read-modify-write)', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    // User 2: account-wide Monitor with a Manage override on an integration, i.e. per-integration access.
    const before = structuredClone(sim.state.listShares()[2]!);
    expect(before.accessLevel).toBe('monitor');
    expect(before.integrationAccessLevel.length).toBeGreaterThan(0);

    const from = lastSeq(sim);
    const outcome = await roleSyncerOf(t).grant!(userPrincipal(before._id), roleEnt('manage'), t.ctx);
    expect(outcome.grants!.map((g) => g.id)).toEqual([`role:manage:assigned:user:${before._id}`]);

    const after = sim.state.getShare(before._id)!;
    expect(after).toMatchObject(onlyLevelChanged(before, 'manage'));
    expect(after.integrationAccessLevel).toEqual(before.integrationAccessLevel);
    expect(after.sharedWithUser).toEqual(before.sharedWithUser);
    expect(countRoutes(sim, from)).toEqual({ 'GET /v1/ashares/:id': 1, 'PUT /v1/ashares/:id': 1 });

    // The body: the share as read, without read-only fields, with the new level.
    const put = sim.puts.at(-1)!;
    const body = JSON.parse(put.raw) as Record<string, unknown>;
    expect(put).toMatchObject({ id: before._id, status: 204 });
    expect(body).toMatchObject({
      accessLevel: 'manage',
      integrationAccessLevel: before.integrationAccessLevel,
      accountSSORequired: before.accountSSORequired,
      accountMFARequired: before.accountMFARequired ?? false,
      disabled: before.disabled ?? false,
    });
    for (const field of READ_ONLY_SHARE_FIELDS) expect(body).not.toHaveProperty(field);
  });

  it('the simulator really wipes what a partial body omits (the Go connector body), so the test above can fail', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const share = sim.state.listShares()[3]!; // integration-only, MFA required
    const goBody =
      '{"_id":"","accessLevel":"manage","integrationAccessLevel":null,"accountSSORequired":false,' +
      '"sharedWithUser":{"email":"","allowedToResetMFA":false,"accountSSOLinked":""}}\n';
    const res = await fetch(`${sim.baseUrl}/v1/ashares/${share._id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${sim.token}`, 'content-type': 'application/json' },
      body: goBody,
    });
    expect(res.status).toBe(204);
    const after = sim.state.getShare(share._id)!;
    expect(share.integrationAccessLevel.length).toBeGreaterThan(0);
    expect(after.integrationAccessLevel).toEqual([]);
    expect(after.accountMFARequired).toBe(false);
    expect(after.sharedWithUser).toEqual(share.sharedWithUser);
    expect(sim.puts.at(-1)!.raw).toBe(goBody);
  });

  it('gives an integration-only user an account-wide level and keeps their integrations; a disabled user stays disabled', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const integrationOnly = structuredClone(sim.state.listShares()[3]!);
    const disabled = structuredClone(sim.state.listShares()[5]!);
    expect(integrationOnly.accessLevel).toBeUndefined();
    expect(disabled.disabled).toBe(true);

    await roleSyncerOf(t).grant!(userPrincipal(integrationOnly._id), roleEnt('monitor'), t.ctx);
    await roleSyncerOf(t).grant!(userPrincipal(disabled._id), roleEnt('administrator'), t.ctx);
    expect(sim.state.getShare(integrationOnly._id)).toMatchObject(onlyLevelChanged(integrationOnly, 'monitor'));
    expect(sim.state.getShare(disabled._id)).toMatchObject(onlyLevelChanged(disabled, 'administrator'));
  });

  it('is idempotent: a level the user holds answers GrantAlreadyExists after one read, without a PUT', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const admin = sim.state.listShares()[0]!;
    const from = lastSeq(sim);
    const outcome = await roleSyncerOf(t).grant!(userPrincipal(admin._id), roleEnt('administrator'), t.ctx);
    expect(outcome).toEqual({ alreadyExists: true });
    expect(countRoutes(sim, from)).toEqual({ 'GET /v1/ashares/:id': 1 });
    expect(sim.puts).toEqual([]);
  });

  it('takes the role from the entitlement id when the host sends no resource (role:<r>:assigned)', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const share = sim.state.listShares()[1]!;
    const bare = { id: 'role:Administrator:assigned' } as Entitlement;
    await roleSyncerOf(t).grant!(userPrincipal(share._id), bare, t.ctx);
    expect(sim.state.getShare(share._id)!.accessLevel).toBe('administrator');
  });
});

describe('revoke', () => {
  it('demotes manage and administrator to monitor, keeping everything else', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const admin = structuredClone(sim.state.listShares()[0]!);
    const manager = structuredClone(sim.state.listShares()[1]!);
    const syncer = roleSyncerOf(t);
    expect(await syncer.revoke!(grant(roleEnt('administrator'), resourceId('user', admin._id)), t.ctx)).toEqual({});
    expect(await syncer.revoke!(grant(roleEnt('manage'), resourceId('user', manager._id)), t.ctx)).toEqual({});
    expect(sim.state.getShare(admin._id)).toMatchObject(onlyLevelChanged(admin, 'monitor'));
    expect(sim.state.getShare(manager._id)).toMatchObject(onlyLevelChanged(manager, 'monitor'));
    expect(sim.puts.map((p) => (JSON.parse(p.raw) as { accessLevel: string }).accessLevel)).toEqual([
      'monitor',
      'monitor',
    ]);
  });

  it('answers GrantAlreadyRevoked without a PUT when the user holds another level or is gone', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const monitor = sim.state.listShares()[2]!;
    const syncer = roleSyncerOf(t);
    expect(await syncer.revoke!(grant(roleEnt('manage'), resourceId('user', monitor._id)), t.ctx)).toEqual({
      alreadyRevoked: true,
    });
    expect(
      await syncer.revoke!(grant(roleEnt('manage'), resourceId('user', 'ffffffffffffffffffffffff')), t.ctx),
    ).toEqual({ alreadyRevoked: true });
    expect(sim.puts).toEqual([]);
  });

  it('refuses to revoke monitor with FAILED_PRECONDITION, explaining that removal is another operation, with no request', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const monitor = sim.state.listShares()[2]!;
    const before = sim.log.count();
    const err = await errorOf(
      roleSyncerOf(t).revoke!(grant(roleEnt('monitor'), resourceId('user', monitor._id)), t.ctx),
    );
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toMatch(/Monitor role cannot be revoked/);
    expect(err.message).toMatch(/removing the user from the account, a different operation/);
    expect(sim.log.count()).toBe(before);
    expect(sim.state.getShare(monitor._id)!.accessLevel).toBe('monitor');
  });
});

describe('bad input and failures', () => {
  it('refuses non-user principals and unknown roles with INVALID_ARGUMENT before any request', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const syncer = roleSyncerOf(t);
    const share = sim.state.listShares()[1]!;
    const integration = { id: resourceId('integration', sim.state.listIntegrations()[0]!._id) } as Resource;
    const cases: Array<Promise<unknown>> = [
      syncer.grant!(integration, roleEnt('manage'), t.ctx),
      syncer.grant!(userPrincipal(share._id), entitlement(roleResource('manage'), 'member'), t.ctx),
      syncer.grant!(userPrincipal(share._id), { id: 'role:owner:assigned' } as Entitlement, t.ctx),
      syncer.grant!(userPrincipal(share._id), entitlement(integration, 'manage'), t.ctx),
      syncer.revoke!(grant(roleEnt('manage'), resourceId('integration', 'x')), t.ctx),
    ];
    for (const p of cases) expect((await errorOf(p)).code).toBe(Code.InvalidArgument);
    expect(sim.log.count()).toBe(0);
  });

  it('granting to a user that does not exist is NOT_FOUND', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    const err = await errorOf(
      roleSyncerOf(t).grant!(userPrincipal('ffffffffffffffffffffffff'), roleEnt('manage'), t.ctx),
    );
    expect(err.code).toBe(Code.NotFound);
    expect(sim.puts).toEqual([]);
  });

  it("a PUT Celigo refuses is an error with Celigo's message, never a success", async () => {
    const data = generateDataset('tiny');
    // The share refers to an integration that no longer exists: Celigo refuses the PUT (422).
    data.shares[2] = {
      ...data.shares[2]!,
      integrationAccessLevel: [{ _integrationId: 'deadbeefdeadbeefdeadbeef', accessLevel: 'manage' }],
    };
    const sim = await startSim({ dataset: data });
    const t = connectTo(sim);
    const err = await errorOf(roleSyncerOf(t).grant!(userPrincipal(data.shares[2]._id), roleEnt('manage'), t.ctx));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toContain('422');
    expect(err.message).toContain('Unknown integration "deadbeefdeadbeefdeadbeef" in integrationAccessLevel.');
    expect(sim.state.getShare(data.shares[2]._id)!.accessLevel).toBe('monitor');
  });

  it('a token without Full access is PERMISSION_DENIED; persistent 5xx on the PUT is UNAVAILABLE after retries', async () => {
    const sim = await startSim({
      dataset: 'tiny',
      extraTokens: [{ token: 'celigo-custom-scope-token', scope: 'custom' }],
    });
    const share = sim.state.listShares()[2]!;
    const custom = connectTo(sim, { token: 'celigo-custom-scope-token' });
    const denied = await errorOf(roleSyncerOf(custom).grant!(userPrincipal(share._id), roleEnt('manage'), custom.ctx));
    expect(denied.code).toBe(Code.PermissionDenied);
    expect(denied.message).toContain('Full access scope');

    const t = connectTo(sim, {}, { http: { retry: { maxAttempts: 3, baseDelayMs: 1, maxWaitMs: 5 } } });
    sim.faults.set({
      match: (r) => r.method === 'PUT',
      rules: [{ fault: { kind: 'serverError', status: 503 }, every: 1 }],
    });
    const failed = await errorOf(roleSyncerOf(t).grant!(userPrincipal(share._id), roleEnt('manage'), t.ctx));
    expect(failed.code).toBe(Code.Unavailable);
    expect(failed.message).toMatch(/PUT .*503/);
    // PUT with the whole record is idempotent, so it was retried.
    expect(sim.log.count((e) => e.method === 'PUT')).toBe(3);
    expect(sim.state.getShare(share._id)!.accessLevel).toBe('monitor');
  });
});

describe('provisioning and the sync index', () => {
  it('a role change drops the index: the next role grants read the users again and see the change', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim, { syncId: 's' });
    const synced = await fullSync(t);
    const share = sim.state.listShares()[2]!;
    expect(synced.grants.map((g) => g.id)).toContain(`role:monitor:assigned:user:${share._id}`);
    await roleSyncerOf(t).grant!(userPrincipal(share._id), roleEnt('administrator'), t.ctx);
    expect(t.connector.accountIndex.complete).toBe(false);

    const from = lastSeq(sim);
    const role = synced.resources.find((r) => r.id!.resource === 'administrator')!;
    const page = await roleSyncerOf(t).grants(role, { state: undefined, size: 100 }, t.ctx);
    expect(page.items.map((g) => g.id)).toContain(`role:administrator:assigned:user:${share._id}`);
    expect(countRoutes(sim, from)).toEqual({ 'GET /v1/ashares': 1 });
  });
});
