/**
 * Test helpers: a simulator per test, a connector pointed at it, and the in-process host sync from the testing kit
 * (every page state passed through a real page token).
 */
import { expect } from 'vitest';
import { ConnectorError, type CallContext, type RuntimeStats } from '@baton-ts/shared';
import {
  captureLogger,
  FAST_RETRY,
  newRuntimeStats,
  simulatorRegistry,
  syncInProcess,
  type CapturedLogger,
  type InProcessSyncResult,
} from '@baton-ts/shared/testing';
import type { RequestLogEntry } from '@baton-ts/shared/simulator';
import { startCeligoSimulator, type CeligoSimulator, type CeligoSimulatorOptions } from '../simulator/index.js';
import { configSchema } from '../src/config.js';
import { createCeligoConnector, type CeligoConnector, type CeligoConnectorOptions } from '../src/connector.js';

const simulators = simulatorRegistry<CeligoSimulator>();
export const closeAll = simulators.closeAll;

/** A simulator without rate limits unless the test asks for them. */
export async function startSim(options: CeligoSimulatorOptions = {}): Promise<CeligoSimulator> {
  return simulators.add(await startCeligoSimulator({ rateLimit: null, ...options }));
}

export interface TestConnector {
  connector: CeligoConnector;
  stats: RuntimeStats;
  log: CapturedLogger;
  ctx: CallContext;
}

export function connectTo(
  sim: CeligoSimulator,
  overrides: { token?: string; baseUrl?: string; syncId?: string } = {},
  options: CeligoConnectorOptions = { http: FAST_RETRY },
): TestConnector {
  const config = configSchema.parse({
    celigoAccessToken: overrides.token ?? sim.token,
    baseUrl: overrides.baseUrl ?? sim.baseUrl,
  });
  const log = captureLogger();
  const stats = newRuntimeStats();
  const connector = createCeligoConnector(config, { logger: log.logger, stats }, options);
  return {
    connector,
    stats,
    log,
    ctx: { signal: new AbortController().signal, logger: log.logger, syncId: overrides.syncId },
  };
}

export type SyncResult = InProcessSyncResult;

/** A full sync in host order: all resources, then entitlements, then grants (skipping what the type says). */
export function fullSync(t: TestConnector, pageSize = 100): Promise<SyncResult> {
  return syncInProcess(t.connector, t.ctx, pageSize);
}

/** `GET /v1/ashares` style route of a logged request, ids replaced by `:id` (e.g. `GET /v1/integrations/:id/ashares`). */
export function route(entry: RequestLogEntry): string {
  return `${entry.method} ${entry.path.replace(/\/[0-9a-f]{24}(?=\/|$)/g, '/:id')}`;
}

export function countRoutes(sim: CeligoSimulator, from = 0): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of sim.log.filter((x) => x.seq > from)) counts[route(e)] = (counts[route(e)] ?? 0) + 1;
  return counts;
}

export const lastSeq = (sim: CeligoSimulator) => sim.log.last()?.seq ?? 0;

export { captureLogger, FAST_RETRY };

/** The error a promise rejects with, which must be a ConnectorError. */
export async function errorOf(p: Promise<unknown>): Promise<ConnectorError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectorError);
  return err as ConnectorError;
}

/** The grant ids the Go connector would emit for what the simulator holds (role and integration grants). */
export function expectedGrantIds(sim: CeligoSimulator): string[] {
  const ids: string[] = [];
  for (const share of sim.state.listShares()) {
    if (share.accessLevel) ids.push(`role:${share.accessLevel}:assigned:user:${share._id}`);
  }
  for (const integration of sim.state.listIntegrations()) {
    for (const u of sim.state.integrationUsers(integration._id)!) {
      ids.push(`integration:${integration._id}:${u.level}:user:${u.share._id}`);
    }
  }
  return ids.sort();
}
