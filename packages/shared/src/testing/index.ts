/**
 * What a connector's tests import: the conformance kit (every check of `baton-conform` against a connector spawned
 * through the real subprocess handshake), the store and walk checks on their own, provisioning round trips, the
 * fixture connector, and small helpers for tests that call syncers directly. See docs/testing.md.
 */
export {
  runConformance,
  provisioningRoundTrip,
  type ConformanceOptions,
  type ConformanceReport,
  type RoundTripOptions,
  type RoundTripReport,
  type RoundTripStep,
  type RoundTripStepName,
} from './conformance.js';
export {
  runChecks,
  DEFAULT_MAX_SYNC_MS,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_STABILITY_PAGE_SIZE,
  type ConformanceRunOptions,
  type ConformanceRunReport,
} from './run-checks.js';
export { CHECK_NAMES, type CheckName, type CheckResult, type CheckStatus } from './checks/result.js';
export type { ProvisionTarget } from './checks/provisioning.js';
/** Ids of the requests the capabilities and validation checks invent start with this (e.g. to filter a request log). */
export { PROBE_ID_PREFIX } from './checks/capabilities.js';
export type { ConnectorTarget } from './session.js';
export { checkSyncInvariants, SYNC_INVARIANT_RULES, type InvariantStore, type InvariantOptions } from './invariants.js';
export {
  checkRpcInvariants,
  RPC_INVARIANT_RULES,
  type RelistPassStats,
  type RpcCheckOptions,
  type RpcCheckResult,
} from './page-checks.js';
export {
  assertNoViolations,
  ConformanceError,
  formatViolations,
  DEFAULT_MAX_PER_RULE,
  type Finding,
  type Severity,
} from './violations.js';
export { fixtureConnector, createFixtureConnector, type FixtureConfig } from './fixture-connector.js';
/** For tests that call a syncer directly: forge or read the opaque page tokens the server would hand out. */
export { encodePageToken, decodePageToken, MAX_PAGE_TOKEN_BYTES } from '../sdk/pagination.js';
/** Fresh counters for a connector built outside the CLI (the runner normally supplies them). */
export { newRuntimeStats } from '../sdk/connector.js';
export {
  allPages,
  captureLogger,
  FAST_RETRY,
  simulatorRegistry,
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
/**
 * Spawn a connector through the handshake written out step by step, keeping its credentials, and the TLS pieces
 * to dial it with others (no certificate, a foreign CA): for tests of what the child's transport refuses.
 */
export {
  spawnPlugin,
  generateHandshakeCredentials,
  clientTlsForGrpc,
  GRPC_LOOPBACK_CHANNEL_OPTIONS,
  type SpawnedPlugin,
  type GoCredential,
} from './handshake-spawn.js';
