/**
 * What a connector's tests import: the conformance kit (a full sync through the real subprocess handshake, checked
 * against Baton's invariants), provisioning round trips, the fixture connector, and small helpers for tests that
 * call syncers directly. See docs/testing.md.
 */
export {
  runConformance,
  provisioningRoundTrip,
  checkSyncInvariants,
  checkRpcInvariants,
  assertNoViolations,
  formatViolations,
  ConformanceError,
  DEFAULT_MAX_SYNC_MS,
  DEFAULT_MAX_PER_RULE,
  SYNC_INVARIANT_RULES,
  RPC_INVARIANT_RULES,
  type ConformanceOptions,
  type ConformanceReport,
  type RoundTripOptions,
  type RoundTripReport,
  type RoundTripStep,
  type RoundTripStepName,
  type InvariantStore,
  type InvariantOptions,
  type RelistCompareStore,
  type RelistPassStats,
  type RpcCheckOptions,
  type RpcCheckResult,
} from './conformance.js';
export { fixtureConnector, createFixtureConnector, type FixtureConfig } from './fixture-connector.js';
/** For tests that call a syncer directly: forge or read the opaque page tokens the server would hand out. */
export { encodePageToken, decodePageToken, MAX_PAGE_TOKEN_BYTES } from '../sdk/pagination.js';
/** Fresh counters for a connector built outside the CLI (the runner normally supplies them). */
export { newRuntimeStats } from '../sdk/connector.js';
export {
  allPages,
  captureLogger,
  stableJson,
  syncInProcess,
  testCallContext,
  type CapturedLogger,
  type InProcessSyncResult,
} from './in-process.js';
/** For end-to-end tests and benchmarks that run a bin as a user does and compare the sync files it writes. */
export {
  canonicalJson,
  envWithoutBaton,
  runProcess,
  syncSnapshot,
  type ProcessResult,
  type SyncSnapshot,
} from './bin-process.js';
