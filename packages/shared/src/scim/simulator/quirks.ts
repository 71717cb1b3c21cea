/**
 * Server behaviours that differ between real SCIM servers, and named sets of them. docs/apis/scim.md says where
 * each was seen.
 */
import type { PatchOpCase, RemoveMemberForms } from './patch.js';

/** Server behaviours that differ between real SCIM servers. */
export interface ScimQuirks {
  /** Largest `count` served; larger requests silently get this many (default 100). */
  maxPageSize: number;
  /** Page size when a request has no `count` (default 100). */
  defaultPageSize: number;
  /** Ignore `count`: every list answer runs to the end of the results (wso2, some proxies). */
  ignoreCount: boolean;
  /** `itemsPerPage` echoes the requested `count`, not the number returned (django-scim2, elimity). */
  echoCount: boolean;
  /** Ignore `startIndex`: every page starts at the first result. */
  ignoreStartIndex: boolean;
  /** Leave `startIndex` and `itemsPerPage` out of list answers. */
  omitPagingFields: boolean;
  /** `/Groups` exists ('ok') or answers 404 / 501 (RudderStack documents group support as "coming soon"). */
  groupsEndpoint: 'ok' | 404 | 501;
  /** 'omit': groups never carry `members` (list and GET), as Entra allows servers to do. */
  membersOnGroupGet: 'full' | 'omit';
  /** Users carry the derived `groups` attribute (default true). */
  usersCarryGroups: boolean;
  /** Which spellings of PATCH `op` are accepted: any case, lower case only, or Entra's `Add`/`Remove`/`Replace`. */
  patchOpCase: PatchOpCase;
  /** Member removal by `members[value eq "x"]` ('filter'), by `path: members` + value list ('legacy'), or both. */
  removeMemberForms: RemoveMemberForms;
  /** Serve `active` as "True"/"False" strings. */
  activeAsString: boolean;
  /** Error bodies carry `status` as a number instead of the RFC's string. */
  statusAsNumber: boolean;
  /** Response content type (default application/scim+json). */
  contentType: 'application/scim+json' | 'application/json';
  /** PATCH answers: 'entra' (users 200 with the resource, groups 204), or always 200 / always 204. */
  patchResponse: 'entra' | 200 | 204;
  /** Retry-After of rate-limit 429s: delta seconds or an HTTP date. */
  retryAfter: 'seconds' | 'http-date';
  /** Every request answers 403 "SCIM is not enabled for this organization". */
  scimDisabled: boolean;
  /** Requests per window and token; GETs are `read`, the rest `write`; 0 = unlimited (default both 0). */
  rateLimits: { read: number; write: number };
}

/** Named quirk sets, for contract tests and benchmarks that run a client against each. */
export const SCIM_QUIRK_PRESETS = {
  standard: {},
  'ignores-count': { ignoreCount: true },
  'echoes-count': { echoCount: true },
  'caps-page-size': { maxPageSize: 7 },
  'no-paging-fields': { omitPagingFields: true, echoCount: true },
  'no-groups-404': { groupsEndpoint: 404 },
  'no-groups-501': { groupsEndpoint: 501 },
  'members-omitted': { membersOnGroupGet: 'omit' },
  'users-without-groups': { usersCarryGroups: false },
  'entra-legacy-patch': { patchOpCase: 'capitalised', removeMemberForms: 'legacy' },
  'rfc-strict-patch': { patchOpCase: 'lowercase', removeMemberForms: 'filter' },
  'active-as-string': { activeAsString: true },
  'plain-json': { contentType: 'application/json', statusAsNumber: true, patchResponse: 200 },
} satisfies Record<string, Partial<ScimQuirks>>;

export type ScimQuirkPreset = keyof typeof SCIM_QUIRK_PRESETS;

export const DEFAULT_QUIRKS: ScimQuirks = {
  maxPageSize: 100,
  defaultPageSize: 100,
  ignoreCount: false,
  echoCount: false,
  ignoreStartIndex: false,
  omitPagingFields: false,
  groupsEndpoint: 'ok',
  membersOnGroupGet: 'full',
  usersCarryGroups: true,
  patchOpCase: 'any',
  removeMemberForms: 'both',
  activeAsString: false,
  statusAsNumber: false,
  contentType: 'application/scim+json',
  patchResponse: 'entra',
  retryAfter: 'seconds',
  scimDisabled: false,
  rateLimits: { read: 0, write: 0 },
};
