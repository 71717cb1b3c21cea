/**
 * The SDK builders: Baton's id conventions, traits on both the trait and the Resource, field limits, and messages
 * that are byte-identical to what protobuf-es `create` would build (the builders copy zero templates for speed).
 */
import { describe, expect, it } from 'vitest';
import { create, equals, toBinary } from '@bufbuild/protobuf';
import { ResourceSchema, Status_ResourceStatus } from '../src/gen/c1/connector/v2/resource_pb.js';
import { GrantSchema } from '../src/gen/c1/connector/v2/grant_pb.js';
import { EntitlementSchema } from '../src/gen/c1/connector/v2/entitlement_pb.js';
import { UserTraitSchema, UserTrait_Status_Status } from '../src/gen/c1/connector/v2/annotation_trait_pb.js';
import { EntitlementImmutableSchema } from '../src/gen/c1/connector/v2/annotation_entitlement_pb.js';
import {
  entitlement,
  findAnnotation,
  grant,
  groupResource,
  hasAnnotation,
  isImmutable,
  profileString,
  resourceId,
  resourceType,
  userResource,
} from '../src/index.js';

const userType = resourceType({ id: 'User', displayName: 'User', traits: ['user'] });

describe('builders', () => {
  it('lowercases type ids and applies the entitlement and grant id conventions', () => {
    expect(resourceType({ id: 'Org Member', displayName: 'x' }).id).toBe('org-member');
    const group = groupResource({ type: 'group', id: 'g1', displayName: 'G1', profile: { type: 'MANUAL' } });
    const ent = entitlement(group, 'member', { grantableTo: [userType] });
    expect(ent.id).toBe('group:g1:member');
    const g = grant(ent, resourceId('user', 'u1'));
    expect(g.id).toBe('group:g1:member:user:u1');
    expect(g.entitlement!.id).toBe('group:g1:member');
    expect(g.principal!.id!.resource).toBe('u1');
    expect(profileString(group, 'type')).toBe('MANUAL');
  });

  it('fills the user trait and the resource status/profile, for old and new hosts', () => {
    const u = userResource({
      type: userType,
      id: 'u1',
      displayName: 'Ada',
      emails: ['not-an-email', 'ada@example.com', { address: 'alt@example.com' }],
      status: 'disabled',
      statusDetails: 'suspended',
      profile: { a: 1, skip: undefined, when: new Date(0) },
      givenName: 'Ada',
    });
    const trait = findAnnotation(u.annotations, UserTraitSchema)!;
    expect(trait.emails.map((e) => [e.address, e.isPrimary])).toEqual([
      ['ada@example.com', true],
      ['alt@example.com', false],
    ]);
    expect(trait.status!.status).toBe(UserTrait_Status_Status.DISABLED);
    expect(trait.profile).toEqual({ a: 1, when: '1970-01-01T00:00:00.000Z' });
    expect(u.status!.status).toBe(Status_ResourceStatus.DISABLED);
    expect(u.profile).toEqual(trait.profile);
    expect(trait.structuredName!.givenName).toBe('Ada');
  });

  it('builds messages equal to protobuf-es create() with the same fields', () => {
    const u = userResource({ type: userType, id: 'u2', displayName: 'Bob', emails: ['b@example.com'] });
    const viaCreate = create(ResourceSchema, {
      id: { resourceType: 'user', resource: 'u2' },
      displayName: 'Bob',
      annotations: u.annotations,
      status: { status: Status_ResourceStatus.ENABLED },
    });
    expect(equals(ResourceSchema, u, viaCreate)).toBe(true);
    expect(toBinary(ResourceSchema, u)).toEqual(toBinary(ResourceSchema, viaCreate));
    // Lists are never shared between two built messages.
    const a = resourceId('user', 'x');
    const b = grant(entitlement(u, 'e'), a);
    const c = grant(entitlement(u, 'e'), a);
    b.annotations.push(c.annotations[0] ?? ({} as never));
    expect(c.annotations).toHaveLength(0);
    expect(
      equals(GrantSchema, c, create(GrantSchema, { id: c.id, entitlement: c.entitlement, principal: c.principal })),
    ).toBe(true);
  });

  it('marks immutable entitlements and truncates over-long names by UTF-8 bytes', () => {
    const g = groupResource({ type: 'group', id: 'g', displayName: 'é'.repeat(600) });
    expect(Buffer.byteLength(g.displayName)).toBeLessThanOrEqual(1024);
    const ent = entitlement(g, 'member', { immutable: 'synced from IdP' });
    expect(isImmutable(ent)).toBe(true);
    expect(findAnnotation(ent.annotations, EntitlementImmutableSchema)!.sourceId).toBe('synced from IdP');
    expect(hasAnnotation(entitlement(g, 'x').annotations, EntitlementImmutableSchema)).toBe(false);
    expect(equals(EntitlementSchema, ent, create(EntitlementSchema, ent))).toBe(true);
  });
});
