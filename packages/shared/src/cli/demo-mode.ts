/**
 * `--demo`: run the connector against its bundled simulator, with no credentials.
 *
 * The process that handles the command starts the simulator and puts the simulator's connector config (base URL,
 * API key, ...) above every other config source. When it spawns the connector service (itself, with the same argv,
 * `--demo` included), it hands the same values down in the child's environment: the `BATON_<FLAG>` variables plus
 * `BATON_DEMO_SIMULATOR_URL` (the marker: "a simulator is already running, use it") and
 * `BATON_DEMO_SIMULATOR_CONFIG` (the flag -> value map as JSON, so the child also ranks these values above its own
 * flags, exactly like its parent did). A `_connector-service --demo` or `serve --demo` without the marker (a host
 * that simply passes `--demo` to the plugin) starts its own simulator, so it is a working plugin too.
 */
import type { RunningSimulator } from '../simulator/types.js';
import type { BundledSimulatorOptions, ConnectorDefinition } from '../sdk/connector.js';
import type { Logger } from '../log/logger.js';
import {
  applyOverlay,
  batonBool,
  batonNumber,
  batonString,
  ConfigError,
  UsageError,
  type ParsedCli,
} from './config.js';
import { envNameOf } from './flags.js';

export const DEMO_URL_ENV = 'BATON_DEMO_SIMULATOR_URL';
export const DEMO_CONFIG_ENV = 'BATON_DEMO_SIMULATOR_CONFIG';

export interface DemoSetup {
  /** Flag name -> value applied above all other sources. */
  overlay: Record<string, string>;
  /** Environment for a spawned connector service. */
  childEnv: NodeJS.ProcessEnv;
  /** The simulator this process started (undefined when it reuses its parent's). */
  simulator?: RunningSimulator;
  baseUrl: string;
  close(): Promise<void>;
}

/** `--dataset`, `--latency-ms` and `--rate-limits`, checked: what `simulator` and `--demo` start the simulator with. */
export function simulatorFlagOptions(
  parsed: ParsedCli,
): Pick<BundledSimulatorOptions, 'dataset' | 'latencyMs' | 'rateLimits'> {
  const latencyMs = batonNumber(parsed, 'latency-ms', {
    pattern: /^\s*\d{1,6}\s*$/,
    what: 'a whole number of milliseconds',
  });
  const rateText = batonString(parsed, 'rate-limits');
  if (rateText !== undefined && rateText !== 'documented' && rateText !== 'off') {
    throw new ConfigError([
      `--rate-limits (${envNameOf('rate-limits')}) must be documented or off, got ${JSON.stringify(rateText)}`,
    ]);
  }
  return { dataset: batonString(parsed, 'dataset'), latencyMs, rateLimits: rateText };
}

/** Starts the bundled simulator on 127.0.0.1 (ephemeral port unless given). */
export async function startBundledSimulator(
  definition: ConnectorDefinition,
  options: Omit<BundledSimulatorOptions, 'host'>,
): Promise<RunningSimulator> {
  if (!definition.simulator) {
    throw new UsageError(
      `baton-${definition.name} has no bundled simulator, so --demo and \`simulator\` are not available`,
    );
  }
  const bundled = await definition.simulator();
  return bundled.start({ ...options, host: '127.0.0.1', port: options.port ?? 0 });
}

function overlayFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const text = env[DEMO_CONFIG_ENV];
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return Object.fromEntries(
        Object.entries(parsed as Record<string, unknown>).filter(
          (e): e is [string, string] => typeof e[1] === 'string',
        ),
      );
    }
  } catch {
    // fall through: the BATON_<FLAG> variables still point at the simulator
  }
  return {};
}

/**
 * When `--demo` is on: reuse the parent's simulator (marker present) or start one, and apply its config to
 * `parsed`. Returns undefined when `--demo` is off.
 */
export async function setupDemo(
  definition: ConnectorDefinition,
  parsed: ParsedCli,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<DemoSetup | undefined> {
  if (!batonBool(parsed, 'demo')) return undefined;

  const inherited = env[DEMO_URL_ENV];
  if (inherited) {
    const overlay = overlayFromEnv(env);
    warnUnknown(applyOverlay(parsed, overlay), logger);
    logger.debug('demo: using the simulator of the parent process', { baseUrl: inherited });
    return { overlay, childEnv: { ...env }, baseUrl: inherited, close: async () => {} };
  }

  const simulator = await startBundledSimulator(definition, simulatorFlagOptions(parsed));
  const overlay = { ...simulator.config };
  warnUnknown(applyOverlay(parsed, overlay), logger);
  const childEnv: NodeJS.ProcessEnv = { ...env };
  for (const [flag, value] of Object.entries(overlay)) childEnv[envNameOf(flag)] = value;
  childEnv[DEMO_URL_ENV] = simulator.baseUrl;
  childEnv[DEMO_CONFIG_ENV] = JSON.stringify(overlay);
  logger.info('demo: bundled simulator started', { baseUrl: simulator.baseUrl });
  let closing: Promise<void> | undefined;
  return {
    overlay,
    childEnv,
    simulator,
    baseUrl: simulator.baseUrl,
    close: () => (closing ??= simulator.close().catch(() => {})),
  };
}

function warnUnknown(unknown: string[], logger: Logger): void {
  if (unknown.length > 0)
    logger.warn('demo: the simulator config names flags this connector does not have', { flags: unknown });
}
