/* eslint-disable @typescript-eslint/no-explicit-any -- TODO(issue 7): give these values real types */
/**
 * The flag table of the CLI runner: Baton's own flags (docs/protocol.md, "CLI conventions"), the commands' flags, and the connector's flags
 * derived from its zod config schema (`apiKey` -> `--api-key` -> `BATON_API_KEY`).
 */
import type { z } from 'zod';
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
    description: 'Directory for the temporary SQLite database',
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

interface ZodInternals {
  _zod: { def: Record<string, any> & { type: string } };
  meta?: () => Record<string, unknown> | undefined;
  description?: string;
  isOptional?: () => boolean;
}

/** The chain outer -> inner through optional/default/nullable/pipe wrappers. */
function unwrapChain(schema: z.ZodType): ZodInternals[] {
  const chain: ZodInternals[] = [];
  let current: ZodInternals | undefined = schema as unknown as ZodInternals;
  for (let i = 0; current && i < 20; i++) {
    chain.push(current);
    const def: Record<string, any> = current._zod.def;
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else current = undefined;
  }
  return chain;
}

function kindOf(def: Record<string, any>): { kind: FieldKind; enumValues?: string[] } {
  switch (def.type) {
    case 'string':
    case 'template_literal':
      return { kind: 'string' };
    case 'number': {
      const checks: Array<{ _zod?: { def?: { check?: string; format?: string } } }> = def.checks ?? [];
      const int = checks.some((c) => c._zod?.def?.format === 'safeint' || c._zod?.def?.format === 'int32');
      return { kind: int ? 'integer' : 'number' };
    }
    case 'int':
      return { kind: 'integer' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'enum':
      return { kind: 'enum', enumValues: Object.values(def.entries ?? {}).map(String) };
    case 'literal':
      return { kind: 'enum', enumValues: (def.values ?? []).map(String) };
    case 'array':
      return { kind: 'array' };
    default:
      return { kind: 'other' };
  }
}

/** The connector's fields, in schema order. Throws if a field's flag collides with a Baton flag. */
export function connectorFields(definition: ConnectorDefinition): ConnectorField[] {
  const shape = definition.config.shape as Record<string, z.ZodType>;
  const reserved = new Set(BATON_FLAGS.map((b) => b.name));
  const seen = new Map<string, string>();
  return Object.entries(shape).map(([key, schema]) => {
    const flag = flagNameOf(key);
    if (reserved.has(flag))
      throw new Error(`config field ${key} of ${definition.name} collides with the Baton flag --${flag}`);
    const other = seen.get(flag);
    if (other) throw new Error(`config fields ${other} and ${key} of ${definition.name} both map to --${flag}`);
    seen.set(flag, key);

    const chain = unwrapChain(schema);
    // Metadata of outer wrappers wins over inner ones (zod 4 clones inherit their parent's metadata already).
    const meta: Record<string, unknown> = {};
    for (const s of [...chain].reverse()) Object.assign(meta, s.meta?.() ?? {});
    let defaultValue: unknown;
    for (const s of chain) {
      if (s._zod.def.type === 'default' || s._zod.def.type === 'prefault') {
        const d = s._zod.def.defaultValue;
        defaultValue = typeof d === 'function' ? d() : d;
        break;
      }
    }
    const inner = chain[chain.length - 1];
    const { kind, enumValues } = kindOf(inner._zod.def);
    const optional = (schema as unknown as ZodInternals).isOptional?.() ?? false;
    return {
      key,
      flag,
      env: envNameOf(flag),
      kind,
      enumValues,
      required: !optional && defaultValue === undefined,
      secret: meta.secret === true,
      hidden: meta.hidden === true,
      description: typeof meta.description === 'string' ? meta.description : undefined,
      default: defaultValue,
      schema,
    };
  });
}
