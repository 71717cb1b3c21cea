/**
 * Deterministic protobuf binary encoding through protobuf-es's reflection API: the reference implementation
 * (simple, obviously right, slow). Same as `toBinary` except that map entries are sorted by key like Go's
 * `Deterministic: true`. binary.ts uses it for fields whose JS form differs from the wire message (Struct,
 * wrappers) and the tests compare the fast encoder against it.
 */
import { ScalarType, type DescField, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { reflect, type ReflectMessage, type ReflectMap, type ReflectList } from '@bufbuild/protobuf/reflect';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { compareMapKeys } from './map-order.js';

export function toDeterministicBinaryReflect<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array {
  return writeMessage(new BinaryWriter(), reflect(schema, message)).finish();
}

/** Encodes one field of a message (tag included), or nothing if it is not set. */
export function encodeFieldReflect(schema: DescMessage, message: object, field: DescField): Uint8Array {
  const r = reflect(schema, message as never, false);
  const w = new BinaryWriter();
  if (r.isSet(field)) writeField(w, r, field);
  return w.finish();
}

function writeMessage(w: BinaryWriter, msg: ReflectMessage): BinaryWriter {
  for (const f of msg.sortedFields) {
    if (!msg.isSet(f)) continue;
    writeField(w, msg, f);
  }
  for (const u of msg.getUnknown() ?? []) w.tag(u.no, u.wireType).raw(u.data);
  return w;
}

function writeField(w: BinaryWriter, msg: ReflectMessage, f: DescField): void {
  switch (f.fieldKind) {
    case 'scalar':
      writeScalar(w, f.scalar, f.number, msg.get(f));
      return;
    case 'enum':
      writeScalar(w, ScalarType.INT32, f.number, msg.get(f));
      return;
    case 'message':
      writeSubMessage(w, f.number, f.delimitedEncoding, msg.get(f));
      return;
    case 'list': {
      const list = msg.get(f) as ReflectList;
      if (f.listKind === 'message') {
        for (const item of list) writeSubMessage(w, f.number, f.delimitedEncoding, item as ReflectMessage);
        return;
      }
      const scalar = f.listKind === 'enum' ? ScalarType.INT32 : f.scalar;
      if (f.packed) {
        if (list.size === 0) return;
        w.tag(f.number, WireType.LengthDelimited).fork();
        for (const item of list) writeScalarValue(w, scalar, item);
        w.join();
        return;
      }
      for (const item of list) writeScalar(w, scalar, f.number, item);
      return;
    }
    case 'map': {
      const map = msg.get(f) as ReflectMap;
      const entries = [...map.entries()].sort((a, b) => compareMapKeys(a[0], b[0]));
      for (const [key, value] of entries) {
        w.tag(f.number, WireType.LengthDelimited).fork();
        writeScalar(w, f.mapKey, 1, key);
        if (f.mapKind === 'message') {
          w.tag(2, WireType.LengthDelimited).fork();
          writeMessage(w, value as ReflectMessage);
          w.join();
        } else {
          writeScalar(w, f.mapKind === 'enum' ? ScalarType.INT32 : f.scalar, 2, value);
        }
        w.join();
      }
      return;
    }
  }
}

function writeSubMessage(w: BinaryWriter, no: number, delimited: boolean, value: ReflectMessage): void {
  if (delimited) {
    writeMessage(w.tag(no, WireType.StartGroup), value).tag(no, WireType.EndGroup);
  } else {
    writeMessage(w.tag(no, WireType.LengthDelimited).fork(), value).join();
  }
}

function writeScalar(w: BinaryWriter, type: ScalarType, no: number, value: unknown): void {
  w.tag(no, wireTypeOf(type));
  writeScalarValue(w, type, value);
}

function writeScalarValue(w: BinaryWriter, type: ScalarType, value: unknown): void {
  const v = value as any;
  switch (type) {
    case ScalarType.STRING: w.string(v); break;
    case ScalarType.BOOL: w.bool(v); break;
    case ScalarType.DOUBLE: w.double(v); break;
    case ScalarType.FLOAT: w.float(v); break;
    case ScalarType.INT32: w.int32(v); break;
    case ScalarType.INT64: w.int64(v); break;
    case ScalarType.UINT64: w.uint64(v); break;
    case ScalarType.FIXED64: w.fixed64(v); break;
    case ScalarType.BYTES: w.bytes(v); break;
    case ScalarType.FIXED32: w.fixed32(v); break;
    case ScalarType.SFIXED32: w.sfixed32(v); break;
    case ScalarType.SFIXED64: w.sfixed64(v); break;
    case ScalarType.SINT64: w.sint64(v); break;
    case ScalarType.UINT32: w.uint32(v); break;
    case ScalarType.SINT32: w.sint32(v); break;
  }
}

function wireTypeOf(type: ScalarType): WireType {
  switch (type) {
    case ScalarType.BYTES:
    case ScalarType.STRING:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
    case ScalarType.FLOAT:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}
