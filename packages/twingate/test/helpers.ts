/**
 * Test helpers: a simulator per test, a connector pointed at it, and an in-process "host" that runs a full sync the
 * way a Baton host does (every type's resources, then every resource's entitlements, then grants, all pages), with
 * every page state passed through a real page token so states must be self-contained.
 */
import type { CallContext, RuntimeStats } from '@baton-ts/shared';
import {
  allPages,
  captureLogger,
  FAST_RETRY,
  newRuntimeStats,
  simulatorRegistry,
  stableJson,
  syncInProcess,
  type CapturedLogger,
  type InProcessSyncResult,
} from '@baton-ts/shared/testing';
import type { RequestLogEntry } from '@baton-ts/shared/simulator';
import { startTwingateSimulator, type TwingateSimulator, type TwingateSimulatorOptions } from '../simulator/index.js';
import { configSchema } from '../src/config.js';
import { createTwingateConnector, type TwingateConnector, type TwingateConnectorOptions } from '../src/connector.js';
import type { GraphQLRequestInfo } from '../simulator/index.js';

const simulators = simulatorRegistry<TwingateSimulator>();
export const running = simulators.running;
export const closeAll = simulators.closeAll;

/** A simulator without rate limits unless the test asks for them. */
export async function startSim(options: TwingateSimulatorOptions = {}): Promise<TwingateSimulator> {
  return simulators.add(await startTwingateSimulator({ rateLimits: { read: 0, write: 0 }, ...options }));
}

export interface TestConnector {
  connector: TwingateConnector;
  stats: RuntimeStats;
  log: CapturedLogger;
  ctx: CallContext;
}

export function connectTo(
  sim: TwingateSimulator,
  overrides: { apiKey?: string; baseUrl?: string } = {},
  options: TwingateConnectorOptions = { http: FAST_RETRY },
): TestConnector {
  const config = configSchema.parse({
    apiKey: overrides.apiKey ?? sim.apiKey,
    domain: sim.config.domain,
    baseUrl: overrides.baseUrl ?? sim.config['base-url'],
  });
  const log = captureLogger();
  const stats = newRuntimeStats();
  const connector = createTwingateConnector(config, { logger: log.logger, stats }, options);
  return { connector, stats, log, ctx: { signal: new AbortController().signal, logger: log.logger } };
}

export { allPages, captureLogger, FAST_RETRY, stableJson };
export type SyncResult = InProcessSyncResult;

/** A full sync in host order: all resources, then entitlements, then grants (skipping what the type says). */
export function fullSync(t: TestConnector): Promise<SyncResult> {
  return syncInProcess(t.connector, t.ctx);
}

export function gqlInfo(entry: RequestLogEntry): GraphQLRequestInfo | undefined {
  return entry.info.graphql as GraphQLRequestInfo | undefined;
}

/** The operation a request carried; from the body too, since faulted requests are answered before parsing. */
export function operationName(entry: RequestLogEntry): string {
  const body = entry.body as { operationName?: unknown } | undefined;
  return gqlInfo(entry)?.operationName ?? (typeof body?.operationName === 'string' ? body.operationName : '?');
}

export function isMutation(entry: RequestLogEntry): boolean {
  const body = entry.body as { query?: unknown } | undefined;
  return (
    gqlInfo(entry)?.operationType === 'mutation' ||
    (typeof body?.query === 'string' && /^\s*mutation\b/.test(body.query))
  );
}

export function operationNames(
  sim: TwingateSimulator,
  predicate: (e: RequestLogEntry) => boolean = () => true,
): string[] {
  return sim.log.filter(predicate).map(operationName);
}

export function countOps(sim: TwingateSimulator): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of operationNames(sim)) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

export function mutationCount(sim: TwingateSimulator): number {
  return sim.log.count(isMutation);
}
