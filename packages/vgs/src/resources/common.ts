/** What the resource types share: the Go connector's V1 identifiers, role parsing and principal checks. */
import { annotation, invalidArgument, type Entitlement, type Resource, type ResourceSyncer } from '@baton-ts/shared';
import { V1IdentifierSchema } from '@baton-ts/shared/pb';
import type { LinkedPage } from '@baton-ts/shared/http';
import type { VgsVault } from '../client.js';

/**
 * The Go connector marked resource types, resources and entitlements with `V1Identifier` annotations
 * (`org`, `org:<id>`, `org:<id>:role:<level>`, ...); they are kept so a platform that keyed on them still matches.
 */
export function v1Identifier(id: string) {
  return annotation(V1IdentifierSchema, { id });
}

/** The principal's type and id; INVALID_ARGUMENT (before any API call) unless its type is one of `allowed`. */
export function requirePrincipal(
  principal: Resource | undefined,
  allowed: readonly string[],
  holds: string,
): { type: string; id: string } {
  const type = principal?.id?.resourceType;
  const id = principal?.id?.resource;
  if (!type || !id || !allowed.includes(type)) {
    throw invalidArgument(
      `vgs: only ${allowed.map((t) => t.replace('_', ' ') + 's').join(' and ')} ${holds}; the principal is a ${type || 'resource of unknown type'}`,
    );
  }
  return { type, id };
}

/**
 * The resource id and slug of an entitlement of type `typeId`: from its resource and slug when the host sent them,
 * else from its id `<type>:<resource id>:<slug>` (resource ids never contain ':' here).
 */
export function entitlementTarget(ent: Entitlement | undefined, typeId: string): { resourceId: string; slug: string } {
  if (!ent) throw invalidArgument('vgs: the request has no entitlement');
  const rid = ent.resource?.id;
  const fromId = new RegExp(`^${typeId}:([^:]+):([^:]+)$`).exec(ent.id);
  if (rid) {
    if (rid.resourceType !== typeId || !rid.resource)
      throw invalidArgument(`vgs: not a ${typeId} entitlement: ${ent.id}`);
    const slug = ent.slug || fromId?.[2];
    if (!slug) throw invalidArgument(`vgs: entitlement ${JSON.stringify(ent.id)} has no slug`);
    return { resourceId: rid.resource, slug };
  }
  if (!fromId) throw invalidArgument(`vgs: not a ${typeId} entitlement: ${JSON.stringify(ent.id)}`);
  return { resourceId: fromId[1]!, slug: fromId[2]! };
}

/** A page with its items filtered (e.g. service accounts left out of users). */
export function filterPage<T>(page: LinkedPage<T>, keep: (item: T) => boolean): LinkedPage<T> {
  return { items: page.items.filter(keep), next: page.next };
}

/**
 * Whether a vault belongs to the configured organization. `GET /vaults` lists every vault the token can see,
 * across organizations; a vault whose answer names no organization is kept (there is nothing to filter on).
 */
export function inOrganization(vault: VgsVault, organizationId: string): boolean {
  return vault.organizationId === undefined || vault.organizationId === organizationId;
}

/** Resource id of a service account: its client id, lower-cased so every source spells it the same way. */
export function serviceAccountId(clientId: string): string {
  return clientId.trim().toLowerCase();
}

/**
 * The entitlements and grants of types whose resources hold none (users, invitations, service accounts): their type
 * carries SkipEntitlementsAndGrants, so hosts do not ask; a host that asks anyway gets empty lists.
 */
export const noEntitlementsOrGrants: Pick<ResourceSyncer, 'entitlements' | 'grants'> = {
  entitlements: async () => ({ items: [] }),
  grants: async () => ({ items: [] }),
};
