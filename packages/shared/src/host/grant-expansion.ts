/**
 * Grant expansion (docs/testing.md, "How a host walks a connector"): a grant annotated
 * GrantExpandable{entitlement_ids: [src...]} on entitlement dst means every principal holding src also holds dst.
 * We build the src -> dst graph, break cycles into strongly connected components, enforce Go's depth limit, and
 * then, component by component in topological order, create the derived grants (id "<dst>:<type>:<id>") or add src
 * to the sources of grants that already exist. Reads and writes go through the store in batches, so memory is
 * bounded by a batch, not by the number of grants.
 */
import { create } from '@bufbuild/protobuf';
import type { Entitlement } from '../gen/c1/connector/v2/entitlement_pb.js';
import {
  GrantSchema,
  GrantSourcesSchema,
  GrantSources_GrantSourceSchema,
  type Grant,
  type GrantSources_GrantSource,
} from '../gen/c1/connector/v2/grant_pb.js';
import type { ResourceId } from '../gen/c1/connector/v2/resource_pb.js';
import type { Logger } from '../log/logger.js';
import { resourceKey } from '../util/text.js';

type MaybePromise<T> = T | Promise<T>;

/** What expansion needs from the sync store. */
export interface ExpansionStore {
  getEntitlement(id: string): MaybePromise<Entitlement | undefined | null>;
  grants(filter: { entitlementId?: string; principal?: ResourceId }): Iterable<Grant> | AsyncIterable<Grant>;
  putGrants(list: Grant[]): MaybePromise<unknown>;
}

/** An expandable grant seen during the grants phase. */
export interface ExpandableGrant {
  grantId: string;
  principal: ResourceId;
  dst: Entitlement;
  srcIds: string[];
  shallow: boolean;
  resourceTypeIds: string[];
}

export interface ExpansionOptions {
  maxDepth: number;
  /** Resolve cycles (Go's default) instead of failing on them. */
  fixCycles: boolean;
  batchSize: number;
  logger?: Logger;
  /** Builds the error to throw (the sync engine tags it with its phase). */
  fail: (message: string) => Error;
}

export interface ExpansionResult {
  created: number;
  updated: number;
}

interface ExpandEdge {
  src: string;
  dst: string;
  shallow: boolean;
  /** Empty = every principal type. */
  resourceTypeIds: string[];
}

export async function expandGrants(
  store: ExpansionStore,
  expandable: readonly ExpandableGrant[],
  options: ExpansionOptions,
): Promise<ExpansionResult> {
  const result: ExpansionResult = { created: 0, updated: 0 };
  if (expandable.length === 0) return result; // needs_expansion was never set
  const { maxDepth, fixCycles, batchSize, logger, fail } = options;

  // 1. Edges src → dst, validated against the store.
  const edges = new Map<string, ExpandEdge>();
  const dstEntitlements = new Map<string, Entitlement>();
  for (const x of expandable) {
    for (const srcId of x.srcIds) {
      const src = await store.getEntitlement(srcId);
      if (!src) {
        logger?.warn('grant expansion: source entitlement not found, skipping', {
          grant: x.grantId,
          entitlement: srcId,
        });
        continue;
      }
      if (!sameResourceId(src.resource?.id, x.principal)) {
        throw fail(
          `grant ${x.grantId}: source entitlement resource id did not match grant principal id ` +
            `(entitlement ${srcId} is on ${resourceKey(src.resource?.id)}, principal is ${resourceKey(x.principal)})`,
        );
      }
      if (srcId === x.dst.id) continue; // a self-edge adds nothing
      if (!dstEntitlements.has(x.dst.id))
        dstEntitlements.set(x.dst.id, (await store.getEntitlement(x.dst.id)) ?? x.dst);
      const key = `${srcId}\u0000${x.dst.id}`;
      const prev = edges.get(key);
      if (!prev) {
        edges.set(key, { src: srcId, dst: x.dst.id, shallow: x.shallow, resourceTypeIds: [...x.resourceTypeIds] });
      } else {
        // Several grants describe the same edge: the widest reading wins (deep over shallow, all types over some).
        prev.shallow = prev.shallow && x.shallow;
        prev.resourceTypeIds =
          prev.resourceTypeIds.length === 0 || x.resourceTypeIds.length === 0
            ? []
            : [...new Set([...prev.resourceTypeIds, ...x.resourceTypeIds])];
      }
    }
  }
  if (edges.size === 0) return result;

  // 2. Strongly connected components, in topological order (sources first).
  const components = stronglyConnectedComponents([...edges.values()]);
  const componentOf = new Map<string, number>();
  components.forEach((c, i) => c.forEach((n) => componentOf.set(n, i)));
  const cyclic = components.filter((c) => c.length > 1);
  if (cyclic.length > 0) {
    if (!fixCycles) {
      throw fail(`cycle detected in the entitlement graph: ${cyclic[0].join(' -> ')}`);
    }
    logger?.info('grant expansion: resolving entitlement cycles', { cycles: cyclic.length });
  }

  // 3. Depth: the longest chain of edges between components.
  const depth = new Array<number>(components.length).fill(0);
  const incoming = new Map<number, ExpandEdge[]>();
  const internal = new Map<number, ExpandEdge[]>();
  for (const e of edges.values()) {
    const cs = componentOf.get(e.src)!;
    const cd = componentOf.get(e.dst)!;
    const bucket = cs === cd ? internal : incoming;
    const list = bucket.get(cd) ?? [];
    list.push(e);
    bucket.set(cd, list);
  }
  for (let i = 0; i < components.length; i++) {
    for (const e of incoming.get(i) ?? []) {
      depth[i] = Math.max(depth[i], depth[componentOf.get(e.src)!] + 1);
    }
    if (depth[i] > maxDepth) {
      throw fail(`grant expansion exceeded max depth (${maxDepth}) at entitlement ${components[i][0]}`);
    }
  }

  // 4. Process components in order: edges from upstream first, then edges inside a cycle until nothing changes.
  for (let i = 0; i < components.length; i++) {
    for (const e of incoming.get(i) ?? []) await expandEdge(store, e, dstEntitlements.get(e.dst)!, batchSize, result);
    const inner = internal.get(i) ?? [];
    for (let pass = 0; inner.length > 0 && pass <= components[i].length; pass++) {
      let changed = false;
      for (const e of inner)
        changed = (await expandEdge(store, e, dstEntitlements.get(e.dst)!, batchSize, result)) || changed;
      if (!changed) break;
    }
  }
  return result;
}

/** Apply one edge: every (kept) holder of `src` holds `dst` too. Returns whether any grant was written. */
async function expandEdge(
  store: ExpansionStore,
  e: ExpandEdge,
  dst: Entitlement,
  batchSize: number,
  result: ExpansionResult,
): Promise<boolean> {
  let changed = false;
  let batch: Grant[] = [];
  for await (const g of store.grants({ entitlementId: e.src })) {
    batch.push(g);
    if (batch.length >= batchSize) {
      changed = (await expandBatch(store, e, dst, batch, result)) || changed;
      batch = [];
    }
  }
  if (batch.length) changed = (await expandBatch(store, e, dst, batch, result)) || changed;
  return changed;
}

async function expandBatch(
  store: ExpansionStore,
  e: ExpandEdge,
  dst: Entitlement,
  sourceGrants: Grant[],
  result: ExpansionResult,
): Promise<boolean> {
  const writes = new Map<string, Grant>();
  let created = 0;
  let updated = 0;
  for (const g of sourceGrants) {
    const principal = g.principal;
    const pid = principal?.id;
    if (!principal || !pid?.resource) continue;
    if (e.resourceTypeIds.length > 0 && !e.resourceTypeIds.includes(pid.resourceType)) continue;
    if (e.shallow) {
      const sources = g.sources?.sources ?? {};
      const direct = Object.keys(sources).length === 0 || e.src in sources;
      if (!direct) continue;
    }
    const newId = `${dst.id}:${pid.resourceType}:${pid.resource}`;
    const existing: Grant[] = [];
    for await (const x of store.grants({ entitlementId: dst.id, principal: pid })) existing.push(writes.get(x.id) ?? x);
    const pending = writes.get(newId);
    if (existing.length === 0 && pending) existing.push(pending);
    if (existing.length === 0) {
      writes.set(
        newId,
        create(GrantSchema, {
          id: newId,
          entitlement: dst,
          principal,
          sources: create(GrantSourcesSchema, { sources: { [e.src]: create(GrantSources_GrantSourceSchema) } }),
        }),
      );
      created++;
      continue;
    }
    for (const x of existing) {
      const sources: Record<string, GrantSources_GrantSource> = { ...(x.sources?.sources ?? {}) };
      let modified = false;
      if (Object.keys(sources).length === 0) {
        // Q already held dst directly: keep that fact visible next to the derived source.
        sources[dst.id] = create(GrantSources_GrantSourceSchema);
        modified = true;
      }
      if (!(e.src in sources)) {
        sources[e.src] = create(GrantSources_GrantSourceSchema);
        modified = true;
      }
      if (!modified) continue;
      const wasPending = writes.has(x.id);
      writes.set(x.id, { ...x, sources: create(GrantSourcesSchema, { sources }) });
      if (!wasPending) updated++;
    }
  }
  if (writes.size === 0) return false;
  await store.putGrants([...writes.values()]);
  result.created += created;
  result.updated += updated;
  return true;
}

function sameResourceId(a: ResourceId | undefined, b: ResourceId | undefined): boolean {
  return !!a && !!b && a.resourceType === b.resourceType && a.resource === b.resource;
}

/**
 * Tarjan's algorithm, iterative (the graph can be deep). Returns components in topological order of the
 * condensation: every edge goes from an earlier (or the same) component to a later one.
 */
export function stronglyConnectedComponents(edges: ReadonlyArray<{ src: string; dst: string }>): string[][] {
  const adj = new Map<string, string[]>();
  for (const { src, dst } of edges) {
    if (!adj.has(src)) adj.set(src, []);
    if (!adj.has(dst)) adj.set(dst, []);
    adj.get(src)!.push(dst);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  for (const root of adj.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter);
    counter++;
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const succ = adj.get(frame.node)!;
      if (frame.next < succ.length) {
        const w = succ[frame.next++];
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter);
          counter++;
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== frame.node);
        out.push(comp);
      }
    }
  }
  // Tarjan emits sinks first.
  return out.reverse();
}
