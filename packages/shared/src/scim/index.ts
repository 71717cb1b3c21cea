/**
 * SCIM 2.0 for connectors (`@baton-ts/shared/scim`): an RFC 7644 client that survives real servers' paging and
 * dialect quirks, and the user and group syncers, account manager and error explanations that SCIM connectors
 * share. A connector supplies its config, wording, resource descriptions and what it provisions. See
 * docs/apis/scim.md.
 */
export {
  ScimClient,
  DEFAULT_SCIM_PAGE_SIZE,
  type ScimClientOptions,
  type ScimListQuery,
  type ScimPage,
  type ScimRequestOptions,
} from './client.js';
export {
  ScimError,
  codeForScimError,
  parseScimErrorBody,
  type ScimErrorBody,
  type ScimErrorDetails,
} from './errors.js';
export { advancePage, ScimPageBuffer, MAX_LISTING_ITEMS, type PageAdvance, type ScimPageState } from './paging.js';
export { patchOperation, patchRequest, type PatchDialect, type PatchIntent } from './patch.js';
export { scimAnd, scimEq } from './filter.js';
export {
  SCIM_ENTERPRISE_USER_SCHEMA,
  SCIM_ERROR_SCHEMA,
  SCIM_GROUP_SCHEMA,
  SCIM_LIST_RESPONSE_SCHEMA,
  SCIM_MEDIA_TYPE,
  SCIM_PATCH_OP_SCHEMA,
  SCIM_USER_SCHEMA,
  isActive,
  isPrimary,
  type ScimGroup,
  type ScimListResponse,
  type ScimMeta,
  type ScimMultiValue,
  type ScimName,
  type ScimPatchOperation,
  type ScimPatchRequest,
  type ScimUser,
} from './types.js';
export { ScimMemberships, memberUserIds, type ListedUsers, type ScimMembershipsOptions } from './memberships.js';
export {
  scimUserType,
  scimUserResource,
  scimUserSyncer,
  scimUserEmails,
  scimUserDisplayName,
  type DeprovisionMode,
  type ScimUserSyncerOptions,
} from './users.js';
export {
  MEMBER,
  scimGroupType,
  scimGroupResource,
  scimGroupSyncer,
  scimMemberEntitlement,
  type ScimGroupSyncerOptions,
} from './groups.js';
export { scimAccountManager, scimNewUser } from './accounts.js';
export { explainScimValidation, scimErrorExplainer, type ScimWording } from './explain.js';
export {
  isLoopbackHost,
  parseScimUrl,
  scimTokenField,
  scimUrlField,
  type FlagNames,
  type ScimUrlParse,
} from './config.js';
export {
  createScimConnector,
  type ScimConnector,
  type ScimConnectorOptions,
  type ScimHttpOptions,
  type ScimParts,
} from './connector.js';
