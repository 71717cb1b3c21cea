/**
 * VGS users: the members of the configured organization. Service accounts (`<clientId>@vgs.dev`) are left out
 * here and synced as the service_account type. Users hold the organization role and vault access but have no
 * entitlements of their own, so the type carries SkipEntitlementsAndGrants.
 *
 * Delete Resource removes the user from the organization (and with it from the organization's vaults); this is
 * how access to VGS is taken away, since revoking the organization role is not possible (see org.ts).
 */
import {
  failedPrecondition,
  resourceType,
  userResource,
  type CallContext,
  type DeleteOutcome,
  type PageResult,
  type Resource,
  type ResourceId,
  type ResourceSyncer,
} from '@baton-ts/shared';
import { linkedPageChunk, type LinkedPageState } from '@baton-ts/shared/http';
import { isServiceAccountEmail, type VgsClient, type VgsMember } from '../client.js';
import { filterPage, noEntitlementsOrGrants } from './common.js';

export const userType = resourceType({
  id: 'user',
  displayName: 'User',
  traits: ['user'],
  description: 'A member of the VGS organization (service accounts are synced as Service Account)',
  skipEntitlementsAndGrants: true,
});

/** Splits at the first space, as the Go connector did: "Mary Ann Smith" -> ["Mary", "Ann Smith"]. */
export function splitName(name: string): { first: string; last: string } {
  const trimmed = name.trim();
  const space = trimmed.indexOf(' ');
  return space < 0
    ? { first: trimmed, last: '' }
    : { first: trimmed.slice(0, space), last: trimmed.slice(space + 1).trim() };
}

export function toUserResource(member: VgsMember): Resource {
  const { first, last } = splitName(member.name);
  return userResource({
    type: userType,
    id: member.id,
    displayName: member.name || member.email || member.id,
    emails: member.email ? [member.email] : [],
    login: member.email || undefined,
    givenName: first || undefined,
    familyName: last || undefined,
    status: 'enabled',
    createdAt: member.createdAt,
    lastLogin: member.lastLogin,
    // The Go connector's keys (login, first_name, last_name, email) plus what VGS adds.
    profile: {
      login: member.email,
      first_name: first,
      last_name: last,
      email: member.email,
      user_id: member.id,
      role: member.role,
      sso_id: member.ssoId,
    },
  });
}

/** Members that are people: service accounts are their own type. */
export const isPerson = (member: VgsMember): boolean => !isServiceAccountEmail(member.email);

export function userSyncer(deps: { client: VgsClient }): ResourceSyncer {
  const { client } = deps;
  return {
    resourceType: userType,
    defaultPageSize: 100,

    async list(_parent, page, ctx): Promise<PageResult<Resource, LinkedPageState>> {
      // Each API page is read anew when the listing reaches it; the org grants later read the same pages (cached).
      const chunk = await linkedPageChunk(page.state, page.size, async (url, fresh) =>
        filterPage(await client.membersPage(url, fresh ? 'fresh' : 'cached', ctx.signal), isPerson),
      );
      return { items: chunk.items.map(toUserResource), next: chunk.next };
    },

    ...noEntitlementsOrGrants,

    async delete(id: ResourceId, _parent, ctx: CallContext): Promise<DeleteOutcome> {
      const members = await client.all((url, mode) => client.membersPage(url, mode, ctx.signal), 'fresh');
      const member = members.find((m) => m.id === id.resource);
      if (!member) return { alreadyDeleted: true };
      if (!isPerson(member)) {
        throw failedPrecondition(
          `vgs: ${member.email} is a service account, not a user; manage service accounts in the VGS Dashboard`,
        );
      }
      const result = await client.removeMember(member.id, ctx.signal);
      ctx.logger.info('vgs: removed user from the organization', { userId: member.id, outcome: result });
      return result === 'gone' ? { alreadyDeleted: true } : {};
    },
  };
}
