/**
 * The connector SDK: everything a connector's own code (src/) needs, and nothing of the server, host or CLI.
 *
 * Other entry points of this package:
 * - `@baton-ts/shared/pb`        the generated c1.connector.v2 messages (schemas, enums) a connector may need
 * - `@baton-ts/shared/http`      the SaaS HTTP client (retries, rate limits, redaction, error mapping)
 * - `@baton-ts/shared/cli`       the runner a connector's bin calls
 * - `@baton-ts/shared/simulator` building blocks for a connector's fake SaaS API
 * - `@baton-ts/shared/testing`   the conformance kit and helpers for a connector's tests
 * - `@baton-ts/shared/host`      the parent side (spawn, sync, provision), for tests, benchmarks and tools
 * - `@baton-ts/shared/c1z`       reading and writing sync files
 * - `@baton-ts/shared/scim`      a SCIM 2.0 client and the user/group syncers SCIM connectors share
 * - `@baton-ts/shared/scim-simulator` a SCIM 2.0 server for tests and `--demo` (never loaded by production runs)
 * See docs/sdk.md.
 */
export {
  defineConnector,
  type AccountManager,
  type BundledSimulator,
  type BundledSimulatorOptions,
  type CallContext,
  type Connector,
  type ConnectorDefinition,
  type ConnectorMetadataInput,
  type ConnectorRuntime,
  type CreateAccountOutcome,
  type DeleteOutcome,
  type GrantOutcome,
  type ResourceSyncer,
  type RevokeOutcome,
  type RuntimeStats,
} from './sdk/connector.js';
export {
  appResource,
  groupResource,
  isEmail,
  profileOf,
  profileString,
  resource,
  resourceId,
  resourceType,
  roleResource,
  userResource,
  type AppOptions,
  type ProfileInput,
  type Resource,
  type ResourceId,
  type ResourceOptions,
  type ResourceStatusName,
  type ResourceType,
  type ResourceTypeOptions,
  type Trait,
  type UserOptions,
} from './sdk/resources.js';
export {
  entitlement,
  entitlementId,
  grant,
  grantId,
  isImmutable,
  type Entitlement,
  type EntitlementOptions,
  type Grant,
  type GrantOptions,
  type Purpose,
} from './sdk/entitlements.js';
/** The account-creation schema a connector with account provisioning advertises. */
export { accountCreationSchema, type AccountFieldInput } from './sdk/account-schema.js';
/** At most N calls at once, results in input order (e.g. one API read per vault within an RPC). */
export { mapConcurrent } from './sdk/concurrency.js';
export { annotation, findAnnotation, hasAnnotation, type Annotations } from './sdk/annotations.js';
export { pageOfArray, type PageRequest, type PageResult } from './sdk/pagination.js';
/** A sync-scoped record of a complete resource listing, so later phases can answer without reading the API again. */
export { ListingIndex, type ListedPage, type ListingIndexOptions } from './sdk/listing-index.js';
export {
  Code,
  ConnectorError,
  alreadyExists,
  deadlineExceeded,
  failedPrecondition,
  internal,
  invalidArgument,
  notFound,
  permissionDenied,
  unauthenticated,
  unavailable,
  unimplemented,
} from './sdk/errors.js';
export type { RateLimitInfo } from './sdk/rate-limit.js';
export {
  createLogger,
  silentLogger,
  type LogFormat,
  type LogLevel,
  type Logger,
  type LoggerOptions,
} from './log/logger.js';
