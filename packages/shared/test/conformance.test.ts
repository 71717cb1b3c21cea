import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncStore } from '../src/c1z/index.js';
import { ConnectorExitedError, RpcError, runSync, type ConnectorClient } from '../src/host/index.js';
import { entitlement, grant, groupResource, resource, resourceId, resourceType, userResource } from '../src/index.js';
import {
  EntitlementSchema,
  EntitlementsServiceListEntitlementsResponseSchema,
  type Entitlement,
} from '../src/gen/c1/connector/v2/entitlement_pb.js';
import {
  GrantSchema,
  GrantSourcesSchema,
  GrantSources_GrantSourceSchema,
  GrantsServiceListGrantsResponseSchema,
  type Grant,
} from '../src/gen/c1/connector/v2/grant_pb.js';
import {
  ResourceSchema,
  ResourceTypeSchema,
  ResourceTypesServiceListResourceTypesResponseSchema,
  ResourcesServiceListResourcesResponseSchema,
  type Resource,
  type ResourceId,
  type ResourceType,
} from '../src/gen/c1/connector/v2/resource_pb.js';
import { UserTraitSchema } from '../src/gen/c1/connector/v2/annotation_trait_pb.js';
import { ConnectorServiceValidateResponseSchema } from '../src/gen/c1/connector/v2/connector_pb.js';
import {
  assertNoViolations,
  checkRpcInvariants,
  checkSyncInvariants,
  ConformanceError,
  createFixtureConnector,
  fixtureConnector,
  RPC_INVARIANT_RULES,
  SYNC_INVARIANT_RULES,
  syncInProcess,
  testCallContext,
  type FixtureConfig,
} from '../src/testing/index.js';
import { annotation } from '../src/sdk/annotations.js';
import { BatonIDSchema, ExternalResourceMatchSchema } from '../src/gen/c1/connector/v2/annotation_baton_id_pb.js';
import { MAX_PAGE_TOKEN_BYTES } from '../src/sdk/pagination.js';

// ---------------------------------------------------------------------------------------------------------------
// A small, correct model: users (principals only), groups with a `member` entitlement and a child `project` type
// whose `viewer` entitlement is granted to the parent group through an expandable grant.
// ---------------------------------------------------------------------------------------------------------------

const userType = resourceType({ id: 'user', displayName: 'User', traits: ['user'], skipEntitlementsAndGrants: true });
const groupType = resourceType({ id: 'group', displayName: 'Group', traits: ['group'] });
const projectType = resourceType({ id: 'project', displayName: 'Project' });

interface Model {
  types: ResourceType[];
  resources: Resource[];
  entitlements: Entitlement[];
  grants: Grant[];
}

function user(i: number): Resource {
  return userResource({
    type: userType,
    id: `u${i}`,
    displayName: `User ${i}`,
    emails: [`u${i}@example.com`],
    login: `u${i}`,
  });
}
function group(i: number): Resource {
  return groupResource({ type: groupType, id: `g${i}`, displayName: `Group ${i}`, childTypes: ['project'] });
}
function project(g: Resource, n: number): Resource {
  return resource({ type: projectType, id: `${g.id!.resource}-p${n}`, displayName: `Project ${n}`, parent: g.id });
}

function goodModel(): Model {
  const users = [0, 1, 2, 3, 4].map(user);
  const groups = [0, 1].map(group);
  const projects = groups.map((g) => project(g, 0));
  const members = groups.map((g) =>
    entitlement(g, 'member', { displayName: `${g.displayName} Member`, grantableTo: [userType] }),
  );
  const viewers = projects.map((p) => entitlement(p, 'viewer', { displayName: 'Viewer' }));
  const grants: Grant[] = [];
  groups.forEach((g, gi) => {
    users.forEach((u, ui) => {
      if (ui % (gi + 1) === 0) grants.push(grant(members[gi], u));
    });
  });
  projects.forEach((p, pi) => {
    grants.push(grant(viewers[pi], groups[pi], { expandable: { entitlementIds: [members[pi].id] } }));
  });
  // What expansion writes: the project viewer for a member of the group, with sources.
  grants.push(
    create(GrantSchema, {
      id: `${viewers[0].id}:user:u0`,
      entitlement: viewers[0],
      principal: users[0],
      sources: create(GrantSourcesSchema, { sources: { [members[0].id]: create(GrantSources_GrantSourceSchema) } }),
    }),
  );
  // A principal of a type the connector does not list is fine (e.g. an external identity).
  grants.push(grant(members[1], resourceId('external-user', 'x1')));
  return {
    types: [userType, groupType, projectType],
    resources: [...users, ...groups, ...projects],
    entitlements: [...members, ...viewers],
    grants,
  };
}

const stores: SyncStore[] = [];
afterEach(() => {
  while (stores.length) stores.pop()!.close();
});

function storeOf(m: Model): SyncStore {
  const store = SyncStore.create();
  stores.push(store);
  store.startSync();
  store.putResourceTypes(m.types);
  store.putResources(m.resources);
  store.putEntitlements(m.entitlements);
  store.putGrants(m.grants);
  store.endSync();
  return store;
}

const byId = <T extends { id: string }>(list: T[], id: string): T => list.find((x) => x.id === id)!;
const resById = (m: Model, key: string): Resource =>
  m.resources.find((r) => `${r.id!.resourceType}:${r.id!.resource}` === key)!;
const rulesOf = (violations: string[]) => [...new Set(violations.map((v) => /^\[([^\]]+)\]/.exec(v)?.[1]))];

// ---------------------------------------------------------------------------------------------------------------
// checkSyncInvariants
// ---------------------------------------------------------------------------------------------------------------

describe('checkSyncInvariants', () => {
  it('passes a conformant store (expansion-created grants and principals of unlisted types included)', () => {
    expect(checkSyncInvariants(storeOf(goodModel()))).toEqual([]);
  });

  it('works on a c1z file read back from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'conf-'));
    try {
      const m = goodModel();
      m.grants.push(grant(byId(m.entitlements, 'group:g0:member'), resourceId('user', 'u77')));
      const written = storeOf(m);
      await written.saveC1z(join(dir, 'sync.c1z'));
      const read = await SyncStore.openC1z(join(dir, 'sync.c1z'));
      stores.push(read);
      expect(checkSyncInvariants(read)).toEqual([
        '[grant-principal-missing] grant "group:g0:member:user:u77" has principal "user:u77", which was not emitted as a resource; expected a listed principal, or an ExternalResourceMatch annotation that marks it external',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Each case breaks one invariant; the check must report exactly that rule and name the offending ids.
  const cases: Array<{
    rule: (typeof SYNC_INVARIANT_RULES)[number];
    name: string;
    mutate: (m: Model) => void;
    expect: string[];
  }> = [
    {
      rule: 'resource-type-display-name',
      name: 'a resource type without a display name',
      mutate: (m) => (m.types[2] = create(ResourceTypeSchema, { ...projectType, displayName: '' })),
      expect: ['resource type "project" has no display name'],
    },
    {
      rule: 'resource-type-id',
      name: 'a resource type id with capitals and spaces',
      mutate: (m) => m.types.push(create(ResourceTypeSchema, { id: 'Org Member', displayName: 'Org member' })),
      expect: ['"Org Member"', '"org-member"'],
    },
    {
      rule: 'resource-type-unknown',
      name: 'a resource of a type that was not listed',
      mutate: (m) => m.resources.push(resource({ type: 'ghost', id: 'x', displayName: 'X' })),
      expect: ['resource "ghost:x"', '"ghost"'],
    },
    {
      rule: 'resource-display-name',
      name: 'a resource without a display name',
      mutate: (m) => (resById(m, 'group:g1').displayName = ''),
      expect: ['resource "group:g1" has no display name'],
    },
    {
      rule: 'trait-missing',
      name: 'a user without its UserTrait',
      mutate: (m) => (resById(m, 'user:u3').annotations = []),
      expect: ['resource "user:u3"', 'UserTrait', '"user"'],
    },
    {
      rule: 'trait-missing',
      name: 'a UserTrait that does not decode',
      mutate: (m) =>
        (resById(m, 'user:u2').annotations = [
          {
            $typeName: 'google.protobuf.Any',
            typeUrl: `type.googleapis.com/${UserTraitSchema.typeName}`,
            value: new Uint8Array([0xff, 0xff, 0xff]),
          },
        ]),
      expect: ['resource "user:u2"', 'does not decode'],
    },
    {
      rule: 'parent-missing',
      name: 'a child whose parent was not emitted',
      mutate: (m) => m.resources.push(project(groupResource({ type: groupType, id: 'g9', displayName: 'G9' }), 0)),
      expect: ['resource "project:g9-p0" names parent "group:g9"'],
    },
    {
      rule: 'entitlement-resource-missing',
      name: 'an entitlement on a resource that was not emitted',
      mutate: (m) =>
        m.entitlements.push(
          entitlement(groupResource({ type: groupType, id: 'g9', displayName: 'G9' }), 'member', { displayName: 'M' }),
        ),
      expect: ['entitlement "group:g9:member" is on resource "group:g9"'],
    },
    {
      rule: 'entitlement-id',
      name: 'an entitlement id that is not <type>:<resource>:<slug>',
      mutate: (m) => (byId(m.entitlements, 'group:g1:member').id = 'g1-member'),
      // its grants now point at an entitlement id that was not emitted, too
      expect: ['entitlement id "g1-member"', '"group:g1:member"'],
    },
    {
      rule: 'entitlement-id',
      name: 'an entitlement without a slug',
      mutate: (m) =>
        m.entitlements.push(
          create(EntitlementSchema, { id: 'group:g0:admin', resource: group(0), displayName: 'Admin' }),
        ),
      expect: ['entitlement "group:g0:admin" has an empty slug'],
    },
    {
      rule: 'entitlement-display-name',
      name: 'an entitlement without a display name',
      mutate: (m) => (byId(m.entitlements, 'project:g0-p0:viewer').displayName = ' '),
      expect: ['entitlement "project:g0-p0:viewer" has no display name'],
    },
    {
      rule: 'grant-id',
      name: 'a grant id that is not <entitlement>:<type>:<principal>',
      mutate: (m) => (byId(m.grants, 'group:g0:member:user:u1').id = 'membership-1'),
      expect: ['grant id "membership-1"', 'expected "group:g0:member:user:u1"'],
    },
    {
      rule: 'grant-id',
      name: 'an expansion-created grant with a bad id',
      mutate: (m) => (byId(m.grants, 'project:g0-p0:viewer:user:u0').id = 'project:g0-p0:viewer:u0'),
      expect: ['grant id "project:g0-p0:viewer:u0"', 'created by expansion', 'expected "project:g0-p0:viewer:user:u0"'],
    },
    {
      rule: 'grant-entitlement-missing',
      name: 'a grant of an entitlement that was not emitted',
      mutate: (m) => m.grants.push(grant(entitlement(group(1), 'owner'), user(0))),
      expect: ['grant "group:g1:owner:user:u0" points at entitlement "group:g1:owner"'],
    },
    {
      rule: 'grant-entitlement-resource',
      name: 'a grant whose entitlement sits on another resource than the emitted one',
      mutate: (m) => {
        const g = byId(m.grants, 'group:g1:member:user:u2');
        g.entitlement = create(EntitlementSchema, { id: 'group:g1:member', resource: group(0) });
      },
      expect: ['grant "group:g1:member:user:u2"', 'on resource "group:g0"', 'emitted on "group:g1"'],
    },
    {
      rule: 'grant-principal-missing',
      name: 'a grant to a principal that was not emitted',
      mutate: (m) => m.grants.push(grant(byId(m.entitlements, 'group:g1:member'), resourceId('user', 'u42'))),
      expect: ['grant "group:g1:member:user:u42" has principal "user:u42"'],
    },
    {
      rule: 'grant-expandable-source-missing',
      name: 'an expandable grant whose source entitlement was not emitted',
      mutate: (m) =>
        m.grants.push(
          grant(byId(m.entitlements, 'project:g1-p0:viewer'), group(0), {
            expandable: { entitlementIds: ['group:g0:owner'] },
          }),
        ),
      expect: ['grant "project:g1-p0:viewer:group:g0" is expandable from entitlement "group:g0:owner"'],
    },
  ];

  it.each(cases)('reports $rule: $name', ({ rule, mutate, expect: fragments }) => {
    const m = goodModel();
    mutate(m);
    const violations = checkSyncInvariants(storeOf(m));
    const mine = violations.filter((v) => v.startsWith(`[${rule}] `));
    expect(mine, violations.join('\n')).toHaveLength(1);
    for (const f of fragments) expect(mine[0]).toContain(f);
    if (rule !== 'entitlement-id') expect(rulesOf(violations)).toEqual([rule]);
  });

  it('can fail on every rule it declares', () => {
    expect(new Set(cases.map((c) => c.rule))).toEqual(new Set(SYNC_INVARIANT_RULES));
  });

  it('accepts a missing principal the grant marks external (ExternalResourceMatch)', () => {
    const m = goodModel();
    const external = grant(byId(m.entitlements, 'group:g1:member'), resourceId('user', 'idp-only'));
    external.annotations.push(annotation(ExternalResourceMatchSchema, { key: 'email', value: 'x@example.com' }));
    m.grants.push(external);
    expect(checkSyncInvariants(storeOf(m))).toEqual([]);
  });

  it('caps the sentences per rule and says how many more there were', () => {
    const m = goodModel();
    for (let i = 0; i < 30; i++)
      m.grants.push(grant(byId(m.entitlements, 'group:g0:member'), resourceId('user', `gone${i}`)));
    const violations = checkSyncInvariants(storeOf(m), { maxPerRule: 3 });
    expect(violations).toHaveLength(4);
    expect(violations[3]).toBe('[grant-principal-missing] ... and 27 more violations of this rule (30 in all)');
  });

  it('assertNoViolations throws a ConformanceError listing them', () => {
    expect(() => assertNoViolations([])).not.toThrow();
    const err = (() => {
      try {
        assertNoViolations(['[a] one', '[b] two'], 'fixture');
      } catch (e) {
        return e as ConformanceError;
      }
    })();
    expect(err).toBeInstanceOf(ConformanceError);
    expect(err!.violations).toEqual(['[a] one', '[b] two']);
    expect(err!.message).toBe('fixture (2):\n  1. [a] one\n  2. [b] two');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// checkRpcInvariants, over an in-memory connector with switchable faults
// ---------------------------------------------------------------------------------------------------------------

interface Faults {
  /** Listing label → a hook that may rewrite a page (list and next token) given the request token and the pass. */
  page?: (
    label: string,
    token: string,
    pass: number,
    page: { list: unknown[]; next: string },
  ) => { list: unknown[]; next: string } | void;
  /** Throw for this listing label (per pass and call number). */
  throwFor?: (label: string, pass: number, call: number) => Error | undefined;
  /** Milliseconds each call takes. */
  delayMs?: number;
}

const PAGE = 2;
const sameRid = (a: ResourceId | undefined, b: ResourceId | undefined) =>
  !!a && !!b && a.resourceType === b.resourceType && a.resource === b.resource;

function fakeClient(m: Model, faults: Faults = {}): ConnectorClient & { pass: number } {
  const calls = new Map<string, number>();
  const state = { pass: 0 };
  const paged = async <T>(label: string, token: string, items: T[]) => {
    if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
    const n = (calls.get(label) ?? 0) + 1;
    calls.set(label, n);
    const err = faults.throwFor?.(label, state.pass, n);
    if (err) throw err;
    const offset = token ? parseInt(token, 10) : 0;
    let page: { list: unknown[]; next: string } = {
      list: items.slice(offset, offset + PAGE),
      next: offset + PAGE < items.length ? String(offset + PAGE) : '',
    };
    page = faults.page?.(label, token, state.pass, page) ?? page;
    return { list: page.list as T[], nextPageToken: page.next };
  };
  const key = (id: ResourceId | undefined) => `${id?.resourceType}:${id?.resource}`;
  const client = {
    lastStats: undefined,
    get pass() {
      return state.pass;
    },
    async validate() {
      return create(ConnectorServiceValidateResponseSchema, {});
    },
    async cleanup() {
      return {};
    },
    async listResourceTypes(req: { pageToken?: string }) {
      if (!req.pageToken) state.pass++;
      const p = await paged('ListResourceTypes', req.pageToken ?? '', m.types);
      return create(ResourceTypesServiceListResourceTypesResponseSchema, p);
    },
    async listResources(req: { resourceTypeId: string; parentResourceId?: ResourceId; pageToken?: string }) {
      const label = req.parentResourceId
        ? `ListResources(${req.resourceTypeId}, parent ${key(req.parentResourceId)})`
        : `ListResources(${req.resourceTypeId})`;
      const items = m.resources.filter(
        (r) =>
          r.id!.resourceType === req.resourceTypeId &&
          (req.parentResourceId ? sameRid(r.parentResourceId, req.parentResourceId) : !r.parentResourceId),
      );
      return create(ResourcesServiceListResourcesResponseSchema, await paged(label, req.pageToken ?? '', items));
    },
    async listEntitlements(req: { resource?: Resource; pageToken?: string }) {
      const items = m.entitlements.filter((e) => sameRid(e.resource?.id, req.resource?.id));
      return create(
        EntitlementsServiceListEntitlementsResponseSchema,
        await paged(`ListEntitlements(${key(req.resource?.id)})`, req.pageToken ?? '', items),
      );
    },
    async listGrants(req: { resource?: Resource; pageToken?: string }) {
      const items = m.grants.filter(
        (g) =>
          sameRid(g.entitlement?.resource?.id, req.resource?.id) && Object.keys(g.sources?.sources ?? {}).length === 0,
      );
      return create(
        GrantsServiceListGrantsResponseSchema,
        await paged(`ListGrants(${key(req.resource?.id)})`, req.pageToken ?? '', items),
      );
    },
  };
  return client as unknown as ConnectorClient & { pass: number };
}

/** The model as a connector would return it: without the expansion-created grant or the external principal. */
function connectorModel(): Model {
  const m = goodModel();
  m.grants = m.grants.filter((g) => Object.keys(g.sources?.sources ?? {}).length === 0);
  return m;
}

const noSleep = async () => {};

describe('checkRpcInvariants', () => {
  it('passes a conformant connector walked twice over several pages, and its sync passes the store checks', async () => {
    const m = connectorModel();
    const store = SyncStore.create();
    stores.push(store);
    await runSync(fakeClient(m), store);
    expect(checkSyncInvariants(store)).toEqual([]);
    const client = fakeClient(m);
    const result = await checkRpcInvariants(client, { sleep: noSleep });
    expect(result.violations).toEqual([]);
    expect(client.pass).toBe(2);
    expect(result.passes).toHaveLength(2);
    expect(result.passes[0]).toMatchObject({
      resourceTypes: 3,
      resources: 9,
      entitlements: 4,
      grants: 11,
      complete: true,
    });
    expect(result.passes[0].pages).toBeGreaterThan(result.passes[0].listings); // really paged
  });

  const cases: Array<{
    rule: (typeof RPC_INVARIANT_RULES)[number];
    name: string;
    faults?: Faults;
    edit?: (m: Model) => void;
    expect: string[];
    opts?: object;
  }> = [
    {
      rule: 'duplicate-resource',
      name: 'the same resource on two pages of one listing',
      faults: {
        page: (label, token, _p, page) =>
          label === 'ListResources(user)' && token === '2' ? { list: [user(1), user(2)], next: page.next } : undefined,
      },
      expect: ['ListResources(user) returned "user:u1" on page 1 and again on page 2'],
    },
    {
      rule: 'duplicate-resource',
      name: 'the same resource in two listings',
      edit: (m) => m.resources.push(create(ResourceSchema, { ...project(group(0), 0), parentResourceId: undefined })),
      // Depth first, like a host: the children of group g0 are listed before the top-level listing of projects.
      expect: [
        'resource "project:g0-p0" was returned by ListResources(project, parent group:g0) and again by ListResources(project)',
      ],
    },
    {
      rule: 'duplicate-resource-type',
      name: 'a resource type listed twice',
      faults: {
        page: (label, token, _p, page) =>
          label === 'ListResourceTypes' && token === '2'
            ? { list: [...page.list, userType], next: page.next }
            : undefined,
      },
      expect: ['ListResourceTypes returned "user" on page 1 and again on page 2'],
    },
    {
      rule: 'duplicate-entitlement',
      name: 'an entitlement returned for two resources',
      faults: {
        page: (label, _t, _p, page) =>
          label === 'ListEntitlements(group:g1)'
            ? { list: [...page.list, entitlement(group(0), 'member', { displayName: 'M' })], next: page.next }
            : undefined,
      },
      expect: [
        'entitlement "group:g0:member" was returned by ListEntitlements(group:g0) and again by ListEntitlements(group:g1)',
      ],
    },
    {
      rule: 'duplicate-grant',
      name: 'a grant repeated on the next page',
      faults: {
        page: (label, token, _p, page) =>
          label === 'ListGrants(group:g0)' && token === '2'
            ? { list: [grant(entitlement(group(0), 'member'), user(1)), ...page.list.slice(1)], next: page.next }
            : undefined,
      },
      expect: ['ListGrants(group:g0) returned "group:g0:member:user:u1" on page 1 and again on page 2'],
    },
    {
      rule: 'page-token-size',
      name: 'a page token over 4096 bytes',
      faults: {
        page: (label, token, _p, page) =>
          label === 'ListResources(user)'
            ? { list: page.list, next: page.next ? `${page.next}|${'x'.repeat(MAX_PAGE_TOKEN_BYTES)}` : '' }
            : undefined,
      },
      expect: ['ListResources(user) page 1 returned a page token of 4098 bytes; expected at most 4096'],
      opts: { passes: 1 },
    },
    {
      rule: 'page-token-stuck',
      name: 'the same token returned',
      faults: {
        page: (label, token, _p, page) =>
          label === 'ListGrants(group:g0)' && token === '2' ? { list: page.list, next: '2' } : undefined,
      },
      expect: ['ListGrants(group:g0): stuck page token: the connector returned the page token it was sent ("2")'],
      opts: { passes: 1 },
    },
    {
      rule: 'page-token-cycle',
      name: 'an earlier token returned again',
      faults: {
        page: (label, token, _p, page) =>
          label === 'ListResources(user)' && token === '4' ? { list: page.list, next: '2' } : undefined,
      },
      expect: ['ListResources(user): page token cycle: the connector returned page token "2" a second time'],
      opts: { passes: 1 },
    },
    {
      rule: 'page-limit',
      name: 'a listing that never ends',
      faults: {
        page: (label, token, _p, page) =>
          label === 'ListResources(user)' ? { list: page.list, next: String(Number(token || 0) + 1) } : undefined,
      },
      expect: ['ListResources(user): did not finish within 50 pages'],
      opts: { passes: 1, maxPagesPerListing: 50 },
    },
    {
      rule: 'parent',
      name: 'a child listed under a parent it does not carry',
      faults: {
        page: (label, _t, _p, page) =>
          label === 'ListResources(project, parent group:g1)'
            ? { list: [resource({ type: projectType, id: 'g1-p0', displayName: 'P' })], next: page.next }
            : undefined,
      },
      expect: ['resource "project:g1-p0" was listed under parent "group:g1" but carries no parent_resource_id'],
    },
    {
      rule: 'resource-type-mismatch',
      name: 'a resource of another type than asked for',
      faults: {
        page: (label, token, _p, page) =>
          label === 'ListResources(group)' && !token ? { list: [...page.list, user(9)], next: page.next } : undefined,
      },
      expect: ['ListResources(group) returned resource "user:u9" of type "user"; expected type "group"'],
      opts: { passes: 1 },
    },
    {
      rule: 'entitlement-resource',
      name: 'an entitlement on another resource',
      faults: {
        page: (label, _t, _p, page) =>
          label === 'ListEntitlements(project:g1-p0)'
            ? { list: [entitlement(group(1), 'viewer', { displayName: 'V' })], next: page.next }
            : undefined,
      },
      expect: [
        'ListEntitlements(project:g1-p0) returned entitlement "group:g1:viewer" on resource "group:g1"; expected it on "project:g1-p0"',
      ],
      opts: { passes: 1 },
    },
    {
      rule: 'grant-resource',
      name: 'a grant of another resource’s entitlement',
      faults: {
        page: (label, _t, _p, page) =>
          label === 'ListGrants(project:g1-p0)'
            ? { list: [grant(entitlement(group(0), 'member'), user(4))], next: page.next }
            : undefined,
      },
      expect: [
        'ListGrants(project:g1-p0) returned grant "group:g0:member:user:u4" whose entitlement is on "group:g0"; expected entitlements of "project:g1-p0"',
      ],
      opts: { passes: 1 },
    },
    {
      rule: 'missing-id',
      name: 'a grant without an id',
      faults: {
        page: (label, _t, _p, page) =>
          label === 'ListGrants(project:g0-p0)'
            ? {
                list: [
                  create(GrantSchema, {
                    entitlement: entitlement(project(group(0), 0), 'viewer'),
                    principal: group(0),
                  }),
                ],
                next: page.next,
              }
            : undefined,
      },
      expect: ['ListGrants(project:g0-p0) returned a grant without an id'],
      opts: { passes: 1 },
    },
    {
      rule: 'unstable-pagination',
      name: 'a second pass that returns other ids',
      faults: {
        page: (label, token, pass) =>
          label === 'ListResources(user)' && pass === 2 && token === '4'
            ? { list: [userResource({ type: userType, id: 'u5', displayName: 'U5' })], next: '' }
            : undefined,
      },
      expect: [
        'ListResources(user) returned different ids in walk 2 than in walk 1 (5 vs 5): missing "user:u4"; new "user:u5"',
      ],
    },
    {
      rule: 'rpc-error',
      name: 'a listing that fails',
      faults: {
        throwFor: (label) =>
          label === 'ListGrants(group:g1)' ? new RpcError(grpc.status.INTERNAL, 'boom') : undefined,
      },
      expect: ['ListGrants(group:g1) failed: INTERNAL: boom'],
      opts: { passes: 1 },
    },
    {
      rule: 'connector-exited',
      name: 'the connector process dying',
      faults: {
        throwFor: (label) =>
          label === 'ListResources(group)'
            ? new ConnectorExitedError({ code: 2, signal: null, stderrTail: 'panic: oops' })
            : undefined,
      },
      expect: ['the connector process died: ListResources(group): connector process exited with code 2', 'panic: oops'],
    },
    {
      rule: 'page-size',
      name: 'pages larger than the page_size asked for',
      // The fake connector always answers pages of 2; the second walk asks for 1.
      expect: ['ListResourceTypes page 1 returned 2 resource-types; expected at most the page_size of 1'],
      opts: { pageSize: 1 },
    },
    {
      rule: 'reserved-annotation',
      name: 'a resource carrying the reserved BatonID annotation',
      edit: (m) => resById(m, 'user:u2').annotations.push(annotation(BatonIDSchema)),
      expect: ['resource "user:u2" carries the BatonID annotation'],
      opts: { passes: 1 },
    },
    {
      rule: 'sync-failed',
      name: 'an expandable grant whose source entitlement is not on its principal (grant expansion fails)',
      edit: (m) =>
        m.grants.push(
          grant(byId(m.entitlements, 'project:g1-p0:viewer'), user(1), {
            expandable: { entitlementIds: ['group:g0:member'] },
          }),
        ),
      expect: [
        'walk 1 failed in phase grant-expansion',
        'source entitlement resource id did not match grant principal id',
      ],
      opts: { passes: 1 },
    },
    {
      rule: 'deadline',
      name: 'a pass that takes too long',
      faults: { delayMs: 15 },
      expect: ['walk 1 did not finish within 40 ms'],
      opts: { deadlineMs: 40 },
    },
  ];

  it.each(cases)('reports $rule: $name', async ({ rule, faults, edit, expect: fragments, opts }) => {
    const m = connectorModel();
    edit?.(m);
    const result = await checkRpcInvariants(fakeClient(m, faults), { sleep: noSleep, ...opts });
    const mine = result.violations.filter((v) => v.startsWith(`[${rule}] `));
    expect(mine.length, result.violations.join('\n')).toBeGreaterThanOrEqual(1);
    for (const f of fragments) expect(mine[0]).toContain(f);
  });

  it('retries UNAVAILABLE like the host and reports nothing when the retry succeeds', async () => {
    const waits: number[] = [];
    const result = await checkRpcInvariants(
      fakeClient(connectorModel(), {
        throwFor: (label, _pass, call) =>
          label === 'ListResources(group)' && call === 1 ? new RpcError(grpc.status.UNAVAILABLE, 'busy') : undefined,
      }),
      { sleep: async (ms) => void waits.push(ms) },
    );
    expect(result.violations).toEqual([]);
    expect(result.passes[0].retries).toBe(1);
    expect(waits).toEqual([1000]);
  });

  it('can fail on every rule it declares', () => {
    const covered = new Set<string>(cases.map((c) => c.rule));
    expect(covered).toEqual(new Set(RPC_INVARIANT_RULES));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// syncInProcess: the host's walker over a connector's syncers, without a process
// ---------------------------------------------------------------------------------------------------------------

describe('syncInProcess', () => {
  const cfg = (over: Partial<FixtureConfig> = {}) => fixtureConnector.config.parse({ users: 30, ...over });

  it('walks like the host: child types under their parents, skip annotations, every page through a token', async () => {
    const result = await syncInProcess(createFixtureConnector(cfg()), testCallContext(), 7);
    const keys = result.resources.map((r) => `${r.id!.resourceType}:${r.id!.resource}`);
    // Depth first: each group's projects right after the page that listed the group.
    expect(keys.slice(-9)).toEqual([
      'group:g0',
      'group:g1',
      'group:g2',
      'project:g0-p0',
      'project:g0-p1',
      'project:g1-p0',
      'project:g1-p1',
      'project:g2-p0',
      'project:g2-p1',
    ]);
    expect(keys.filter((k) => k.startsWith('user:'))).toHaveLength(30);
    expect(result.resources.find((r) => r.id!.resource === 'g1-p0')!.parentResourceId?.resource).toBe('g1');
    // Users skip entitlements and grants (SkipEntitlementsAndGrants on their type).
    expect(result.entitlements.map((e) => e.id).filter((id) => id.startsWith('user:'))).toEqual([]);
    expect(result.entitlements).toHaveLength(9);
    // g0 holds all 30 users, g1 15, g2 10; one viewer grant per project.
    expect(result.grants).toHaveLength(30 + 15 + 10 + 6);
  });

  it('fails on a page larger than the page size asked for', async () => {
    const err = await syncInProcess(
      createFixtureConnector(cfg({ break: 'oversized-page' })),
      testCallContext(),
      7,
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('ListResources(user) page 1 held 8 items, more than the 7 asked for');
  });

  it('fails on a page token the connector returned before', async () => {
    const err = await syncInProcess(
      createFixtureConnector(cfg({ break: 'page-token-cycle' })),
      testCallContext(),
      7,
    ).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^ListResources\(user\): page token cycle/);
  });
});
