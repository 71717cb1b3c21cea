/**
 * The protocol check: what a host needs before and around the walk, judged only by what Go connectors built with
 * baton-sdk do too (docs/testing.md, "protocol"):
 *  - `RateLimiterService.Do` echoes the request token with STATUS_EMPTY (a Go host calls it before every call and
 *    skips the call on any status but OK, EMPTY and OVERLIMIT); `Report` answers;
 *  - `GetMetadata` answers with a display name; `Validate` answers OK;
 *  - `grpc.health.v1` and server reflection are informational: Go connectors serve neither;
 *  - `ListStaticEntitlements` answers a list for every type (newer Go hosts call it once per type and fail the
 *    sync on any error; UNIMPLEMENTED, from connectors built before baton-sdk v0.5.21, is a warning);
 *  - `ListResources` of a child type without a parent answers an empty list (every host asks it).
 */
import { randomBytes } from 'node:crypto';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import type { ConnectorMetadata } from '../../gen/c1/connector/v2/connector_pb.js';
import type { ResourceType } from '../../gen/c1/connector/v2/resource_pb.js';
import { RateLimitDescription_Status, RateLimiterService } from '../../gen/c1/ratelimit/v1/ratelimit_pb.js';
import { Health, HealthCheckResponse_ServingStatus } from '../../gen/grpc/health/v1/health_pb.js';
import {
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from '../../gen/grpc/reflection/v1/reflection_pb.js';
import { ConnectorExitedError, describeError, PageTokenGuard, RpcError } from '../../host/index.js';
import { asBuffer } from '../../util/bytes.js';
import type { Session } from '../session.js';
import { quote, sample } from '../violations.js';
import type { CheckRecorder } from './result.js';

/** What the first calls learned, for the other checks. */
export interface ConnectorFacts {
  metadata?: ConnectorMetadata;
  /** Why GetMetadata failed. */
  metadataError?: unknown;
  /** `sdk_version` from Validate. */
  sdkVersion?: string;
  validateError?: unknown;
  /** Every resource type ListResourceTypes returned (undefined when it failed). */
  types?: ResourceType[];
  typesError?: unknown;
}

/** The connector process died: the check stops, and says so. */
export class ConnectorGone extends Error {}

function codeOf(err: unknown): number | undefined {
  return err instanceof RpcError ? err.code : undefined;
}

/** Runs `fn`; a dead connector becomes `ConnectorGone` (reported once by the caller), anything else is returned. */
export async function attempt<T>(fn: () => Promise<T>): Promise<{ value: T } | { error: unknown }> {
  try {
    return { value: await fn() };
  } catch (err) {
    if (err instanceof ConnectorExitedError) throw new ConnectorGone(err.message, { cause: err });
    return { error: err };
  }
}

/** GetMetadata, Validate and every page of ListResourceTypes, answered or not. */
export async function gatherFacts(session: Session): Promise<ConnectorFacts> {
  const facts: ConnectorFacts = {};
  const md = await attempt(() => session.client.getMetadata({}));
  if ('value' in md) facts.metadata = md.value.metadata;
  else facts.metadataError = md.error;
  const validated = await attempt(() => session.client.validate({}));
  if ('value' in validated) facts.sdkVersion = validated.value.sdkVersion;
  else facts.validateError = validated.error;
  const types = await attempt(async () => {
    const all: ResourceType[] = [];
    const tokens = new PageTokenGuard();
    for (let page = 0; page < 1000; page++) {
      const resp = await session.client.listResourceTypes({ pageToken: tokens.current });
      all.push(...resp.list);
      if (resp.nextPageToken === '' || tokens.advance(resp.nextPageToken)) break;
    }
    return all;
  });
  if ('value' in types) facts.types = types.value;
  else facts.typesError = types.error;
  return facts;
}

/** Do/Report, the facts' verdicts, health, reflection and ListStaticEntitlements. */
export async function protocolProbes(session: Session, facts: ConnectorFacts, c: CheckRecorder): Promise<void> {
  await rateLimiter(session, c);

  if (facts.metadataError !== undefined) {
    c.v.add(
      'get-metadata',
      `GetMetadata failed: ${describeError(facts.metadataError)}; expected the connector's metadata`,
    );
  } else if (!facts.metadata) {
    c.v.add('get-metadata', 'GetMetadata answered without metadata; expected a ConnectorMetadata with a display name');
  } else if (!facts.metadata.displayName.trim()) {
    c.v.add('get-metadata', 'GetMetadata answered an empty display_name; expected one (it is required)');
  } else {
    c.saw(`GetMetadata ${quote(facts.metadata.displayName)}`);
  }
  if (facts.validateError !== undefined) {
    c.v.add(
      'validate',
      `Validate failed: ${describeError(facts.validateError)}; expected OK (a host runs Validate before every sync and stops when it fails)`,
    );
  } else {
    c.saw(`Validate OK${facts.sdkVersion ? ` (sdk ${facts.sdkVersion})` : ''}`);
  }

  await health(session, c);
  await reflection(session, c);
  if (facts.types) await staticEntitlements(session, facts.types, c);
}

async function rateLimiter(session: Session, c: CheckRecorder): Promise<void> {
  const token = `baton-conform-${randomBytes(6).toString('hex')}`;
  const descriptors = {
    entries: [{ key: 'connector_method', value: '/c1.connector.v2.ConnectorService/Validate' }],
  };
  const done = await attempt(() =>
    session.clock.time('Do', () =>
      session.grpc.unary(RateLimiterService.method.do, { requestToken: token, service: 'connector', descriptors }),
    ),
  );
  if ('error' in done) {
    c.v.add(
      'rate-limit-do',
      `RateLimiterService.Do failed: ${describeError(done.error)}; expected it served (a Go host calls Do before every call and fails that call when Do fails)`,
    );
    return;
  }
  const reply = done.value;
  const status = reply.description?.status ?? RateLimitDescription_Status.UNSPECIFIED;
  const statusName = `STATUS_${RateLimitDescription_Status[status] ?? status}`;
  if (reply.requestToken !== token) {
    c.v.add(
      'rate-limit-do',
      `Do answered request_token ${quote(reply.requestToken)}; expected the token it was sent (${quote(token)})`,
    );
  }
  if (status === RateLimitDescription_Status.EMPTY) {
    if (reply.requestToken === token) c.saw('Do echoes the token (STATUS_EMPTY)');
  } else if (status === RateLimitDescription_Status.OK || status === RateLimitDescription_Status.OVERLIMIT) {
    c.v.warn(
      'rate-limit-do',
      `Do answered ${statusName} to a host that configured no rate limiter; expected STATUS_EMPTY${status === RateLimitDescription_Status.OVERLIMIT ? ' (a host sleeps until reset_at)' : ''}`,
    );
  } else {
    c.v.add(
      'rate-limit-do',
      `Do answered ${statusName}; expected STATUS_EMPTY (on any status but OK, EMPTY and OVERLIMIT a Go host skips the call and returns an empty reply)`,
    );
  }
  const reported = await attempt(() =>
    session.clock.time('Report', () =>
      session.grpc.unary(RateLimiterService.method.report, {
        requestToken: token,
        service: 'connector',
        descriptors,
        description: { status: RateLimitDescription_Status.OK },
      }),
    ),
  );
  if ('error' in reported) {
    c.v.warn('rate-limit-report', `RateLimiterService.Report failed: ${describeError(reported.error)}; expected {}`);
  }
}

async function health(session: Session, c: CheckRecorder): Promise<void> {
  const checked = await attempt(() =>
    session.clock.time('Health/Check', () => session.grpc.unary(Health.method.check, { service: '' })),
  );
  if ('error' in checked) {
    if (codeOf(checked.error) === grpc.status.UNIMPLEMENTED) {
      c.note('health: not served (Go connectors do not serve grpc.health.v1 either)');
    } else {
      c.v.warn(
        'health',
        `grpc.health.v1 Health/Check failed: ${describeError(checked.error)}; expected SERVING or UNIMPLEMENTED`,
      );
    }
    return;
  }
  const status = checked.value.status;
  if (status === HealthCheckResponse_ServingStatus.SERVING) c.note('health: SERVING');
  else {
    c.v.warn(
      'health',
      `Health/Check answered ${HealthCheckResponse_ServingStatus[status] ?? status} while the connector answers calls; expected SERVING`,
    );
  }
}

/**
 * Lists services through server reflection (a bidirectional stream), or says why not. v1alpha messages are
 * wire-identical to v1, so the v1 schemas serve both.
 */
async function listByReflection(
  session: Session,
  version: 'v1' | 'v1alpha',
): Promise<{ services: string[] } | { unimplemented: true } | { error: string }> {
  const path = `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`;
  const raw = session.grpc.grpcClient;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (value: { services: string[] } | { unimplemented: true } | { error: string }) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    const call = raw.makeBidiStreamRequest(
      path,
      (m: ServerReflectionRequest) => asBuffer(toBinary(ServerReflectionRequestSchema, m)),
      (b: Buffer) => fromBinary(ServerReflectionResponseSchema, new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
      new grpc.Metadata(),
      { deadline: Date.now() + 5_000 },
    );
    call.on('data', (resp: ServerReflectionResponse) => {
      const answer = resp.messageResponse;
      if (answer.case === 'listServicesResponse') finish({ services: answer.value.service.map((s) => s.name) });
      else if (answer.case === 'errorResponse') finish({ error: answer.value.errorMessage });
      call.cancel();
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.UNIMPLEMENTED) finish({ unimplemented: true });
      else if (err.code !== grpc.status.CANCELLED || !settled)
        finish({ error: `${grpc.status[err.code]}: ${err.details}` });
    });
    call.on('end', () => finish({ error: 'the stream ended without an answer' }));
    call.write(create(ServerReflectionRequestSchema, { messageRequest: { case: 'listServices', value: '' } }));
    call.end();
  });
}

async function reflection(session: Session, c: CheckRecorder): Promise<void> {
  const seen: string[] = [];
  for (const version of ['v1', 'v1alpha'] as const) {
    const r = await listByReflection(session, version);
    if ('services' in r) {
      seen.push(`${version} (${r.services.length} services)`);
      if (!r.services.includes('c1.connector.v2.ResourcesService')) {
        c.v.warn(
          'reflection',
          `server reflection ${version} lists ${sample(r.services)} but not c1.connector.v2.ResourcesService; expected the services the connector serves`,
        );
      }
    } else if ('error' in r) {
      c.v.warn(
        'reflection',
        `server reflection ${version} failed: ${r.error}; expected a service list or UNIMPLEMENTED`,
      );
    }
  }
  c.note(seen.length ? `reflection: ${seen.join(', ')}` : 'reflection: absent (Go connectors do not serve it either)');
}

async function staticEntitlements(session: Session, types: ResourceType[], c: CheckRecorder): Promise<void> {
  let empty = 0;
  let templates = 0;
  for (const rt of types) {
    if (!rt.id) continue;
    const r = await attempt(() => session.client.listStaticEntitlements({ resourceTypeId: rt.id }));
    if ('value' in r) {
      if (r.value.list.length === 0) empty++;
      else templates += r.value.list.length;
      continue;
    }
    if (codeOf(r.error) === grpc.status.UNIMPLEMENTED) {
      c.v.warn(
        'static-entitlements',
        `ListStaticEntitlements(${rt.id}) answered UNIMPLEMENTED; newer Go hosts (baton-sdk >= v0.5.21) call it for every type and fail the sync on any error, so expected a list (empty without static entitlements)`,
        rt.id,
      );
    } else {
      c.v.add(
        'static-entitlements',
        `ListStaticEntitlements(${rt.id}) failed: ${describeError(r.error)}; expected a list (empty without static entitlements): newer Go hosts fail the sync on any error here`,
        rt.id,
      );
    }
  }
  if (empty + templates > 0 || types.length === 0) {
    c.saw(
      templates > 0
        ? `ListStaticEntitlements: ${templates} templates`
        : `ListStaticEntitlements empty for ${empty} type${empty === 1 ? '' : 's'}`,
    );
  }
}

/**
 * Every host lists each type at top level, child types included: without a parent, a child type should answer an
 * empty list. `childTypes` are the types some resource announced with `ChildResourceType` during the walk.
 */
export async function childTypeProbes(session: Session, childTypes: Iterable<string>, c: CheckRecorder): Promise<void> {
  const probed: string[] = [];
  for (const typeId of childTypes) {
    const r = await attempt(() => session.client.listResources({ resourceTypeId: typeId }));
    probed.push(typeId);
    if ('error' in r) {
      c.v.add(
        'child-type-top-level',
        `ListResources(${typeId}) without a parent failed: ${describeError(r.error)}; expected an empty list (every host lists each type at top level and aborts the sync on this error)`,
        typeId,
      );
    } else if (r.value.list.length > 0) {
      const ids = r.value.list.map((x) => `${x.id?.resourceType}:${x.id?.resource}`);
      c.v.warn(
        'child-type-top-level',
        `ListResources(${typeId}) without a parent returned ${r.value.list.length} resources (${sample(ids, 3)}) although ${typeId} is listed under parents; expected an empty list (a host lists both and keeps the first copy of each)`,
        typeId,
      );
    }
  }
  c.saw(probed.length ? `ListResources without a parent of child types: ${probed.join(', ')}` : 'no child types');
}
