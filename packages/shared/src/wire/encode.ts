/**
 * A fast protobuf binary encoder for protobuf-es v2 messages, byte-identical to `toBinary` from @bufbuild/protobuf.
 *
 * Each message type is compiled once into a plan (./plan.ts). Encoding runs in two passes over the message:
 *  1. size: compute the exact encoded size, recording every length prefix (nested messages, packed lists, map
 *     entries, UTF-8 byte lengths of strings) in a reusable Int32Array, in visiting order;
 *  2. write: allocate ONE Buffer of that size and write into it, reading the recorded lengths back in the same
 *     order. No fork/join, no intermediate chunks, no TextEncoder.
 *
 * The encoder mirrors protobuf-es exactly: fields in field-number order, implicit-presence zero values omitted
 * (including `-0` being written for float/double), explicit presence by own property, oneofs by `case`,
 * google.protobuf.Struct fields held as JsonObject (converted like reflect.js does), singular wrapper fields held
 * as primitives, map entries in Object.keys order with protobuf-es's key conversion, `$unknown` fields last.
 *
 * Anything unusual (a value of an unexpected JS type, a value protobuf-es would reject with an error, a proto2
 * required field left unset, re-entrant use, an internal inconsistency) makes the whole call fall back to
 * `toBinary`, so the result (or the error thrown) is always protobuf-es's own.
 *
 * Deterministic mode (`{ deterministic: true }`, or `fastToDeterministicBinary`) is Go's
 * `proto.MarshalOptions{Deterministic: true}`: the same bytes as above except that the entries of every map field
 * (including google.protobuf.Struct's `fields`, at any depth) are written sorted by key, as Go's
 * internal/impl appendMapDeterministic / internal/order.GenericKeyOrder do: bool false < true, signed and unsigned
 * integers numerically, strings by their bytes (UTF-8, i.e. code point order). Go's deterministic marshal changes
 * nothing else (fields are in number order and unknown fields last either way). The size pass sorts each map's
 * keys once and records the order for the write pass. Go's c1z files are written this way, so c1z blobs use it.
 */
import { fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import {
  type FieldPlan,
  K_ENUM,
  K_LIST_MESSAGE,
  K_LIST_PACKED,
  K_LIST_UNPACKED,
  K_MAP,
  K_MESSAGE,
  K_SCALAR,
  M_GROUP,
  M_JSON,
  M_NORMAL,
  M_WRAPPER,
  type MessagePlan,
  T_BOOL,
  T_BYTES,
  T_DOUBLE,
  T_FIXED32,
  T_FIXED64,
  T_FLOAT,
  T_INT32,
  T_INT64,
  T_SFIXED32,
  T_SFIXED64,
  T_SINT32,
  T_SINT64,
  T_STRING,
  T_UINT32,
  T_UINT64,
  V_MESSAGE,
  planFor,
  varintSize32,
} from './plan.js';

/** Thrown inside the encoder to request the `toBinary` fallback. */
class Fallback extends Error {}
const FB = new Fallback('fastToBinary: fallback to toBinary');

/** Counters for tests and diagnostics. */
export const fastEncodeStats = {
  /** Calls that fell back to toBinary (including calls where toBinary then threw). */
  fallbacks: 0,
  /** Why the last fallback happened (the error caught from the fast path). */
  lastFallbackReason: undefined as unknown,
};

const FLOAT32_MAX = 3.4028234663852886e38;
const FLOAT32_MIN = -3.4028234663852886e38;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

const hasOwn = Object.prototype.hasOwnProperty;

// ---------------------------------------------------------------------------------------------------------------
// Per-call state (the encoder is synchronous and guarded against re-entrance).

/** Recorded lengths, in visiting order. */
let slots = new Int32Array(1024);
let slotTop = 0; // size pass: next free slot
let slotRead = 0; // write pass: next slot to read
let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let busy = false;
/** Deterministic mode: map (and Struct) entries in Go's key order. Only set for the duration of such a call. */
let det = false;
/** Deterministic mode: the sorted keys of each map/Struct with 2+ entries, in visiting order (size pass pushes). */
const orders: string[][] = [];
let orderRead = 0; // write pass: next order to read

// 64-bit scratch: to64() leaves the two's complement halves here.
let lo = 0;
let hi = 0;
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

type Writable = Buffer & {
  utf8Write?: (s: string, offset: number, length: number) => number;
  latin1Write?: (s: string, offset: number, length: number) => number;
};

function reserveSlot(): number {
  if (slotTop === slots.length) {
    const bigger = new Int32Array(slots.length * 2);
    bigger.set(slots);
    slots = bigger;
  }
  return slotTop++;
}

function pushSlot(v: number): void {
  if (slotTop === slots.length) {
    const bigger = new Int32Array(slots.length * 2);
    bigger.set(slots);
    slots = bigger;
  }
  slots[slotTop++] = v;
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

/** Options of fastToBinary. */
export interface FastBinaryWriteOptions {
  /**
   * Write map entries sorted by key like Go's `proto.MarshalOptions{Deterministic: true}` (see the file comment)
   * instead of in object-key order like `toBinary`. Default false.
   */
  deterministic?: boolean;
}

/**
 * Encodes `message` exactly like `toBinary(schema, message)` (default options: unknown fields written), or with
 * `{ deterministic: true }` like Go's deterministic marshal (see fastToDeterministicBinary).
 * The result is a Buffer (a Uint8Array); small results may share a pooled ArrayBuffer, so use
 * byteOffset/byteLength when viewing `.buffer`.
 */
export function fastToBinary<D extends DescMessage>(
  schema: D,
  message: MessageShape<D>,
  options?: FastBinaryWriteOptions,
): Uint8Array {
  if (options !== undefined && options.deterministic === true) return fastToDeterministicBinary(schema, message);
  if (busy) return toBinary(schema, message);
  const plan = planFor(schema);
  busy = true;
  try {
    return encode(plan, message as unknown as Msg);
  } catch (e) {
    fastEncodeStats.fallbacks++;
    fastEncodeStats.lastFallbackReason = e;
    return toBinary(schema, message);
  } finally {
    buf = EMPTY;
    busy = false;
  }
}

/**
 * Encodes `message` like Go's `proto.MarshalOptions{Deterministic: true}`: `toBinary`'s bytes with every map's
 * entries sorted by key. The result is always a Buffer.
 *
 * When the fast path cannot take the message as it is (a value in a representation only protobuf-es's
 * conversions handle, a map key that is not the canonical string of its key value), the message goes through
 * `toBinary` (which throws protobuf-es's own error for an invalid message) and `fromBinary`, and the decoded copy,
 * which holds every value in its canonical form, is encoded deterministically. A re-entrant call (from a getter
 * run while another encode is under way) throws.
 */
export function fastToDeterministicBinary<D extends DescMessage>(schema: D, message: MessageShape<D>): Buffer {
  const out = encodeDeterministic(schema, message as unknown as Msg);
  if (out !== undefined) return out;
  const copy = fromBinary(schema, toBinary(schema, message));
  const again = encodeDeterministic(schema, copy as unknown as Msg);
  if (again === undefined) {
    throw new Error(
      `fastToDeterministicBinary: cannot encode ${schema.typeName}: ${String(fastEncodeStats.lastFallbackReason)}`,
    );
  }
  return again;
}

/** One deterministic attempt; undefined (with the reason in fastEncodeStats) when the fast path gave up. */
function encodeDeterministic(schema: DescMessage, m: Msg): Buffer | undefined {
  if (busy) {
    fastEncodeStats.fallbacks++;
    fastEncodeStats.lastFallbackReason = new Error('re-entrant call');
    return undefined;
  }
  const plan = planFor(schema);
  busy = true;
  det = true;
  try {
    return encode(plan, m);
  } catch (e) {
    fastEncodeStats.fallbacks++;
    fastEncodeStats.lastFallbackReason = e;
    return undefined;
  } finally {
    buf = EMPTY;
    busy = false;
    det = false;
    orders.length = 0;
  }
}

/** Both passes; throws to request a fallback. The caller holds `busy` and resets `buf`. */
function encode(plan: MessagePlan, m: Msg): Buffer {
  slotTop = 0;
  const size = sizeMessage(plan, m);
  const out = Buffer.allocUnsafe(size);
  buf = out;
  pos = 0;
  slotRead = 0;
  orderRead = 0;
  writeMessage(plan, m);
  if (pos !== size || slotRead !== slotTop || orderRead !== orders.length) {
    throw new Error(`fastToBinary: internal size mismatch for ${plan.typeName} (${pos} != ${size})`);
  }
  return out;
}
const EMPTY = Buffer.alloc(0);

/** The size of `fastToBinary(schema, message)` without encoding it (falls back to toBinary().length). */
export function encodedSize<D extends DescMessage>(schema: D, message: MessageShape<D>): number {
  if (busy) return toBinary(schema, message).length;
  const plan = planFor(schema);
  busy = true;
  try {
    slotTop = 0;
    return sizeMessage(plan, message as unknown as Msg);
  } catch {
    return toBinary(schema, message).length;
  } finally {
    busy = false;
  }
}

/** Like `anyPack(schema, message)` from @bufbuild/protobuf/wkt, encoding with fastToBinary. */
export function fastAnyPack<D extends DescMessage>(schema: D, message: MessageShape<D>): Any {
  // Same object shape as anyPack's create(AnySchema) + assignments.
  return {
    $typeName: 'google.protobuf.Any',
    typeUrl: `type.googleapis.com/${message.$typeName}`,
    value: fastToBinary(schema, message),
  } as Any;
}

// ---------------------------------------------------------------------------------------------------------------
// Presence

/** reflect/scalar.js isScalarZeroValue. */
function isScalarZero(t: number, v: unknown): boolean {
  switch (t) {
    case T_BOOL:
      return v === false;
    case T_STRING:
      return v === '';
    case T_BYTES:
      return v instanceof Uint8Array && !v.byteLength;
    case T_DOUBLE:
    case T_FLOAT:
      return v === 0 && 1 / (v as number) > 0; // Object.is(v, 0): -0 is NOT zero
    default:
      return (v as number) == 0; // loose, like protobuf-es: matches 0, 0n and "0"
  }
}

type Msg = Record<string, unknown> & { $typeName?: string; $unknown?: unknown };

/**
 * The value to encode for field f of m, or undefined when protobuf-es would not write the field.
 * (reflect/unsafe.js unsafeIsSet + unsafeGet.) Oneof members with an undefined value, which protobuf-es writes as
 * the zero value, are sent to the fallback.
 */
function fieldValue(f: FieldPlan, m: Msg): unknown {
  if (f.oneof !== undefined) {
    const o = m[f.oneof] as { case: unknown; value: unknown };
    if (o.case !== f.localName) return undefined;
    const v = o.value;
    if (v === undefined) throw FB;
    return v;
  }
  const v = m[f.localName];
  if (f.explicit) {
    if (v === undefined || !hasOwn.call(m, f.localName)) {
      if (f.required) throw FB; // toBinary throws "required field not set"
      return undefined;
    }
    return v;
  }
  switch (f.kind) {
    case K_SCALAR:
      if (v === undefined) throw FB; // protobuf-es would write the zero value
      return isScalarZero(f.scalar, v) ? undefined : v;
    case K_ENUM:
      if (v === undefined) throw FB;
      return v === f.enumZero ? undefined : v;
    case K_LIST_PACKED:
    case K_LIST_UNPACKED:
    case K_LIST_MESSAGE:
      if (!Array.isArray(v)) throw FB;
      return v.length > 0 ? v : undefined;
    case K_MAP:
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw FB;
      return v;
    default:
      throw FB; // a message field with implicit presence: toBinary throws
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Size pass

function sizeMessage(p: MessagePlan, m: Msg): number {
  if (p.checkType && m.$typeName !== p.typeName) throw FB;
  const fields = p.fields;
  let size = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const v = fieldValue(f, m);
    if (v === undefined) continue;
    size += sizeField(f, v);
  }
  const unknown = m.$unknown;
  if (unknown != null) size += sizeUnknown(unknown);
  return size;
}

function sizeUnknown(unknown: unknown): number {
  if (!Array.isArray(unknown)) throw FB;
  let size = 0;
  for (let i = 0; i < unknown.length; i++) {
    const u = unknown[i] as { no: number; wireType: number; data: unknown };
    if (!(u.data instanceof Uint8Array)) throw FB;
    size += varintSize32(((u.no << 3) | u.wireType) >>> 0) + u.data.byteLength;
  }
  return size;
}

function sizeField(f: FieldPlan, v: unknown): number {
  switch (f.kind) {
    case K_SCALAR:
    case K_ENUM:
      return f.tagSize + sizeScalar(f.scalar, v);
    case K_MESSAGE:
      return sizeMessageValue(f, f.msgMode, v);
    case K_LIST_PACKED: {
      const list = v as unknown[];
      const slot = reserveSlot();
      let n = 0;
      for (let i = 0; i < list.length; i++) n += sizeScalar(f.scalar, list[i]);
      slots[slot] = n;
      return f.tag2Size + varintSize32(n) + n;
    }
    case K_LIST_UNPACKED: {
      const list = v as unknown[];
      let n = 0;
      for (let i = 0; i < list.length; i++) n += f.tagSize + sizeScalar(f.scalar, list[i]);
      return n;
    }
    case K_LIST_MESSAGE: {
      const list = v as unknown[];
      let n = 0;
      for (let i = 0; i < list.length; i++) n += sizeMessageValue(f, f.msgMode, list[i]);
      return n;
    }
    case K_MAP:
      return sizeMap(f, v as Record<string, unknown>);
  }
  throw FB;
}

/** Tag + (length +) content of one message value. */
function sizeMessageValue(f: FieldPlan, mode: number, v: unknown): number {
  switch (mode) {
    case M_NORMAL: {
      if (v === null || typeof v !== 'object') throw FB;
      const slot = reserveSlot();
      const n = sizeMessage(f.msg!, v as Msg);
      slots[slot] = n;
      return f.tagSize + varintSize32(n) + n;
    }
    case M_JSON: {
      // reflect.js converts only when the value is an object; anything else is treated as a message (fallback).
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw FB;
      const slot = reserveSlot();
      const n = sizeStruct(v as Record<string, unknown>);
      slots[slot] = n;
      return f.tagSize + varintSize32(n) + n;
    }
    case M_WRAPPER: {
      const slot = reserveSlot();
      const n = f.wrapperExplicit || !isScalarZero(f.wrapperScalar, v) ? 1 + sizeScalar(f.wrapperScalar, v) : 0;
      slots[slot] = n;
      return f.tagSize + varintSize32(n) + n;
    }
    case M_GROUP:
      if (v === null || typeof v !== 'object') throw FB;
      return f.tagSize + sizeMessage(f.msg!, v as Msg) + f.tag2Size;
  }
  throw FB;
}

function sizeMap(f: FieldPlan, obj: Record<string, unknown>): number {
  let keys = Object.keys(obj);
  if (det && keys.length > 1) {
    keys = sortMapKeys(f.mapKey, keys);
    orders.push(keys);
  }
  let size = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const slot = reserveSlot();
    // key = field 1, value = field 2; both always written (to-binary.js writeMapEntry)
    let n = 1 + sizeScalar(f.mapKey, mapKey(f.mapKey, k));
    const val = obj[k];
    if (f.mapValue === V_MESSAGE) {
      if (f.msgMode === M_JSON) {
        if (val === null || typeof val !== 'object' || Array.isArray(val)) throw FB;
        const vslot = reserveSlot();
        const vn = sizeStruct(val as Record<string, unknown>);
        slots[vslot] = vn;
        n += 1 + varintSize32(vn) + vn;
      } else {
        if (val === null || typeof val !== 'object') throw FB;
        const vslot = reserveSlot();
        const vn = sizeMessage(f.msg!, val as Msg);
        slots[vslot] = vn;
        n += 1 + varintSize32(vn) + vn;
      }
    } else {
      n += 1 + sizeScalar(f.scalar, val);
    }
    slots[slot] = n;
    size += f.tagSize + varintSize32(n) + n;
  }
  return size;
}

/**
 * reflect.js mapKeyToReflect: the object key converted to the key type. Keys that protobuf-es would fail to
 * encode (non-numeric, out of range) send the call to the fallback, where toBinary throws its own error.
 */
function mapKey(t: number, k: string): unknown {
  switch (t) {
    case T_STRING:
      return k;
    case T_INT32:
    case T_FIXED32:
    case T_UINT32:
    case T_SFIXED32:
    case T_SINT32: {
      const n = Number.parseInt(k);
      if (!Number.isFinite(n)) throw FB;
      return n;
    }
    case T_BOOL:
      // "true"/"false" become booleans; any other key stays a string and BinaryWriter.bool() writes it truthily.
      return k === 'true' ? true : k === 'false' ? false : k;
    default:
      try {
        return BigInt(k);
      } catch {
        throw FB;
      }
  }
}

/**
 * Deterministic mode: the keys of a map with 2+ entries in Go's order (internal/order.GenericKeyOrder). Only keys
 * that are the canonical string of their value are taken (what fromBinary and create() produce); others (" 1",
 * "01", "0x1", a bool key other than "true"/"false") could make two entries with one key value, so they send the
 * call to the fallback, which encodes the decoded copy. Range errors are left to sizeScalar, as in the default path.
 */
function sortMapKeys(t: number, keys: string[]): string[] {
  switch (t) {
    case T_STRING:
      return keys.sort(compareUtf8);
    case T_BOOL:
      for (let i = 0; i < keys.length; i++) if (keys[i] !== 'true' && keys[i] !== 'false') throw FB;
      return ['false', 'true']; // two distinct keys
    case T_INT32:
    case T_FIXED32:
    case T_UINT32:
    case T_SFIXED32:
    case T_SINT32: {
      const nums = new Array<number>(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const n = Number.parseInt(keys[i]); // as mapKey() converts it
        if (String(n) !== keys[i]) throw FB;
        nums[i] = n;
      }
      nums.sort(compareNumbers); // unsigned types: only values >= 0 pass sizeScalar, so numeric order is theirs
      return nums.map(String);
    }
    default: {
      const bigs = new Array<bigint>(keys.length);
      for (let i = 0; i < keys.length; i++) {
        let b: bigint;
        try {
          b = BigInt(keys[i]);
        } catch {
          throw FB;
        }
        if (b.toString() !== keys[i]) throw FB;
        bigs[i] = b;
      }
      bigs.sort(compareBigints);
      return bigs.map(String);
    }
  }
}

function compareNumbers(a: number, b: number): number {
  return a - b;
}

function compareBigints(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders strings by their UTF-8 bytes, as Go compares strings (for valid UTF-16 that is code point order; a lone
 * surrogate counts as U+FFFD, which is what the encoder writes for it).
 */
export function compareUtf8(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Below and above the surrogate range a UTF-16 unit is its code point, and the first differing code point
    // decides the byte order. With a surrogate involved, compare the bytes themselves (rare).
    if ((ca & 0xf800) !== 0xd800 && (cb & 0xf800) !== 0xd800) return ca - cb;
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  }
  // One is a prefix of the other (in UTF-16, hence in UTF-8: a trailing lone high surrogate, U+FFFD = EF BF BD,
  // sorts before the 4-byte sequence F0.. its completed pair starts with).
  return a.length - b.length;
}

/** Size of one scalar value without its tag; validates like BinaryWriter (else fallback). */
function sizeScalar(t: number, v: unknown): number {
  switch (t) {
    case T_STRING: {
      if (typeof v !== 'string') throw FB;
      const n = utf8Length(v);
      pushSlot(n);
      return varintSize32(n) + n;
    }
    case T_BYTES:
      if (!(v instanceof Uint8Array)) throw FB;
      return varintSize32(v.byteLength) + v.byteLength;
    case T_BOOL:
      return 1;
    case T_INT32:
      if (typeof v !== 'number' || (v | 0) !== v) throw FB;
      return v < 0 ? 10 : varintSize32(v);
    case T_UINT32:
      if (typeof v !== 'number' || v >>> 0 !== v) throw FB;
      return varintSize32(v);
    case T_SINT32:
      if (typeof v !== 'number' || (v | 0) !== v) throw FB;
      return varintSize32(((v << 1) ^ (v >> 31)) >>> 0);
    case T_FIXED32:
      if (typeof v !== 'number' || v >>> 0 !== v) throw FB;
      return 4;
    case T_SFIXED32:
      if (typeof v !== 'number' || (v | 0) !== v) throw FB;
      return 4;
    case T_FLOAT:
      if (typeof v !== 'number' || (Number.isFinite(v) && (v > FLOAT32_MAX || v < FLOAT32_MIN))) throw FB;
      return 4;
    case T_DOUBLE:
      if (typeof v !== 'number') throw FB;
      return 8;
    case T_INT64:
      to64(v, false);
      return varintSize64(lo, hi);
    case T_UINT64:
      to64(v, true);
      return varintSize64(lo, hi);
    case T_SINT64:
      to64(v, false);
      zigzag64();
      return varintSize64(lo, hi);
    case T_FIXED64:
      to64(v, true);
      return 8;
    case T_SFIXED64:
      to64(v, false);
      return 8;
  }
  throw FB;
}

/** protoInt64.enc / uEnc: bigint, or a string/number BigInt() accepts; result in lo/hi. */
function to64(v: unknown, unsigned: boolean): void {
  let b: bigint;
  if (typeof v === 'bigint') {
    b = v;
  } else if (typeof v === 'string' || typeof v === 'number') {
    try {
      b = BigInt(v);
    } catch {
      throw FB;
    }
  } else {
    throw FB;
  }
  if (unsigned ? b < 0n || b > UINT64_MAX : b < INT64_MIN || b > INT64_MAX) throw FB;
  if (b >= 0n && b <= 0xffffffffn) {
    lo = Number(b) | 0;
    hi = 0;
    return;
  }
  scratch.setBigInt64(0, b, true);
  lo = scratch.getInt32(0, true);
  hi = scratch.getInt32(4, true);
}

function zigzag64(): void {
  const sign = hi >> 31;
  const l = (lo << 1) ^ sign;
  const h = ((hi << 1) | (lo >>> 31)) ^ sign;
  lo = l;
  hi = h;
}

function varintSize64(l: number, h: number): number {
  if (h === 0) return varintSize32(l);
  // bit length of the 64-bit value, 7 bits per byte
  const bits = 64 - Math.clz32(h);
  return Math.ceil(bits / 7);
}

/** UTF-8 byte length, as TextEncoder/Buffer produce it (lone surrogates become U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  const len = s.length;
  // Buffer.byteLength is a fast API call; a JS scan only wins for very short strings.
  if (len > 16) return Buffer.byteLength(s, 'utf8');
  let n = len;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 2 UTF-16 units -> 4 bytes
        i++;
      } else {
        n += 2;
      }
    } else {
      n += 2; // 3 bytes (BMP, or a lone surrogate -> U+FFFD)
    }
  }
  return n;
}

// JSON (google.protobuf.Struct held as JsonObject), following reflect.js wktStructToReflect / wktValueToReflect.
// Struct:    1: map<string, Value> fields
// Value:     1: NullValue null_value | 2: double number_value | 3: string string_value | 4: bool bool_value |
//            5: Struct struct_value | 6: ListValue list_value   (a oneof: the set case is always written)
// ListValue: 1: repeated Value values

function sizeStruct(obj: Record<string, unknown>): number {
  const keys = Object.keys(obj);
  if (det && keys.length > 1) {
    keys.sort(compareUtf8);
    orders.push(keys);
  }
  let size = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    // protobuf-es copies entries with `fields[k] = ...`, which for "__proto__" sets the prototype: the entry is lost.
    if (k === '__proto__') continue;
    const slot = reserveSlot();
    const kn = utf8Length(k);
    pushSlot(kn);
    const vslot = reserveSlot();
    const vn = sizeJsonValue(obj[k]);
    slots[vslot] = vn;
    const n = 1 + varintSize32(kn) + kn + 1 + varintSize32(vn) + vn;
    slots[slot] = n;
    size += 1 + varintSize32(n) + n;
  }
  return size;
}

/** Content size of the google.protobuf.Value for a JSON value. */
function sizeJsonValue(v: unknown): number {
  switch (typeof v) {
    case 'number':
      return 9;
    case 'string': {
      const n = utf8Length(v);
      pushSlot(n);
      return 1 + varintSize32(n) + n;
    }
    case 'boolean':
      return 2;
    case 'object': {
      if (v === null) return 2;
      const slot = reserveSlot();
      let n = 0;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const islot = reserveSlot();
          const vn = sizeJsonValue(v[i]);
          slots[islot] = vn;
          n += 1 + varintSize32(vn) + vn;
        }
      } else {
        n = sizeStruct(v as Record<string, unknown>);
      }
      slots[slot] = n;
      return 1 + varintSize32(n) + n;
    }
    default:
      return 0; // undefined, bigint, function, symbol: a Value with no kind set
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Write pass (same traversal; validation already done by the size pass)

function writeMessage(p: MessagePlan, m: Msg): void {
  const fields = p.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const v = fieldValue(f, m);
    if (v === undefined) continue;
    writeField(f, v);
  }
  const unknown = m.$unknown;
  if (unknown != null) {
    const list = unknown as Array<{ no: number; wireType: number; data: Uint8Array }>;
    for (let i = 0; i < list.length; i++) {
      const u = list[i];
      writeVarint32(((u.no << 3) | u.wireType) >>> 0);
      buf.set(u.data, pos);
      pos += u.data.byteLength;
    }
  }
}

function writeField(f: FieldPlan, v: unknown): void {
  switch (f.kind) {
    case K_SCALAR:
    case K_ENUM:
      writeVarint32(f.tag);
      writeScalar(f.scalar, v);
      return;
    case K_MESSAGE:
      writeMessageValue(f, f.msgMode, v);
      return;
    case K_LIST_PACKED: {
      const list = v as unknown[];
      writeVarint32(f.tag2);
      writeVarint32(slots[slotRead++]);
      for (let i = 0; i < list.length; i++) writeScalar(f.scalar, list[i]);
      return;
    }
    case K_LIST_UNPACKED: {
      const list = v as unknown[];
      for (let i = 0; i < list.length; i++) {
        writeVarint32(f.tag);
        writeScalar(f.scalar, list[i]);
      }
      return;
    }
    case K_LIST_MESSAGE: {
      const list = v as unknown[];
      for (let i = 0; i < list.length; i++) writeMessageValue(f, f.msgMode, list[i]);
      return;
    }
    case K_MAP:
      writeMap(f, v as Record<string, unknown>);
      return;
  }
}

function writeMessageValue(f: FieldPlan, mode: number, v: unknown): void {
  switch (mode) {
    case M_NORMAL:
      writeVarint32(f.tag);
      writeVarint32(slots[slotRead++]);
      writeMessage(f.msg!, v as Msg);
      return;
    case M_JSON:
      writeVarint32(f.tag);
      writeVarint32(slots[slotRead++]);
      writeStruct(v as Record<string, unknown>);
      return;
    case M_WRAPPER: {
      writeVarint32(f.tag);
      const n = slots[slotRead++];
      writeVarint32(n);
      if (n > 0) {
        // the wrapper's `value` field is field 1
        writeVarint32(((1 << 3) | wireTypeOf(f.wrapperScalar)) >>> 0);
        writeScalar(f.wrapperScalar, v);
      }
      return;
    }
    case M_GROUP:
      writeVarint32(f.tag);
      writeMessage(f.msg!, v as Msg);
      writeVarint32(f.tag2);
      return;
  }
}

function wireTypeOf(t: number): number {
  switch (t) {
    case T_BYTES:
    case T_STRING:
      return 2;
    case T_DOUBLE:
    case T_FIXED64:
    case T_SFIXED64:
      return 1;
    case T_FIXED32:
    case T_SFIXED32:
    case T_FLOAT:
      return 5;
    default:
      return 0;
  }
}

function writeMap(f: FieldPlan, obj: Record<string, unknown>): void {
  let keys = Object.keys(obj);
  if (det && keys.length > 1) keys = orders[orderRead++];
  const keyTag = ((1 << 3) | wireTypeOf(f.mapKey)) >>> 0;
  const valueTag = f.mapValue === V_MESSAGE ? (2 << 3) | 2 : ((2 << 3) | wireTypeOf(f.scalar)) >>> 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    writeVarint32(f.tag);
    writeVarint32(slots[slotRead++]);
    writeVarint32(keyTag);
    writeScalar(f.mapKey, mapKey(f.mapKey, k));
    const val = obj[k];
    writeVarint32(valueTag);
    if (f.mapValue === V_MESSAGE) {
      writeVarint32(slots[slotRead++]);
      if (f.msgMode === M_JSON) writeStruct(val as Record<string, unknown>);
      else writeMessage(f.msg!, val as Msg);
    } else {
      writeScalar(f.scalar, val);
    }
  }
}

function writeStruct(obj: Record<string, unknown>): void {
  let keys = Object.keys(obj);
  if (det && keys.length > 1) keys = orders[orderRead++];
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k === '__proto__') continue;
    buf[pos++] = 0x0a; // Struct.fields entry
    writeVarint32(slots[slotRead++]);
    buf[pos++] = 0x0a; // key
    writeString(k);
    buf[pos++] = 0x12; // value
    writeVarint32(slots[slotRead++]);
    writeJsonValue(obj[k]);
  }
}

function writeJsonValue(v: unknown): void {
  switch (typeof v) {
    case 'number':
      buf[pos++] = 0x11; // number_value, fixed64
      writeDouble(v);
      return;
    case 'string':
      buf[pos++] = 0x1a; // string_value
      writeString(v);
      return;
    case 'boolean':
      buf[pos++] = 0x20; // bool_value
      buf[pos++] = v ? 1 : 0;
      return;
    case 'object': {
      if (v === null) {
        buf[pos++] = 0x08; // null_value = NULL_VALUE (0)
        buf[pos++] = 0;
        return;
      }
      if (Array.isArray(v)) {
        buf[pos++] = 0x32; // list_value
        writeVarint32(slots[slotRead++]);
        for (let i = 0; i < v.length; i++) {
          buf[pos++] = 0x0a; // ListValue.values
          writeVarint32(slots[slotRead++]);
          writeJsonValue(v[i]);
        }
        return;
      }
      buf[pos++] = 0x2a; // struct_value
      writeVarint32(slots[slotRead++]);
      writeStruct(v as Record<string, unknown>);
      return;
    }
    default:
      return;
  }
}

function writeScalar(t: number, v: unknown): void {
  switch (t) {
    case T_STRING:
      writeString(v as string);
      return;
    case T_BYTES: {
      const b = v as Uint8Array;
      writeVarint32(b.byteLength);
      buf.set(b, pos);
      pos += b.byteLength;
      return;
    }
    case T_BOOL:
      buf[pos++] = v ? 1 : 0;
      return;
    case T_INT32:
      writeInt32(v as number);
      return;
    case T_UINT32:
      writeVarint32(v as number);
      return;
    case T_SINT32: {
      const n = v as number;
      writeVarint32(((n << 1) ^ (n >> 31)) >>> 0);
      return;
    }
    case T_FIXED32:
    case T_SFIXED32: {
      const n = v as number;
      buf[pos] = n & 0xff;
      buf[pos + 1] = (n >>> 8) & 0xff;
      buf[pos + 2] = (n >>> 16) & 0xff;
      buf[pos + 3] = (n >>> 24) & 0xff;
      pos += 4;
      return;
    }
    case T_FLOAT:
      scratch.setFloat32(0, v as number, true);
      buf[pos] = scratchBytes[0];
      buf[pos + 1] = scratchBytes[1];
      buf[pos + 2] = scratchBytes[2];
      buf[pos + 3] = scratchBytes[3];
      pos += 4;
      return;
    case T_DOUBLE:
      writeDouble(v as number);
      return;
    case T_INT64:
    case T_UINT64:
      to64(v, t === T_UINT64);
      writeVarint64(lo, hi);
      return;
    case T_SINT64:
      to64(v, false);
      zigzag64();
      writeVarint64(lo, hi);
      return;
    case T_FIXED64:
    case T_SFIXED64:
      to64(v, t === T_FIXED64);
      buf[pos] = lo & 0xff;
      buf[pos + 1] = (lo >>> 8) & 0xff;
      buf[pos + 2] = (lo >>> 16) & 0xff;
      buf[pos + 3] = (lo >>> 24) & 0xff;
      buf[pos + 4] = hi & 0xff;
      buf[pos + 5] = (hi >>> 8) & 0xff;
      buf[pos + 6] = (hi >>> 16) & 0xff;
      buf[pos + 7] = (hi >>> 24) & 0xff;
      pos += 8;
      return;
  }
}

function writeDouble(v: number): void {
  scratch.setFloat64(0, v, true);
  buf[pos] = scratchBytes[0];
  buf[pos + 1] = scratchBytes[1];
  buf[pos + 2] = scratchBytes[2];
  buf[pos + 3] = scratchBytes[3];
  buf[pos + 4] = scratchBytes[4];
  buf[pos + 5] = scratchBytes[5];
  buf[pos + 6] = scratchBytes[6];
  buf[pos + 7] = scratchBytes[7];
  pos += 8;
}

function writeString(s: string): void {
  const n = slots[slotRead++];
  writeVarint32(n);
  if (n === s.length) {
    // pure ASCII (any other code unit makes the UTF-8 longer than the UTF-16 length)
    if (n <= 32) {
      for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
    } else {
      (buf as Writable).latin1Write!(s, pos, n);
    }
    pos += n;
  } else {
    pos += (buf as Writable).utf8Write!(s, pos, n);
  }
}

function writeVarint32(v: number): void {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = v >>> 7;
  }
  buf[pos++] = v;
}

function writeInt32(v: number): void {
  if (v >= 0) {
    writeVarint32(v);
    return;
  }
  // negative int32: sign-extended to 64 bits, 10 bytes
  for (let i = 0; i < 9; i++) {
    buf[pos++] = (v & 127) | 128;
    v = v >> 7;
  }
  buf[pos++] = 1;
}

/** wire/varint.js varint64write. */
function writeVarint64(l: number, h: number): void {
  for (let i = 0; i < 28; i = i + 7) {
    const shift = l >>> i;
    const hasNext = !(shift >>> 7 == 0 && h == 0);
    buf[pos++] = (hasNext ? shift | 0x80 : shift) & 0xff;
    if (!hasNext) return;
  }
  const splitBits = ((l >>> 28) & 0x0f) | ((h & 0x07) << 4);
  const hasMoreBits = !(h >> 3 == 0);
  buf[pos++] = (hasMoreBits ? splitBits | 0x80 : splitBits) & 0xff;
  if (!hasMoreBits) return;
  for (let i = 3; i < 31; i = i + 7) {
    const shift = h >>> i;
    const hasNext = !(shift >>> 7 == 0);
    buf[pos++] = (hasNext ? shift | 0x80 : shift) & 0xff;
    if (!hasNext) return;
  }
  buf[pos++] = (h >>> 31) & 0x01;
}
