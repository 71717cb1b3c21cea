/**
 * Stored users and groups as SCIM JSON (with `meta`, `$ref`s and the derived `User.groups`), `attributes` /
 * `excludedAttributes` projection, PATCH documents, and the discovery documents (`/ServiceProviderConfig`,
 * `/ResourceTypes`, `/Schemas`).
 */
import {
  SCIM_ENTERPRISE_USER_SCHEMA,
  SCIM_GROUP_SCHEMA,
  SCIM_LIST_RESPONSE_SCHEMA,
  SCIM_USER_SCHEMA,
  type ScimMultiValue,
  type ScimName,
} from '../types.js';
import type { PatchDocument } from './patch.js';
import { ScimSimError, type ScimState, type StoredGroup, type StoredMember, type StoredUser } from './state.js';

export interface RenderOptions {
  /** Absolute SCIM base URL for `meta.location` and `$ref`. */
  base: string;
  /** Serve `active` as "True"/"False" (servers built for Entra's legacy mode). */
  activeAsString: boolean;
  /** Add the derived `groups` to users. */
  usersCarryGroups: boolean;
  /** Leave `members` out of groups. */
  omitMembers: boolean;
}

const etag = (version: number) => `W/"${version}"`;

/** `meta` as served: the stored dates, the weak ETag of the version, and where the resource lives. */
function metaOf(resourceType: 'User' | 'Group', r: StoredUser | StoredGroup, base: string) {
  return {
    resourceType,
    created: r.meta.created,
    lastModified: r.meta.lastModified,
    version: etag(r.meta.version),
    location: `${base}/${resourceType}s/${r.id}`,
  };
}

export function renderUser(state: ScimState, user: StoredUser, o: RenderOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    schemas: Object.keys(user.extra).some((k) => k.startsWith(SCIM_ENTERPRISE_USER_SCHEMA))
      ? [SCIM_USER_SCHEMA, SCIM_ENTERPRISE_USER_SCHEMA]
      : [SCIM_USER_SCHEMA],
    id: user.id,
  };
  if (user.externalId !== undefined) out.externalId = user.externalId;
  out.userName = user.userName;
  if (user.name) out.name = user.name;
  if (user.displayName !== undefined) out.displayName = user.displayName;
  if (user.title !== undefined) out.title = user.title;
  if (user.emails) out.emails = user.emails;
  out.active = o.activeAsString ? (user.active ? 'True' : 'False') : user.active;
  if (o.usersCarryGroups) {
    out.groups = state.groupIdsOf(user.id).map((id) => ({
      value: id,
      display: state.getGroup(id)?.displayName,
      $ref: `${o.base}/Groups/${id}`,
      type: 'direct',
    }));
  }
  for (const [k, v] of Object.entries(user.extra)) out[k] = v;
  out.meta = metaOf('User', user, o.base);
  return out;
}

export function renderGroup(state: ScimState, group: StoredGroup, o: RenderOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { schemas: [SCIM_GROUP_SCHEMA], id: group.id, displayName: group.displayName };
  if (group.externalId !== undefined) out.externalId = group.externalId;
  if (!o.omitMembers) {
    out.members = group.members.map((m) => {
      const user = m.type === 'User' ? state.getUser(m.value) : undefined;
      const display = user ? (user.displayName ?? user.userName) : state.getGroup(m.value)?.displayName;
      return {
        value: m.value,
        display,
        type: m.type,
        $ref: `${o.base}/${m.type === 'User' ? 'Users' : 'Groups'}/${m.value}`,
      };
    });
  }
  out.meta = metaOf('Group', group, o.base);
  return out;
}

export function versionOf(resource: { meta: { version: number } }): string {
  return etag(resource.meta.version);
}

function split(list: string | null): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      // A schema-qualified name ("urn:...:User:userName") names the attribute after the last colon.
      const colon = s.lastIndexOf(':');
      return (colon >= 0 && !/^urn:.*:extension:/i.test(s) ? s.slice(colon + 1) : s).toLowerCase();
    });
}

/** `attributes` / `excludedAttributes` (RFC 7644 §3.9); `id` and `schemas` are always returned. */
export function project(
  resource: Record<string, unknown>,
  attributes: string | null,
  excluded: string | null,
): Record<string, unknown> {
  const wanted = split(attributes);
  const dropped = split(excluded);
  if (wanted.length === 0 && dropped.length === 0) return resource;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    const k = key.toLowerCase();
    if (k === 'id' || k === 'schemas') {
      out[key] = value;
      continue;
    }
    if (wanted.length > 0) {
      if (wanted.includes(k)) out[key] = value;
      else {
        const subs = wanted.filter((w) => w.startsWith(`${k}.`)).map((w) => w.slice(k.length + 1));
        if (subs.length > 0 && value && typeof value === 'object' && !Array.isArray(value)) {
          out[key] = Object.fromEntries(Object.entries(value).filter(([sk]) => subs.includes(sk.toLowerCase())));
        }
      }
      continue;
    }
    if (dropped.includes(k)) continue;
    const subs = dropped.filter((d) => d.startsWith(`${k}.`)).map((d) => d.slice(k.length + 1));
    out[key] =
      subs.length > 0 && value && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).filter(([sk]) => !subs.includes(sk.toLowerCase())))
        : value;
  }
  return out;
}

// -- documents a PATCH edits, and back ----------------------------------------------------------------------------

export function userDocument(user: StoredUser): PatchDocument {
  return structuredClone({
    userName: user.userName,
    externalId: user.externalId,
    name: user.name,
    displayName: user.displayName,
    title: user.title,
    emails: user.emails,
    active: user.active,
    extra: user.extra,
  });
}

/** `active` as a boolean, from a boolean or Entra's "True"/"False". */
function activeValue(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw new ScimSimError(400, 'invalidValue', `active must be a boolean, got ${JSON.stringify(value)}`);
}

function optionalString(value: unknown, attr: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ScimSimError(400, 'invalidValue', `${attr} must be a string`);
  return value;
}

function multiValues(value: unknown, attr: string): ScimMultiValue[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => !v || typeof v !== 'object')) {
    throw new ScimSimError(400, 'invalidValue', `${attr} must be a list of objects`);
  }
  return value as ScimMultiValue[];
}

/** A user from a document (POST and PUT bodies, patched documents); validates what the RFC requires. */
export function userFromDocument(doc: PatchDocument, id: string, meta: StoredUser['meta']): StoredUser {
  const userName = doc.userName;
  if (typeof userName !== 'string' || userName.trim() === '') {
    throw new ScimSimError(400, 'invalidValue', 'userName is required');
  }
  const name = doc.name;
  if (name !== undefined && name !== null && (typeof name !== 'object' || Array.isArray(name))) {
    throw new ScimSimError(400, 'invalidValue', 'name must be an object');
  }
  const extra: Record<string, unknown> = { ...((doc.extra as Record<string, unknown> | undefined) ?? {}) };
  return {
    id,
    userName: userName.trim(),
    externalId: optionalString(doc.externalId, 'externalId'),
    name: (name ?? undefined) as ScimName | undefined,
    displayName: optionalString(doc.displayName, 'displayName'),
    title: optionalString(doc.title, 'title'),
    emails: multiValues(doc.emails, 'emails'),
    active: activeValue(doc.active),
    extra,
    meta,
  };
}

/** The attributes of a POST/PUT user body (extension objects kept verbatim). */
export function userDocumentFromBody(body: unknown): PatchDocument {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ScimSimError(400, 'invalidSyntax', 'the body must be a SCIM User');
  }
  const doc: PatchDocument = { extra: {} };
  for (const [key, value] of Object.entries(body)) {
    if (/^urn:.*:extension:/i.test(key)) (doc.extra as Record<string, unknown>)[key] = value;
    else if (!['schemas', 'id', 'meta', 'groups'].includes(key)) doc[key] = value;
  }
  return doc;
}

export function groupDocument(group: StoredGroup): PatchDocument {
  return structuredClone({
    displayName: group.displayName,
    externalId: group.externalId,
    members: group.members.map((m) => ({ value: m.value, type: m.type })),
  });
}

/** A group from a document; every member must be an existing user or group. */
export function groupFromDocument(
  state: ScimState,
  doc: PatchDocument,
  id: string,
  meta: StoredGroup['meta'],
): StoredGroup {
  const displayName = doc.displayName;
  if (typeof displayName !== 'string' || displayName.trim() === '') {
    throw new ScimSimError(400, 'invalidValue', 'displayName is required');
  }
  const members: StoredMember[] = [];
  for (const m of multiValues(doc.members, 'members') ?? []) {
    const value = typeof m.value === 'string' ? m.value : '';
    if (state.getUser(value)) members.push({ value, type: 'User' });
    else if (state.getGroup(value) && value !== id) members.push({ value, type: 'Group' });
    else throw new ScimSimError(400, 'invalidValue', `member ${JSON.stringify(m.value)} is not a user or group here`);
  }
  return {
    id,
    displayName: displayName.trim(),
    externalId: optionalString(doc.externalId, 'externalId'),
    members,
    meta,
  };
}

// -- discovery ----------------------------------------------------------------------------------------------------

export function serviceProviderConfig(base: string, maxResults: number): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'Authentication with a bearer token in the Authorization header',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

export function resourceTypes(base: string, withGroups: boolean): Record<string, unknown>[] {
  const types = [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      schema: SCIM_USER_SCHEMA,
      schemaExtensions: [{ schema: SCIM_ENTERPRISE_USER_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      schema: SCIM_GROUP_SCHEMA,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
  return withGroups ? types : types.slice(0, 1);
}

const attribute = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'string',
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});

export function schemas(base: string, withGroups: boolean): Record<string, unknown>[] {
  const member = (refTypes: string[]) => [
    attribute('value', { caseExact: true, mutability: 'immutable' }),
    attribute('$ref', { type: 'reference', referenceTypes: refTypes, mutability: 'immutable' }),
    attribute('display', { mutability: 'readOnly' }),
    attribute('type', { canonicalValues: refTypes, mutability: 'immutable' }),
  ];
  const list = [
    {
      id: SCIM_USER_SCHEMA,
      name: 'User',
      description: 'User Account',
      attributes: [
        attribute('userName', { required: true, uniqueness: 'server' }),
        attribute('externalId', { caseExact: true }),
        attribute('name', {
          type: 'complex',
          subAttributes: ['formatted', 'givenName', 'familyName', 'middleName'].map((n) => attribute(n)),
        }),
        attribute('displayName'),
        attribute('title'),
        attribute('active', { type: 'boolean' }),
        attribute('emails', {
          type: 'complex',
          multiValued: true,
          subAttributes: [attribute('value'), attribute('type'), attribute('primary', { type: 'boolean' })],
        }),
        attribute('groups', {
          type: 'complex',
          multiValued: true,
          mutability: 'readOnly',
          subAttributes: member(['User', 'Group']),
        }),
      ],
      meta: { resourceType: 'Schema', location: `${base}/Schemas/${SCIM_USER_SCHEMA}` },
    },
    {
      id: SCIM_GROUP_SCHEMA,
      name: 'Group',
      description: 'Group',
      attributes: [
        attribute('displayName', { required: true }),
        attribute('externalId', { caseExact: true }),
        attribute('members', { type: 'complex', multiValued: true, subAttributes: member(['User', 'Group']) }),
      ],
      meta: { resourceType: 'Schema', location: `${base}/Schemas/${SCIM_GROUP_SCHEMA}` },
    },
  ];
  return withGroups ? list : list.slice(0, 1);
}

export function listResponse(resources: unknown[]): Record<string, unknown> {
  return {
    schemas: [SCIM_LIST_RESPONSE_SCHEMA],
    totalResults: resources.length,
    startIndex: 1,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}
