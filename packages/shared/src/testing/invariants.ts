/**
 * Invariants over a finished sync, read from a store: Baton's id conventions, trait annotations, and references
 * between records (docs/testing.md, "walk"). Works on any store that pages through its rows and answers point
 * lookups: the `SyncStore` a conformance walk syncs into, or a c1z written by the CLI (`SyncStore.openC1z`).
 * Duplicate ids cannot be seen here (the store keeps one row per id); page-checks.ts checks those on the raw
 * answers.
 *
 * Memory: rows are streamed; only resource types, the set of principals and entitlements already looked up (ids
 * only) are kept.
 */
import type { Entitlement } from '../gen/c1/connector/v2/entitlement_pb.js';
import type { Grant } from '../gen/c1/connector/v2/grant_pb.js';
import { type Resource, type ResourceId, type ResourceType } from '../gen/c1/connector/v2/resource_pb.js';
import { TRAIT_ANNOTATIONS } from '../sdk/resources.js';
import { GrantExpandableSchema } from '../gen/c1/connector/v2/annotation_grant_pb.js';
import {
  ExternalResourceMatchAllSchema,
  ExternalResourceMatchIDSchema,
  ExternalResourceMatchSchema,
} from '../gen/c1/connector/v2/annotation_baton_id_pb.js';
import { findAnnotation, hasAnnotation } from '../sdk/annotations.js';
import { quote, resourceKey, ViolationCollector } from './violations.js';

type MaybeNull<T> = T | undefined | null;

/** What `checkSyncInvariants` reads (the c1z `SyncStore` fits). */
export interface InvariantStore {
  resourceTypes(): Iterable<ResourceType>;
  resources(): Iterable<Resource>;
  entitlements(): Iterable<Entitlement>;
  grants(): Iterable<Grant>;
  getResource(resourceTypeId: string, resourceId: string): MaybeNull<Resource>;
  getEntitlement(id: string): MaybeNull<Entitlement>;
}

export interface InvariantOptions {
  /** Sentences per rule before "… and N more" (default 20). */
  maxPerRule?: number;
}

/** Rules `checkSyncInvariants` can report, as they appear in brackets at the start of each violation. */
export const SYNC_INVARIANT_RULES = [
  'resource-type-display-name',
  'resource-type-id',
  'resource-type-unknown',
  'resource-display-name',
  'trait-missing',
  'parent-missing',
  'entitlement-resource-missing',
  'entitlement-id',
  'entitlement-display-name',
  'grant-id',
  'grant-entitlement-missing',
  'grant-entitlement-resource',
  'grant-principal-missing',
  'grant-expandable-source-missing',
] as const;

/**
 * Checks a synced store; returns one sentence per violation (empty = conformant):
 *  - every resource type has a display name and a Baton-style id (lowercase, no spaces);
 *  - every resource's type was listed, it has a display name, it carries the trait annotation of every trait its
 *    type declares, and its parent_resource_id (if any) names an emitted resource;
 *  - every entitlement's resource was emitted, its id is `<type>:<resource>:<slug>`, it has a display name;
 *  - every grant's id is `<entitlement id>:<principal type>:<principal id>` (expansion-created grants included),
 *    its entitlement was emitted (on the same resource), its principal was emitted unless it is external (its type
 *    is not one the connector lists, or the grant or principal carries an `ExternalResourceMatch*` annotation, which
 *    asks the host to match the principal in another connector's data), and every `GrantExpandable` source
 *    entitlement was emitted.
 */
export function checkSyncInvariants(store: InvariantStore, options: InvariantOptions = {}): string[] {
  const v = new ViolationCollector(options.maxPerRule);
  collectSyncInvariants(store, v);
  return v.result();
}

/** `checkSyncInvariants`, reporting into a collector (the walk check's). */
export function collectSyncInvariants(store: InvariantStore, v: ViolationCollector): void {
  // -- resource types ------------------------------------------------------------------------------------------
  const types = new Map<string, ResourceType>();
  for (const rt of store.resourceTypes()) {
    types.set(rt.id, rt);
    if (!rt.displayName.trim())
      v.add('resource-type-display-name', `resource type ${quote(rt.id)} has no display name; expected one`, rt.id);
    if (rt.id !== rt.id.toLowerCase() || /\s/.test(rt.id)) {
      v.add(
        'resource-type-id',
        `resource type id ${quote(rt.id)} is not lowercase without spaces; expected ${quote(rt.id.toLowerCase().replace(/ /g, '-'))}, as the SDK builds it`,
        rt.id,
      );
    }
  }

  // -- resources -----------------------------------------------------------------------------------------------
  const existing = new Map<string, boolean>();
  const resourceExists = (id: ResourceId): boolean => {
    const key = `${id.resourceType}\u0000${id.resource}`;
    let found = existing.get(key);
    if (found === undefined) {
      found = !!store.getResource(id.resourceType, id.resource);
      existing.set(key, found);
    }
    return found;
  };

  for (const r of store.resources()) {
    const key = resourceKey(r.id);
    const typeId = r.id?.resourceType ?? '';
    if (r.id) existing.set(`${r.id.resourceType}\u0000${r.id.resource}`, true);
    if (!r.displayName.trim())
      v.add('resource-display-name', `resource ${quote(key)} has no display name; expected one`, key);
    const rt = types.get(typeId);
    if (!rt) {
      v.add(
        'resource-type-unknown',
        `resource ${quote(key)} has resource type ${quote(typeId)}, which the connector did not list; expected a listed type`,
        key,
      );
    } else {
      for (const trait of rt.traits) {
        const schema = TRAIT_ANNOTATIONS.get(trait);
        if (!schema) continue;
        if (!hasAnnotation(r.annotations, schema)) {
          v.add(
            'trait-missing',
            `resource ${quote(key)} lacks the ${schema.name} annotation that its type ${quote(typeId)} declares (a host fails the sync on it)`,
            key,
          );
          continue;
        }
        try {
          findAnnotation(r.annotations, schema);
        } catch (err) {
          v.add(
            'trait-missing',
            `resource ${quote(key)} has a ${schema.name} annotation that does not decode: ${(err as Error).message}; expected a valid ${schema.name}`,
            key,
          );
        }
      }
    }
    const parent = r.parentResourceId;
    if (parent && (parent.resourceType || parent.resource) && !resourceExists(parent)) {
      v.add(
        'parent-missing',
        `resource ${quote(key)} names parent ${quote(resourceKey(parent))}, which was not emitted as a resource; expected a listed parent`,
        key,
      );
    }
  }

  // -- entitlements --------------------------------------------------------------------------------------------
  for (const e of store.entitlements()) {
    const rid = e.resource?.id;
    if (!rid) {
      v.add(
        'entitlement-resource-missing',
        `entitlement ${quote(e.id)} has no resource; expected the resource it is on`,
        e.id,
      );
    } else {
      if (!resourceExists(rid)) {
        v.add(
          'entitlement-resource-missing',
          `entitlement ${quote(e.id)} is on resource ${quote(resourceKey(rid))}, which was not emitted as a resource; expected a listed resource`,
          e.id,
        );
      }
      if (!e.slug) {
        v.add(
          'entitlement-id',
          `entitlement ${quote(e.id)} has an empty slug; expected a slug and the id "${resourceKey(rid)}:<slug>"`,
          e.id,
        );
      } else {
        const expected = `${rid.resourceType}:${rid.resource}:${e.slug}`;
        if (e.id !== expected) {
          v.add(
            'entitlement-id',
            `entitlement id ${quote(e.id)} does not follow <type>:<resource>:<slug>; expected ${quote(expected)}`,
            e.id,
          );
        }
      }
    }
    if (!e.displayName.trim())
      v.add('entitlement-display-name', `entitlement ${quote(e.id)} has no display name; expected one`, e.id);
  }

  // -- grants --------------------------------------------------------------------------------------------------
  /** Entitlement id → key of its resource ('' if it has none), null when the entitlement was not emitted. */
  const entitlementResource = new Map<string, string | null>();
  const lookupEntitlement = (id: string): string | null => {
    let found = entitlementResource.get(id);
    if (found === undefined) {
      const e = store.getEntitlement(id);
      found = e ? (e.resource?.id ? resourceKey(e.resource.id) : '') : null;
      entitlementResource.set(id, found);
    }
    return found;
  };

  for (const g of store.grants()) {
    const entId = g.entitlement?.id ?? '';
    const pid = g.principal?.id;
    if (!entId) {
      v.add(
        'grant-entitlement-missing',
        `grant ${quote(g.id)} has no entitlement id; expected the entitlement it grants`,
        g.id,
      );
    } else {
      const entResource = lookupEntitlement(entId);
      if (entResource === null) {
        v.add(
          'grant-entitlement-missing',
          `grant ${quote(g.id)} points at entitlement ${quote(entId)}, which was not emitted as an entitlement; expected every grant's entitlement to be listed`,
          g.id,
        );
      } else {
        const grantEntResource = g.entitlement?.resource?.id;
        if (grantEntResource && entResource !== '' && resourceKey(grantEntResource) !== entResource) {
          v.add(
            'grant-entitlement-resource',
            `grant ${quote(g.id)} carries entitlement ${quote(entId)} on resource ${quote(resourceKey(grantEntResource))}, but that entitlement was emitted on ${quote(entResource)}; expected the same resource`,
            g.id,
          );
        }
      }
    }
    if (!pid) {
      v.add(
        'grant-principal-missing',
        `grant ${quote(g.id)} has no principal; expected the principal it is granted to`,
        g.id,
      );
    } else {
      if (types.has(pid.resourceType) && !resourceExists(pid) && !markedExternal(g)) {
        v.add(
          'grant-principal-missing',
          `grant ${quote(g.id)} has principal ${quote(resourceKey(pid))}, which was not emitted as a resource; expected a listed principal, or an ExternalResourceMatch annotation that marks it external`,
          g.id,
        );
      }
      if (entId) {
        const expected = `${entId}:${pid.resourceType}:${pid.resource}`;
        if (g.id !== expected) {
          const how =
            Object.keys(g.sources?.sources ?? {}).length > 0
              ? ' (a grant with sources, possibly created by expansion)'
              : '';
          v.add(
            'grant-id',
            `grant id ${quote(g.id)}${how} does not follow <entitlement id>:<principal type>:<principal id>; expected ${quote(expected)}`,
            g.id,
          );
        }
      }
    }
    let expandable;
    try {
      expandable = findAnnotation(g.annotations, GrantExpandableSchema);
    } catch {
      expandable = undefined;
    }
    for (const src of expandable?.entitlementIds ?? []) {
      if (lookupEntitlement(src) === null) {
        v.add(
          'grant-expandable-source-missing',
          `grant ${quote(g.id)} is expandable from entitlement ${quote(src)}, which was not emitted as an entitlement; expected a listed entitlement`,
          g.id,
        );
      }
    }
  }
}

const EXTERNAL_MARKS = [ExternalResourceMatchSchema, ExternalResourceMatchAllSchema, ExternalResourceMatchIDSchema];

/** The grant (or its principal) asks the host to match the principal in another connector's data. */
function markedExternal(g: Grant): boolean {
  const on = (list: Grant['annotations'] | undefined) => EXTERNAL_MARKS.some((schema) => hasAnnotation(list, schema));
  return on(g.annotations) || on(g.principal?.annotations);
}
