/** The runner every connector bin calls: `await runConnectorCli(definition)`. See docs/cli.md. */
import type { InspectIo } from './inspect.js';

export { runConnectorCli, runCli, CONNECTOR_SERVICE_COMMAND, ConfigError, UsageError, type CliIo } from './runner.js';
export type { InspectIo };

/**
 * `inspect`: what a sync file holds (cli/inspect.ts). Loaded on call: it brings SQLite and zstd (native addons), and
 * every connector bin imports this entry point, so a static import would load them at each plugin start-up.
 */
export async function runInspect(argv: string[], io: InspectIo): Promise<number> {
  const inspect = await import('./inspect.js');
  return inspect.runInspect(argv, io);
}
