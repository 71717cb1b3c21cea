import {
  isDatasetWith,
  FaultInjector,
  RateLimiter,
  RequestLog,
  SimulatorServer,
  headerKeyAuth,
  runtimeOptionsControl,
  systemClock,
  type Clock,
  type FaultConfig,
  type RunningSimulator,
} from '@baton-ts/shared/simulator';

import type { PageSizeOverflow } from './connection.js';
import { generateDataset, type DatasetName, type DatasetSpec } from './dataset.js';
import type { GroupType } from './model.js';
import { buildTwingateSchema, type ResolverContext } from './resolvers.js';
import { createGraphQLEndpoint } from './server.js';
import { TwingateState, type TwingateData } from './state.js';

export { DATASETS, DATASET_LIST, generateDataset, type DatasetName, type DatasetSpec } from './dataset.js';
export { decodeCursor, decodeId, encodeCursor, encodeId } from './ids.js';
export * from './model.js';
export { TwingateState, type TwingateData, type MutationResult } from './state.js';
export { TWINGATE_SDL } from './schema.js';
export { buildTwingateSchema } from './resolvers.js';
export type { GraphQLFieldCall, GraphQLRequestInfo } from './server.js';
export type { PageSizeOverflow } from './connection.js';

/** Options that can also be changed while the simulator runs (`sim.setOptions`). */
export interface TwingateRuntimeOptions {
  /** Page size when a connection gets no `first`/`last` (default 50; also for nested `group.users`). */
  defaultPageSize: number;
  /** Largest `first`/`last` accepted (default 100). */
  maxPageSize: number;
  /**
   * Larger `first`/`last`: "error" (default) answers with a GraphQL error naming the limit, like graphene's
   * `max_limit`, so a client learns the maximum instead of silently getting fewer rows; "clamp" serves the maximum.
   */
  pageSizeOverflow: PageSizeOverflow;
  /** Per token, per minute: queries are `read`, mutations `write` (defaults 60 and 20; 0 or Infinity = unlimited). */
  rateLimits: { read: number; write: number };
  /** HTTP status of syntax/validation/variable errors (`{errors: [...]}`, no data); default 200. */
  requestErrorStatus: 200 | 400;
  /** groupUpdate/groupDelete on these group types return ok:false (default SYNCED and SYSTEM). */
  protectedGroupTypes: GroupType[];
}

export interface TwingateSimulatorOptions extends Partial<TwingateRuntimeOptions> {
  /** Loopback address to bind (default 127.0.0.1). */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** The accepted API key (default `tg-sim-` + a fixed string). */
  apiKey?: string;
  /** More accepted keys; each one is a separate rate-limit identity, like separate Twingate API tokens. */
  extraApiKeys?: string[];
  /** Tenant subdomain reported in `config.domain` (default `simulated`). */
  domain?: string;
  /** A preset name, a generator spec, or ready-made data (default `small`). */
  dataset?: DatasetName | DatasetSpec | TwingateData;
  /** Injected clock for rate-limit windows and `updatedAt` (default Date.now). */
  clock?: Clock;
  faults?: FaultConfig;
  /** Rate-limit window (default 60,000 ms). */
  rateLimitWindowMs?: number;
  /** Request log capacity (default 100,000 entries). */
  logLimit?: number;
  /** Simulated network latency per request (default 0). */
  latencyMs?: number;
}

export interface TwingateSimulator extends RunningSimulator {
  /** The GraphQL endpoint, `${baseUrl}/api/graphql/`. */
  graphqlUrl: string;
  apiKey: string;
  state: TwingateState;
  log: RequestLog;
  faults: FaultInjector;
  rateLimiter: RateLimiter;
  setOptions(options: Partial<TwingateRuntimeOptions>): void;
  options(): TwingateRuntimeOptions;
}

export const DEFAULT_TWINGATE_API_KEY = 'tg-sim-0123456789abcdef0123456789abcdef';

/**
 * Starts a fake Twingate Admin API on loopback: `POST /api/graphql/` (and `/api/graphql`) with `X-API-KEY`.
 * Resolves once listening; `close()` stops it.
 */
export async function startTwingateSimulator(options: TwingateSimulatorOptions = {}): Promise<TwingateSimulator> {
  const clock = options.clock ?? systemClock;
  const runtime: TwingateRuntimeOptions = {
    defaultPageSize: options.defaultPageSize ?? 50,
    maxPageSize: options.maxPageSize ?? 100,
    pageSizeOverflow: options.pageSizeOverflow ?? 'error',
    rateLimits: { read: 60, write: 20, ...(options.rateLimits ?? {}) },
    requestErrorStatus: options.requestErrorStatus ?? 200,
    protectedGroupTypes: options.protectedGroupTypes ?? ['SYNCED', 'SYSTEM'],
  };
  const data = isDatasetWith<TwingateData>(options.dataset, 'users')
    ? options.dataset
    : generateDataset(options.dataset ?? 'small');
  const state = new TwingateState(data, clock);
  const schema = buildTwingateSchema();

  const apiKey = options.apiKey ?? DEFAULT_TWINGATE_API_KEY;
  const keys: Record<string, string> = { [apiKey]: 'token-1' };
  (options.extraApiKeys ?? []).forEach((key, i) => (keys[key] = `token-${i + 2}`));

  const log = new RequestLog({ maxEntries: options.logLimit });
  for (const key of Object.keys(keys)) log.addSecret(key);
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
    auth: headerKeyAuth({ header: 'X-API-KEY', keys, failure: { status: 401, json: { detail: 'Invalid API key' } } }),
    rateLimitBody: (cls, decision) => ({
      detail: `Rate limit exceeded: ${decision.limit} ${cls === 'write' ? 'mutations' : 'queries'} per minute`,
      retryAfterSeconds: decision.retryAfterSeconds,
    }),
  });

  const context = (): ResolverContext => ({
    state,
    paging: {
      defaultPageSize: runtime.defaultPageSize,
      maxPageSize: runtime.maxPageSize,
      overflow: runtime.pageSizeOverflow,
    },
    mutations: { protectedGroupTypes: runtime.protectedGroupTypes },
  });
  const endpoint = createGraphQLEndpoint({ schema, context, requestErrorStatus: () => runtime.requestErrorStatus });
  server.post('/api/graphql/', endpoint.handler, { trailingSlash: true, rateClass: endpoint.classify });

  const baseUrl = await server.start();
  const graphqlUrl = `${baseUrl}/api/graphql/`;
  return {
    baseUrl,
    graphqlUrl,
    apiKey,
    config: { 'api-key': apiKey, domain: options.domain ?? 'simulated', 'base-url': graphqlUrl },
    requestCount: () => server.requestCount(),
    stats: () => server.stats(),
    close: () => server.close(),
    state,
    log,
    faults,
    rateLimiter,
    ...runtimeOptionsControl(runtime, (options) => rateLimiter.setLimits(options.rateLimits)),
  };
}
