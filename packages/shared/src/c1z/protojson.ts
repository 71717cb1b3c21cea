/**
 * protojson for stored messages, using the c1 registry so annotations (google.protobuf.Any) print as objects.
 *
 * Files written by newer Go SDKs may carry annotation types we have no schema for. protojson cannot print such an
 * Any (Go's protojson fails too), but a dump tool must not fail on them, so they fall back to
 * `{"@type": "<type url>", "value": "<base64 of the packed bytes>"}` (the shape protojson uses for wrapper types).
 * `messageFromJson` understands that shape again, so JSON lines round-trip losslessly.
 */
import {
  clone,
  create,
  fromJson,
  toJson,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type MessageShape,
} from '@bufbuild/protobuf';
import { anyPack, anyUnpack, StringValueSchema, type Any } from '@bufbuild/protobuf/wkt';
import { protocolRegistry as c1Registry } from '../descriptors.js';

const MARKER_TYPE_URL = `type.googleapis.com/${StringValueSchema.typeName}`;

function typeNameOfUrl(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

function isResolvable(url: string): boolean {
  return c1Registry().getMessage(typeNameOfUrl(url)) !== undefined;
}

/** Calls `visit` on every google.protobuf.Any inside a message (plain protobuf-es objects). */
function forEachAny(value: unknown, visit: (any: Any) => void): void {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (const item of value) forEachAny(item, visit);
    return;
  }
  const obj = value as Record<string, unknown>;
  if (obj.$typeName === 'google.protobuf.Any') {
    visit(obj as unknown as Any);
    return;
  }
  for (const key of Object.keys(obj)) forEachAny(obj[key], visit);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function messageToJson<D extends DescMessage>(schema: D, message: MessageShape<D>): JsonValue {
  const registry = c1Registry();
  try {
    return toJson(schema, message, { registry });
  } catch (err) {
    let unresolved = false;
    forEachAny(message, (a) => {
      if (!isResolvable(a.typeUrl)) unresolved = true;
    });
    if (!unresolved) throw err;
  }
  // Swap each unresolvable Any for a marker that protojson can print, then swap the markers back in the JSON.
  const copy = clone(schema, message);
  const originals = new Map<string, Any>();
  forEachAny(copy, (a) => {
    if (isResolvable(a.typeUrl)) return;
    const marker = `\u0000unresolved-any-${originals.size}`;
    originals.set(marker, { ...a });
    const packed = anyPack(StringValueSchema, create(StringValueSchema, { value: marker }));
    a.typeUrl = packed.typeUrl;
    a.value = packed.value;
  });
  const json = toJson(schema, copy, { registry });
  return replaceJson(json, (obj) => {
    if (obj['@type'] !== MARKER_TYPE_URL || typeof obj.value !== 'string') return undefined;
    const original = originals.get(obj.value);
    return original ? { '@type': original.typeUrl, value: base64(original.value) } : undefined;
  });
}

export function messageFromJson<D extends DescMessage>(schema: D, json: JsonValue): MessageShape<D> {
  const registry = c1Registry();
  try {
    return fromJson(schema, json, { registry, ignoreUnknownFields: true });
  } catch (err) {
    let unresolved = false;
    replaceJson(json, (obj) => {
      if (typeof obj['@type'] === 'string' && !isResolvable(obj['@type'])) unresolved = true;
      return undefined;
    });
    if (!unresolved) throw err;
  }
  const originals = new Map<string, { typeUrl: string; value: Uint8Array }>();
  const prepared = replaceJson(json, (obj) => {
    const url = obj['@type'];
    if (typeof url !== 'string' || isResolvable(url)) return undefined;
    if (typeof obj.value !== 'string' || Object.keys(obj).length !== 2) {
      throw new Error(`cannot decode an annotation of unknown type ${url}`);
    }
    const marker = `\u0000unresolved-any-${originals.size}`;
    originals.set(marker, { typeUrl: url, value: new Uint8Array(Buffer.from(obj.value, 'base64')) });
    return { '@type': MARKER_TYPE_URL, value: marker };
  });
  const message = fromJson(schema, prepared, { registry, ignoreUnknownFields: true });
  forEachAny(message, (a) => {
    if (a.typeUrl !== MARKER_TYPE_URL) return;
    const marker = anyUnpack(a, StringValueSchema)?.value;
    const original = marker !== undefined ? originals.get(marker) : undefined;
    if (original) {
      a.typeUrl = original.typeUrl;
      a.value = original.value;
    }
  });
  return message;
}

/** Rebuilds a JSON value bottom-up, letting `fn` replace objects (return undefined to keep one). */
function replaceJson(value: JsonValue, fn: (obj: JsonObject) => JsonValue | undefined): JsonValue {
  if (Array.isArray(value)) return value.map((v) => replaceJson(v, fn));
  if (value === null || typeof value !== 'object') return value;
  const replaced = fn(value);
  if (replaced !== undefined) return replaced;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) out[k] = replaceJson(v, fn);
  return out;
}
