/**
 * The host-side full sync: Validate → ResourceTypes → Resources (child types depth-first) → Entitlements → Grants →
 * grant expansion, walked by walk.ts (the same walker the conformance kit uses) and stored as it goes
 * (docs/testing.md, "How a host walks a connector").
 *
 * It follows the Go syncer of baton-sdk v0.1.7/v0.2.45 with a few traits of the newest one (tolerant of sloppy
 * connectors):
 *  - resource types without an id, resources without an id, entitlements without an id/resource, and grants without
 *    an id/entitlement/principal are dropped and counted instead of stored; of two resources with the same id, the
 *    first copy wins;
 *  - a resource missing the trait annotation its type declares fails the sync, as in every Go host;
 *  - `active_sync_id` is sent when the connector's Validate reports sdk_version >= 0.4.3;
 *  - `ConnectorService.Cleanup` is called after EndSync; its errors are only logged.
 * Not done: `ListStaticEntitlements` (only the newest hosts call it; our connectors and older SDKs return every
 * entitlement from `ListEntitlements`), ETag replay (removed from Go hosts), resumable checkpoints.
 *
 * Memory: resource types and the expandable-grant edges are kept in memory (both small); resources, entitlements
 * and grants are read back from the store through its paged iterables, never collected.
 */
import * as grpc from '@grpc/grpc-js';
import type { Entitlement } from '../gen/c1/connector/v2/entitlement_pb.js';
import type { Grant } from '../gen/c1/connector/v2/grant_pb.js';
import { type Resource, type ResourceId, type ResourceType } from '../gen/c1/connector/v2/resource_pb.js';
import { GrantExpandableSchema } from '../gen/c1/connector/v2/annotation_grant_pb.js';
import { TRAIT_ANNOTATIONS } from '../sdk/resources.js';
import type { Logger } from '../log/logger.js';
import { findAnnotation, hasAnnotation } from '../sdk/annotations.js';
import { resourceKey } from '../util/text.js';
import { describeError, RpcError, type ConnectorClient, type ServerStats } from './client.js';
import { expandGrants, type ExpandableGrant } from './grant-expansion.js';
import { ConnectorWalker, skipsListing, type WalkPage, type WalkRetryOptions } from './walk.js';

// ---------------------------------------------------------------------------------------------------------------
// Store contract (structural, so the c1z SyncStore and in-memory test stores both fit)
// ---------------------------------------------------------------------------------------------------------------

type MaybePromise<T> = T | Promise<T>;
type Iter<T> = Iterable<T> | AsyncIterable<T>;

/** What the sync engine needs from a store (satisfied by `c1z` `SyncStore`). */
export interface SyncStoreLike {
  /** Begin a sync run; a string result is used as the sync id (`active_sync_id`). */
  startSync(): MaybePromise<unknown>;
  putResourceTypes(list: ResourceType[]): MaybePromise<unknown>;
  putResources(list: Resource[]): MaybePromise<unknown>;
  putEntitlements(list: Entitlement[]): MaybePromise<unknown>;
  putGrants(list: Grant[]): MaybePromise<unknown>;
  hasResource(resourceTypeId: string, resourceId: string): MaybePromise<boolean>;
  getEntitlement(id: string): MaybePromise<Entitlement | undefined | null>;
  /** Paged iteration over the current sync's rows. */
  resourceTypes(): Iter<ResourceType>;
  resources(): Iter<Resource>;
  grants(filter: { entitlementId?: string; principal?: ResourceId }): Iter<Grant>;
  endSync(): MaybePromise<unknown>;
}

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

export type SyncPhase =
  'validate' | 'resource-types' | 'resources' | 'entitlements' | 'grants' | 'grant-expansion' | 'done';

export interface TypeCounts {
  resources: number;
  entitlements: number;
  grants: number;
}

export interface SyncProgress {
  phase: SyncPhase;
  /** Resource type being worked on (resources / entitlements / grants phases). */
  resourceTypeId?: string;
  /** Per resource type: resources stored, entitlements and grants listed for resources of that type. */
  perType: Record<string, TypeCounts>;
  totals: { resourceTypes: number; resources: number; entitlements: number; grants: number; expandedGrants: number };
  /** RPCs issued by the sync (every attempt counts). */
  rpcCount: number;
  /** Retried RPC attempts. */
  retries: number;
  /** Retries whose wait came from a RateLimitDescription status detail. */
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  /** Latest `baton-ts-stats` from the connector (API requests etc.), if it sends them. */
  serverStats?: ServerStats;
  elapsedMs: number;
}

/** One resource type is done in one phase (see `SyncOptions.onTypeFinished`). */
export interface TypeFinished {
  phase: 'resources' | 'entitlements' | 'grants';
  resourceTypeId: string;
  /** The type's counts so far (resources, entitlements and grants listed for resources of that type). */
  counts: TypeCounts;
  /** From the first page of this type in this phase to its last. */
  elapsedMs: number;
}

export interface SyncSummary {
  syncId?: string;
  /** `sdk_version` from Validate ("" if not sent). */
  sdkVersion: string;
  resourceTypes: number;
  resources: number;
  entitlements: number;
  /** Grants listed by the connector plus grants created by expansion. */
  grants: number;
  /** Grants created by grant expansion. */
  expandedGrants: number;
  /** Existing grants whose `sources` expansion updated. */
  updatedGrants: number;
  /** Objects dropped because they lacked identity (HEAD rule), or duplicate resources (first copy wins). */
  dropped: {
    resourceTypes: number;
    resources: number;
    entitlements: number;
    grants: number;
    duplicateResources: number;
  };
  perType: Record<string, TypeCounts>;
  durationsMs: {
    validate: number;
    resourceTypes: number;
    resources: number;
    entitlements: number;
    grants: number;
    grantExpansion: number;
    total: number;
  };
  rpcCount: number;
  retries: number;
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  /** Upstream API requests the connector made, from its latest `baton-ts-stats` (undefined if not reported). */
  apiRequests?: number;
  serverStats?: ServerStats;
}

/** Retry limits of the sync's calls (see walk.ts). */
export type SyncRetryOptions = WalkRetryOptions;

export interface SyncOptions {
  logger?: Logger;
  onProgress?: (p: SyncProgress) => void;
  /**
   * A resource type is finished in a phase: its resources are listed (child types: when the resources phase ends),
   * or the entitlements / grants of all its resources are. Types without resources, or whose resources all skip
   * the phase, are not reported.
   */
  onTypeFinished?: (e: TypeFinished) => void;
  retry?: SyncRetryOptions;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  expansion?: {
    /** Longest chain of expandable edges allowed (default 8, Go `maxDepth`). */
    maxDepth?: number;
    /** Resolve cycles instead of failing (default true unless `BATON_DONT_FIX_CYCLES=true`). */
    fixCycles?: boolean;
    /** Source grants processed per batch (default 1000, like Go's page size). */
    batchSize?: number;
  };
  /** Call `ConnectorService.Cleanup` after EndSync (default true; errors are only logged). */
  cleanup?: boolean;
  /** `page_size` of every list request (default 0: the connector chooses, as every Go host sends). */
  pageSize?: number;
  /** Pages one listing may take before the sync fails (default: no limit, like Go hosts). */
  maxPagesPerListing?: number;
  /** Stops the sync: it fails with the signal's reason, and the call in flight is cancelled. */
  signal?: AbortSignal;
  /** Sees every page as the connector answered it, before the sync drops or dedupes anything. */
  observer?: (page: WalkPage) => void;
  /**
   * Fail the sync on a resource without the trait annotation its type declares (default true, like Go hosts). The
   * conformance kit turns it off and reports every such resource instead of stopping at the first.
   */
  checkTraits?: boolean;
}

/** The sync failed; `cause` holds the underlying RpcError / ConnectorExitedError when there is one. */
export class SyncError extends Error {
  readonly phase: SyncPhase;
  constructor(phase: SyncPhase, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SyncError';
    this.phase = phase;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/** Parse "v1.2.3" / "1.2.3-rc1" → [1,2,3]; undefined if not semver-like. */
function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** HEAD fills `active_sync_id` when the connector's sdk_version is >= 0.4.3. */
export function sendsActiveSyncId(sdkVersion: string): boolean {
  const v = parseVersion(sdkVersion);
  if (!v) return false;
  const [a, b, c] = v;
  return a > 0 || b > 4 || (b === 4 && c >= 3);
}

// ---------------------------------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------------------------------

/** Run a full sync from `client` into `store`. Throws `SyncError` on failure (the store is left mid-sync). */
export async function runSync(
  client: ConnectorClient,
  store: SyncStoreLike,
  options: SyncOptions = {},
): Promise<SyncSummary> {
  return new SyncRun(client, store, options).run();
}

class SyncRun {
  private readonly now: () => number;
  private readonly logger?: Logger;
  private readonly walker: ConnectorWalker;

  private phase: SyncPhase = 'validate';
  private currentType?: string;
  private readonly started: number;

  private readonly perType = new Map<string, TypeCounts>();
  private readonly types = new Map<string, ResourceType>();
  private readonly totals = { resourceTypes: 0, resources: 0, entitlements: 0, grants: 0, expandedGrants: 0 };
  private updatedGrants = 0;
  private readonly dropped = { resourceTypes: 0, resources: 0, entitlements: 0, grants: 0, duplicateResources: 0 };
  /** Expandable grants seen in the grants phase: (grant id, principal, dst entitlement, annotation). */
  private readonly expandable: ExpandableGrant[] = [];
  /** For onTypeFinished: child types (reported when the resources phase ends), per-type work done and start times. */
  private readonly childTypes = new Set<string>();
  private readonly processed = new Map<string, number>();
  /** Types with at least one resource not skipped in the current phase (all-skipped types are not reported). */
  private readonly worked = new Set<string>();
  private readonly typeStarted = new Map<string, number>();

  constructor(
    private readonly client: ConnectorClient,
    private readonly store: SyncStoreLike,
    private readonly options: SyncOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.started = this.now();
    this.walker = new ConnectorWalker(client, {
      pageSize: options.pageSize,
      retry: options.retry,
      maxPagesPerListing: options.maxPagesPerListing,
      signal: options.signal,
      observer: options.observer,
      onRetry: () => this.emit(),
      fail: (message, cause) => this.fail(message, cause),
      logger: options.logger,
      sleep: options.sleep,
      now: options.now,
    });
  }

  async run(): Promise<SyncSummary> {
    const durations = {
      validate: 0,
      resourceTypes: 0,
      resources: 0,
      entitlements: 0,
      grants: 0,
      grantExpansion: 0,
      total: 0,
    };
    const timed = async (key: keyof typeof durations, phase: SyncPhase, fn: () => Promise<void>) => {
      this.phase = phase;
      this.currentType = undefined;
      const t0 = this.now();
      this.emit();
      await fn();
      durations[key] = this.now() - t0;
    };

    let sdkVersion = '';
    await timed('validate', 'validate', async () => {
      const resp = await this.walker.call('Validate', (opts) => this.client.validate({}, opts));
      sdkVersion = resp.sdkVersion;
    });

    const started = await this.store.startSync();
    const syncId = typeof started === 'string' ? started : undefined;
    if (syncId && sendsActiveSyncId(sdkVersion)) this.walker.activeSyncId = syncId;

    await timed('resourceTypes', 'resource-types', () => this.syncResourceTypes());
    await timed('resources', 'resources', () => this.syncAllResources());
    await timed('entitlements', 'entitlements', () => this.syncEntitlements());
    await timed('grants', 'grants', () => this.syncGrants());
    await timed('grantExpansion', 'grant-expansion', () => this.expandGrants());

    await this.store.endSync();
    if (this.options.cleanup ?? true) {
      this.walker.rpcCount++;
      try {
        await this.client.cleanup({ activeSyncId: this.walker.activeSyncId });
      } catch (err) {
        const unimplemented = err instanceof RpcError && err.code === grpc.status.UNIMPLEMENTED;
        this.logger?.[unimplemented ? 'debug' : 'warn']('connector Cleanup failed', { error: describeError(err) });
      }
    }
    this.phase = 'done';
    this.currentType = undefined;
    durations.total = this.now() - this.started;
    this.emit();

    const stats = this.client.lastStats;
    const w = this.walker;
    return {
      syncId,
      sdkVersion,
      ...this.totals,
      updatedGrants: this.updatedGrants,
      dropped: { ...this.dropped },
      perType: this.perTypeSnapshot(),
      durationsMs: durations,
      rpcCount: w.rpcCount,
      retries: w.retries,
      rateLimitWaits: w.rateLimitWaits,
      rateLimitWaitMs: w.rateLimitWaitMs,
      apiRequests: stats?.apiRequests,
      serverStats: stats ? { ...stats } : undefined,
    };
  }

  // -- progress ------------------------------------------------------------------------------------------------

  private counts(typeId: string): TypeCounts {
    let c = this.perType.get(typeId);
    if (!c) {
      c = { resources: 0, entitlements: 0, grants: 0 };
      this.perType.set(typeId, c);
    }
    return c;
  }

  private perTypeSnapshot(): Record<string, TypeCounts> {
    const out: Record<string, TypeCounts> = {};
    for (const [k, v] of this.perType) out[k] = { ...v };
    return out;
  }

  private emit(): void {
    if (!this.options.onProgress) return;
    const stats = this.client.lastStats;
    const w = this.walker;
    try {
      this.options.onProgress({
        phase: this.phase,
        resourceTypeId: this.currentType,
        perType: this.perTypeSnapshot(),
        totals: { ...this.totals },
        rpcCount: w.rpcCount,
        retries: w.retries,
        rateLimitWaits: w.rateLimitWaits,
        rateLimitWaitMs: w.rateLimitWaitMs,
        serverStats: stats ? { ...stats } : undefined,
        elapsedMs: this.now() - this.started,
      });
    } catch (err) {
      this.logger?.debug('progress callback threw', { error: describeError(err) });
    }
  }

  private typeFinished(phase: TypeFinished['phase'], typeId: string): void {
    const counts = this.perType.get(typeId);
    if (!this.options.onTypeFinished || !counts || counts.resources === 0) return;
    try {
      this.options.onTypeFinished({
        phase,
        resourceTypeId: typeId,
        counts: { ...counts },
        elapsedMs: this.now() - (this.typeStarted.get(typeId) ?? this.now()),
      });
    } catch (err) {
      this.logger?.debug('type-finished callback threw', { error: describeError(err) });
    }
  }

  /**
   * The resources of the entitlements / grants phase, counted as the walker takes them: it lists a resource to its
   * last page before it takes the next, so taking the next (or the end) means the previous one is done, and a type
   * is finished with its last resource.
   */
  private async *counted(phase: 'entitlements' | 'grants', resources: AsyncIterable<Resource> | Iterable<Resource>) {
    this.processed.clear();
    this.worked.clear();
    this.typeStarted.clear();
    let previous: Resource | undefined;
    const done = (r: Resource) => {
      const typeId = r.id?.resourceType ?? '';
      const n = (this.processed.get(typeId) ?? 0) + 1;
      this.processed.set(typeId, n);
      if (!skipsListing(this.typeOf(typeId), r, phase)) this.worked.add(typeId);
      if (n === this.perType.get(typeId)?.resources && this.worked.has(typeId)) this.typeFinished(phase, typeId);
    };
    for await (const r of resources) {
      if (previous) done(previous);
      const typeId = r.id?.resourceType ?? '';
      if (!this.typeStarted.has(typeId)) this.typeStarted.set(typeId, this.now());
      previous = r;
      yield r;
    }
    if (previous) done(previous);
  }

  private fail(message: string, cause?: unknown): SyncError {
    return new SyncError(this.phase, message, { cause });
  }

  // -- phases ----------------------------------------------------------------------------------------------------

  private async syncResourceTypes(): Promise<void> {
    await this.walker.resourceTypes(async (list) => {
      const keep = list.filter((rt) => {
        if (rt.id) return true;
        this.dropped.resourceTypes++;
        this.logger?.warn('dropping resource type without an id', { displayName: rt.displayName });
        return false;
      });
      if (keep.length) await this.store.putResourceTypes(keep);
      this.emit();
    });
    for await (const rt of this.store.resourceTypes()) {
      this.types.set(rt.id, rt);
      this.counts(rt.id);
    }
    this.totals.resourceTypes = this.types.size;
  }

  /** Every stored type at top level, child-only types included; children depth-first (see walk.ts). */
  private async syncAllResources(): Promise<void> {
    const onPage = async (list: Resource[], typeId: string, parent: ResourceId | undefined) => {
      if (parent) {
        this.childTypes.add(typeId);
        if (!this.typeStarted.has(typeId)) this.typeStarted.set(typeId, this.now());
      }
      this.currentType = typeId;
      const fresh: Resource[] = [];
      const inPage = new Set<string>();
      for (const r of list) {
        if (!r.id?.resource || !r.id.resourceType) {
          this.dropped.resources++;
          this.logger?.warn('dropping resource without an id', {
            resourceTypeId: typeId,
            displayName: r.displayName,
          });
          continue;
        }
        const key = resourceKey(r.id);
        if (inPage.has(key) || (await this.store.hasResource(r.id.resourceType, r.id.resource))) {
          this.dropped.duplicateResources++;
          continue; // first copy wins
        }
        inPage.add(key);
        if (this.options.checkTraits ?? true) this.checkTraits(r);
        fresh.push(r);
      }
      if (fresh.length > 0) {
        await this.store.putResources(fresh);
        for (const r of fresh) {
          this.counts(r.id!.resourceType).resources++;
          this.totals.resources++;
        }
      }
      this.emit();
      return fresh;
    };
    // One top-level type at a time, so each is reported finished when its listing (children included) ends.
    for (const topLevel of [...this.types.keys()]) {
      if (!this.typeStarted.has(topLevel)) this.typeStarted.set(topLevel, this.now());
      await this.walker.resources([topLevel], onPage);
      if (!this.childTypes.has(topLevel)) this.typeFinished('resources', topLevel);
    }
    for (const typeId of this.childTypes) this.typeFinished('resources', typeId);
  }

  private checkTraits(r: Resource): void {
    const rt = this.types.get(r.id!.resourceType);
    if (!rt) {
      this.logger?.warn('resource has a resource type the connector did not list; traits not checked', {
        resource: resourceKey(r.id),
      });
      return;
    }
    for (const trait of rt.traits) {
      const schema = TRAIT_ANNOTATIONS.get(trait);
      if (!schema) continue;
      if (!hasAnnotation(r.annotations, schema)) {
        throw this.fail(`resource ${resourceKey(r.id)} was missing expected trait ${schema.name}`);
      }
    }
  }

  private readonly typeOf = (id: string) => this.types.get(id);

  private async syncEntitlements(): Promise<void> {
    const resources = this.counted('entitlements', this.store.resources());
    await this.walker.entitlements(resources, this.typeOf, async (list, r) => {
      const typeId = r.id?.resourceType ?? '';
      this.currentType = typeId;
      const keep = list.filter((e) => {
        if (e.id && e.resource?.id?.resource) return true;
        this.dropped.entitlements++;
        this.logger?.warn('dropping entitlement without an id or resource', { resource: resourceKey(r.id), id: e.id });
        return false;
      });
      if (keep.length > 0) {
        await this.store.putEntitlements(keep);
        this.counts(typeId).entitlements += keep.length;
        this.totals.entitlements += keep.length;
      }
      this.emit();
    });
  }

  private async syncGrants(): Promise<void> {
    await this.walker.grants(this.counted('grants', this.store.resources()), this.typeOf, async (list, r) => {
      const typeId = r.id?.resourceType ?? '';
      this.currentType = typeId;
      const keep: Grant[] = [];
      for (const g of list) {
        if (!g.id || !g.entitlement?.id || !g.principal?.id?.resource) {
          this.dropped.grants++;
          this.logger?.warn('dropping grant without an id, entitlement or principal', {
            resource: resourceKey(r.id),
            id: g.id,
          });
          continue;
        }
        const exp = findAnnotation(g.annotations, GrantExpandableSchema);
        if (exp && exp.entitlementIds.length > 0) {
          this.expandable.push({
            grantId: g.id,
            principal: g.principal.id,
            dst: g.entitlement,
            srcIds: [...exp.entitlementIds],
            shallow: exp.shallow,
            resourceTypeIds: [...exp.resourceTypeIds],
          });
        }
        keep.push(g);
      }
      if (keep.length > 0) {
        await this.store.putGrants(keep);
        this.counts(typeId).grants += keep.length;
        this.totals.grants += keep.length;
      }
      this.emit();
    });
  }

  // -- grant expansion (grant-expansion.ts) ----------------------------------------------------------------------

  private async expandGrants(): Promise<void> {
    const result = await expandGrants(this.store, this.expandable, {
      maxDepth: this.options.expansion?.maxDepth ?? 8,
      fixCycles: this.options.expansion?.fixCycles ?? process.env.BATON_DONT_FIX_CYCLES !== 'true',
      batchSize: Math.max(1, this.options.expansion?.batchSize ?? 1000),
      logger: this.logger,
      fail: (message) => this.fail(message),
    });
    this.totals.expandedGrants += result.created;
    this.totals.grants += result.created;
    this.updatedGrants += result.updated;
  }
}
