/**
 * The CLI every connector's `bin` runs: `await runConnectorCli(definition)`.
 *
 *   <bin> [flags]                 one-shot: grant > revoke > create-account > delete-resource > full sync to --file
 *   <bin> _connector-service      (hidden) the child side of the subprocess handshake
 *   <bin> serve                   gRPC + Connect on --listen for local tools (grpcurl, curl)
 *   <bin> capabilities            baton_capabilities.json on stdout (no trailing newline)
 *   <bin> config                  the configuration schema as indented JSON
 *   <bin> simulator               the bundled simulator alone; one JSON line with its URL and credentials
 *   <bin> inspect ...             what a sync file holds (cli/inspect.ts)
 *
 * Config comes from flags, `BATON_*` variables and `.baton.yaml` (see config.ts); `--demo` points everything at the
 * bundled simulator (see demo-mode.ts). stdout carries only command output; logs are JSON lines on stderr.
 */
import type { z } from 'zod';
import { createLogger, isLogLevel, type LogFormat, type LogLevel, type Logger } from '../log/logger.js';
import { redactSecrets } from '../log/secrets.js';
import { newRuntimeStats, type Connector, type ConnectorDefinition } from '../sdk/connector.js';
import {
  batonBool,
  batonNumber,
  batonString,
  ConfigError,
  lenientConnectorConfig,
  parseCommandLine,
  UsageError,
  validateConnectorConfig,
  type ParsedCli,
} from './config.js';
import { setupDemo, simulatorFlagOptions, startBundledSimulator, type DemoSetup } from './demo-mode.js';
import { setEndpointHint } from '../http/config-check.js';
import { exitQuietlyWhenStdoutCloses } from './closed-stdout.js';
import {
  BATON_FLAGS,
  connectorFields,
  endpointHint,
  envNameOf,
  ONE_SHOT_ENV,
  PROVISIONING_ACTION_FLAGS,
} from './flags.js';
import { commandHelpText, helpText, HELP_COMMANDS, isHelpCommand } from './help.js';
import { configSchemaDocument } from './schema.js';
import { closeMatches } from './suggest.js';

export { ConfigError, UsageError } from './config.js';

// Commands load what they need on demand: the connector service (spawned for every sync) should not pay for the
// host, SQLite and zstd, nor `--version` for any of it.

export const CONNECTOR_SERVICE_COMMAND = '_connector-service';
const COMMANDS = new Set([CONNECTOR_SERVICE_COMMAND, ...HELP_COMMANDS, 'help']);

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * Runs the CLI and sets `process.exitCode` (0 ok, 1 error). Long-running commands (`serve`, `simulator`) return
 * after SIGINT/SIGTERM; `_connector-service` exits the process itself when its parent closes stdin.
 */
export async function runConnectorCli(
  definition: ConnectorDefinition,
  argv: string[] = process.argv.slice(2),
): Promise<void> {
  exitQuietlyWhenStdoutCloses();
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  process.exitCode = await runCli(definition, argv, io);
}

/** Same as runConnectorCli, returning the exit code instead of setting it (for embedding and tests). */
export async function runCli(definition: ConnectorDefinition, argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(definition, argv, io);
  } catch (err) {
    return reportError(err, io);
  }
}

function reportError(err: unknown, io: CliIo): number {
  let lines: string[];
  if (err instanceof ConfigError) lines = err.messages.map((m) => `invalid configuration: ${m}`);
  else if (err instanceof Error) lines = [`error: ${err.message}`];
  else lines = [`error: ${String(err)}`];
  io.stderr.write(redactSecrets(lines.join('\n')) + '\n');
  return 1;
}

/** Indexes in argv of the positional arguments (the command and what follows it), skipping flags and their values. */
function positionalIndexes(definition: ConnectorDefinition, argv: string[]): number[] {
  const valued = new Set<string>();
  const shortValued = new Set<string>();
  for (const b of BATON_FLAGS) {
    if (b.type !== 'string') continue;
    valued.add(b.name);
    if (b.short) shortValued.add(b.short);
  }
  for (const f of connectorFields(definition)) if (f.kind !== 'boolean') valued.add(f.flag);
  const out: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      for (let j = i + 1; j < argv.length; j++) out.push(j);
      break;
    }
    if (a.startsWith('--')) {
      if (!a.includes('=') && valued.has(a.slice(2))) i++;
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      if (a.length === 2 && shortValued.has(a.slice(1))) i++;
      continue;
    }
    out.push(i);
  }
  return out;
}

/**
 * A word where no command or value was expected. A user who forgets a flag name (`--domain acme tgk_...`) puts a
 * secret there, so the word itself is never printed unless it is a near miss of a command name; its position is.
 */
function strayArgumentError(argv: string[], index: number, after?: string): UsageError {
  const word = argv[index];
  const position = `argument ${index + 1}`;
  if (after === undefined) {
    const near = closeMatches(word, [...HELP_COMMANDS]);
    if (near.length > 0)
      return new UsageError(
        `unknown command "${word}": did you mean ${near.map((c) => `"${c}"`).join(' or ')}? (see --help)`,
      );
  }
  const previous = index > 0 ? argv[index - 1] : undefined;
  const switchBefore =
    previous !== undefined && previous !== '--' && /^--?[\w-]+$/.test(previous)
      ? ` (it follows ${previous}, which takes no value)`
      : '';
  const what = after === undefined ? 'is not a command' : `is not expected after "${after}"`;
  return new UsageError(
    `${position} ${what}${switchBefore}; it is not shown in case it is a secret. ` +
      (after === undefined
        ? `If it is a flag's value, the flag name before it is missing. Commands: ${[...HELP_COMMANDS].join(', ')} (see --help)`
        : `See \`${after} --help\``),
  );
}

function makeLogger(parsed: ParsedCli, io: CliIo): Logger {
  const level = batonString(parsed, 'log-level') ?? 'info';
  const format = batonString(parsed, 'log-format') ?? 'json';
  const errors: string[] = [];
  if (!isLogLevel(level))
    errors.push(
      `--log-level (${envNameOf('log-level')}) must be debug, info, warn or error, got ${JSON.stringify(level)}`,
    );
  if (format !== 'json' && format !== 'console')
    errors.push(`--log-format (${envNameOf('log-format')}) must be json or console, got ${JSON.stringify(format)}`);
  if (errors.length) throw new ConfigError(errors);
  // Looked up at write time, so a progress display that wraps process.stderr.write sees log lines too.
  return createLogger({
    level: level as LogLevel,
    format: format as LogFormat,
    write: (line) => void io.stderr.write(line),
  });
}

async function dispatch(definition: ConnectorDefinition, argv: string[], io: CliIo): Promise<number> {
  // `inspect` has flags of its own: hand it everything after the word.
  const positions = positionalIndexes(definition, argv);
  const at = positions[0] ?? -1;
  if (at >= 0 && argv[at] === 'inspect') {
    const { runInspect } = await import('./inspect.js');
    return runInspect(argv.slice(at + 1), {
      stdout: io.stdout,
      stderr: io.stderr,
      program: `baton-${definition.name} inspect`,
    });
  }

  const parsed = await parseCommandLine(definition, argv, io.env, io.cwd);
  if (parsed.command !== undefined && !COMMANDS.has(parsed.command)) throw strayArgumentError(argv, at);
  if (parsed.command === 'help') {
    // `help` alone, or `help <command>`.
    const topic = parsed.args[0];
    if (topic !== undefined && !isHelpCommand(topic)) throw strayArgumentError(argv, positions[1], 'help');
    io.stdout.write(topic ? await commandHelpText(definition, topic) : helpText(definition));
    return 0;
  }
  if (parsed.baton.get('help')?.value === true) {
    io.stdout.write(
      parsed.command && isHelpCommand(parsed.command)
        ? await commandHelpText(definition, parsed.command)
        : helpText(definition),
    );
    return 0;
  }
  if (parsed.baton.get('version')?.value === true) {
    io.stdout.write(`baton-${definition.name} ${definition.version}\n`);
    return 0;
  }
  if (parsed.args.length > 0) throw strayArgumentError(argv, positions[1], parsed.command);

  const logger = makeLogger(parsed, io);
  switch (parsed.command) {
    case 'config':
      io.stdout.write(JSON.stringify(configSchemaDocument(definition), null, 2) + '\n');
      return 0;
    case 'capabilities':
      return capabilitiesCommand(definition, parsed, logger, io);
    case 'simulator':
      return simulatorCommand(definition, parsed, io);
    case CONNECTOR_SERVICE_COMMAND:
      return connectorServiceCommand(definition, parsed, logger, io);
    case 'serve':
      return serveCommand(definition, parsed, logger, io);
    default:
      return rootCommand(definition, parsed, logger, argv, io);
  }
}

/** Provisioning is on with --provisioning or any one-shot provisioning flag (Go does the same in the child). */
function provisioningEnabled(parsed: ParsedCli): boolean {
  if (batonBool(parsed, 'provisioning')) return true;
  return PROVISIONING_ACTION_FLAGS.some((name) => batonString(parsed, name) !== undefined);
}

function buildConnector(definition: ConnectorDefinition, config: unknown, logger: Logger) {
  const stats = newRuntimeStats();
  const connector = definition.create(config as z.output<typeof definition.config>, { logger, stats });
  return { connector, stats };
}

async function withDemo<T>(
  definition: ConnectorDefinition,
  parsed: ParsedCli,
  logger: Logger,
  io: CliIo,
  body: (demo: DemoSetup | undefined) => Promise<T>,
): Promise<T> {
  const demo = await setupDemo(definition, parsed, io.env, logger);
  try {
    return await body(demo);
  } finally {
    await demo?.close();
  }
}

// -- root: one-shot mode ------------------------------------------------------------------------------------------

async function rootCommand(
  definition: ConnectorDefinition,
  parsed: ParsedCli,
  logger: Logger,
  argv: string[],
  io: CliIo,
): Promise<number> {
  if (batonString(parsed, 'client-id') !== undefined || batonString(parsed, 'client-secret') !== undefined) {
    throw new UsageError(
      `ConductorOne service mode (--client-id/--client-secret, ${envNameOf('client-id')}/${envNameOf('client-secret')}) is not supported by baton-${definition.name}: ` +
        'a host runs it as a plugin (it spawns the bin with `_connector-service`), or run it yourself without them to sync into --file, ' +
        'provision with the one-shot flags, or `serve` its gRPC API',
    );
  }
  const { checkOneShotFlags, runOneShot } = await import('./one-shot.js');
  checkOneShotFlags(parsed);
  return withDemo(definition, parsed, logger, io, async (demo) => {
    // Validate in the parent so config mistakes are reported once, clearly, before anything is spawned.
    const config = validateConnectorConfig(definition, parsed);
    return runOneShot({
      definition,
      parsed,
      logger,
      argv,
      childEnv: demo?.childEnv ?? io.env,
      stdout: io.stdout,
      stderr: io.stderr,
      config,
    });
  });
}

// -- _connector-service ---------------------------------------------------------------------------------------------

async function connectorServiceCommand(
  definition: ConnectorDefinition,
  parsed: ParsedCli,
  logger: Logger,
  io: CliIo,
): Promise<number> {
  // A simulator started here (demo without a parent's simulator) lives as long as this process.
  await setupDemo(definition, parsed, io.env, logger);
  const config = validateConnectorConfig(definition, parsed);
  setEndpointHint(endpointHint(definition, parsed));
  const { connector, stats } = buildConnector(definition, config, logger);
  // The one-shot parent asks for the HTTP client's waits while RPCs run (child-events.ts); other hosts do not.
  const { forwardEventsToParent } = await import('./child-events.js');
  forwardEventsToParent(io.env, stats);
  const { runConnectorService } = await import('../server/handshake.js');
  return runConnectorService({
    definition,
    connector,
    logger,
    stats,
    provisioning: provisioningEnabled(parsed),
    oneShot: io.env[ONE_SHOT_ENV] === '1',
  });
}

// -- serve ----------------------------------------------------------------------------------------------------------

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

async function serveCommand(
  definition: ConnectorDefinition,
  parsed: ParsedCli,
  logger: Logger,
  io: CliIo,
): Promise<number> {
  const cert = batonString(parsed, 'tls-cert');
  const key = batonString(parsed, 'tls-key');
  const clientCa = batonString(parsed, 'tls-client-ca');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (clientCa !== undefined && cert === undefined)
    throw new UsageError('--tls-client-ca needs --tls-cert and --tls-key');
  return withDemo(definition, parsed, logger, io, async () => {
    const config = validateConnectorConfig(definition, parsed);
    setEndpointHint(endpointHint(definition, parsed));
    const { connector, stats } = buildConnector(definition, config, logger);
    const { serveLocal } = await import('../server/serve.js');
    const server = await serveLocal({
      definition,
      connector,
      logger,
      stats,
      provisioning: provisioningEnabled(parsed),
      listen: batonString(parsed, 'listen') ?? '127.0.0.1:50051',
      tls: cert && key ? { certFile: cert, keyFile: key, clientCaFile: clientCa } : undefined,
    });
    const mode = server.mode === 'plaintext' ? 'plaintext' : server.mode === 'tls' ? 'TLS' : 'mutual TLS';
    io.stdout.write(`serving gRPC (and Connect) on ${server.address} (${mode})\n`);
    logger.info('serving', { address: server.address, mode: server.mode, provisioning: provisioningEnabled(parsed) });
    const signal = await waitForStopSignal();
    logger.info('stopping', { signal });
    await server.close();
    await connector.cleanup?.().catch(() => {});
    return 0;
  });
}

// -- capabilities -------------------------------------------------------------------------------------------------

async function capabilitiesCommand(
  definition: ConnectorDefinition,
  parsed: ParsedCli,
  logger: Logger,
  io: CliIo,
): Promise<number> {
  // create() does no I/O, so an incomplete config (no credentials in a CI workflow) still yields the capabilities.
  const config = lenientConnectorConfig(definition, parsed);
  let connector: Connector;
  try {
    connector = buildConnector(definition, config, logger).connector;
  } catch (err) {
    // This connector needs real values to build itself: name the missing or invalid flags (ConfigError), else its error.
    validateConnectorConfig(definition, parsed);
    throw err;
  }
  const { capabilitiesJson } = await import('../server/capabilities-json.js');
  io.stdout.write(capabilitiesJson(connector));
  return 0;
}

// -- simulator ----------------------------------------------------------------------------------------------------

async function simulatorCommand(definition: ConnectorDefinition, parsed: ParsedCli, io: CliIo): Promise<number> {
  const port = batonNumber(parsed, 'port', { pattern: /^\d{1,5}$/, max: 65535, what: 'a port number from 0 to 65535' });
  const simulator = await startBundledSimulator(definition, { port, ...simulatorFlagOptions(parsed) });
  io.stdout.write(JSON.stringify({ baseUrl: simulator.baseUrl, config: simulator.config }) + '\n');
  await waitForStopSignal();
  // The last line, for a benchmark that ran the simulator in a process of its own: what it served.
  io.stdout.write(JSON.stringify({ stopped: true, ...simulator.stats() }) + '\n');
  await simulator.close();
  return 0;
}
