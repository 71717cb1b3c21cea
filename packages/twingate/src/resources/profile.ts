/**
 * Reading back what we stored on a resource or entitlement the host hands us (grants and provisioning calls get
 * the resource as the host stored it), so decisions like "is this group SYNCED?" need no API request.
 */
import { findAnnotation, hasAnnotation, type Entitlement, type Resource } from '@baton-ts/shared';
import { EntitlementImmutableSchema } from '@baton-ts/shared/gen/c1/connector/v2/annotation_entitlement_pb';
import { GroupTraitSchema } from '@baton-ts/shared/gen/c1/connector/v2/annotation_trait_pb';

// protobuf-es represents google.protobuf.Struct fields as plain JSON objects.
type StructLike = Record<string, unknown> | undefined;

function stringField(struct: StructLike, key: string): string | undefined {
  const value = struct?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** A string profile value from the resource (newer hosts) or its group trait (older hosts keep only that). */
export function groupProfileString(resource: Resource | undefined, key: string): string | undefined {
  if (!resource) return undefined;
  return (
    stringField(resource.profile as StructLike, key) ??
    stringField(findAnnotation(resource.annotations, GroupTraitSchema)?.profile as StructLike, key)
  );
}

export function isImmutableEntitlement(ent: Entitlement | undefined): boolean {
  return !!ent && hasAnnotation(ent.annotations, EntitlementImmutableSchema);
}
