/**
 * Deterministic protobuf binary encoding, matching Go's `proto.MarshalOptions{Deterministic: true}`:
 * known fields in field-number order, unknown fields last, and **map entries sorted by key**.
 *
 * Why not plain `toBinary`: protobuf-es writes fields in number order too, but writes map entries in the order of
 * the JS object's keys, which is insertion order (with integer-like keys first). The messages we store do contain
 * maps: `Grant.sources` (`GrantSources.sources`) and every `google.protobuf.Struct` (`Resource.profile`, which is
 * embedded in entitlements and grants too). We sort map keys like Go: strings by UTF-8 bytes (= code point
 * order), integers numerically, false before true. Without maps the output is byte-identical to `toBinary`.
 *
 * Speed: a sync writes hundreds of thousands of grants, each embedding its entitlement and resource. `toBinary`
 * (reflection, a TextEncoder call per string, a buffer copy per nested message) cost ~40 µs per grant and
 * dominated the write path. This encoder compiles each message type once into field plans that read the plain
 * message object directly, and encodes in two passes like Go and C++ do: the first computes every nested
 * length, the second writes into one exactly-sized Buffer (strings written in place as UTF-8).
 * Fields whose JS form differs from the wire message (wrapper types unboxed to scalars, google.protobuf.Struct
 * as a JSON object, and anything inside Struct/Value/ListValue) are encoded by the reflection-based reference
 * encoder (binary-reflect.ts), which converts them. Tests compare both encoders over every c1 message type.
 *
 * `google.protobuf.Any.value` is opaque bytes, exactly as in Go (its contents are whatever the packer wrote).
 */
import { ScalarType, type DescField, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { encodeFieldReflect } from './binary-reflect.js';
import { compareMapKeys } from './map-order.js';

export { toDeterministicBinaryReflect } from './binary-reflect.js';
export { compareMapKeys, compareUtf8 } from './map-order.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = Record<string, any>;

/** Encodes `message` deterministically. The result is a Buffer (a Uint8Array subclass). */
export function toDeterministicBinary<D extends DescMessage>(schema: D, message: MessageShape<D>): Buffer {
  const plan = planFor(schema);
  const ctx: SizeContext = { sizes: [], blobs: [], orders: [] };
  const total = sizeMessage(plan, message as unknown as Obj, ctx);
  const out: WriteContext = {
    buf: Buffer.allocUnsafe(total),
    pos: 0,
    sizes: ctx.sizes,
    sizeAt: 0,
    blobs: ctx.blobs,
    blobAt: 0,
    orders: ctx.orders,
    orderAt: 0,
  };
  writeMessage(plan, message as unknown as Obj, out);
  if (out.pos !== total) throw new Error(`internal error: encoded ${out.pos} bytes, expected ${total}`);
  return out.buf;
}

// ---- plans --------------------------------------------------------------------------------------------

const WT_VARINT = 0;
const WT_BIT64 = 1;
const WT_LEN = 2;
const WT_START_GROUP = 3;
const WT_END_GROUP = 4;
const WT_BIT32 = 5;
/** google.protobuf.FeatureSet.FieldPresence.IMPLICIT */
const IMPLICIT = 2;

const SPECIAL_TYPES = new Set([
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
  'google.protobuf.DoubleValue',
  'google.protobuf.FloatValue',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
]);

type FieldPlan =
  | { kind: 'special'; desc: DescMessage; field: DescField }
  | { kind: 'scalar'; name: string; oneof?: string; tag: number; type: ScalarType; implicit: boolean }
  | { kind: 'enum'; name: string; oneof?: string; tag: number; zero: number; implicit: boolean }
  | { kind: 'message'; name: string; oneof?: string; no: number; group: boolean; sub: () => MessagePlan }
  | { kind: 'messageList'; name: string; no: number; group: boolean; sub: () => MessagePlan }
  | { kind: 'scalarList'; name: string; no: number; type: ScalarType; packed: boolean }
  | {
      kind: 'map';
      name: string;
      tag: number;
      keyType: ScalarType;
      value: { type: ScalarType } | { sub: () => MessagePlan };
    };

interface MessagePlan {
  desc: DescMessage;
  fields: FieldPlan[];
}

const plans = new WeakMap<DescMessage, MessagePlan>();

function planFor(desc: DescMessage): MessagePlan {
  let plan = plans.get(desc);
  if (plan) return plan;
  plan = { desc, fields: [] };
  plans.set(desc, plan); // before compiling fields: message types can be recursive
  if (SPECIAL_TYPES.has(desc.typeName)) {
    // Only reached when such a message is encoded at the top level; fields of these types are 'special'.
    for (const f of [...desc.fields].sort((a, b) => a.number - b.number)) plan.fields.push({ kind: 'special', desc, field: f });
    return plan;
  }
  for (const f of [...desc.fields].sort((a, b) => a.number - b.number)) plan.fields.push(compileField(desc, f));
  return plan;
}

function tagOf(no: number, wireType: number): number {
  return ((no << 3) | wireType) >>> 0;
}

function compileField(desc: DescMessage, f: DescField): FieldPlan {
  const name = f.localName;
  const oneof = f.oneof?.localName;
  const message = f.fieldKind === 'message' ? f.message : f.fieldKind === 'list' && f.listKind === 'message' ? f.message : f.fieldKind === 'map' && f.mapKind === 'message' ? f.message : undefined;
  if (message && SPECIAL_TYPES.has(message.typeName)) return { kind: 'special', desc, field: f };
  switch (f.fieldKind) {
    case 'scalar':
      return { kind: 'scalar', name, oneof, tag: tagOf(f.number, wireTypeOf(f.scalar)), type: f.scalar, implicit: !oneof && f.presence === IMPLICIT };
    case 'enum':
      return { kind: 'enum', name, oneof, tag: tagOf(f.number, WT_VARINT), zero: f.enum.values[0]?.number ?? 0, implicit: !oneof && f.presence === IMPLICIT };
    case 'message': {
      const sub = f.message;
      return { kind: 'message', name, oneof, no: f.number, group: f.delimitedEncoding, sub: () => planFor(sub) };
    }
    case 'list':
      if (f.listKind === 'message') {
        const sub = f.message;
        return { kind: 'messageList', name, no: f.number, group: f.delimitedEncoding, sub: () => planFor(sub) };
      }
      return { kind: 'scalarList', name, no: f.number, type: f.listKind === 'enum' ? ScalarType.INT32 : f.scalar, packed: f.packed };
    case 'map': {
      const value =
        f.mapKind === 'message'
          ? { sub: ((m: DescMessage) => () => planFor(m))(f.message) }
          : { type: f.mapKind === 'enum' ? ScalarType.INT32 : f.scalar };
      return { kind: 'map', name, tag: tagOf(f.number, WT_LEN), keyType: f.mapKey, value };
    }
  }
}

/** The value of a plain field or of a oneof member (undefined when another member, or none, is set). */
function valueOf(msg: Obj, name: string, oneof: string | undefined): any {
  if (oneof === undefined) return msg[name];
  const o = msg[oneof];
  return o !== undefined && o.case === name ? o.value : undefined;
}

// ---- pass 1: sizes ------------------------------------------------------------------------------------

interface SizeContext {
  /** Lengths of nested messages, strings, packed lists and map entries, in traversal order. */
  sizes: number[];
  /** Pre-encoded bytes of 'special' fields, in traversal order. */
  blobs: Uint8Array[];
  /** Sorted key order of each map, in traversal order. */
  orders: Array<{ keys: string[]; typed: unknown[] }>;
}

function sizeMessage(plan: MessagePlan, msg: Obj, ctx: SizeContext): number {
  let n = 0;
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) n += sizeField(fields[i], msg, ctx);
  const unknown = msg.$unknown as Array<{ no: number; wireType: number; data: Uint8Array }> | undefined;
  if (unknown) for (const u of unknown) n += varintSize(tagOf(u.no, u.wireType)) + u.data.byteLength;
  return n;
}

function sizeNested(plan: MessagePlan, no: number, group: boolean, v: Obj, ctx: SizeContext): number {
  if (group) return 2 * varintSize(tagOf(no, WT_START_GROUP)) + sizeMessage(plan, v, ctx);
  const slot = ctx.sizes.length;
  ctx.sizes.push(0);
  const inner = sizeMessage(plan, v, ctx);
  ctx.sizes[slot] = inner;
  return varintSize(tagOf(no, WT_LEN)) + varintSize(inner) + inner;
}

function sizeField(f: FieldPlan, msg: Obj, ctx: SizeContext): number {
  switch (f.kind) {
    case 'scalar': {
      const v = valueOf(msg, f.name, f.oneof);
      if (v === undefined || (f.implicit && isZero(f.type, v))) return 0;
      return varintSize(f.tag) + scalarSize(f.type, v, ctx);
    }
    case 'enum': {
      const v = valueOf(msg, f.name, f.oneof);
      if (v === undefined || (f.implicit && v === f.zero)) return 0;
      return varintSize(f.tag) + int32Size(v);
    }
    case 'message': {
      const v = valueOf(msg, f.name, f.oneof);
      return v === undefined ? 0 : sizeNested(f.sub(), f.no, f.group, v, ctx);
    }
    case 'messageList': {
      const list = msg[f.name] as Obj[] | undefined;
      if (!list || list.length === 0) return 0;
      const plan = f.sub();
      let n = 0;
      for (let i = 0; i < list.length; i++) n += sizeNested(plan, f.no, f.group, list[i], ctx);
      return n;
    }
    case 'scalarList': {
      const list = msg[f.name] as unknown[] | undefined;
      if (!list || list.length === 0) return 0;
      if (f.packed) {
        const slot = ctx.sizes.length;
        ctx.sizes.push(0);
        let inner = 0;
        for (let i = 0; i < list.length; i++) inner += scalarSize(f.type, list[i], ctx);
        ctx.sizes[slot] = inner;
        return varintSize(tagOf(f.no, WT_LEN)) + varintSize(inner) + inner;
      }
      const tagSize = varintSize(tagOf(f.no, wireTypeOf(f.type)));
      let n = 0;
      for (let i = 0; i < list.length; i++) n += tagSize + scalarSize(f.type, list[i], ctx);
      return n;
    }
    case 'map': {
      const obj = msg[f.name] as Obj | undefined;
      if (!obj) return 0;
      const keys = Object.keys(obj);
      if (keys.length === 0) return 0;
      const typed = keys.map((k) => mapKeyFromObjectKey(f.keyType, k));
      const order = keys.map((_, i) => i).sort((a, b) => compareMapKeys(typed[a], typed[b]));
      ctx.orders.push({ keys: order.map((i) => keys[i]), typed: order.map((i) => typed[i]) });
      const keyTag = varintSize(tagOf(1, wireTypeOf(f.keyType)));
      let n = 0;
      for (const i of order) {
        const slot = ctx.sizes.length;
        ctx.sizes.push(0);
        let entry = keyTag + scalarSize(f.keyType, typed[i], ctx);
        const v = obj[keys[i]];
        if ('sub' in f.value) entry += sizeNested(f.value.sub(), 2, false, v, ctx);
        else entry += varintSize(tagOf(2, wireTypeOf(f.value.type))) + scalarSize(f.value.type, v, ctx);
        ctx.sizes[slot] = entry;
        n += varintSize(f.tag) + varintSize(entry) + entry;
      }
      return n;
    }
    case 'special': {
      const bytes = encodeFieldReflect(f.desc, msg, f.field);
      ctx.blobs.push(bytes);
      return bytes.byteLength;
    }
  }
}

function scalarSize(type: ScalarType, v: any, ctx: SizeContext): number {
  switch (type) {
    case ScalarType.STRING: {
      const len = Buffer.byteLength(v as string, 'utf8');
      ctx.sizes.push(len);
      return varintSize(len) + len;
    }
    case ScalarType.BYTES: {
      const len = (v as Uint8Array).byteLength;
      return varintSize(len) + len;
    }
    case ScalarType.BOOL:
      return 1;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return 8;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return 4;
    case ScalarType.INT32:
      return int32Size(v);
    case ScalarType.UINT32:
      return varintSize(v >>> 0);
    case ScalarType.SINT32:
      return varintSize(((v << 1) ^ (v >> 31)) >>> 0);
    case ScalarType.INT64:
    case ScalarType.UINT64:
      return varint64Size(toUint64(v));
    case ScalarType.SINT64:
      return varint64Size(zigzag64(v));
  }
  throw new Error(`unsupported scalar type ${type}`);
}

function varintSize(n: number): number {
  // n is a non-negative integer < 2^53
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 4;
  n = Math.floor(n / 0x10000000);
  while (n > 0) {
    size++;
    n = Math.floor(n / 128);
  }
  return size;
}

function int32Size(v: number): number {
  return v >= 0 ? varintSize(v) : 10; // negative int32 is sign-extended to 64 bits
}

function varint64Size(v: bigint): number {
  let size = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    size++;
  }
  return size;
}

function toUint64(v: unknown): bigint {
  return BigInt.asUintN(64, BigInt(v as bigint | number | string));
}

function zigzag64(v: unknown): bigint {
  const x = BigInt.asIntN(64, BigInt(v as bigint | number | string));
  return BigInt.asUintN(64, (x << 1n) ^ (x >> 63n));
}

// ---- pass 2: write ------------------------------------------------------------------------------------

interface WriteContext {
  buf: Buffer;
  pos: number;
  sizes: number[];
  sizeAt: number;
  blobs: Uint8Array[];
  blobAt: number;
  orders: Array<{ keys: string[]; typed: unknown[] }>;
  orderAt: number;
}

function writeMessage(plan: MessagePlan, msg: Obj, out: WriteContext): void {
  const fields = plan.fields;
  for (let i = 0; i < fields.length; i++) writeField(fields[i], msg, out);
  const unknown = msg.$unknown as Array<{ no: number; wireType: number; data: Uint8Array }> | undefined;
  if (unknown) {
    for (const u of unknown) {
      writeVarint(out, tagOf(u.no, u.wireType));
      out.buf.set(u.data, out.pos);
      out.pos += u.data.byteLength;
    }
  }
}

function writeNested(plan: MessagePlan, no: number, group: boolean, v: Obj, out: WriteContext): void {
  if (group) {
    writeVarint(out, tagOf(no, WT_START_GROUP));
    writeMessage(plan, v, out);
    writeVarint(out, tagOf(no, WT_END_GROUP));
    return;
  }
  writeVarint(out, tagOf(no, WT_LEN));
  writeVarint(out, out.sizes[out.sizeAt++]);
  writeMessage(plan, v, out);
}

function writeField(f: FieldPlan, msg: Obj, out: WriteContext): void {
  switch (f.kind) {
    case 'scalar': {
      const v = valueOf(msg, f.name, f.oneof);
      if (v === undefined || (f.implicit && isZero(f.type, v))) return;
      writeVarint(out, f.tag);
      writeScalar(out, f.type, v);
      return;
    }
    case 'enum': {
      const v = valueOf(msg, f.name, f.oneof);
      if (v === undefined || (f.implicit && v === f.zero)) return;
      writeVarint(out, f.tag);
      writeInt32(out, v);
      return;
    }
    case 'message': {
      const v = valueOf(msg, f.name, f.oneof);
      if (v !== undefined) writeNested(f.sub(), f.no, f.group, v, out);
      return;
    }
    case 'messageList': {
      const list = msg[f.name] as Obj[] | undefined;
      if (!list || list.length === 0) return;
      const plan = f.sub();
      for (let i = 0; i < list.length; i++) writeNested(plan, f.no, f.group, list[i], out);
      return;
    }
    case 'scalarList': {
      const list = msg[f.name] as unknown[] | undefined;
      if (!list || list.length === 0) return;
      if (f.packed) {
        writeVarint(out, tagOf(f.no, WT_LEN));
        writeVarint(out, out.sizes[out.sizeAt++]);
        for (let i = 0; i < list.length; i++) writeScalar(out, f.type, list[i]);
        return;
      }
      const tag = tagOf(f.no, wireTypeOf(f.type));
      for (let i = 0; i < list.length; i++) {
        writeVarint(out, tag);
        writeScalar(out, f.type, list[i]);
      }
      return;
    }
    case 'map': {
      const obj = msg[f.name] as Obj | undefined;
      if (!obj || Object.keys(obj).length === 0) return;
      const { keys, typed } = out.orders[out.orderAt++];
      const keyTag = tagOf(1, wireTypeOf(f.keyType));
      for (let i = 0; i < keys.length; i++) {
        writeVarint(out, f.tag);
        writeVarint(out, out.sizes[out.sizeAt++]);
        writeVarint(out, keyTag);
        writeScalar(out, f.keyType, typed[i]);
        const v = obj[keys[i]];
        if ('sub' in f.value) {
          writeNested(f.value.sub(), 2, false, v, out);
        } else {
          writeVarint(out, tagOf(2, wireTypeOf(f.value.type)));
          writeScalar(out, f.value.type, v);
        }
      }
      return;
    }
    case 'special': {
      const bytes = out.blobs[out.blobAt++];
      out.buf.set(bytes, out.pos);
      out.pos += bytes.byteLength;
      return;
    }
  }
}

function writeScalar(out: WriteContext, type: ScalarType, v: any): void {
  const buf = out.buf;
  switch (type) {
    case ScalarType.STRING: {
      const len = out.sizes[out.sizeAt++];
      writeVarint(out, len);
      if (len > 0) buf.write(v as string, out.pos, len, 'utf8');
      out.pos += len;
      return;
    }
    case ScalarType.BYTES: {
      const bytes = v as Uint8Array;
      writeVarint(out, bytes.byteLength);
      buf.set(bytes, out.pos);
      out.pos += bytes.byteLength;
      return;
    }
    case ScalarType.BOOL:
      buf[out.pos++] = v ? 1 : 0;
      return;
    case ScalarType.DOUBLE:
      buf.writeDoubleLE(v, out.pos);
      out.pos += 8;
      return;
    case ScalarType.FLOAT:
      buf.writeFloatLE(v, out.pos);
      out.pos += 4;
      return;
    case ScalarType.FIXED32:
      buf.writeUInt32LE(v >>> 0, out.pos);
      out.pos += 4;
      return;
    case ScalarType.SFIXED32:
      buf.writeInt32LE(v | 0, out.pos);
      out.pos += 4;
      return;
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      buf.writeBigUInt64LE(toUint64(v), out.pos);
      out.pos += 8;
      return;
    case ScalarType.INT32:
      writeInt32(out, v);
      return;
    case ScalarType.UINT32:
      writeVarint(out, v >>> 0);
      return;
    case ScalarType.SINT32:
      writeVarint(out, ((v << 1) ^ (v >> 31)) >>> 0);
      return;
    case ScalarType.INT64:
    case ScalarType.UINT64:
      writeVarint64(out, toUint64(v));
      return;
    case ScalarType.SINT64:
      writeVarint64(out, zigzag64(v));
      return;
  }
  throw new Error(`unsupported scalar type ${type}`);
}

function writeVarint(out: WriteContext, n: number): void {
  const buf = out.buf;
  while (n >= 0x80) {
    buf[out.pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[out.pos++] = n;
}

function writeInt32(out: WriteContext, v: number): void {
  if (v >= 0) writeVarint(out, v);
  else writeVarint64(out, BigInt.asUintN(64, BigInt(v)));
}

function writeVarint64(out: WriteContext, v: bigint): void {
  const buf = out.buf;
  while (v >= 0x80n) {
    buf[out.pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[out.pos++] = Number(v);
}

// ---- shared helpers -----------------------------------------------------------------------------------

function wireTypeOf(type: ScalarType): number {
  switch (type) {
    case ScalarType.BYTES:
    case ScalarType.STRING:
      return WT_LEN;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WT_BIT64;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
    case ScalarType.FLOAT:
      return WT_BIT32;
    default:
      return WT_VARINT;
  }
}

function isZero(t: ScalarType, v: unknown): boolean {
  switch (t) {
    case ScalarType.BOOL:
      return v === false;
    case ScalarType.STRING:
      return v === '';
    case ScalarType.BYTES:
      return v instanceof Uint8Array && v.byteLength === 0;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return Object.is(v, 0);
    default:
      // eslint-disable-next-line eqeqeq
      return (v as number) == 0; // matches 0, 0n and "0", as protobuf-es does
  }
}

/** Map keys are object keys (strings) in protobuf-es messages; convert them to the key's scalar type. */
function mapKeyFromObjectKey(t: ScalarType, key: string): string | number | bigint | boolean {
  switch (t) {
    case ScalarType.STRING:
      return key;
    case ScalarType.BOOL:
      return key === 'true';
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return BigInt(key);
    default:
      return Number(key);
  }
}
