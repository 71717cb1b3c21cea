/**
 * The `config` command: the connector's configuration schema as indented JSON, for people and for tools that build
 * forms or check deployments. Every field with its flag, environment variable, type, required/secret/hidden,
 * description and default, plus the zod JSON Schema of the whole object.
 */
import { z } from 'zod';
import type { ConnectorDefinition } from '../sdk/connector.js';
import { BATON_FLAGS, connectorFields, envNameOf, type ConnectorField } from './flags.js';

export interface ConfigFieldDoc {
  name: string;
  flag: string;
  env: string;
  type: string;
  enum?: string[];
  required: boolean;
  secret: boolean;
  hidden: boolean;
  description?: string;
  default?: unknown;
}

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> | undefined {
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function typeOf(field: ConnectorField): string {
  if (field.kind === 'enum') return 'string';
  if (field.kind !== 'other') return field.kind;
  const t = jsonSchemaOf(field.schema)?.type;
  return typeof t === 'string' ? t : 'string';
}

export function configFieldDocs(definition: ConnectorDefinition): ConfigFieldDoc[] {
  return connectorFields(definition).map((field) => {
    const doc: ConfigFieldDoc = {
      name: field.key,
      flag: `--${field.flag}`,
      env: field.env,
      type: typeOf(field),
      required: field.required,
      secret: field.secret,
      hidden: field.hidden,
    };
    if (field.enumValues) doc.enum = field.enumValues;
    if (field.description) doc.description = field.description;
    // A secret's default would be a credential baked into the code; never print it.
    if (field.default !== undefined && !field.secret) doc.default = field.default;
    return doc;
  });
}

export function configSchemaDocument(definition: ConnectorDefinition): Record<string, unknown> {
  const jsonSchema = jsonSchemaOf(definition.config);
  if (jsonSchema) {
    // Defaults of secret fields are left out here too.
    const props = (jsonSchema.properties ?? {}) as Record<string, Record<string, unknown>>;
    for (const field of connectorFields(definition))
      if (field.secret && props[field.key]) delete props[field.key].default;
  }
  return {
    connector: `baton-${definition.name}`,
    version: definition.version,
    fields: configFieldDocs(definition),
    batonFlags: BATON_FLAGS.filter((b) => !b.hidden && b.configurable).map((b) => ({
      flag: `--${b.name}`,
      ...(b.short ? { short: `-${b.short}` } : {}),
      env: envNameOf(b.name),
      type: b.type,
      ...(b.default !== undefined ? { default: b.default } : {}),
      description: b.description,
    })),
    configFile: 'YAML at $BATON_CONFIG_PATH (.yaml/.yml), default ./.baton.yaml; keys are flag names',
    precedence: ['flag', 'environment', 'config file', 'default'],
    jsonSchema,
  };
}
