/**
 * The one walk over a connector: how a host lists everything a connector has. The sync engine (sync.ts) stores what
 * it walks; the conformance kit (testing/) runs that same engine and checks what it walks, so the kit pages, retries,
 * skips and descends into child types exactly as the host does (docs/testing.md):
 *  - ListResourceTypes; then ListResources for every type at top level, child-only types included (a connector
 *    answers an empty list when no parent is given), and for every resource that carries `ChildResourceType`
 *    annotations, ListResources of each child type under it, depth first: the children of a page are listed
 *    before the next page of their parent's type, as the Go syncer's action stack does;
 *  - ListEntitlements and ListGrants for each resource, unless `SkipEntitlementsAndGrants`, `SkipEntitlements` or
 *    `SkipGrants` sits on the resource's type or on the resource itself (the newest Go hosts read both);
 *  - every listing paged until `next_page_token == ""`; a token equal to the one sent ("stuck") or one the listing
 *    already returned ("cycle") stops the walk, since paging would never end;
 *  - UNAVAILABLE and DEADLINE_EXCEEDED are retried with the newest Go host's waits (linear 1 s steps capped at
 *    60 s, or what a `RateLimitDescription` status detail says) but a bounded number of times, so a dead API cannot
 *    hang a walk; any other error, or the connector process exiting, stops the walk.
 * An observer sees every page exactly as the connector answered it, before the caller filters anything.
 *
 * The sync engine (sync.ts) makes the same calls in the same order, one page at a time (`resourceTypesPage`,
 * `resourcesPage`, `entitlementsPage`, `grantsPage`), from the action stack it checkpoints after every stored page
 * (docs/sync.md); the whole-walk methods below serve callers that need no checkpoint (`syncInProcess` in testing/in-process.ts).
 */
import * as grpc from '@grpc/grpc-js';
import { timestampMs, type Any } from '@bufbuild/protobuf/wkt';
import type { Entitlement } from '../gen/c1/connector/v2/entitlement_pb.js';
import type { Grant } from '../gen/c1/connector/v2/grant_pb.js';
import type { Resource, ResourceId, ResourceType } from '../gen/c1/connector/v2/resource_pb.js';
import {
  ChildResourceTypeSchema,
  SkipEntitlementsAndGrantsSchema,
  SkipEntitlementsSchema,
  SkipGrantsSchema,
} from '../gen/c1/connector/v2/annotation_resource_tree_pb.js';
import type { Logger } from '../log/logger.js';
import { findAnnotation, hasAnnotation, typeNameOf } from '../sdk/annotations.js';
import { resourceKey, shortToken } from '../util/text.js';
import { ConnectorExitedError, describeError, RpcError, type CallOptions, type ConnectorClient } from './client.js';

/** gRPC codes a host retries; every other error ends the walk. */
const RETRYABLE_CODES: ReadonlySet<number> = new Set<number>([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

export interface WalkRetryOptions {
  /** Attempts per call, including the first (default 10). */
  maxAttempts?: number;
  /** Cap for one wait (default 60 s, like the newest Go host). */
  maxWaitMs?: number;
  /** Linear step: wait = attempts × step (default 1 s). */
  stepMs?: number;
}

/** Which listing a page belongs to. `label` names it in messages, e.g. `ListResources(repo, parent org:o1)`. */
export type Listing =
  | { kind: 'resource-types'; label: string }
  | { kind: 'resources'; label: string; resourceTypeId: string; parent?: ResourceId }
  | { kind: 'entitlements'; label: string; resource: Resource }
  | { kind: 'grants'; label: string; resource: Resource };

interface PageFields {
  /** 1 for the first page of the listing. */
  number: number;
  /** The page token sent (`''` for the first page). */
  pageToken: string;
  /** The `page_size` sent (0: the connector chooses). */
  pageSize: number;
  nextPageToken: string;
  annotations: Any[];
  /** How long the answer took, retries included. */
  durationMs: number;
}

/** One page as the connector answered it. */
export type WalkPage =
  | (PageFields & { listing: Extract<Listing, { kind: 'resource-types' }>; list: ResourceType[] })
  | (PageFields & { listing: Extract<Listing, { kind: 'resources' }>; list: Resource[] })
  | (PageFields & { listing: Extract<Listing, { kind: 'entitlements' }>; list: Entitlement[] })
  | (PageFields & { listing: Extract<Listing, { kind: 'grants' }>; list: Grant[] });

/** A retry the walker is about to wait for. */
export interface WalkRetry {
  call: string;
  attempt: number;
  waitMs: number;
  /** The wait came from a `RateLimitDescription` status detail. */
  fromRateLimit: boolean;
  error: RpcError;
}

export interface WalkOptions {
  /** `page_size` of every list request (default 0: the connector chooses, which is what hosts send). */
  pageSize?: number;
  retry?: WalkRetryOptions;
  /** Pages one listing may take before the walk gives up on it (default: no limit, like hosts). */
  maxPagesPerListing?: number;
  /** Stops the walk: checked before every call and cancels the call in flight. */
  signal?: AbortSignal;
  /** Sees every page before the caller's callback does. */
  observer?: (page: WalkPage) => void;
  /** Told before each retry wait. */
  onRetry?: (retry: WalkRetry) => void;
  /** Builds the error the walk throws when it cannot go on (the sync engine tags it with its phase). */
  fail?: (message: string, cause?: unknown) => Error;
  logger?: Logger;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Why a listing cannot be paged to its end; the cause of the error the walk throws then. */
export class PagingError extends Error {
  constructor(
    readonly problem: 'stuck' | 'cycle' | 'page-limit',
    message: string,
  ) {
    super(message);
    this.name = 'PagingError';
  }
}

/**
 * The page tokens of one listing. A returned token equal to the one sent (`stuck`), or one the listing already
 * returned (`cycle`), is a connector bug that would page forever.
 */
export class PageTokenGuard {
  private readonly seen = new Set<string>();
  private token: string;
  /** Pages taken so far (for the page limit and page numbers). */
  pages = 0;

  /** `start`: the token a resumed listing continues from (`''` for a listing from its first page). */
  constructor(start = '') {
    this.token = start;
  }

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

/** The child resource types a resource announces (`ChildResourceType` annotations; undecodable ones are ignored). */
export function childResourceTypeIds(resource: Resource): string[] {
  const out: string[] = [];
  for (const ann of resource.annotations) {
    if (typeNameOf(ann) !== ChildResourceTypeSchema.typeName) continue;
    try {
      const child = findAnnotation([ann], ChildResourceTypeSchema);
      if (child?.resourceTypeId) out.push(child.resourceTypeId);
    } catch {
      // a host ignores an annotation it cannot decode
    }
  }
  return out;
}

/** Whether a host skips listing a resource's entitlements (or grants), from its type's and its own annotations. */
export function skipsListing(
  type: ResourceType | undefined,
  resource: Resource,
  which: 'entitlements' | 'grants',
): boolean {
  const specific = which === 'entitlements' ? SkipEntitlementsSchema : SkipGrantsSchema;
  const on = (list: readonly Any[] | undefined) =>
    hasAnnotation(list, SkipEntitlementsAndGrantsSchema) || hasAnnotation(list, specific);
  return on(type?.annotations) || on(resource.annotations);
}

/** `ListResources(type)` or `ListResources(type, parent t:id)`. */
function resourcesLabel(resourceTypeId: string, parent?: ResourceId): string {
  return parent
    ? `ListResources(${resourceTypeId}, parent ${resourceKey(parent)})`
    : `ListResources(${resourceTypeId})`;
}

type MaybePromise<T> = T | Promise<T>;
type Iter<T> = Iterable<T> | AsyncIterable<T>;

/** The calls a walk makes: a gRPC `ConnectorClient`, or anything else that answers them (an in-process connector). */
export type WalkClient = Pick<
  ConnectorClient,
  'listResourceTypes' | 'listResources' | 'listEntitlements' | 'listGrants'
>;
/** A page as the walker hands it on. */
export interface ListResponse<T> {
  list: T[];
  nextPageToken: string;
  annotations: Any[];
}

/** A listing and its request for any page token. */
interface ListingCall<T> {
  listing: Listing;
  call: (pageToken: string, opts: CallOptions) => Promise<ListResponse<T>>;
}

/** Walks one connector; see the file comment. Counters tell how many RPCs and retries the walk made. */
export class ConnectorWalker {
  /** RPCs issued (every attempt counts). */
  rpcCount = 0;
  /** Retried attempts. */
  retries = 0;
  /** Retries whose wait came from a `RateLimitDescription` status detail, and their total wait. */
  rateLimitWaits = 0;
  rateLimitWaitMs = 0;
  /** Sent as `active_sync_id` in every list request once set (newer hosts do, for connectors that ask). */
  activeSyncId = '';

  private readonly pageSize: number;
  private readonly maxAttempts: number;
  private readonly maxWaitMs: number;
  private readonly stepMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly fail: (message: string, cause?: unknown) => Error;

  constructor(
    private client: WalkClient,
    private readonly options: WalkOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 0;
    this.maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 10);
    this.maxWaitMs = options.retry?.maxWaitMs ?? 60_000;
    this.stepMs = options.retry?.stepMs ?? 1_000;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
    this.fail = options.fail ?? ((message, cause) => new Error(message, { cause }));
  }

  /** Makes the next calls through another client (a restarted connector process). */
  useClient(client: WalkClient): void {
    this.client = client;
  }

  // -- one call --------------------------------------------------------------------------------------------------

  /** The newest Go host's wait before retry number `attempts`, in ms. */
  private retryWait(err: RpcError, attempts: number): { waitMs: number; fromRateLimit: boolean } {
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

  private stopped(what: string): Error | undefined {
    const signal = this.options.signal;
    if (!signal?.aborted) return undefined;
    const reason: unknown = signal.reason;
    return this.fail(`${what}: ${reason instanceof Error ? reason.message : 'stopped'}`, reason);
  }

  /** A sleep (the injected one, if any) that ends early when the walk is stopped. */
  async pause(ms: number): Promise<void> {
    const signal = this.options.signal;
    if (!signal) return this.sleep(ms);
    if (signal.aborted) return;
    let onAbort!: () => void;
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([this.sleep(ms), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** One RPC with the host's retry rule (`what` names it in errors and logs). */
  async call<T>(what: string, fn: (opts: CallOptions) => Promise<T>): Promise<T> {
    const opts: CallOptions = this.options.signal ? { signal: this.options.signal } : {};
    for (let attempts = 0; ;) {
      const stop = this.stopped(what);
      if (stop) throw stop;
      this.rpcCount++;
      try {
        return await fn(opts);
      } catch (err) {
        const stopNow = this.stopped(what);
        if (stopNow) throw stopNow;
        if (err instanceof ConnectorExitedError) throw this.fail(`${what}: ${err.message}`, err);
        if (!(err instanceof RpcError) || !RETRYABLE_CODES.has(err.code)) {
          throw this.fail(`${what} failed: ${describeError(err)}`, err);
        }
        attempts++;
        if (attempts >= this.maxAttempts) {
          throw this.fail(`${what} failed after ${attempts} attempts: ${describeError(err)}`, err);
        }
        const { waitMs, fromRateLimit } = this.retryWait(err, attempts);
        this.retries++;
        if (fromRateLimit) {
          this.rateLimitWaits++;
          this.rateLimitWaitMs += waitMs;
        }
        this.options.logger?.warn('retrying connector call', {
          call: what,
          attempt: attempts,
          waitMs,
          error: describeError(err),
        });
        this.options.onRetry?.({ call: what, attempt: attempts, waitMs, fromRateLimit, error: err });
        await this.pause(waitMs);
      }
    }
  }

  // -- one page --------------------------------------------------------------------------------------------------

  /**
   * One page of a listing at `tokens.current` (page number `tokens.pages + 1`): the call with the retry rule, then
   * the observer. The caller takes the returned token into `tokens` (pagingProblem).
   */
  private async page<T>(
    { listing, call }: ListingCall<T>,
    tokens: PageTokenGuard,
  ): Promise<ListResponse<T> & { label: string }> {
    const pageToken = tokens.current;
    const number = tokens.pages + 1;
    const limit = this.options.maxPagesPerListing;
    if (limit !== undefined && number > limit) {
      const message = `${listing.label}: did not finish within ${limit} pages (last page token ${shortToken(pageToken)})`;
      throw this.fail(message, new PagingError('page-limit', message));
    }
    const t0 = this.now();
    const what = pageToken ? `${listing.label} (page token ${shortToken(pageToken)})` : listing.label;
    const resp = await this.call(what, (opts) => call(pageToken, opts));
    this.options.observer?.({
      listing,
      number,
      pageToken,
      pageSize: this.pageSize,
      nextPageToken: resp.nextPageToken,
      annotations: resp.annotations,
      durationMs: this.now() - t0,
      list: resp.list,
    } as WalkPage);
    return { ...resp, label: listing.label };
  }

  /**
   * Takes the token a page returned into `tokens`: the error to throw when the listing is stuck or cycles (see
   * PageTokenGuard), else undefined. `''` (the last page) is always fine.
   */
  pagingProblem(label: string, tokens: PageTokenGuard, next: string): Error | undefined {
    tokens.pages++;
    if (next === '') return undefined;
    const problem = tokens.advance(next);
    if (!problem) return undefined;
    const message =
      problem === 'stuck'
        ? `${label}: stuck page token: the connector returned the page token it was sent (${shortToken(next)})`
        : `${label}: page token cycle: the connector returned page token ${shortToken(next)} a second time`;
    return this.fail(message, new PagingError(problem, message));
  }

  // -- the four listings: the one place each list request is built ------------------------------------------------

  private resourceTypesListing(): ListingCall<ResourceType> {
    return {
      listing: { kind: 'resource-types', label: 'ListResourceTypes' },
      call: (pageToken, opts) =>
        this.client.listResourceTypes({ pageToken, pageSize: this.pageSize, activeSyncId: this.activeSyncId }, opts),
    };
  }

  /** ListResources of a type, under a parent or at top level. */
  private resourcesListing(typeId: string, parent: ResourceId | undefined): ListingCall<Resource> {
    return {
      listing: { kind: 'resources', label: resourcesLabel(typeId, parent), resourceTypeId: typeId, parent },
      call: (pageToken, opts) =>
        this.client.listResources(
          {
            resourceTypeId: typeId,
            parentResourceId: parent,
            pageToken,
            pageSize: this.pageSize,
            activeSyncId: this.activeSyncId,
          },
          opts,
        ),
    };
  }

  private entitlementsListing(resource: Resource): ListingCall<Entitlement> {
    return {
      listing: { kind: 'entitlements', label: `ListEntitlements(${resourceKey(resource.id)})`, resource },
      call: (pageToken, opts) =>
        this.client.listEntitlements(
          { resource, pageToken, pageSize: this.pageSize, activeSyncId: this.activeSyncId },
          opts,
        ),
    };
  }

  private grantsListing(resource: Resource): ListingCall<Grant> {
    return {
      listing: { kind: 'grants', label: `ListGrants(${resourceKey(resource.id)})`, resource },
      call: (pageToken, opts) =>
        this.client.listGrants({ resource, pageToken, pageSize: this.pageSize, activeSyncId: this.activeSyncId }, opts),
    };
  }

  // -- one page at a time (the sync engine) ------------------------------------------------------------------------

  /** One page of ListResourceTypes. */
  resourceTypesPage(tokens: PageTokenGuard): Promise<ListResponse<ResourceType> & { label: string }> {
    return this.page(this.resourceTypesListing(), tokens);
  }

  /** One page of ListResources of a type, under a parent or at top level. */
  resourcesPage(
    typeId: string,
    parent: ResourceId | undefined,
    tokens: PageTokenGuard,
  ): Promise<ListResponse<Resource> & { label: string }> {
    return this.page(this.resourcesListing(typeId, parent), tokens);
  }

  /** One page of ListEntitlements of a resource. */
  entitlementsPage(resource: Resource, tokens: PageTokenGuard): Promise<ListResponse<Entitlement> & { label: string }> {
    return this.page(this.entitlementsListing(resource), tokens);
  }

  /** One page of ListGrants of a resource. */
  grantsPage(resource: Resource, tokens: PageTokenGuard): Promise<ListResponse<Grant> & { label: string }> {
    return this.page(this.grantsListing(resource), tokens);
  }

  // -- one listing -----------------------------------------------------------------------------------------------

  /** Page through one listing until `next_page_token == ""`, handing each page to the observer, then `onPage`. */
  private async pages<T>(listingCall: ListingCall<T>, onPage: (list: T[]) => MaybePromise<void>): Promise<void> {
    const tokens = new PageTokenGuard();
    for (;;) {
      const resp = await this.page(listingCall, tokens);
      await onPage(resp.list);
      const problem = this.pagingProblem(resp.label, tokens, resp.nextPageToken);
      if (problem) throw problem;
      if (resp.nextPageToken === '') return;
    }
  }

  // -- the walk --------------------------------------------------------------------------------------------------

  /** Every page of ListResourceTypes. */
  async resourceTypes(onPage: (list: ResourceType[]) => MaybePromise<void>): Promise<void> {
    await this.pages(this.resourceTypesListing(), onPage);
  }

  /**
   * Every type at top level, in order; `onPage` receives each page and returns the resources whose child types
   * are to be walked (the sync returns the ones it stored, so a duplicate is not descended into twice).
   */
  async resources(
    typeIds: readonly string[],
    onPage: (
      list: Resource[],
      resourceTypeId: string,
      parent: ResourceId | undefined,
    ) => MaybePromise<readonly Resource[]>,
  ): Promise<void> {
    for (const typeId of typeIds) await this.resourcesOf(typeId, undefined, onPage);
  }

  private async resourcesOf(
    typeId: string,
    parent: ResourceId | undefined,
    onPage: (
      list: Resource[],
      resourceTypeId: string,
      parent: ResourceId | undefined,
    ) => MaybePromise<readonly Resource[]>,
  ): Promise<void> {
    await this.pages(this.resourcesListing(typeId, parent), async (list) => {
      const descend = await onPage(list, typeId, parent);
      for (const r of descend) {
        for (const child of childResourceTypeIds(r)) await this.resourcesOf(child, r.id, onPage);
      }
    });
  }

  /** ListEntitlements of every resource its skip annotations do not exclude. */
  entitlements(
    resources: Iter<Resource>,
    typeOf: (resourceTypeId: string) => ResourceType | undefined,
    onPage: (list: Entitlement[], resource: Resource) => MaybePromise<void>,
  ): Promise<void> {
    return this.perResource('entitlements', resources, typeOf, (r) => this.entitlementsListing(r), onPage);
  }

  /** ListGrants of every resource its skip annotations do not exclude. */
  grants(
    resources: Iter<Resource>,
    typeOf: (resourceTypeId: string) => ResourceType | undefined,
    onPage: (list: Grant[], resource: Resource) => MaybePromise<void>,
  ): Promise<void> {
    return this.perResource('grants', resources, typeOf, (r) => this.grantsListing(r), onPage);
  }

  private async perResource<T>(
    kind: 'entitlements' | 'grants',
    resources: Iter<Resource>,
    typeOf: (resourceTypeId: string) => ResourceType | undefined,
    listingOf: (resource: Resource) => ListingCall<T>,
    onPage: (list: T[], resource: Resource) => MaybePromise<void>,
  ): Promise<void> {
    for await (const r of resources) {
      if (skipsListing(typeOf(r.id?.resourceType ?? ''), r, kind)) continue;
      await this.pages(listingOf(r), (items) => onPage(items, r));
    }
  }
}
