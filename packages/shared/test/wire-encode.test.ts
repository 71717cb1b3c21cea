/**
 * The fast encoder (src/wire) must produce exactly the bytes of protobuf-es `toBinary`, for every message type we
 * serve and for synthetic types covering what our protos do not use (every scalar type, jstype=JS_STRING, maps with
 * every key type, wrappers, Value/ListValue, proto2 groups/required/defaults, editions features).
 *
 * Its deterministic mode (Go's `proto.MarshalOptions{Deterministic: true}`, used for c1z blobs) must produce the
 * bytes of a reference that walks the message with protobuf-es reflection like toBinary does but writes map entries
 * sorted by key (false < true, integers numerically, strings by UTF-8 bytes), for the same messages.
 */
import { describe, expect, it } from 'vitest';
import {
  ScalarType,
  create,
  createFileRegistry,
  fromBinary,
  toBinary,
  type DescField,
  type DescFile,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
} from '@bufbuild/protobuf';
import {
  anyPack,
  Edition,
  FeatureSet_FieldPresence,
  FeatureSet_MessageEncoding,
  FeatureSet_RepeatedFieldEncoding,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FieldOptions_JSType,
  FileDescriptorProtoSchema,
  StructSchema,
  file_google_protobuf_any,
  file_google_protobuf_api,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_source_context,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_type,
  file_google_protobuf_wrappers,
  file_google_protobuf_compiler_plugin,
  type DescriptorProto,
  type FieldDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { reflect, type ReflectList, type ReflectMap, type ReflectMessage } from '@bufbuild/protobuf/reflect';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { allFiles, protocolRegistry } from '../src/descriptors.js';
import {
  compareUtf8,
  encodedSize,
  fastAnyPack,
  fastEncodeStats,
  fastToBinary,
  fastToDeterministicBinary,
} from '../src/wire/encode.js';
import { userResource, groupResource, resourceType } from '../src/sdk/resources.js';
import {
  ResourceSchema,
  ResourcesServiceListResourcesResponseSchema,
  ResourceIdSchema,
  ResourceTypeSchema,
} from '../src/gen/c1/connector/v2/resource_pb.js';
import { UserTraitSchema, UserTrait_Status_Status } from '../src/gen/c1/connector/v2/annotation_trait_pb.js';

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** fastToBinary must equal toBinary byte for byte, without falling back. */
function expectSame(schema: DescMessage, m: Message, allowFallback = false) {
  const before = fastEncodeStats.fallbacks;
  const fast = fastToBinary(schema, m as never);
  const slow = toBinary(schema, m as never);
  if (!allowFallback && fastEncodeStats.fallbacks !== before) {
    throw new Error(`unexpected fallback for ${schema.typeName}: ${String(fastEncodeStats.lastFallbackReason)}`);
  }
  expect(hex(fast), schema.typeName).toBe(hex(slow));
  expect(encodedSize(schema, m as never)).toBe(slow.length);
  return fast;
}

/** Both encoders fail the same way, or agree (through the fallback). */
function expectSameOutcome(schema: DescMessage, m: Message) {
  let slow: Uint8Array | undefined;
  let slowErr: unknown;
  try {
    slow = toBinary(schema, m as never);
  } catch (e) {
    slowErr = e;
  }
  if (slowErr) {
    expect(() => fastToBinary(schema, m as never)).toThrow((slowErr as Error).message);
  } else {
    expect(hex(fastToBinary(schema, m as never))).toBe(hex(slow!));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic mode: a test-only reference (slow, obviously right)

/** Go's key order: false < true, integers numerically (signed or unsigned by type), strings by UTF-8 bytes. */
function goKeyOrder(a: unknown, b: unknown): number {
  if (typeof a === 'string') return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b as string, 'utf8'));
  if (typeof a === 'boolean') return Number(a) - Number(b);
  const x = BigInt(a as number | bigint | string);
  const y = BigInt(b as number | bigint | string);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** toBinary (to-binary.js writeFields) with map entries sorted by goKeyOrder. */
function referenceDeterministic(schema: DescMessage, message: Message): Uint8Array {
  return refFields(new BinaryWriter(), reflect(schema, message as never)).finish();
}

function refFields(w: BinaryWriter, msg: ReflectMessage): BinaryWriter {
  for (const f of msg.sortedFields) {
    if (!msg.isSet(f)) {
      if (f.presence == REQUIRED) throw new Error(`required field not set: ${f}`);
      continue;
    }
    switch (f.fieldKind) {
      case 'scalar':
      case 'enum':
        refScalar(w, f.scalar ?? ScalarType.INT32, f.number, msg.get(f));
        break;
      case 'message':
        refMessage(w, f.number, f.delimitedEncoding, msg.get(f) as ReflectMessage);
        break;
      case 'list': {
        const list = msg.get(f) as ReflectList;
        if (f.listKind == 'message') {
          for (const item of list) refMessage(w, f.number, f.delimitedEncoding, item as ReflectMessage);
        } else if (f.packed) {
          w.tag(f.number, WireType.LengthDelimited).fork();
          for (const item of list) refValue(w, f.scalar ?? ScalarType.INT32, item);
          w.join();
        } else {
          for (const item of list) refScalar(w, f.scalar ?? ScalarType.INT32, f.number, item);
        }
        break;
      }
      case 'map': {
        const entries = [...(msg.get(f) as ReflectMap)].sort((a, b) => goKeyOrder(a[0], b[0]));
        for (const [key, value] of entries) {
          w.tag(f.number, WireType.LengthDelimited).fork();
          refScalar(w, f.mapKey, 1, key);
          if (f.mapKind == 'message')
            refFields(w.tag(2, WireType.LengthDelimited).fork(), value as ReflectMessage).join();
          else refScalar(w, f.scalar ?? ScalarType.INT32, 2, value);
          w.join();
        }
        break;
      }
    }
  }
  for (const u of msg.getUnknown() ?? []) w.tag(u.no, u.wireType).raw(u.data);
  return w;
}

function refMessage(w: BinaryWriter, no: number, delimited: boolean, m: ReflectMessage): void {
  if (delimited) refFields(w.tag(no, WireType.StartGroup), m).tag(no, WireType.EndGroup);
  else refFields(w.tag(no, WireType.LengthDelimited).fork(), m).join();
}

function refScalar(w: BinaryWriter, t: ScalarType, no: number, v: unknown): void {
  const wt =
    t == ScalarType.STRING || t == ScalarType.BYTES
      ? WireType.LengthDelimited
      : t == ScalarType.DOUBLE || t == ScalarType.FIXED64 || t == ScalarType.SFIXED64
        ? WireType.Bit64
        : t == ScalarType.FLOAT || t == ScalarType.FIXED32 || t == ScalarType.SFIXED32
          ? WireType.Bit32
          : WireType.Varint;
  refValue(w.tag(no, wt), t, v);
}

function refValue(w: BinaryWriter, t: ScalarType, v: unknown): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const x = v as any;
  switch (t) {
    case ScalarType.STRING:
      w.string(x);
      break;
    case ScalarType.BOOL:
      w.bool(x);
      break;
    case ScalarType.DOUBLE:
      w.double(x);
      break;
    case ScalarType.FLOAT:
      w.float(x);
      break;
    case ScalarType.INT32:
      w.int32(x);
      break;
    case ScalarType.INT64:
      w.int64(x);
      break;
    case ScalarType.UINT64:
      w.uint64(x);
      break;
    case ScalarType.FIXED64:
      w.fixed64(x);
      break;
    case ScalarType.BYTES:
      w.bytes(x);
      break;
    case ScalarType.FIXED32:
      w.fixed32(x);
      break;
    case ScalarType.SFIXED32:
      w.sfixed32(x);
      break;
    case ScalarType.SFIXED64:
      w.sfixed64(x);
      break;
    case ScalarType.SINT64:
      w.sint64(x);
      break;
    case ScalarType.UINT32:
      w.uint32(x);
      break;
    case ScalarType.SINT32:
      w.sint32(x);
      break;
  }
}

/** Deterministic mode equals the reference, without falling back; both entry points agree. */
function expectDeterministic(schema: DescMessage, m: Message): Uint8Array {
  const before = fastEncodeStats.fallbacks;
  const fast = fastToBinary(schema, m as never, { deterministic: true });
  if (fastEncodeStats.fallbacks !== before) {
    throw new Error(`unexpected fallback for ${schema.typeName}: ${String(fastEncodeStats.lastFallbackReason)}`);
  }
  expect(hex(fast), schema.typeName).toBe(hex(referenceDeterministic(schema, m)));
  expect(hex(fastToDeterministicBinary(schema, m as never))).toBe(hex(fast));
  return fast;
}

/** mulberry32 */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
}

function seedOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const STRINGS = [
  '',
  'a',
  'hello world',
  'user@example.com',
  'é',
  'ß∂ƒ©˙∆',
  '日本語テキスト',
  '😀',
  'a😀b🎉c',
  '👩‍👩‍👧‍👦 family',
  'mixed ascii and ünïcödé and 𝄞 music',
  'x'.repeat(100),
  'y'.repeat(300),
  'long unicode '.repeat(20) + '😀'.repeat(30) + 'é'.repeat(50),
  '\u0000\u0001\u007f\u0080\u07ff\u0800\uffff',
  'tab\tnew\nline "quotes" \\',
];
const KEYS = ['', 'a', 'b', 'key', '1', '10', '2', '01', '-1', 'é', '😀', 'with space', 'index', 'padding', 'z'];

function randString(r: Rng): string {
  if (r.chance(0.3)) {
    let s = '';
    const n = r.int(20);
    for (let i = 0; i < n; i++) {
      const k = r.int(10);
      if (k < 6) s += String.fromCharCode(32 + r.int(95));
      else if (k < 8) s += String.fromCharCode(0x80 + r.int(0x780));
      else if (k < 9) s += String.fromCharCode(0x800 + r.int(0xd000 - 0x800));
      else s += String.fromCodePoint(0x10000 + r.int(0x10000));
    }
    return s;
  }
  return r.pick(STRINGS);
}

function randBytes(r: Rng): Uint8Array {
  if (r.chance(0.3)) return new Uint8Array(0);
  const n = r.chance(0.1) ? 200 + r.int(100) : 1 + r.int(40);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}

const I32 = [0, 1, -1, 127, 128, 300, -300, 16383, 16384, 2147483647, -2147483648, 123456789, -987654321];
const U32 = [0, 1, 127, 128, 255, 16384, 2097151, 2097152, 268435455, 268435456, 2147483648, 4294967295];
const I64 = [0n, 1n, -1n, 127n, 128n, 4294967295n, 4294967296n, -4294967296n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)];
const U64 = [0n, 1n, 127n, 128n, 4294967295n, 4294967296n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
const F32 = [
  0,
  -0,
  1,
  -1,
  1.5,
  -2.25,
  0.1,
  3.4028234663852886e38,
  -3.4028234663852886e38,
  1e-40,
  NaN,
  Infinity,
  -Infinity,
];
const F64 = [0, -0, 1, -1, 0.1, 1e308, -1e-308, 5e-324, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity, Math.PI];

function randScalar(r: Rng, t: number, longAsString: boolean): unknown {
  switch (t) {
    case Type.DOUBLE:
      return r.chance(0.5) ? r.pick(F64) : (r.next() - 0.5) * 1e6;
    case Type.FLOAT:
      return r.chance(0.5) ? r.pick(F32) : Math.fround((r.next() - 0.5) * 1e4);
    case Type.INT32:
    case Type.SINT32:
    case Type.SFIXED32:
      return r.chance(0.6) ? r.pick(I32) : r.int(2 ** 32) | 0;
    case Type.UINT32:
    case Type.FIXED32:
      return r.chance(0.6) ? r.pick(U32) : r.int(2 ** 32);
    case Type.INT64:
    case Type.SINT64:
    case Type.SFIXED64: {
      const v = r.chance(0.6)
        ? r.pick(I64)
        : BigInt.asIntN(64, BigInt(r.int(2 ** 32)) * 4294967296n + BigInt(r.int(2 ** 32)));
      return longAsString ? String(v) : v;
    }
    case Type.UINT64:
    case Type.FIXED64: {
      const v = r.chance(0.6) ? r.pick(U64) : BigInt(r.int(2 ** 32)) * 4294967296n + BigInt(r.int(2 ** 32));
      return longAsString ? String(v) : v;
    }
    case Type.BOOL:
      return r.chance(0.5);
    case Type.STRING:
      return randString(r);
    case Type.BYTES:
      return randBytes(r);
  }
  throw new Error(`scalar ${t}`);
}

function randEnum(r: Rng, f: DescField): number {
  const values = f.enum!.values;
  if (f.enum!.open && r.chance(0.1)) return r.pick(I32); // open enums hold unknown values too
  return r.pick(values).number;
}

function randJson(r: Rng, depth: number): JsonValue {
  const k = r.int(depth >= 3 ? 5 : 7);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -0, 1, -1, 1.5, -273.15, 1e21, 2 ** 53, 0.1 + 0.2, 42, r.next() * 1000]);
    case 3:
    case 4:
      return randString(r);
    case 5: {
      const n = r.int(4);
      const a: JsonValue[] = [];
      for (let i = 0; i < n; i++) a.push(randJson(r, depth + 1));
      return a;
    }
    default:
      return randJsonObject(r, depth + 1);
  }
}

function randJsonObject(r: Rng, depth: number): JsonObject {
  const o: JsonObject = {};
  const n = r.int(5);
  for (let i = 0; i < n; i++) o[r.chance(0.2) ? randString(r) : r.pick(KEYS)] = randJson(r, depth);
  return o;
}

const IMPLICIT = FeatureSet_FieldPresence.IMPLICIT;
const REQUIRED = FeatureSet_FieldPresence.LEGACY_REQUIRED;

function isWrapper(d: DescMessage): boolean {
  return (
    d.typeName.startsWith('google.protobuf.') &&
    /^(Double|Float|Int64|UInt64|Int32|UInt32|Bool|String|Bytes)Value$/.test(d.typeName.slice(16))
  );
}

function isJsonStruct(f: DescField): boolean {
  return f.message?.typeName === 'google.protobuf.Struct' && f.parent.typeName !== 'google.protobuf.Value';
}

/** A message value in protobuf-es's representation for this field context. */
function randMessageValue(r: Rng, f: DescField, depth: number, singularNonOneof: boolean): unknown {
  const d = f.message!;
  if (isJsonStruct(f)) return randJsonObject(r, 0);
  if (singularNonOneof && isWrapper(d)) return randScalar(r, d.fields[0].scalar!, false);
  return randInit(r, d, depth + 1);
}

function randMapKey(r: Rng, t: number): string {
  switch (t) {
    case Type.STRING:
      return r.chance(0.5) ? r.pick(KEYS) : randString(r);
    case Type.BOOL:
      return r.chance(0.5) ? 'true' : 'false';
    default:
      return String(randScalar(r, t, true));
  }
}

function randSingular(r: Rng, f: DescField, depth: number): unknown {
  switch (f.fieldKind) {
    case 'scalar':
      return randScalar(r, f.scalar, f.longAsString);
    case 'enum':
      return randEnum(r, f);
    case 'message':
      return randMessageValue(r, f, depth, !f.oneof);
  }
  throw new Error('not singular');
}

/** A random init object for create(). depth limits nested messages (3 levels). */
function randInit(r: Rng, desc: DescMessage, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const member of desc.members) {
    if (member.kind === 'oneof') {
      const choices = member.fields.filter((f) => depth < 3 || f.fieldKind !== 'message');
      if (choices.length && r.chance(0.7)) {
        const f = r.pick(choices);
        init[member.localName] = { case: f.localName, value: randSingular(r, f, depth) };
      }
      continue;
    }
    const f = member;
    const required = f.presence === REQUIRED;
    const hasMessages = f.fieldKind === 'message' || f.message !== undefined;
    if (!required && hasMessages && depth >= 3) continue;
    if (!required && r.chance(f.presence === IMPLICIT ? 0.25 : 0.45)) continue;
    switch (f.fieldKind) {
      case 'scalar':
      case 'enum':
      case 'message':
        init[f.localName] = randSingular(r, f, depth);
        break;
      case 'list': {
        const n = r.int(4);
        const items: unknown[] = [];
        for (let i = 0; i < n; i++) {
          if (f.listKind === 'scalar') items.push(randScalar(r, f.scalar, f.longAsString));
          else if (f.listKind === 'enum') items.push(randEnum(r, f));
          else items.push(randMessageValue(r, f, depth, false));
        }
        init[f.localName] = items;
        break;
      }
      case 'map': {
        const n = r.int(5);
        const obj: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const key = randMapKey(r, f.mapKey);
          if (f.mapKind === 'scalar') obj[key] = randScalar(r, f.scalar, false);
          else if (f.mapKind === 'enum') obj[key] = randEnum(r, f);
          else obj[key] = randMessageValue(r, f, depth, false);
        }
        init[f.localName] = obj;
        break;
      }
    }
  }
  return init;
}

function messagesOf(files: DescFile[]): DescMessage[] {
  const seen = new Set<string>();
  const out: DescMessage[] = [];
  const addFile = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    for (const d of f.dependencies) addFile(d);
    const walk = (m: DescMessage) => {
      out.push(m);
      m.nestedMessages.forEach(walk);
    };
    f.messages.forEach(walk);
  };
  files.forEach(addFile);
  return out;
}

/** WIRE_FUZZ_SCALE=10 runs ten times as many random messages (and other seeds via WIRE_FUZZ_SEED). */
const SCALE = Number(process.env.WIRE_FUZZ_SCALE ?? 1);
const SEED = Number(process.env.WIRE_FUZZ_SEED ?? 0);

function fuzz(desc: DescMessage, count: number) {
  const r = new Rng(seedOf(desc.typeName) + SEED);
  for (let i = 0; i < count * SCALE; i++) {
    const m = create(desc, randInit(r, desc) as never) as Message;
    if (r.chance(0.15)) {
      // unknown fields are written after the known ones, as stored
      (m as { $unknown?: unknown }).$unknown = [
        { no: 10000 + r.int(1000), wireType: 0, data: Uint8Array.of(0x96, 0x01) },
        { no: 536870000, wireType: 2, data: Uint8Array.of(3, 0x61, 0x62, 0x63) },
        { no: 7777, wireType: 5, data: Uint8Array.of(1, 2, 3, 4) },
      ];
    }
    const bytes = expectSame(desc, m);
    // round trip: decoding our bytes and re-encoding gives the same bytes
    expect(hex(toBinary(desc, fromBinary(desc, bytes)))).toBe(hex(bytes));
    // deterministic mode: same length, the reference's bytes, and stable through a decode (decoding inserts
    // entries in sorted order, which JS objects do not all keep: integer-like keys come first)
    const det = expectDeterministic(desc, m);
    expect(det.length).toBe(bytes.length);
    expect(hex(fastToDeterministicBinary(desc, fromBinary(desc, det)))).toBe(hex(det));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Synthetic descriptors for everything our own protos do not exercise.

const SCALARS: Array<[string, Type]> = [
  ['double', Type.DOUBLE],
  ['float', Type.FLOAT],
  ['int64', Type.INT64],
  ['uint64', Type.UINT64],
  ['int32', Type.INT32],
  ['fixed64', Type.FIXED64],
  ['fixed32', Type.FIXED32],
  ['bool', Type.BOOL],
  ['string', Type.STRING],
  ['bytes', Type.BYTES],
  ['uint32', Type.UINT32],
  ['sfixed32', Type.SFIXED32],
  ['sfixed64', Type.SFIXED64],
  ['sint32', Type.SINT32],
  ['sint64', Type.SINT64],
];

type FieldInit = Partial<FieldDescriptorProto> & { name: string; number: number; type: Type };
type MsgInit = {
  name: string;
  field: FieldInit[];
  nestedType?: MsgInit[];
  oneofDecl?: Array<{ name: string }>;
} & Record<string, unknown>;

function field(name: string, number: number, type: Type, extra: Partial<FieldInit> = {}): FieldInit {
  return { name, number, type, label: Label.OPTIONAL, ...extra };
}

/** A map field plus its entry type (added to `msg`). */
function mapField(
  msg: MsgInit,
  name: string,
  number: number,
  key: Type,
  value: Type,
  valueTypeName?: string,
): FieldInit {
  const entry = name.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase()) + 'Entry';
  (msg.nestedType ??= []).push({
    name: entry,
    field: [field('key', 1, key), field('value', 2, value, valueTypeName ? { typeName: valueTypeName } : {})],
    options: { mapEntry: true },
  });
  return field(name, number, Type.MESSAGE, { label: Label.REPEATED, typeName: `${msg.name}.${entry}` });
}

function buildProto3(): DescFile {
  const all: MsgInit = { name: 'AllTypes', field: [], nestedType: [], oneofDecl: [{ name: 'choice' }] };
  const f = all.field;
  SCALARS.forEach(([n, t], i) => f.push(field(`s_${n}`, 1 + i, t)));
  SCALARS.forEach(([n, t], i) => {
    all.oneofDecl!.push({ name: `_o_${n}` });
    f.push(field(`o_${n}`, 21 + i, t, { proto3Optional: true, oneofIndex: all.oneofDecl!.length - 1 }));
  });
  SCALARS.forEach(([n, t], i) => f.push(field(`r_${n}`, 41 + i, t, { label: Label.REPEATED })));
  f.push(field('u_int32', 61, Type.INT32, { label: Label.REPEATED, options: { packed: false } as never }));
  f.push(field('u_double', 62, Type.DOUBLE, { label: Label.REPEATED, options: { packed: false } as never }));
  f.push(field('u_sint64', 63, Type.SINT64, { label: Label.REPEATED, options: { packed: false } as never }));
  f.push(
    field('u_enum', 64, Type.ENUM, { label: Label.REPEATED, typeName: 'Enum', options: { packed: false } as never }),
  );
  f.push(field('e', 71, Type.ENUM, { typeName: 'Enum' }));
  f.push(field('re', 72, Type.ENUM, { typeName: 'Enum', label: Label.REPEATED }));
  all.oneofDecl!.push({ name: '_oe' });
  f.push(field('oe', 73, Type.ENUM, { typeName: 'Enum', proto3Optional: true, oneofIndex: all.oneofDecl!.length - 1 }));
  const js = { options: { jstype: FieldOptions_JSType.JS_STRING } as never };
  f.push(field('js_int64', 81, Type.INT64, js));
  f.push(field('js_uint64', 82, Type.UINT64, js));
  f.push(field('js_sint64', 83, Type.SINT64, js));
  f.push(field('js_fixed64', 84, Type.FIXED64, js));
  f.push(field('js_sfixed64', 85, Type.SFIXED64, js));
  f.push(field('js_rint64', 86, Type.INT64, { ...js, label: Label.REPEATED }));
  all.oneofDecl!.push({ name: '_js_oint64' });
  f.push(field('js_oint64', 87, Type.INT64, { ...js, proto3Optional: true, oneofIndex: all.oneofDecl!.length - 1 }));
  f.push(mapField(all, 'm_int32_string', 91, Type.INT32, Type.STRING));
  f.push(mapField(all, 'm_int64_int32', 92, Type.INT64, Type.INT32));
  f.push(mapField(all, 'm_uint32_bytes', 93, Type.UINT32, Type.BYTES));
  f.push(mapField(all, 'm_sint64_double', 94, Type.SINT64, Type.DOUBLE));
  f.push(mapField(all, 'm_bool_enum', 95, Type.BOOL, Type.ENUM, 'Enum'));
  f.push(mapField(all, 'm_string_nested', 96, Type.STRING, Type.MESSAGE, 'Nested'));
  f.push(mapField(all, 'm_fixed32_float', 97, Type.FIXED32, Type.FLOAT));
  f.push(mapField(all, 'm_sfixed64_uint64', 98, Type.SFIXED64, Type.UINT64));
  f.push(mapField(all, 'm_string_struct', 99, Type.STRING, Type.MESSAGE, '.google.protobuf.Struct'));
  f.push(mapField(all, 'm_string_wrapped', 100, Type.STRING, Type.MESSAGE, '.google.protobuf.Int32Value'));
  f.push(mapField(all, 'm_uint64_sint32', 140, Type.UINT64, Type.SINT32));
  f.push(mapField(all, 'm_sint32_fixed64', 141, Type.SINT32, Type.FIXED64));
  f.push(mapField(all, 'm_sfixed32_bool', 142, Type.SFIXED32, Type.BOOL));
  f.push(mapField(all, 'm_fixed64_string', 143, Type.FIXED64, Type.STRING));
  f.push(mapField(all, 'm_string_value', 144, Type.STRING, Type.MESSAGE, '.google.protobuf.Value'));
  const oneof = { oneofIndex: 0 };
  f.push(field('c_string', 101, Type.STRING, oneof));
  f.push(field('c_int64', 102, Type.INT64, oneof));
  f.push(field('c_nested', 103, Type.MESSAGE, { ...oneof, typeName: 'Nested' }));
  f.push(field('c_struct', 104, Type.MESSAGE, { ...oneof, typeName: '.google.protobuf.Struct' }));
  f.push(field('c_wrapped', 105, Type.MESSAGE, { ...oneof, typeName: '.google.protobuf.Int32Value' }));
  f.push(field('c_double', 106, Type.DOUBLE, oneof));
  f.push(field('c_bytes', 107, Type.BYTES, oneof));
  f.push(field('c_enum', 108, Type.ENUM, { ...oneof, typeName: 'Enum' }));
  f.push(field('c_bool', 109, Type.BOOL, oneof));
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].forEach((w, i) =>
    f.push(field(`w_${w.toLowerCase()}`, 111 + i, Type.MESSAGE, { typeName: `.google.protobuf.${w}Value` })),
  );
  f.push(field('rw_string', 120, Type.MESSAGE, { label: Label.REPEATED, typeName: '.google.protobuf.StringValue' }));
  f.push(field('value', 121, Type.MESSAGE, { typeName: '.google.protobuf.Value' }));
  f.push(field('list', 122, Type.MESSAGE, { typeName: '.google.protobuf.ListValue' }));
  f.push(field('structs', 123, Type.MESSAGE, { label: Label.REPEATED, typeName: '.google.protobuf.Struct' }));
  f.push(field('struct', 124, Type.MESSAGE, { typeName: '.google.protobuf.Struct' }));
  f.push(field('any', 125, Type.MESSAGE, { typeName: '.google.protobuf.Any' }));
  f.push(field('ts', 126, Type.MESSAGE, { typeName: '.google.protobuf.Timestamp' }));
  f.push(field('dur', 127, Type.MESSAGE, { typeName: '.google.protobuf.Duration' }));
  f.push(field('values', 128, Type.MESSAGE, { label: Label.REPEATED, typeName: '.google.protobuf.Value' }));
  f.push(field('rw_int64', 129, Type.MESSAGE, { label: Label.REPEATED, typeName: '.google.protobuf.Int64Value' }));
  f.push(field('nested', 130, Type.MESSAGE, { typeName: 'Nested' }));
  f.push(field('nesteds', 131, Type.MESSAGE, { label: Label.REPEATED, typeName: 'Nested' }));
  f.push(field('self', 132, Type.MESSAGE, { typeName: 'AllTypes' }));
  f.push(field('f2047', 2047, Type.STRING));
  f.push(field('f2048', 2048, Type.INT32));
  f.push(field('f_max', 536870911, Type.SINT32));
  // declared out of order: toBinary sorts by number
  f.push(field('s_late', 16, Type.STRING));

  const nested: MsgInit = { name: 'Nested', field: [], nestedType: [] };
  nested.field.push(
    field('a', 1, Type.STRING),
    field('b', 2, Type.INT32),
    field('child', 3, Type.MESSAGE, { typeName: 'Nested' }),
    field('kids', 4, Type.MESSAGE, { label: Label.REPEATED, typeName: 'Nested' }),
    mapField(nested, 'kmap', 5, Type.STRING, Type.MESSAGE, 'Nested'),
  );

  const proto = create(FileDescriptorProtoSchema, {
    name: 'test/wire/v1/all.proto',
    package: 'test.wire.v1',
    syntax: 'proto3',
    dependency: [
      'google/protobuf/struct.proto',
      'google/protobuf/wrappers.proto',
      'google/protobuf/any.proto',
      'google/protobuf/timestamp.proto',
      'google/protobuf/duration.proto',
    ],
    messageType: [all, nested] as never,
    enumType: [
      {
        name: 'Enum',
        value: [
          { name: 'ZERO', number: 0 },
          { name: 'ONE', number: 1 },
          { name: 'NEG', number: -1 },
          { name: 'MAXV', number: 2147483647 },
          { name: 'MINV', number: -2147483648 },
        ],
      },
    ],
  });
  return fileFrom(proto, 'test/wire/v1/all.proto');
}

function buildProto2(): DescFile {
  const p2: MsgInit = {
    name: 'P2',
    field: [],
    nestedType: [
      { name: 'G', field: [field('x', 5, Type.INT32), field('y', 6, Type.STRING)] },
      { name: 'RG', field: [field('z', 11, Type.INT32), field('inner', 12, Type.MESSAGE, { typeName: 'Child' })] },
    ],
    oneofDecl: [{ name: 'o' }],
    extensionRange: [{ start: 100, end: 200 }],
  };
  p2.field.push(
    field('req', 1, Type.INT32, { label: Label.REQUIRED }),
    field('s', 2, Type.STRING, { defaultValue: 'hi' }),
    field('i', 3, Type.INT32, { defaultValue: '7' }),
    field('g', 4, Type.GROUP, { typeName: 'P2.G' }),
    field('unpacked', 7, Type.INT32, { label: Label.REPEATED }),
    field('packed', 8, Type.SINT32, { label: Label.REPEATED, options: { packed: true } as never }),
    field('ce', 9, Type.ENUM, { typeName: 'ClosedEnum', defaultValue: 'TWO' }),
    field('rg', 10, Type.GROUP, { label: Label.REPEATED, typeName: 'P2.RG' }),
    field('child', 13, Type.MESSAGE, { typeName: 'Child' }),
    field('b', 14, Type.BYTES, { defaultValue: 'abc' }),
    field('i64', 15, Type.INT64, { defaultValue: '-5' }),
    mapField(p2, 'm', 16, Type.INT32, Type.STRING),
    field('oi', 17, Type.INT32, { oneofIndex: 0 }),
    field('os', 18, Type.STRING, { oneofIndex: 0 }),
    field('re', 19, Type.ENUM, { typeName: 'ClosedEnum', label: Label.REPEATED }),
    field('d', 20, Type.DOUBLE, { defaultValue: '-0' }),
    field('fl', 21, Type.FLOAT, { defaultValue: 'inf' }),
  );
  const proto = create(FileDescriptorProtoSchema, {
    name: 'test/wire/v1/p2.proto',
    package: 'test.wire.p2',
    syntax: 'proto2',
    messageType: [p2, { name: 'Child', field: [field('a', 1, Type.INT32), field('s', 2, Type.STRING)] }] as never,
    enumType: [
      {
        name: 'ClosedEnum',
        value: [
          { name: 'ONE', number: 1 },
          { name: 'TWO', number: 2 },
          { name: 'NEGATIVE', number: -3 },
        ],
      },
    ],
  });
  return fileFrom(proto, 'test/wire/v1/p2.proto');
}

function buildEditions(): DescFile {
  const features = (f: Record<string, unknown>) => ({ options: { features: f } as never });
  const e: MsgInit = { name: 'E', field: [] };
  e.field.push(
    field('a', 1, Type.INT32),
    field('b', 2, Type.INT32, features({ fieldPresence: FeatureSet_FieldPresence.IMPLICIT })),
    field('d', 3, Type.MESSAGE, {
      typeName: 'N',
      ...features({ messageEncoding: FeatureSet_MessageEncoding.DELIMITED }),
    }),
    field('p', 4, Type.INT32, { label: Label.REPEATED }),
    field('u', 5, Type.INT32, {
      label: Label.REPEATED,
      ...features({ repeatedFieldEncoding: FeatureSet_RepeatedFieldEncoding.EXPANDED }),
    }),
    field('s', 6, Type.STRING),
    field('ds', 7, Type.MESSAGE, {
      label: Label.REPEATED,
      typeName: 'N',
      ...features({ messageEncoding: FeatureSet_MessageEncoding.DELIMITED }),
    }),
    field('j', 8, Type.INT64, { options: { jstype: FieldOptions_JSType.JS_STRING } as never }),
    field('n', 9, Type.MESSAGE, { typeName: 'N' }),
    field('req', 10, Type.STRING, features({ fieldPresence: FeatureSet_FieldPresence.LEGACY_REQUIRED })),
  );
  const proto = create(FileDescriptorProtoSchema, {
    name: 'test/wire/v1/ed.proto',
    package: 'test.wire.ed',
    syntax: 'editions',
    edition: Edition.EDITION_2023,
    messageType: [e, { name: 'N', field: [field('x', 1, Type.INT32), field('y', 2, Type.STRING)] }] as never,
  });
  return fileFrom(proto, 'test/wire/v1/ed.proto');
}

const WKT_FILES: Record<string, DescFile> = {
  'google/protobuf/struct.proto': file_google_protobuf_struct,
  'google/protobuf/wrappers.proto': file_google_protobuf_wrappers,
  'google/protobuf/any.proto': file_google_protobuf_any,
  'google/protobuf/timestamp.proto': file_google_protobuf_timestamp,
  'google/protobuf/duration.proto': file_google_protobuf_duration,
};

function fileFrom(proto: ReturnType<typeof create<typeof FileDescriptorProtoSchema>>, name: string): DescFile {
  // Field type names given relative ("Nested", "P2.G") are made absolute here.
  const pkg = proto.package;
  const fix = (m: DescriptorProto) => {
    for (const f of m.field) {
      if (f.typeName && !f.typeName.startsWith('.')) f.typeName = `.${pkg}.${f.typeName}`;
    }
    m.nestedType.forEach(fix);
  };
  proto.messageType.forEach(fix);
  const reg = createFileRegistry(proto, (dep) => WKT_FILES[dep]);
  const file = reg.getFile(name);
  if (!file) throw new Error(`no file ${name}`);
  return file;
}

// ---------------------------------------------------------------------------------------------------------------

describe('fastToBinary matches toBinary', () => {
  const ours = messagesOf(allFiles());

  it('walks every message type we serve (and their dependencies)', () => {
    expect(ours.length).toBeGreaterThan(150);
    expect(ours.map((m) => m.typeName)).toContain('c1.connector.v2.Resource');
    expect(ours.map((m) => m.typeName)).toContain('google.protobuf.Struct');
  });

  it('random messages of every generated type', () => {
    for (const desc of ours) fuzz(desc, 40);
  });

  it('random messages of the well-known types (incl. proto2 descriptor.proto with required fields)', () => {
    const wkt = messagesOf([
      file_google_protobuf_descriptor,
      file_google_protobuf_api,
      file_google_protobuf_type,
      file_google_protobuf_empty,
      file_google_protobuf_field_mask,
      file_google_protobuf_source_context,
      file_google_protobuf_wrappers,
      file_google_protobuf_compiler_plugin,
    ]);
    expect(wkt.length).toBeGreaterThan(40);
    for (const desc of wkt) fuzz(desc, 20);
  });

  describe('synthetic types', () => {
    const p3 = buildProto3();
    const p2 = buildProto2();
    const ed = buildEditions();

    it('descriptors have the shapes we mean to cover', () => {
      const all = p3.messages.find((m) => m.name === 'AllTypes')!;
      // loosely typed: the properties differ between field kinds
      const byName = (n: string) => all.fields.find((f) => f.name === n) as DescField & Record<string, unknown>;
      expect(byName('js_int64').longAsString).toBe(true);
      expect(byName('r_int32').fieldKind === 'list' && byName('r_int32').packed).toBe(true);
      expect(byName('u_int32').fieldKind === 'list' && byName('u_int32').packed).toBe(false);
      expect(byName('r_string').fieldKind === 'list' && byName('r_string').packed).toBe(false);
      expect(byName('o_int32').presence).not.toBe(IMPLICIT);
      expect(byName('o_int32').oneof).toBeUndefined();
      expect(byName('c_string').oneof?.localName).toBe('choice');
      const p2m = p2.messages.find((m) => m.name === 'P2')!;
      expect((p2m.fields.find((f) => f.name === 'g') as { delimitedEncoding?: boolean }).delimitedEncoding).toBe(true);
      expect(p2m.fields.find((f) => f.name === 'req')!.presence).toBe(REQUIRED);
      const e = ed.messages.find((m) => m.name === 'E')!;
      expect((e.fields.find((f) => f.name === 'd') as { delimitedEncoding?: boolean }).delimitedEncoding).toBe(true);
      expect(e.fields.find((f) => f.name === 'b')!.presence).toBe(IMPLICIT);
      expect(e.fields.find((f) => f.name === 'a')!.presence).not.toBe(IMPLICIT);
    });

    it('proto3: every scalar, optional, packed/unpacked, jstype string, maps of every key type, oneofs, wrappers, Struct/Value/ListValue', () => {
      for (const desc of messagesOf([p3]).filter((m) => m.file === p3)) fuzz(desc, 400);
    });

    it('proto2: required, defaults, groups, closed enums, unpacked repeated', () => {
      for (const desc of messagesOf([p2]).filter((m) => m.file === p2)) fuzz(desc, 300);
    });

    it('editions 2023: explicit/implicit presence, delimited messages, expanded repeated', () => {
      for (const desc of messagesOf([ed]).filter((m) => m.file === ed)) fuzz(desc, 300);
    });

    it('edge values, one field at a time', () => {
      const all = p3.messages.find((m) => m.name === 'AllTypes')!;
      const cases: Array<Record<string, unknown>> = [
        { sDouble: -0 },
        { sDouble: 0 },
        { sFloat: -0 },
        { sDouble: NaN },
        { sFloat: NaN },
        { sInt32: -1 },
        { sInt32: -2147483648 },
        { sSint32: -2147483648 },
        { sSint32: 2147483647 },
        { sUint32: 4294967295 },
        { sFixed32: 4294967295 },
        { sSfixed32: -1 },
        { sInt64: -(2n ** 63n) },
        { sInt64: 2n ** 63n - 1n },
        { sUint64: 2n ** 64n - 1n },
        { sSint64: -(2n ** 63n) },
        { sSint64: 2n ** 63n - 1n },
        { sFixed64: 2n ** 64n - 1n },
        { sSfixed64: -(2n ** 63n) },
        { jsInt64: '-9223372036854775808' },
        { jsUint64: '18446744073709551615' },
        { jsInt64: '0' },
        { oInt64: 0n },
        { oString: '' },
        { oBytes: new Uint8Array(0) },
        { oDouble: 0 },
        { oBool: false },
        { e: -1 },
        { e: -2147483648 },
        { oe: 0 },
        { re: [0, -1, 1, 2147483647] },
        { rInt32: [0, 0, -1] },
        { rString: ['', '', 'a'] },
        { rBytes: [new Uint8Array(0)] },
        { choice: { case: 'cString', value: '' } },
        { choice: { case: 'cInt64', value: 0n } },
        { choice: { case: 'cEnum', value: 0 } },
        { choice: { case: 'cBool', value: false } },
        { choice: { case: 'cNested', value: {} } },
        { choice: { case: 'cStruct', value: {} } },
        { choice: { case: 'cWrapped', value: { value: 0 } } },
        { wInt32: 0 },
        { wString: '' },
        { wBool: false },
        { wBytes: new Uint8Array(0) },
        { wUint64: 2n ** 64n - 1n },
        { wDouble: -0 },
        { struct: {} },
        { struct: { a: { b: { c: [1, 'two', null, true, { d: [] }] } } } },
        { struct: { '2': 'b', '1': 'a', z: 1, '10': 'c', y: 2 } },
        { struct: { undef: undefined, big: 1n, fn: () => 1, date: new Date(0) } as never },
        { struct: JSON.parse('{"__proto__": {"x": 1}, "a": 2}') },
        { structs: [{}, { a: 1 }] },
        { mStringStruct: { k: { v: [1, 2] }, e: {} } },
        { mStringWrapped: { k: { value: 0 }, j: { value: 5 } } },
        { mInt32String: { '-1': 'neg', '2147483647': 'max', '0': '', '5': 'five' } },
        { mBoolEnum: { true: -1, false: 0 } },
        { mInt64Int32: { '-9223372036854775808': 0, '9223372036854775807': -1 } },
        { mUint64Sint32: { '18446744073709551615': -2147483648 } },
        { mStringNested: { '': {} } },
        {
          value: { kind: { case: 'structValue', value: { fields: { a: { kind: { case: 'nullValue', value: 0 } } } } } },
        },
        { value: {} },
        { list: { values: [{}, { kind: { case: 'numberValue', value: -0 } }] } },
        { f2047: 'x', f2048: -1, fMax: -1 },
        { sInt64: 5 }, // a number in a bigint field: protoInt64 accepts it, so do we
        { sInt64: '  42 ' }, // a string in a bigint field: BigInt() parsing, like protoInt64.parse
        { jsInt64: -7n }, // a bigint in a string field
        { sString: 'é'.repeat(1000) + '😀'.repeat(1000) },
        { sString: 'a'.repeat(70000) },
        { sBytes: new Uint8Array(70000).fill(7) },
        { self: { self: { self: { sString: 'deep' } } } },
      ];
      for (const init of cases) {
        const m = create(all, init as never);
        expectSame(all, m);
        expectDeterministic(all, m);
      }
    });

    it('lone surrogates are written as U+FFFD like TextEncoder', () => {
      const all = p3.messages.find((m) => m.name === 'AllTypes')!;
      for (const s of ['\ud800', 'a\udc00b', '\ud83d', 'x'.repeat(200) + '\ud800', '\udc00\ud800']) {
        expectSame(all, create(all, { sString: s } as never));
        expectSame(all, create(all, { struct: { [s]: s } } as never));
        expectDeterministic(
          all,
          create(all, { struct: { [s]: s, '\ufffd': 1, '\u{1F600}': 2, '\uffff': 3, a: 4 } } as never),
        );
      }
    });

    it('unknown fields on nested messages', () => {
      const all = p3.messages.find((m) => m.name === 'AllTypes')!;
      const nested = p3.messages.find((m) => m.name === 'Nested')!;
      const n = create(nested, { a: 'x' } as never) as Message & { $unknown?: unknown };
      n.$unknown = [{ no: 99, wireType: 2, data: Uint8Array.of(1, 0xff) }];
      expectSame(all, create(all, { nested: n, nesteds: [n, n] } as never));
    });

    describe('fallback to toBinary', () => {
      const all = p3.messages.find((m) => m.name === 'AllTypes')!;
      const P2 = p2.messages.find((m) => m.name === 'P2')!;

      const fallsBack = (schema: DescMessage, m: Message) => {
        const before = fastEncodeStats.fallbacks;
        expectSameOutcome(schema, m);
        expect(fastEncodeStats.fallbacks).toBeGreaterThan(before);
      };

      it('values of a representation protobuf-es accepts but the fast path does not handle', () => {
        const m = (patch: Record<string, unknown>) => Object.assign(create(all), patch) as Message;
        fallsBack(all, m({ sInt32: '12' })); // numeric string in an int32 field
        fallsBack(all, m({ sString: undefined })); // implicit field missing: protobuf-es writes the zero value
        fallsBack(all, m({ sDouble: '1.5' }));
        fallsBack(all, m({ struct: [1, 2] })); // Struct field holding a non-object
        fallsBack(all, m({ nested: null }));
        fallsBack(all, m({ choice: { case: 'cString', value: undefined } }));
      });

      it('values protobuf-es rejects: same error', () => {
        const m = (patch: Record<string, unknown>) => Object.assign(create(all), patch) as Message;
        fallsBack(all, m({ sInt32: 2 ** 31 }));
        fallsBack(all, m({ sUint32: -1 }));
        fallsBack(all, m({ sInt32: 1.5 }));
        fallsBack(all, m({ sFloat: 1e39 }));
        fallsBack(all, m({ sInt64: 2n ** 63n }));
        fallsBack(all, m({ sUint64: -1n }));
        fallsBack(all, m({ mInt32String: { abc: 'x' } }));
        fallsBack(all, m({ mInt32String: { '99999999999': 'x' } }));
        fallsBack(all, m({ nested: create(all) })); // wrong message type
        fallsBack(P2, create(P2)); // required field not set
      });

      it('a Struct field holding a Struct message is converted like protobuf-es does (no fallback)', () => {
        const s = create(StructSchema, { fields: { a: { kind: { case: 'numberValue', value: 1 } } } });
        expectSame(all, create(all, { struct: s } as never));
      });
    });
  });
});

describe('realistic resources', () => {
  const make = (i: number) =>
    userResource({
      type: 'user',
      id: `user-${i}`,
      displayName: `User Number ${i} Ünïcødé 😀`,
      description: i % 2 ? 'a description' : undefined,
      emails: [`user${i}@example.com`, { address: `alt${i}@example.org`, primary: true }],
      login: `user${i}`,
      loginAliases: ['alias'],
      status: i % 3 ? 'enabled' : 'disabled',
      statusDetails: i % 3 ? undefined : 'left the company',
      givenName: 'Given',
      familyName: 'Family',
      mfaEnabled: true,
      ssoEnabled: false,
      employeeIds: ['E' + i],
      lastLogin: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
      createdAt: new Date(Date.UTC(2020, 5, 6)),
      childTypes: ['group'],
      externalLink: 'https://example.com/u/' + i,
      profile: {
        index: i,
        padding: 'x'.repeat(100),
        float: i / 7,
        negative: -i,
        nested: { list: [1, 'two', null, false, { deep: true }] },
        empty: {},
        when: new Date(Date.UTC(2021, 1, 1)),
        missing: undefined,
      },
    });

  it('a user resource as our SDK builds it', () => {
    const r = make(7);
    const bytes = expectSame(ResourceSchema, r);
    const back = fromBinary(ResourceSchema, bytes);
    expect(back.id?.resource).toBe('user-7');
    expect(back.profile).toEqual(r.profile);
    expect(hex(toBinary(ResourceSchema, back))).toBe(hex(bytes));
  });

  it('a ListResources page of 250 users, groups and a resource type', () => {
    const list = [];
    for (let i = 0; i < 250; i++)
      list.push(
        i % 10 === 9 ? groupResource({ type: 'group', id: `g${i}`, displayName: `G ${i}`, profile: { i } }) : make(i),
      );
    const page = create(ResourcesServiceListResourcesResponseSchema, { list, nextPageToken: 'next-page-token' });
    expectSame(ResourcesServiceListResourcesResponseSchema, page);
    expect(
      fromBinary(
        ResourcesServiceListResourcesResponseSchema,
        fastToBinary(ResourcesServiceListResourcesResponseSchema, page),
      ).list,
    ).toHaveLength(250);
    expectSame(ResourceIdSchema, create(ResourceIdSchema, { resourceType: 'user', resource: 'u1' }));
    const rt = resourceType({ id: 'User', displayName: 'User', traits: ['user'], skipEntitlementsAndGrants: true });
    expectSame(ResourceTypeSchema, rt);
  });

  it('fastAnyPack equals anyPack', () => {
    const trait = create(UserTraitSchema, {
      emails: [{ address: 'a@b.c', isPrimary: true }],
      status: { status: UserTrait_Status_Status.ENABLED },
      profile: { a: 1, b: 'x'.repeat(100) },
      login: 'a',
    });
    const fast = fastAnyPack(UserTraitSchema, trait);
    const slow = anyPack(UserTraitSchema, trait);
    expect(fast.$typeName).toBe(slow.$typeName);
    expect(fast.typeUrl).toBe(slow.typeUrl);
    expect(hex(fast.value)).toBe(hex(slow.value));
    expect(Object.keys(fast)).toEqual(Object.keys(slow));
  });

  it('the encoder is reusable after an exception inside a fallback', () => {
    const r = make(1);
    const bad = Object.assign(create(ResourceSchema), { id: create(ResourceSchema) }) as Message; // wrong nested type
    expect(() => fastToBinary(ResourceSchema, bad as never)).toThrow();
    expectSame(ResourceSchema, r);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Deterministic mode

describe('fastToBinary deterministic (Go Deterministic: true)', () => {
  const p3 = buildProto3();
  const all = p3.messages.find((m) => m.name === 'AllTypes')!;
  const make = (init: Record<string, unknown>) => create(all, init as never) as Message;

  /** The keys of map field `name` in the order the bytes hold them (decoded with reflection, one entry at a time). */
  function wireKeys(bytes: Uint8Array, name: string): unknown[] {
    const field = all.fields.find((f) => f.localName === name)!;
    const keys: unknown[] = [];
    const r = reflect(all, fromBinary(all, bytes));
    expect(r.isSet(field)).toBe(true);
    // Re-decode entry by entry: a message with just one entry of the field per decode keeps the wire order.
    const whole = Buffer.from(bytes);
    let pos = 0;
    while (pos < whole.length) {
      const start = pos;
      let tag = 0;
      let shift = 0;
      for (;;) {
        const b = whole[pos++];
        tag += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (b < 0x80) break;
      }
      expect(tag % 8).toBe(2); // this test only puts one map field in the message
      let len = 0;
      shift = 0;
      for (;;) {
        const b = whole[pos++];
        len += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (b < 0x80) break;
      }
      pos += len;
      const one = reflect(all, fromBinary(all, whole.subarray(start, pos)));
      keys.push(...[...(one.get(field) as ReflectMap).keys()]);
    }
    return keys;
  }

  it('sorts every key type like Go, independent of insertion order', () => {
    const cases: Array<[string, Record<string, unknown>, unknown[]]> = [
      [
        'mStringNested',
        { b: {}, '10': {}, a: {}, '2': {}, '-1': {}, '01': {}, é: {}, '😀': {}, '\uffff': {}, '': {} },
        ['', '-1', '01', '10', '2', 'a', 'b', 'é', '\uffff', '😀'],
      ],
      [
        'mInt32String',
        { '5': 'a', '-1': 'b', '0': 'c', '-2147483648': 'd', '2147483647': 'e' },
        [-2147483648, -1, 0, 5, 2147483647],
      ],
      ['mBoolEnum', { true: 1, false: 0 }, [false, true]],
      [
        'mInt64Int32',
        { '9223372036854775807': 1, '-1': 2, '-9223372036854775808': 3, '10': 4, '9': 5 },
        [-9223372036854775808n, -1n, 9n, 10n, 9223372036854775807n],
      ],
      [
        'mUint64Sint32',
        { '18446744073709551615': 1, '9223372036854775808': 2, '1': 3, '0': 4 },
        [0n, 1n, 9223372036854775808n, 18446744073709551615n],
      ],
    ];
    for (const [name, obj, expected] of cases) {
      const forward = make({ [name]: obj });
      const backward = make({ [name]: Object.fromEntries(Object.entries(obj).reverse()) });
      const a = expectDeterministic(all, forward);
      expect(hex(expectDeterministic(all, backward))).toBe(hex(a));
      expect(wireKeys(a, name).map(String), name).toEqual(expected.map(String));
      expect(a.length).toBe(toBinary(all, forward).length);
    }
  });

  it('sorts Struct keys at every depth (Struct fields, Value struct_value, lists, map values)', () => {
    const json = (flip: boolean) => {
      const o = (e: Array<[string, unknown]>) => Object.fromEntries(flip ? e.reverse() : e);
      return o([
        ['z', 1],
        [
          '10',
          o([
            ['q', 1],
            [
              'p',
              [
                o([
                  ['y', 1],
                  ['x', 2],
                ]),
                'v',
              ],
            ],
          ]),
        ],
        ['2', null],
        ['a', o([])],
      ]);
    };
    for (const key of ['struct', 'structs', 'mStringStruct'] as const) {
      const init = (flip: boolean) =>
        key === 'struct'
          ? { struct: json(flip) }
          : key === 'structs'
            ? { structs: [json(flip), json(!flip)] }
            : { mStringStruct: { k: json(flip), j: json(!flip) } };
      const a = expectDeterministic(all, make(init(false)));
      expect(hex(expectDeterministic(all, make(init(true))))).toBe(hex(a));
    }
    // Go order, not JS object order: "10" < "2" < "a" < "z"
    const bytes = Buffer.from(fastToDeterministicBinary(all, make({ struct: json(false) }) as never)).toString(
      'latin1',
    );
    const at = (k: string) => bytes.indexOf(`\n${String.fromCharCode(k.length)}${k}\x12`);
    expect([at('10'), at('2'), at('a'), at('z')].every((p, i, ps) => p >= 0 && (i === 0 || p > ps[i - 1]))).toBe(true);
  });

  it("without maps of 2+ entries the bytes are toBinary's", () => {
    const m = make({
      sString: 'x',
      mInt32String: { '7': 'only' },
      struct: { one: { two: [1] } },
      nesteds: [{ a: 'n' }],
    });
    expect(hex(expectDeterministic(all, m))).toBe(hex(toBinary(all, m as never)));
  });

  it('does not leak into the default path (insertion order kept there)', () => {
    const m = make({ mStringNested: { b: {}, a: {} }, struct: { y: 1, x: 2 } });
    const det = fastToBinary(all, m as never, { deterministic: true });
    expect(hex(fastToBinary(all, m as never))).toBe(hex(toBinary(all, m as never)));
    expect(hex(fastToBinary(all, m as never, { deterministic: false }))).toBe(hex(toBinary(all, m as never)));
    expect(hex(det)).not.toBe(hex(toBinary(all, m as never)));
    expect(hex(fastToBinary(all, m as never, { deterministic: true }))).toBe(hex(det));
  });

  it('falls back through toBinary + fromBinary for values the fast path does not take, and throws protobuf-es errors', () => {
    const m = (patch: Record<string, unknown>, init: Record<string, unknown> = {}) =>
      Object.assign(create(all, init as never), patch) as Message;
    const viaCopy = (msg: Message) => {
      const before = fastEncodeStats.fallbacks;
      const out = fastToDeterministicBinary(all, msg as never);
      expect(fastEncodeStats.fallbacks).toBeGreaterThan(before);
      const copy = fromBinary(all, toBinary(all, msg as never)) as Message;
      expect(hex(out)).toBe(hex(referenceDeterministic(all, copy)));
      expect(Buffer.isBuffer(out)).toBe(true);
      return out;
    };
    viaCopy(m({ sInt32: '12' }, { mStringNested: { b: {}, a: {} } }));
    viaCopy(m({ choice: { case: 'cString', value: undefined }, struct: { y: 1, x: 2 } }));
    // non-canonical integer keys: protobuf-es parses them; the decoded copy has canonical keys, sorted
    const odd = viaCopy(m({ mInt32String: { '07': 'a', ' -3': 'b', '5': 'c' } }));
    expect(wireKeys(odd, 'mInt32String')).toEqual([-3, 5, 7]);
    viaCopy(m({ mInt64Int32: { '0x10': 1, '3': 2 } }));
    // invalid messages: protobuf-es's own error
    for (const bad of [m({ sInt32: 2 ** 31 }), m({ mInt32String: { abc: 'x', b: 'y' } }), m({ nested: create(all) })]) {
      let err: unknown;
      try {
        toBinary(all, bad as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      expect(() => fastToDeterministicBinary(all, bad as never)).toThrow((err as Error).message);
    }
    // and the encoder is fine afterwards
    expectDeterministic(all, make({ mStringNested: { b: {}, a: {} } }));
  });

  it('compareUtf8 orders like the UTF-8 bytes', () => {
    const r = new Rng(7);
    const units = [0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfffd, 0xffff];
    const rand = () => {
      let s = '';
      const n = r.int(4);
      for (let i = 0; i < n; i++)
        s += r.chance(0.2) ? String.fromCodePoint(0x10000 + r.int(0x100000)) : String.fromCharCode(r.pick(units));
      return s;
    };
    for (let i = 0; i < 20000; i++) {
      const a = rand();
      const b = rand();
      expect(Math.sign(compareUtf8(a, b)), JSON.stringify([a, b])).toBe(
        Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
    }
    expect(compareUtf8('\u{1F600}', '\uFFFD')).toBeGreaterThan(0); // code point order, not UTF-16 units
  });

  // Random messages of every c1 message type, built through reflection (the c1z encoder's original test).
  it('matches the reference for reflection-built random values of every c1 message type', () => {
    const rnd = new Rng(42);
    const types = [...protocolRegistry()].filter((t): t is DescMessage => t.kind === 'message');
    expect(types.length).toBeGreaterThan(150);
    const scalar = (t: ScalarType, forKey: boolean): unknown => {
      switch (t) {
        case ScalarType.STRING:
          return rnd.pick(
            ['', 'a', 'user:alice', 'Zoë', '10', '2', '\u{1F600}x', 'é', 'long '.repeat(40)].slice(forKey ? 1 : 0),
          );
        case ScalarType.BOOL:
          return rnd.chance(0.5);
        case ScalarType.BYTES:
          return Uint8Array.from({ length: rnd.int(5) }, () => rnd.int(256));
        case ScalarType.DOUBLE:
          return rnd.pick([0, -0, 1.5, -2.25, 1e300, Number.NaN]);
        case ScalarType.FLOAT:
          return rnd.pick([0, 1.5, -3]);
        case ScalarType.INT32:
        case ScalarType.SINT32:
        case ScalarType.SFIXED32:
          return rnd.pick([0, 1, -1, 127, 128, 300, -2147483648, 2147483647]);
        case ScalarType.UINT32:
        case ScalarType.FIXED32:
          return rnd.pick([0, 1, 127, 128, 4294967295]);
        case ScalarType.INT64:
        case ScalarType.SINT64:
        case ScalarType.SFIXED64:
          return rnd.pick([0n, 1n, -1n, 1700000000n, -9223372036854775808n, 9223372036854775807n]);
        default:
          return rnd.pick([0n, 1n, 128n, 18446744073709551615n]);
      }
    };
    const random = (desc: DescMessage, depth: number): ReflectMessage => {
      const r = reflect(desc);
      const oneofMember = new Map(desc.oneofs.map((o) => [o, rnd.pick([undefined, ...o.fields])]));
      for (const f of desc.fields) {
        if (f.oneof && oneofMember.get(f.oneof) !== f) continue;
        if (!f.oneof && rnd.chance(0.25)) continue;
        switch (f.fieldKind) {
          case 'scalar':
            r.set(f, scalar(f.scalar, false));
            break;
          case 'enum':
            r.set(f, rnd.pick(f.enum.values).number);
            break;
          case 'message':
            if (depth > 0) r.set(f, random(f.message, depth - 1));
            break;
          case 'list': {
            const list = r.get(f) as ReflectList;
            for (let i = rnd.int(3); i > 0; i--) {
              if (f.listKind === 'message') {
                if (depth > 0) list.add(random(f.message, depth - 1));
              } else if (f.listKind === 'enum') list.add(rnd.pick(f.enum.values).number);
              else list.add(scalar(f.scalar, false));
            }
            break;
          }
          case 'map': {
            const map = r.get(f) as ReflectMap;
            for (let i = rnd.int(4); i > 0; i--) {
              const key = scalar(f.mapKey, true);
              if (f.mapKind === 'message') {
                if (depth > 0) map.set(key, random(f.message, depth - 1));
              } else if (f.mapKind === 'enum') map.set(key, rnd.pick(f.enum.values).number);
              else map.set(key, scalar(f.scalar, false));
            }
            break;
          }
        }
      }
      return r;
    };
    let checked = 0;
    for (const desc of types) {
      for (let round = 0; round < 8; round++) {
        const msg = random(desc, 3).message as Message;
        const det = expectDeterministic(desc, msg);
        expect(hex(fastToDeterministicBinary(desc, fromBinary(desc, det) as never))).toBe(hex(det));
        checked++;
      }
    }
    expect(checked).toBe(types.length * 8);
  });
});
