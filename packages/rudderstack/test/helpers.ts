/** A SCIM simulator per test, shaped like RudderStack's API, and the connector pointed at it. */
import type { CallContext, RuntimeStats } from '@baton-ts/shared';
import type { ScimConnector } from '@baton-ts/shared/scim';
import { captureLogger, newRuntimeStats, type CapturedLogger } from '@baton-ts/shared/testing';
import { startScimSimulator, type ScimSimulator, type ScimSimulatorOptions } from '@baton-ts/shared/scim-simulator';
import { configSchema } from '../src/config.js';
import { createRudderStackConnector } from '../src/connector.js';

export const running: ScimSimulator[] = [];

export async function closeAll(): Promise<void> {
  await Promise.all(running.splice(0).map((s) => s.close()));
}

export const ORG_TOKEN = 'rs-test-org-sat-9f2c41d7';
export const WORKSPACE_TOKEN = 'rs-test-workspace-sat-55e1';

/** RudderStack's SCIM base path, an org-level token, and a workspace-level token that gets 403. */
export async function startSim(options: ScimSimulatorOptions = {}): Promise<ScimSimulator> {
  const sim = await startScimSimulator({
    dataset: 'small',
    basePath: '/scim/v2',
    token: ORG_TOKEN,
    forbiddenTokens: [WORKSPACE_TOKEN],
    config: (url, token) => ({ 'scim-base-url': url, 'scim-token': token }),
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

export function connectTo(sim: ScimSimulator, overrides: { token?: string; baseUrl?: string } = {}): TestConnector {
  const config = configSchema.parse({
    scimBaseUrl: overrides.baseUrl ?? sim.scimUrl,
    scimToken: overrides.token ?? sim.token,
  });
  const log = captureLogger();
  const stats = newRuntimeStats();
  const connector = createRudderStackConnector(
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
