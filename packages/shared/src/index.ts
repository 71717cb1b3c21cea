/**
 * The connector SDK: what a connector package imports.
 * Server, host, CLI, c1z, HTTP and simulator code are imported from their own subpaths
 * (e.g. `@baton-ts/shared/http/index`), so a connector bin loads only what it uses.
 */
export * from './sdk/connector.js';
export * from './sdk/resources.js';
export * from './sdk/entitlements.js';
export * from './sdk/annotations.js';
export * from './sdk/pagination.js';
export * from './sdk/errors.js';
export * from './sdk/rate-limit.js';
export type { Logger } from './log/logger.js';
