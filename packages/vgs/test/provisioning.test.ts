/**
 * Every provisioning operation in process against the simulator: organization roles (grant; revoke refused with
 * the seed's advice), vault access for users and service accounts, CreateAccount (invitations), DeleteResource
 * (users, invitations). Each is idempotent (no mutating request when nothing would change) and every refusal by VGS
 * comes back with VGS's detail.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Code,
  type ConnectorError,
  grant as buildGrant,
  resourceId,
  type Entitlement,
  type Resource,
} from '@baton-ts/shared';
import type { AccountInfo } from '@baton-ts/shared/pb';
import { DEFAULT_SCOPES, type VgsSimulator } from '../simulator/index.js';
import {
  closeAll,
  connectTo,
  fullSync,
  isMutation,
  lastSeq,
  routesAfter,
  startSim,
  syncerOf,
  type SyncResult,
  type TestConnector,
} from './helpers.js';

afterEach(closeAll);

let sim: VgsSimulator;
let t: TestConnector;
let synced: SyncResult;

const error = async (p: Promise<unknown>) => (await p.catch((e: unknown) => e)) as ConnectorError;
const mutations = () => sim.log.count(isMutation);
const resourceOf = (type: string, id: string): Resource =>
  synced.resources.find((r) => r.id!.resourceType === type && r.id!.resource === id)!;
const entitlementOf = (id: string): Entitlement => synced.entitlements.find((e) => e.id === id)!;

beforeEach(async () => {
  sim = await startSim({ dataset: 'small' });
  t = connectTo(sim);
  synced = await fullSync(t);
});

function account(fields: { email?: string; login?: string; profile?: Record<string, unknown> }): AccountInfo {
  return {
    $typeName: 'c1.connector.v2.AccountInfo',
    emails: fields.email
      ? [{ $typeName: 'c1.connector.v2.AccountInfo.Email', address: fields.email, isPrimary: true }]
      : [],
    login: fields.login ?? '',
    loginAliases: [],
    profile: fields.profile as AccountInfo['profile'],
  } as unknown as AccountInfo;
}

describe('organization roles', () => {
  it('granting Admin to a User changes the role once; the second grant is GrantAlreadyExists with no request', async () => {
    const org = syncerOf(t, 'org');
    const person = sim.state.listMembers(sim.organizationId).find((m) => m.role === 'user')!;
    const admin = entitlementOf(`org:${sim.organizationId}:admin`);
    const from = lastSeq(sim);
    const outcome = await org.grant!(resourceOf('user', person.id), admin, t.ctx);
    expect(outcome.grants!.map((g) => g.id)).toEqual([`org:${sim.organizationId}:admin:user:${person.id}`]);
    expect(sim.state.member(person.id)!.role).toBe('admin');
    expect(routesAfter(sim, from)).toEqual([
      `GET /organizations/${sim.organizationId}/members`,
      `PUT /organizations/${sim.organizationId}/members/${person.id}`,
    ]);
    const before = mutations();
    expect(await org.grant!(resourceOf('user', person.id), admin, t.ctx)).toEqual({ alreadyExists: true });
    expect(mutations()).toBe(before);
    // And back to User through the `member` entitlement (VGS role `user`).
    await org.grant!(resourceOf('user', person.id), entitlementOf(`org:${sim.organizationId}:member`), t.ctx);
    expect(sim.state.member(person.id)!.role).toBe('user');
  });

  it('revoking is FAILED_PRECONDITION with the advice to grant the other role or use Delete Resource; no request', async () => {
    const person = sim.state.listMembers(sim.organizationId)[3]!;
    const ent = entitlementOf(`org:${sim.organizationId}:${person.role === 'admin' ? 'admin' : 'member'}`);
    const before = sim.log.count();
    const err = await error(syncerOf(t, 'org').revoke!(buildGrant(ent, resourceId('user', person.id)), t.ctx));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain('grant the other role (User or Admin)');
    expect(err.message).toContain('use Delete Resource (CAPABILITY_RESOURCE_DELETE) on the user');
    expect(sim.log.count()).toBe(before);
  });

  it('refuses other principals and other organizations before any request; an unknown user is NOT_FOUND', async () => {
    const org = syncerOf(t, 'org');
    const admin = entitlementOf(`org:${sim.organizationId}:admin`);
    const sa = synced.resources.find((r) => r.id!.resourceType === 'service_account')!;
    const before = sim.log.count();
    expect((await error(org.grant!(sa, admin, t.ctx))).code).toBe(Code.InvalidArgument);
    const foreign = { ...admin, id: 'org:ACsomeoneElse0000000000:admin', resource: undefined } as Entitlement;
    expect(
      (await error(org.grant!(resourceOf('user', sim.state.listMembers(sim.organizationId)[1]!.id), foreign, t.ctx)))
        .message,
    ).toContain(`manages organization ${sim.organizationId}`);
    expect(sim.log.count()).toBe(before);
    const ghost = {
      ...resourceOf('user', sim.state.listMembers(sim.organizationId)[1]!.id),
      id: resourceId('user', 'IDghost'),
    };
    const missing = await error(org.grant!(ghost, admin, t.ctx));
    expect(missing.code).toBe(Code.NotFound);
    expect(sim.log.count(isMutation)).toBe(0);
  });
});

describe('vault access', () => {
  it('grant adds, a different role replaces, revoke of a role not held does nothing, revoke removes', async () => {
    const vaults = syncerOf(t, 'vault');
    const vault = sim.state.listVaults(new Set([sim.organizationId]))[1]!;
    const person = sim.state
      .listMembers(sim.organizationId)
      .find((m) => sim.state.vaultRole(vault.identifier, m.id) === undefined)!;
    const principal = resourceOf('user', person.id);
    const ent = (role: string) => entitlementOf(`vault:${vault.identifier}:${role}`);

    const granted = await vaults.grant!(principal, ent('read'), t.ctx);
    expect(granted.grants!.map((g) => g.id)).toEqual([`vault:${vault.identifier}:read:user:${person.id}`]);
    expect(sim.state.vaultRole(vault.identifier, person.id)).toBe('read');
    const before = mutations();
    expect(await vaults.grant!(principal, ent('read'), t.ctx)).toEqual({ alreadyExists: true });
    expect(mutations()).toBe(before);

    await vaults.grant!(principal, ent('write'), t.ctx);
    expect(sim.state.vaultRole(vault.identifier, person.id)).toBe('write');
    const readGrant = buildGrant(ent('read'), resourceId('user', person.id));
    const afterWrite = mutations();
    expect(await vaults.revoke!(readGrant, t.ctx)).toEqual({ alreadyRevoked: true });
    expect(mutations()).toBe(afterWrite);
    expect(sim.state.vaultRole(vault.identifier, person.id)).toBe('write');

    const from = lastSeq(sim);
    expect(await vaults.revoke!(buildGrant(ent('write'), resourceId('user', person.id)), t.ctx)).toEqual({});
    expect(routesAfter(sim, from)).toEqual([
      `GET /vaults/${vault.identifier}/members`,
      `DELETE /vaults/${vault.identifier}/members/${person.id}`,
    ]);
    expect(sim.state.vaultRole(vault.identifier, person.id)).toBeUndefined();
    expect(await vaults.revoke!(buildGrant(ent('write'), resourceId('user', person.id)), t.ctx)).toEqual({
      alreadyRevoked: true,
    });
  });

  it('service accounts are granted by their VGS user id; one in no vault needs that id from its profile', async () => {
    const vaults = syncerOf(t, 'vault');
    const vault = sim.state.listVaults(new Set([sim.organizationId]))[2]!;
    const own = sim.state.serviceAccount(sim.clientId)!;
    const ownResource = resourceOf('service_account', own.clientId.toLowerCase());
    expect(sim.state.vaultRole(vault.identifier, own.memberId)).toBe('write');
    await vaults.grant!(ownResource, entitlementOf(`vault:${vault.identifier}:admin`), t.ctx);
    expect(sim.state.vaultRole(vault.identifier, own.memberId)).toBe('admin');
    await vaults.revoke!(buildGrant(entitlementOf(`vault:${vault.identifier}:admin`), ownResource.id!), t.ctx);
    expect(sim.state.vaultRole(vault.identifier, own.memberId)).toBeUndefined();

    // An account in no vault at all: known only by its client id.
    const lonely = sim.state.listServiceAccounts(sim.organizationId).at(-1)!;
    const bare = { id: resourceId('service_account', lonely.clientId.toLowerCase()) } as Resource;
    const err = await error(vaults.grant!(bare, entitlementOf(`vault:${vault.identifier}:read`), t.ctx));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain('is in no vault yet');
    // The ex-member `own` still carries its member id in the synced profile, so it can be added back.
    await vaults.grant!(ownResource, entitlementOf(`vault:${vault.identifier}:read`), t.ctx);
    expect(sim.state.vaultRole(vault.identifier, own.memberId)).toBe('read');
  });

  it('refuses unknown roles, invitations as principals, and answers VGS’s 404 for an unknown vault', async () => {
    const vaults = syncerOf(t, 'vault');
    const person = resourceOf('user', sim.state.listMembers(sim.organizationId)[0]!.id);
    const vault = sim.state.listVaults(new Set([sim.organizationId]))[0]!;
    const owner = {
      ...entitlementOf(`vault:${vault.identifier}:read`),
      slug: 'owner',
      id: `vault:${vault.identifier}:owner`,
    };
    expect((await error(vaults.grant!(person, owner as Entitlement, t.ctx))).message).toContain('read, write, admin');
    const invitation = synced.resources.find((r) => r.id!.resourceType === 'invitation')!;
    expect((await error(vaults.grant!(invitation, entitlementOf(`vault:${vault.identifier}:read`), t.ctx))).code).toBe(
      Code.InvalidArgument,
    );
    const gone = { id: `vault:tntgone0000:read` } as Entitlement;
    const err = await error(vaults.grant!(person, gone, t.ctx));
    expect(err.code).toBe(Code.NotFound);
    expect(err.message).toContain('Vault tntgone0000 not found');
  });
});

describe('CreateAccount (invitations)', () => {
  it('invites by email with a role and vault access; the answer is the pending invitation and its expiry', async () => {
    const manager = t.connector.accountManager!;
    const vault = sim.state.listVaults(new Set([sim.organizationId]))[0]!;
    const outcome = await manager.createAccount(
      account({ email: 'New.Hire@example.org', profile: { role: 'admin', vaults: [`${vault.identifier}:write`] } }),
      undefined,
      [],
      t.ctx,
    );
    expect(outcome.kind).toBe('success');
    if (outcome.kind !== 'success') return;
    const created = sim.state.listInvites(sim.organizationId).find((i) => i.email === 'New.Hire@example.org')!;
    expect(created).toMatchObject({ role: 'admin', vaults: [{ id: vault.identifier, role: 'write' }] });
    expect(outcome.resource.id).toMatchObject({ resourceType: 'invitation', resource: created.inviteId });
    expect(outcome.resource.displayName).toBe('New.Hire@example.org');
    expect(outcome.invitationExpiresAt!.getTime()).toBe(Date.parse(created.createdAt) + 7 * 86_400_000);

    const before = mutations();
    const again = await manager.createAccount(account({ email: 'new.hire@EXAMPLE.org' }), undefined, [], t.ctx);
    expect(again).toMatchObject({
      kind: 'alreadyExists',
      resource: { id: { resourceType: 'invitation', resource: created.inviteId } },
    });
    const member = sim.state.listMembers(sim.organizationId)[4]!;
    const existing = await manager.createAccount(account({ login: member.email }), undefined, [], t.ctx);
    expect(existing).toMatchObject({
      kind: 'alreadyExists',
      resource: { id: { resourceType: 'user', resource: member.id } },
    });
    expect(mutations()).toBe(before);
  });

  it('refuses input it cannot send, before any request', async () => {
    const manager = t.connector.accountManager!;
    const before = sim.log.count();
    for (const [info, message] of [
      [account({ login: 'not-an-email' }), 'needs an email address'],
      [account({ email: 'a@example.org', profile: { role: 'owner' } }), 'role must be one of user, admin'],
      [
        account({ email: 'a@example.org', profile: { vaults: 'tntabc:superuser' } }),
        'identifier:role with role read, write, admin',
      ],
    ] as const) {
      const err = await error(manager.createAccount(info, undefined, [], t.ctx));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.message).toContain(message);
    }
    expect(sim.log.count()).toBe(before);
  });

  it('without organization-users:write: PERMISSION_DENIED naming the scope, nothing sent', async () => {
    const readOnly = await startSim({
      dataset: 'tiny',
      scopes: DEFAULT_SCOPES.filter((s) => s !== 'organization-users:write'),
    });
    const r = connectTo(readOnly);
    const err = await error(
      r.connector.accountManager!.createAccount(account({ email: 'x@example.org' }), undefined, [], r.ctx),
    );
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain('organization-users:write');
    expect(readOnly.log.count(isMutation)).toBe(0);
  });

  it('passes VGS’s own refusal on, with its detail', async () => {
    const err = await error(
      t.connector.accountManager!.createAccount(
        account({ email: 'b@example.org', profile: { vaults: 'tntnotours:read' } }),
        undefined,
        [],
        t.ctx,
      ),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.message).toContain('Vault "tntnotours" is not in the organization');
  });
});

describe('DeleteResource', () => {
  it('a user is removed from the organization (and its vaults); deleting again is ResourceDoesNotExist', async () => {
    const users = syncerOf(t, 'user');
    const person = sim.state.listMembers(sim.organizationId).find((m) => m.role === 'user')!;
    const from = lastSeq(sim);
    expect(await users.delete!(resourceId('user', person.id), undefined, t.ctx)).toEqual({});
    expect(routesAfter(sim, from)).toEqual([
      `GET /organizations/${sim.organizationId}/members`,
      `DELETE /organizations/${sim.organizationId}/members/${person.id}`,
    ]);
    expect(sim.state.member(person.id)).toBeUndefined();
    const before = mutations();
    expect(await users.delete!(resourceId('user', person.id), undefined, t.ctx)).toEqual({ alreadyDeleted: true });
    expect(mutations()).toBe(before);
  });

  it('the last admin cannot be removed: VGS’s detail comes back', async () => {
    const org = sim.organizationId;
    for (const m of sim.state.listMembers(org).slice(1))
      if (m.role === 'admin') sim.state.setMemberRole(org, m.id, 'user');
    const owner = sim.state.listMembers(org)[0]!;
    const err = await error(syncerOf(t, 'user').delete!(resourceId('user', owner.id), undefined, t.ctx));
    expect(err.message).toContain('The organization must keep at least one admin');
    expect(sim.state.member(owner.id)).toBeDefined();
  });

  it('an invitation is cancelled; a cancelled or expired one is ResourceDoesNotExist with no DELETE', async () => {
    const invitations = syncerOf(t, 'invitation');
    const pending = sim.state.pendingInvites(sim.organizationId)[0]!;
    expect(await invitations.delete!(resourceId('invitation', pending.inviteId), undefined, t.ctx)).toEqual({});
    expect(sim.state.invite(pending.inviteId)).toBeUndefined();
    const expired = sim.state.listInvites(sim.organizationId).find((i) => sim.state.inviteStatus(i) === 'EXPIRED')!;
    const stale = sim.state.listInvites(sim.organizationId).find((i) => i.statusOverride === 'PENDING')!;
    const before = mutations();
    for (const id of [pending.inviteId, expired.inviteId, stale.inviteId]) {
      expect(await invitations.delete!(resourceId('invitation', id), undefined, t.ctx)).toEqual({
        alreadyDeleted: true,
      });
    }
    expect(mutations()).toBe(before);
  });
});
