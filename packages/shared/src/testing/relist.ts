/**
 * Invariants over the connector's raw RPC answers. The sync engine and the store hide some bugs (the store keeps one
 * row per id, the host drops duplicate resources), so this walks the connector again directly, page by page, the
 * way the host does (resource types → resources per type at top level and under every parent that declares a
 * `ChildResourceType` → entitlements and grants of every resource not skipped), and checks:
 *  - page tokens: at most 4096 bytes, never the token that was sent (stuck), never one already used in the same
 *    listing (cycle), at most `maxPagesPerListing` pages, the whole pass within `deadlineMs`;
 *  - no duplicate ids: within one listing across its pages, and across the whole pass (resource types, resources,
 *    entitlements, grants);
 *  - every resource listed under a parent carries that parent as `parent_resource_id`, and has the type asked for;
 *  - every entitlement / grant returned for a resource is on that resource;
 *  - pagination is stable: a second full pass returns the same ids for every listing;
 *  - optionally, the first pass agrees with what a sync stored (same resources and entitlements; every listed grant
 *    stored, the rest being expansion-created).
 * Transient errors (UNAVAILABLE, DEADLINE_EXCEEDED) are retried like the host does; other errors are violations.
 */
import type { Any } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import type { Entitlement } from '../gen/c1/connector/v2/entitlement_pb.js';
import type { Grant } from '../gen/c1/connector/v2/grant_pb.js';
import type { Resource, ResourceId, ResourceType } from '../gen/c1/connector/v2/resource_pb.js';
import {
  ChildResourceTypeSchema,
  SkipEntitlementsAndGrantsSchema,
  SkipEntitlementsSchema,
  SkipGrantsSchema,
} from '../gen/c1/connector/v2/annotation_resource_tree_pb.js';
import { MAX_PAGE_TOKEN_BYTES } from '../sdk/pagination.js';
import { findAnnotation, hasAnnotation, typeNameOf } from '../sdk/annotations.js';
import { ConnectorExitedError, describeError, RpcError, type ConnectorClient } from '../host/client.js';
import { PageTokenGuard } from '../host/walk.js';
import { shortToken } from '../util/text.js';
import { quote, resourceKey, sample, ViolationCollector } from './violations.js';

type MaybeNull<T> = T | undefined | null;

/** Point lookups used to compare the re-listing with a sync (the c1z `SyncStore` fits). */
export interface RelistCompareStore {
  getResource(resourceTypeId: string, resourceId: string): MaybeNull<Resource>;
  getEntitlement(id: string): MaybeNull<Entitlement>;
  getGrant(id: string): MaybeNull<Grant>;
  counts(): { resources: Record<string, number>; entitlements: number; grants: number };
}

export interface RpcCheckOptions {
  /** Full passes (default 2: the second checks that pagination is stable; 1 skips that check). */
  passes?: number;
  /** `page_size` sent with every list call (default 0: the connector's choice, as hosts do). */
  pageSize?: number;
  /** Budget for one pass in ms (default 120 000). */
  deadlineMs?: number;
  /** Pages one listing may take before it is declared non-terminating (default 100 000). */
  maxPagesPerListing?: number;
  /** Sentences per rule (default 20). */
  maxPerRule?: number;
  /** Compare the first pass with the store a sync wrote. */
  compareWith?: { store: RelistCompareStore; expandedGrants: number };
  /** Attempts per call on UNAVAILABLE / DEADLINE_EXCEEDED (default 6). */
  maxAttempts?: number;
  /** Cap for one retry wait (default 30 s). */
  maxRetryWaitMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RelistPassStats {
  resourceTypes: number;
  resources: number;
  entitlements: number;
  grants: number;
  listings: number;
  pages: number;
  retries: number;
  durationMs: number;
  /** False when the pass was cut short (deadline, connector exit, non-terminating listing). */
  complete: boolean;
}

export interface RpcCheckResult {
  violations: string[];
  passes: RelistPassStats[];
}

/** Rules `checkRpcInvariants` can report. */
export const RPC_INVARIANT_RULES = [
  'page-token-size',
  'page-token-stuck',
  'page-token-cycle',
  'page-limit',
  'deadline',
  'rpc-error',
  'connector-exited',
  'missing-id',
  'duplicate-resource-type',
  'duplicate-resource',
  'duplicate-entitlement',
  'duplicate-grant',
  'resource-type-mismatch',
  'parent',
  'entitlement-resource',
  'grant-resource',
  'unstable-pagination',
  'sync-mismatch',
] as const;

const RETRYABLE = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Stops the current pass (deadline reached or the connector died). */
class AbortPass extends Error {}

function sameId(a: ResourceId | undefined, b: ResourceId | undefined): boolean {
  return !!a && !!b && a.resourceType === b.resourceType && a.resource === b.resource;
}

function childTypes(annotations: readonly Any[]): string[] {
  const out: string[] = [];
  for (const ann of annotations) {
    if (typeNameOf(ann) !== ChildResourceTypeSchema.typeName) continue;
    try {
      const child = findAnnotation([ann], ChildResourceTypeSchema);
      if (child?.resourceTypeId) out.push(child.resourceTypeId);
    } catch {
      // an undecodable annotation: the host ignores it too
    }
  }
  return out;
}

function skips(rt: ResourceType | undefined, r: Resource, which: 'entitlements' | 'grants'): boolean {
  const specific = which === 'entitlements' ? SkipEntitlementsSchema : SkipGrantsSchema;
  const on = (list: readonly Any[] | undefined) =>
    hasAnnotation(list, SkipEntitlementsAndGrantsSchema) || hasAnnotation(list, specific);
  return on(rt?.annotations) || on(r.annotations);
}

/** Page tokens in violation messages are cut to this many characters. */
const TOKEN_CHARS = 60;

/** What one pass saw: per listing, the ids it returned in order (for the stability comparison). */
interface PassData {
  listings: Map<string, string[]>;
  stats: RelistPassStats;
  resources: Map<string, ResourceId>;
  entitlementIds: Set<string>;
  grantIds: Set<string>;
}

class Pass {
  readonly data: PassData;
  private readonly started = Date.now();
  private readonly types = new Map<string, ResourceType>();
  /** Resource key → label of the listing that first returned it. */
  private readonly resourceSeen = new Map<string, string>();
  private readonly entitlementSeen = new Map<string, string>();
  private readonly grantSeen = new Map<string, string>();
  private readonly deadline: number;

  constructor(
    private readonly client: ConnectorClient,
    private readonly v: ViolationCollector,
    private readonly n: number,
    private readonly opts: Required<Omit<RpcCheckOptions, 'compareWith' | 'passes' | 'maxPerRule'>>,
  ) {
    this.deadline = this.started + opts.deadlineMs;
    this.data = {
      listings: new Map(),
      resources: new Map(),
      entitlementIds: new Set(),
      grantIds: new Set(),
      stats: {
        resourceTypes: 0,
        resources: 0,
        entitlements: 0,
        grants: 0,
        listings: 0,
        pages: 0,
        retries: 0,
        durationMs: 0,
        complete: false,
      },
    };
  }

  private get label(): string {
    return `pass ${this.n}`;
  }

  async run(): Promise<PassData> {
    try {
      await this.walk();
      this.data.stats.complete = true;
    } catch (err) {
      if (!(err instanceof AbortPass)) throw err;
    }
    this.data.stats.durationMs = Date.now() - this.started;
    return this.data;
  }

  private async walk(): Promise<void> {
    // Resource types.
    await this.listing(
      'ListResourceTypes',
      (pageToken) => this.client.listResourceTypes({ pageToken, pageSize: this.opts.pageSize }),
      (rt: ResourceType, listing) => {
        if (!rt.id) {
          this.v.add(
            'missing-id',
            `${listing} returned a resource type without an id (display name ${quote(rt.displayName)})`,
          );
          return undefined;
        }
        // A repeated id is reported by listing() (there is only one resource type listing).
        if (!this.types.has(rt.id)) {
          this.types.set(rt.id, rt);
          this.data.stats.resourceTypes++;
        }
        return rt.id;
      },
    );

    // Resources: every type at top level, then children of every resource declaring a ChildResourceType.
    const queue: Array<{ typeId: string; parent?: ResourceId }> = [...this.types.keys()].map((typeId) => ({ typeId }));
    const walkResources: Resource[] = [];
    while (queue.length > 0) {
      const { typeId, parent } = queue.shift()!;
      const label = parent ? `ListResources(${typeId}, parent ${resourceKey(parent)})` : `ListResources(${typeId})`;
      await this.listing(
        label,
        (pageToken) =>
          this.client.listResources({
            resourceTypeId: typeId,
            parentResourceId: parent,
            pageToken,
            pageSize: this.opts.pageSize,
          }),
        (r: Resource, listing) => {
          if (!r.id?.resource || !r.id.resourceType) {
            this.v.add(
              'missing-id',
              `${listing} returned a resource without an id (display name ${quote(r.displayName)})`,
            );
            return undefined;
          }
          const key = resourceKey(r.id);
          if (r.id.resourceType !== typeId) {
            this.v.add(
              'resource-type-mismatch',
              `${listing} returned resource ${quote(key)} of type ${quote(r.id.resourceType)} instead of ${quote(typeId)}`,
            );
          }
          if (parent && !sameId(r.parentResourceId, parent)) {
            const has = r.parentResourceId?.resource
              ? `parent_resource_id ${quote(resourceKey(r.parentResourceId))}`
              : 'no parent_resource_id';
            this.v.add(
              'parent',
              `resource ${quote(key)} was listed under parent ${quote(resourceKey(parent))} but carries ${has}`,
            );
          }
          const first = this.resourceSeen.get(key);
          if (first !== undefined) {
            // Duplicates inside one listing are reported by listing() itself.
            if (first !== listing) {
              this.v.add(
                'duplicate-resource',
                `resource ${quote(key)} was returned by ${first} and again by ${listing} (${this.label})`,
              );
            }
            return key;
          }
          this.resourceSeen.set(key, listing);
          this.data.resources.set(key, r.id);
          this.data.stats.resources++;
          for (const child of childTypes(r.annotations)) queue.push({ typeId: child, parent: r.id });
          const rt = this.types.get(r.id.resourceType);
          if (!skips(rt, r, 'entitlements') || !skips(rt, r, 'grants')) walkResources.push(r);
          return key;
        },
      );
    }

    // Entitlements and grants of every resource not skipped.
    for (const r of walkResources) {
      const key = resourceKey(r.id);
      const rt = this.types.get(r.id!.resourceType);
      if (!skips(rt, r, 'entitlements')) {
        await this.listing(
          `ListEntitlements(${key})`,
          (pageToken) => this.client.listEntitlements({ resource: r, pageToken, pageSize: this.opts.pageSize }),
          (e: Entitlement, listing) => {
            if (!e.id) {
              this.v.add(
                'missing-id',
                `${listing} returned an entitlement without an id (display name ${quote(e.displayName)})`,
              );
              return undefined;
            }
            if (!sameId(e.resource?.id, r.id)) {
              this.v.add(
                'entitlement-resource',
                `${listing} returned entitlement ${quote(e.id)} on resource ${quote(resourceKey(e.resource?.id))} instead of ${quote(key)}`,
              );
            }
            const first = this.entitlementSeen.get(e.id);
            if (first !== undefined) {
              if (first !== listing)
                this.v.add(
                  'duplicate-entitlement',
                  `entitlement ${quote(e.id)} was returned by ${first} and again by ${listing} (${this.label})`,
                );
              return e.id;
            }
            this.entitlementSeen.set(e.id, listing);
            this.data.entitlementIds.add(e.id);
            this.data.stats.entitlements++;
            return e.id;
          },
        );
      }
      if (!skips(rt, r, 'grants')) {
        await this.listing(
          `ListGrants(${key})`,
          (pageToken) => this.client.listGrants({ resource: r, pageToken, pageSize: this.opts.pageSize }),
          (g: Grant, listing) => {
            if (!g.id) {
              this.v.add(
                'missing-id',
                `${listing} returned a grant without an id (entitlement ${quote(g.entitlement?.id ?? '')}, principal ${quote(resourceKey(g.principal?.id))})`,
              );
              return undefined;
            }
            const entResource = g.entitlement?.resource?.id;
            if (!sameId(entResource, r.id)) {
              this.v.add(
                'grant-resource',
                `${listing} returned grant ${quote(g.id)} whose entitlement is on ${quote(resourceKey(entResource))} instead of ${quote(key)}`,
              );
            }
            const first = this.grantSeen.get(g.id);
            if (first !== undefined) {
              if (first !== listing)
                this.v.add(
                  'duplicate-grant',
                  `grant ${quote(g.id)} was returned by ${first} and again by ${listing} (${this.label})`,
                );
              return g.id;
            }
            this.grantSeen.set(g.id, listing);
            this.data.grantIds.add(g.id);
            this.data.stats.grants++;
            return g.id;
          },
        );
      }
    }
  }

  /**
   * Page through one listing. `onItem` returns the item's id (undefined if it has none). Checks tokens and
   * duplicates across the listing's pages; records the ids for the stability comparison.
   */
  private async listing<T, R extends { list: T[]; nextPageToken: string }>(
    label: string,
    call: (pageToken: string) => Promise<R>,
    onItem: (item: T, label: string) => string | undefined,
  ): Promise<string[]> {
    const ids: string[] = [];
    const pageOf = new Map<string, number>();
    const tokens = new PageTokenGuard();
    this.data.listings.set(label, ids);
    this.data.stats.listings++;
    for (let page = 1; ; page++) {
      const token = tokens.current;
      if (page > this.opts.maxPagesPerListing) {
        this.v.add(
          'page-limit',
          `${label} did not finish within ${this.opts.maxPagesPerListing} pages (last page token ${shortToken(token, TOKEN_CHARS)})`,
        );
        return ids;
      }
      const where = token ? `${label} page ${page} (page token ${shortToken(token, TOKEN_CHARS)})` : label;
      let resp: R;
      try {
        resp = await this.call(where, () => call(token));
      } catch (err) {
        if (err instanceof AbortPass) throw err;
        this.v.add('rpc-error', `${where} failed: ${describeError(err)}`);
        return ids;
      }
      this.data.stats.pages++;
      for (const item of resp.list) {
        const id = onItem(item, label);
        if (id === undefined) continue;
        const seenOn = pageOf.get(id);
        if (seenOn !== undefined) {
          const kind = label.startsWith('ListResourceTypes')
            ? 'resource-type'
            : label.startsWith('ListResources')
              ? 'resource'
              : label.startsWith('ListEntitlements')
                ? 'entitlement'
                : 'grant';
          this.v.add(
            `duplicate-${kind}`,
            `${label} returned ${quote(id)} on page ${seenOn} and again on page ${page} (${this.label})`,
          );
          continue;
        }
        pageOf.set(id, page);
        ids.push(id);
      }
      const next = resp.nextPageToken;
      if (next === '') return ids;
      const bytes = Buffer.byteLength(next, 'utf8');
      if (bytes > MAX_PAGE_TOKEN_BYTES) {
        this.v.add(
          'page-token-size',
          `${label} page ${page} returned a page token of ${bytes} bytes (at most ${MAX_PAGE_TOKEN_BYTES} allowed)`,
        );
      }
      const problem = tokens.advance(next);
      if (problem === 'stuck') {
        this.v.add(
          'page-token-stuck',
          `${label} page ${page} returned the page token it was sent (${shortToken(next, TOKEN_CHARS)}); paging would never end`,
        );
        return ids;
      }
      if (problem === 'cycle') {
        this.v.add(
          'page-token-cycle',
          `${label} page ${page} returned page token ${shortToken(next, TOKEN_CHARS)}, which it had already returned; paging would never end`,
        );
        return ids;
      }
    }
  }

  /** One RPC with the host's retry rule for transient errors, within the pass deadline. */
  private async call<T>(where: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (Date.now() > this.deadline) {
        this.v.add(
          'deadline',
          `re-listing ${this.label} did not finish within ${this.opts.deadlineMs} ms (stopped before ${where})`,
        );
        throw new AbortPass();
      }
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ConnectorExitedError) {
          this.v.add('connector-exited', `the connector process died during ${where} (${this.label}): ${err.message}`);
          throw new AbortPass();
        }
        if (!(err instanceof RpcError) || !RETRYABLE.has(err.code) || attempt >= this.opts.maxAttempts) throw err;
        let waitMs = attempt * 1000;
        const rl = err.rateLimit;
        if (rl?.resetAt) {
          const until = timestampMs(rl.resetAt) - Date.now();
          if (until > 0) waitMs = rl.remaining <= 0n ? until : Math.ceil(until / 1000 / Number(rl.remaining)) * 1000;
        }
        this.data.stats.retries++;
        await this.opts.sleep(Math.min(waitMs, this.opts.maxRetryWaitMs, Math.max(0, this.deadline - Date.now())));
      }
    }
  }
}

/** Differences between two passes, per listing. */
function comparePasses(a: PassData, b: PassData, nb: number, v: ViolationCollector): void {
  for (const [label, idsA] of a.listings) {
    const idsB = b.listings.get(label);
    if (!idsB) {
      v.add('unstable-pagination', `${label} was listed in pass 1 but not in pass ${nb} (its parent disappeared)`);
      continue;
    }
    const setB = new Set(idsB);
    const setA = new Set(idsA);
    const missing = idsA.filter((id) => !setB.has(id));
    const extra = idsB.filter((id) => !setA.has(id));
    if (missing.length || extra.length) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing ${sample(missing)}`);
      if (extra.length) parts.push(`new ${sample(extra)}`);
      v.add(
        'unstable-pagination',
        `${label} returned different ids in pass ${nb} than in pass 1 (${idsA.length} vs ${idsB.length}): ${parts.join('; ')}`,
      );
    }
  }
  for (const label of b.listings.keys()) {
    if (!a.listings.has(label)) v.add('unstable-pagination', `${label} was listed in pass ${nb} but not in pass 1`);
  }
}

/** The first pass against the sync's store. */
function compareWithStore(a: PassData, cmp: NonNullable<RpcCheckOptions['compareWith']>, v: ViolationCollector): void {
  const { store, expandedGrants } = cmp;
  for (const [key, id] of a.resources) {
    if (!store.getResource(id.resourceType, id.resource))
      v.add('sync-mismatch', `resource ${quote(key)} was re-listed but the sync did not store it`);
  }
  for (const id of a.entitlementIds) {
    if (!store.getEntitlement(id))
      v.add('sync-mismatch', `entitlement ${quote(id)} was re-listed but the sync did not store it`);
  }
  for (const id of a.grantIds) {
    if (!store.getGrant(id)) v.add('sync-mismatch', `grant ${quote(id)} was re-listed but the sync did not store it`);
  }
  const counts = store.counts();
  const storedResources = Object.values(counts.resources).reduce((s, n) => s + n, 0);
  if (storedResources !== a.resources.size) {
    v.add('sync-mismatch', `the sync stored ${storedResources} resources but re-listing found ${a.resources.size}`);
  }
  if (counts.entitlements !== a.entitlementIds.size) {
    v.add(
      'sync-mismatch',
      `the sync stored ${counts.entitlements} entitlements but re-listing found ${a.entitlementIds.size}`,
    );
  }
  if (counts.grants - expandedGrants !== a.grantIds.size) {
    v.add(
      'sync-mismatch',
      `the sync stored ${counts.grants} grants (${expandedGrants} of them created by expansion) but re-listing found ${a.grantIds.size} listed grants`,
    );
  }
}

/** Re-list the connector page by page (see the file comment) and return the violations found. */
export async function checkRpcInvariants(
  client: ConnectorClient,
  options: RpcCheckOptions = {},
): Promise<RpcCheckResult> {
  const v = new ViolationCollector(options.maxPerRule);
  const opts = {
    pageSize: options.pageSize ?? 0,
    deadlineMs: options.deadlineMs ?? 120_000,
    maxPagesPerListing: options.maxPagesPerListing ?? 100_000,
    maxAttempts: Math.max(1, options.maxAttempts ?? 6),
    maxRetryWaitMs: options.maxRetryWaitMs ?? 30_000,
    sleep: options.sleep ?? defaultSleep,
  };
  const passes = Math.max(1, options.passes ?? 2);
  const results: PassData[] = [];
  for (let n = 1; n <= passes; n++) {
    const data = await new Pass(client, v, n, opts).run();
    results.push(data);
    if (!data.stats.complete) break; // an incomplete pass cannot be compared
  }
  const first = results[0];
  if (first.stats.complete) {
    for (let i = 1; i < results.length; i++) {
      if (results[i].stats.complete) comparePasses(first, results[i], i + 1, v);
    }
    if (options.compareWith) compareWithStore(first, options.compareWith, v);
  }
  return { violations: v.result(), passes: results.map((r) => r.stats) };
}
