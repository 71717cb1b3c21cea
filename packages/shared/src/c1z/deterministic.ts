/**
 * The encoding of c1z rows: protobuf-es `toBinary` of a canonical copy of the message, so the same content always
 * gives the same bytes whatever order a connector built its maps and profiles in (docs/protocol.md, "c1z files").
 *
 * Go writes c1z rows with `proto.MarshalOptions{Deterministic: true}`, which changes one thing: the entries of every
 * map field are written sorted by key. protobuf-es writes map entries (and the fields of a google.protobuf.Struct,
 * held as a plain JSON object) in the object's key order, so sorting the keys before encoding gives the same bytes.
 * One difference is inherent to JavaScript objects: keys that are array indices ("0", "7", "42") always come first,
 * in numeric order, where Go orders them by their bytes ("42" before "7"). Such keys are rare in profiles; the bytes
 * are still a function of the content alone, and both readers decode the same message.
 *
 * Only what can hold a map is copied: messages without map or Struct fields anywhere below them are passed to
 * `toBinary` untouched, and a map that is already sorted is kept as is. The caller's message is never modified.
 */
import {
  ScalarType,
  toBinary,
  type DescField,
  type DescMessage,
  type JsonValue,
  type MessageShape,
} from '@bufbuild/protobuf';
import { useNodeUtf8Encoder } from '../util/protobuf-utf8.js';

// Annotations, c1z rows and gRPC answers are encoded with protobuf-es: use Node's faster UTF-8 encoder.
useNodeUtf8Encoder();

/** `message` encoded like Go's deterministic marshal (map and Struct keys sorted). */
export function toDeterministicBinary<D extends DescMessage>(schema: D, message: MessageShape<D>): Buffer {
  const bytes = toBinary(schema, canonicalMessage(schema, message));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Orders two strings by their UTF-8 bytes (Go's string order), i.e. by code point rather than UTF-16 unit. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return utf8Rank(x) - utf8Rank(y);
  }
  return a.length - b.length;
}

/** Surrogates (code points >= U+10000) sort after U+E000..U+FFFF in UTF-8, though below them in UTF-16. */
function utf8Rank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

type Record_ = Record<string, unknown>;

/** Fields of each message type that can hold a map or a Struct somewhere below them (empty: nothing to do). */
const visitPlans = new WeakMap<DescMessage, readonly DescField[]>();

function canonicalMessage<T>(desc: DescMessage, message: T): T {
  const fields = planFor(desc);
  if (fields.length === 0) return message;
  const source = message as Record_;
  let copy: Record_ | undefined;
  for (const field of fields) {
    let value: unknown;
    if (field.oneof) {
      const chosen = source[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
      if (chosen?.case !== field.localName) continue;
      value = chosen.value;
    } else {
      value = source[field.localName];
    }
    if (value === undefined || value === null) continue;
    const canonical = canonicalField(field, value);
    if (canonical === value) continue;
    copy ??= { ...source };
    if (field.oneof) copy[field.oneof.localName] = { case: field.localName, value: canonical };
    else copy[field.localName] = canonical;
  }
  return (copy ?? message) as T;
}

function canonicalField(field: DescField, value: unknown): unknown {
  switch (field.fieldKind) {
    case 'map': {
      const convert =
        field.mapKind === 'message' ? (v: unknown) => canonicalItem(field, field.message, v) : (v: unknown) => v;
      return sortedRecord(value as Record_, field.mapKey === ScalarType.STRING ? compareUtf8 : compareMapKeys, convert);
    }
    case 'list': {
      if (field.listKind !== 'message') return value;
      const list = value as unknown[];
      let copy: unknown[] | undefined;
      for (let i = 0; i < list.length; i++) {
        const item = canonicalItem(field, field.message, list[i]);
        if (item !== list[i]) (copy ??= [...list])[i] = item;
      }
      return copy ?? list;
    }
    case 'message':
      return canonicalItem(field, field.message, value);
    default:
      return value;
  }
}

/** protobuf-es holds a google.protobuf.Struct as a plain JSON object, except inside google.protobuf.Value. */
function canonicalItem(field: DescField, desc: DescMessage, value: unknown): unknown {
  if (isJsonStruct(field, desc)) return canonicalJson(value as JsonValue);
  return canonicalMessage(desc, value);
}

function isJsonStruct(field: DescField, desc: DescMessage): boolean {
  return desc.typeName === 'google.protobuf.Struct' && field.parent.typeName !== 'google.protobuf.Value';
}

function canonicalJson(value: JsonValue): JsonValue {
  if (Array.isArray(value)) {
    let copy: JsonValue[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = canonicalJson(value[i]);
      if (item !== value[i]) (copy ??= [...value])[i] = item;
    }
    return copy ?? value;
  }
  if (value !== null && typeof value === 'object') {
    return sortedRecord(value as Record_, compareUtf8, (v) => canonicalJson(v as JsonValue)) as JsonValue;
  }
  return value;
}

/** Non-string map keys, held as strings: booleans false < true, integers numerically (as Go orders them). */
function compareMapKeys(a: string, b: string): number {
  if (a === 'false' || a === 'true') return a === b ? 0 : a === 'false' ? -1 : 1;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `record` with its keys inserted in `compare` order and its values converted; the same object if nothing changes. */
function sortedRecord(record: Record_, compare: (a: string, b: string) => number, convert: (v: unknown) => unknown) {
  const keys = Object.keys(record);
  let changed = false;
  const values = keys.map((key) => {
    const converted = convert(record[key]);
    if (converted !== record[key]) changed = true;
    return converted;
  });
  for (let i = 1; i < keys.length && !changed; i++) if (compare(keys[i - 1], keys[i]) > 0) changed = true;
  if (!changed) return record;
  const order = keys.map((_, i) => i).sort((i, j) => compare(keys[i], keys[j]));
  const sorted: Record_ = {};
  for (const i of order) sorted[keys[i]] = values[i];
  return sorted;
}

/**
 * The fields of `desc` worth visiting: maps, Structs, and messages whose type can reach one. Computed once per type
 * over every type reachable from it (recursive types such as google.protobuf.Value included).
 */
function planFor(desc: DescMessage): readonly DescField[] {
  const known = visitPlans.get(desc);
  if (known) return known;
  const reachable: DescMessage[] = [];
  const seen = new Set<DescMessage>();
  const collect = (d: DescMessage) => {
    if (seen.has(d)) return;
    seen.add(d);
    reachable.push(d);
    for (const f of d.fields) {
      const child = messageOf(f);
      if (child) collect(child);
    }
  };
  collect(desc);
  // Fixpoint: a type holds maps if it has a map or Struct field, or a message field of a type that holds maps.
  const holdsMaps = new Set<DescMessage>();
  for (let grew = true; grew;) {
    grew = false;
    for (const d of reachable) {
      if (holdsMaps.has(d)) continue;
      const direct = d.fields.some((f) => {
        const child = messageOf(f);
        return f.fieldKind === 'map' || (child !== undefined && (isJsonStruct(f, child) || holdsMaps.has(child)));
      });
      if (direct) {
        holdsMaps.add(d);
        grew = true;
      }
    }
  }
  for (const d of reachable) {
    if (visitPlans.has(d)) continue;
    visitPlans.set(
      d,
      d.fields.filter((f) => {
        const child = messageOf(f);
        return f.fieldKind === 'map' || (child !== undefined && (isJsonStruct(f, child) || holdsMaps.has(child)));
      }),
    );
  }
  return visitPlans.get(desc)!;
}

function messageOf(field: DescField): DescMessage | undefined {
  if (field.fieldKind === 'message') return field.message;
  if (field.fieldKind === 'list' && field.listKind === 'message') return field.message;
  if (field.fieldKind === 'map' && field.mapKind === 'message') return field.message;
  return undefined;
}
