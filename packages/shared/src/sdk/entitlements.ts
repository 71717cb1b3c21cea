/**
 * Entitlement and grant builders with Baton's id conventions:
 *   entitlement id = "<resource type>:<resource id>:<slug>"
 *   grant id       = "<entitlement id>:<principal type>:<principal id>"
 */
import { create } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import {
  EntitlementSchema,
  Entitlement_PurposeValue,
  type Entitlement,
} from '../gen/c1/connector/v2/entitlement_pb.js';
import { GrantSchema, type Grant } from '../gen/c1/connector/v2/grant_pb.js';
import {
  ResourceSchema,
  type Resource,
  type ResourceId,
  type ResourceType,
} from '../gen/c1/connector/v2/resource_pb.js';
import { EntitlementImmutableSchema } from '../gen/c1/connector/v2/annotation_entitlement_pb.js';
import { GrantExpandableSchema, GrantImmutableSchema } from '../gen/c1/connector/v2/annotation_grant_pb.js';
import { annotation, hasAnnotation } from './annotations.js';
import { truncateBytes } from './resources.js';

export type { Entitlement, Grant };
export type Purpose = 'assignment' | 'permission' | 'ownership';

const PURPOSE: Record<Purpose, Entitlement_PurposeValue> = {
  assignment: Entitlement_PurposeValue.ASSIGNMENT,
  permission: Entitlement_PurposeValue.PERMISSION,
  ownership: Entitlement_PurposeValue.OWNERSHIP,
};

export function entitlementId(resource: Resource | ResourceId, slug: string): string {
  const id = 'resourceType' in resource ? resource : resource.id;
  if (!id) throw new Error('entitlementId: resource has no id');
  return `${id.resourceType}:${id.resource}:${slug}`;
}

export interface EntitlementOptions {
  displayName?: string;
  description?: string;
  /** Resource types whose resources may hold this entitlement. */
  grantableTo?: ResourceType[];
  purpose?: Purpose;
  /**
   * The entitlement cannot be granted or revoked through this connector (e.g. membership managed by an IdP).
   * `true` or a reason recorded as the annotation's source id.
   */
  immutable?: boolean | string;
  annotations?: Any[];
}

export function entitlement(resource: Resource, slug: string, options: EntitlementOptions = {}): Entitlement {
  const annotations = [...(options.annotations ?? [])];
  if (options.immutable) {
    annotations.push(
      annotation(EntitlementImmutableSchema, {
        sourceId: typeof options.immutable === 'string' ? options.immutable : '',
      }),
    );
  }
  return create(EntitlementSchema, {
    resource,
    id: entitlementId(resource, slug),
    slug,
    displayName: options.displayName ? truncateBytes(options.displayName, 1024) : '',
    description: options.description ? truncateBytes(options.description, 2048) : '',
    grantableTo: options.grantableTo ?? [],
    purpose: PURPOSE[options.purpose ?? 'assignment'],
    annotations,
  });
}

export function grantId(entitlementIdValue: string, principal: ResourceId): string {
  return `${entitlementIdValue}:${principal.resourceType}:${principal.resource}`;
}

export interface GrantOptions {
  /** Whoever holds one of these entitlements also gets this grant's entitlement (the host expands it). */
  expandable?: { entitlementIds: string[]; shallow?: boolean; resourceTypeIds?: string[] };
  immutable?: boolean | string;
  annotations?: Any[];
}

/**
 * A grant of `ent` to `principal`. Like the Go SDK, the grant carries a slim copy of the entitlement (id and resource)
 * and the principal's id, which is all a host needs to relate it to the rows it already stored.
 */
export function grant(ent: Entitlement, principal: Resource | ResourceId, options: GrantOptions = {}): Grant {
  const principalResource = 'resourceType' in principal ? create(ResourceSchema, { id: principal }) : principal;
  if (!principalResource.id) throw new Error('grant: principal has no id');
  const annotations = [...(options.annotations ?? [])];
  if (options.expandable) {
    annotations.push(
      annotation(GrantExpandableSchema, {
        entitlementIds: [...new Set(options.expandable.entitlementIds)],
        shallow: options.expandable.shallow ?? false,
        resourceTypeIds: options.expandable.resourceTypeIds ?? [],
      }),
    );
  }
  if (options.immutable) {
    annotations.push(
      annotation(GrantImmutableSchema, { sourceId: typeof options.immutable === 'string' ? options.immutable : '' }),
    );
  }
  return create(GrantSchema, {
    entitlement: create(EntitlementSchema, { id: ent.id, resource: ent.resource }),
    principal: principalResource,
    id: grantId(ent.id, principalResource.id),
    annotations,
  });
}

/** The entitlement carries EntitlementImmutable: it cannot be granted or revoked through the connector. */
export function isImmutable(ent: Entitlement | undefined): boolean {
  return !!ent && hasAnnotation(ent.annotations, EntitlementImmutableSchema);
}
