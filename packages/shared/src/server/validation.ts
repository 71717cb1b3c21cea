/**
 * Request validation with the rules Baton declares through protoc-gen-validate (docs/protocol.md, "Validation"), so a bad request gets
 * INVALID_ARGUMENT with a message in PGV's shape, e.g.
 *   invalid ResourcesServiceListResourcesRequest.ResourceTypeId: value length must be between 1 and 1024 bytes, inclusive
 * Our .proto files carry no PGV options, so the rules live in this table, keyed by message and field.
 * Like PGV, embedded messages are validated when present (never inside google.protobuf.Any).
 */
import type { DescField, DescMessage, Message } from '@bufbuild/protobuf';

type Rule =
  | { kind: 'bytes'; min: number; max: number; ignoreEmpty?: boolean }
  | { kind: 'lte'; max: number }
  | { kind: 'range'; min: number; max: number }
  | { kind: 'required' }
  | { kind: 'definedEnum' }
  | { kind: 'uniqueDefinedEnums' }
  | { kind: 'email' }
  | { kind: 'https'; max: number };

const ID: Rule = { kind: 'bytes', min: 1, max: 1024 };
const OPTIONAL_NAME: Rule = { kind: 'bytes', min: 1, max: 1024, ignoreEmpty: true };
const PAGE_SIZE: Rule = { kind: 'lte', max: 250 };
const PAGE_TOKEN: Rule = { kind: 'bytes', min: 1, max: 1_048_576, ignoreEmpty: true };
const SYNC_ID: Rule = { kind: 'bytes', min: 1, max: 1024, ignoreEmpty: true };
const REQUIRED: Rule = { kind: 'required' };
const LIST_REQUEST = { page_size: [PAGE_SIZE], page_token: [PAGE_TOKEN], active_sync_id: [SYNC_ID] };

/** Message type name (without package) -> proto field name -> rules. */
const RULES: Record<string, Record<string, Rule[]>> = {
  ResourceType: {
    id: [ID],
    display_name: [OPTIONAL_NAME],
    traits: [{ kind: 'uniqueDefinedEnums' }],
    description: [{ kind: 'bytes', min: 1, max: 4096, ignoreEmpty: true }],
  },
  ResourceId: { resource_type: [ID], resource: [ID] },
  Resource: {
    display_name: [OPTIONAL_NAME],
    description: [{ kind: 'bytes', min: 1, max: 2048, ignoreEmpty: true }],
  },
  Status: { status: [{ kind: 'definedEnum' }], details: [OPTIONAL_NAME] },
  Entitlement: {
    resource: [REQUIRED],
    id: [ID],
    display_name: [OPTIONAL_NAME],
    description: [{ kind: 'bytes', min: 1, max: 2048, ignoreEmpty: true }],
    purpose: [{ kind: 'definedEnum' }],
  },
  Grant: { entitlement: [REQUIRED], principal: [REQUIRED], id: [ID] },
  AssetRef: { id: [ID] },
  ResourceTypesServiceListResourceTypesRequest: LIST_REQUEST,
  ResourcesServiceListResourcesRequest: { resource_type_id: [ID], ...LIST_REQUEST },
  EntitlementsServiceListEntitlementsRequest: LIST_REQUEST,
  EntitlementsServiceListStaticEntitlementsRequest: { resource_type_id: [ID], ...LIST_REQUEST },
  GrantsServiceListGrantsRequest: { resource: [REQUIRED], ...LIST_REQUEST },
  GrantManagerServiceGrantRequest: { entitlement: [REQUIRED], principal: [REQUIRED] },
  GrantManagerServiceRevokeRequest: { grant: [REQUIRED] },
  ResourceGetterServiceGetResourceRequest: { active_sync_id: [SYNC_ID] },
  ConnectorServiceCleanupRequest: { active_sync_id: [SYNC_ID] },
  CreateAccountRequest: { resource_type_id: [OPTIONAL_NAME] },
  'AccountInfo.Email': { address: [{ kind: 'email' }] },
  'CredentialOptions.RandomPassword': { length: [{ kind: 'range', min: 8, max: 64 }] },
  'LocalCredentialOptions.RandomPassword': { length: [{ kind: 'range', min: 8, max: 64 }] },
  AssetServiceGetAssetRequest: { asset: [REQUIRED] },
  ListEventsRequest: {
    cursor: [{ kind: 'bytes', min: 1, max: 4096, ignoreEmpty: true }],
    page_size: [{ kind: 'lte', max: 1000 }],
    event_feed_id: [OPTIONAL_NAME],
  },
  ConnectorMetadata: {
    display_name: [ID],
    help_url: [{ kind: 'https', max: 1024 }],
    description: [{ kind: 'bytes', min: 1, max: 4096, ignoreEmpty: true }],
  },
};

/** Returns the PGV-style error message for the first violation, or undefined when the message is valid. */
export function validateMessage(schema: DescMessage, message: Message): string | undefined {
  const local = localName(schema);
  const rules = RULES[local] ?? {};
  const goName = local.replace(/\./g, '_');
  for (const field of schema.fields) {
    const value = readField(message, field);
    const fieldName = `${goName}.${goFieldName(field.name)}`;
    for (const rule of rules[field.name] ?? []) {
      const problem = checkRule(rule, field, value);
      if (problem) return `invalid ${fieldName}: ${problem}`;
    }
    // Recurse into embedded messages that are present, like PGV (google.protobuf.* types carry no rules).
    if (field.fieldKind === 'message' && value !== undefined && !isWellKnown(field.message)) {
      const inner = validateMessage(field.message, value as Message);
      if (inner) return `invalid ${fieldName}: embedded message failed validation | caused by: ${inner}`;
    }
    if (field.fieldKind === 'list' && field.listKind === 'message' && !isWellKnown(field.message)) {
      const items = value as Message[];
      for (let i = 0; i < items.length; i++) {
        const inner = validateMessage(field.message, items[i]);
        if (inner) return `invalid ${fieldName}[${i}]: embedded message failed validation | caused by: ${inner}`;
      }
    }
  }
  return undefined;
}

function checkRule(rule: Rule, field: DescField, value: unknown): string | undefined {
  switch (rule.kind) {
    case 'bytes': {
      const text = (value as string | undefined) ?? '';
      if (rule.ignoreEmpty && text === '') return undefined;
      const size = Buffer.byteLength(text, 'utf8');
      if (size < rule.min || size > rule.max) {
        return `value length must be between ${rule.min} and ${rule.max} bytes, inclusive`;
      }
      return undefined;
    }
    case 'lte': {
      const n = Number(value ?? 0);
      if (n === 0) return undefined; // ignore_empty
      return n > rule.max ? `value must be less than or equal to ${rule.max}` : undefined;
    }
    case 'range': {
      const n = Number(value ?? 0);
      return n < rule.min || n > rule.max ? `value must be inside range [${rule.min}, ${rule.max}]` : undefined;
    }
    case 'required':
      return value === undefined ? 'value is required' : undefined;
    case 'definedEnum': {
      if (field.fieldKind !== 'enum') return undefined;
      return field.enum.values.some((v) => v.number === value)
        ? undefined
        : 'value must be one of the defined enum values';
    }
    case 'uniqueDefinedEnums': {
      if (field.fieldKind !== 'list' || field.listKind !== 'enum') return undefined;
      const items = value as number[];
      const known = new Set(field.enum.values.map((v) => v.number));
      const bad = items.findIndex((v) => !known.has(v));
      if (bad >= 0) return `value[${bad}] must be one of the defined enum values`;
      return new Set(items).size === items.length ? undefined : 'repeated value must contain unique items';
    }
    case 'email':
      return isValidEmail((value as string) ?? '') ? undefined : 'value must be a valid email address';
    case 'https': {
      const text = (value as string) ?? '';
      if (text === '') return undefined;
      if (Buffer.byteLength(text) > rule.max) return `value length must be between 1 and ${rule.max} bytes, inclusive`;
      if (!text.startsWith('https://')) return 'value does not have prefix "https://"';
      try {
        new URL(text);
      } catch {
        return 'value must be absolute URI';
      }
      return undefined;
    }
  }
}

function readField(message: Message, field: DescField): unknown {
  const record = message as unknown as Record<string, unknown>;
  if (field.oneof) {
    const group = record[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
    return group?.case === field.localName ? group.value : undefined;
  }
  return record[field.localName];
}

function localName(schema: DescMessage): string {
  const pkg = schema.file.proto.package;
  return pkg ? schema.typeName.slice(pkg.length + 1) : schema.typeName;
}

function isWellKnown(schema: DescMessage): boolean {
  return schema.typeName.startsWith('google.protobuf.');
}

/** resource_type_id -> ResourceTypeId, as protoc-gen-go names struct fields. */
export function goFieldName(protoName: string): string {
  return protoName
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** Roughly PGV's check: an addr-spec with a non-empty local part and a hostname-like domain. */
function isValidEmail(value: string): boolean {
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1 || value.length > 254) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length > 64 || /\s/.test(value) || value.includes('<')) return false;
  return /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
    domain,
  );
}
