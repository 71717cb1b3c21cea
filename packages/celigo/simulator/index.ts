/**
 * A fake Celigo integrator.io API on loopback, for tests, benchmarks and `--demo`: the `/v1` routes at Celigo's real
 * paths (routes.ts), Bearer tokens with Celigo's two 401 bodies, `Link` header paging with a small configurable page
 * size, per-integration user lists, PUT that replaces the whole share (so a client that sends a partial body loses
 * data, as with Celigo), every PUT body recorded, a leaky-bucket rate limit (Celigo's: a burst of 1000, 300 per
 * second), fault injection, a request log, and seeded datasets.
 */
import {
  isDatasetWith,
  FaultInjector,
  LeakyBucketRateLimiter,
  RequestLog,
  SimulatorServer,
  runtimeOptionsControl,
  systemClock,
  type AuthHook,
  type BucketLimit,
  type Clock,
  type FaultConfig,
  type RunningSimulator,
  type SimRequest,
} from '@baton-ts/shared/simulator';

import { generateDataset, type DatasetName, type DatasetSpec } from './dataset.js';
import type { RecordedPut } from './model.js';
import { errorResponse, registerRoutes, type RouteSettings } from './routes.js';
import { CeligoState, type CeligoData } from './state.js';

export { DATASETS, DATASET_LIST, generateDataset, type DatasetName, type DatasetSpec } from './dataset.js';
export * from './model.js';
export { CeligoState, type CeligoData, type IntegrationUser } from './state.js';

/** Options that can also be changed while the simulator runs (`sim.setOptions`). */
export interface CeligoRuntimeOptions extends RouteSettings {
  /** Celigo's per-account leaky bucket (default burst 1000, 300 per second); null turns rate limiting off. */
  rateLimit: BucketLimit | null;
}

export type TokenScope = 'full' | 'custom';

export interface CeligoSimulatorOptions extends Partial<CeligoRuntimeOptions> {
  /** Loopback address to bind (default 127.0.0.1). */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** The accepted Full access token (default: a fixed, distinctive string). */
  token?: string;
  /** More tokens; a `custom` one may not read users (403), as a Celigo token with Custom scope. */
  extraTokens?: Array<{ token: string; scope: TokenScope }>;
  /** A preset name, a generator spec, or ready-made data (default `small`). */
  dataset?: DatasetName | DatasetSpec | CeligoData;
  /** Injected clock for the rate limit and `lastModified`. */
  clock?: Clock;
  faults?: FaultConfig;
  /** Request log capacity (default 100,000 entries). */
  logLimit?: number;
  /** Simulated network latency per request (default 0). */
  latencyMs?: number;
}

export interface CeligoSimulator extends RunningSimulator {
  /** The Full access token. */
  token: string;
  state: CeligoState;
  log: RequestLog;
  faults: FaultInjector;
  rateLimiter: LeakyBucketRateLimiter;
  /** Every `PUT /v1/ashares/{id}` with its raw body, oldest first. */
  puts: RecordedPut[];
  setOptions(options: Partial<CeligoRuntimeOptions>): void;
  options(): CeligoRuntimeOptions;
}

export const DEFAULT_CELIGO_TOKEN = 'celigo-sim-7d1e0b9a4c2f48e6a5b3d9c1f0e2a4b6';
const DEFAULT_RATE_LIMIT: BucketLimit = { burst: 1000, perSecond: 300 };
/** Every token of the account shares one bucket: Celigo limits per account. */
const RATE_IDENTITY = 'account';

/** Starts the simulator; resolves once listening. `close()` stops it. */
export async function startCeligoSimulator(options: CeligoSimulatorOptions = {}): Promise<CeligoSimulator> {
  const clock = options.clock ?? systemClock;
  const runtime: CeligoRuntimeOptions = {
    pageSize: options.pageSize ?? 50,
    maxPageSize: options.maxPageSize ?? 50,
    pagination: options.pagination ?? 'skip',
    emptyListStatus: options.emptyListStatus ?? 200,
    rateLimit: options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit,
  };
  const data = isDatasetWith<CeligoData>(options.dataset, 'shares')
    ? options.dataset
    : generateDataset(options.dataset ?? 'small');
  const state = new CeligoState(data, clock);

  const token = options.token ?? DEFAULT_CELIGO_TOKEN;
  const tokens = new Map<string, { label: string; scope: TokenScope }>([[token, { label: 'token-1', scope: 'full' }]]);
  (options.extraTokens ?? []).forEach((t, i) => tokens.set(t.token, { label: `token-${i + 2}`, scope: t.scope }));
  const tokenOf = (req: SimRequest) => tokens.get(req.locals.token as string);

  const log = new RequestLog({ maxEntries: options.logLimit });
  for (const t of tokens.keys()) log.addSecret(t);
  const faults = new FaultInjector(options.faults ?? {});
  const rateLimiter = new LeakyBucketRateLimiter({ clock });
  const applyRateLimit = () => rateLimiter.setBuckets({ api: runtime.rateLimit ?? undefined });
  applyRateLimit();

  // Celigo's auth middleware answers 401 without its usual error envelope, in two wordings.
  const auth: AuthHook = (req) => {
    const header = req.headers.authorization;
    const value = Array.isArray(header) ? header[0] : header;
    if (!value) return { response: { status: 401, json: { message: 'Unauthorized' } } };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
    const known = match ? tokens.get(match[1]!) : undefined;
    if (!known) return { response: { status: 401, json: { message: 'Bearer Authentication Failed' } } };
    req.locals.token = match![1];
    req.annotate({ caller: known.label });
    return { identity: RATE_IDENTITY };
  };

  const server = new SimulatorServer({
    host: options.host,
    port: options.port,
    clock,
    log,
    faults,
    rateLimiter,
    latencyMs: options.latencyMs,
    auth,
    rateClass: () => 'api',
    rateLimitBody: (_cls, decision) =>
      errorResponse({
        status: 429,
        code: 'rate_limited',
        message: `Too many requests. Retry after ${decision.retryAfterSeconds} seconds.`,
      }).json,
  });

  const puts: RecordedPut[] = [];
  registerRoutes({
    server,
    state,
    settings: () => runtime,
    fullAccess: (req) => tokenOf(req)?.scope === 'full',
    scopeOf: (req) => (tokenOf(req)?.scope === 'full' ? '*' : 'custom'),
    puts,
  });

  const baseUrl = await server.start();
  return {
    baseUrl,
    token,
    config: { 'celigo-access-token': token, 'base-url': baseUrl },
    requestCount: () => server.requestCount(),
    stats: () => server.stats(),
    close: () => server.close(),
    state,
    log,
    faults,
    rateLimiter,
    puts,
    ...runtimeOptionsControl(runtime, applyRateLimit),
  };
}
