/**
 * The `capabilities` command's output. Apart from capabilities.ts because protojson needs the registry of every
 * descriptor (annotations are Any-packed), which the plugin server should not decode at start-up.
 */
import { toJsonString } from '@bufbuild/protobuf';
import { AnySchema, anyPack } from '@bufbuild/protobuf/wkt';
import { ConnectorCapabilitiesSchema } from '../gen/c1/connector/v2/connector_pb.js';
import type { Connector } from '../sdk/connector.js';
import { protocolRegistry } from '../descriptors.js';
import { connectorCapabilities } from './capabilities.js';

/**
 * The `baton_capabilities.json` document: the capabilities packed in an Any (so the first key is "@type"),
 * printed as stable two-space-indented JSON like baton-sdk >= v0.8.24.
 */
export function capabilitiesJson(connector: Connector): string {
  const packed = anyPack(ConnectorCapabilitiesSchema, connectorCapabilities(connector));
  const json: unknown = JSON.parse(toJsonString(AnySchema, packed, { registry: protocolRegistry() }));
  return JSON.stringify(typeKeyFirst(json), null, 2);
}

/** protojson puts "@type" first in every Any object; protobuf-es emits it last, so move it back. */
function typeKeyFirst(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(typeKeyFirst);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if ('@type' in obj) out['@type'] = obj['@type'];
  for (const [key, inner] of Object.entries(obj)) if (key !== '@type') out[key] = typeKeyFirst(inner);
  return out;
}
