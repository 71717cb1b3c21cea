/**
 * The flag table of the CLI runner: Baton's own flags (docs/cli.md), the commands' flags, and the connector's flags
 * derived from its zod config schema (`apiKey` -> `--api-key` -> `BATON_API_KEY`).
 */
import { z } from 'zod';
import type { ConnectorDefinition } from '../sdk/connector.js';

export type FlagType = 'string' | 'boolean';

export interface BatonFlag {
  name: string;
  short?: string;
  type: FlagType;
  default?: string | boolean;
  description: string;
  /** Left out of --help (Go marks the one-shot provisioning flags hidden too; we show them, they are useful). */
  hidden?: boolean;
  /** Reads BATON_<NAME> and the config file (everything except --help/--version). */
  configurable: boolean;
  secret?: boolean;
  /** Help section. */
  group: 'general' | 'sync' | 'provisioning' | 'serve' | 'simulator' | 'service';
}

const f = (flag: Omit<BatonFlag, 'configurable'> & { configurable?: boolean }): BatonFlag => ({
  configurable: true,
  ...flag,
});

/** Baton's flags and the commands' flags. Names are the long flag names without `--`. */
export const BATON_FLAGS: readonly BatonFlag[] = [
  f({
    name: 'file',
    short: 'f',
    type: 'string',
    default: 'sync.c1z',
    group: 'sync',
    description:
      'The c1z file to write (sync) or read ids from (provisioning); a name ending in .jsonl writes JSON Lines',
  }),
  f({
    name: 'output-format',
    type: 'string',
    group: 'sync',
    description: 'c1z or jsonl (default: from the --file extension, else c1z)',
  }),
  f({
    name: 'log-level',
    type: 'string',
    default: 'info',
    group: 'general',
    description: 'debug, info, warn or error',
  }),
  f({
    name: 'log-format',
    type: 'string',
    default: 'json',
    group: 'general',
    description: 'json or console (logs go to stderr)',
  }),
  f({
    name: 'provisioning',
    short: 'p',
    type: 'boolean',
    default: false,
    group: 'provisioning',
    description: 'Enable provisioning (grant, revoke, create, delete) in the connector service',
  }),
  f({
    name: 'grant-entitlement',
    type: 'string',
    group: 'provisioning',
    description: 'Grant this entitlement id (with --grant-principal and --grant-principal-type)',
  }),
  f({
    name: 'grant-principal',
    type: 'string',
    group: 'provisioning',
    description: 'Resource id of the principal to grant to',
  }),
  f({
    name: 'grant-principal-type',
    type: 'string',
    group: 'provisioning',
    description: 'Resource type of the principal to grant to',
  }),
  f({ name: 'revoke-grant', type: 'string', group: 'provisioning', description: 'Revoke this grant id' }),
  f({
    name: 'create-account-login',
    type: 'string',
    group: 'provisioning',
    description: 'Create an account with this login',
  }),
  f({
    name: 'create-account-email',
    type: 'string',
    group: 'provisioning',
    description: 'Email of the account to create',
  }),
  f({
    name: 'create-account-profile',
    type: 'string',
    group: 'provisioning',
    description: 'Profile of the account to create, as a JSON object',
  }),
  f({
    name: 'create-account-resource-type',
    type: 'string',
    group: 'provisioning',
    description: 'Resource type of the account to create',
  }),
  f({
    name: 'delete-resource',
    type: 'string',
    group: 'provisioning',
    description: 'Delete the resource with this id (with --delete-resource-type)',
  }),
  f({
    name: 'delete-resource-type',
    type: 'string',
    group: 'provisioning',
    description: 'Resource type of the resource to delete',
  }),
  f({
    name: 'skip-full-sync',
    type: 'boolean',
    default: false,
    group: 'sync',
    description: 'Write an empty sync (validates the connection only)',
  }),
  f({
    name: 'c1z-temp-dir',
    type: 'string',
    group: 'sync',
    hidden: true,
    description: 'Directory for the sync working file (the next run resumes from it) and temporary databases',
  }),
  f({
    name: 'sync-page-size',
    type: 'string',
    group: 'sync',
    hidden: true,
    description: 'page_size of every list request the sync sends (0: the connector chooses, as Go hosts do)',
  }),
  f({
    name: 'progress-interval',
    type: 'string',
    default: '10',
    group: 'sync',
    hidden: true,
    description: 'Seconds between progress log lines when stderr is not a terminal (0: none)',
  }),
  f({
    name: 'quiet',
    short: 'q',
    type: 'boolean',
    default: false,
    group: 'sync',
    description: 'Print no summary after a sync',
  }),
  f({
    name: 'summary-json',
    type: 'string',
    group: 'sync',
    hidden: true,
    description: 'Also write the sync summary as JSON to this path',
  }),
  f({
    name: 'client-id',
    type: 'string',
    group: 'service',
    description: 'ConductorOne service mode (not supported by this connector)',
  }),
  f({
    name: 'client-secret',
    type: 'string',
    group: 'service',
    secret: true,
    description: 'ConductorOne service mode (not supported by this connector)',
  }),
  f({
    name: 'demo',
    type: 'boolean',
    default: false,
    group: 'general',
    description: 'Run against the bundled simulator (no credentials needed)',
  }),
  f({
    name: 'listen',
    type: 'string',
    default: '127.0.0.1:50051',
    group: 'serve',
    description: 'serve: host:port to listen on',
  }),
  f({ name: 'tls-cert', type: 'string', group: 'serve', description: 'serve: PEM certificate file (TLS)' }),
  f({ name: 'tls-key', type: 'string', group: 'serve', description: 'serve: PEM private key file (TLS)' }),
  f({
    name: 'tls-client-ca',
    type: 'string',
    group: 'serve',
    description: 'serve: PEM CA file; clients must present a certificate it signed (mutual TLS)',
  }),
  f({
    name: 'port',
    type: 'string',
    group: 'simulator',
    description: 'simulator: port to listen on (default: an ephemeral port)',
  }),
  f({
    name: 'dataset',
    type: 'string',
    group: 'simulator',
    description: 'simulator and --demo: dataset of the bundled simulator',
  }),
  f({
    name: 'latency-ms',
    type: 'string',
    group: 'simulator',
    description: 'simulator and --demo: delay every API request by this many ms, like a real network (default 0)',
  }),
  f({
    name: 'rate-limits',
    type: 'string',
    group: 'simulator',
    description: "simulator and --demo: documented (default: the API's documented rate limits) or off",
  }),
  f({
    name: 'version',
    short: 'v',
    type: 'boolean',
    group: 'general',
    configurable: false,
    description: 'Print the version',
  }),
  f({
    name: 'help',
    short: 'h',
    type: 'boolean',
    group: 'general',
    configurable: false,
    description: 'Print this help',
  }),
];

/** Flags whose presence selects a one-shot provisioning action (and switches provisioning on in the child). */
export const PROVISIONING_ACTION_FLAGS = [
  'grant-entitlement',
  'grant-principal',
  'grant-principal-type',
  'revoke-grant',
  'create-account-login',
  'create-account-email',
  'create-account-profile',
  'create-account-resource-type',
  'delete-resource',
  'delete-resource-type',
] as const;

export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'array' | 'other';

/** One connector config field as the CLI sees it. */
export interface ConnectorField {
  key: string;
  flag: string;
  env: string;
  kind: FieldKind;
  enumValues?: string[];
  /** Must be supplied (not optional and no default). */
  required: boolean;
  secret: boolean;
  hidden: boolean;
  description?: string;
  default?: unknown;
  schema: z.ZodType;
}

/** `apiKey` -> `api-key`, `baseURL` -> `base-url`, `api_key` -> `api-key`. */
export function flagNameOf(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}

/** `api-key` -> `BATON_API_KEY` (viper: prefix "baton", `-` -> `_`, upper case). */
export function envNameOf(flag: string): string {
  return 'BATON_' + flag.toUpperCase().replace(/-/g, '_');
}

/** The JSON Schema (draft 2020-12) zod produces for one property, as far as the CLI reads it. */
interface PropertySchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  secret?: unknown;
  hidden?: unknown;
}

/**
 * The config object as JSON Schema, read through zod's public API (`z.toJSONSchema`): types, enums, defaults,
 * `required`, and every `.describe()`/`.meta()` value (outer wrappers win over inner ones). `io: 'input'` because
 * the CLI supplies the input side: a field with a default is not required.
 */
function configJsonSchema(definition: ConnectorDefinition): {
  properties: Record<string, PropertySchema>;
  required: Set<string>;
} {
  const doc = z.toJSONSchema(definition.config, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, PropertySchema>;
    required?: string[];
  };
  return { properties: doc.properties ?? {}, required: new Set(doc.required ?? []) };
}

function kindOf(prop: PropertySchema): { kind: FieldKind; enumValues?: string[] } {
  if (Array.isArray(prop.enum)) return { kind: 'enum', enumValues: prop.enum.map(String) };
  if (prop.const !== undefined) return { kind: 'enum', enumValues: [String(prop.const)] };
  // `nullable()` gives ["string", "null"]; the CLI never produces null, so the other type decides.
  const types = (Array.isArray(prop.type) ? prop.type : prop.type ? [prop.type] : []).filter((t) => t !== 'null');
  if (types.length !== 1) return { kind: 'other' };
  switch (types[0]) {
    case 'string':
    case 'number':
    case 'integer':
    case 'boolean':
    case 'array':
      return { kind: types[0] };
    default:
      return { kind: 'other' };
  }
}

const fieldsCache = new WeakMap<ConnectorDefinition, ConnectorField[]>();

/** The connector's fields, in schema order. Throws if a field's flag collides with a Baton flag. */
export function connectorFields(definition: ConnectorDefinition): ConnectorField[] {
  let fields = fieldsCache.get(definition);
  if (!fields) {
    fields = readConnectorFields(definition);
    fieldsCache.set(definition, fields);
  }
  return fields;
}

function readConnectorFields(definition: ConnectorDefinition): ConnectorField[] {
  const shape = definition.config.shape as Record<string, z.ZodType>;
  const { properties, required } = configJsonSchema(definition);
  const reserved = new Set(BATON_FLAGS.map((b) => b.name));
  const seen = new Map<string, string>();
  return Object.entries(shape).map(([key, schema]) => {
    const flag = flagNameOf(key);
    if (reserved.has(flag))
      throw new Error(`config field ${key} of ${definition.name} collides with the Baton flag --${flag}`);
    const other = seen.get(flag);
    if (other) throw new Error(`config fields ${other} and ${key} of ${definition.name} both map to --${flag}`);
    seen.set(flag, key);

    const prop = properties[key] ?? {};
    const { kind, enumValues } = kindOf(prop);
    return {
      key,
      flag,
      env: envNameOf(flag),
      kind,
      enumValues,
      required: required.has(key),
      secret: prop.secret === true,
      hidden: prop.hidden === true,
      description: typeof prop.description === 'string' ? prop.description : undefined,
      default: prop.default,
      schema,
    };
  });
}

/**
 * Set to `1` by the CLI in the environment of the child it spawns for a provisioning one-shot: the child then treats
 * an unreachable API during the call as a configuration mistake (`oneShot` in server/services.ts). Hosts never set it.
 */
export const ONE_SHOT_ENV = 'BATON_TS_ONE_SHOT';

/** Config keys that look like an endpoint, for connectors that do not declare `endpointFields`. */
const ENDPOINT_KEY = /(url|uri|domain|host|hostname|endpoint|subdomain|region|tenant|instance)$/i;

/** The host part of a field's value: a URL's `host:port`, else the value itself (a domain, a region). */
function hostPartOf(value: string): string {
  try {
    return new URL(value).host.toLowerCase();
  } catch {
    return value.trim().toLowerCase();
  }
}

/**
 * The flag to check when the API cannot be reached, as `--base-url (BATON_BASE_URL)`: the endpoint field whose value
 * names the failing host, set or by default (`--base-url http://127.0.0.1:1` for 127.0.0.1:1, `--domain acme` for
 * acme.twingate.com), else the first endpoint field that is set, else the first of them. Undefined when the connector has none.
 */
export function endpointHint(
  definition: ConnectorDefinition,
  parsed: { fields: ConnectorField[]; connector: Map<string, { value: unknown }> },
): ((host: string) => string) | undefined {
  const declared = definition.endpointFields;
  const candidates = declared
    ? declared.flatMap((key) => parsed.fields.filter((fd) => fd.key === key))
    : parsed.fields.filter((fd) => ENDPOINT_KEY.test(fd.key) && !fd.secret);
  const fallback = candidates.find((fd) => parsed.connector.has(fd.key)) ?? candidates[0];
  if (!fallback) return undefined;
  const label = (fd: ConnectorField) => `--${fd.flag} (${fd.env})`;
  return (host) => {
    const failing = host.toLowerCase();
    const named = candidates.find((fd) => {
      // A flag left at its default still names a host (VGS's token URL when only the API URL was overridden).
      const value = parsed.connector.get(fd.key)?.value ?? fd.default;
      if (typeof value !== 'string' || value.trim() === '') return false;
      const part = hostPartOf(value);
      // Whole labels only: `--domain acme` names acme.twingate.com, `--region us` names api.us.example.com.
      return part === failing || `.${failing.replace(/:\d+$/, '')}.`.includes(`.${part}.`);
    });
    return label(named ?? fallback);
  };
}
