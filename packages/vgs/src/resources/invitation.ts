/**
 * VGS invitations: people invited to the organization who have not joined yet. An invitation carries the
 * organization role the person will get and expires seven days after it was sent; expired (and accepted or
 * cancelled) invitations are left out.
 *
 * Account provisioning is invite-based: CreateAccount sends an invitation by email with a role (and optionally
 * vault access), and answers with the pending invitation and its expiry. Delete Resource cancels an invitation.
 * Both are idempotent: an existing member or pending invitation for the email is reported as already existing, a
 * cancelled or expired invitation as already deleted, without a mutating call.
 *
 * Invitations carry the user trait (the invitee's email is the account being created), like the invitation types of
 * other Baton connectors, with the status DISABLED: the person cannot sign in until they accept.
 */
import {
  Code,
  ConnectorError,
  accountCreationSchema,
  invalidArgument,
  isEmail,
  resourceType,
  userResource,
  type AccountManager,
  type CallContext,
  type CreateAccountOutcome,
  type DeleteOutcome,
  type PageResult,
  type Resource,
  type ResourceId,
  type ResourceSyncer,
} from '@baton-ts/shared';
import { linkedPageChunk, type LinkedPageState } from '@baton-ts/shared/http';
import type { AccountInfo } from '@baton-ts/shared/pb';
import {
  ORG_ROLES,
  VAULT_ROLES,
  type InviteRequest,
  type OrgRole,
  type VaultRole,
  type VgsClient,
  type VgsInvitation,
} from '../client.js';
import { filterPage, noEntitlementsOrGrants } from './common.js';
import { toUserResource } from './user.js';

export const invitationType = resourceType({
  id: 'invitation',
  displayName: 'Invitation',
  traits: ['user'],
  description: 'A pending invitation to the VGS organization; it expires 7 days after it was sent',
  skipEntitlementsAndGrants: true,
});

/** Statuses of invitations that no longer give anyone a way in. */
const CLOSED_STATUSES = new Set(['EXPIRED', 'ACCEPTED', 'CANCELLED', 'CANCELED', 'REVOKED', 'DECLINED']);

/** Pending: not closed by its status, and not past its expiry (VGS may not have updated the status yet). */
export function isPending(invitation: VgsInvitation, isPast: (date: Date | undefined) => boolean): boolean {
  return !CLOSED_STATUSES.has(invitation.status) && !isPast(invitation.expiresAt);
}

export function toInvitationResource(invitation: VgsInvitation): Resource {
  const expires = invitation.expiresAt?.toISOString();
  return userResource({
    type: invitationType,
    id: invitation.inviteId,
    // The invitee, never the inviter (the Go connector showed `invited_by` here).
    displayName: invitation.email || invitation.inviteId,
    description: invitation.invitedBy ? `Invited by ${invitation.invitedBy}` : undefined,
    emails: invitation.email ? [invitation.email] : [],
    login: invitation.email || undefined,
    status: 'disabled',
    statusDetails: `invitation pending${expires ? ` until ${expires}` : ''}: the person has not joined yet`,
    createdAt: invitation.createdAt,
    profile: {
      invite_id: invitation.inviteId,
      email: invitation.email,
      invited_by: invitation.invitedBy,
      role: invitation.role,
      status: invitation.status || undefined,
      created_at: invitation.createdAt,
      expires_at: invitation.expiresAt,
      vaults: invitation.vaults.map((v) => `${v.id}:${v.role}`).join(',') || undefined,
    },
  });
}

export function invitationSyncer(deps: { client: VgsClient }): ResourceSyncer {
  const { client } = deps;
  const pending = (inv: VgsInvitation) => isPending(inv, (d) => client.isPast(d));
  return {
    resourceType: invitationType,
    defaultPageSize: 100,

    async list(_parent, page, ctx): Promise<PageResult<Resource, LinkedPageState>> {
      const chunk = await linkedPageChunk(page.state, page.size, async (url, fresh) =>
        filterPage(await client.invitesPage(url, fresh ? 'fresh' : 'cached', ctx.signal), pending),
      );
      return { items: chunk.items.map(toInvitationResource), next: chunk.next };
    },

    ...noEntitlementsOrGrants,

    async delete(id: ResourceId, _parent, ctx: CallContext): Promise<DeleteOutcome> {
      const invitations = await client.all((url, mode) => client.invitesPage(url, mode, ctx.signal), 'fresh');
      const invitation = invitations.find((inv) => inv.inviteId === id.resource);
      if (!invitation || !pending(invitation)) return { alreadyDeleted: true };
      const result = await client.cancelInvite(invitation.inviteId, ctx.signal);
      ctx.logger.info('vgs: cancelled invitation', { inviteId: invitation.inviteId, outcome: result });
      return result === 'gone' ? { alreadyDeleted: true } : {};
    },
  };
}

// -- account provisioning ---------------------------------------------------------------------------------------

/** What a host asks for when it creates an account (sent back in `AccountInfo.profile`). */
export const INVITATION_SCHEMA = accountCreationSchema({
  email: {
    type: 'string',
    displayName: 'Email',
    required: true,
    description: 'Email address the invitation is sent to',
    placeholder: 'jane@example.com',
  },
  role: {
    type: 'string',
    displayName: 'Organization role',
    defaultValue: 'user',
    description: 'user or admin',
  },
  vaults: {
    type: 'stringList',
    displayName: 'Vault access',
    description:
      'Vaults to give access to on joining, as identifier:role (role read, write or admin), e.g. tntabc12345:read',
  },
});

function profileValue(info: AccountInfo, key: string): unknown {
  return info.profile?.[key];
}

/** The address to invite: the primary email, another email, the profile's email, or a login that is an email. */
export function invitationEmail(info: AccountInfo): string | undefined {
  const emails = [...info.emails].sort((a, b) => Number(b.isPrimary) - Number(a.isPrimary)).map((e) => e.address);
  const profileEmail = profileValue(info, 'email');
  const candidates = [...emails, typeof profileEmail === 'string' ? profileEmail : undefined, info.login];
  return candidates.map((c) => c?.trim()).find((c): c is string => isEmail(c));
}

export function invitationRole(value: unknown): OrgRole {
  if (value === undefined || value === null || value === '') return 'user';
  const role = typeof value === 'string' ? value.trim().toLowerCase() : '';
  // The VGS blog once called the non-admin role "Member"; the Go connector's entitlement slug is `member` too.
  if (role === 'member') return 'user';
  if ((ORG_ROLES as readonly string[]).includes(role)) return role as OrgRole;
  throw invalidArgument(`vgs: role must be one of ${ORG_ROLES.join(', ')}; got ${JSON.stringify(value)}`);
}

/** `["tntabc:read", ...]`, a comma-separated string of the same, or `[{id, role}]`; a bare identifier means read. */
export function invitationVaults(value: unknown): InviteRequest['vaults'] {
  if (value === undefined || value === null || value === '') return [];
  const entries = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : [value];
  return entries
    .map((entry) => {
      const text =
        typeof entry === 'string'
          ? entry.trim()
          : entry && typeof entry === 'object' && !Array.isArray(entry)
            ? `${String((entry as Record<string, unknown>).id ?? '')}:${String((entry as Record<string, unknown>).role ?? '')}`
            : '';
      return text;
    })
    .filter((text) => text !== '')
    .map((text) => {
      const [id, rawRole = 'read', ...rest] = text.split(':').map((s) => s.trim());
      const role = (rawRole || 'read').toLowerCase();
      if (!id || rest.length > 0 || !(VAULT_ROLES as readonly string[]).includes(role)) {
        throw invalidArgument(
          `vgs: vault access must be identifier:role with role ${VAULT_ROLES.join(', ')}; got ${JSON.stringify(text)}`,
        );
      }
      return { id, role: role as VaultRole };
    });
}

export function invitationAccountManager(deps: { client: VgsClient }): AccountManager {
  const { client } = deps;
  return {
    resourceTypeId: invitationType.id,
    credentialOptions: ['noPassword'],
    accountCreationSchema: INVITATION_SCHEMA,

    async createAccount(info, _credentials, _encryption, ctx: CallContext): Promise<CreateAccountOutcome> {
      const email = invitationEmail(info);
      if (!email) {
        throw invalidArgument(
          'vgs: an invitation needs an email address: give the account an email (e.g. --create-account-email) or a login that is one',
        );
      }
      const request: InviteRequest = {
        email,
        role: invitationRole(profileValue(info, 'role')),
        vaults: invitationVaults(profileValue(info, 'vaults')),
      };
      const sameEmail = (value: string) => value.toLowerCase() === email.toLowerCase();

      // Nothing is sent when the person is already a member or already has a pending invitation.
      const members = await client.all((url, mode) => client.membersPage(url, mode, ctx.signal), 'fresh');
      const member = members.find((m) => sameEmail(m.email));
      if (member) return { kind: 'alreadyExists', resource: toUserResource(member) };
      const readPending = async () =>
        (await client.all((url, mode) => client.invitesPage(url, mode, ctx.signal), 'fresh')).find(
          (inv) => sameEmail(inv.email) && isPending(inv, (d) => client.isPast(d)),
        );
      const existing = await readPending();
      if (existing) return { kind: 'alreadyExists', resource: toInvitationResource(existing) };

      const created = (await client.createInvite(request, ctx.signal)) ?? (await readPending());
      if (!created) {
        throw new ConnectorError(
          Code.Unknown,
          `vgs: VGS accepted the invitation for ${email} but does not list it as pending`,
        );
      }
      ctx.logger.info('vgs: invited user', { inviteId: created.inviteId, role: request.role });
      return {
        kind: 'success',
        resource: toInvitationResource(created),
        invitationExpiresAt: created.expiresAt,
      };
    },
  };
}
