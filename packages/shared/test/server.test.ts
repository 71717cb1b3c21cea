/**
 * The plugin server, exercised the way a Go host uses it: a real subprocess, the real handshake, mTLS, and an
 * independent gRPC client (@grpc/grpc-js).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import {
  create,
  createFileRegistry,
  fromBinary,
  toBinary,
  type DescMethodUnary,
  type Message,
} from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { ConnectorService } from '../src/gen/c1/connector/v2/connector_pb.js';
import {
  AccountManagerService,
  CredentialManagerService,
  ResourceDeleterService,
  ResourceGetterService,
  ResourceManagerService,
  ResourcesService,
  ResourceTypesService,
  ResourceType_Trait,
  type ResourcesServiceListResourcesResponse,
} from '../src/gen/c1/connector/v2/resource_pb.js';
import { EntitlementsService } from '../src/gen/c1/connector/v2/entitlement_pb.js';
import { GrantManagerService, GrantsService } from '../src/gen/c1/connector/v2/grant_pb.js';
import { EventService } from '../src/gen/c1/connector/v2/event_feed_pb.js';
import {
  RateLimitDescriptionSchema,
  RateLimitDescription_Status,
} from '../src/gen/c1/connector/v2/annotation_ratelimit_pb.js';
import {
  GrantAlreadyExistsSchema,
  GrantAlreadyRevokedSchema,
  GrantExpandableSchema,
} from '../src/gen/c1/connector/v2/annotation_grant_pb.js';
import { ResourceDoesNotExistSchema } from '../src/gen/c1/connector/v2/annotation_resource_pb.js';
import { UserTraitSchema } from '../src/gen/c1/connector/v2/annotation_trait_pb.js';
import { ChildResourceTypeSchema } from '../src/gen/c1/connector/v2/annotation_resource_tree_pb.js';
import {
  RateLimiterService,
  RateLimitDescription_Status as GateStatus,
} from '../src/gen/c1/ratelimit/v1/ratelimit_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../src/gen/grpc/health/v1/health_pb.js';
import * as reflectionPb from '../src/gen/grpc/reflection/v1/reflection_pb.js';
import * as reflectionAlphaPb from '../src/gen/grpc/reflection/v1alpha/reflection_pb.js';
import { findAnnotation, hasAnnotation } from '../src/sdk/annotations.js';
import { generateHandshakeCredentials } from '../src/tls/credentials.js';
import { clientTlsOptions } from '../src/tls/node-tls.js';
import { clientTlsForGrpc, GRPC_LOOPBACK_CHANNEL_OPTIONS } from '../src/tls/grpc-credentials.js';
import { openLoopbackListener } from '../src/host/listener.js';
import { ServerConfigSchema } from '../src/gen/c1/connector_wrapper/v1/connector_wrapper_pb.js';
import { spawnPlugin, type SpawnedPlugin } from '../src/testing/handshake-spawn.js';
import { methodPath, unary } from './support/grpc-call.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/fixture-service.mjs', import.meta.url));
const PARENT = fileURLToPath(new URL('./fixtures/parent-of-plugin.mjs', import.meta.url));
const node = process.execPath;

function decodeRateLimitDetail(statusBytes: Buffer | undefined) {
  // google.rpc.Status { code = 1; message = 2; repeated Any details = 3 }, decoded with a one-off descriptor-free walk.
  if (!statusBytes) return undefined;
  let offset = 0;
  const details: Buffer[] = [];
  const readVarint = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = statusBytes[offset++];
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
    }
  };
  while (offset < statusBytes.length) {
    const tag = readVarint();
    const wire = tag & 7;
    if (wire === 0) readVarint();
    else if (wire === 2) {
      const len = readVarint();
      if (tag >> 3 === 3) details.push(statusBytes.subarray(offset, offset + len));
      offset += len;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  for (const any of details) {
    // Any { type_url = 1; value = 2 }
    const text = any.toString('latin1');
    if (text.includes('c1.connector.v2.RateLimitDescription')) {
      const urlLen = any[1];
      const valueStart = 2 + urlLen + 2;
      return fromBinary(RateLimitDescriptionSchema, any.subarray(valueStart, valueStart + any[2 + urlLen + 1]));
    }
  }
  return undefined;
}

describe('plugin server through the real subprocess handshake', () => {
  let plugin: SpawnedPlugin;
  let plain: SpawnedPlugin;

  beforeAll(async () => {
    [plugin, plain] = await Promise.all([
      spawnPlugin(node, [FIXTURE, '--provisioning', '--users', '250']),
      spawnPlugin(node, [FIXTURE]),
    ]);
  });
  afterAll(async () => {
    await Promise.all([plugin?.stop(), plain?.stop()]);
  });

  it('answers GetMetadata with derived capabilities', async () => {
    const { message, error } = await unary(plugin.client, ConnectorService.method.getMetadata, {});
    expect(error).toBeUndefined();
    const md = message!.metadata!;
    expect(md.displayName).toBe('Fixture');
    expect(md.helpUrl).toBe('https://example.com/fixture');
    const caps = md.capabilities!.resourceTypeCapabilities.map((c) => [c.resourceType!.id, c.capabilities]);
    // Sorted by type id; group provisions; user creates accounts and deletes; project only syncs.
    expect(caps).toEqual([
      ['group', [2, 1]],
      ['project', [2]],
      ['user', [2, 5, 8]],
    ]);
    expect(md.capabilities!.connectorCapabilities).toEqual([1, 2, 5, 8]);
  });

  it('validates and reports an SDK version that makes newer hosts send active_sync_id', async () => {
    const { message, error } = await unary(plugin.client, ConnectorService.method.validate, {});
    expect(error).toBeUndefined();
    expect(message!.sdkVersion).toBe('v0.7.27');
    const cleanup = await unary(plugin.client, ConnectorService.method.cleanup, { activeSyncId: 'abc' });
    expect(cleanup.error).toBeUndefined();
  });

  it('lists resource types with traits and annotations', async () => {
    const { message } = await unary(plugin.client, ResourceTypesService.method.listResourceTypes, {});
    expect(message!.list.map((t) => [t.id, t.traits])).toEqual([
      ['user', [ResourceType_Trait.USER]],
      ['group', [ResourceType_Trait.GROUP]],
      ['project', []],
    ]);
    expect(message!.nextPageToken).toBe('');
  });

  it('pages through resources with opaque tokens and honours page_size', async () => {
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const { message, error } = await unary(plugin.client, ResourcesService.method.listResources, {
        resourceTypeId: 'user',
        pageSize: 100,
        pageToken: token,
      });
      expect(error).toBeUndefined();
      pages++;
      for (const r of message!.list) {
        seen.push(r.id!.resource);
        const trait = findAnnotation(r.annotations, UserTraitSchema);
        expect(trait?.emails[0]?.isPrimary).toBe(true);
      }
      expect(message!.nextPageToken.length).toBeLessThanOrEqual(4096);
      token = message!.nextPageToken;
    } while (token);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(250);
  });

  it('answers an empty list for a child-only type without a parent, and lists children with one', async () => {
    const top = await unary(plugin.client, ResourcesService.method.listResources, { resourceTypeId: 'project' });
    expect(top.message!.list).toEqual([]);
    const groups = await unary(plugin.client, ResourcesService.method.listResources, { resourceTypeId: 'group' });
    const g0 = groups.message!.list[0];
    expect(findAnnotation(g0.annotations, ChildResourceTypeSchema)?.resourceTypeId).toBe('project');
    const children = await unary(plugin.client, ResourcesService.method.listResources, {
      resourceTypeId: 'project',
      parentResourceId: g0.id,
    });
    expect(children.message!.list.map((p) => [p.id!.resource, p.parentResourceId!.resource])).toEqual([
      ['g0-p0', 'g0'],
      ['g0-p1', 'g0'],
    ]);
  });

  it('gets one resource, and NOT_FOUND for unknown ones and unknown types', async () => {
    const got = await unary(plugin.client, ResourceGetterService.method.getResource, {
      resourceId: { resourceType: 'user', resource: 'u7' },
    });
    expect(got.message!.resource!.displayName).toBe('User 7');
    const missing = await unary(plugin.client, ResourceGetterService.method.getResource, {
      resourceId: { resourceType: 'user', resource: 'nobody' },
    });
    expect(missing.error!.code).toBe(grpc.status.NOT_FOUND);
    const unknownType = await unary(plugin.client, ResourcesService.method.listResources, { resourceTypeId: 'vault' });
    expect(unknownType.error!.code).toBe(grpc.status.NOT_FOUND);
    expect(unknownType.error!.details).toContain('unknown resource type vault');
  });

  it('lists entitlements, static entitlements and paged grants with Baton ids', async () => {
    const groups = await unary(plugin.client, ResourcesService.method.listResources, { resourceTypeId: 'group' });
    const g1 = groups.message!.list[1];
    const ents = await unary(plugin.client, EntitlementsService.method.listEntitlements, { resource: g1 });
    expect(ents.message!.list.map((e) => e.id)).toEqual(['group:g1:member']);
    const statics = await unary(plugin.client, EntitlementsService.method.listStaticEntitlements, {
      resourceTypeId: 'group',
    });
    expect(statics.error).toBeUndefined();
    expect(statics.message!.list).toEqual([]);

    const ids: string[] = [];
    let token = '';
    do {
      const page = await unary(plugin.client, GrantsService.method.listGrants, {
        resource: g1,
        pageSize: 50,
        pageToken: token,
      });
      ids.push(...page.message!.list.map((g) => g.id));
      token = page.message!.nextPageToken;
    } while (token);
    expect(ids.length).toBe(125); // every second user of 250
    expect(ids[0]).toMatch(/^group:g1:member:user:u\d+$/);

    const projects = await unary(plugin.client, ResourcesService.method.listResources, {
      resourceTypeId: 'project',
      parentResourceId: g1.id,
    });
    const pgrants = await unary(plugin.client, GrantsService.method.listGrants, {
      resource: projects.message!.list[0],
    });
    const expandable = findAnnotation(pgrants.message!.list[0].annotations, GrantExpandableSchema);
    expect(expandable?.entitlementIds).toEqual(['group:g1:member']);
  });

  it('provisions idempotently: grant, grant again, revoke, revoke again', async () => {
    const groups = await unary(plugin.client, ResourcesService.method.listResources, { resourceTypeId: 'group' });
    const g2 = groups.message!.list[2];
    const ent = (await unary(plugin.client, EntitlementsService.method.listEntitlements, { resource: g2 })).message!
      .list[0];
    const principal = { id: { resourceType: 'user', resource: 'u1' } };
    const first = await unary(plugin.client, GrantManagerService.method.grant, { entitlement: ent, principal });
    expect(first.error).toBeUndefined();
    expect(hasAnnotation(first.message!.annotations, GrantAlreadyExistsSchema)).toBe(false);
    expect(first.message!.grants[0].id).toBe('group:g2:member:user:u1');
    const again = await unary(plugin.client, GrantManagerService.method.grant, { entitlement: ent, principal });
    expect(hasAnnotation(again.message!.annotations, GrantAlreadyExistsSchema)).toBe(true);
    const grant = { id: 'group:g2:member:user:u1', entitlement: ent, principal };
    const revoked = await unary(plugin.client, GrantManagerService.method.revoke, { grant });
    expect(hasAnnotation(revoked.message!.annotations, GrantAlreadyRevokedSchema)).toBe(false);
    const revokedAgain = await unary(plugin.client, GrantManagerService.method.revoke, { grant });
    expect(hasAnnotation(revokedAgain.message!.annotations, GrantAlreadyRevokedSchema)).toBe(true);
  });

  it('creates accounts and deletes resources, idempotently', async () => {
    const created = await unary(plugin.client, AccountManagerService.method.createAccount, {
      accountInfo: { login: 'newbie', emails: [{ address: 'newbie@example.com', isPrimary: true }] },
    });
    expect(created.error).toBeUndefined();
    expect(created.message!.result.case).toBe('success');
    const again = await unary(plugin.client, AccountManagerService.method.createAccount, {
      accountInfo: { login: 'newbie' },
    });
    expect(again.message!.result.case).toBe('alreadyExists');

    const del = await unary(plugin.client, ResourceManagerService.method.deleteResource, {
      resourceId: { resourceType: 'user', resource: 'u9' },
    });
    expect(hasAnnotation(del.message!.annotations, ResourceDoesNotExistSchema)).toBe(false);
    const delV2 = await unary(plugin.client, ResourceDeleterService.method.deleteResourceV2, {
      resourceId: { resourceType: 'user', resource: 'u9' },
    });
    expect(hasAnnotation(delV2.message!.annotations, ResourceDoesNotExistSchema)).toBe(true);
    const createRes = await unary(plugin.client, ResourceManagerService.method.createResource, {
      resource: { id: { resourceType: 'group', resource: 'g9' }, displayName: 'x' },
    });
    expect(createRes.error!.code).toBe(grpc.status.UNIMPLEMENTED);
    const rotate = await unary(plugin.client, CredentialManagerService.method.rotateCredential, {
      resourceId: { resourceType: 'user', resource: 'u1' },
    });
    expect(rotate.error!.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('refuses provisioning when it is not enabled', async () => {
    const calls: Array<Promise<{ error?: grpc.ServiceError }>> = [
      unary(plain.client, GrantManagerService.method.grant, {
        entitlement: { id: 'group:g0:member', resource: { id: { resourceType: 'group', resource: 'g0' } } },
        principal: { id: { resourceType: 'user', resource: 'u1' } },
      }),
      unary(plain.client, GrantManagerService.method.revoke, {
        grant: {
          id: 'x',
          entitlement: { id: 'group:g0:member', resource: { id: { resourceType: 'group', resource: 'g0' } } },
          principal: { id: { resourceType: 'user', resource: 'u1' } },
        },
      }),
      unary(plain.client, ResourceManagerService.method.deleteResource, {
        resourceId: { resourceType: 'user', resource: 'u1' },
      }),
      unary(plain.client, ResourceDeleterService.method.deleteResourceV2, {
        resourceId: { resourceType: 'user', resource: 'u1' },
      }),
      unary(plain.client, AccountManagerService.method.createAccount, { accountInfo: { login: 'x' } }),
      unary(plain.client, CredentialManagerService.method.rotateCredential, {}),
    ];
    for (const result of await Promise.all(calls)) {
      expect(result.error!.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(result.error!.details).toBe('provisioning is not enabled');
    }
  });

  it('serves the rate-limit gate the way a Go host expects', async () => {
    const done = await unary(plugin.client, RateLimiterService.method.do, {
      requestToken: 'tok-1',
      service: 'connector',
    });
    expect(done.message!.requestToken).toBe('tok-1');
    expect(done.message!.description!.status).toBe(GateStatus.EMPTY);
    const report = await unary(plugin.client, RateLimiterService.method.report, {
      requestToken: 'tok-1',
      description: { status: GateStatus.OK },
    });
    expect(report.error).toBeUndefined();
  });

  it('answers health checks', async () => {
    const all = await unary(plugin.client, Health.method.check, { service: '' });
    expect(all.message!.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const svc = await unary(plugin.client, Health.method.check, { service: 'c1.connector.v2.ResourcesService' });
    expect(svc.message!.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const unknown = await unary(plugin.client, Health.method.check, { service: 'nope.Service' });
    expect(unknown.error!.code).toBe(grpc.status.NOT_FOUND);
  });

  it('answers an empty event feed and NOT_FOUND for assets', async () => {
    const events = await unary(plugin.client, EventService.method.listEvents, { cursor: 'c1' });
    expect(events.message!.events).toEqual([]);
    expect(events.message!.cursor).toBe('c1');
    const feeds = await unary(plugin.client, EventService.method.listEventFeeds, {});
    expect(feeds.message!.list).toEqual([]);
    const stream = plugin.client.makeServerStreamRequest(
      '/c1.connector.v2.AssetService/GetAsset',
      (v: Buffer) => v,
      (v: Buffer) => v,
      Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x78]), // asset { id: "x" }
    );
    const code = await new Promise<number>((resolve) => {
      stream.on('data', () => {});
      stream.on('error', (e: grpc.ServiceError) => resolve(e.code));
      stream.on('end', () => resolve(0));
    });
    expect(code).toBe(grpc.status.NOT_FOUND);
  });
});

describe('request validation (PGV rules) -> INVALID_ARGUMENT naming the field', () => {
  let plugin: SpawnedPlugin;
  beforeAll(async () => {
    plugin = await spawnPlugin(node, [FIXTURE, '--provisioning']);
  });
  afterAll(async () => plugin?.stop());

  const cases: Array<[string, DescMethodUnary, Record<string, unknown>, string]> = [
    [
      'empty resource_type_id',
      ResourcesService.method.listResources,
      {},
      'invalid ResourcesServiceListResourcesRequest.ResourceTypeId: value length must be between 1 and 1024 bytes, inclusive',
    ],
    [
      'resource_type_id over 1024 bytes',
      ResourcesService.method.listResources,
      { resourceTypeId: 'x'.repeat(1025) },
      'ResourcesServiceListResourcesRequest.ResourceTypeId',
    ],
    [
      'page_size over 250',
      ResourcesService.method.listResources,
      { resourceTypeId: 'user', pageSize: 251 },
      'invalid ResourcesServiceListResourcesRequest.PageSize: value must be less than or equal to 250',
    ],
    [
      'page_token over 1 MiB',
      ResourceTypesService.method.listResourceTypes,
      { pageToken: 'x'.repeat(1_048_577) },
      'ResourceTypesServiceListResourceTypesRequest.PageToken',
    ],
    [
      'active_sync_id over 1024',
      ResourcesService.method.listResources,
      { resourceTypeId: 'user', activeSyncId: 'x'.repeat(1025) },
      'ResourcesServiceListResourcesRequest.ActiveSyncId',
    ],
    [
      'parent id without resource',
      ResourcesService.method.listResources,
      { resourceTypeId: 'project', parentResourceId: { resourceType: 'group' } },
      'invalid ResourcesServiceListResourcesRequest.ParentResourceId: embedded message failed validation | caused by: invalid ResourceId.Resource',
    ],
    [
      'ListGrants without resource',
      GrantsService.method.listGrants,
      {},
      'invalid GrantsServiceListGrantsRequest.Resource: value is required',
    ],
    [
      'Grant without principal',
      GrantManagerService.method.grant,
      { entitlement: { id: 'a', resource: { id: { resourceType: 'group', resource: 'g0' } } } },
      'invalid GrantManagerServiceGrantRequest.Principal: value is required',
    ],
    [
      'Revoke without grant',
      GrantManagerService.method.revoke,
      {},
      'invalid GrantManagerServiceRevokeRequest.Grant: value is required',
    ],
    [
      'entitlement without id',
      GrantManagerService.method.grant,
      {
        entitlement: { resource: { id: { resourceType: 'group', resource: 'g0' } } },
        principal: { id: { resourceType: 'user', resource: 'u1' } },
      },
      'invalid GrantManagerServiceGrantRequest.Entitlement: embedded message failed validation | caused by: invalid Entitlement.Id',
    ],
    [
      'entitlement without resource',
      GrantManagerService.method.grant,
      { entitlement: { id: 'a' }, principal: { id: { resourceType: 'user', resource: 'u1' } } },
      'invalid Entitlement.Resource: value is required',
    ],
    [
      'undefined purpose enum',
      GrantManagerService.method.grant,
      {
        entitlement: { id: 'a', purpose: 9, resource: { id: { resourceType: 'group', resource: 'g0' } } },
        principal: { id: { resourceType: 'user', resource: 'u1' } },
      },
      'invalid Entitlement.Purpose: value must be one of the defined enum values',
    ],
    [
      'duplicate traits',
      GrantManagerService.method.grant,
      {
        entitlement: {
          id: 'a',
          grantableTo: [{ id: 'user', traits: [1, 1] }],
          resource: { id: { resourceType: 'group', resource: 'g0' } },
        },
        principal: { id: { resourceType: 'user', resource: 'u1' } },
      },
      'invalid ResourceType.Traits: repeated value must contain unique items',
    ],
    ['description over 2048', ListGrantsWithDescription(), {}, 'invalid Resource.Description'],
    [
      'bad email',
      AccountManagerService.method.createAccount,
      { accountInfo: { emails: [{ address: 'not-an-email' }] } },
      'invalid AccountInfo_Email.Address: value must be a valid email address',
    ],
    [
      'password length',
      AccountManagerService.method.createAccount,
      {
        accountInfo: { login: 'x' },
        credentialOptions: { options: { case: 'randomPassword', value: { length: 4n } } },
      },
      'invalid CredentialOptions_RandomPassword.Length: value must be inside range [8, 64]',
    ],
    [
      'static entitlements need a type',
      EntitlementsService.method.listStaticEntitlements,
      {},
      'invalid EntitlementsServiceListStaticEntitlementsRequest.ResourceTypeId',
    ],
  ];

  function ListGrantsWithDescription() {
    return GrantsService.method.listGrants;
  }

  for (const [name, method, input, expected] of cases) {
    it(name, async () => {
      const request =
        name === 'description over 2048'
          ? { resource: { id: { resourceType: 'group', resource: 'g0' }, description: 'd'.repeat(2049) } }
          : input;
      const { error } = await unary(plugin.client, method, request as never);
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error!.details).toContain(expected);
    });
  }

  it('accepts valid requests untouched by the rules', async () => {
    const { error } = await unary(plugin.client, ResourcesService.method.listResources, {
      resourceTypeId: 'user',
      pageSize: 250,
    });
    expect(error).toBeUndefined();
  });

  it('rejects a page token it did not issue', async () => {
    const { error } = await unary(plugin.client, ResourcesService.method.listResources, {
      resourceTypeId: 'user',
      pageToken: 'garbage',
    });
    expect(error!.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error!.details).toContain('invalid page token');
  });
});

describe('errors', () => {
  it('turns an unexpected exception into INTERNAL without its message or secrets', async () => {
    const plugin = await spawnPlugin(node, [FIXTURE, '--throw-in-list']);
    try {
      const { error } = await unary(plugin.client, ResourcesService.method.listResources, { resourceTypeId: 'user' });
      expect(error!.code).toBe(grpc.status.INTERNAL);
      expect(error!.details).toBe('Internal Server Error');
      expect(plugin.stderr()).not.toContain('fixture-token');
    } finally {
      await plugin.stop();
    }
  });
});

describe('mTLS', () => {
  let plugin: SpawnedPlugin;
  beforeAll(async () => {
    plugin = await spawnPlugin(node, [FIXTURE]);
  });
  afterAll(async () => plugin?.stop());

  it('refuses a client without a certificate', async () => {
    const noCert = grpc.credentials.createSsl(Buffer.from(pemOf(plugin.credentials.client.caCert)), null, null, {
      checkServerIdentity: () => undefined,
    });
    const client = new grpc.Client(`127.0.0.1:${plugin.port}`, noCert, { ...GRPC_LOOPBACK_CHANNEL_OPTIONS });
    const { error } = await unary(client, ConnectorService.method.getMetadata, {}, 3000);
    client.close();
    expect(error).toBeDefined();
    expect(error!.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('refuses a client certificate from another CA', async () => {
    const other = await generateHandshakeCredentials();
    // Trust the real server, but present a client leaf signed by a foreign CA.
    const mixed = clientTlsForGrpc({ ...other.client, caCert: plugin.credentials.client.caCert });
    const client = new grpc.Client(`127.0.0.1:${plugin.port}`, mixed, { ...GRPC_LOOPBACK_CHANNEL_OPTIONS });
    const { error } = await unary(client, ConnectorService.method.getMetadata, {}, 3000);
    client.close();
    expect(error!.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('negotiates h2 over ALPN and requires TLS', async () => {
    const session = http2.connect(`https://127.0.0.1:${plugin.port}`, clientTlsOptions(plugin.credentials.client));
    const protocol = await new Promise<string | false>((resolve, reject) => {
      session.once('connect', () => resolve(session.alpnProtocol ?? false));
      session.once('error', reject);
    });
    session.close();
    expect(protocol).toBe('h2');
  });
});

describe('reflection', () => {
  let plugin: SpawnedPlugin;
  beforeAll(async () => {
    plugin = await spawnPlugin(node, [FIXTURE]);
  });
  afterAll(async () => plugin?.stop());

  async function reflect(pb: typeof reflectionPb | typeof reflectionAlphaPb, requests: Array<Record<string, unknown>>) {
    const method = pb.ServerReflection.method.serverReflectionInfo;
    const call = plugin.client.makeBidiStreamRequest(
      methodPath(method),
      (v: unknown) => Buffer.from(toBinary(method.input, create(method.input, v as never))),
      (b: Buffer) => fromBinary(method.output, b),
    );
    const answers: Array<ReturnType<typeof fromBinary<typeof method.output>>> = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (d) => answers.push(d));
      call.on('end', resolve);
      call.on('error', reject);
    });
    for (const r of requests) call.write(r);
    call.end();
    await done;
    return answers;
  }

  for (const [label, pb] of [
    ['v1', reflectionPb],
    ['v1alpha', reflectionAlphaPb],
  ] as const) {
    it(`${label}: lists every service`, async () => {
      const [answer] = await reflect(pb, [{ messageRequest: { case: 'listServices', value: '' } }]);
      const names = (answer.messageResponse.value as { service: Array<{ name: string }> }).service.map((s) => s.name);
      for (const expected of [
        'c1.connector.v2.ConnectorService',
        'c1.connector.v2.ResourcesService',
        'c1.connector.v2.GrantManagerService',
        'c1.ratelimit.v1.RateLimiterService',
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]) {
        expect(names).toContain(expected);
      }
    });
  }

  it('calls a method using only descriptors obtained through reflection', async () => {
    const [answer, missing] = await reflect(reflectionPb, [
      { messageRequest: { case: 'fileContainingSymbol', value: 'c1.connector.v2.ResourcesService.ListResources' } },
      { messageRequest: { case: 'fileContainingSymbol', value: 'no.such.Symbol' } },
    ]);
    expect(missing.messageResponse.case).toBe('errorResponse');
    const files = (answer.messageResponse.value as { fileDescriptorProto: Uint8Array[] }).fileDescriptorProto;
    // The server sends the requested file first, then its imports (like grpc-go); a registry wants imports first.
    const protos = files.map((b) => fromBinary(FileDescriptorProtoSchema, b));
    const ordered: typeof protos = [];
    const place = (name: string) => {
      if (ordered.some((p) => p.name === name)) return;
      const proto = protos.find((p) => p.name === name);
      if (!proto) throw new Error(`reflection did not send ${name}`);
      proto.dependency.forEach(place);
      ordered.push(proto);
    };
    protos.forEach((p) => place(p.name));
    const set = create(FileDescriptorSetSchema, { file: ordered });
    const registry = createFileRegistry(set);
    const service = registry.getService('c1.connector.v2.ResourcesService')!;
    const method = service.methods.find((m) => m.name === 'ListResources')!;
    // Decoded with the reflected descriptor; the generated type only names the fields for the assertion.
    const reply = await new Promise<ResourcesServiceListResourcesResponse>((resolve, reject) =>
      plugin.client.makeUnaryRequest(
        `/${service.typeName}/${method.name}`,
        (v: Message) => Buffer.from(toBinary(method.input, v)),
        (b: Buffer) => fromBinary(method.output, b) as unknown as ResourcesServiceListResourcesResponse,
        create(method.input, { resourceTypeId: 'group' } as never),
        (err, value) => (err || !value ? reject(err ?? new Error('no reply')) : resolve(value)),
      ),
    );
    expect(reply.list.map((r) => r.displayName)).toEqual(['Group 0', 'Group 1', 'Group 2']);
  });
});

describe('rate-limit details on errors', () => {
  it('carries a RateLimitDescription in grpc-status-details-bin', async () => {
    const plugin = await spawnPluginWithEnv();
    try {
      const { error, statusDetails } = await unary(plugin.client, ConnectorService.method.validate, {});
      expect(error!.code).toBe(grpc.status.UNAVAILABLE);
      const detail = decodeRateLimitDetail(statusDetails);
      expect(detail?.status).toBe(RateLimitDescription_Status.OVERLIMIT);
      expect(detail?.limit).toBe(10n);
      expect(Number(detail!.resetAt!.seconds)).toBeGreaterThan(Date.now() / 1000 - 5);
    } finally {
      await plugin.stop();
    }
  });
  async function spawnPluginWithEnv() {
    return spawnPlugin(node, [
      FIXTURE.replace('fixture-service.mjs', 'fixture-service.mjs'),
      '--fail-validate-unavailable',
    ]);
  }
});

function pemOf(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

describe('handshake failures and child lifetime', () => {
  function runChild(stdin: string | null, env: NodeJS.ProcessEnv, fd?: number) {
    return new Promise<{ code: number | null; stderr: string; ms: number }>((resolve) => {
      const started = Date.now();
      const stdio: Array<'pipe' | 'ignore' | number> = ['pipe', 'ignore', 'pipe'];
      if (fd !== undefined) stdio.push(fd);
      const child = spawn(node, [FIXTURE, '_connector-service'], { stdio, env: { ...process.env, ...env } });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      if (stdin !== null) child.stdin!.write(stdin);
      child.stdin!.end();
      child.on('exit', (code) => resolve({ code, stderr, ms: Date.now() - started }));
    });
  }

  it('fails clearly on empty stdin', async () => {
    const r = await runChild('', {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unexpected empty input');
  });

  it('fails clearly on corrupt stdin', async () => {
    const r = await runChild('!!! not base64 !!!\n', {});
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('invalid server config');
  });

  it('fails clearly without the listener fd', async () => {
    const creds = await generateHandshakeCredentials();
    const line = Buffer.from(
      toBinary(ServerConfigSchema, create(ServerConfigSchema, { credential: creds.server, listenPort: 1234 })),
    ).toString('base64');
    const r = await runChild(line + '\n', { BATON_CONNECTOR_SERVICE_LISTENER_FD: '' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('missing required listener fd');
  });

  it('fails clearly on a port mismatch', async () => {
    const creds = await generateHandshakeCredentials();
    const listener = await openLoopbackListener();
    const line = Buffer.from(
      toBinary(
        ServerConfigSchema,
        create(ServerConfigSchema, { credential: creds.server, listenPort: listener.port + 1 }),
      ),
    ).toString('base64');
    const promise = runChild(line + '\n', { BATON_CONNECTOR_SERVICE_LISTENER_FD: '3' }, listener.fd);
    listener.close();
    const r = await promise;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`listen port mismatch: ${listener.port} != ${listener.port + 1}`);
  });

  it('exits 0 promptly when stdin closes', async () => {
    const plugin = await spawnPlugin(node, [FIXTURE]);
    const started = Date.now();
    plugin.child.stdin!.end();
    const { code } = await plugin.exited;
    plugin.client.close();
    expect(code).toBe(0);
    // Generous for a loaded 2-core CI machine; a plugin that ignored stdin would run into the test's timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('exits when its parent is killed', async () => {
    const parent = spawn(node, [PARENT], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve) =>
      parent.stdout!.once('data', (d) => resolve(Number(String(d).trim()))),
    );
    // Wait until the plugin is serving (it has consumed its handshake line), then kill the parent hard.
    await new Promise((r) => setTimeout(r, 500));
    expect(isAlive(pid)).toBe(true);
    parent.kill('SIGKILL');
    const deadline = Date.now() + 3000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(isAlive(pid)).toBe(false);
  });

  it('exits cleanly on SIGTERM', async () => {
    const plugin = await spawnPlugin(node, [FIXTURE]);
    plugin.child.kill('SIGTERM');
    const { code } = await plugin.exited;
    plugin.client.close();
    expect(code).toBe(0);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)])
      .stdout.toString()
      .trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false;
  }
}
