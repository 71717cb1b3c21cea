/**
 * Annotations are `repeated google.protobuf.Any`. Like the Go SDK we keep at most one annotation per message type,
 * and we match types on the name after the last '/', so a foreign URL prefix still matches.
 */
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { anyPack, anyUnpack, type Any } from '@bufbuild/protobuf/wkt';
import { useNodeUtf8Encoder } from '../util/protobuf-utf8.js';

// Annotations, c1z rows and gRPC answers are encoded with protobuf-es: use Node's faster UTF-8 encoder.
useNodeUtf8Encoder();

export type Annotations = Any[];

/** Packs one annotation message with the `type.googleapis.com/` URL prefix. */
export function annotation<D extends DescMessage>(schema: D, init?: MessageInitShape<D>): Any {
  return anyPack(schema, create(schema, init));
}

export function typeNameOf(any: Any): string {
  const slash = any.typeUrl.lastIndexOf('/');
  return slash >= 0 ? any.typeUrl.slice(slash + 1) : any.typeUrl;
}

export function hasAnnotation(list: readonly Any[] | undefined, schema: DescMessage): boolean {
  return (list ?? []).some((a) => typeNameOf(a) === schema.typeName);
}

/** The first annotation of this type, decoded; undefined if there is none. */
export function findAnnotation<D extends DescMessage>(
  list: readonly Any[] | undefined,
  schema: D,
): MessageShape<D> | undefined {
  const found = (list ?? []).find((a) => typeNameOf(a) === schema.typeName);
  if (!found) return undefined;
  // anyUnpack checks the full URL; normalise it so a foreign prefix still decodes.
  return anyUnpack({ ...found, typeUrl: `type.googleapis.com/${schema.typeName}` } as Any, schema);
}
