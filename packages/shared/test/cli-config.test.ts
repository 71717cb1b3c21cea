/**
 * CLI runner, in process: flag/env/YAML precedence, config errors that name the flag and the variable, secrets,
 * `config`, `capabilities`, `--version`, `--help`, usage errors. (Spawning commands are in cli-process.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineConnector, type ConnectorDefinition } from '../src/sdk/connector.js';
import {
  applyOverlay,
  ConfigError,
  lenientConnectorConfig,
  parseCommandLine,
  rawConnectorInput,
  UsageError,
  validateConnectorConfig,
} from '../src/cli/config.js';
import { connectorFields, endpointHint, envNameOf, flagNameOf } from '../src/cli/flags.js';
import { runCli, type CliIo } from '../src/cli/runner.js';
import { selectAction } from '../src/cli/one-shot.js';
import { createSyncMonitor, renderProgress } from '../src/cli/progress.js';
import type { ChildWaitEvent } from '../src/cli/child-events.js';
import { createLogger } from '../src/log/logger.js';
import type { SyncProgress } from '../src/host/sync.js';
// @ts-expect-error plain JS fixture (compiled SDK), no type declarations
import { acmeConnector as acmeUntyped } from './fixtures/cli-acme.mjs';

const acme = acmeUntyped as ConnectorDefinition;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-config-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

async function run(definition: ConnectorDefinition, argv: string[], env: NodeJS.ProcessEnv = {}, cwd = dir) {
  const out = sink();
  const err = sink();
  const io: CliIo = { stdout: out.stream, stderr: err.stream, env, cwd };
  const code = await runCli(definition, argv, io);
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('flag names', () => {
  it('maps camelCase keys to kebab flags and BATON_ variables', () => {
    expect(flagNameOf('apiKey')).toBe('api-key');
    expect(flagNameOf('baseURL')).toBe('base-url');
    expect(flagNameOf('oauthClientID')).toBe('oauth-client-id');
    expect(envNameOf('grant-entitlement')).toBe('BATON_GRANT_ENTITLEMENT');
    const fields = connectorFields(acme);
    const apiKey = fields.find((f) => f.key === 'apiKey')!;
    expect(apiKey).toMatchObject({
      flag: 'api-key',
      env: 'BATON_API_KEY',
      required: true,
      secret: true,
      hidden: false,
      kind: 'string',
    });
    expect(fields.find((f) => f.key === 'pageSize')).toMatchObject({ kind: 'integer', required: false, default: 50 });
    expect(fields.find((f) => f.key === 'debugKnob')).toMatchObject({ hidden: true, required: false });
    expect(fields.find((f) => f.key === 'includeDisabled')).toMatchObject({ kind: 'boolean', default: false });
  });

  it('refuses a connector field that collides with a Baton flag', () => {
    const bad = defineConnector({
      name: 'bad',
      version: '0',
      metadata: { displayName: 'Bad' },
      config: z.object({ file: z.string() }),
      create: () => ({ syncers: [], validate: async () => {} }),
    });
    expect(() => connectorFields(bad)).toThrow(/collides with the Baton flag --file/);
  });
});

describe('precedence: flag > env > file > default', () => {
  it('takes each source in order, for Baton flags and connector fields', async () => {
    const yamlPath = join(dir, 'prec.yaml');
    writeFileSync(
      yamlPath,
      [
        'api-key: from-file-key',
        'base-url: http://file.example',
        'page-size: 30',
        'log-level: warn',
        'file: file.c1z',
        'domain: filedomain',
        'tags: [a, b]',
      ].join('\n'),
    );
    const env = {
      BATON_CONFIG_PATH: yamlPath,
      BATON_API_KEY: 'from-env-key',
      BATON_PAGE_SIZE: '40',
      BATON_LOG_LEVEL: 'error',
    };
    const parsed = await parseCommandLine(acme, ['--page-size', '60'], env, dir);
    const input = rawConnectorInput(parsed);
    expect(input).toMatchObject({
      apiKey: 'from-env-key',
      baseUrl: 'http://file.example',
      pageSize: 60,
      domain: 'filedomain',
      tags: ['a', 'b'],
    });
    expect(parsed.connector.get('apiKey')?.source).toBe('env');
    expect(parsed.connector.get('baseUrl')?.source).toBe('file');
    expect(parsed.connector.get('pageSize')?.source).toBe('flag');
    expect(parsed.baton.get('log-level')).toEqual({ value: 'error', source: 'env' });
    expect(parsed.baton.get('file')).toEqual({ value: 'file.c1z', source: 'file' });
    expect(parsed.configFile).toBe(yamlPath);

    const config = validateConnectorConfig(acme, parsed) as Record<string, unknown>;
    expect(config).toMatchObject({ apiKey: 'from-env-key', pageSize: 60, includeDisabled: false });

    const defaults = await parseCommandLine(acme, [], {}, mkdtempSync(join(dir, 'empty-')));
    expect(defaults.baton.get('file')).toEqual({ value: 'sync.c1z', source: 'default' });
    expect(defaults.baton.get('log-level')).toEqual({ value: 'info', source: 'default' });
    expect(defaults.configFile).toBeUndefined();
  });

  it('reads ./.baton.yaml by default and refuses a BATON_CONFIG_PATH that is not YAML', async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    writeFileSync(join(cwd, '.baton.yaml'), 'api-key: k-from-dotfile\nprovisioning: true\n');
    const parsed = await parseCommandLine(acme, [], {}, cwd);
    expect(parsed.connector.get('apiKey')).toEqual({ value: 'k-from-dotfile', source: 'file' });
    expect(parsed.baton.get('provisioning')).toEqual({ value: true, source: 'file' });
    await expect(parseCommandLine(acme, [], { BATON_CONFIG_PATH: join(cwd, 'conf.json') }, cwd)).rejects.toThrow(
      /must name a \.yaml or \.yml file/,
    );
    await expect(parseCommandLine(acme, [], { BATON_CONFIG_PATH: join(cwd, 'nope.yml') }, cwd)).rejects.toThrow(
      /does not exist/,
    );
  });

  it('parses booleans from flags (also --flag=false), env and file', async () => {
    const cwd = mkdtempSync(join(dir, 'bool-'));
    const a = await parseCommandLine(acme, ['--include-disabled', '-p'], {}, cwd);
    expect(rawConnectorInput(a).includeDisabled).toBe(true);
    expect(a.baton.get('provisioning')?.value).toBe(true);
    const b = await parseCommandLine(
      acme,
      ['--include-disabled=false', '--provisioning=false'],
      { BATON_INCLUDE_DISABLED: 'true', BATON_PROVISIONING: '1' },
      cwd,
    );
    expect(rawConnectorInput(b).includeDisabled).toBe(false);
    expect(b.baton.get('provisioning')).toEqual({ value: false, source: 'flag' });
    const c = await parseCommandLine(acme, [], { BATON_INCLUDE_DISABLED: 'true', BATON_SKIP_FULL_SYNC: 'TRUE' }, cwd);
    expect(rawConnectorInput(c).includeDisabled).toBe(true);
    expect(c.baton.get('skip-full-sync')?.value).toBe(true);
    await expect(parseCommandLine(acme, [], { BATON_DEMO: 'maybe' }, cwd)).rejects.toThrow(ConfigError);
  });

  it('puts --demo values above flags', async () => {
    const parsed = await parseCommandLine(acme, ['--api-key', 'user-key', '--base-url', 'http://user'], {}, dir);
    const unknown = applyOverlay(parsed, { 'api-key': 'sim-key', 'base-url': 'http://sim', 'no-such': 'x' });
    expect(unknown).toEqual(['no-such']);
    expect(rawConnectorInput(parsed)).toMatchObject({ apiKey: 'sim-key', baseUrl: 'http://sim' });
    expect(parsed.connector.get('apiKey')?.source).toBe('demo');
  });
});

describe('config errors', () => {
  it('name the flag and the variable, one line per field, exit 1', async () => {
    const r = await run(acme, ['--domain', 'Not Valid', '--page-size', '999']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContain('invalid configuration: --api-key (BATON_API_KEY) is required');
    expect(lines).toContain('invalid configuration: --base-url (BATON_BASE_URL) is required');
    expect(lines).toContain(
      'invalid configuration: --domain (BATON_DOMAIN): must be lowercase letters, digits and dashes',
    );
    expect(lines.some((l) => l.startsWith('invalid configuration: --page-size (BATON_PAGE_SIZE): '))).toBe(true);
  });

  it('never print a secret, even when the schema echoes the input', async () => {
    const echoing = defineConnector({
      name: 'echo',
      version: '0',
      metadata: { displayName: 'Echo' },
      config: z.object({
        token: z
          .string()
          .refine((v) => v.startsWith('tok_'), { error: (iss) => `token ${String(iss.input)} must start with tok_` })
          .meta({ secret: true }),
      }),
      create: () => ({ syncers: [], validate: async () => {} }),
    });
    // A different secret for every source, since the redaction registry is process-wide.
    const cases: Array<{ argv: string[]; env?: NodeJS.ProcessEnv; yaml?: string; secret: string }> = [
      { argv: ['--token', 'sk_live_flag_9c1e55'], secret: 'sk_live_flag_9c1e55' },
      { argv: ['--token=sk_live_inline_77ab'], secret: 'sk_live_inline_77ab' },
      { argv: [], env: { BATON_TOKEN: 'sk_live_env_1f2e3d' }, secret: 'sk_live_env_1f2e3d' },
      { argv: [], yaml: 'token: sk_live_file_a0b1c2\n', secret: 'sk_live_file_a0b1c2' },
    ];
    for (const c of cases) {
      const cwd = mkdtempSync(join(dir, 'sec-'));
      if (c.yaml) writeFileSync(join(cwd, '.baton.yaml'), c.yaml);
      const r = await run(echoing, c.argv, c.env ?? {}, cwd);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('invalid configuration: --token (BATON_TOKEN): token [REDACTED] must start with tok_\n');
      expect(r.stdout).not.toContain(c.secret);
    }
  });

  it('reports Baton flag mistakes and usage errors clearly', async () => {
    expect((await run(acme, ['--log-level', 'loud'])).stderr).toContain(
      'invalid configuration: --log-level (BATON_LOG_LEVEL) must be debug, info, warn or error, got "loud"',
    );
    expect((await run(acme, ['--no-such-flag'])).stderr).toBe('error: unknown flag --no-such-flag (see --help)\n');
    expect((await run(acme, ['--api-kye=acme-key-123'])).stderr).toBe(
      'error: unknown flag --api-kye: did you mean --api-key? (see --help)\n',
    );
    // A stray word may be a secret whose flag name was forgotten: its position is named, never the word.
    const stray = await run(acme, ['--base-url', 'http://127.0.0.1:1', 'acme-secret-7731']);
    expect(stray.code).toBe(1);
    expect(stray.stderr).toMatch(/^error: argument 3 is not a command; it is not shown in case it is a secret\./);
    expect(stray.stderr).not.toContain('acme-secret-7731');
    const afterSwitch = await run(acme, ['--demo', 'acme-secret-7731']);
    expect(afterSwitch.stderr).toContain('argument 2 is not a command (it follows --demo, which takes no value)');
    expect(afterSwitch.stderr).not.toContain('acme-secret-7731');
    const extra = await run(acme, ['config', 'acme-secret-7731']);
    expect(extra.stderr).toContain('argument 2 is not expected after "config"');
    expect(extra.stderr).not.toContain('acme-secret-7731');
    // A near miss of a command is safe to show, with the command meant.
    expect((await run(acme, ['capabilites'])).stderr).toBe(
      'error: unknown command "capabilites": did you mean "capabilities"? (see --help)\n',
    );
    const svc = await run(acme, ['--client-id', 'cid', '--client-secret', 'csecret-123456']);
    expect(svc.code).toBe(1);
    expect(svc.stderr).toMatch(/service mode .* is not supported by baton-acme: a host runs it as a plugin/);
    expect(svc.stderr).not.toContain('csecret-123456');
  });

  it('--demo and simulator need a bundled simulator', async () => {
    const plain = defineConnector({
      name: 'plain',
      version: '0',
      metadata: { displayName: 'Plain' },
      config: z.object({}),
      create: () => ({ syncers: [], validate: async () => {} }),
    });
    for (const argv of [['--demo'], ['simulator'], ['serve', '--demo']]) {
      const r = await run(plain, argv);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        'error: baton-plain has no bundled simulator, so --demo and `simulator` are not available\n',
      );
    }
  });

  it('checks one-shot flag combinations in v0.2.45 precedence', async () => {
    const action = async (argv: string[]) => selectAction(await parseCommandLine(acme, argv, {}, dir));
    expect(await action([])).toEqual({ kind: 'sync' });
    expect(
      await action([
        '--revoke-grant',
        'g',
        '--grant-entitlement',
        'e',
        '--grant-principal',
        'p',
        '--grant-principal-type',
        't',
      ]),
    ).toMatchObject({ kind: 'grant' });
    expect(await action(['--revoke-grant', 'g', '--create-account-login', 'l'])).toEqual({
      kind: 'revoke',
      grantId: 'g',
    });
    expect(
      await action([
        '--create-account-login',
        'l',
        '--create-account-profile',
        '{"a":1}',
        '--delete-resource',
        'x',
        '--delete-resource-type',
        'user',
      ]),
    ).toEqual({
      kind: 'create-account',
      login: 'l',
      email: undefined,
      profile: { a: 1 },
      resourceTypeId: undefined,
    });
    expect(await action(['--delete-resource', 'x', '--delete-resource-type', 'user'])).toEqual({
      kind: 'delete-resource',
      resourceId: 'x',
      resourceType: 'user',
    });
    await expect(action(['--grant-entitlement', 'e'])).rejects.toThrow(
      /requires --grant-principal \(BATON_GRANT_PRINCIPAL\) and --grant-principal-type/,
    );
    await expect(action(['--delete-resource', 'x'])).rejects.toThrow(/requires --delete-resource-type/);
    await expect(action(['--create-account-login', 'l', '--create-account-profile', '[1]'])).rejects.toThrow(
      /must be a JSON object/,
    );
  });
});

describe('commands that need no connector service', () => {
  it('--version and --help', async () => {
    expect(await run(acme, ['--version'])).toMatchObject({ code: 0, stdout: 'baton-acme 1.2.3\n' });
    const help = await run(acme, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--api-key (BATON_API_KEY)');
    expect(help.stdout).toContain('--grant-entitlement');
    expect(help.stdout).not.toContain('--debug-knob'); // hidden
    expect(help.stdout).not.toContain('--summary-json'); // hidden
  });

  it('config prints the schema as indented JSON', async () => {
    const r = await run(acme, ['config']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\{\n {2}"connector": "baton-acme"/);
    const doc = JSON.parse(r.stdout);
    const byName = Object.fromEntries(doc.fields.map((f: { name: string }) => [f.name, f]));
    expect(byName.apiKey).toEqual({
      name: 'apiKey',
      flag: '--api-key',
      env: 'BATON_API_KEY',
      type: 'string',
      required: true,
      secret: true,
      hidden: false,
      description: 'Acme API key',
    });
    expect(byName.pageSize).toMatchObject({ type: 'integer', required: false, default: 50 });
    expect(byName.includeDisabled).toMatchObject({ type: 'boolean', default: false });
    expect(byName.tags).toMatchObject({ type: 'array', required: false });
    expect(byName.debugKnob).toMatchObject({ hidden: true });
    expect(doc.jsonSchema.required).toEqual(['apiKey', 'baseUrl']);
    expect(doc.batonFlags.find((b: { flag: string }) => b.flag === '--file')).toMatchObject({
      env: 'BATON_FILE',
      default: 'sync.c1z',
      short: '-f',
    });
  });

  it('capabilities: @type first, sorted by resource type, no trailing newline, even without a valid config', async () => {
    const r = await run(acme, ['capabilities']);
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(false);
    expect(r.stdout.startsWith('{\n  "@type": "type.googleapis.com/c1.connector.v2.ConnectorCapabilities",\n')).toBe(
      true,
    );
    const doc = JSON.parse(r.stdout);
    expect(doc.resourceTypeCapabilities.map((c: { resourceType: { id: string } }) => c.resourceType.id)).toEqual([
      'group',
      'user',
    ]);
    const group = doc.resourceTypeCapabilities[0];
    expect(group.capabilities).toContain('CAPABILITY_PROVISION');
    // Nested Any values keep @type first too.
    const user = doc.resourceTypeCapabilities[1];
    expect(Object.keys(user.resourceType.annotations[0])[0]).toBe('@type');
    // Stable: the same bytes with a full config.
    const again = await run(acme, ['capabilities', '--api-key', 'k', '--base-url', 'http://127.0.0.1:1']);
    expect(again.stdout).toBe(r.stdout);
  });

  it('lenient config keeps valid values and gives the others their default or the neutral value of their type', async () => {
    const parsed = await parseCommandLine(
      acme,
      ['--page-size', '7', '--domain', 'NOT VALID', '--tags', 'a,b'],
      {},
      dir,
    );
    expect(() => validateConnectorConfig(acme, parsed)).toThrow(ConfigError);
    expect(lenientConnectorConfig(acme, parsed)).toEqual({
      apiKey: '',
      baseUrl: '',
      domain: '',
      pageSize: 7,
      includeDisabled: false,
      tags: ['a', 'b'],
      crashOnList: false,
    });
  });

  it('capabilities of a connector that cannot be built without its config names the missing flags', async () => {
    const strict = defineConnector({
      name: 'strict',
      version: '0',
      metadata: { displayName: 'Strict' },
      config: z.object({ baseUrl: z.url().describe('API URL') }),
      create: (cfg) => {
        new URL(cfg.baseUrl); // throws on ''
        return { syncers: [], validate: async () => {} };
      },
    });
    const r = await run(strict, ['capabilities']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('invalid configuration: --base-url (BATON_BASE_URL) is required\n');
    expect((await run(strict, ['capabilities', '--base-url', 'https://api.example.com'])).code).toBe(0);
  });

  it('throws UsageError for --bool=garbage', async () => {
    await expect(parseCommandLine(acme, ['--demo=perhaps'], {}, dir)).rejects.toThrow(UsageError);
  });
});

describe('the flag to check when the API cannot be reached', () => {
  it('names the endpoint field whose value names the failing host, else the first one set', async () => {
    const parsed = await parseCommandLine(
      acme,
      ['--base-url', 'https://api.example.com/v1', '--domain', 'acme-corp', '--api-key', 'k-123456'],
      {},
      dir,
    );
    const hint = endpointHint(acme, parsed)!;
    expect(hint('api.example.com')).toBe('--base-url (BATON_BASE_URL)');
    expect(hint('acme-corp.example.net:443')).toBe('--domain (BATON_DOMAIN)');
    expect(hint('corp.example.net')).toBe('--base-url (BATON_BASE_URL)'); // no whole-label match: the first set
    const domainOnly = await parseCommandLine(acme, ['--domain', 'acme-corp'], {}, dir);
    expect(endpointHint(acme, domainOnly)!('elsewhere.example')).toBe('--domain (BATON_DOMAIN)');
    // A definition that lists its endpoint fields is taken at its word; the API key is never a candidate.
    const declared = { ...acme, endpointFields: ['domain'] } as ConnectorDefinition;
    expect(endpointHint(declared, parsed)!('api.example.com')).toBe('--domain (BATON_DOMAIN)');
    const none = defineConnector({
      name: 'none',
      version: '0',
      metadata: { displayName: 'None' },
      config: z.object({ apiKey: z.string() }),
      create: () => ({ syncers: [], validate: async () => {} }),
    });
    expect(endpointHint(none, await parseCommandLine(none, [], {}, dir))).toBeUndefined();
  });
});

describe('progress display', () => {
  const progress: SyncProgress = {
    phase: 'grants',
    resourceTypeId: 'group',
    perType: {
      user: { resources: 5, entitlements: 0, grants: 0 },
      group: { resources: 2, entitlements: 2, grants: 3 },
    },
    totals: { resourceTypes: 2, resources: 7, entitlements: 2, grants: 3, expandedGrants: 0 },
    rpcCount: 12,
    retries: 0,
    rateLimitWaits: 1,
    rateLimitWaitMs: 1500,
    serverStats: { apiRequests: 9, rateLimitWaits: 2, rateLimitWaitMs: 500, retries: 0 },
    elapsedMs: 2345,
  };

  it('renders per-type counts, RPCs, API requests and rate-limit waits', () => {
    const lines = renderProgress(progress);
    expect(lines[0]).toBe('listing grants (group) · 2.3s · RPCs 12 · API requests 9 · rate-limit waits 3 (2.0s)');
    expect(lines[1]).toMatch(/resource type\s+resources\s+entitlements\s+grants/);
    expect(lines[2]).toMatch(/^ {2}group\s+2\s+2\s+3$/);
    expect(lines[3]).toMatch(/^ {2}user\s+5\s+0\s+0$/);
  });

  /** The connector's counters in the event: `waits` rate-limit waits, the newest of 18 s. */
  const waitEvent = (type: 'wait-started' | 'wait-ended', waits: number): ChildWaitEvent => ({
    type,
    wait: {
      service: 'acme',
      method: 'GET',
      path: '/users',
      reason: 'rate-limit',
      status: 429,
      waitMs: 18_000,
      startedAt: 1,
      attempt: 1,
    },
    stats: { apiRequests: 11, rateLimitWaits: waits, rateLimitWaitMs: 500 + 18_000, retries: waits },
  });

  it('on a terminal: redraws in place, keeps other writes above, ticks every second and counts a wait down', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const writes: string[] = [];
      const fake = {
        write: (s: string) => (writes.push(String(s)), true),
        columns: 120,
      } as unknown as NodeJS.WriteStream;
      const logger = createLogger({ write: (l) => void fake.write(l) });
      const monitor = createSyncMonitor({
        logger,
        connector: { name: 'acme', displayName: 'Acme' },
        interactive: true,
        stream: fake,
      });
      monitor.update(progress);
      expect(writes.length).toBe(1);
      expect(writes[0]).toContain('listing grants (group) · 0.0s');
      monitor.update({ ...progress, rpcCount: 13 }); // within 100 ms: deferred
      expect(writes.length).toBe(1);
      fake.write('a log line\n');
      // erase block, the log line, the block again
      expect(writes.slice(1)).toEqual([`\x1b[4A\r\x1b[J`, 'a log line\n', expect.stringContaining('RPCs 13')]);

      // A wait inside the connector: the countdown appears at once and the wait counts as soon as it starts.
      monitor.childEvent(waitEvent('wait-started', 3));
      expect(writes.at(-1)).toContain('  rate limited by Acme: resuming in 18 s\n');
      expect(writes.at(-1)).toContain('API requests 11 · rate-limit waits 4 (20.0s)');
      // Nothing else happens for 5 s: the block still moves (elapsed time, countdown).
      vi.advanceTimersByTime(5_000);
      expect(writes.at(-1)).toContain('listing grants (group) · 5.0s');
      expect(writes.at(-1)).toContain('resuming in 13 s');
      monitor.childEvent(waitEvent('wait-ended', 3));
      expect(writes.at(-1)).not.toContain('resuming');
      monitor.stop();
      expect(writes.at(-1)).toMatch(/^\x1b\[\d+A\r\x1b\[J$/);
      const count = writes.length;
      fake.write('after\n');
      vi.advanceTimersByTime(5_000);
      expect(writes.length).toBe(count + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('without a terminal: an info line per finished type and every interval, with the wait in progress', () => {
    vi.useFakeTimers({ now: 2_000_000 });
    try {
      const lines: Array<Record<string, unknown>> = [];
      const logger = createLogger({ write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
      const monitor = createSyncMonitor({
        logger,
        connector: { name: 'acme', displayName: 'Acme' },
        interactive: false,
        intervalMs: 10_000,
      });
      monitor.update(progress);
      monitor.typeFinished({
        phase: 'grants',
        resourceTypeId: 'group',
        counts: { resources: 2, entitlements: 2, grants: 3 },
        elapsedMs: 1234,
      });
      expect(lines).toEqual([
        expect.objectContaining({
          level: 'info',
          msg: 'finished grants of group',
          resourceType: 'group',
          resources: 2,
          grants: 3,
          seconds: 1.2,
        }),
      ]);
      vi.advanceTimersByTime(9_999);
      expect(lines.length).toBe(1);
      monitor.childEvent(waitEvent('wait-started', 1));
      vi.advanceTimersByTime(1);
      expect(lines[1]).toMatchObject({
        level: 'info',
        msg: 'sync progress',
        phase: 'grants',
        resourceType: 'group',
        seconds: 10,
        resources: 7,
        grants: 3,
        apiRequests: 11,
        rpcs: 12,
        rateLimitWaits: 3, // 1 of the sync engine, 2 of the connector (the stats header is newer than the event)
        rateLimitWaitSeconds: 20,
        waiting: 'rate limited by Acme: resuming in 18 s',
      });
      vi.advanceTimersByTime(10_000);
      expect(lines[2]).toMatchObject({ seconds: 20, waiting: 'rate limited by Acme: resuming in 8 s' });
      vi.advanceTimersByTime(10_000);
      expect(lines[3]).toMatchObject({ seconds: 30 });
      expect(lines[3].waiting).toBeUndefined();
      monitor.stop();
      vi.advanceTimersByTime(60_000);
      expect(lines.length).toBe(4);
    } finally {
      vi.useRealTimers();
    }
  });
});
