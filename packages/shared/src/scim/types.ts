/**
 * SCIM 2.0 resource and message shapes (RFC 7643 / RFC 7644), as loosely typed as real servers are: every attribute
 * but `id` may be missing, and `active` may arrive as the string "True"/"False" (Entra-era servers). See
 * docs/apis/scim.md.
 */

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const SCIM_ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const SCIM_LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SCIM_PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** The media type of RFC 7644 §8.1. */
export const SCIM_MEDIA_TYPE = 'application/scim+json';

/** An element of a multi-valued attribute (`emails`, `members`, `groups`). */
export interface ScimMultiValue {
  value?: string;
  display?: string;
  type?: string;
  primary?: boolean | string;
  $ref?: string | null;
}

export interface ScimMeta {
  resourceType?: string;
  created?: string;
  lastModified?: string;
  version?: string;
  location?: string;
}

export interface ScimName {
  formatted?: string;
  givenName?: string;
  familyName?: string;
  middleName?: string;
}

export interface ScimUser {
  schemas?: string[];
  id: string;
  externalId?: string;
  userName?: string;
  name?: ScimName;
  displayName?: string;
  nickName?: string;
  title?: string;
  emails?: ScimMultiValue[];
  /** Boolean by the RFC; Entra's legacy mode and servers built for it use "True"/"False". */
  active?: boolean | string;
  /** Read-only: the groups the user belongs to (RFC 7643 §4.1.2); optional, and often absent. */
  groups?: ScimMultiValue[];
  meta?: ScimMeta;
  [attribute: string]: unknown;
}

export interface ScimGroup {
  schemas?: string[];
  id: string;
  externalId?: string;
  displayName?: string;
  /** Absent (not `[]`) when the server leaves members out: see docs/apis/scim.md, "Memberships". */
  members?: ScimMultiValue[];
  meta?: ScimMeta;
  [attribute: string]: unknown;
}

/** RFC 7644 §3.4.2. Only `totalResults` is required, and servers get even that wrong. */
export interface ScimListResponse<T> {
  schemas?: string[];
  totalResults?: number;
  startIndex?: number;
  itemsPerPage?: number;
  /** Optional when there are no results. */
  Resources?: T[];
}

export type ScimPatchOpName = 'add' | 'remove' | 'replace';

export interface ScimPatchOperation {
  /** Clients send lower case; servers must match case-insensitively (Entra sends `Add`, `Remove`, `Replace`). */
  op: string;
  path?: string;
  value?: unknown;
}

export interface ScimPatchRequest {
  schemas: string[];
  Operations: ScimPatchOperation[];
}

/** `active` as a boolean: false only for false or the string "false" (any case); missing counts as active. */
export function isActive(value: unknown): boolean {
  if (value === false) return false;
  if (typeof value === 'string') return value.trim().toLowerCase() !== 'false';
  return true;
}

/** A `primary` flag that may be a boolean or "true"/"True". */
export function isPrimary(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true');
}
