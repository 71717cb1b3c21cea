/**
 * VGS vaults of the configured organization (`GET /vaults` also lists other organizations' vaults; they are left
 * out). Each vault has three entitlements, one per VGS vault role: `vault:<identifier>:read`, `:write` and
 * `:admin` (the Go connector's ids; `read` is new), grantable to users and service accounts. A member holds one
 * role per vault.
 *
 * Grants come from the vault member lists, which the service-account listing of the same sync already read (the
 * client's page cache; a miss reads them again). A member whose email is `<clientId>@vgs.dev` is a service
 * account and its grant points at the service_account resource; everyone else is a user.
 *
 * Provisioning, both checked against the vault's current member list first (idempotent, no needless mutation):
 * - grant: sets the member's role on the vault (VGS adds the member, or replaces the role held);
 * - revoke: removes the member from the vault, when the member holds exactly the revoked role. VGS has no way to
 *   take one role away and leave another, and a member holding a different role does not hold this entitlement.
 */
import {
  entitlement,
  failedPrecondition,
  grant,
  invalidArgument,
  profileString,
  resource,
  resourceId,
  resourceType,
  type CallContext,
  type Entitlement,
  type Grant,
  type GrantOutcome,
  type PageResult,
  type Resource,
  type ResourceSyncer,
  type RevokeOutcome,
} from '@baton-ts/shared';
import { linkedPageChunk, type LinkedPageState } from '@baton-ts/shared/http';
import {
  isServiceAccountEmail,
  serviceAccountClientId,
  VAULT_ROLES,
  type VaultRole,
  type VgsClient,
  type VgsVault,
  type VgsVaultMember,
} from '../client.js';
import {
  entitlementTarget,
  filterPage,
  inOrganization,
  requirePrincipal,
  serviceAccountId,
  v1Identifier,
} from './common.js';
import { serviceAccountType } from './service-account.js';
import { userType } from './user.js';

export const vaultType = resourceType({
  id: 'vault',
  displayName: 'Vault',
  description: 'A VGS vault; members hold the role read, write or admin on it',
  annotations: [v1Identifier('vault')],
});

const ROLE_TITLES: Record<VaultRole, string> = { read: 'Read', write: 'Write', admin: 'Admin' };
const ROLE_DESCRIPTIONS: Record<VaultRole, string> = {
  read: 'can view the vault and its data',
  write: 'can change the vault and its routes',
  admin: 'manages the vault and its members',
};

export function isVaultRole(role: string): role is VaultRole {
  return (VAULT_ROLES as readonly string[]).includes(role);
}

export function toVaultResource(vault: VgsVault): Resource {
  return resource({
    type: vaultType,
    id: vault.identifier,
    displayName: vault.name || vault.identifier,
    createdAt: vault.createdAt,
    profile: {
      identifier: vault.identifier,
      name: vault.name,
      environment: vault.environment || undefined,
      vault_id: vault.id || undefined,
      organization_id: vault.organizationId,
    },
    annotations: [v1Identifier(`vault:${vault.identifier}`)],
  });
}

export function vaultEntitlement(vault: Resource, role: VaultRole): Entitlement {
  const name = vault.displayName;
  return entitlement(vault, role, {
    displayName: `${name} Vault ${ROLE_TITLES[role]}`,
    description: `${ROLE_TITLES[role]} access to the ${name} vault in VGS: ${ROLE_DESCRIPTIONS[role]}`,
    grantableTo: [userType, serviceAccountType],
    purpose: 'permission',
    annotations: [v1Identifier(`vault:${vault.id!.resource}:role:${role}`)],
  });
}

/** The principal a vault member is: a service account (by its email) or a user. */
export function memberPrincipal(member: VgsVaultMember) {
  return isServiceAccountEmail(member.email)
    ? resourceId(serviceAccountType, serviceAccountId(serviceAccountClientId(member.email)))
    : resourceId(userType, member.id);
}

/** Whether a vault member is the principal `{type, id}`. */
function isPrincipal(member: VgsVaultMember, principal: { type: string; id: string }): boolean {
  const rid = memberPrincipal(member);
  return rid.resourceType === principal.type && rid.resource === principal.id;
}

export function vaultSyncer(deps: { client: VgsClient }): ResourceSyncer {
  const { client } = deps;
  const orgId = client.organizationId;

  const target = (ent: Entitlement | undefined) => {
    const { resourceId: identifier, slug } = entitlementTarget(ent, vaultType.id);
    if (!isVaultRole(slug)) {
      throw invalidArgument(`vgs: vaults have the entitlements ${VAULT_ROLES.join(', ')}, not ${JSON.stringify(slug)}`);
    }
    return { identifier, role: slug };
  };
  const membersNow = (identifier: string, ctx: CallContext) =>
    client.all((url, mode) => client.vaultMembersPage(identifier, url, mode, ctx.signal), 'fresh');

  return {
    resourceType: vaultType,
    defaultPageSize: 100,

    async list(_parent, page, ctx): Promise<PageResult<Resource, LinkedPageState>> {
      const chunk = await linkedPageChunk(page.state, page.size, async (url, fresh) =>
        filterPage(await client.vaultsPage(url, fresh ? 'fresh' : 'cached', ctx.signal), (v) =>
          inOrganization(v, orgId),
        ),
      );
      const unattributed = chunk.items.filter((v) => v.organizationId === undefined).length;
      if (unattributed > 0) {
        ctx.logger.warn('vgs: vaults without an organization in the API answer are synced as the organization’s', {
          count: unattributed,
        });
      }
      return { items: chunk.items.map(toVaultResource), next: chunk.next };
    },

    async entitlements(vault) {
      return { items: VAULT_ROLES.map((role) => vaultEntitlement(vault, role)) };
    },

    async grants(vault, page, ctx): Promise<PageResult<Grant, LinkedPageState>> {
      const identifier = vault.id!.resource;
      const chunk = await linkedPageChunk(page.state, page.size, async (url) =>
        filterPage(await client.vaultMembersPage(identifier, url, 'cached', ctx.signal), (m) => {
          if (isVaultRole(m.role)) return true;
          ctx.logger.warn('vgs: vault member has a role this connector does not know; no grant emitted', {
            vault: identifier,
            memberId: m.id,
            role: m.role,
          });
          return false;
        }),
      );
      return {
        items: chunk.items.map((m) => grant(vaultEntitlement(vault, m.role as VaultRole), memberPrincipal(m))),
        next: chunk.next,
      };
    },

    async grant(principal: Resource, ent: Entitlement, ctx: CallContext): Promise<GrantOutcome> {
      const who = requirePrincipal(principal, [userType.id, serviceAccountType.id], 'can hold vault access');
      const { identifier, role } = target(ent);
      const current = (await membersNow(identifier, ctx)).find((m) => isPrincipal(m, who));
      if (current?.role === role) return { alreadyExists: true };
      const memberId = who.type === userType.id ? who.id : (current?.id ?? profileString(principal, 'member_id'));
      if (!memberId) {
        throw failedPrecondition(
          `vgs: service account ${who.id} is in no vault yet, so its VGS user id is unknown; give it access to a vault in the VGS Dashboard (Organization Settings > Service Accounts) first`,
        );
      }
      await client.setVaultMemberRole(identifier, memberId, role, ctx.signal);
      ctx.logger.info('vgs: set vault role', {
        vault: identifier,
        principal: `${who.type}:${who.id}`,
        from: current?.role,
        to: role,
      });
      const vault = ent.resource?.id
        ? ent.resource
        : toVaultResource({ id: '', identifier, name: '', environment: '' });
      return { grants: [grant(vaultEntitlement(vault, role), resourceId(who.type, who.id))] };
    },

    async revoke(g: Grant, ctx: CallContext): Promise<RevokeOutcome> {
      const who = requirePrincipal(g.principal, [userType.id, serviceAccountType.id], 'can hold vault access');
      const { identifier, role } = target(g.entitlement);
      const current = (await membersNow(identifier, ctx)).find((m) => isPrincipal(m, who));
      if (!current || current.role !== role) return { alreadyRevoked: true };
      const result = await client.removeVaultMember(identifier, current.id, ctx.signal);
      ctx.logger.info('vgs: removed vault access', {
        vault: identifier,
        principal: `${who.type}:${who.id}`,
        role,
        outcome: result,
      });
      return result === 'gone' ? { alreadyRevoked: true } : {};
    },
  };
}
