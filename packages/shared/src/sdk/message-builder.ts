/**
 * A faster `create(schema, fields)` for the builders on the sync hot path (one call per resource, entitlement and
 * grant). protobuf-es `create` walks the descriptor for every call; here the zero message is made once and copied,
 * with fresh lists and maps so no two messages share them. Fields must already be in message form (nested values
 * built with their own builders or `create`), which the SDK builders guarantee.
 */
import { create, type DescMessage, type MessageShape } from '@bufbuild/protobuf';

export function messageBuilder<D extends DescMessage>(
  schema: D,
): (fields: Partial<MessageShape<D>>) => MessageShape<D> {
  const zero = create(schema) as Record<string, unknown>;
  const lists = schema.fields.filter((f) => f.fieldKind === 'list').map((f) => f.localName);
  const maps = schema.fields.filter((f) => f.fieldKind === 'map').map((f) => f.localName);
  return (fields) => {
    const message: Record<string, unknown> = { ...zero };
    for (const key of lists) message[key] = [];
    for (const key of maps) message[key] = {};
    for (const key in fields) {
      const value = (fields as Record<string, unknown>)[key];
      if (value !== undefined) message[key] = value;
    }
    return message as MessageShape<D>;
  };
}
