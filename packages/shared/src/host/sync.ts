/**
 * The host-side full sync (spec 3.1, 3.2, 3.3, 3.4): Validate → ResourceTypes → Resources (incl. child types,
 * depth-first) → Entitlements → Grants → GrantExpansion, every list paged until `next_page_token == ""`.
 *
 * It follows the v0.1.7/v0.2.45 state machine with a few HEAD traits (tolerant of sloppy connectors):
 *  - resource types without an id, resources without an id, entitlements without an id/resource, and grants without
 *    an id/entitlement/principal are dropped and counted instead of stored;
 *  - skip annotations (`SkipEntitlementsAndGrants`, `SkipEntitlements`, `SkipGrants`) are honoured on the resource
 *    type and on the resource itself;
 *  - retries on UNAVAILABLE / DEADLINE_EXCEEDED use HEAD's wait rules (linear 1 s steps capped at 60 s, or the
 *    RateLimitDescription status detail), but with a bounded number of attempts so a dead API cannot hang a sync;
 *  - `active_sync_id` is sent when the connector's Validate reports sdk_version >= 0.4.3 (HEAD rule);
 *  - `ConnectorService.Cleanup` is called after EndSync (HEAD); its errors are only logged.
 * Not done: `ListStaticEntitlements` (HEAD only; our connectors and the old SDKs return all entitlements from
 * `ListEntitlements`, and old connectors do not implement it), ETag replay (removed at HEAD), resumable checkpoints.
 *
 * Memory: resource types and the expandable-grant edges are kept in memory (both small); resources, entitlements
 * and grants are read back from the store through its paged iterables, never collected.
 */
import { timestampMs } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import type { Entitlement } from '../gen/c1/connector/v2/entitlement_pb.js';
import type { Grant } from '../gen/c1/connector/v2/grant_pb.js';
import { type Resource, type ResourceId, type ResourceType } from '../gen/c1/connector/v2/resource_pb.js';
import { GrantExpandableSchema } from '../gen/c1/connector/v2/annotation_grant_pb.js';
import {
  ChildResourceTypeSchema,
  SkipEntitlementsAndGrantsSchema,
  SkipEntitlementsSchema,
  SkipGrantsSchema,
} from '../gen/c1/connector/v2/annotation_resource_tree_pb.js';
import { TRAIT_ANNOTATIONS } from '../sdk/resources.js';
import type { Any } from '@bufbuild/protobuf/wkt';
import type { Logger } from '../log/logger.js';
import { findAnnotation, hasAnnotation, typeNameOf } from '../sdk/annotations.js';
import { resourceKey, shortToken } from '../util/text.js';
import { ConnectorExitedError, describeError, RpcError, type ConnectorClient, type ServerStats } from './client.js';
import { expandGrants, type ExpandableGrant } from './grant-expansion.js';

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

export interface SyncRetryOptions {
  /** Attempts per call, including the first (default 10). */
  maxAttempts?: number;
  /** Cap for one wait (default 60 s, like HEAD). */
  maxWaitMs?: number;
  /** Linear step: wait = attempts × step (default 1 s). */
  stepMs?: number;
}

export interface SyncOptions {
  logger?: Logger;
  onProgress?: (p: SyncProgress) => void;
  /**
   * A resource type is finished in a phase: its resources are listed (child types: when the resources phase ends),
   * or the entitlements / grants of all its resources are. Types without resources are not reported.
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

const RETRYABLE = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

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

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The page tokens of one listing. A returned token equal to the one sent (`stuck`), or one the listing already
 * returned (`cycle`), is a connector bug that would page forever.
 */
export class PageTokenGuard {
  private readonly seen = new Set<string>();
  private token = '';

  /** The token to send for the next page (`''` for the first). */
  get current(): string {
    return this.token;
  }

  /** Take the non-empty token a page returned: the problem if it is stuck or repeats, else it becomes `current`. */
  advance(next: string): 'stuck' | 'cycle' | undefined {
    if (next === this.token) return 'stuck';
    if (this.seen.has(next)) return 'cycle';
    this.seen.add(next);
    this.token = next;
    return undefined;
  }
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
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly logger?: Logger;
  private readonly maxAttempts: number;
  private readonly maxWaitMs: number;
  private readonly stepMs: number;

  private phase: SyncPhase = 'validate';
  private currentType?: string;
  private readonly started: number;
  private activeSyncId = '';

  private rpcCount = 0;
  private retries = 0;
  private rateLimitWaits = 0;
  private rateLimitWaitMs = 0;

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
    this.sleep = options.sleep ?? defaultSleep;
    this.logger = options.logger;
    this.maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 10);
    this.maxWaitMs = options.retry?.maxWaitMs ?? 60_000;
    this.stepMs = options.retry?.stepMs ?? 1_000;
    this.started = this.now();
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
      const resp = await this.rpc('Validate', () => this.client.validate({}));
      sdkVersion = resp.sdkVersion;
    });

    const started = await this.store.startSync();
    const syncId = typeof started === 'string' ? started : undefined;
    if (syncId && sendsActiveSyncId(sdkVersion)) this.activeSyncId = syncId;

    await timed('resourceTypes', 'resource-types', () => this.syncResourceTypes());
    await timed('resources', 'resources', () => this.syncAllResources());
    await timed('entitlements', 'entitlements', () => this.syncEntitlements());
    await timed('grants', 'grants', () => this.syncGrants());
    await timed('grantExpansion', 'grant-expansion', () => this.expandGrants());

    await this.store.endSync();
    if (this.options.cleanup ?? true) {
      try {
        await this.client.cleanup({ activeSyncId: this.activeSyncId });
        this.rpcCount++;
      } catch (err) {
        this.rpcCount++;
        const unimplemented = err instanceof RpcError && err.code === grpc.status.UNIMPLEMENTED;
        this.logger?.[unimplemented ? 'debug' : 'warn']('connector Cleanup failed', { error: describeError(err) });
      }
    }
    this.phase = 'done';
    this.currentType = undefined;
    durations.total = this.now() - this.started;
    this.emit();

    const stats = this.client.lastStats;
    return {
      syncId,
      sdkVersion,
      ...this.totals,
      updatedGrants: this.updatedGrants,
      dropped: { ...this.dropped },
      perType: this.perTypeSnapshot(),
      durationsMs: durations,
      rpcCount: this.rpcCount,
      retries: this.retries,
      rateLimitWaits: this.rateLimitWaits,
      rateLimitWaitMs: this.rateLimitWaitMs,
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
    try {
      this.options.onProgress({
        phase: this.phase,
        resourceTypeId: this.currentType,
        perType: this.perTypeSnapshot(),
        totals: { ...this.totals },
        rpcCount: this.rpcCount,
        retries: this.retries,
        rateLimitWaits: this.rateLimitWaits,
        rateLimitWaitMs: this.rateLimitWaitMs,
        serverStats: stats ? { ...stats } : undefined,
        elapsedMs: this.now() - this.started,
      });
    } catch (err) {
      this.logger?.debug('progress callback threw', { error: describeError(err) });
    }
  }

  // -- RPC with retries ---------------------------------------------------------------------------------------

  private fail(message: string, cause?: unknown): SyncError {
    return new SyncError(this.phase, message, { cause });
  }

  /** HEAD's wait rule for one retry (spec 3.2), in ms. */
  private retryWaitMs(err: RpcError, attempts: number): { waitMs: number; fromRateLimit: boolean } {
    const rl = err.rateLimit;
    if (rl?.resetAt) {
      const now = this.now();
      const resetMs = timestampMs(rl.resetAt);
      if (resetMs > now) {
        const untilReset = resetMs - now;
        const waitMs = rl.remaining <= 0n ? untilReset : Math.ceil(untilReset / 1000 / Number(rl.remaining)) * 1000;
        return { waitMs: Math.min(waitMs, this.maxWaitMs), fromRateLimit: true };
      }
    }
    return { waitMs: Math.min(attempts * this.stepMs, this.maxWaitMs), fromRateLimit: false };
  }

  private async rpc<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let attempts = 0;
    for (;;) {
      this.rpcCount++;
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ConnectorExitedError) throw this.fail(`${what}: ${err.message}`, err);
        if (!(err instanceof RpcError) || !RETRYABLE.has(err.code)) {
          throw this.fail(`${what} failed: ${describeError(err)}`, err);
        }
        attempts++;
        if (attempts >= this.maxAttempts) {
          throw this.fail(`${what} failed after ${attempts} attempts: ${describeError(err)}`, err);
        }
        const { waitMs, fromRateLimit } = this.retryWaitMs(err, attempts);
        this.retries++;
        if (fromRateLimit) {
          this.rateLimitWaits++;
          this.rateLimitWaitMs += waitMs;
        }
        this.logger?.warn('retrying connector call', {
          call: what,
          attempt: attempts,
          waitMs,
          error: describeError(err),
        });
        this.emit();
        await this.sleep(waitMs);
      }
    }
  }

  /**
   * Page through one listing until `next_page_token == ""`. A token equal to the one sent, or one already used in
   * this listing, is a connector bug that would loop forever; both fail the sync.
   */
  private async listAll<R extends { nextPageToken: string }>(
    what: string,
    call: (pageToken: string) => Promise<R>,
    onPage: (resp: R) => Promise<void>,
  ): Promise<void> {
    const tokens = new PageTokenGuard();
    for (;;) {
      const token = tokens.current;
      const resp = await this.rpc(token ? `${what} (page token ${shortToken(token)})` : what, () => call(token));
      await onPage(resp);
      this.emit();
      const next = resp.nextPageToken;
      if (next === '') return;
      const problem = tokens.advance(next);
      if (problem === 'stuck') {
        throw this.fail(
          `${what}: stuck page token: the connector returned the page token it was sent (${shortToken(next)})`,
        );
      }
      if (problem === 'cycle') {
        throw this.fail(
          `${what}: page token cycle: the connector returned page token ${shortToken(next)} a second time`,
        );
      }
    }
  }

  // -- phases ----------------------------------------------------------------------------------------------------

  private async syncResourceTypes(): Promise<void> {
    await this.listAll(
      'ListResourceTypes',
      (pageToken) => this.client.listResourceTypes({ pageToken, activeSyncId: this.activeSyncId }),
      async (resp) => {
        const keep = resp.list.filter((rt) => {
          if (rt.id) return true;
          this.dropped.resourceTypes++;
          this.logger?.warn('dropping resource type without an id', { displayName: rt.displayName });
          return false;
        });
        if (keep.length) await this.store.putResourceTypes(keep);
      },
    );
    for await (const rt of this.store.resourceTypes()) {
      this.types.set(rt.id, rt);
      this.counts(rt.id);
    }
    this.totals.resourceTypes = this.types.size;
  }

  private async syncAllResources(): Promise<void> {
    // Every stored type gets a top-level call, child-only types included (spec 3.1 step 5).
    for (const typeId of [...this.types.keys()]) {
      this.typeStarted.set(typeId, this.typeStarted.get(typeId) ?? this.now());
      await this.syncResources(typeId, undefined);
      if (!this.childTypes.has(typeId)) this.typeFinished('resources', typeId);
    }
    for (const typeId of this.childTypes) this.typeFinished('resources', typeId);
    this.typeStarted.clear();
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

  /** Entitlements / grants phases: one more resource of its type done; the type is finished with its last one. */
  private resourceDone(phase: 'entitlements' | 'grants', typeId: string, skipped: boolean): void {
    const done = (this.processed.get(typeId) ?? 0) + 1;
    this.processed.set(typeId, done);
    if (!skipped) this.worked.add(typeId);
    if (done === this.perType.get(typeId)?.resources && this.worked.has(typeId)) this.typeFinished(phase, typeId);
  }

  private startPhaseCounts(): void {
    this.processed.clear();
    this.worked.clear();
    this.typeStarted.clear();
  }

  /** List one type (optionally under a parent), then recurse into child types before the next page (DFS). */
  private async syncResources(typeId: string, parent: ResourceId | undefined): Promise<void> {
    const what = parent ? `ListResources(${typeId}, parent ${resourceKey(parent)})` : `ListResources(${typeId})`;
    await this.listAll(
      what,
      (pageToken) =>
        this.client.listResources({
          resourceTypeId: typeId,
          parentResourceId: parent,
          pageToken,
          activeSyncId: this.activeSyncId,
        }),
      async (resp) => {
        this.currentType = typeId;
        const fresh: Resource[] = [];
        const inPage = new Set<string>();
        for (const r of resp.list) {
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
          this.checkTraits(r);
          fresh.push(r);
        }
        if (fresh.length === 0) return;
        await this.store.putResources(fresh);
        for (const r of fresh) {
          this.counts(r.id!.resourceType).resources++;
          this.totals.resources++;
        }
        for (const r of fresh) {
          for (const ann of r.annotations) {
            if (typeNameOf(ann) !== ChildResourceTypeSchema.typeName) continue;
            const child = decodeChildType(ann);
            if (!child) continue;
            this.childTypes.add(child);
            this.typeStarted.set(child, this.typeStarted.get(child) ?? this.now());
            await this.syncResources(child, r.id);
          }
        }
        this.currentType = typeId;
      },
    );
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

  private skips(r: Resource, which: 'entitlements' | 'grants'): boolean {
    const rt = this.types.get(r.id?.resourceType ?? '');
    const specific = which === 'entitlements' ? SkipEntitlementsSchema : SkipGrantsSchema;
    const on = (list: Any[] | undefined) =>
      hasAnnotation(list, SkipEntitlementsAndGrantsSchema) || hasAnnotation(list, specific);
    return on(rt?.annotations) || on(r.annotations);
  }

  private async syncEntitlements(): Promise<void> {
    this.startPhaseCounts();
    for await (const r of this.store.resources()) {
      const typeId = r.id?.resourceType ?? '';
      this.typeStarted.set(typeId, this.typeStarted.get(typeId) ?? this.now());
      if (this.skips(r, 'entitlements')) {
        this.resourceDone('entitlements', typeId, true);
        continue;
      }
      this.currentType = typeId;
      await this.listAll(
        `ListEntitlements(${resourceKey(r.id)})`,
        (pageToken) => this.client.listEntitlements({ resource: r, pageToken, activeSyncId: this.activeSyncId }),
        async (resp) => {
          const keep = resp.list.filter((e) => {
            if (e.id && e.resource?.id?.resource) return true;
            this.dropped.entitlements++;
            this.logger?.warn('dropping entitlement without an id or resource', {
              resource: resourceKey(r.id),
              id: e.id,
            });
            return false;
          });
          if (keep.length === 0) return;
          await this.store.putEntitlements(keep);
          this.counts(typeId).entitlements += keep.length;
          this.totals.entitlements += keep.length;
        },
      );
      this.resourceDone('entitlements', typeId, false);
    }
  }

  private async syncGrants(): Promise<void> {
    this.startPhaseCounts();
    for await (const r of this.store.resources()) {
      const typeId = r.id?.resourceType ?? '';
      this.typeStarted.set(typeId, this.typeStarted.get(typeId) ?? this.now());
      if (this.skips(r, 'grants')) {
        this.resourceDone('grants', typeId, true);
        continue;
      }
      this.currentType = typeId;
      await this.listAll(
        `ListGrants(${resourceKey(r.id)})`,
        (pageToken) => this.client.listGrants({ resource: r, pageToken, activeSyncId: this.activeSyncId }),
        async (resp) => {
          const keep: Grant[] = [];
          for (const g of resp.list) {
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
          if (keep.length === 0) return;
          await this.store.putGrants(keep);
          this.counts(typeId).grants += keep.length;
          this.totals.grants += keep.length;
        },
      );
      this.resourceDone('grants', typeId, false);
    }
  }

  // -- grant expansion (spec 3.4) --------------------------------------------------------------------------------

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

function decodeChildType(ann: Any): string | undefined {
  try {
    const child = findAnnotation([ann], ChildResourceTypeSchema);
    return child?.resourceTypeId || undefined;
  } catch {
    return undefined;
  }
}
