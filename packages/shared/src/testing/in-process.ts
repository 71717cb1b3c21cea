/**
 * Helpers for a connector's unit tests that call its syncers directly, without a subprocess: a captured logger, a
 * call context, paging to the end with every state passed through a real page token (so states must be
 * self-contained, as they are across a host's checkpoints), and a full sync in the host's order.
 * For the real thing (subprocess, handshake, gRPC), use `runConformance`.
 */
import { hasAnnotation } from '../sdk/annotations.js';
import type { CallContext, Connector, ResourceSyncer } from '../sdk/connector.js';
import type { Entitlement, Grant } from '../sdk/entitlements.js';
import { decodePageToken, encodePageToken } from '../sdk/pagination.js';
import type { Resource } from '../sdk/resources.js';
import { createLogger, type Logger } from '../log/logger.js';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import {
  ChildResourceTypeSchema,
  SkipEntitlementsAndGrantsSchema,
} from '../gen/c1/connector/v2/annotation_resource_tree_pb.js';

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
 * A full sync in host order: validate, every type's top-level resources (children of resources that announce
 * child types), then every resource's entitlements, then grants, skipping what the type's annotations say.
 */
export async function syncInProcess(
  connector: Connector,
  ctx: CallContext,
  pageSize = 100,
): Promise<InProcessSyncResult> {
  await connector.validate(ctx);
  const syncerOf = (type: string): ResourceSyncer => {
    const syncer = connector.syncers.find((s) => s.resourceType.id === type);
    if (!syncer) throw new Error(`no syncer for resource type "${type}"`);
    return syncer;
  };
  const resources: Resource[] = [];
  for (const syncer of connector.syncers) {
    if (syncer.childOnly) continue;
    resources.push(...(await allPages((state, size) => syncer.list(undefined, { state, size }, ctx), pageSize)));
  }
  // Children of every resource that announces child types, breadth first (the list grows while we walk it).
  for (let i = 0; i < resources.length; i++) {
    const parent = resources[i]!;
    for (const ann of parent.annotations) {
      if (!ann.typeUrl.endsWith(`/${ChildResourceTypeSchema.typeName}`)) continue;
      const child = anyUnpack(ann, ChildResourceTypeSchema);
      if (!child) continue;
      const syncer = syncerOf(child.resourceTypeId);
      resources.push(...(await allPages((state, size) => syncer.list(parent.id, { state, size }, ctx), pageSize)));
    }
  }
  const entitlements: Entitlement[] = [];
  const grants: Grant[] = [];
  const skips = (r: Resource) =>
    hasAnnotation(syncerOf(r.id!.resourceType).resourceType.annotations, SkipEntitlementsAndGrantsSchema);
  for (const r of resources) {
    if (skips(r)) continue;
    const syncer = syncerOf(r.id!.resourceType);
    entitlements.push(...(await allPages((state, size) => syncer.entitlements(r, { state, size }, ctx), pageSize)));
  }
  for (const r of resources) {
    if (skips(r)) continue;
    const syncer = syncerOf(r.id!.resourceType);
    grants.push(...(await allPages((state, size) => syncer.grants(r, { state, size }, ctx), pageSize)));
  }
  return { resources, entitlements, grants };
}

/** Stable JSON for comparing protobuf messages (bytes as base64, bigints as strings). */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}
