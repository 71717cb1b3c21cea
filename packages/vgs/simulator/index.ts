import {
  isDatasetWith,
  FaultInjector,
  RateLimiter,
  RequestLog,
  SimulatorServer,
  runtimeOptionsControl,
  systemClock,
  type Clock,
  type FaultConfig,
  type RunningSimulator,
} from '@baton-ts/shared/simulator';

import { TOKEN_PATH, VgsApi, type VgsRuntimeOptions } from './api.js';
import {
  DEFAULT_CLIENT_ID,
  PRIMARY_ORGANIZATION_ID,
  generateDataset,
  type DatasetName,
  type DatasetSpec,
} from './dataset.js';
import type { VgsData } from './model.js';
import { VgsState } from './state.js';

export {
  DATASETS,
  DATASET_LIST,
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_SCOPES,
  PRIMARY_ORGANIZATION_ID,
  generateDataset,
  type DatasetName,
  type DatasetSpec,
} from './dataset.js';
export { INVITE_LIFETIME_MS, VgsError, VgsState, type VaultMemberView } from './state.js';
export { JSON_API, SCOPES, TOKEN_PATH, type VgsRuntimeOptions } from './api.js';
export type * from './model.js';

export interface VgsSimulatorOptions extends Partial<VgsRuntimeOptions> {
  /** Loopback address to bind (default 127.0.0.1). */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** A preset name, a generator spec, or ready-made data (default `small`). */
  dataset?: DatasetName | DatasetSpec | VgsData;
  /** The connector's own service account's credentials (default: the dataset's). */
  clientId?: string;
  clientSecret?: string;
  /** Its scopes (default: the four the setup guide asks for). */
  scopes?: string[];
  /** Clock for token expiry, invitation expiry and rate-limit windows (default Date.now). */
  clock?: Clock;
  faults?: FaultConfig;
  /** Rate-limit window (default 60,000 ms). */
  rateLimitWindowMs?: number;
  /** Request log capacity (default 100,000 entries). */
  logLimit?: number;
  /** Simulated network latency per request (default 0). */
  latencyMs?: number;
}

export interface VgsSimulator extends RunningSimulator {
  /** The accounts API base URL (the simulator's origin). */
  accountsUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  organizationId: string;
  state: VgsState;
  log: RequestLog;
  faults: FaultInjector;
  rateLimiter: RateLimiter;
  /** Tokens issued so far. */
  issuedTokens(): number;
  /** Every issued token stops working at once (a token revoked before it expires). */
  revokeTokens(): void;
  setOptions(options: Partial<VgsRuntimeOptions>): void;
  options(): VgsRuntimeOptions;
}

/**
 * Starts a fake VGS on loopback: the Keycloak token endpoint (`POST /auth/realms/vgs/protocol/openid-connect/token`)
 * and the accounts API (`/organizations/...`, `/vaults/...`) on one origin. Resolves once listening.
 */
export async function startVgsSimulator(options: VgsSimulatorOptions = {}): Promise<VgsSimulator> {
  const clock = options.clock ?? systemClock;
  const runtime: VgsRuntimeOptions = {
    pageSize: options.pageSize ?? 100,
    maxPageSize: options.maxPageSize ?? 100,
    // VGS publishes no accounts-API limit; 200 per minute is the figure it documents for sandbox proxy traffic.
    rateLimits: { read: 200, write: 200, ...(options.rateLimits ?? {}) },
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 1200,
    listScopesInToken: options.listScopesInToken ?? true,
    serviceAccountsInMembers: options.serviceAccountsInMembers ?? true,
  };
  const data = isDatasetWith<VgsData>(options.dataset, 'members')
    ? options.dataset
    : generateDataset(options.dataset ?? 'small', clock());
  const state = new VgsState(data, clock);

  // The connector's own account: the dataset's first one, with the credentials and scopes asked for.
  const own = state.serviceAccount(DEFAULT_CLIENT_ID) ?? state.listServiceAccounts(PRIMARY_ORGANIZATION_ID)[0];
  if (!own) throw new Error('vgs simulator: the dataset has no service account in the configured organization');
  const clientId = options.clientId ?? own.clientId;
  const clientSecret = options.clientSecret ?? own.clientSecret;
  if (clientId !== own.clientId || clientSecret !== own.clientSecret || options.scopes) {
    state.addServiceAccount({ ...own, clientId, clientSecret, scopes: options.scopes ?? own.scopes });
  }

  const log = new RequestLog({ maxEntries: options.logLimit });
  for (const sa of state.listServiceAccounts()) log.addSecret(sa.clientSecret);
  const faults = new FaultInjector(options.faults ?? {});
  const rateLimiter = new RateLimiter({ limits: runtime.rateLimits, windowMs: options.rateLimitWindowMs, clock });
  const server = new SimulatorServer({
    host: options.host,
    port: options.port,
    clock,
    log,
    faults,
    rateLimiter,
    latencyMs: options.latencyMs,
    rateLimitBody: (cls, decision) => ({
      errors: [
        {
          status: '429',
          title: 'Too Many Requests',
          detail: `Rate limit of ${decision.limit} ${cls} requests per minute exceeded`,
        },
      ],
    }),
  });
  const api = new VgsApi({ state, runtime, clock, log });
  api.register(server);

  const baseUrl = await server.start();
  const tokenUrl = `${baseUrl}${TOKEN_PATH}`;
  return {
    baseUrl,
    accountsUrl: baseUrl,
    tokenUrl,
    clientId,
    clientSecret,
    organizationId: PRIMARY_ORGANIZATION_ID,
    config: {
      'service-account-client-id': clientId,
      'service-account-client-secret': clientSecret,
      'organization-id': PRIMARY_ORGANIZATION_ID,
      'base-url': baseUrl,
      'token-url': tokenUrl,
    },
    requestCount: () => server.requestCount(),
    stats: () => server.stats(),
    close: () => server.close(),
    state,
    log,
    faults,
    rateLimiter,
    issuedTokens: () => api.issuedTokens,
    revokeTokens: () => api.revokeTokens(),
    ...runtimeOptionsControl(runtime, (options) => rateLimiter.setLimits(options.rateLimits)),
  };
}
