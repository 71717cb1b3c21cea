/** The runner every connector bin calls: `await runConnectorCli(definition)`. See docs/cli.md. */
export { runConnectorCli, runCli, CONNECTOR_SERVICE_COMMAND, ConfigError, UsageError, type CliIo } from './runner.js';
export { runInspect } from './inspect.js';
