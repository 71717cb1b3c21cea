/**
 * The VGS organization: only the configured one (the token may see others; they are not synced). Every member
 * holds one organization role, `user` or `admin`; each is an entitlement, with the Go connector's ids:
 * `org:<orgId>:member` for the VGS role `user` (shown as "User") and `org:<orgId>:admin`.
 *
 * Grants come from each member's role in the members listing, read from the pages the user listing of the same
 * sync already fetched (the client's page cache; a miss reads the page again).
 *
 * Provisioning: granting a role sets the member's role (replacing the other one). Revoking is refused with
 * FAILED_PRECONDITION and no API call: a member always has a role, so the way to change it is to grant the other
 * one, and the way to take a user out of the organization is Delete Resource on the user.
 */
import {
  entitlement,
  failedPrecondition,
  grant,
  invalidArgument,
  notFound,
  pageOfArray,
  resource,
  resourceId,
  resourceType,
  type CallContext,
  type Entitlement,
  type Grant,
  type GrantOutcome,
  type PageRequest,
  type PageResult,
  type Resource,
  type ResourceSyncer,
  type RevokeOutcome,
} from '@baton-ts/shared';
import { linkedPageChunk, type LinkedPageState } from '@baton-ts/shared/http';
import type { OrgRole, VgsClient, VgsMember, VgsOrganization } from '../client.js';
import { entitlementTarget, filterPage, requirePrincipal, v1Identifier } from './common.js';
import { isPerson, userType } from './user.js';

export const orgType = resourceType({
  id: 'org',
  displayName: 'Organization',
  description: 'The VGS organization; each member holds the role User or Admin',
  annotations: [v1Identifier('org')],
});

interface OrgRoleInfo {
  /** Entitlement slug (the Go connector's ids). */
  slug: string;
  /** The role as VGS names it. */
  role: OrgRole;
  displayName: string;
}

export const ORG_ROLE_ENTITLEMENTS: readonly OrgRoleInfo[] = [
  { slug: 'member', role: 'user', displayName: 'User' },
  { slug: 'admin', role: 'admin', displayName: 'Admin' },
];

/** The entitlement a member's VGS role maps to; `member` is an older name of `user`. */
export function orgRoleOf(role: string): OrgRoleInfo | undefined {
  const normalised = role === 'member' ? 'user' : role;
  return ORG_ROLE_ENTITLEMENTS.find((r) => r.role === normalised);
}

const REVOKE_ADVICE =
  'vgs: revoking an organization role is not supported: every member holds one role, so grant the other role ' +
  '(User or Admin) to change it; to remove the user from the organization, use Delete Resource ' +
  '(CAPABILITY_RESOURCE_DELETE) on the user';

export function toOrgResource(org: VgsOrganization): Resource {
  return resource({
    type: orgType,
    id: org.id,
    displayName: org.name || org.id,
    createdAt: org.createdAt,
    profile: { organization_id: org.id, name: org.name, state: org.state },
    annotations: [v1Identifier(`org:${org.id}`)],
  });
}

export function orgEntitlement(org: Resource, info: OrgRoleInfo): Entitlement {
  const id = org.id!.resource;
  const name = org.displayName;
  return entitlement(org, info.slug, {
    displayName: `${name} Organization ${info.displayName}`,
    description:
      info.role === 'admin'
        ? `Admin of the ${name} organization in VGS: manages members, vaults and service accounts`
        : `User of the ${name} organization in VGS`,
    grantableTo: [userType],
    purpose: 'permission',
    annotations: [v1Identifier(`org:${id}:role:${info.slug}`)],
  });
}

export function orgSyncer(deps: { client: VgsClient }): ResourceSyncer {
  const { client } = deps;
  const orgId = client.organizationId;

  /** A member's role grant, or undefined (and a warning) for a role this connector does not know. */
  const roleGrant = (org: Resource, member: VgsMember, ctx: CallContext): Grant | undefined => {
    const info = orgRoleOf(member.role);
    if (!info) {
      ctx.logger.warn('vgs: member has an organization role this connector does not know; no grant emitted', {
        userId: member.id,
        role: member.role,
      });
      return undefined;
    }
    return grant(orgEntitlement(org, info), resourceId(userType, member.id));
  };

  return {
    resourceType: orgType,
    defaultPageSize: 100,

    async list(_parent, page: PageRequest<number>, ctx) {
      // Validate read the organizations moments ago; that answer is reused.
      const orgs = await client.organizations('cached', ctx.signal);
      const org = orgs.find((o) => o.id === orgId);
      if (!org) throw notFound(`vgs: organization ${orgId} is not visible to this service account`);
      return pageOfArray([toOrgResource(org)], page);
    },

    async entitlements(org) {
      return { items: ORG_ROLE_ENTITLEMENTS.map((info) => orgEntitlement(org, info)) };
    },

    async grants(org, page, ctx): Promise<PageResult<Grant, LinkedPageState>> {
      if (org.id?.resource !== orgId) return { items: [] };
      const chunk = await linkedPageChunk(page.state, page.size, async (url) =>
        filterPage(await client.membersPage(url, 'cached', ctx.signal), isPerson),
      );
      return {
        items: chunk.items.map((m) => roleGrant(org, m, ctx)).filter((g): g is Grant => g !== undefined),
        next: chunk.next,
      };
    },

    async grant(principal: Resource, ent: Entitlement, ctx: CallContext): Promise<GrantOutcome> {
      const { id: userId } = requirePrincipal(principal, [userType.id], 'hold organization roles');
      const target = entitlementTarget(ent, orgType.id);
      if (target.resourceId !== orgId) {
        throw invalidArgument(`vgs: this connector manages organization ${orgId}, not ${target.resourceId}`);
      }
      const info = ORG_ROLE_ENTITLEMENTS.find((r) => r.slug === target.slug);
      if (!info) {
        throw invalidArgument(
          `vgs: organizations have the entitlements ${ORG_ROLE_ENTITLEMENTS.map((r) => r.slug).join(', ')}, not ${JSON.stringify(target.slug)}`,
        );
      }
      const members = await client.all((url, mode) => client.membersPage(url, mode, ctx.signal), 'fresh');
      const member = members.find((m) => m.id === userId);
      if (!member || !isPerson(member)) throw notFound(`vgs: user ${userId} is not a member of organization ${orgId}`);
      if (orgRoleOf(member.role)?.role === info.role) return { alreadyExists: true };
      await client.setMemberRole(userId, info.role, ctx.signal);
      ctx.logger.info('vgs: changed organization role', { userId, from: member.role, to: info.role });
      const org = ent.resource?.id ? ent.resource : toOrgResource({ id: orgId, name: '' });
      return { grants: [grant(orgEntitlement(org, info), resourceId(userType, userId))] };
    },

    async revoke(): Promise<RevokeOutcome> {
      // Nothing is read or changed.
      throw failedPrecondition(REVOKE_ADVICE);
    },
  };
}
