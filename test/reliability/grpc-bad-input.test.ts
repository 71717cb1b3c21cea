// Bad input over gRPC (docs/reliability.md, "Bad input over gRPC"): for every connector, one child spawned through
// the real handshake serves at least 1,000 generated requests over its real mTLS socket, for every unary RPC of the
// connector services (provisioning ones included): wrong and oversized ids, bad and forged page tokens, huge page
// sizes, missing required messages, unknown resource types, random bytes as the message body, and messages with
// random fields. Every call must be answered within its deadline with the code docs/reliability.md gives for that
// input; afterwards the child is still up and answers GetMetadata. The generator is seeded (BAD_INPUT_SEED
// overrides the seed) and a failure prints the seed and the requests that went wrong.
import { create, ScalarType, toBinary, type DescField, type DescMessage, type DescMethod } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  AccountManagerService,
  ConnectorService,
  CredentialManagerService,
  EntitlementsService,
  EventService,
  GrantManagerService,
  GrantsService,
  ResourceDeleterService,
  ResourceGetterService,
  ResourceManagerService,
  ResourceTypesService,
  ResourcesService,
} from '@baton-ts/shared/pb';
import { SeededRandom } from '@baton-ts/shared/simulator';
import { CONNECTORS, isRunning, reliabilityFixtures, spawnChild } from './support.js';

const SEED = process.env.BAD_INPUT_SEED ?? 'bad-input-1';
const REQUESTS_PER_CONNECTOR = 1_000;
/** No call may take longer: a hang is a failure, not a slow answer. */
const CALL_DEADLINE_MS = 10_000;
/** Calls in flight at once against the one child. */
const IN_FLIGHT = 8;

const SERVICES = [
  ConnectorService,
  ResourceTypesService,
  ResourcesService,
  ResourceGetterService,
  EntitlementsService,
  GrantsService,
  GrantManagerService,
  ResourceManagerService,
  ResourceDeleterService,
  AccountManagerService,
  CredentialManagerService,
  EventService,
];
const METHODS: DescMethod[] = SERVICES.flatMap((s) => s.methods).filter((m) => m.methodKind === 'unary');
const path = (m: DescMethod) => `/${m.parent.typeName}/${m.name}`;
const byName = (name: string) => METHODS.find((m) => m.name === name)!;

const { status: Code } = grpc;
const codeName = (code: number) => grpc.status[code] ?? String(code);

/** Codes a connector may answer to well-formed requests it cannot serve; never INTERNAL, UNKNOWN or a transport code. */
const SEMANTIC = new Set<number>([
  Code.OK,
  Code.INVALID_ARGUMENT,
  Code.NOT_FOUND,
  Code.FAILED_PRECONDITION,
  Code.UNIMPLEMENTED,
  Code.ALREADY_EXISTS,
  Code.PERMISSION_DENIED,
]);

interface BadRequest {
  /** What kind of bad input this is (the row of docs/reliability.md). */
  kind: string;
  method: DescMethod;
  body: Uint8Array;
  /** Codes that are right for this input. */
  expect: ReadonlySet<number>;
  /** Short description for failure reports. */
  what: string;
}

/** Real ids from a first look at the connector, so generated requests also reach the code behind validation. */
interface Known {
  typeIds: string[];
  resources: Array<{ resourceType: string; resource: string }>;
  entitlementIds: string[];
}

function encode(schema: DescMessage, init: Record<string, unknown>): Uint8Array {
  return toBinary(schema, create(schema, init as never));
}

function randomAscii(rng: SeededRandom, min: number, max: number): string {
  const n = rng.int(min, max);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(32, 126));
  return s;
}

function randomBytes(rng: SeededRandom, min: number, max: number): Uint8Array {
  const out = new Uint8Array(rng.int(min, max));
  for (let i = 0; i < out.length; i++) out[i] = rng.int(0, 255);
  return out;
}

/** Page tokens nobody issued: random text, our prefix over junk, our prefix over well-formed JSON of the wrong shape. */
function forgedToken(rng: SeededRandom): string {
  const json = rng.pick([
    '{"offset":-5}',
    '[]',
    'null',
    '"x"',
    '{"cursor":{"a":1},"startIndex":"ten"}',
    '{"startIndex":-3,"skip":1e309}',
    '{"stack":[{"id":"nope","token":17}]}',
    `{"after":"${randomAscii(rng, 1, 30).replace(/["\\]/g, '')}"}`,
    '9007199254740993',
  ]);
  return rng.pick([
    randomAscii(rng, 1, 60),
    `bt1.${randomAscii(rng, 1, 40)}`,
    `bt1.${Buffer.from(json).toString('base64url')}`,
    `bt1.${Buffer.from(json).toString('base64url').slice(0, -2)}`,
  ]);
}

const OVERSIZED_ID = 'i'.repeat(1025);

function randomString(rng: SeededRandom, field: DescField, known: Known): string {
  if (field.name === 'page_token') return rng.chance(0.2) ? '' : forgedToken(rng);
  return rng.pick([
    '',
    'x',
    OVERSIZED_ID,
    randomAscii(rng, 1, 40),
    '../../../etc/passwd',
    'name with spaces and ünïcødé \u0000',
    rng.pick(known.typeIds),
    rng.pick(known.resources).resource,
    rng.pick(known.entitlementIds),
    `${rng.pick(known.entitlementIds)}:user:${rng.pick(known.resources).resource}`,
  ]);
}

const PAGE_SIZES = [0, 1, 50, 250, 251, 1000, 4_294_967_295];

function randomScalar(rng: SeededRandom, field: DescField & { fieldKind: 'scalar' | 'list' }, known: Known): unknown {
  const scalar = field.scalar!;
  switch (scalar) {
    case ScalarType.STRING:
      return randomString(rng, field, known);
    case ScalarType.BOOL:
      return rng.chance(0.5);
    case ScalarType.BYTES:
      return randomBytes(rng, 0, 64);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return rng.pick([0, -1, 1.5, 1e300]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return rng.pick([0n, -1n, 1n, 9_223_372_036_854_775_807n]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return rng.pick([0n, 1n, 18_446_744_073_709_551_615n]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      if (field.name === 'page_size') return rng.pick(PAGE_SIZES);
      return rng.pick([0, 1, 4_294_967_295]);
    default:
      return rng.pick([0, 1, -1, 2_147_483_647]);
  }
}

/** A message with random fields set to random (mostly wrong) values; nested up to a small depth. */
function randomMessage(rng: SeededRandom, schema: DescMessage, known: Known, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (!rng.chance(depth === 0 ? 0.7 : 0.5)) continue;
    let value: unknown;
    switch (field.fieldKind) {
      case 'scalar':
        value = randomScalar(rng, field, known);
        break;
      case 'enum':
        value = rng.chance(0.8) ? rng.pick(field.enum.values).number : 999;
        break;
      case 'message':
        if (field.message.typeName.startsWith('google.protobuf.') || depth >= 3) continue;
        value = randomMessage(rng, field.message, known, depth + 1);
        break;
      case 'list':
        if (field.listKind === 'message') {
          if (field.message.typeName.startsWith('google.protobuf.') || depth >= 3) continue;
          value = Array.from({ length: rng.int(0, 2) }, () => randomMessage(rng, field.message, known, depth + 1));
        } else if (field.listKind === 'enum') {
          value = Array.from({ length: rng.int(0, 2) }, () => rng.pick(field.enum.values).number);
        } else {
          value = Array.from({ length: rng.int(0, 2) }, () => randomScalar(rng, field, known));
        }
        break;
      case 'map':
        continue;
    }
    if (field.oneof) {
      if (init[field.oneof.localName] === undefined) init[field.oneof.localName] = { case: field.localName, value };
    } else {
      init[field.localName] = value;
    }
  }
  return init;
}

const only = (...codes: number[]) => new Set(codes);
const INVALID = only(Code.INVALID_ARGUMENT);

/** The targeted inputs, each with the one answer docs/reliability.md gives for it. */
function targetedRequests(rng: SeededRandom, known: Known): BadRequest[] {
  const out: BadRequest[] = [];
  const add = (kind: string, name: string, init: Record<string, unknown>, expect: ReadonlySet<number>) => {
    const method = byName(name);
    out.push({ kind, method, body: encode(method.input, init), expect, what: `${name} ${describeInit(init)}` });
  };
  const type = rng.pick(known.typeIds);
  const real = rng.pick(known.resources);
  const realResource = { id: { resourceType: real.resourceType, resource: real.resource } };

  add(
    'huge page size',
    'ListResources',
    { resourceTypeId: type, pageSize: rng.pick([251, 1000, 4_294_967_295]) },
    INVALID,
  );
  add('huge page size', 'ListEntitlements', { resource: realResource, pageSize: 251 }, INVALID);
  add('huge page size', 'ListGrants', { resource: realResource, pageSize: 4_294_967_295 }, INVALID);
  add('oversized id', 'ListResources', { resourceTypeId: OVERSIZED_ID }, INVALID);
  add('oversized id', 'GetResource', { resourceId: { resourceType: type, resource: OVERSIZED_ID } }, INVALID);
  add('oversized id', 'ListGrants', { resource: { id: { resourceType: type, resource: OVERSIZED_ID } } }, INVALID);
  add('oversized page token', 'ListResources', { resourceTypeId: type, pageToken: 't'.repeat(1_048_577) }, INVALID);
  add('missing resource type', 'ListResources', {}, INVALID);
  add('missing required message', 'ListGrants', {}, INVALID);
  add('missing required message', 'ListEntitlements', {}, INVALID);
  add('missing required message', 'GetResource', {}, INVALID);
  add('missing required message', 'Grant', { principal: realResource }, INVALID);
  add('missing required message', 'Grant', {}, INVALID);
  add('missing required message', 'Revoke', {}, INVALID);
  const listings: Array<[string, Record<string, unknown>]> = [
    ['ListResources', { resourceTypeId: type }],
    ['ListGrants', { resource: realResource }],
    ['ListEntitlements', { resource: realResource }],
  ];
  for (const [name, init] of listings) {
    add('forged page token', name, { ...init, pageToken: forgedToken(rng) }, only(Code.OK, Code.INVALID_ARGUMENT));
  }
  add(
    'unknown resource type',
    'ListResources',
    { resourceTypeId: `no-such-type-${randomAscii(rng, 1, 8)}` },
    only(Code.NOT_FOUND),
  );
  add(
    'unknown resource type',
    'ListStaticEntitlements',
    { resourceTypeId: `no-such-type-${rng.int(0, 999)}` },
    only(Code.OK, Code.NOT_FOUND),
  );
  add(
    'wrong id',
    'GetResource',
    { resourceId: { resourceType: type, resource: `no-such-id-${rng.int(0, 99_999)}` } },
    only(Code.NOT_FOUND, Code.INVALID_ARGUMENT, Code.UNIMPLEMENTED),
  );
  add(
    'wrong id',
    'GetResource',
    { resourceId: { resourceType: 'no-such-type', resource: real.resource } },
    only(Code.NOT_FOUND, Code.UNIMPLEMENTED),
  );

  // Random bytes that cannot be a protobuf message (field 1 with the reserved wire type 7, or a length running past
  // the end): grpc-go answers INTERNAL "grpc: error unmarshalling request", and so must we.
  for (const method of METHODS) {
    const junk = randomBytes(rng, 0, 40);
    const body = rng.chance(0.5)
      ? Uint8Array.from([0x0f, ...junk])
      : Uint8Array.from([0x0a, junk.length + 1 + rng.int(0, 100), ...junk]);
    out.push({
      kind: 'random bytes',
      method,
      body,
      expect: only(Code.INTERNAL),
      what: `${method.name} <${body.length} bytes>`,
    });
  }
  return out;
}

function describeInit(init: Record<string, unknown>): string {
  const text = JSON.stringify(init, (_k, v: unknown) =>
    typeof v === 'bigint'
      ? String(v)
      : typeof v === 'string' && v.length > 60
        ? `${v.slice(0, 20)}...(${v.length})`
        : v,
  );
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/** One generated request: targeted ones first, then random messages (and raw random bytes) for any unary RPC. */
function* generate(rng: SeededRandom, known: Known): Generator<BadRequest> {
  const targeted = targetedRequests(rng, known);
  yield* targeted;
  for (let i = targeted.length; i < REQUESTS_PER_CONNECTOR; i++) {
    const method = rng.pick(METHODS);
    if (rng.chance(0.1)) {
      // Raw random bytes may or may not happen to parse; either way: decoded and answered, or INTERNAL.
      const body = randomBytes(rng, 1, 80);
      yield {
        kind: 'random bytes',
        method,
        body,
        expect: new Set([...SEMANTIC, Code.INTERNAL]),
        what: `${method.name} <${body.length} random bytes>`,
      };
      continue;
    }
    const init = randomMessage(rng, method.input, known);
    yield {
      kind: 'random fields',
      method,
      body: encode(method.input, init),
      expect: SEMANTIC,
      what: `${method.name} ${describeInit(init)}`,
    };
  }
}

interface Answer {
  code: number;
  details: string;
  ms: number;
}

function call(client: grpc.Client, req: BadRequest): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path(req.method),
      (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      (b: Buffer) => b,
      req.body,
      new grpc.Metadata(),
      { deadline: Date.now() + CALL_DEADLINE_MS },
      (err) => resolve({ code: err ? err.code : Code.OK, details: err?.details ?? '', ms: Date.now() - started }),
    );
  });
}

const fixtures = reliabilityFixtures('bad-input');

describe.concurrent('bad input over gRPC', () => {
  for (const c of CONNECTORS) {
    it(
      `${c.name}: ${REQUESTS_PER_CONNECTOR} generated requests, each answered in time with its code; the child stays up`,
      { timeout: 180_000 },
      async () => {
        const sim = await fixtures.start(c);
        const child = await spawnChild(c, [...sim.flags, '--provisioning']);
        try {
          const client = child.grpcClient.grpcClient;
          const known = await discover(child.client);
          const rng = new SeededRandom(`${SEED}:${c.name}`);
          const requests = [...generate(rng, known)];
          expect(requests.length).toBeGreaterThanOrEqual(REQUESTS_PER_CONNECTOR);
          // Every unary RPC of the connector services was exercised.
          expect(new Set(requests.map((r) => r.method.name)).size).toBe(METHODS.length);

          const wrong: string[] = [];
          const seen = new Map<string, number>();
          let next = 0;
          const worker = async () => {
            while (next < requests.length) {
              const req = requests[next++]!;
              const answer = await call(client, req);
              const key = `${req.kind} ${req.method.name} -> ${codeName(answer.code)}`;
              seen.set(key, (seen.get(key) ?? 0) + 1);
              if (!req.expect.has(answer.code)) {
                wrong.push(
                  `${req.kind}: ${req.what} -> ${codeName(answer.code)} "${answer.details.slice(0, 200)}" (expected ${[...req.expect].map(codeName).join(' or ')})`,
                );
              }
            }
          };
          await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
          if (process.env.BAD_INPUT_REPORT)
            console.log(
              [...seen]
                .sort()
                .map(([k, n]) => `${c.name} ${k} x${n}`)
                .join('\n'),
            );

          expect(wrong, `seed ${SEED}:${c.name} (rerun with BAD_INPUT_SEED=${SEED})`).toEqual([]);
          // Still up and answering.
          const metadata = await child.client.getMetadata({}, { timeoutMs: CALL_DEADLINE_MS });
          expect(metadata.metadata?.displayName).toBeTruthy();
          expect(isRunning(child.pid), 'the child process is still running').toBe(true);
        } finally {
          await child.close();
        }
      },
    );
  }
});

/** Resource types, some resources of each and their entitlements, by listing as a host would. */
async function discover(client: Awaited<ReturnType<typeof spawnChild>>['client']): Promise<Known> {
  const types = await client.listResourceTypes({});
  const known: Known = { typeIds: types.list.map((t) => t.id), resources: [], entitlementIds: [] };
  for (const typeId of known.typeIds) {
    const page = await client.listResources({ resourceTypeId: typeId, pageSize: 5 });
    for (const r of page.list) {
      if (!r.id) continue;
      known.resources.push({ resourceType: r.id.resourceType, resource: r.id.resource });
      const ents = await client.listEntitlements({ resource: r, pageSize: 5 });
      known.entitlementIds.push(...ents.list.map((e) => e.id));
    }
  }
  if (known.entitlementIds.length === 0) known.entitlementIds.push('none:none:member');
  return known;
}
