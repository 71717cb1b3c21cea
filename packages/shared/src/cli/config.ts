/**
 * Configuration sources of the CLI runner, as Baton's cobra + viper setup has them (docs/cli.md): command-line flags,
 * `BATON_<FLAG>` environment variables and a YAML file (`$BATON_CONFIG_PATH`, else `./.baton.yaml`) whose keys are
 * flag names. Precedence: flag > env > file > default. `--demo` adds a layer above flags for the values that point
 * the connector at the bundled simulator.
 *
 * Connector fields are validated with the connector's zod schema; every error names the flag and the variable, and
 * no error ever contains a secret's value (secret fields are registered for redaction before anything is parsed).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { registerSecret, redactSecrets } from '../log/secrets.js';
import type { ConnectorDefinition } from '../sdk/connector.js';
import { BATON_FLAGS, connectorFields, envNameOf, type BatonFlag, type ConnectorField } from './flags.js';
import { closeMatches } from './suggest.js';

export type Source = 'flag' | 'env' | 'file' | 'default' | 'demo';

export interface Setting<T = unknown> {
  value: T;
  source: Source;
}

/** A configuration mistake: printed as `invalid configuration: <message>`, exit 1. */
export class ConfigError extends Error {
  constructor(readonly messages: string[]) {
    super(messages.join('; '));
    this.name = 'ConfigError';
  }
}

/** A command-line mistake (unknown flag, missing value): printed as `error: <message>`, exit 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedCli {
  /** First positional argument (the command), if any. */
  command: string | undefined;
  /** Positionals after the command. */
  args: string[];
  fields: ConnectorField[];
  /** Path of the config file that was read, if any. */
  configFile?: string;
  /** Baton flag name -> value (only flags that have a value from some source). */
  baton: Map<string, Setting<string | boolean>>;
  /** Connector field key -> raw value (before zod). */
  connector: Map<string, Setting>;
}

const TRUE_WORDS = new Set(['1', 't', 'true', 'yes', 'y', 'on']);
const FALSE_WORDS = new Set(['0', 'f', 'false', 'no', 'n', 'off']);

/** Go's strconv.ParseBool plus yes/no/on/off; undefined when the text is not a boolean. */
export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (TRUE_WORDS.has(t)) return true;
  if (FALSE_WORDS.has(t)) return false;
  return undefined;
}

function flagLabel(name: string): string {
  return `--${name} (${envNameOf(name)})`;
}

/**
 * Splits `--bool=value` off argv (node's parseArgs refuses values on boolean options; pflag accepts them).
 * Returns the remaining argv and the explicit values.
 */
function extractBooleanAssignments(
  argv: string[],
  booleans: Set<string>,
): { rest: string[]; explicit: Map<string, boolean> } {
  const rest: string[] = [];
  const explicit = new Map<string, boolean>();
  let afterDashDash = false;
  for (const arg of argv) {
    if (afterDashDash || arg === '--') {
      afterDashDash = true;
      rest.push(arg);
      continue;
    }
    const m = /^--([^=]+)=(.*)$/s.exec(arg);
    if (m && booleans.has(m[1])) {
      const value = parseBool(m[2]);
      if (value === undefined) throw new UsageError(`--${m[1]} takes true or false, got ${JSON.stringify(m[2])}`);
      explicit.set(m[1], value);
      continue;
    }
    rest.push(arg);
  }
  return { rest, explicit };
}

/** The parseArgs option table for Baton flags plus connector fields. */
function parseArgsOptions(fields: ConnectorField[]): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const flag of BATON_FLAGS) {
    options[flag.name] = flag.short ? { type: flag.type, short: flag.short } : { type: flag.type };
  }
  for (const field of fields) {
    options[field.flag] =
      field.kind === 'boolean'
        ? { type: 'boolean' }
        : field.kind === 'array'
          ? { type: 'string', multiple: true }
          : { type: 'string' };
  }
  return options;
}

function describeParseError(err: unknown, secretFlags: Set<string>, flagNames: string[]): UsageError {
  const e = err as { code?: string; message: string };
  const text = redactSecrets(e.message);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = /Unknown option '([^']+)'/.exec(text)?.[1];
    if (!name) return new UsageError(`${text.split('. To specify')[0]} (see --help)`);
    const near = name.startsWith('--') ? closeMatches(name.slice(2), flagNames).map((n) => `--${n}`) : [];
    return new UsageError(
      `unknown flag ${name}${near.length ? `: did you mean ${near.join(' or ')}?` : ''} (see --help)`,
    );
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /Option '(?:-\w, )?--([\w-]+)/.exec(text);
    if (m && secretFlags.has(m[1])) return new UsageError(`--${m[1]} needs a value`);
    return new UsageError(text.replace(/^Option /, 'flag ').split('. To specify')[0]);
  }
  return new UsageError(text.split('. To specify')[0]);
}

/**
 * Reads the YAML config file; undefined when there is none. The YAML parser is loaded only when there is a file: a
 * host spawns the connector for every job, and most runs have none (README.md, "Where this departs from the design card, and why").
 */
export async function loadConfigFile(
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ path: string; data: Record<string, unknown> } | undefined> {
  const explicit = env.BATON_CONFIG_PATH;
  let path: string | undefined;
  if (explicit) {
    if (!/\.ya?ml$/i.test(explicit)) {
      throw new ConfigError([`BATON_CONFIG_PATH must name a .yaml or .yml file, got ${JSON.stringify(explicit)}`]);
    }
    path = resolvePath(cwd, explicit);
    if (!existsSync(path)) throw new ConfigError([`config file ${explicit} (BATON_CONFIG_PATH) does not exist`]);
  } else {
    path = ['.baton.yaml', '.baton.yml'].map((n) => resolvePath(cwd, n)).find((p) => existsSync(p));
    if (!path) return undefined;
  }
  let data: unknown;
  try {
    const { parse: parseYaml } = await import('yaml');
    data = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    // The YAML parser quotes the offending line, which may hold a secret.
    throw new ConfigError([`cannot read config file ${path}: ${redactSecrets((err as Error).message.split('\n')[0])}`]);
  }
  if (data === null || data === undefined) return { path, data: {} };
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError([`config file ${path} must be a YAML mapping of flag names to values`]);
  }
  return { path, data: data as Record<string, unknown> };
}

function scalarToString(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

/**
 * Parses argv and gathers every source. Connector field values stay raw here (see `validateConnectorConfig`);
 * secret values are registered for redaction as soon as they are seen.
 */
export async function parseCommandLine(
  definition: ConnectorDefinition,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Promise<ParsedCli> {
  const fields = connectorFields(definition);
  const secretFlags = new Set([
    ...fields.filter((f) => f.secret).map((f) => f.flag),
    ...BATON_FLAGS.filter((b) => b.secret).map((b) => b.name),
  ]);
  // Register secrets given on the command line before anything can echo them.
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(argv[i]);
    if (m && secretFlags.has(m[1])) registerSecret(m[2] ?? argv[i + 1]);
  }
  for (const name of secretFlags) registerSecret(env[envNameOf(name)]);

  const booleans = new Set([
    ...BATON_FLAGS.filter((b) => b.type === 'boolean').map((b) => b.name),
    ...fields.filter((f) => f.kind === 'boolean').map((f) => f.flag),
  ]);
  const { rest, explicit } = extractBooleanAssignments(argv, booleans);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: parseArgsOptions(fields), allowPositionals: true, strict: true });
  } catch (err) {
    throw describeParseError(err, secretFlags, [
      ...BATON_FLAGS.filter((b) => !b.hidden).map((b) => b.name),
      ...fields.filter((f) => !f.hidden).map((f) => f.flag),
    ]);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  for (const [name, value] of explicit) values[name] = value;

  const file = await loadConfigFile(env, cwd);
  const fileData = file?.data ?? {};
  for (const [k, v] of Object.entries(fileData)) {
    const field = fields.find((fd) => fd.flag === k || fd.key === k);
    if ((field?.secret || secretFlags.has(k)) && typeof v === 'string') registerSecret(v);
  }

  const baton = new Map<string, Setting<string | boolean>>();
  const errors: string[] = [];
  for (const flag of BATON_FLAGS) {
    const setting = resolveBatonFlag(flag, values[flag.name], env, fileData, errors);
    if (setting) baton.set(flag.name, setting);
  }

  const connector = new Map<string, Setting>();
  for (const field of fields) {
    const fromFlag = values[field.flag];
    if (fromFlag !== undefined) {
      connector.set(field.key, { value: fromFlag, source: 'flag' });
      continue;
    }
    const fromEnv = env[field.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      connector.set(field.key, { value: fromEnv, source: 'env' });
      continue;
    }
    const fromFile = field.flag in fileData ? fileData[field.flag] : fileData[field.key];
    if (fromFile !== undefined && fromFile !== null) connector.set(field.key, { value: fromFile, source: 'file' });
  }
  if (errors.length > 0) throw new ConfigError(errors);

  const [command, ...args] = parsed.positionals;
  return { command, args, fields, configFile: file?.path, baton, connector };
}

function resolveBatonFlag(
  flag: BatonFlag,
  fromFlag: string | boolean | string[] | undefined,
  env: NodeJS.ProcessEnv,
  fileData: Record<string, unknown>,
  errors: string[],
): Setting<string | boolean> | undefined {
  if (fromFlag !== undefined) return { value: Array.isArray(fromFlag) ? fromFlag.join(',') : fromFlag, source: 'flag' };
  if (!flag.configurable) return undefined;
  const envText = env[envNameOf(flag.name)];
  const convert = (text: string, source: Source): Setting<string | boolean> | undefined => {
    if (flag.type === 'string') return { value: text, source };
    const b = parseBool(text);
    if (b === undefined) {
      errors.push(`${flagLabel(flag.name)} must be true or false`);
      return undefined;
    }
    return { value: b, source };
  };
  if (envText !== undefined && envText !== '') return convert(envText, 'env');
  if (flag.name in fileData) {
    const raw = fileData[flag.name];
    if (typeof raw === 'boolean' && flag.type === 'boolean') return { value: raw, source: 'file' };
    const text = scalarToString(raw);
    if (text !== undefined) return convert(text, 'file');
    if (raw !== null) errors.push(`--${flag.name} in the config file must be a ${flag.type}`);
  }
  if (flag.default !== undefined) return { value: flag.default, source: 'default' };
  return undefined;
}

/** Typed accessors over the Baton flag settings. */
export function batonString(parsed: ParsedCli, name: string): string | undefined {
  const v = parsed.baton.get(name)?.value;
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * A numeric Baton flag: undefined when unset, else its number when the text matches `pattern` and the number is
 * finite and at most `max`; otherwise a ConfigError naming the flag, its variable and `what` it must be.
 */
export function batonNumber(
  parsed: ParsedCli,
  name: string,
  rule: { pattern: RegExp; what: string; max?: number },
): number | undefined {
  const text = batonString(parsed, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!rule.pattern.test(text) || !Number.isFinite(n) || n > (rule.max ?? Number.MAX_SAFE_INTEGER)) {
    throw new ConfigError([`--${name} (${envNameOf(name)}) must be ${rule.what}, got ${JSON.stringify(text)}`]);
  }
  return n;
}

export function batonBool(parsed: ParsedCli, name: string): boolean {
  return parsed.baton.get(name)?.value === true;
}

/**
 * Puts values above every other source (`--demo`: the simulator's URL and credentials). Keys are flag names;
 * keys naming no connector field are returned so the caller can warn about them.
 */
export function applyOverlay(parsed: ParsedCli, overlay: Record<string, string>): string[] {
  const unknown: string[] = [];
  for (const [flag, value] of Object.entries(overlay)) {
    const field = parsed.fields.find((fd) => fd.flag === flag || fd.key === flag);
    if (!field) {
      unknown.push(flag);
      continue;
    }
    if (field.secret) registerSecret(value);
    parsed.connector.set(field.key, { value, source: 'demo' });
  }
  return unknown;
}

/** Converts a raw string (flag, env, file) to what the field's zod type expects; leaves anything odd to zod. */
function coerce(field: ConnectorField, raw: unknown): unknown {
  if (raw === undefined || raw === null) return undefined;
  switch (field.kind) {
    case 'boolean':
      if (typeof raw === 'string') return parseBool(raw) ?? raw;
      return raw;
    case 'number':
    case 'integer':
      if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
      return raw;
    case 'array':
      if (typeof raw === 'string')
        return raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
      if (Array.isArray(raw))
        return raw.flatMap((v) =>
          typeof v === 'string'
            ? v
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : [v],
        );
      return raw;
    case 'string':
    case 'enum':
      return typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : raw;
    default:
      if (typeof raw === 'string' && /^\s*[[{]/.test(raw)) {
        try {
          return JSON.parse(raw);
        } catch {
          return raw;
        }
      }
      return raw;
  }
}

/** The object handed to zod: raw settings coerced per field. */
export function rawConnectorInput(parsed: ParsedCli): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const field of parsed.fields) {
    const setting = parsed.connector.get(field.key);
    if (setting === undefined) continue;
    const value = coerce(field, setting.value);
    if (value !== undefined) input[field.key] = value;
  }
  return input;
}

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  input?: unknown;
}

/** One line per field: the flag and the variable, then zod's (or the schema's own) message. */
export function describeIssues(fields: ConnectorField[], issues: readonly ZodIssueLike[]): string[] {
  const lines: string[] = [];
  const done = new Set<string>();
  for (const issue of issues) {
    const key = String(issue.path[0] ?? '');
    if (done.has(key)) continue;
    done.add(key);
    const field = fields.find((fd) => fd.key === key);
    if (!field) {
      lines.push(redactSecrets(issue.message));
      continue;
    }
    const label = `--${field.flag} (${field.env})`;
    const missing = issue.code === 'invalid_type' && issue.input === undefined;
    let line: string;
    if (issue.message.includes(`--${field.flag}`)) line = issue.message;
    else if (missing) line = `${label} is required`;
    else {
      const sub = issue.path.length > 1 ? ` [${issue.path.slice(1).map(String).join('.')}]` : '';
      line = `${label}${sub}: ${issue.message}`;
    }
    lines.push(redactSecrets(line));
  }
  return lines;
}

/**
 * Validates the connector config with its schema. Registers every secret field's value (raw and parsed) for
 * redaction before zod sees it. Throws ConfigError naming each bad field.
 */
export function validateConnectorConfig<S extends z.ZodObject>(
  definition: ConnectorDefinition<S>,
  parsed: ParsedCli,
): z.output<S> {
  registerFieldSecrets(parsed);
  const input = rawConnectorInput(parsed);
  const result = definition.config.safeParse(input);
  if (!result.success) throw new ConfigError(describeIssues(parsed.fields, result.error.issues as ZodIssueLike[]));
  for (const field of parsed.fields) {
    if (!field.secret) continue;
    const v = (result.data as Record<string, unknown>)[field.key];
    if (typeof v === 'string') registerSecret(v);
  }
  return result.data;
}

export function registerFieldSecrets(parsed: ParsedCli): void {
  for (const field of parsed.fields) {
    if (!field.secret) continue;
    const v = parsed.connector.get(field.key)?.value;
    if (typeof v === 'string') registerSecret(v);
    else if (Array.isArray(v)) v.forEach((x) => typeof x === 'string' && registerSecret(x));
  }
  const clientSecret = parsed.baton.get('client-secret')?.value;
  if (typeof clientSecret === 'string') registerSecret(clientSecret);
}

/** The value of the field's declared type that says "nothing given": no guessing, no trial parses. */
function neutralValue(field: ConnectorField): unknown {
  if (field.default !== undefined) return field.default;
  switch (field.kind) {
    case 'string':
      return '';
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'enum':
      return field.enumValues?.[0];
    case 'array':
      return [];
    default:
      return undefined;
  }
}

/**
 * A config good enough to build the connector without I/O (`capabilities`): every field that is valid as given,
 * the others set to their default, else to the neutral value of their declared type ('' , 0, false, the first enum
 * value, []). Connectors must not do I/O in `create()`; one that also refuses such values makes `capabilities`
 * report which flags it needs.
 */
export function lenientConnectorConfig(definition: ConnectorDefinition, parsed: ParsedCli): Record<string, unknown> {
  registerFieldSecrets(parsed);
  const input = rawConnectorInput(parsed);
  const strict = definition.config.safeParse(input);
  if (strict.success) return strict.data as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of parsed.fields) {
    const given = field.schema.safeParse(input[field.key]);
    const value = given.success ? given.data : neutralValue(field);
    if (value !== undefined) out[field.key] = value;
  }
  return out;
}
