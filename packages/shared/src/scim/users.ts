/**
 * SCIM users as Baton `user` resources, and their syncer: listing (with the users' groups recorded for the
 * membership fallback), a targeted get, and optionally deprovisioning (DELETE, or `active: false`).
 */
import { isEmail, resourceType, userResource, type Resource, type ResourceType } from '../sdk/resources.js';
import { invalidArgument, notFound } from '../sdk/errors.js';
import type { CallContext, DeleteOutcome, ResourceSyncer } from '../sdk/connector.js';
import type { PageRequest, PageResult } from '../sdk/pagination.js';
import type { ResourceId } from '../gen/c1/connector/v2/resource_pb.js';
import type { ScimClient } from './client.js';
import type { ScimMemberships } from './memberships.js';
import type { ScimPageState } from './paging.js';
import { isActive, isPrimary, type ScimUser } from './types.js';

/** The `user` resource type: accounts only, so the host never asks for their entitlements or grants. */
export function scimUserType(description: string): ResourceType {
  return resourceType({
    id: 'user',
    displayName: 'User',
    traits: ['user'],
    description,
    skipEntitlementsAndGrants: true,
  });
}

/** Email addresses, primary first, then the others in order; the userName when it is the only email-like value. */
export function scimUserEmails(user: Pick<ScimUser, 'emails' | 'userName'>): string[] {
  const entries = Array.isArray(user.emails) ? user.emails : [];
  const ordered = [...entries.filter((e) => isPrimary(e?.primary)), ...entries.filter((e) => !isPrimary(e?.primary))];
  const out: string[] = [];
  for (const entry of ordered) {
    const value = typeof entry?.value === 'string' ? entry.value.trim() : '';
    if (isEmail(value) && !out.some((e) => e.toLowerCase() === value.toLowerCase())) out.push(value);
  }
  if (out.length === 0 && isEmail(user.userName)) out.push(user.userName);
  return out;
}

/** displayName, else name.formatted, else "given family", else userName, else the id (never blank). */
export function scimUserDisplayName(user: Pick<ScimUser, 'displayName' | 'name' | 'userName' | 'id'>): string {
  const trimmed = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const given = trimmed(user.name?.givenName);
  const family = trimmed(user.name?.familyName);
  return (
    trimmed(user.displayName) ||
    trimmed(user.name?.formatted) ||
    [given, family].filter(Boolean).join(' ') ||
    trimmed(user.userName) ||
    user.id
  );
}

function date(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** A SCIM user as a `user` resource. `product` names the application in status details ("inactive in VEGA"). */
export function scimUserResource(user: ScimUser, type: ResourceType, product: string): Resource {
  const active = isActive(user.active);
  const emails = scimUserEmails(user);
  return userResource({
    type,
    id: user.id,
    displayName: scimUserDisplayName(user),
    emails,
    login: text(user.userName),
    givenName: text(user.name?.givenName),
    familyName: text(user.name?.familyName),
    status: active ? 'enabled' : 'disabled',
    statusDetails: active ? undefined : `inactive in ${product} (SCIM active: false)`,
    createdAt: date(user.meta?.created),
    profile: {
      user_id: user.id,
      user_name: text(user.userName),
      external_id: text(user.externalId),
      display_name: text(user.displayName),
      given_name: text(user.name?.givenName),
      family_name: text(user.name?.familyName),
      email: emails[0],
      active,
      created: text(user.meta?.created),
      last_modified: text(user.meta?.lastModified),
    },
  });
}

/** How a user is deprovisioned: removed (`DELETE /Users/{id}`) or kept but deactivated (`active: false`). */
export type DeprovisionMode = 'delete' | 'deactivate';

export interface ScimUserSyncerOptions {
  client: ScimClient;
  memberships: ScimMemberships;
  type: ResourceType;
  /** Product name for messages, e.g. "VEGA". */
  product: string;
  /** Deprovisioning through DeleteResource; absent for a read-only connector. */
  deprovision?: DeprovisionMode;
}

/** The page state must be one this syncer issued; anything else restarts nothing silently. */
export function scimPageState(state: unknown): ScimPageState | undefined {
  if (state === undefined) return undefined;
  const s = state as Partial<ScimPageState> | null;
  if (!s || typeof s.startIndex !== 'number' || !Number.isSafeInteger(s.startIndex) || s.startIndex < 1) {
    throw invalidArgument('invalid page token: not a SCIM page issued by this connector');
  }
  return { startIndex: s.startIndex, lastId: typeof s.lastId === 'string' ? s.lastId : undefined };
}

export function scimUserSyncer(options: ScimUserSyncerOptions): ResourceSyncer {
  const { client, memberships, type, product } = options;
  const toResource = (user: ScimUser) => scimUserResource(user, type, product);

  const syncer: ResourceSyncer = {
    resourceType: type,
    defaultPageSize: client.pageSize,

    async list(_parent, page: PageRequest<unknown>, ctx): Promise<PageResult<Resource, ScimPageState>> {
      const state = scimPageState(page.state);
      const result = await client.listPage<ScimUser>('Users', state, page.size, {}, { signal: ctx.signal });
      memberships.noteListedUsers({ state, next: result.next, users: result.items, syncId: ctx.syncId });
      return { items: result.items.map(toResource), next: result.next };
    },

    async entitlements() {
      return { items: [] };
    },

    async grants() {
      return { items: [] };
    },

    async get(id: ResourceId, _parent, ctx: CallContext) {
      const user = await client.get<ScimUser>('Users', id.resource, { signal: ctx.signal });
      if (!user) throw notFound(`${client.service}: user ${id.resource} not found`);
      return toResource(user);
    },
  };

  const mode = options.deprovision;
  if (mode) {
    syncer.delete = async (id: ResourceId, _parent, ctx: CallContext): Promise<DeleteOutcome> => {
      if (id.resourceType !== type.id || !id.resource) {
        throw invalidArgument(
          `${client.service}: only users can be deleted, not ${id.resourceType || 'this resource'}`,
        );
      }
      if (mode === 'delete') {
        const deleted = await client.delete('Users', id.resource, { signal: ctx.signal });
        if (deleted) ctx.logger.info(`${client.service}: deleted user`, { userId: id.resource });
        return { alreadyDeleted: !deleted };
      }
      const user = await client.get<ScimUser>('Users', id.resource, { signal: ctx.signal });
      if (!user || !isActive(user.active)) return { alreadyDeleted: true };
      await client.patch('Users', id.resource, [{ kind: 'replace', path: 'active', value: false }], {
        signal: ctx.signal,
      });
      ctx.logger.info(`${client.service}: deactivated user`, { userId: id.resource });
      return {};
    };
  }
  return syncer;
}
