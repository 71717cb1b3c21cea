import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { timestampFromMs, type Any } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { toBinary } from '@bufbuild/protobuf';
import {
  CONNECTOR_METHODS,
  ConnectorExitedError,
  RpcError,
  createAccount,
  decodeRpcStatus,
  deleteResource,
  gatedInvoke,
  grantEntitlement,
  parseStatsHeader,
  rateLimitFromDetails,
  revokeGrant,
  runSync,
  SyncError,
  type ConnectorClient,
  type ServerStats,
  type SyncProgress,
  type SyncStoreLike,
} from '../src/host/index.js';
import { parseCheckpoint } from '../src/host/checkpoint.js';
import { stronglyConnectedComponents } from '../src/host/grant-expansion.js';
import { annotation } from '../src/sdk/annotations.js';
import { messageToJson, SyncStore } from '../src/c1z/index.js';
import { EntitlementSchema, type Entitlement } from '../src/gen/c1/connector/v2/entitlement_pb.js';
import { GrantSchema, type Grant } from '../src/gen/c1/connector/v2/grant_pb.js';
import {
  ExternalIdSchema,
  ResourceSchema,
  ResourceTypeSchema,
  ResourceType_Trait,
  ResourcesServiceListResourcesRequestSchema,
  type Resource,
  type ResourceId,
  type ResourceType,
} from '../src/gen/c1/connector/v2/resource_pb.js';
import { GrantsServiceListGrantsRequestSchema } from '../src/gen/c1/connector/v2/grant_pb.js';
import {
  ChildResourceTypeSchema,
  SkipEntitlementsAndGrantsSchema,
  SkipEntitlementsSchema,
  SkipGrantsSchema,
} from '../src/gen/c1/connector/v2/annotation_resource_tree_pb.js';
import { GroupTraitSchema, UserTraitSchema } from '../src/gen/c1/connector/v2/annotation_trait_pb.js';
import { GrantAlreadyExistsSchema, GrantExpandableSchema } from '../src/gen/c1/connector/v2/annotation_grant_pb.js';
import { ResourceDoesNotExistSchema } from '../src/gen/c1/connector/v2/annotation_resource_pb.js';
import {
  RateLimitDescriptionSchema as V2RateLimitDescriptionSchema,
  RateLimitDescription_Status as V2Status,
} from '../src/gen/c1/connector/v2/annotation_ratelimit_pb.js';
import {
  DoResponseSchema,
  RateLimitDescriptionSchema as V1RateLimitDescriptionSchema,
  RateLimitDescription_Status as V1Status,
  type DoRequest,
  type ReportRequest,
} from '../src/gen/c1/ratelimit/v1/ratelimit_pb.js';

// ---------------------------------------------------------------------------------------------------------------
// In-memory store
// ---------------------------------------------------------------------------------------------------------------

const key = (id: ResourceId | undefined) => `${id?.resourceType}:${id?.resource}`;

class MemoryStore implements SyncStoreLike {
  types = new Map<string, ResourceType>();
  res = new Map<string, Resource>();
  ents = new Map<string, Entitlement>();
  grantRows = new Map<string, Grant>();
  started = 0;
  ended = 0;
  startSync() {
    this.started++;
    return 'sync-1';
  }
  endSync() {
    this.ended++;
  }
  putResourceTypes(list: ResourceType[]) {
    for (const t of list) this.types.set(t.id, t);
  }
  putResources(list: Resource[]) {
    for (const r of list) this.res.set(key(r.id), r);
  }
  putEntitlements(list: Entitlement[]) {
    for (const e of list) this.ents.set(e.id, e);
  }
  putGrants(list: Grant[]) {
    for (const g of list) this.grantRows.set(g.id, g);
  }
  hasResource(t: string, id: string) {
    return this.res.has(`${t}:${id}`);
  }
  getEntitlement(id: string) {
    return this.ents.get(id);
  }
  getResource(t: string, id: string) {
    return this.res.get(`${t}:${id}`);
  }
  getGrant(id: string) {
    return this.grantRows.get(id);
  }
  // Paged like the real store: a page at a time, async.
  private async *paged<T>(all: () => T[]): AsyncGenerator<T> {
    const snapshot = all();
    for (let i = 0; i < snapshot.length; i += 2) {
      await Promise.resolve();
      yield* snapshot.slice(i, i + 2);
    }
  }
  resourceTypes() {
    return this.paged(() => [...this.types.values()]);
  }
  resources() {
    return this.paged(() => [...this.res.values()]);
  }
  // Storage order, a cursor (the next index) as the page token, like the c1z store's row ids.
  listResources(_filter: Record<string, never>, options: { pageToken?: string; pageSize?: number }) {
    const all = [...this.res.values()];
    const from = Number(options.pageToken || 0);
    const end = from + (options.pageSize ?? 1000);
    return { list: all.slice(from, end), nextPageToken: end < all.length ? String(end) : '' };
  }
  grants(filter: { entitlementId?: string; principal?: ResourceId }) {
    return this.paged(() =>
      [...this.grantRows.values()].filter(
        (g) =>
          (!filter.entitlementId || g.entitlement?.id === filter.entitlementId) &&
          (!filter.principal || key(g.principal?.id) === key(filter.principal)),
      ),
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Fake connector
// ---------------------------------------------------------------------------------------------------------------

type Method = keyof typeof CONNECTOR_METHODS;
type Input<K extends Method> = (typeof CONNECTOR_METHODS)[K]['input'];
type Output<K extends Method> = (typeof CONNECTOR_METHODS)[K]['output'];
/** A request as the client method received it (an init shape or a message). */
type Request<K extends Method> = MessageInitShape<Input<K>>;
/** A request as the fake records it: the message the gRPC client would have sent. */
type Sent<K extends Method> = MessageShape<Input<K>>;
type ReplyInit<K extends Method> = MessageInitShape<Output<K>>;
type Reply<K extends Method> = MessageShape<Output<K>>;
type Call = { [K in Method]: { method: K; req: Sent<K> } }[Method];
type Overrides = { [K in Method]?: (req: Sent<K>) => ReplyInit<K> };

interface FakeData {
  types: ResourceType[];
  /** key: `${type}` for top level, `${type}@${parentKey}` for children */
  resources: Record<string, Resource[]>;
  entitlements: Record<string, Entitlement[]>;
  grants: Record<string, Grant[]>;
  pageSize?: number;
}

function page<T>(list: T[] | undefined, token: string, size: number): { list: T[]; nextPageToken: string } {
  const items = list ?? [];
  const start = token ? Number(token) : 0;
  const end = start + size;
  return { list: items.slice(start, end), nextPageToken: end < items.length ? String(end) : '' };
}

class FakeClient implements ConnectorClient {
  calls: Call[] = [];
  lastStats: ServerStats | undefined;
  /** Per method: errors to throw (in order) before answering normally. */
  failures: Partial<Record<Method, Error[]>> = {};
  /** Per method override. */
  override: Overrides = {};
  sdkVersion = '0.5.0';
  constructor(public data: FakeData) {}
  private async handle<K extends Method>(
    method: K,
    req: Request<K> | undefined,
    normal: (req: Sent<K>) => ReplyInit<K>,
  ): Promise<Reply<K>> {
    const { input, output } = CONNECTOR_METHODS[method] as { input: DescMessage; output: DescMessage };
    const request = create(input, (req ?? {}) as MessageInitShape<DescMessage>) as Sent<K>;
    this.calls.push({ method, req: request } as Call);
    const f = this.failures[method]?.shift();
    if (f) throw f;
    const override = this.override[method] as ((r: Sent<K>) => ReplyInit<K>) | undefined;
    const reply = override ? override(request) : normal(request);
    // Replies are real messages, as the gRPC client returns them.
    return create(output, reply as MessageInitShape<DescMessage>) as Reply<K>;
  }
  get size() {
    return this.data.pageSize ?? 2;
  }
  getMetadata(req?: Request<'getMetadata'>) {
    return this.handle('getMetadata', req, () => ({}));
  }
  validate(req?: Request<'validate'>) {
    return this.handle('validate', req, () => ({ annotations: [], sdkVersion: this.sdkVersion }));
  }
  cleanup(req?: Request<'cleanup'>) {
    return this.handle('cleanup', req, () => ({ annotations: [] }));
  }
  listResourceTypes(req?: Request<'listResourceTypes'>) {
    return this.handle('listResourceTypes', req, (r) => ({
      ...page(this.data.types, r.pageToken, this.size),
      annotations: [],
    }));
  }
  listResources(req: Request<'listResources'>) {
    return this.handle('listResources', req, (r) => {
      const k = r.parentResourceId ? `${r.resourceTypeId}@${key(r.parentResourceId)}` : r.resourceTypeId;
      return { ...page(this.data.resources[k], r.pageToken, this.size), annotations: [] };
    });
  }
  getResource(req: Request<'getResource'>) {
    return this.handle('getResource', req, () => ({}));
  }
  listEntitlements(req: Request<'listEntitlements'>) {
    return this.handle('listEntitlements', req, (r) => ({
      ...page(this.data.entitlements[key(r.resource?.id)], r.pageToken, this.size),
      annotations: [],
    }));
  }
  listStaticEntitlements(req: Request<'listStaticEntitlements'>) {
    return this.handle('listStaticEntitlements', req, () => ({ list: [], nextPageToken: '', annotations: [] }));
  }
  listGrants(req: Request<'listGrants'>) {
    return this.handle('listGrants', req, (r) => ({
      ...page(this.data.grants[key(r.resource?.id)], r.pageToken, this.size),
      annotations: [],
    }));
  }
  grant(req: Request<'grant'>) {
    return this.handle('grant', req, () => ({ annotations: [], grants: [] }));
  }
  revoke(req: Request<'revoke'>) {
    return this.handle('revoke', req, () => ({ annotations: [] }));
  }
  createResource(req: Request<'createResource'>) {
    return this.handle('createResource', req, () => ({ annotations: [] }));
  }
  deleteResource(req: Request<'deleteResource'>) {
    return this.handle('deleteResource', req, () => ({ annotations: [] }));
  }
  deleteResourceV2(req: Request<'deleteResourceV2'>) {
    return this.handle('deleteResourceV2', req, () => ({ annotations: [] }));
  }
  createAccount(req: Request<'createAccount'>) {
    return this.handle('createAccount', req, () => ({ annotations: [], encryptedData: [] }));
  }
  rotateCredential(req: Request<'rotateCredential'>) {
    return this.handle('rotateCredential', req, () => ({ annotations: [], encryptedData: [] }));
  }
  methods<K extends Method>(name: K): Sent<K>[] {
    return this.calls.filter((c) => c.method === name).map((c) => c.req as Sent<K>);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------------------------

const rt = (id: string, init: { traits?: ResourceType_Trait[]; annotations?: Any[] } = {}) =>
  create(ResourceTypeSchema, { id, displayName: id, ...init });

/** The rejection of `p` (fails the test if it resolves). */
const rejectionOf = (p: Promise<unknown>): Promise<RpcError> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as RpcError,
  );

const user = (id: string, extra: Any[] = []) =>
  create(ResourceSchema, {
    id: { resourceType: 'user', resource: id },
    displayName: `User ${id}`,
    annotations: [annotation(UserTraitSchema), ...extra],
  });
const group = (id: string, extra: Any[] = []) =>
  create(ResourceSchema, {
    id: { resourceType: 'group', resource: id },
    displayName: `Group ${id}`,
    annotations: [annotation(GroupTraitSchema), ...extra],
  });
const res = (type: string, id: string, extra: Any[] = [], parent?: Resource) =>
  create(ResourceSchema, {
    id: { resourceType: type, resource: id },
    displayName: `${type} ${id}`,
    annotations: extra,
    parentResourceId: parent?.id,
  });

/** A project whose repos are its children (listed per project, with the project as parent). */
const projectWithRepos = (id: string) =>
  res('project', id, [annotation(ChildResourceTypeSchema, { resourceTypeId: 'repo' })]);

/** Users, groups, and projects with repos under them. */
const TREE_TYPES = [
  rt('user', { traits: [ResourceType_Trait.USER] }),
  rt('group', { traits: [ResourceType_Trait.GROUP] }),
  rt('project'),
  rt('repo'),
];

const ent = (r: Resource, slug: string) =>
  create(EntitlementSchema, { id: `${key(r.id)}:${slug}`, resource: r, slug, displayName: slug });
const grant = (e: Entitlement, p: Resource, annotations: Any[] = []) =>
  create(GrantSchema, { id: `${e.id}:${key(p.id)}`, entitlement: e, principal: p, annotations });
const expandable = (srcIds: string[], init: { shallow?: boolean; resourceTypeIds?: string[] } = {}) =>
  annotation(GrantExpandableSchema, { entitlementIds: srcIds, ...init });

const noSleep = async () => {};

function unavailable(msg: string, rl?: { remaining: bigint; resetAtMs: number }) {
  return new RpcError(grpc.status.UNAVAILABLE, msg, {
    rateLimit: rl
      ? create(V2RateLimitDescriptionSchema, {
          status: V2Status.OVERLIMIT,
          limit: 10n,
          remaining: rl.remaining,
          resetAt: timestampFromMs(rl.resetAtMs),
        })
      : undefined,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Sync tests
// ---------------------------------------------------------------------------------------------------------------

describe('runSync: order, paging and child types', () => {
  const project1 = projectWithRepos('p1');
  const project2 = projectWithRepos('p2');
  const project3 = res('project', 'p3');
  const data: FakeData = {
    types: TREE_TYPES,
    resources: {
      user: [user('u1'), user('u2'), user('u3'), user('u4'), user('u5')],
      group: [group('g1')],
      project: [project1, project2, project3],
      [`repo@project:p1`]: [
        res('repo', 'r1', [], project1),
        res('repo', 'r2', [], project1),
        res('repo', 'r3', [], project1),
      ],
      [`repo@project:p2`]: [
        res('repo', 'r4', [], project2),
        res('repo', 'r1', [], project2) /* duplicate: first wins */,
      ],
    },
    entitlements: {},
    grants: {},
  };
  const g1 = data.resources.group[0];
  const member = ent(g1, 'member');
  data.entitlements['group:g1'] = [member];
  data.grants['group:g1'] = [grant(member, user('u1')), grant(member, user('u2')), grant(member, user('u3'))];

  it('walks every page in the Go order, children depth-first with parent_resource_id', async () => {
    const client = new FakeClient(data);
    const store = new MemoryStore();
    const progress: SyncProgress[] = [];
    client.lastStats = { apiRequests: 42, rateLimitWaits: 0, rateLimitWaitMs: 0, retries: 0 };
    const summary = await runSync(client, store, { sleep: noSleep, onProgress: (p) => progress.push(p) });

    // Phases in order.
    const order = client.calls.map((c) => c.method).filter((m, i, a) => m !== a[i - 1]);
    expect(order).toEqual([
      'validate',
      'listResourceTypes',
      'listResources',
      'listEntitlements',
      'listGrants',
      'cleanup',
    ]);
    // Resource types: 4 types in pages of 2.
    expect(client.methods('listResourceTypes').map((r) => r.pageToken)).toEqual(['', '2']);

    const lr = client
      .methods('listResources')
      .map((r) => `${r.resourceTypeId}${r.parentResourceId ? '@' + key(r.parentResourceId) : ''}#${r.pageToken}`);
    expect(lr).toEqual([
      'user#',
      'user#2',
      'user#4',
      'group#',
      'project#',
      // children of the first page (p1, p2) before the next project page
      'repo@project:p1#',
      'repo@project:p1#2',
      'repo@project:p2#',
      'project#2',
      'repo#', // every type gets a top-level call, child-only types included
    ]);
    expect(store.res.size).toBe(5 + 1 + 3 + 4);
    expect(store.res.get('repo:r1')!.parentResourceId?.resource).toBe('p1');
    expect(summary.dropped.duplicateResources).toBe(1);
    expect(summary.resources).toBe(13);
    expect(summary.perType.repo.resources).toBe(4);
    expect(summary.perType.group).toEqual({ resources: 1, entitlements: 1, grants: 3 });
    // One ListEntitlements and one ListGrants (two pages) per stored resource.
    expect(client.methods('listEntitlements')).toHaveLength(13);
    expect(
      client
        .methods('listGrants')
        .filter((r) => key(r.resource?.id) === 'group:g1')
        .map((r) => r.pageToken),
    ).toEqual(['', '2']);
    expect(store.grantRows.size).toBe(3);
    expect(summary.grants).toBe(3);
    expect(summary.entitlements).toBe(1);
    // active_sync_id is sent because sdk_version >= 0.4.3
    expect(client.methods('listResources')[0].activeSyncId).toBe('sync-1');
    expect(store.started).toBe(1);
    expect(store.ended).toBe(1);
    expect(summary.apiRequests).toBe(42);
    expect(summary.rpcCount).toBe(client.calls.length);
    expect(progress.at(-1)!.phase).toBe('done');
    expect(progress.some((p) => p.phase === 'grants' && p.resourceTypeId === 'group')).toBe(true);
    expect(progress.at(-1)!.serverStats?.apiRequests).toBe(42);
  });

  it('reports each resource type finished per phase: child types when their phase ends, after their last resource', async () => {
    const finished: string[] = [];
    await runSync(new FakeClient(data), new MemoryStore(), {
      sleep: noSleep,
      onTypeFinished: (e) => finished.push(`${e.phase}:${e.resourceTypeId}:${e.counts.resources}/${e.counts.grants}`),
    });
    expect(finished).toEqual([
      // resources: top-level types as their listing ends; repo (a child type) when the phase ends, complete
      'resources:user:5/0',
      'resources:group:1/0',
      'resources:project:3/0',
      'resources:repo:4/0',
      // entitlements and grants: a type is finished with its last resource (repos sit between p2 and p3)
      'entitlements:user:5/0',
      'entitlements:group:1/0',
      'entitlements:repo:4/0',
      'entitlements:project:3/0',
      'grants:user:5/0',
      'grants:group:1/3',
      'grants:repo:4/0',
      'grants:project:3/0',
    ]);
  });

  it('does not send active_sync_id to an old connector', async () => {
    const client = new FakeClient(data);
    client.sdkVersion = '';
    await runSync(client, new MemoryStore(), { sleep: noSleep });
    expect(client.methods('listResources')[0].activeSyncId).toBe('');
  });
});

describe('runSync: skip annotations', () => {
  it('honours SkipEntitlementsAndGrants / SkipEntitlements / SkipGrants on types and resources', async () => {
    const data: FakeData = {
      types: [
        rt('a', { annotations: [annotation(SkipEntitlementsAndGrantsSchema)] }),
        rt('b', { annotations: [annotation(SkipEntitlementsSchema)] }),
        rt('c'),
      ],
      resources: {
        a: [res('a', '1')],
        b: [res('b', '1')],
        c: [
          res('c', '1'),
          res('c', '2', [annotation(SkipGrantsSchema)]),
          res('c', '3', [annotation(SkipEntitlementsAndGrantsSchema)]),
        ],
      },
      entitlements: {},
      grants: {},
    };
    const client = new FakeClient(data);
    const finished: string[] = [];
    await runSync(client, new MemoryStore(), {
      sleep: noSleep,
      onTypeFinished: (e) => finished.push(`${e.phase}:${e.resourceTypeId}`),
    });
    // A type whose resources were all skipped in a phase is not reported as finished there.
    expect(finished).toEqual(['resources:a', 'resources:b', 'resources:c', 'entitlements:c', 'grants:b', 'grants:c']);
    expect(client.methods('listEntitlements').map((r) => key(r.resource?.id))).toEqual(['c:1', 'c:2']);
    expect(client.methods('listGrants').map((r) => key(r.resource?.id))).toEqual(['b:1', 'c:1']);
  });
});

describe('runSync: validation failures', () => {
  it('fails when a resource lacks a trait its type declares', async () => {
    const data: FakeData = {
      types: [rt('user', { traits: [ResourceType_Trait.USER] })],
      resources: { user: [user('u1'), res('user', 'u2')] },
      entitlements: {},
      grants: {},
    };
    const err = await runSync(new FakeClient(data), new MemoryStore(), { sleep: noSleep }).catch((e) => e);
    expect(err).toBeInstanceOf(SyncError);
    expect(err.message).toBe('resource user:u2 was missing expected trait UserTrait');
  });

  it('fails on a stuck page token', async () => {
    const client = new FakeClient({
      types: [rt('x')],
      resources: { x: [res('x', '1')] },
      entitlements: {},
      grants: {},
    });
    client.override.listGrants = () => ({ list: [], nextPageToken: 'same', annotations: [] });
    let n = 0;
    client.override.listGrants = (req) => ({
      list: [],
      nextPageToken: n++ === 0 ? 'same' : req.pageToken,
      annotations: [],
    });
    const err = await runSync(client, new MemoryStore(), { sleep: noSleep }).catch((e) => e);
    expect(err).toBeInstanceOf(SyncError);
    expect(err.message).toMatch(/ListGrants\(x:1\): stuck page token/);
    expect(client.methods('listGrants')).toHaveLength(2);
  });

  it('fails on a page token cycle', async () => {
    const client = new FakeClient({
      types: [rt('x')],
      resources: { x: [res('x', '1')] },
      entitlements: {},
      grants: {},
    });
    const next: Record<string, string> = { '': 'a', a: 'b', b: 'a' };
    client.override.listEntitlements = (req) => ({ list: [], nextPageToken: next[req.pageToken], annotations: [] });
    const err = await runSync(client, new MemoryStore(), { sleep: noSleep }).catch((e) => e);
    expect(err.message).toMatch(/page token cycle/);
    expect(client.methods('listEntitlements').map((r) => r.pageToken)).toEqual(['', 'a', 'b']);
  });

  it('aborts on a failing Validate with a non-retryable code', async () => {
    const client = new FakeClient({ types: [], resources: {}, entitlements: {}, grants: {} });
    client.failures.validate = [new RpcError(grpc.status.UNAUTHENTICATED, 'bad api key')];
    const store = new MemoryStore();
    const err = await runSync(client, store, { sleep: noSleep }).catch((e) => e);
    expect(err).toBeInstanceOf(SyncError);
    expect(err.message).toBe('Validate failed: UNAUTHENTICATED: bad api key');
    expect(err.cause).toBeInstanceOf(RpcError);
    expect(store.started).toBe(0);
  });
});

describe('runSync: retries', () => {
  it('retries UNAVAILABLE with waits from the RateLimitDescription detail, else linear', async () => {
    const now = 1_000_000;
    const sleeps: number[] = [];
    const client = new FakeClient({
      types: [rt('x')],
      resources: { x: [res('x', '1')] },
      entitlements: {},
      grants: {},
    });
    client.failures.validate = [unavailable('starting up')];
    client.failures.listResources = [
      unavailable('slow down', { remaining: 0n, resetAtMs: now + 5_000 }), // until reset: 5 s
      unavailable('slow down', { remaining: 4n, resetAtMs: now + 10_000 }), // ceil(10 s / 4) = 3 s
      unavailable('slow down', { remaining: 0n, resetAtMs: now + 3_600_000 }), // capped at 60 s
      new RpcError(grpc.status.DEADLINE_EXCEEDED, 'timeout'), // no detail: attempts(4) × 1 s
    ];
    const summary = await runSync(client, new MemoryStore(), {
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    expect(sleeps).toEqual([1_000, 5_000, 3_000, 60_000, 4_000]);
    expect(summary.retries).toBe(5);
    expect(summary.rateLimitWaits).toBe(3);
    expect(summary.rateLimitWaitMs).toBe(68_000);
    expect(client.methods('listResources')).toHaveLength(5);
  });

  it('gives up after maxAttempts', async () => {
    const client = new FakeClient({ types: [rt('x')], resources: {}, entitlements: {}, grants: {} });
    client.override.listResources = () => {
      throw unavailable('down');
    };
    const sleeps: number[] = [];
    const err = await runSync(client, new MemoryStore(), {
      retry: { maxAttempts: 4 },
      sleep: async (ms) => void sleeps.push(ms),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(SyncError);
    expect(err.message).toBe('ListResources(x) failed after 4 attempts: UNAVAILABLE: down');
    expect(sleeps).toEqual([1_000, 2_000, 3_000]);
  });

  it('does not retry other codes or a dead connector', async () => {
    const client = new FakeClient({
      types: [rt('x')],
      resources: { x: [res('x', '1')] },
      entitlements: {},
      grants: {},
    });
    client.failures.listEntitlements = [new RpcError(grpc.status.PERMISSION_DENIED, 'nope')];
    const err = await runSync(client, new MemoryStore(), { sleep: noSleep }).catch((e) => e);
    expect(err.message).toBe('ListEntitlements(x:1) failed: PERMISSION_DENIED: nope');
    expect(client.methods('listEntitlements')).toHaveLength(1);

    const client2 = new FakeClient({
      types: [rt('x')],
      resources: { x: [res('x', '1')] },
      entitlements: {},
      grants: {},
    });
    client2.failures.listGrants = [new ConnectorExitedError({ code: 2, signal: null, stderrTail: 'panic: boom\n' })];
    const err2 = await runSync(client2, new MemoryStore(), { sleep: noSleep }).catch((e) => e);
    expect(err2).toBeInstanceOf(SyncError);
    expect(err2.cause).toBeInstanceOf(ConnectorExitedError);
    expect(err2.message).toMatch(/exited with code 2.*\n.*panic: boom/s);
    expect(client2.methods('listGrants')).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Grant expansion
// ---------------------------------------------------------------------------------------------------------------

describe('runSync: grant expansion', () => {
  const u1 = user('u1');
  const u2 = user('u2');
  const u3 = user('u3');
  const g1 = group('g1');
  const g2 = group('g2');
  const r1 = res('role', 'r1');
  const g1m = ent(g1, 'member');
  const g2m = ent(g2, 'member');
  const r1a = ent(r1, 'assigned');
  const types = [
    rt('user', { traits: [ResourceType_Trait.USER] }),
    rt('group', { traits: [ResourceType_Trait.GROUP] }),
    rt('role'),
  ];

  function scenario(grants: Record<string, Grant[]>) {
    return new FakeClient({
      types,
      resources: { user: [u1, u2, u3], group: [g1, g2], role: [r1] },
      entitlements: { 'group:g1': [g1m], 'group:g2': [g2m], 'role:r1': [r1a] },
      grants,
    });
  }
  const sourcesOf = (store: MemoryStore, id: string) => {
    const g = store.grantRows.get(id);
    return g ? Object.keys(g.sources?.sources ?? {}).sort() : undefined;
  };

  it('propagates through a chain and records sources', async () => {
    const client = scenario({
      'group:g1': [grant(g1m, u1)],
      'group:g2': [grant(g2m, u2), grant(g2m, u3), grant(g2m, g1, [expandable([g1m.id])])], // g1 members are g2 members
      'role:r1': [grant(r1a, g2, [expandable([g2m.id])]), grant(r1a, u3)], // g2 members hold role r1; u3 directly too
    });
    const store = new MemoryStore();
    const summary = await runSync(client, store, { sleep: noSleep });
    // u1 is derived into g2, then into r1.
    expect(sourcesOf(store, `${g2m.id}:user:u1`)).toEqual([g1m.id]);
    expect(sourcesOf(store, `${r1a.id}:user:u1`)).toEqual([g2m.id]);
    expect(sourcesOf(store, `${r1a.id}:user:u2`)).toEqual([g2m.id]);
    // u3 held r1 directly: both the direct and the derived source are recorded.
    expect(sourcesOf(store, `${r1a.id}:user:u3`)).toEqual([g2m.id, r1a.id].sort());
    // g1 (the group principal) holds g2 member, so it also holds r1 via g2.
    expect(sourcesOf(store, `${r1a.id}:group:g1`)).toEqual([g2m.id]);
    const created = store.grantRows.get(`${r1a.id}:user:u1`)!;
    expect(created.entitlement?.id).toBe(r1a.id);
    expect(created.principal?.id?.resource).toBe('u1');
    expect(summary.expandedGrants).toBe(4); // g2m:u1, r1a:u1, r1a:u2, r1a:group:g1
    expect(summary.updatedGrants).toBe(1); // r1a:u3
    expect(summary.grants).toBe(6 + 4); // 6 listed + 4 created
  });

  it('works against the real c1z SyncStore (paged reads interleaved with writes)', async () => {
    const client = scenario({
      'group:g1': [grant(g1m, u1)],
      'group:g2': [grant(g2m, u2), grant(g2m, u3), grant(g2m, g1, [expandable([g1m.id])])],
      'role:r1': [grant(r1a, g2, [expandable([g2m.id])]), grant(r1a, u3)],
    });
    const store = SyncStore.create();
    try {
      const summary = await runSync(client, store, { sleep: noSleep });
      expect(summary.syncId).toBe(store.listSyncs().at(-1)?.syncId);
      const counts = store.counts();
      expect(counts.resources).toEqual({ user: 3, group: 2, role: 1 });
      expect(counts.entitlements).toBe(3);
      expect(counts.grants).toBe(summary.grants);
      const u1r = store.getGrant(`${r1a.id}:user:u1`)!;
      expect(Object.keys(u1r.sources?.sources ?? {})).toEqual([g2m.id]);
      const u3r = store.getGrant(`${r1a.id}:user:u3`)!;
      expect(Object.keys(u3r.sources?.sources ?? {}).sort()).toEqual([g2m.id, r1a.id].sort());
    } finally {
      store.close();
    }
  });

  it('shallow edges only follow direct grants; resource_type_ids filters principals', async () => {
    const client = scenario({
      'group:g1': [grant(g1m, u1)],
      'group:g2': [grant(g2m, u2), grant(g2m, g1, [expandable([g1m.id])])],
      'role:r1': [grant(r1a, g2, [expandable([g2m.id], { shallow: true, resourceTypeIds: ['user'] })])],
    });
    const store = new MemoryStore();
    await runSync(client, store, { sleep: noSleep });
    expect(store.grantRows.has(`${g2m.id}:user:u1`)).toBe(true); // deep edge
    expect(store.grantRows.has(`${r1a.id}:user:u2`)).toBe(true); // direct holder of g2
    expect(store.grantRows.has(`${r1a.id}:user:u1`)).toBe(false); // derived holder, shallow edge
    expect(store.grantRows.has(`${r1a.id}:group:g1`)).toBe(false); // not a user
  });

  it('resolves cycles (or fails when asked not to)', async () => {
    const grants = () => ({
      'group:g1': [grant(g1m, u1), grant(g1m, g2, [expandable([g2m.id])])], // g2 members are g1 members
      'group:g2': [grant(g2m, u2), grant(g2m, g1, [expandable([g1m.id])])], // g1 members are g2 members
    });
    const store = new MemoryStore();
    await runSync(scenario(grants()), store, { sleep: noSleep });
    expect(store.grantRows.has(`${g2m.id}:user:u1`)).toBe(true);
    expect(store.grantRows.has(`${g1m.id}:user:u2`)).toBe(true);

    const err = await runSync(scenario(grants()), new MemoryStore(), {
      sleep: noSleep,
      expansion: { fixCycles: false },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(SyncError);
    expect(err.message).toMatch(/cycle detected in the entitlement graph/);
  });

  it('fails when the source entitlement is not on the grant principal', async () => {
    const client = scenario({ 'role:r1': [grant(r1a, g2, [expandable([g1m.id])])] });
    const err = await runSync(client, new MemoryStore(), { sleep: noSleep }).catch((e) => e);
    expect(err.message).toMatch(/source entitlement resource id did not match grant principal id/);
  });

  it('fails beyond the max depth', async () => {
    const client = scenario({
      'group:g2': [grant(g2m, g1, [expandable([g1m.id])])],
      'role:r1': [grant(r1a, g2, [expandable([g2m.id])])],
    });
    const err = await runSync(client, new MemoryStore(), { sleep: noSleep, expansion: { maxDepth: 1 } }).catch(
      (e) => e,
    );
    expect(err.message).toMatch(/exceeded max depth \(1\)/);
  });

  it('orders strongly connected components topologically', () => {
    const comps = stronglyConnectedComponents([
      { src: 'c', dst: 'd' },
      { src: 'a', dst: 'b' },
      { src: 'b', dst: 'c' },
      { src: 'c', dst: 'b' },
    ]);
    const pos = (n: string) => comps.findIndex((c) => c.includes(n));
    expect(comps.map((c) => [...c].sort())).toContainEqual(['b', 'c']);
    expect(pos('a')).toBeLessThan(pos('b'));
    expect(pos('c')).toBeLessThan(pos('d'));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Rate-limit gate
// ---------------------------------------------------------------------------------------------------------------

describe('rate-limit gate', () => {
  function transport(statuses: Array<{ status: V1Status; resetAtMs?: number }>) {
    const dos: DoRequest[] = [];
    const reports: ReportRequest[] = [];
    let i = 0;
    return {
      dos,
      reports,
      t: {
        async do(req: DoRequest) {
          dos.push(req);
          const s = statuses[Math.min(i, statuses.length - 1)];
          i++;
          return create(DoResponseSchema, {
            requestToken: `tok${i}`,
            description: { status: s.status, resetAt: s.resetAtMs ? timestampFromMs(s.resetAtMs) : undefined },
          });
        },
        async report(req: ReportRequest) {
          reports.push(req);
          return {};
        },
      },
    };
  }
  const listGrantsReq = create(GrantsServiceListGrantsRequestSchema, {
    resource: { id: { resourceType: 'group', resource: 'g1' } },
  });
  const call = (reply: unknown) => ({
    path: '/c1.connector.v2.GrantsService/ListGrants',
    schema: GrantsServiceListGrantsRequestSchema,
    request: listGrantsReq,
    emptyReply: () => ({ empty: true }) as unknown,
    reply,
  });

  it('asks Do with the Go descriptors, invokes, then reports the reply annotation', async () => {
    const { t, dos, reports } = transport([{ status: V1Status.EMPTY }]);
    const v1 = annotation(V1RateLimitDescriptionSchema, { status: V1Status.OK, remaining: 7n });
    const reply = { annotations: [v1] };
    const out = await gatedInvoke(t, {}, call(reply), async () => reply);
    expect(out).toBe(reply);
    expect(dos).toHaveLength(1);
    expect(dos[0].service).toBe('connector');
    expect(dos[0].requestToken).toBe('');
    expect(dos[0].descriptors?.entries.map((e) => [e.key, e.value])).toEqual([
      ['connector_method', '/c1.connector.v2.GrantsService/ListGrants'],
      ['connector_resource_type', 'group'],
    ]);
    expect(reports).toHaveLength(1);
    expect(reports[0].requestToken).toBe('tok1');
    expect(reports[0].description?.status).toBe(V1Status.OK);
    expect(reports[0].description?.remaining).toBe(7n);

    // ListResources: resource_type_id
    const { t: t2, dos: dos2 } = transport([{ status: V1Status.OK }]);
    await gatedInvoke(
      t2,
      { descriptors: [{ key: 'tenant', value: 'acme' }] },
      {
        path: '/c1.connector.v2.ResourcesService/ListResources',
        schema: ResourcesServiceListResourcesRequestSchema,
        request: create(ResourcesServiceListResourcesRequestSchema, { resourceTypeId: 'user' }),
        emptyReply: () => ({}),
      },
      async () => ({}),
    );
    expect(dos2[0].descriptors?.entries.map((e) => `${e.key}=${e.value}`)).toEqual([
      'tenant=acme',
      'connector_method=/c1.connector.v2.ResourcesService/ListResources',
      'connector_resource_type=user',
    ]);
  });

  it('reports STATUS_ERROR and rethrows when the call fails', async () => {
    const { t, reports } = transport([{ status: V1Status.OK }]);
    const boom = new RpcError(grpc.status.NOT_FOUND, 'nope');
    await expect(gatedInvoke(t, {}, call({}), async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(reports[0].description?.status).toBe(V1Status.ERROR);
  });

  it('waits on OVERLIMIT (at least 1 s), echoing the token, and gives up past 1 h 5 min', async () => {
    let now = 10_000_000;
    const sleeps: number[] = [];
    const opts = { now: () => now, sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)) };
    const { t, dos } = transport([
      { status: V1Status.OVERLIMIT, resetAtMs: now + 30_000 },
      { status: V1Status.OVERLIMIT, resetAtMs: now }, // already past: min 1 s
      { status: V1Status.OK },
    ]);
    let invoked = 0;
    await gatedInvoke(t, opts, call({}), async () => (invoked++, {}));
    expect(sleeps).toEqual([30_000, 1_000]);
    expect(dos.map((d) => d.requestToken)).toEqual(['', 'tok1', 'tok2']);
    expect(invoked).toBe(1);

    const { t: t2 } = transport([{ status: V1Status.OVERLIMIT, resetAtMs: now + 2 * 3_600_000 }]);
    const err = await rejectionOf(gatedInvoke(t2, opts, call({}), async () => ({})));
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.message).toBe('overlimit');
  });

  it('unknown status: error by default, Go-style empty reply when not strict', async () => {
    let invoked = 0;
    const { t } = transport([{ status: V1Status.ERROR }]);
    const err = await rejectionOf(gatedInvoke(t, {}, call({}), async () => (invoked++, {})));
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe(grpc.status.UNKNOWN);
    const out = await gatedInvoke(t, { strict: false }, call({}), async () => (invoked++, {}));
    expect(out).toEqual({ empty: true });
    expect(invoked).toBe(0);
  });

  it('a failing Do fails the call with UNKNOWN', async () => {
    const t = {
      do: async () =>
        Promise.reject(new RpcError(grpc.status.UNIMPLEMENTED, 'unknown service c1.ratelimit.v1.RateLimiterService')),
      report: async () => ({}),
    };
    const err = await rejectionOf(gatedInvoke(t, {}, call({}), async () => ({})));
    expect(err.code).toBe(grpc.status.UNKNOWN);
    expect(err.message).toMatch(/rate limiter Do failed/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Client helpers
// ---------------------------------------------------------------------------------------------------------------

describe('client helpers', () => {
  it('decodes google.rpc.Status details and the RateLimitDescription in them', () => {
    const rl = create(V2RateLimitDescriptionSchema, {
      status: V2Status.OVERLIMIT,
      limit: 5n,
      remaining: 0n,
      resetAt: timestampFromMs(1_700_000_000_000),
    });
    const w = new BinaryWriter();
    w.uint32((1 << 3) | 0).int32(14);
    w.uint32((2 << 3) | 2).string('slow down');
    w.uint32((3 << 3) | 2).fork();
    w.uint32((1 << 3) | 2).string('type.googleapis.com/google.protobuf.Duration');
    w.uint32((2 << 3) | 2).bytes(new Uint8Array([8, 1]));
    w.join();
    w.uint32((3 << 3) | 2).fork();
    w.uint32((1 << 3) | 2).string('type.googleapis.com/c1.connector.v2.RateLimitDescription');
    w.uint32((2 << 3) | 2).bytes(toBinary(V2RateLimitDescriptionSchema, rl));
    w.join();
    const st = decodeRpcStatus(w.finish());
    expect(st.code).toBe(14);
    expect(st.message).toBe('slow down');
    expect(st.details).toHaveLength(2);
    const decoded = rateLimitFromDetails(st.details)!;
    expect(decoded.limit).toBe(5n);
    expect(decoded.status).toBe(V2Status.OVERLIMIT);
  });

  it('parses the stats header', () => {
    expect(parseStatsHeader('{"apiRequests":3,"rateLimitWaits":1,"rateLimitWaitMs":250,"retries":2}')).toEqual({
      apiRequests: 3,
      rateLimitWaits: 1,
      rateLimitWaitMs: 250,
      retries: 2,
    });
    expect(parseStatsHeader('nope')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Provisioning
// ---------------------------------------------------------------------------------------------------------------

describe('provisioning flows', () => {
  const parent = res('org', 'o1');
  const u1 = create(ResourceSchema, {
    ...user('u1'),
    parentResourceId: parent.id,
    description: 'd',
    externalId: create(ExternalIdSchema, { id: 'ext-1' }),
  });
  const g1 = group('g1');
  const m = ent(g1, 'member');
  const gr = grant(m, u1);

  function store() {
    const s = new MemoryStore();
    s.putResources([u1, g1]);
    s.putEntitlements([m]);
    s.putGrants([gr]);
    return s;
  }

  it('grant: sends the stored entitlement and the principal without its parent', async () => {
    const client = new FakeClient({ types: [], resources: {}, entitlements: {}, grants: {} });
    client.override.grant = () => ({ annotations: [annotation(GrantAlreadyExistsSchema)], grants: [] });
    const out = await grantEntitlement(client, store(), {
      entitlementId: m.id,
      principalType: 'user',
      principalId: 'u1',
    });
    const req = client.methods('grant')[0];
    expect(req.entitlement?.id).toBe(m.id);
    expect(req.principal?.id?.resource).toBe('u1');
    expect(req.principal?.parentResourceId).toBeUndefined();
    expect(req.principal?.externalId?.id).toBe('ext-1');
    expect(req.principal?.description).toBe('d');
    expect(out.alreadyExists).toBe(true);
    expect(out.alreadyRevoked).toBe(false);

    await expect(
      grantEntitlement(client, store(), {
        entitlementId: 'nope',
        principalType: 'user',
        principalId: 'u1',
        file: 'sync.c1z',
      }),
    ).rejects.toThrow('entitlement "nope" not found in sync.c1z');
    await expect(
      grantEntitlement(client, store(), {
        entitlementId: m.id,
        principalType: 'user',
        principalId: 'zz',
        file: 'sync.c1z',
      }),
    ).rejects.toThrow(/principal user:zz .*not found in sync.c1z/);
  });

  it('revoke: loads the grant and sends it without the principal parent', async () => {
    const client = new FakeClient({ types: [], resources: {}, entitlements: {}, grants: {} });
    const out = await revokeGrant(client, store(), gr.id);
    const req = client.methods('revoke')[0];
    expect(req.grant?.id).toBe(gr.id);
    expect(req.grant?.entitlement?.id).toBe(m.id);
    expect(req.grant?.principal?.parentResourceId).toBeUndefined();
    expect(out.alreadyRevoked).toBe(false);
    await expect(revokeGrant(client, store(), 'missing', { file: 'x.c1z' })).rejects.toThrow(
      'grant "missing" not found in x.c1z',
    );
  });

  it('createAccount and deleteResource (with V2 fallback)', async () => {
    const client = new FakeClient({ types: [], resources: {}, entitlements: {}, grants: {} });
    client.override.createAccount = () => ({
      annotations: [],
      encryptedData: [],
      result: { case: 'alreadyExists', value: { resource: u1 } },
    });
    const acct = await createAccount(client, { login: 'jdoe', email: 'j@example.com', profile: { team: 'x' } });
    const req = client.methods('createAccount')[0];
    expect(req.accountInfo?.emails.map((e) => ({ address: e.address, isPrimary: e.isPrimary }))).toEqual([
      { address: 'j@example.com', isPrimary: true },
    ]);
    const options = req.credentialOptions?.options;
    expect(options?.case === 'randomPassword' ? options.value.length : undefined).toBe(20n);
    expect(req.accountInfo?.profile).toEqual({ team: 'x' });
    expect(acct.alreadyExists).toBe(true);
    expect(acct.resource?.id?.resource).toBe('u1');

    client.failures.deleteResource = [
      new RpcError(grpc.status.UNIMPLEMENTED, 'resource type does not have resource manager configured'),
    ];
    client.override.deleteResourceV2 = () => ({ annotations: [annotation(ResourceDoesNotExistSchema)] });
    const del = await deleteResource(client, { resourceType: 'user', resourceId: 'u9' });
    expect(del.usedV2).toBe(true);
    expect(del.doesNotExist).toBe(true);
    expect(client.methods('deleteResourceV2')[0].resourceId?.resource).toBe('u9');

    client.failures.deleteResource = [new RpcError(grpc.status.FAILED_PRECONDITION, 'provisioning is not enabled')];
    await expect(deleteResource(client, { resourceType: 'user', resourceId: 'u9' })).rejects.toThrow(
      'provisioning is not enabled',
    );
  });
});

describe('runSync: checkpoints, resume and restarts', () => {
  const project1 = projectWithRepos('p1');
  const project2 = projectWithRepos('p2');
  const [u1, u2, u3, g1, g2] = [user('u1'), user('u2'), user('u3'), group('g1'), group('g2')];
  const g1m = ent(g1, 'member');
  const g2m = ent(g2, 'member');
  const repoAdmin = (r: Resource) => ent(r, 'admin');
  const repos = [res('repo', 'r1', [], project1), res('repo', 'r2', [], project1), res('repo', 'r3', [], project2)];
  const data: FakeData = {
    types: TREE_TYPES,
    resources: {
      user: [u1, u2, u3],
      group: [g1, g2],
      project: [project1, project2],
      'repo@project:p1': repos.slice(0, 2),
      'repo@project:p2': repos.slice(2),
    },
    entitlements: {
      'group:g1': [g1m],
      'group:g2': [g2m],
      ...Object.fromEntries(repos.map((r) => [key(r.id), [repoAdmin(r)]])),
    },
    grants: {
      'group:g1': [grant(g1m, u1), grant(g1m, u2)],
      'group:g2': [grant(g2m, u3), grant(g2m, g1, [expandable([g1m.id])])],
      ...Object.fromEntries(
        repos.map((r) => [key(r.id), [grant(repoAdmin(r), g2, [expandable([g2m.id])]), grant(repoAdmin(r), u2)]]),
      ),
    },
  };

  /** Everything the store's sync holds, as sorted JSON (what "identical" means). */
  const contents = (store: SyncStore) =>
    [
      ...[...store.resourceTypes()].map((x) => `t ${JSON.stringify(messageToJson(ResourceTypeSchema, x))}`),
      ...[...store.resources()].map((x) => `r ${JSON.stringify(messageToJson(ResourceSchema, x))}`),
      ...[...store.entitlements()].map((x) => `e ${JSON.stringify(messageToJson(EntitlementSchema, x))}`),
      ...[...store.grants()].map((x) => `g ${JSON.stringify(messageToJson(GrantSchema, x))}`),
    ].sort();
  /** The list calls a client answered, as "method what page-token". */
  const listCalls = (c: FakeClient) =>
    c.calls
      .filter((x) => x.method.startsWith('list'))
      .map((x) => {
        const r = x.req as {
          resourceTypeId?: string;
          parentResourceId?: ResourceId;
          resource?: Resource;
          pageToken: string;
        };
        return `${x.method} ${r.resourceTypeId ?? ''}${r.parentResourceId ? `<${key(r.parentResourceId)}` : ''}${r.resource ? key(r.resource.id) : ''} ${r.pageToken}`;
      });

  /** A client that answers `n - 1` list calls and fails the nth with `err` (and every call after it). */
  function failingAt(n: number, err: () => Error): FakeClient {
    const client = new FakeClient(data);
    let count = 0;
    for (const m of ['listResourceTypes', 'listResources', 'listEntitlements', 'listGrants'] as const) {
      const normal = client[m].bind(client) as (req: never) => Promise<unknown>;
      (client as unknown as Record<string, unknown>)[m] = (req: never) =>
        ++count >= n ? Promise.reject(err()) : normal(req);
    }
    return client;
  }

  const exited = () => new ConnectorExitedError({ code: null, signal: 'SIGKILL', pid: 4242 });

  let whole: { contents: string[]; calls: string[] };
  beforeAll(async () => {
    const client = new FakeClient(data);
    const store = SyncStore.create();
    try {
      const summary = await runSync(client, store, { sleep: noSleep });
      expect(summary.expandedGrants).toBeGreaterThan(0);
      expect(summary.resumed).toBe(false);
      expect(store.listSyncs()[0].syncToken).toBe(''); // a finished sync keeps no checkpoint
      whole = { contents: contents(store), calls: listCalls(client) };
    } finally {
      store.close();
    }
  });

  it('the reference sync has many pages and expands grants', () => {
    expect(whole.calls.length).toBeGreaterThan(20);
    expect(whole.contents.filter((l) => l.includes('"sources"')).length).toBeGreaterThan(0);
  });

  it('stopped after any stored page, resuming from the checkpoint gives the same sync, each page listed once', async () => {
    for (let n = 1; n <= whole.calls.length; n++) {
      const store = SyncStore.create();
      try {
        const first = failingAt(n, () => new RpcError(grpc.status.INTERNAL, 'boom'));
        await expect(runSync(first, store, { sleep: noSleep })).rejects.toThrow(/boom/);
        const unfinished = store.unfinishedSync()!;
        expect(unfinished.endedAt).toBeNull();
        const checkpoint = parseCheckpoint(unfinished.syncToken);
        const second = new FakeClient(data);
        const summary = await runSync(second, store, {
          sleep: noSleep,
          resume: { syncId: unfinished.syncId, checkpoint },
        });
        expect(summary.resumed).toBe(true);
        expect(contents(store), `stopped at list call ${n}`).toEqual(whole.contents);
        // The calls answered before the stop, then the resumed ones: exactly the uninterrupted sync's calls.
        expect([...listCalls(first).slice(0, n - 1), ...listCalls(second)], `stopped at list call ${n}`).toEqual(
          whole.calls,
        );
        // The resumed sync's counters cover the whole sync, not only its own part.
        expect(summary.resources).toBe(10);
      } finally {
        store.close();
      }
    }
  });

  it('a connector that exits mid-sync is restarted (Validate again) and the sync goes on from the checkpoint', async () => {
    for (const n of [1, 5, 12, whole.calls.length]) {
      const store = SyncStore.create();
      try {
        const first = failingAt(n, exited);
        const second = new FakeClient(data);
        const waits: number[] = [];
        const summary = await runSync(first, store, {
          sleep: async (ms) => void waits.push(ms),
          restart: { start: () => Promise.resolve(second) },
        });
        expect(summary.restarts).toBe(1);
        expect(waits).toEqual([250]);
        expect(second.methods('validate')).toHaveLength(1);
        expect(contents(store)).toEqual(whole.contents);
        expect([...listCalls(first).slice(0, n - 1), ...listCalls(second)]).toEqual(whole.calls);
      } finally {
        store.close();
      }
    }
  });

  it('gives up after the restarts allowed in a row, with growing waits, naming the exit', async () => {
    const store = SyncStore.create();
    try {
      const waits: number[] = [];
      const err = await runSync(failingAt(3, exited), store, {
        sleep: async (ms) => void waits.push(ms),
        restart: { start: () => Promise.resolve(failingAt(1, exited)), maxInARow: 3 },
      }).then(
        () => new SyncError('done', 'expected the sync to fail'),
        (e: unknown) => e as SyncError,
      );
      expect(err).toBeInstanceOf(SyncError);
      expect(err.message).toMatch(
        /exited 4 times in a row without a page stored in between; giving up after 3 restarts/,
      );
      expect(err.message).toMatch(/connector process 4242 was killed by SIGKILL/);
      expect(waits).toEqual([250, 500, 1000]);
      // What was stored before stays resumable.
      expect(parseCheckpoint(store.unfinishedSync()!.syncToken).actions.length).toBeGreaterThan(0);
    } finally {
      store.close();
    }
  });

  it('without a restart policy, a connector exit fails the sync as before', async () => {
    const store = SyncStore.create();
    try {
      const err = await runSync(failingAt(2, exited), store, { sleep: noSleep }).then(
        () => new SyncError('done', 'expected the sync to fail'),
        (e: unknown) => e as SyncError,
      );
      expect(err.cause).toBeInstanceOf(ConnectorExitedError);
    } finally {
      store.close();
    }
  });
});
