/**
 * What connector tests and bundled simulators of SCIM connectors share: a set of simulators closed together, the
 * `BundledSimulator` a connector's `simulator` hook returns, and a connector built for a test with a captured
 * logger, fresh counters, fast retries and a call context.
 */
import type { BundledSimulator, CallContext, ConnectorRuntime, RuntimeStats } from '../../sdk/connector.js';
import { newRuntimeStats } from '../../sdk/connector.js';
import { captureLogger, simulatorRegistry, type CapturedLogger } from '../../testing/in-process.js';
import type { ScimConnector, ScimHttpOptions } from '../connector.js';
import { presetDatasets } from '../../simulator/runtime-options.js';
import { SCIM_DATASETS, type ScimDatasetName } from './dataset.js';
import { startScimSimulator, type ScimSimulator, type ScimSimulatorOptions } from './server.js';

/** Simulators started with shared defaults and closed together (e.g. in `afterEach`). */
export interface ScimSimulatorSet {
  start(options?: ScimSimulatorOptions): Promise<ScimSimulator>;
  closeAll(): Promise<void>;
  /** Simulators started and not closed yet. */
  readonly running: readonly ScimSimulator[];
}

export function scimSimulatorSet(defaults: ScimSimulatorOptions = {}): ScimSimulatorSet {
  const registry = simulatorRegistry<ScimSimulator>();
  return {
    running: registry.running,
    start: async (options = {}) =>
      registry.add(await startScimSimulator({ dataset: 'small', ...defaults, ...options })),
    closeAll: registry.closeAll,
  };
}

/**
 * A connector's bundled simulator (for `--demo`, `simulator` and the benchmarks): its base path, demo token and flag
 * names. Neither connector's SCIM API documents a rate limit, so `rateLimits: 'documented'` applies none (see
 * docs/apis/scim.md, "Rate limits").
 */
export function bundledScimSimulator(
  options: Pick<ScimSimulatorOptions, 'basePath' | 'token' | 'config'>,
): BundledSimulator {
  return {
    datasets: presetDatasets(SCIM_DATASETS, (spec) => [
      [spec.users, 'users'],
      [spec.groups, 'groups'],
      [spec.memberships, 'memberships'],
    ]),
    start: (where) =>
      startScimSimulator({
        ...options,
        host: where.host,
        port: where.port,
        dataset: where.dataset as ScimDatasetName | undefined,
        latencyMs: where.latencyMs,
        faults: where.faults,
        rateLimits: { read: 0, write: 0 },
      }),
  };
}

export interface ScimTestConnector {
  connector: ScimConnector;
  stats: RuntimeStats;
  log: CapturedLogger;
  ctx: CallContext;
}

/** Retries with 1 ms backoff steps (Retry-After is still honoured as sent), so fault tests stay fast. */
export const FAST_RETRIES: ScimHttpOptions = { retry: { maxAttempts: 4, baseDelayMs: 1, maxWaitMs: 2_000 } };

/** Builds a connector for a test: `build` gets the runtime and fast HTTP options. */
export function scimTestConnector(
  build: (runtime: ConnectorRuntime, http: ScimHttpOptions) => ScimConnector,
  syncId = 'test-sync',
): ScimTestConnector {
  const log = captureLogger();
  const stats = newRuntimeStats();
  const connector = build({ logger: log.logger, stats }, FAST_RETRIES);
  return { connector, stats, log, ctx: { signal: new AbortController().signal, logger: log.logger, syncId } };
}
