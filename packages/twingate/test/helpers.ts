/**
 * Test helpers: a simulator per test, a connector pointed at it, and an in-process "host" that runs a full sync the
 * way a Baton host does (every type's resources, then every resource's entitlements, then grants, all pages), with
 * every page state passed through a real page token so states must be self-contained.
 */
import {
  decodePageToken,
  encodePageToken,
  newRuntimeStats,
  type CallContext,
  type Entitlement,
  type Grant,
  type Resource,
  type ResourceSyncer,
  type RuntimeStats,
} from '@baton-ts/shared';
import { createLogger, type Logger } from '@baton-ts/shared/log/logger';
import type { RequestLogEntry } from '@baton-ts/shared/simulator/index';
import { startTwingateSimulator, type TwingateSimulator, type TwingateSimulatorOptions } from '../simulator/index.js';
import { configSchema } from '../src/config.js';
import { createTwingateConnector, type TwingateConnector, type TwingateConnectorOptions } from '../src/connector.js';
import type { GraphQLRequestInfo } from '../simulator/index.js';

export const running: TwingateSimulator[] = [];

export async function closeAll(): Promise<void> {
  await Promise.all(running.splice(0).map((s) => s.close()));
}

/** A simulator without rate limits unless the test asks for them. */
export async function startSim(options: TwingateSimulatorOptions = {}): Promise<TwingateSimulator> {
  const sim = await startTwingateSimulator({ rateLimits: { read: 0, write: 0 }, ...options });
  running.push(sim);
  return sim;
}

export interface CapturedLogger {
  logger: Logger;
  lines: string[];
}

export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }) };
}

export interface TestConnector {
  connector: TwingateConnector;
  stats: RuntimeStats;
  log: CapturedLogger;
  ctx: CallContext;
}

/** Fast retries: Retry-After is honoured as sent, backoff steps are 1 ms. */
export const FAST_RETRY = { retry: { maxAttempts: 8, baseDelayMs: 1, maxWaitMs: 5_000 } };

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

function syncerOf(connector: TwingateConnector, type: string): ResourceSyncer {
  const syncer = connector.syncers.find((s) => s.resourceType.id === type);
  if (!syncer) throw new Error(`no syncer for ${type}`);
  return syncer;
}

/** Runs one paged call to the end, round-tripping every state through a page token. */
export async function allPages<T>(
  call: (state: unknown, size: number) => Promise<{ items: T[]; next?: unknown }>,
  size = 100,
): Promise<T[]> {
  const items: T[] = [];
  let token = '';
  for (let i = 0; i < 100_000; i++) {
    const page = await call(decodePageToken(token), size);
    items.push(...page.items);
    const next = encodePageToken(page.next);
    if (next === '') return items;
    if (next === token) throw new Error('page token did not advance');
    token = next;
  }
  throw new Error('too many pages');
}

export interface SyncResult {
  resources: Resource[];
  entitlements: Entitlement[];
  grants: Grant[];
}

/** A full sync in host order: all resources, then entitlements, then grants (skipping what the type says). */
export async function fullSync(t: TestConnector): Promise<SyncResult> {
  const { connector, ctx } = t;
  await connector.validate(ctx);
  const resources: Resource[] = [];
  for (const syncer of connector.syncers) {
    resources.push(...(await allPages((state, size) => syncer.list(undefined, { state, size }, ctx))));
  }
  const entitlements: Entitlement[] = [];
  const grants: Grant[] = [];
  const skips = (r: Resource) =>
    syncerOf(connector, r.id!.resourceType).resourceType.annotations.some((a) => a.typeUrl.endsWith('SkipEntitlementsAndGrants'));
  for (const r of resources) {
    if (skips(r)) continue;
    const syncer = syncerOf(connector, r.id!.resourceType);
    entitlements.push(...(await allPages((state, size) => syncer.entitlements(r, { state, size }, ctx))));
  }
  for (const r of resources) {
    if (skips(r)) continue;
    const syncer = syncerOf(connector, r.id!.resourceType);
    grants.push(...(await allPages((state, size) => syncer.grants(r, { state, size }, ctx))));
  }
  return { resources, entitlements, grants };
}

/** Stable JSON for comparing protobuf messages (bytes as base64, bigints as strings). */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
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
  return gqlInfo(entry)?.operationType === 'mutation' || (typeof body?.query === 'string' && /^\s*mutation\b/.test(body.query));
}

export function operationNames(sim: TwingateSimulator, predicate: (e: RequestLogEntry) => boolean = () => true): string[] {
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

export function grantKey(g: Grant): string {
  return g.id;
}
