/**
 * Per-message encoding plans for the fast binary encoder (./encode.ts).
 *
 * A plan is compiled once per DescMessage and mirrors what protobuf-es v2 (`toBinary`, reflect/*) does with a
 * message: fields in field-number order, the same presence rules, the same special representations (Struct fields
 * held as JsonObject, singular wrapper fields held as primitives), groups for delimited encoding.
 */
import { ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';

// ScalarType values as plain constants (cheaper in hot switches than enum property loads).
export const T_DOUBLE = 1;
export const T_FLOAT = 2;
export const T_INT64 = 3;
export const T_UINT64 = 4;
export const T_INT32 = 5;
export const T_FIXED64 = 6;
export const T_FIXED32 = 7;
export const T_BOOL = 8;
export const T_STRING = 9;
export const T_BYTES = 12;
export const T_UINT32 = 13;
export const T_SFIXED32 = 15;
export const T_SFIXED64 = 16;
export const T_SINT32 = 17;
export const T_SINT64 = 18;

// Sanity check that the constants match the library's enum (fails loudly at import time if protobuf-es changes).
if (
  ScalarType.DOUBLE !== T_DOUBLE ||
  ScalarType.FLOAT !== T_FLOAT ||
  ScalarType.INT64 !== T_INT64 ||
  ScalarType.UINT64 !== T_UINT64 ||
  ScalarType.INT32 !== T_INT32 ||
  ScalarType.FIXED64 !== T_FIXED64 ||
  ScalarType.FIXED32 !== T_FIXED32 ||
  ScalarType.BOOL !== T_BOOL ||
  ScalarType.STRING !== T_STRING ||
  ScalarType.BYTES !== T_BYTES ||
  ScalarType.UINT32 !== T_UINT32 ||
  ScalarType.SFIXED32 !== T_SFIXED32 ||
  ScalarType.SFIXED64 !== T_SFIXED64 ||
  ScalarType.SINT32 !== T_SINT32 ||
  ScalarType.SINT64 !== T_SINT64
) {
  throw new Error('wire/plan: ScalarType numbering changed');
}

// Wire types.
export const WT_VARINT = 0;
export const WT_BIT64 = 1;
export const WT_LEN = 2;
export const WT_START_GROUP = 3;
export const WT_END_GROUP = 4;
export const WT_BIT32 = 5;

// google.protobuf.FeatureSet.FieldPresence
const IMPLICIT = 2;
const LEGACY_REQUIRED = 3;

/** Field kinds of a plan. */
export const K_SCALAR = 0; // singular scalar (any presence; `explicit` says which rule)
export const K_ENUM = 1; // singular enum
export const K_MESSAGE = 2; // singular message (always explicit presence)
export const K_LIST_PACKED = 3; // repeated scalar/enum, packed
export const K_LIST_UNPACKED = 4; // repeated scalar/enum, one tag per item
export const K_LIST_MESSAGE = 5; // repeated message
export const K_MAP = 6;

/** How a message value is held and written. */
export const M_NORMAL = 0; // a message object, length-delimited
export const M_GROUP = 1; // a message object, delimited by start/end group tags
export const M_JSON = 2; // google.protobuf.Struct held as JsonObject (outside google.protobuf.Value)
export const M_WRAPPER = 3; // google.protobuf.*Value wrapper held as its primitive (singular, non-oneof fields)

/** Map value kinds. */
export const V_SCALAR = 0; // scalar or enum (scalar = INT32 for enums)
export const V_MESSAGE = 1;

export class FieldPlan {
  constructor(
    readonly name: string,
    readonly no: number,
    readonly localName: string,
    /** localName of the (real, non-synthetic) oneof, or undefined. */
    readonly oneof: string | undefined,
    /** Explicit presence: set iff an own property that is not undefined (oneof members use the oneof case instead). */
    readonly explicit: boolean,
    /** proto2 `required`: toBinary throws when unset. */
    readonly required: boolean,
    readonly kind: number,
    /** Scalar type of the value (singular/list/map value); INT32 for enums; 0 for messages. */
    readonly scalar: number,
    /** Precomputed tag (uint32) for the primary wire type of one value, and its varint size. */
    readonly tag: number,
    readonly tagSize: number,
    /** For packed lists: the length-delimited tag. For groups: the end-group tag. */
    readonly tag2: number,
    readonly tag2Size: number,
    /** First enum value (the implicit-presence zero for enums). */
    readonly enumZero: number,
    readonly msgMode: number,
    /** For M_WRAPPER: scalar type of the wrapper's `value` field and whether it has explicit presence. */
    readonly wrapperScalar: number,
    readonly wrapperExplicit: boolean,
    /** Map key scalar type and value kind. */
    readonly mapKey: number,
    readonly mapValue: number,
    /** Sub-plan for message values (singular, list items, map values); filled after construction (recursion). */
    public msg: MessagePlan | undefined,
  ) {}
}

export class MessagePlan {
  /** Sorted by field number, like ReflectMessage.sortedFields. */
  fields: FieldPlan[] = [];
  /** toBinary validates ownership (`$typeName`) only when it inspects a field, i.e. when the type has fields. */
  checkType = false;
  constructor(
    readonly desc: DescMessage,
    readonly typeName: string,
  ) {}
}

const plans = new WeakMap<DescMessage, MessagePlan>();

export function planFor(desc: DescMessage): MessagePlan {
  let plan = plans.get(desc);
  if (plan) return plan;
  plan = new MessagePlan(desc, desc.typeName);
  // Register before compiling fields so recursive types (Struct <-> Value <-> ListValue, trees) terminate.
  plans.set(desc, plan);
  const sorted = desc.fields.concat().sort((a, b) => a.number - b.number);
  plan.fields = sorted.map(compileField);
  plan.checkType = plan.fields.length > 0;
  return plan;
}

export function varintSize32(v: number): number {
  v = v >>> 0;
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

function makeTag(no: number, wireType: number): number {
  return ((no << 3) | wireType) >>> 0;
}

export function wireTypeOfScalar(t: number): number {
  switch (t) {
    case T_BYTES:
    case T_STRING:
      return WT_LEN;
    case T_DOUBLE:
    case T_FIXED64:
    case T_SFIXED64:
      return WT_BIT64;
    case T_FIXED32:
    case T_SFIXED32:
    case T_FLOAT:
      return WT_BIT32;
    default:
      return WT_VARINT;
  }
}

/** Mirrors wkt/wrappers.js isWrapperDesc. */
function isWrapperDesc(desc: DescMessage): boolean {
  const f = desc.fields[0];
  return (
    desc.typeName.startsWith('google.protobuf.') &&
    WRAPPERS.has(desc.typeName.substring(16)) &&
    f !== undefined &&
    f.fieldKind == 'scalar' &&
    f.name == 'value' &&
    f.number == 1
  );
}
const WRAPPERS = new Set([
  'DoubleValue',
  'FloatValue',
  'Int64Value',
  'UInt64Value',
  'Int32Value',
  'UInt32Value',
  'BoolValue',
  'StringValue',
  'BytesValue',
]);

/** How protobuf-es holds a message value of this field (reflect.js messageToReflect / create.js toMessage). */
function messageMode(field: DescField, desc: DescMessage, delimited: boolean): number {
  if (field.fieldKind == 'message' && !field.oneof && isWrapperDesc(desc)) return M_WRAPPER;
  // Struct is held as JsonObject except inside google.protobuf.Value (the check on the value being an object is
  // done per value, as protobuf-es does).
  if (desc.typeName == 'google.protobuf.Struct' && field.parent.typeName != 'google.protobuf.Value') return M_JSON;
  return delimited ? M_GROUP : M_NORMAL;
}

function compileField(field: DescField): FieldPlan {
  const no = field.number;
  const oneof = field.oneof ? field.oneof.localName : undefined;
  const explicit = !field.oneof && field.presence != IMPLICIT;
  const required = field.presence == LEGACY_REQUIRED;
  let kind: number;
  let scalar = 0;
  let tag = 0;
  let tag2 = 0;
  let enumZero = 0;
  let msgMode = M_NORMAL;
  let wrapperScalar = 0;
  let wrapperExplicit = false;
  let mapKey = 0;
  let mapValue = V_SCALAR;
  let sub: DescMessage | undefined;
  switch (field.fieldKind) {
    case 'scalar':
      kind = K_SCALAR;
      scalar = field.scalar;
      tag = makeTag(no, wireTypeOfScalar(scalar));
      break;
    case 'enum':
      kind = K_ENUM;
      scalar = T_INT32;
      enumZero = field.enum.values[0].number;
      tag = makeTag(no, WT_VARINT);
      break;
    case 'message': {
      kind = K_MESSAGE;
      sub = field.message;
      msgMode = messageMode(field, sub, field.delimitedEncoding);
      if (msgMode === M_GROUP) {
        tag = makeTag(no, WT_START_GROUP);
        tag2 = makeTag(no, WT_END_GROUP);
      } else {
        tag = makeTag(no, WT_LEN);
      }
      if (msgMode === M_WRAPPER) {
        const inner = sub.fields[0];
        wrapperScalar = inner.scalar ?? T_INT32;
        wrapperExplicit = inner.presence != IMPLICIT;
      }
      break;
    }
    case 'list':
      if (field.listKind == 'message') {
        kind = K_LIST_MESSAGE;
        sub = field.message;
        msgMode = messageMode(field, sub, field.delimitedEncoding);
        if (msgMode === M_GROUP) {
          tag = makeTag(no, WT_START_GROUP);
          tag2 = makeTag(no, WT_END_GROUP);
        } else {
          tag = makeTag(no, WT_LEN);
        }
      } else {
        scalar = field.listKind == 'enum' ? T_INT32 : field.scalar;
        if (field.packed) {
          kind = K_LIST_PACKED;
          tag = makeTag(no, wireTypeOfScalar(scalar));
          tag2 = makeTag(no, WT_LEN);
        } else {
          kind = K_LIST_UNPACKED;
          tag = makeTag(no, wireTypeOfScalar(scalar));
        }
      }
      break;
    case 'map':
      kind = K_MAP;
      mapKey = field.mapKey;
      tag = makeTag(no, WT_LEN); // the entry
      if (field.mapKind == 'message') {
        mapValue = V_MESSAGE;
        sub = field.message;
        // Map values are never unwrapped and always length-delimited (to-binary.js writeMapEntry).
        msgMode =
          sub.typeName == 'google.protobuf.Struct' && field.parent.typeName != 'google.protobuf.Value'
            ? M_JSON
            : M_NORMAL;
      } else {
        mapValue = V_SCALAR;
        scalar = field.mapKind == 'enum' ? T_INT32 : field.scalar;
      }
      break;
  }
  const plan = new FieldPlan(
    field.name,
    no,
    field.localName,
    oneof,
    explicit,
    required,
    kind,
    scalar,
    tag,
    varintSize32(tag),
    tag2,
    varintSize32(tag2),
    enumZero,
    msgMode,
    wrapperScalar,
    wrapperExplicit,
    mapKey,
    mapValue,
    undefined,
  );
  if (sub) plan.msg = planFor(sub);
  return plan;
}
