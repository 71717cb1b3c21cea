/** A SCIM simulator per test, shaped like a VEGA tenant's endpoint, and the connector pointed at it. */
import type { CallContext, RuntimeStats } from '@baton-ts/shared';
import type { ScimConnector } from '@baton-ts/shared/scim';
import { captureLogger, newRuntimeStats, type CapturedLogger } from '@baton-ts/shared/testing';
import type { RequestLogEntry } from '@baton-ts/shared/simulator';
import { startScimSimulator, type ScimSimulator, type ScimSimulatorOptions } from '@baton-ts/shared/scim-simulator';
import { configSchema, type VegaConfig } from '../src/config.js';
import { createVegaConnector } from '../src/connector.js';

export const running: ScimSimulator[] = [];

export async function closeAll(): Promise<void> {
  await Promise.all(running.splice(0).map((s) => s.close()));
}

export const VEGA_TOKEN = 'vega-test-scim-token-c0d3';

export async function startSim(options: ScimSimulatorOptions = {}): Promise<ScimSimulator> {
  const sim = await startScimSimulator({
    dataset: 'small',
    basePath: '/scim/v2/org-test',
    token: VEGA_TOKEN,
    config: (url, token) => ({ 'scim-endpoint': url, 'scim-token': token }),
    ...options,
  });
  running.push(sim);
  return sim;
}

export interface TestConnector {
  connector: ScimConnector;
  stats: RuntimeStats;
  log: CapturedLogger;
  ctx: CallContext;
}

export function connectTo(
  sim: ScimSimulator,
  overrides: { token?: string; endpoint?: string; deprovisionMode?: VegaConfig['deprovisionMode'] } = {},
): TestConnector {
  const config = configSchema.parse({
    scimEndpoint: overrides.endpoint ?? sim.scimUrl,
    scimToken: overrides.token ?? sim.token,
    deprovisionMode: overrides.deprovisionMode,
  });
  const log = captureLogger();
  const stats = newRuntimeStats();
  const connector = createVegaConnector(
    config,
    { logger: log.logger, stats },
    { http: { retry: { maxAttempts: 4, baseDelayMs: 1, maxWaitMs: 2_000 } } },
  );
  return {
    connector,
    stats,
    log,
    ctx: { signal: new AbortController().signal, logger: log.logger, syncId: 'test-sync' },
  };
}

/** Requests that change something (anything but GET), as `METHOD path`. */
export function mutations(sim: ScimSimulator, fromSeq = 0): string[] {
  return sim.log
    .filter((e: RequestLogEntry) => e.seq > fromSeq && e.method !== 'GET')
    .map((e) => `${e.method} ${e.path.replace(/^.*\/scim\/v2\/org-test/, '')}`);
}

export const lastSeq = (sim: ScimSimulator) => sim.log.last()?.seq ?? 0;
