/**
 * The host-side full sync: Validate → ResourceTypes → Resources (child types depth-first) → Entitlements → Grants →
 * grant expansion, with the calls of walk.ts (the same walker the conformance kit uses), stored as it goes
 * (docs/testing.md, "How a host walks a connector").
 *
 * Checkpoints and restarts (docs/sync.md): like the Go syncer, the engine runs a stack of actions (list the resource
 * types, the resources of a type under a parent, the entitlements or grants of a resource, each with its page token)
 * and saves that stack as `sync_token` in the same store transaction as the rows of each page (checkpoint.ts). A
 * sync resumed from a checkpoint (`SyncOptions.resume`) continues exactly after the last stored page. When the
 * connector process exits mid-sync and `SyncOptions.restart` is given, the engine starts a new one (real handshake,
 * Validate again) and continues from the last checkpoint: a bounded number of restarts in a row without progress,
 * with a growing wait between them, then the sync fails naming the last exit.
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
 * entitlement from `ListEntitlements`), ETag replay (removed from Go hosts).
 *
 * Memory: resource types and the expandable grants are kept in memory (both small); resources, entitlements and
 * grants are read back from the store a batch or a page at a time, never collected.
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
import { ConnectorExitedError, describeError, RpcError, type ConnectorClient, type ServerStats } from './client.js';
import { expandGrants, type ExpandableGrant } from './grant-expansion.js';
import {
  childResourceTypeIds,
  ConnectorWalker,
  PageTokenGuard,
  skipsListing,
  type WalkPage,
  type WalkRetryOptions,
} from './walk.js';
import { initialCheckpoint, serializeCheckpoint, type SyncAction, type SyncCheckpoint } from './checkpoint.js';

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
  getResource(resourceTypeId: string, resourceId: string): MaybePromise<Resource | undefined | null>;
  getEntitlement(id: string): MaybePromise<Entitlement | undefined | null>;
  /** Paged iteration over the current sync's rows. */
  resourceTypes(): Iter<ResourceType>;
  grants(filter: { entitlementId?: string; principal?: ResourceId }): Iter<Grant>;
  /**
   * The current sync's resources in storage order, a page from `pageToken` (a store cursor, `''` first); the
   * entitlements and grants phases walk it one resource at a time and checkpoint the cursor.
   */
  listResources(
    filter: Record<string, never>,
    options: { pageToken?: string; pageSize?: number },
  ): MaybePromise<{ list: Resource[]; nextPageToken: string }>;
  endSync(): MaybePromise<unknown>;
  /**
   * Resources from `cursor` on, each with the cursor after it (one query for many; without it the engine reads
   * `listResources` one resource at a time).
   */
  resourcesFrom?(cursor: string, limit: number): MaybePromise<Array<{ resource: Resource; next: string }>>;
  /** Saves the checkpoint of the current sync (`sync_token`); stores without it cannot resume. */
  checkpoint?(syncToken: string): MaybePromise<unknown>;
  /** Runs `fn` as one transaction, so a page's rows and its checkpoint are stored together or not at all. */
  transaction?<T>(fn: () => Promise<T>): Promise<T>;
  /** Makes an unfinished sync the current one again (required by `SyncOptions.resume`). */
  continueSync?(syncId: string): MaybePromise<unknown>;
  /** Per resource type: resources, entitlements and grants stored (restores a resumed sync's counters). */
  countsByResourceType?(): MaybePromise<Record<string, TypeCounts>>;
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
  /**
   * Upstream API requests the connector made, from its latest `baton-ts-stats` (undefined if not reported); with
   * restarts, the sum over the connector processes (the requests a killed process made after its last answer are
   * not known).
   */
  apiRequests?: number;
  serverStats?: ServerStats;
  /** The sync continued an unfinished one from its checkpoint (`SyncOptions.resume`). */
  resumed: boolean;
  /** Connector processes started again after one exited mid-sync. */
  restarts: number;
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
  /** Continue an unfinished sync of the store from its checkpoint instead of starting a new one. */
  resume?: { syncId: string; checkpoint: SyncCheckpoint };
  /** Written into every checkpoint: who may resume it (the CLI puts the connector and a config fingerprint). */
  resumeKey?: string;
  /** Start the connector again when its process exits mid-sync (without it, the exit fails the sync). */
  restart?: ConnectorRestart;
}

/** How the engine restarts a connector whose process exited mid-sync (docs/sync.md, "Restarts"). */
export interface ConnectorRestart {
  /** Starts a new connector process through the handshake and returns its client. */
  start(): Promise<ConnectorClient>;
  /** Restarts allowed in a row without a page stored in between (default 3). */
  maxInARow?: number;
  /** Wait before restart number `n` in a row (1-based); default 250 ms × 2^(n−1), at most 8 s. */
  backoffMs?: (n: number) => number;
}

export const DEFAULT_MAX_RESTARTS_IN_A_ROW = 3;

/** 250 ms, 500 ms, 1 s, 2 s, 4 s, then 8 s (the default allows 3 in a row: 250 ms, 500 ms, 1 s). */
export function defaultRestartBackoffMs(n: number): number {
  return Math.min(250 * 2 ** Math.max(0, n - 1), 8_000);
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

/**
 * Run a full sync from `client` into `store` (or continue one, see `SyncOptions.resume`). Throws `SyncError` on
 * failure; the store is then left mid-sync with its last checkpoint, ready to be resumed.
 */
export async function runSync(
  client: ConnectorClient,
  store: SyncStoreLike,
  options: SyncOptions = {},
): Promise<SyncSummary> {
  return new SyncRun(client, store, options).run();
}

type ListOp = 'list-entitlements' | 'list-grants';

/** Stored resources read per query by the entitlements and grants walks. */
const RESOURCE_BATCH = 256;

const PHASE_OF: Record<SyncAction['op'], SyncPhase> = {
  init: 'resource-types',
  'list-resource-types': 'resource-types',
  'list-resources': 'resources',
  'list-entitlements': 'entitlements',
  'list-grants': 'grants',
  'grant-expansion': 'grant-expansion',
};

const DURATION_KEY: Record<SyncPhase, keyof SyncSummary['durationsMs'] | undefined> = {
  validate: 'validate',
  'resource-types': 'resourceTypes',
  resources: 'resources',
  entitlements: 'entitlements',
  grants: 'grants',
  'grant-expansion': 'grantExpansion',
  done: undefined,
};

const cloneCheckpoint = (c: SyncCheckpoint): SyncCheckpoint => ({
  ...c,
  actions: c.actions.map((a) => ({ ...a })),
});

class SyncRun {
  private readonly now: () => number;
  private readonly logger?: Logger;
  private readonly walker: ConnectorWalker;
  private client: ConnectorClient;

  private phase: SyncPhase = 'validate';
  private phaseStarted: number;
  private currentType?: string;
  private readonly started: number;
  private readonly durations: SyncSummary['durationsMs'] = {
    validate: 0,
    resourceTypes: 0,
    resources: 0,
    entitlements: 0,
    grants: 0,
    grantExpansion: 0,
    total: 0,
  };

  /** The live action stack; `committed` is the copy saved with the last stored page. */
  private state: SyncCheckpoint;
  private committed: SyncCheckpoint;
  /** Page-token guards of the listings in progress, by action (rebuilt from the token after a restore). */
  private guards = new WeakMap<SyncAction, PageTokenGuard>();
  /** Stored resources read ahead for the entitlements and grants walks, by the cursor each one starts at. */
  private resourceBatch?: { items: Array<{ resource: Resource; next: string }>; cursors: Map<string, number> };
  /** The resource a per-resource action lists, when the walk just read it (else it is read from the store). */
  private pendingResource?: { action: SyncAction; resource: Resource };
  private readonly resumed: boolean;
  private ended = false;

  private restarts = 0;
  private restartsInARow = 0;
  private needsValidate = true;
  private sdkVersion = '';
  /** API requests of the connector processes that exited (their last reported count). */
  private apiRequestsBefore = 0;

  private readonly perType = new Map<string, TypeCounts>();
  private readonly types = new Map<string, ResourceType>();
  private readonly totals = { resourceTypes: 0, resources: 0, entitlements: 0, grants: 0, expandedGrants: 0 };
  private updatedGrants = 0;
  private readonly dropped = { resourceTypes: 0, resources: 0, entitlements: 0, grants: 0, duplicateResources: 0 };
  /** Expandable grants seen in the grants phase, by grant id (a resumed sync reads them back from the store). */
  private readonly expandable = new Map<string, ExpandableGrant>();
  /** For onTypeFinished: child types (reported when the resources phase ends), per-type work done and start times. */
  private readonly childTypes = new Set<string>();
  private readonly processed = new Map<string, number>();
  /** Types with at least one resource not skipped in the current phase (all-skipped types are not reported). */
  private readonly worked = new Set<string>();
  private readonly typeStarted = new Map<string, number>();
  /** The top-level resource type being listed and its depth in the stack (finished when the stack drops below). */
  private topLevel?: { typeId: string; depth: number };

  constructor(
    client: ConnectorClient,
    private readonly store: SyncStoreLike,
    private readonly options: SyncOptions,
  ) {
    this.client = client;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.started = this.now();
    this.phaseStarted = this.started;
    this.resumed = options.resume !== undefined;
    this.state = options.resume
      ? cloneCheckpoint({ ...options.resume.checkpoint, resumeKey: options.resumeKey ?? '' })
      : initialCheckpoint(options.resumeKey ?? '');
    this.committed = cloneCheckpoint(this.state);
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
    this.emit();
    await this.withRestarts(async () => {}); // Validate (and restarts if the connector dies meanwhile)

    let syncId: string | undefined;
    if (this.options.resume) {
      if (!this.store.continueSync) throw this.fail('this store cannot resume a sync');
      syncId = this.options.resume.syncId;
      await this.store.continueSync(syncId);
      await this.restoreCounters();
      this.logger?.info('resuming an unfinished sync from its checkpoint', {
        syncId,
        pendingActions: this.state.actions.length,
      });
    } else {
      const started = await this.store.startSync();
      syncId = typeof started === 'string' ? started : undefined;
    }
    if (syncId && sendsActiveSyncId(this.sdkVersion)) this.walker.activeSyncId = syncId;
    await this.loadTypes();

    while (this.state.actions.length > 0) await this.withRestarts(() => this.step());
    this.enterPhase('done');
    if (!this.ended) await this.atomically(() => this.store.endSync());

    if (this.options.cleanup ?? true) {
      this.walker.rpcCount++;
      try {
        await this.client.cleanup({ activeSyncId: this.walker.activeSyncId });
      } catch (err) {
        const unimplemented = err instanceof RpcError && err.code === grpc.status.UNIMPLEMENTED;
        this.logger?.[unimplemented ? 'debug' : 'warn']('connector Cleanup failed', { error: describeError(err) });
      }
    }
    this.currentType = undefined;
    this.durations.total = this.now() - this.started;
    this.emit();

    const stats = this.stats();
    const w = this.walker;
    return {
      syncId,
      sdkVersion: this.sdkVersion,
      ...this.totals,
      updatedGrants: this.updatedGrants,
      dropped: { ...this.dropped },
      perType: this.perTypeSnapshot(),
      durationsMs: { ...this.durations },
      rpcCount: w.rpcCount,
      retries: w.retries,
      rateLimitWaits: w.rateLimitWaits,
      rateLimitWaitMs: w.rateLimitWaitMs,
      apiRequests: stats?.apiRequests,
      serverStats: stats,
      resumed: this.resumed,
      restarts: this.restarts,
    };
  }

  // -- restarts --------------------------------------------------------------------------------------------------

  /**
   * Runs `fn` (after Validate, when the connector process is new); when the connector process exits meanwhile and
   * restarts are allowed, starts a new one, goes back to the last checkpoint and runs `fn` again.
   */
  private async withRestarts(fn: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        if (this.needsValidate) {
          await this.validate();
          this.needsValidate = false;
        }
        await fn();
        return;
      } catch (err) {
        const exit = exitOf(err);
        const restart = this.options.restart;
        if (!exit || !restart) throw err;
        await this.restart(restart, exit, err);
      }
    }
  }

  /** Validate, first thing and again on every restarted connector process (a restart leaves the phase as it is). */
  private async validate(): Promise<void> {
    const resp = await this.walker.call('Validate', (opts) => this.client.validate({}, opts));
    this.sdkVersion = resp.sdkVersion;
  }

  private async restart(restart: ConnectorRestart, exit: ConnectorExitedError, err: unknown): Promise<void> {
    const max = restart.maxInARow ?? DEFAULT_MAX_RESTARTS_IN_A_ROW;
    this.restartsInARow++;
    if (this.restartsInARow > max) {
      const message = err instanceof Error ? err.message : String(err);
      throw this.fail(
        `the connector process exited ${this.restartsInARow} times in a row without a page stored in between; ` +
          `giving up after ${max} restarts: ${message}`,
        exit,
      );
    }
    const waitMs = (restart.backoffMs ?? defaultRestartBackoffMs)(this.restartsInARow);
    this.logger?.warn('connector process exited mid-sync; restarting it and resuming from the last checkpoint', {
      pid: exit.pid,
      exitCode: exit.exitCode,
      signal: exit.signal,
      restart: this.restartsInARow,
      of: max,
      waitMs,
    });
    await this.walker.pause(waitMs);
    if (this.options.signal?.aborted)
      throw this.fail('stopped while restarting the connector', this.options.signal.reason);
    this.apiRequestsBefore += this.client.lastStats?.apiRequests ?? 0;
    try {
      this.client = await restart.start();
    } catch (startErr) {
      throw this.fail(`cannot restart the connector: ${describeError(startErr)}`, startErr);
    }
    this.walker.useClient(this.client);
    this.restarts++;
    this.needsValidate = true;
    // Back to the last checkpoint: whatever ran after it (no stored page) runs again.
    this.state = cloneCheckpoint(this.committed);
    this.guards = new WeakMap();
    this.pendingResource = undefined;
  }

  // -- checkpoints -----------------------------------------------------------------------------------------------

  private async atomically(fn: () => Promise<unknown> | unknown): Promise<void> {
    if (this.store.transaction) await this.store.transaction(async () => void (await fn()));
    else await fn();
  }

  /** Stores a page's rows and the checkpoint of the (already advanced) action stack, together. */
  private async commit(write: () => MaybePromise<unknown>): Promise<void> {
    const token = this.store.checkpoint ? serializeCheckpoint(this.state) : '';
    await this.atomically(async () => {
      await write();
      if (this.store.checkpoint) await this.store.checkpoint(token);
    });
    this.committed = cloneCheckpoint(this.state);
    this.restartsInARow = 0;
  }

  private top(): SyncAction {
    return this.state.actions[this.state.actions.length - 1];
  }

  private guardOf(action: SyncAction): PageTokenGuard {
    let g = this.guards.get(action);
    if (!g) {
      g = new PageTokenGuard(action.pageToken ?? '');
      this.guards.set(action, g);
    }
    return g;
  }

  /** After a page of the top action: the next page token, or the action is done (popped). */
  private advance(action: SyncAction, next: string): void {
    if (next === '') {
      this.state.actions.pop();
      this.guards.delete(action);
    } else {
      action.pageToken = next;
    }
  }

  // -- progress ------------------------------------------------------------------------------------------------

  private enterPhase(phase: SyncPhase): void {
    if (phase === this.phase) return;
    const now = this.now();
    const key = DURATION_KEY[this.phase];
    if (key) this.durations[key] += now - this.phaseStarted;
    const leaving = this.phase;
    this.phase = phase;
    this.phaseStarted = now;
    this.currentType = undefined;
    if (leaving === 'resources') this.resourcesPhaseEnded();
    if (phase === 'entitlements' || phase === 'grants') {
      this.processed.clear();
      this.worked.clear();
      this.typeStarted.clear();
    }
    this.emit();
  }

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

  /** The latest connector stats, API requests summed over restarted processes. */
  private stats(): ServerStats | undefined {
    const last = this.client.lastStats;
    if (!last && this.apiRequestsBefore === 0) return undefined;
    const base = last ?? { apiRequests: 0, rateLimitWaits: 0, rateLimitWaitMs: 0, retries: 0 };
    return { ...base, apiRequests: base.apiRequests + this.apiRequestsBefore };
  }

  private emit(): void {
    if (!this.options.onProgress) return;
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
        serverStats: this.stats(),
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

  /** A top-level type is finished when its listing and every child listing under it are (the stack drops below). */
  private topLevelProgress(): void {
    const top = this.topLevel;
    if (!top || this.state.actions.length >= top.depth) return;
    this.topLevel = undefined;
    if (!this.childTypes.has(top.typeId)) this.typeFinished('resources', top.typeId);
  }

  private resourcesPhaseEnded(): void {
    if (this.topLevel && !this.childTypes.has(this.topLevel.typeId))
      this.typeFinished('resources', this.topLevel.typeId);
    this.topLevel = undefined;
    for (const typeId of this.childTypes) this.typeFinished('resources', typeId);
  }

  /**
   * A resource of the entitlements / grants phase is done (listed to its last page, or skipped): a type is
   * finished with its last resource.
   */
  private resourceDone(phase: 'entitlements' | 'grants', r: Resource, skipped: boolean): void {
    const typeId = r.id?.resourceType ?? '';
    const n = (this.processed.get(typeId) ?? 0) + 1;
    this.processed.set(typeId, n);
    if (!skipped) this.worked.add(typeId);
    if (n === this.perType.get(typeId)?.resources && this.worked.has(typeId)) this.typeFinished(phase, typeId);
  }

  private fail(message: string, cause?: unknown): SyncError {
    return new SyncError(this.phase, message, { cause });
  }

  // -- resuming --------------------------------------------------------------------------------------------------

  private async loadTypes(): Promise<void> {
    this.types.clear();
    for await (const rt of this.store.resourceTypes()) {
      this.types.set(rt.id, rt);
      this.counts(rt.id);
    }
    this.totals.resourceTypes = this.types.size;
  }

  /** A resumed sync counts what the store already holds. */
  private async restoreCounters(): Promise<void> {
    const byType = (await this.store.countsByResourceType?.()) ?? {};
    for (const [typeId, c] of Object.entries(byType)) {
      const mine = this.counts(typeId);
      mine.resources = c.resources;
      mine.entitlements = c.entitlements;
      mine.grants = c.grants;
      this.totals.resources += c.resources;
      this.totals.entitlements += c.entitlements;
      this.totals.grants += c.grants;
    }
  }

  // -- the steps -------------------------------------------------------------------------------------------------

  /** Runs the action on top of the stack once: one page, or one move of the walk. */
  private async step(): Promise<void> {
    const action = this.top();
    this.enterPhase(PHASE_OF[action.op]);
    this.topLevelProgress();
    switch (action.op) {
      case 'init':
        // Go's order: pushed bottom first, so resource types run first and grant expansion last.
        this.state.actions.pop();
        this.state.actions.push(
          { op: 'grant-expansion' },
          { op: 'list-grants' },
          { op: 'list-entitlements' },
          { op: 'list-resources' },
          { op: 'list-resource-types' },
        );
        return;
      case 'list-resource-types':
        return this.resourceTypesPage(action);
      case 'list-resources':
        return action.resourceTypeId ? this.resourcesPage(action) : this.everyType();
      case 'list-entitlements':
      case 'list-grants':
        return action.resourceTypeId ? this.perResourcePage(action, action.op) : this.nextResource(action, action.op);
      case 'grant-expansion':
        return this.expandGrants();
    }
  }

  private async resourceTypesPage(action: SyncAction): Promise<void> {
    const tokens = this.guardOf(action);
    const page = await this.walker.resourceTypesPage(tokens);
    const keep = page.list.filter((rt) => {
      if (rt.id) return true;
      this.dropped.resourceTypes++;
      this.logger?.warn('dropping resource type without an id', { displayName: rt.displayName });
      return false;
    });
    await this.storePage(action, page, () => (keep.length ? this.store.putResourceTypes(keep) : undefined));
    if (page.nextPageToken === '') await this.loadTypes();
    this.emit();
  }

  /**
   * Stores a page and the checkpoint after it. A page whose token is stuck or cycles is stored with the previous
   * checkpoint (so a resume asks for it again) and the sync fails.
   */
  private async storePage(
    action: SyncAction,
    page: { label: string; nextPageToken: string },
    write: () => MaybePromise<unknown>,
    afterAdvance?: () => void,
  ): Promise<void> {
    const problem = this.walker.pagingProblem(page.label, this.guardOf(action), page.nextPageToken);
    if (problem) {
      await this.atomically(write);
      throw problem;
    }
    const pageToken = action.pageToken ?? '';
    this.advance(action, page.nextPageToken);
    afterAdvance?.();
    await this.commit(write);
    // After the commit: a page logged here is stored, with the checkpoint after it.
    this.logger?.debug('page stored', { listing: page.label, pageToken });
  }

  /** `list-resources` without a type: one listing per stored type, at top level, in storage order. */
  private everyType(): Promise<void> {
    this.state.actions.pop();
    const types = [...this.types.keys()];
    for (let i = types.length - 1; i >= 0; i--)
      this.state.actions.push({ op: 'list-resources', resourceTypeId: types[i] });
    return Promise.resolve();
  }

  private async resourcesPage(action: SyncAction): Promise<void> {
    const typeId = action.resourceTypeId!;
    const parent: ResourceId | undefined = action.parentResourceTypeId
      ? ({ resourceType: action.parentResourceTypeId, resource: action.parentResourceId ?? '' } as ResourceId)
      : undefined;
    if (parent) {
      this.childTypes.add(typeId);
    } else if (this.topLevel?.typeId !== typeId) {
      this.topLevel = { typeId, depth: this.state.actions.length };
    }
    if (!this.typeStarted.has(typeId)) this.typeStarted.set(typeId, this.now());
    this.currentType = typeId;

    const page = await this.walker.resourcesPage(typeId, parent, this.guardOf(action));
    const fresh: Resource[] = [];
    const inPage = new Set<string>();
    for (const r of page.list) {
      if (!r.id?.resource || !r.id.resourceType) {
        this.dropped.resources++;
        this.logger?.warn('dropping resource without an id', { resourceTypeId: typeId, displayName: r.displayName });
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
    // Children of this page are listed before its next page (depth first): their actions go above this one, the
    // first resource's first child type on top.
    const children: SyncAction[] = [];
    for (const r of fresh) {
      for (const child of childResourceTypeIds(r)) {
        children.push({
          op: 'list-resources',
          resourceTypeId: child,
          parentResourceTypeId: r.id!.resourceType,
          parentResourceId: r.id!.resource,
        });
      }
    }
    await this.storePage(
      action,
      page,
      () => (fresh.length ? this.store.putResources(fresh) : undefined),
      () => {
        for (let i = children.length - 1; i >= 0; i--) this.state.actions.push(children[i]);
      },
    );
    for (const r of fresh) {
      this.counts(r.id!.resourceType).resources++;
      this.totals.resources++;
    }
    this.emit();
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

  /**
   * `list-entitlements` / `list-grants` without a resource: take the next stored resource (its cursor is the
   * action's page token) and put an action for its listing on top, unless skip annotations exclude it.
   */
  private async nextResource(action: SyncAction, op: ListOp): Promise<void> {
    const phase = op === 'list-entitlements' ? 'entitlements' : 'grants';
    const next = await this.storedResourceAt(action.pageToken ?? '');
    if (!next) {
      this.state.actions.pop();
      return;
    }
    if (next.next === '') this.state.actions.pop();
    else action.pageToken = next.next;
    const r = next.resource;
    if (!r.id) return;
    const typeId = r.id.resourceType;
    if (!this.typeStarted.has(typeId)) this.typeStarted.set(typeId, this.now());
    if (skipsListing(this.types.get(typeId), r, phase)) {
      this.resourceDone(phase, r, true);
      return;
    }
    const listing: SyncAction = { op, resourceTypeId: typeId, resourceId: r.id.resource };
    this.state.actions.push(listing);
    this.pendingResource = { action: listing, resource: r };
  }

  /**
   * The stored resource at `cursor` and the cursor after it (`''`: it is the last), read a batch at a time;
   * undefined after the last.
   */
  private async storedResourceAt(cursor: string): Promise<{ resource: Resource; next: string } | undefined> {
    const batch = this.resourceBatch;
    if (batch && batch.cursors.has(cursor)) return batch.items[batch.cursors.get(cursor)!];
    if (this.store.resourcesFrom) {
      const items = await this.store.resourcesFrom(cursor, RESOURCE_BATCH);
      const cursors = new Map<string, number>();
      items.forEach((item, i) => cursors.set(i === 0 ? cursor : items[i - 1].next, i));
      this.resourceBatch = { items, cursors };
      return items[0];
    }
    const page = await this.store.listResources({}, { pageToken: cursor, pageSize: 1 });
    const resource = page.list[0];
    return resource ? { resource, next: page.nextPageToken } : undefined;
  }

  private async resourceOf(action: SyncAction): Promise<Resource> {
    if (this.pendingResource?.action === action) return this.pendingResource.resource;
    const r = await this.store.getResource(action.resourceTypeId!, action.resourceId ?? '');
    if (!r) throw this.fail(`resource ${action.resourceTypeId}:${action.resourceId} of the checkpoint is not stored`);
    this.pendingResource = { action, resource: r };
    return r;
  }

  private async perResourcePage(action: SyncAction, op: ListOp): Promise<void> {
    const r = await this.resourceOf(action);
    const typeId = r.id?.resourceType ?? '';
    this.currentType = typeId;
    if (op === 'list-entitlements') {
      const page = await this.walker.entitlementsPage(r, this.guardOf(action));
      const keep = page.list.filter((e) => {
        if (e.id && e.resource?.id?.resource) return true;
        this.dropped.entitlements++;
        this.logger?.warn('dropping entitlement without an id or resource', { resource: resourceKey(r.id), id: e.id });
        return false;
      });
      await this.storePage(action, page, () => (keep.length ? this.store.putEntitlements(keep) : undefined));
      this.counts(typeId).entitlements += keep.length;
      this.totals.entitlements += keep.length;
      if (page.nextPageToken === '') this.resourceDone('entitlements', r, false);
    } else {
      const page = await this.walker.grantsPage(r, this.guardOf(action));
      const keep: Grant[] = [];
      const expandable: ExpandableGrant[] = [];
      for (const g of page.list) {
        if (!g.id || !g.entitlement?.id || !g.principal?.id?.resource) {
          this.dropped.grants++;
          this.logger?.warn('dropping grant without an id, entitlement or principal', {
            resource: resourceKey(r.id),
            id: g.id,
          });
          continue;
        }
        const x = expandableOf(g);
        if (x) expandable.push(x);
        keep.push(g);
      }
      await this.storePage(
        action,
        page,
        () => (keep.length ? this.store.putGrants(keep) : undefined),
        () => {
          if (expandable.length > 0) this.state.needsExpansion = true;
        },
      );
      // A resumed sync reads every expandable grant back from the store at the end (expandGrants).
      if (!this.resumed) for (const x of expandable) this.expandable.set(x.grantId, x);
      this.counts(typeId).grants += keep.length;
      this.totals.grants += keep.length;
      if (page.nextPageToken === '') this.resourceDone('grants', r, false);
    }
    this.emit();
  }

  // -- grant expansion (grant-expansion.ts) ----------------------------------------------------------------------

  /** Expansion and the end of the sync in one transaction: a sync killed meanwhile expands again from scratch. */
  private async expandGrants(): Promise<void> {
    await this.atomically(async () => {
      if (this.state.needsExpansion) {
        let expandable = [...this.expandable.values()];
        if (this.resumed) {
          // Part of the grants were stored by an earlier run: read every expandable grant back from the store.
          const all = new Map<string, ExpandableGrant>();
          for await (const g of this.store.grants({})) {
            const x = expandableOf(g);
            if (x) all.set(x.grantId, x);
          }
          expandable = [...all.values()];
        }
        const result = await expandGrants(this.store, expandable, {
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
      this.state.actions.pop();
      await this.store.endSync();
    });
    this.ended = true;
    this.committed = cloneCheckpoint(this.state);
  }
}

/** The expansion a grant asks for (`GrantExpandable` with source entitlements), if any. */
function expandableOf(g: Grant): ExpandableGrant | undefined {
  const exp = findAnnotation(g.annotations, GrantExpandableSchema);
  if (!exp || exp.entitlementIds.length === 0 || !g.principal?.id || !g.entitlement) return undefined;
  return {
    grantId: g.id,
    principal: g.principal.id,
    dst: g.entitlement,
    srcIds: [...exp.entitlementIds],
    shallow: exp.shallow,
    resourceTypeIds: [...exp.resourceTypeIds],
  };
}

/** The connector process exit behind a failed call, if that is why it failed. */
function exitOf(err: unknown): ConnectorExitedError | undefined {
  if (err instanceof ConnectorExitedError) return err;
  if (err instanceof SyncError && err.cause instanceof ConnectorExitedError) return err.cause;
  return undefined;
}
