/**
 * Helpers for a connector's unit tests that call its syncers directly, without a subprocess: a captured logger, a
 * call context, paging to the end with every state passed through a real page token (so states must be
 * self-contained, as they are across a host's checkpoints), and a full sync walked exactly as the host walks.
 * For the real thing (subprocess, handshake, gRPC), use `runConformance`.
 */
import { create } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import type { CallContext, Connector, ResourceSyncer } from '../sdk/connector.js';
import { decodePageToken, encodePageToken } from '../sdk/pagination.js';
import { createLogger, type Logger } from '../log/logger.js';
import {
  EntitlementsServiceListEntitlementsResponseSchema,
  type Entitlement,
} from '../gen/c1/connector/v2/entitlement_pb.js';
import { GrantsServiceListGrantsResponseSchema, type Grant } from '../gen/c1/connector/v2/grant_pb.js';
import {
  ResourceIdSchema,
  ResourceSchema,
  ResourcesServiceListResourcesResponseSchema,
  ResourceTypesServiceListResourceTypesResponseSchema,
  type Resource,
  type ResourceType,
} from '../gen/c1/connector/v2/resource_pb.js';
import { ConnectorWalker, type WalkClient } from '../host/walk.js';

export interface CapturedLogger {
  logger: Logger;
  /** Every line written, as the JSON text a real run would print on stderr. */
  lines: string[];
}

/** A debug-level logger whose lines are kept in memory (for "the secret never appears in logs" checks). */
export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (line) => lines.push(line) }) };
}

/** A call context with a fresh, never-aborted signal. */
export function testCallContext(logger: Logger = captureLogger().logger): CallContext {
  return { signal: new AbortController().signal, logger };
}

/** Runs one paged call to the end, round-tripping every state through a page token. */
export async function allPages<T>(
  call: (state: unknown, size: number) => Promise<{ items: T[]; next?: unknown }>,
  size = 100,
): Promise<T[]> {
  const items: T[] = [];
  let token = '';
  for (let i = 0; i < 1_000_000; i++) {
    const page = await call(decodePageToken(token), size);
    if (page.items.length > size)
      throw new Error(`a page held ${page.items.length} items, more than the ${size} asked for`);
    items.push(...page.items);
    const next = encodePageToken(page.next);
    if (next === '') return items;
    if (next === token) throw new Error('page token did not advance');
    token = next;
  }
  throw new Error('too many pages');
}

export interface InProcessSyncResult {
  resources: Resource[];
  entitlements: Entitlement[];
  grants: Grant[];
}

/**
 * A full sync in host order, walked by the host's own walker (host/walk.ts) over the connector's syncers in-process:
 * validate, every type at top level (types declared `childOnly` answer nothing there, as the server makes them),
 * children of every resource that announces child types (depth first), then every resource's entitlements and
 * grants unless skip annotations say otherwise. Every page state goes through a real page token, and a page larger
 * than `pageSize` fails.
 */
export async function syncInProcess(
  connector: Connector,
  ctx: CallContext,
  pageSize = 100,
): Promise<InProcessSyncResult> {
  await connector.validate(ctx);
  const walker = new ConnectorWalker(inProcessClient(connector, ctx), {
    pageSize,
    retry: { maxAttempts: 1 },
    maxPagesPerListing: 1_000_000,
    observer: (page) => {
      // Resource types come in one page whatever the size asked for, as the server answers them.
      if (page.list.length > pageSize && page.listing.kind !== 'resource-types') {
        throw new Error(
          `${page.listing.label} page ${page.number} held ${page.list.length} items, more than the ${pageSize} asked for`,
        );
      }
    },
  });
  const types: ResourceType[] = [];
  await walker.resourceTypes((list) => void types.push(...list));
  const resources: Resource[] = [];
  await walker.resources(
    types.map((t) => t.id),
    (list) => {
      resources.push(...list);
      return list;
    },
  );
  const typeOf = (id: string) => types.find((t) => t.id === id);
  const entitlements: Entitlement[] = [];
  await walker.entitlements(resources, typeOf, (list) => void entitlements.push(...list));
  const grants: Grant[] = [];
  await walker.grants(resources, typeOf, (list) => void grants.push(...list));
  return { resources, entitlements, grants };
}

/**
 * The walk's calls answered by the connector's syncers, as the server answers them: page states as page tokens,
 * `childOnly` types empty without a parent, children given their parent.
 */
function inProcessClient(connector: Connector, ctx: CallContext): WalkClient {
  const syncerOf = (type: string | undefined): ResourceSyncer => {
    const syncer = connector.syncers.find((s) => s.resourceType.id === type);
    if (!syncer) throw new Error(`no syncer for resource type "${type ?? ''}"`);
    return syncer;
  };
  const page = (req: { pageToken?: string; pageSize?: number }) => ({
    state: decodePageToken(req.pageToken),
    size: req.pageSize ?? 100,
  });
  const answer = <T>(result: { items: T[]; next?: unknown; annotations?: Any[] }) => ({
    list: result.items,
    nextPageToken: encodePageToken(result.next),
    annotations: result.annotations ?? [],
  });
  return {
    async listResourceTypes() {
      return create(ResourceTypesServiceListResourceTypesResponseSchema, {
        list: connector.syncers.map((s) => s.resourceType),
      });
    },
    async listResources(req) {
      const syncer = syncerOf(req.resourceTypeId);
      const parent = req.parentResourceId ? create(ResourceIdSchema, req.parentResourceId) : undefined;
      if (syncer.childOnly && !parent) return create(ResourcesServiceListResourcesResponseSchema);
      const result = await syncer.list(parent, page(req), ctx);
      const items = parent
        ? result.items.map((r) => (r.parentResourceId ? r : create(ResourceSchema, { ...r, parentResourceId: parent })))
        : result.items;
      return create(ResourcesServiceListResourcesResponseSchema, answer({ ...result, items }));
    },
    async listEntitlements(req) {
      const resource = create(ResourceSchema, req.resource);
      const result = await syncerOf(resource.id?.resourceType).entitlements(resource, page(req), ctx);
      return create(EntitlementsServiceListEntitlementsResponseSchema, answer(result));
    },
    async listGrants(req) {
      const resource = create(ResourceSchema, req.resource);
      const result = await syncerOf(resource.id?.resourceType).grants(resource, page(req), ctx);
      return create(GrantsServiceListGrantsResponseSchema, answer(result));
    },
  };
}

/** Stable JSON for comparing protobuf messages (bytes as base64, bigints as strings). */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

/** HTTP client options for tests: Retry-After honoured as sent, backoff steps of 1 ms. */
export const FAST_RETRY = { retry: { maxAttempts: 8, baseDelayMs: 1, maxWaitMs: 5_000 } };

/** The simulators a test file started, so `afterEach`/`afterAll` can close every one of them. */
export function simulatorRegistry<Sim extends { close(): Promise<void> }>() {
  const running: Sim[] = [];
  return {
    running,
    /** Registers a started simulator and hands it back. */
    add(sim: Sim): Sim {
      running.push(sim);
      return sim;
    },
    async closeAll(): Promise<void> {
      await Promise.all(running.splice(0).map((s) => s.close()));
    },
  };
}
