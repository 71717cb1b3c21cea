/**
 * Test helpers: a simulator per test, a connector pointed at it, and the in-process host from the shared testing kit
 * (a full sync in host order with every page state passed through a real page token).
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
import { startVgsSimulator, type VgsSimulator, type VgsSimulatorOptions } from '../simulator/index.js';
import { configSchema } from '../src/config.js';
import { createVgsConnector, type VgsConnector, type VgsConnectorOptions } from '../src/connector.js';

const simulators = simulatorRegistry<VgsSimulator>();
export const running = simulators.running;
export const closeAll = simulators.closeAll;

/** A simulator without rate limits unless the test asks for them. */
export async function startSim(options: VgsSimulatorOptions = {}): Promise<VgsSimulator> {
  return simulators.add(await startVgsSimulator({ rateLimits: { read: 0, write: 0 }, ...options }));
}

export interface TestConnector {
  connector: VgsConnector;
  stats: RuntimeStats;
  log: CapturedLogger;
  ctx: CallContext;
}

export function connectTo(
  sim: VgsSimulator,
  overrides: { clientId?: string; clientSecret?: string; organizationId?: string } = {},
  options: VgsConnectorOptions = { http: FAST_RETRY },
): TestConnector {
  const config = configSchema.parse({
    serviceAccountClientId: overrides.clientId ?? sim.clientId,
    serviceAccountClientSecret: overrides.clientSecret ?? sim.clientSecret,
    organizationId: overrides.organizationId ?? sim.organizationId,
    baseUrl: sim.accountsUrl,
    tokenUrl: sim.tokenUrl,
  });
  const log = captureLogger();
  const stats = newRuntimeStats();
  const connector = createVgsConnector(config, { logger: log.logger, stats }, options);
  return { connector, stats, log, ctx: { signal: new AbortController().signal, logger: log.logger } };
}

export { allPages, captureLogger, FAST_RETRY, stableJson };
export type SyncResult = InProcessSyncResult;

/** A full sync in host order: validate, all resources, then entitlements, then grants. */
export function fullSync(t: TestConnector, pageSize?: number): Promise<SyncResult> {
  return syncInProcess(t.connector, t.ctx, pageSize);
}

export function syncerOf(t: TestConnector, type: string) {
  const syncer = t.connector.syncers.find((s) => s.resourceType.id === type);
  if (!syncer) throw new Error(`no syncer ${type}`);
  return syncer;
}

/** `METHOD path` of a logged request (query left out). */
export const route = (e: RequestLogEntry) => `${e.method} ${e.path}`;

/** Requests that change something (everything but GET and the token endpoint). */
export const isMutation = (e: RequestLogEntry) => e.method !== 'GET' && !e.path.startsWith('/auth/');

export const lastSeq = (sim: VgsSimulator) => sim.log.last()?.seq ?? 0;

/** Requests logged after `seq`, as `METHOD path`. */
export function routesAfter(sim: VgsSimulator, seq: number): string[] {
  return sim.log.filter((e) => e.seq > seq).map(route);
}

/** Principal `type:id` of a grant. */
export const principalKey = (g: { principal?: { id?: { resourceType: string; resource: string } } }) =>
  `${g.principal!.id!.resourceType}:${g.principal!.id!.resource}`;
