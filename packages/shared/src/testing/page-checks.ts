/**
 * The walk and stability checks on the connector's raw answers. A walk is a real host sync (host/sync.ts, through
 * the one walker in host/walk.ts) whose every page is seen by a `WalkRecorder` before the host drops or dedupes
 * anything, so what the store hides (the store keeps one row per id, the host keeps the first copy of a resource)
 * is still checked:
 *  - page tokens: at most 4096 bytes; never stuck or repeating (the host stops there, and so does the walk);
 *  - pages: never more items than the `page_size` asked for;
 *  - ids: present, and unique within a listing and across the walk (resource types, resources, entitlements,
 *    grants);
 *  - every resource listed under a parent carries that parent and has the type asked for; every entitlement and
 *    grant returned for a resource is on that resource; no resource carries the reserved `BatonID` annotation;
 *  - stability: a second walk returns the same ids for every listing (and, as a warning, the same content).
 * A walk that cannot finish (an error that is not retried, a dead process, the time limit) is reported with the
 * reason the host would give.
 */
import { createHash } from 'node:crypto';
import type { DescMessage } from '@bufbuild/protobuf';
import {
  ConnectorExitedError,
  PagingError,
  RpcError,
  runSync,
  SyncError,
  childResourceTypeIds,
  type ConnectorClient,
  type Listing,
  type SyncStoreLike,
  type SyncSummary,
  type WalkPage,
  type WalkRetryOptions,
} from '../host/index.js';
import { EntitlementSchema } from '../gen/c1/connector/v2/entitlement_pb.js';
import { GrantSchema } from '../gen/c1/connector/v2/grant_pb.js';
import { ResourceSchema, ResourceTypeSchema, type ResourceId } from '../gen/c1/connector/v2/resource_pb.js';
import { BatonIDSchema } from '../gen/c1/connector/v2/annotation_baton_id_pb.js';
import { SyncStore, toDeterministicBinary } from '../c1z/index.js';
import type { Logger } from '../log/logger.js';
import { MAX_PAGE_TOKEN_BYTES } from '../sdk/pagination.js';
import { hasAnnotation } from '../sdk/annotations.js';
import { errorMessage } from '../util/text.js';
import { quote, resourceKey, sample, ViolationCollector } from './violations.js';

/** Rules the walk check can report on raw pages, and when a walk cannot finish. */
export const RPC_INVARIANT_RULES = [
  'page-token-size',
  'page-token-stuck',
  'page-token-cycle',
  'page-limit',
  'page-size',
  'deadline',
  'rpc-error',
  'connector-exited',
  'sync-failed',
  'missing-id',
  'duplicate-resource-type',
  'duplicate-resource',
  'duplicate-entitlement',
  'duplicate-grant',
  'resource-type-mismatch',
  'parent',
  'entitlement-resource',
  'grant-resource',
  'reserved-annotation',
  'unstable-pagination',
] as const;

/** What one walk saw. */
export interface RelistPassStats {
  resourceTypes: number;
  resources: number;
  entitlements: number;
  grants: number;
  listings: number;
  pages: number;
  retries: number;
  durationMs: number;
  /** False when the walk could not finish. */
  complete: boolean;
}

/** The ids one listing returned, in order, and (optionally) a digest of each record. */
interface ListingRecord {
  kind: Listing['kind'];
  ids: string[];
  digests?: Map<string, string>;
  /** The listing reached its last page. */
  finished: boolean;
}

const KIND_NAME: Record<Listing['kind'], string> = {
  'resource-types': 'resource-type',
  resources: 'resource',
  entitlements: 'entitlement',
  grants: 'grant',
};

function sameId(a: ResourceId | undefined, b: ResourceId | undefined): boolean {
  return !!a && !!b && a.resourceType === b.resourceType && a.resource === b.resource;
}

function digest(schema: DescMessage, message: unknown): string {
  const bytes = toDeterministicBinary(schema, message as never);
  return createHash('sha1').update(bytes).digest('base64');
}

/** Watches one walk's pages (pass `observe` as the sync's observer) and reports what breaks the rules above. */
export class WalkRecorder {
  readonly listings = new Map<string, ListingRecord>();
  /** Types some resource announced as a child type (`ChildResourceType`). */
  readonly childTypes = new Set<string>();
  /** A `next_page_token` the connector really issued for a top-level ListResources, by type. */
  readonly issuedTokens = new Map<string, string>();
  readonly stats = { resourceTypes: 0, resources: 0, entitlements: 0, grants: 0, listings: 0, pages: 0 };

  private readonly firstSeen = {
    resources: new Map<string, string>(),
    entitlements: new Map<string, string>(),
    grants: new Map<string, string>(),
  };
  /** Page on which the current listing first returned each id. */
  private pageOf = new Map<string, number>();

  constructor(
    private readonly v: ViolationCollector,
    private readonly options: { walk: number; recordContent?: boolean },
  ) {}

  private get where(): string {
    return `walk ${this.options.walk}`;
  }

  readonly observe = (page: WalkPage): void => {
    const { listing } = page;
    let record = this.listings.get(listing.label);
    if (page.number === 1 || !record) {
      record = {
        kind: listing.kind,
        ids: [],
        digests: this.options.recordContent ? new Map() : undefined,
        finished: false,
      };
      this.listings.set(listing.label, record);
      this.pageOf = new Map();
      this.stats.listings++;
    }
    this.stats.pages++;
    const label = listing.label;
    const kind = KIND_NAME[listing.kind];

    if (page.pageSize > 0 && page.list.length > page.pageSize) {
      this.v.add(
        'page-size',
        `${label} page ${page.number} returned ${page.list.length} ${kind}s; expected at most the page_size of ${page.pageSize} it was asked for`,
        label,
      );
    }
    const bytes = Buffer.byteLength(page.nextPageToken, 'utf8');
    if (bytes > MAX_PAGE_TOKEN_BYTES) {
      this.v.add(
        'page-token-size',
        `${label} page ${page.number} returned a page token of ${bytes} bytes; expected at most ${MAX_PAGE_TOKEN_BYTES} (baton-sdk v0.1.3-v0.2.44 reject longer ones)`,
        label,
      );
    }
    if (page.nextPageToken === '') record.finished = true;
    else if (listing.kind === 'resources' && !listing.parent && !this.issuedTokens.has(listing.resourceTypeId)) {
      this.issuedTokens.set(listing.resourceTypeId, page.nextPageToken);
    }

    const take = (id: string | undefined, schema: DescMessage, item: unknown): void => {
      if (id === undefined) return;
      const seenOn = this.pageOf.get(id);
      if (seenOn !== undefined) {
        this.v.add(
          `duplicate-${kind}`,
          `${label} returned ${quote(id)} on page ${seenOn} and again on page ${page.number} (${this.where}); expected each ${kind} once`,
          id,
        );
        return;
      }
      this.pageOf.set(id, page.number);
      record.ids.push(id);
      record.digests?.set(id, digest(schema, item));
    };

    switch (page.listing.kind) {
      case 'resource-types':
        for (const rt of page.list as ResourceTypeList) {
          if (!rt.id) {
            this.v.add(
              'missing-id',
              `${label} returned a resource type without an id (display name ${quote(rt.displayName)}); expected an id (a host drops it)`,
            );
            continue;
          }
          if (!this.pageOf.has(rt.id)) this.stats.resourceTypes++;
          take(rt.id, ResourceTypeSchema, rt);
        }
        return;
      case 'resources': {
        const { resourceTypeId, parent } = page.listing;
        for (const r of page.list as ResourceList) {
          if (!r.id?.resource || !r.id.resourceType) {
            this.v.add(
              'missing-id',
              `${label} returned a resource without an id (display name ${quote(r.displayName)}); expected an id (a host drops it)`,
            );
            continue;
          }
          const key = resourceKey(r.id);
          if (r.id.resourceType !== resourceTypeId) {
            this.v.add(
              'resource-type-mismatch',
              `${label} returned resource ${quote(key)} of type ${quote(r.id.resourceType)}; expected type ${quote(resourceTypeId)}`,
              key,
            );
          }
          if (parent && !sameId(r.parentResourceId, parent)) {
            const has = r.parentResourceId?.resource
              ? `parent_resource_id ${quote(resourceKey(r.parentResourceId))}`
              : 'no parent_resource_id';
            this.v.add(
              'parent',
              `resource ${quote(key)} was listed under parent ${quote(resourceKey(parent))} but carries ${has}; expected that parent`,
              key,
            );
          }
          if (hasAnnotation(r.annotations, BatonIDSchema)) {
            this.v.add(
              'reserved-annotation',
              `resource ${quote(key)} carries the BatonID annotation, which is reserved for hosts (newer Go hosts fail the sync on it)`,
              key,
            );
          }
          const first = this.firstSeen.resources.get(key);
          if (first !== undefined && first !== label) {
            this.v.add(
              'duplicate-resource',
              `resource ${quote(key)} was returned by ${first} and again by ${label} (${this.where}); expected each resource once (a host keeps the first copy)`,
              key,
            );
          } else if (first === undefined) {
            this.firstSeen.resources.set(key, label);
            this.stats.resources++;
            for (const child of childResourceTypeIds(r)) this.childTypes.add(child);
          }
          take(key, ResourceSchema, r);
        }
        return;
      }
      case 'entitlements': {
        const owner = page.listing.resource.id;
        for (const e of page.list as EntitlementList) {
          if (!e.id) {
            this.v.add(
              'missing-id',
              `${label} returned an entitlement without an id (display name ${quote(e.displayName)}); expected an id (a host drops it)`,
            );
            continue;
          }
          if (!sameId(e.resource?.id, owner)) {
            this.v.add(
              'entitlement-resource',
              `${label} returned entitlement ${quote(e.id)} on resource ${quote(resourceKey(e.resource?.id))}; expected it on ${quote(resourceKey(owner))}`,
              e.id,
            );
          }
          this.firstOnce('entitlements', e.id, label);
          take(e.id, EntitlementSchema, e);
        }
        return;
      }
      case 'grants': {
        const owner = page.listing.resource.id;
        for (const g of page.list as GrantList) {
          if (!g.id) {
            this.v.add(
              'missing-id',
              `${label} returned a grant without an id (entitlement ${quote(g.entitlement?.id ?? '')}, principal ${quote(resourceKey(g.principal?.id))}); expected an id (a host drops it)`,
            );
            continue;
          }
          const entResource = g.entitlement?.resource?.id;
          if (!sameId(entResource, owner)) {
            this.v.add(
              'grant-resource',
              `${label} returned grant ${quote(g.id)} whose entitlement is on ${quote(resourceKey(entResource))}; expected entitlements of ${quote(resourceKey(owner))}`,
              g.id,
            );
          }
          this.firstOnce('grants', g.id, label);
          take(g.id, GrantSchema, g);
        }
        return;
      }
    }
  };

  /** Counts an entitlement or grant the first time; reports one another listing already returned. */
  private firstOnce(which: 'entitlements' | 'grants', id: string, label: string): void {
    const first = this.firstSeen[which].get(id);
    if (first === undefined) {
      this.firstSeen[which].set(id, label);
      this.stats[which]++;
      return;
    }
    if (first !== label) {
      const kind = which === 'entitlements' ? 'entitlement' : 'grant';
      this.v.add(
        `duplicate-${kind}`,
        `${kind} ${quote(id)} was returned by ${first} and again by ${label} (${this.where}); expected each ${kind} once`,
        id,
      );
    }
  }
}

type ResourceTypeList = Extract<WalkPage, { listing: { kind: 'resource-types' } }>['list'];
type ResourceList = Extract<WalkPage, { listing: { kind: 'resources' } }>['list'];
type EntitlementList = Extract<WalkPage, { listing: { kind: 'entitlements' } }>['list'];
type GrantList = Extract<WalkPage, { listing: { kind: 'grants' } }>['list'];

// ---------------------------------------------------------------------------------------------------------------
// One observed walk
// ---------------------------------------------------------------------------------------------------------------

/** Why a walk stopped, as a rule and a sentence. */
export interface WalkFailure {
  rule: (typeof RPC_INVARIANT_RULES)[number];
  /** The sync phase it stopped in. */
  phase: string;
  message: string;
  /** The error the sync threw, and its cause. */
  error: unknown;
  cause: unknown;
}

export interface ObservedWalk {
  recorder: WalkRecorder;
  summary?: SyncSummary;
  failure?: WalkFailure;
  stats: RelistPassStats;
}

/** One line about what a walk saw. */
export function walkSummary(w: ObservedWalk): string {
  const s = w.stats;
  const expanded = w.summary?.expandedGrants ? ` (+${w.summary.expandedGrants} by grant expansion)` : '';
  return `${s.resourceTypes} types, ${s.resources} resources, ${s.entitlements} entitlements, ${s.grants} grants${expanded} in ${s.listings} listings, ${s.pages} pages`;
}

export interface ObservedWalkOptions {
  /** 1 for the first walk, 2 for the stability walk (named in messages). */
  walk: number;
  /** `page_size` of every list request (0: the connector chooses, as hosts send). */
  pageSize: number;
  /** Budget for the whole walk in ms. */
  deadlineMs: number;
  /** Pages one listing may take (default 100 000). */
  maxPagesPerListing?: number;
  /** Keep a digest of every record (for the content comparison of the stability check). */
  recordContent?: boolean;
  retry?: WalkRetryOptions;
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
}

/**
 * Runs one host sync of `client` into `store`, every page checked by a recorder that reports into `v`. Why the walk
 * stopped, if it did, is returned (`failure`), not reported: the caller knows which check it belongs to.
 */
export async function observedWalk(
  client: ConnectorClient,
  store: SyncStoreLike,
  v: ViolationCollector,
  options: ObservedWalkOptions,
): Promise<ObservedWalk> {
  const recorder = new WalkRecorder(v, { walk: options.walk, recordContent: options.recordContent });
  const controller = new AbortController();
  const deadline = new Error(`did not finish within ${options.deadlineMs} ms`);
  const timer = setTimeout(() => controller.abort(deadline), options.deadlineMs);
  const t0 = Date.now();
  let retries = 0;
  let summary: SyncSummary | undefined;
  let failure: WalkFailure | undefined;
  try {
    summary = await runSync(client, store, {
      observer: recorder.observe,
      pageSize: options.pageSize,
      signal: controller.signal,
      checkTraits: false,
      maxPagesPerListing: options.maxPagesPerListing ?? 100_000,
      retry: options.retry,
      sleep: options.sleep,
      logger: options.logger,
      onProgress: (p) => (retries = p.retries),
    });
    retries = summary.retries;
  } catch (err) {
    failure = walkFailure(err, options, controller.signal.aborted);
  } finally {
    clearTimeout(timer);
  }
  return {
    recorder,
    summary,
    failure,
    stats: { ...recorder.stats, retries, durationMs: Date.now() - t0, complete: !failure },
  };
}

function walkFailure(err: unknown, options: ObservedWalkOptions, timedOut: boolean): WalkFailure {
  const phase = err instanceof SyncError ? err.phase : 'sync';
  const cause = err instanceof SyncError ? err.cause : err;
  const walk = `walk ${options.walk}`;
  if (timedOut) {
    return {
      rule: 'deadline',
      phase,
      error: err,
      cause,
      message: `${walk} did not finish within ${options.deadlineMs} ms (page tokens may not terminate, or the connector hangs); it was in phase ${phase}`,
    };
  }
  const message = errorMessage(err);
  if (cause instanceof PagingError) {
    const rule =
      cause.problem === 'stuck' ? 'page-token-stuck' : cause.problem === 'cycle' ? 'page-token-cycle' : 'page-limit';
    return {
      rule,
      phase,
      error: err,
      cause,
      message: `${message}; paging would never end, so a host stops the sync here (${walk})`,
    };
  }
  if (cause instanceof ConnectorExitedError) {
    return {
      rule: 'connector-exited',
      phase,
      error: err,
      cause,
      message: `the connector process died: ${message} (${walk}); expected it to keep serving`,
    };
  }
  if (cause instanceof RpcError) {
    return {
      rule: 'rpc-error',
      phase,
      error: err,
      cause,
      message: `${message} (${walk}); expected an answer, or UNAVAILABLE or DEADLINE_EXCEEDED (which a host retries): a host aborts the sync on any other error`,
    };
  }
  return { rule: 'sync-failed', phase, error: err, cause, message: `${walk} failed in phase ${phase}: ${message}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Stability
// ---------------------------------------------------------------------------------------------------------------

/**
 * Compares a later walk with the first: every listing both finished must return the same ids (a failure) and the
 * same content (a warning: live data such as "last login" may change between walks).
 */
export function compareWalks(first: ObservedWalk, later: ObservedWalk, n: number, v: ViolationCollector): void {
  if (!first.failure && later.failure) {
    v.add(
      'unstable-pagination',
      `walk ${n} failed (${later.failure.message}) although walk 1 finished; expected the same outcome every time`,
    );
  } else if (first.failure && !later.failure) {
    v.add(
      'unstable-pagination',
      `walk ${n} finished although walk 1 failed (${first.failure.message}); expected the same outcome every time`,
    );
  }
  const a = first.recorder.listings;
  const b = later.recorder.listings;
  const bothComplete = !first.failure && !later.failure;
  for (const [label, recA] of a) {
    const recB = b.get(label);
    if (!recB) {
      if (bothComplete && recA.finished) {
        v.add(
          'unstable-pagination',
          `${label} was listed in walk 1 but not in walk ${n} (its parent disappeared); expected the same listings`,
          label,
        );
      }
      continue;
    }
    if (!recA.finished || !recB.finished) continue;
    const setB = new Set(recB.ids);
    const setA = new Set(recA.ids);
    const missing = recA.ids.filter((id) => !setB.has(id));
    const extra = recB.ids.filter((id) => !setA.has(id));
    if (missing.length || extra.length) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing ${sample(missing)}`);
      if (extra.length) parts.push(`new ${sample(extra)}`);
      v.add(
        'unstable-pagination',
        `${label} returned different ids in walk ${n} than in walk 1 (${recA.ids.length} vs ${recB.ids.length}): ${parts.join('; ')}; expected the same records`,
        missing[0] ?? extra[0],
      );
    }
    if (recA.digests && recB.digests) {
      for (const id of recA.ids) {
        const da = recA.digests.get(id);
        const db = recB.digests.get(id);
        if (da !== undefined && db !== undefined && da !== db) {
          v.warn(
            'changed-content',
            `${KIND_NAME[recA.kind]} ${quote(id)} from ${label} has different content in walk ${n} than in walk 1`,
            id,
          );
        }
      }
    }
  }
  if (bothComplete) {
    for (const [label, recB] of b) {
      if (!a.has(label) && recB.finished) {
        v.add(
          'unstable-pagination',
          `${label} was listed in walk ${n} but not in walk 1; expected the same listings`,
          label,
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// checkRpcInvariants: walks over any client, for unit tests of a connector or of these rules
// ---------------------------------------------------------------------------------------------------------------

export interface RpcCheckOptions {
  /** Walks (default 2: the second checks that the records are stable; 1 skips that check). */
  passes?: number;
  /** `page_size` of the walks after the first (default 0, the connector's choice); the first always sends 0. */
  pageSize?: number;
  /** Budget for one walk in ms (default 120 000). */
  deadlineMs?: number;
  /** Pages one listing may take before it is declared non-terminating (default 100 000). */
  maxPagesPerListing?: number;
  /** Sentences per rule (default 20). */
  maxPerRule?: number;
  /** Attempts per call on UNAVAILABLE / DEADLINE_EXCEEDED (default 6). */
  maxAttempts?: number;
  /** Cap for one retry wait (default 30 s). */
  maxRetryWaitMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RpcCheckResult {
  violations: string[];
  passes: RelistPassStats[];
}

/**
 * Walks `client` like a host (each walk is a sync into a temporary store) and returns the violations of the rules
 * above; the first walk sends the host's page size (0), later ones `pageSize`.
 */
export async function checkRpcInvariants(
  client: ConnectorClient,
  options: RpcCheckOptions = {},
): Promise<RpcCheckResult> {
  const v = new ViolationCollector(options.maxPerRule);
  const walks: ObservedWalk[] = [];
  const passes = Math.max(1, options.passes ?? 2);
  for (let n = 1; n <= passes; n++) {
    const store = SyncStore.create();
    try {
      const walk = await observedWalk(client, store, v, {
        walk: n,
        pageSize: n === 1 ? 0 : (options.pageSize ?? 0),
        deadlineMs: options.deadlineMs ?? 120_000,
        maxPagesPerListing: options.maxPagesPerListing,
        retry: { maxAttempts: options.maxAttempts ?? 6, maxWaitMs: options.maxRetryWaitMs ?? 30_000 },
        sleep: options.sleep,
      });
      walks.push(walk);
      // A later walk that fails is reported by compareWalks.
      if (walk.failure && n === 1) v.add(walk.failure.rule, walk.failure.message);
    } finally {
      store.close();
    }
    if (walks[0].failure) break;
  }
  for (let i = 1; i < walks.length; i++) compareWalks(walks[0], walks[i], i + 1, v);
  return { violations: v.result(), passes: walks.map((w) => w.stats) };
}
