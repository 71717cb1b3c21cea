/**
 * `--help` texts, built from the flag table and the connector's schema: the general help (`<bin> --help`, every
 * flag of a sync or one-shot run, and the commands) and one per command (`<bin> <command> --help`, or
 * `<bin> help <command>`), listing only that command's flags and values.
 */
import type { ConnectorDefinition } from '../sdk/connector.js';
import { BATON_FLAGS, connectorFields, envNameOf, type BatonFlag } from './flags.js';

/** The commands a user runs (`_connector-service` is for hosts). */
export const HELP_COMMANDS = ['serve', 'capabilities', 'config', 'simulator', 'inspect'] as const;
type HelpCommand = (typeof HELP_COMMANDS)[number];

export function isHelpCommand(word: string): word is HelpCommand {
  return (HELP_COMMANDS as readonly string[]).includes(word);
}

const GROUP_TITLES: Record<BatonFlag['group'], string> = {
  general: 'General flags',
  sync: 'Sync flags',
  provisioning: 'One-shot provisioning (ids are looked up in --file, which a grant or revoke then updates)',
  serve: 'serve flags',
  simulator: 'simulator flags',
  service: 'Service mode',
};

const COMMAND_SUMMARY: Record<HelpCommand, string> = {
  serve: "serve the connector's gRPC API (and Connect) on a local port, for grpcurl and curl",
  capabilities: 'print baton_capabilities.json (no credentials needed)',
  config: 'print the configuration schema as JSON',
  simulator: 'run the bundled simulator alone (a fake of the API, no credentials needed)',
  inspect: 'print what a sync file (.c1z or .jsonl) holds',
};

function formatRows(rows: Array<[string, string]>): string[] {
  if (rows.length === 0) return [];
  const width = Math.min(44, Math.max(...rows.map(([a]) => a.length)));
  return rows.map(([a, b]) =>
    a.length > width ? `  ${a}\n  ${' '.repeat(width)}  ${b}` : `  ${a.padEnd(width)}  ${b}`,
  );
}

function batonFlagRows(flags: readonly BatonFlag[]): Array<[string, string]> {
  return flags.map((b) => {
    const name = `${b.short ? `-${b.short}, ` : ''}--${b.name}${b.configurable ? ` (${envNameOf(b.name)})` : ''}`;
    const def = b.default !== undefined && b.default !== false ? ` [default ${JSON.stringify(b.default)}]` : '';
    return [name, b.description + def];
  });
}

function flagsNamed(...names: string[]): BatonFlag[] {
  return names.map((n) => {
    const flag = BATON_FLAGS.find((b) => b.name === n);
    if (!flag) throw new Error(`no Baton flag --${n}`);
    return flag;
  });
}

function connectorFlagSection(definition: ConnectorDefinition, note?: string): string[] {
  const fields = connectorFields(definition).filter((f) => !f.hidden);
  if (fields.length === 0) return [];
  const rows = fields.map((f): [string, string] => {
    const notes = [
      f.required ? 'required' : '',
      f.secret ? 'secret' : '',
      f.enumValues ? `one of ${f.enumValues.join(', ')}` : '',
      f.default !== undefined && !f.secret ? `default ${JSON.stringify(f.default)}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return [`--${f.flag} (${f.env})`, `${f.description ?? ''}${notes ? ` [${notes}]` : ''}`];
  });
  return [`${definition.metadata.displayName} flags${note ? ` (${note})` : ''}:`, ...formatRows(rows), ''];
}

const SOURCES_NOTE = [
  'Every flag can also be set with its BATON_ environment variable or in a YAML file at $BATON_CONFIG_PATH',
  '(default ./.baton.yaml) whose keys are flag names. Precedence: flag > environment > file > default.',
];

export function helpText(definition: ConnectorDefinition): string {
  const bin = `baton-${definition.name}`;
  const out: string[] = [];
  out.push(`${bin} ${definition.version}: ${definition.metadata.displayName} connector for Baton`);
  if (definition.metadata.description) out.push(definition.metadata.description);
  out.push('');
  out.push('Usage:');
  out.push(`  ${bin} [flags]                         sync into --file (default sync.c1z)`);
  out.push(`  ${bin} --grant-entitlement ID --grant-principal ID --grant-principal-type TYPE`);
  out.push(`  ${bin} --revoke-grant ID | --create-account-login L | --delete-resource ID --delete-resource-type T`);
  out.push(`  ${bin} serve [--listen 127.0.0.1:50051] [--tls-cert F --tls-key F [--tls-client-ca F]]`);
  out.push(`  ${bin} capabilities                    print baton_capabilities.json`);
  out.push(`  ${bin} config                          print the configuration schema as JSON`);
  if (definition.simulator) {
    out.push(`  ${bin} simulator [--port N] [--dataset NAME] [--latency-ms N] [--rate-limits documented|off]`);
    out.push(`                                          run the bundled simulator`);
  }
  out.push(`  ${bin} inspect FILE [stats|resource-types|resources|entitlements|grants|syncs] [flags]`);
  out.push(`  ${bin} <command> --help                per-command help, e.g. ${bin} serve --help`);
  out.push('');
  out.push(...connectorFlagSection(definition));
  for (const group of Object.keys(GROUP_TITLES) as Array<BatonFlag['group']>) {
    if (group === 'simulator' && !definition.simulator) continue;
    const flags = BATON_FLAGS.filter((b) => b.group === group && !b.hidden);
    if (flags.length === 0) continue;
    out.push(`${GROUP_TITLES[group]}:`);
    out.push(...formatRows(batonFlagRows(flags)));
    if (group === 'service') out.push(`  (${bin} runs as a plugin of a host, or locally as above; not as a service)`);
    out.push('');
  }
  out.push(...SOURCES_NOTE);
  out.push('Logs are JSON lines on stderr; stdout carries only command output. Exit codes: 0 ok, 1 error,');
  out.push('130/143 interrupted (SIGINT/SIGTERM). See docs/cli.md in the repository.');
  return out.join('\n') + '\n';
}

/** Help for one command: what it does, its own flags and values, and the connector's flags where they apply. */
export async function commandHelpText(definition: ConnectorDefinition, command: HelpCommand): Promise<string> {
  const bin = `baton-${definition.name}`;
  const out: string[] = [`${bin} ${command}: ${COMMAND_SUMMARY[command]}`, ''];
  const section = (title: string, flags: BatonFlag[]) => {
    out.push(`${title}:`, ...formatRows(batonFlagRows(flags)), '');
  };
  const general = flagsNamed('log-level', 'log-format', 'help');
  switch (command) {
    case 'serve':
      out.push(
        'Usage:',
        `  ${bin} serve [--listen HOST:PORT] [--tls-cert F --tls-key F [--tls-client-ca F]] [-p] [flags]`,
      );
      out.push('');
      out.push('Plaintext is allowed on loopback addresses only; --tls-cert/--tls-key serve TLS, --tls-client-ca');
      out.push('also requires client certificates (mutual TLS). Stops on SIGINT or SIGTERM.', '');
      section('serve flags', [...flagsNamed('listen', 'tls-cert', 'tls-key', 'tls-client-ca', 'provisioning')]);
      out.push(...connectorFlagSection(definition));
      section('General flags', [...flagsNamed('demo'), ...general]);
      break;
    case 'capabilities':
      out.push('Usage:', `  ${bin} capabilities [flags] > baton_capabilities.json`, '');
      out.push('Prints the capabilities as protojson (two-space indent, no trailing newline). The connector is built');
      out.push('without talking to its API, so the flags below are optional unless the connector needs them.', '');
      out.push(...connectorFlagSection(definition, 'optional here'));
      section('General flags', general);
      break;
    case 'config':
      out.push('Usage:', `  ${bin} config`, '');
      out.push('Prints every configuration field (flag, environment variable, type, required, secret, hidden,');
      out.push(
        'description, default), the Baton flags and the JSON Schema of the configuration, as indented JSON.',
        '',
      );
      section('Flags', flagsNamed('help'));
      break;
    case 'simulator': {
      if (!definition.simulator) {
        out.push(`${bin} has no bundled simulator.`);
        break;
      }
      out.push(
        'Usage:',
        `  ${bin} simulator [--port N] [--dataset NAME] [--latency-ms N] [--rate-limits documented|off]`,
        '',
      );
      out.push('Serves a fake of the API on 127.0.0.1 and prints one JSON line: {"baseUrl": ..., "config": {...}},');
      out.push('the flag values that point the connector at it. Runs until SIGINT or SIGTERM, then prints a last line');
      out.push('{"stopped": true, "requests": N, "byStatus": {...}}: the API requests it received, by HTTP status.');
      out.push(
        '`--demo` on any other command starts the same simulator (same flags) for the duration of that command.',
      );
      out.push('');
      section('simulator flags', flagsNamed('port', 'dataset', 'latency-ms', 'rate-limits', 'help'));
      const datasets = (await definition.simulator()).datasets;
      if (datasets?.length) {
        out.push('Datasets (--dataset):');
        out.push(...formatRows(datasets.map((d): [string, string] => [d.name, d.description ?? ''])));
        out.push('');
      }
      break;
    }
    case 'inspect': {
      const { INSPECT_USAGE } = await import('./inspect.js');
      return INSPECT_USAGE.replace(/^Usage: inspect/, `Usage: ${bin} inspect`);
    }
  }
  if (command !== 'config') out.push(...SOURCES_NOTE);
  while (out.at(-1) === '') out.pop();
  return out.join('\n') + '\n';
}
