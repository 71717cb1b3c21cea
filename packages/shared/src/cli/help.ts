/** `--help` text, built from the flag table and the connector's schema. */
import type { ConnectorDefinition } from '../sdk/connector.js';
import { BATON_FLAGS, connectorFields, envNameOf, type BatonFlag } from './flags.js';

const GROUP_TITLES: Record<BatonFlag['group'], string> = {
  general: 'General flags',
  sync: 'Sync flags',
  provisioning: 'One-shot provisioning (ids are looked up in --file)',
  serve: 'serve flags',
  simulator: 'simulator flags',
  service: 'Service mode',
};

function formatRows(rows: Array<[string, string]>): string[] {
  const width = Math.min(44, Math.max(...rows.map(([a]) => a.length)));
  return rows.map(([a, b]) =>
    a.length > width ? `  ${a}\n  ${' '.repeat(width)}  ${b}` : `  ${a.padEnd(width)}  ${b}`,
  );
}

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
    out.push(`  ${bin} simulator [--port N] [--dataset NAME]   run the bundled simulator`);
  }
  out.push(`  ${bin} inspect FILE [resource-types|resources|entitlements|grants|stats] [flags]`);
  out.push('');
  const fields = connectorFields(definition).filter((f) => !f.hidden);
  if (fields.length > 0) {
    out.push(`${definition.metadata.displayName} flags:`);
    out.push(
      ...formatRows(
        fields.map((f) => {
          const notes = [
            f.required ? 'required' : '',
            f.secret ? 'secret' : '',
            f.default !== undefined && !f.secret ? `default ${JSON.stringify(f.default)}` : '',
          ]
            .filter(Boolean)
            .join(', ');
          return [`--${f.flag} (${f.env})`, `${f.description ?? ''}${notes ? ` [${notes}]` : ''}`];
        }),
      ),
    );
    out.push('');
  }
  for (const group of Object.keys(GROUP_TITLES) as Array<BatonFlag['group']>) {
    if (group === 'simulator' && !definition.simulator) continue;
    const flags = BATON_FLAGS.filter((b) => b.group === group && !b.hidden);
    if (flags.length === 0) continue;
    out.push(`${GROUP_TITLES[group]}:`);
    out.push(
      ...formatRows(
        flags.map((b) => {
          const name = `${b.short ? `-${b.short}, ` : ''}--${b.name}${b.configurable ? ` (${envNameOf(b.name)})` : ''}`;
          const def = b.default !== undefined && b.default !== false ? ` [default ${JSON.stringify(b.default)}]` : '';
          return [name, b.description + def];
        }),
      ),
    );
    out.push('');
  }
  out.push('Every flag can also be set with its BATON_ environment variable or in a YAML file at $BATON_CONFIG_PATH');
  out.push('(default ./.baton.yaml) whose keys are flag names. Precedence: flag > environment > file > default.');
  out.push('Logs are JSON lines on stderr; stdout carries only command output.');
  return out.join('\n') + '\n';
}
