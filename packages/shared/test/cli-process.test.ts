/**
 * CLI runner through real processes and sockets (needs `npm run build`: the bins import the compiled SDK):
 * the default sync through the self-spawn handshake, JSONL output, a dying connector, one-shot grant/revoke round
 * trips, `serve` answering gRPC, `simulator`, `--demo` (parent/child simulator handoff, and a host passing
 * `--demo` to the plugin), and the `npm run demo` driver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncStore } from '../src/c1z/store.js';
import { GrpcConnectorClient } from '../src/host/client.js';
import { spawnConnector } from '../src/host/spawn.js';
import { runSync } from '../src/host/sync.js';
// @ts-expect-error plain JS fixture (compiled SDK), no type declarations
import { startAcmeSimulator, API_KEY } from './fixtures/cli-acme.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, 'fixtures', 'cli-acme-main.mjs');
const DEMO_JS = join(here, '..', 'dist', 'cli', 'demo.js');

interface Sim {
  baseUrl: string;
  config: Record<string, string>;
  mutations: string[];
  requestCount(): number;
  close(): Promise<void>;
}

let dir: string;
let sim: Sim;
/** Environment without any BATON_ variable of the machine running the tests. */
const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('BATON_')),
);

beforeAll(async () => {
  if (!existsSync(join(here, '..', 'dist', 'cli', 'runner.js')))
    throw new Error('run `npm run build` first: the CLI bins use dist/');
  dir = mkdtempSync(join(tmpdir(), 'cli-process-test-'));
  sim = await startAcmeSimulator();
});
/** Long-running commands started by a test; killed here if a failing test left them running. */
const live = new Set<ChildProcess>();

afterAll(async () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

function runBin(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; bin?: string } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {
      cwd: options.cwd ?? dir,
      env: options.env ?? cleanEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const creds = () => ['--api-key', API_KEY, '--base-url', sim.baseUrl];

/** Spawns a long-running command and resolves with its first stdout line. */
function startLongRunning(
  args: string[],
): Promise<{ child: ChildProcess; firstLine: string; rest: () => string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: cleanEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    let stderr = '';
    child.stderr!.on('data', (c) => (stderr += c));
    const lines: string[] = [];
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      lines.push(line);
      if (lines.length === 1)
        resolve({ child, firstLine: line, rest: () => lines.slice(1).join('\n'), stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

async function readC1z(path: string) {
  const store = await SyncStore.openC1z(path);
  try {
    return {
      counts: store.counts(),
      grantIds: [...store.grants()].map((g) => g.id).sort(),
    };
  } finally {
    store.close();
  }
}

describe('default sync (self-spawn through the real handshake)', () => {
  it('writes a c1z that SyncStore reads back, prints a summary on stdout and nothing else', async () => {
    const file = join(dir, 'acme.c1z');
    const summaryPath = join(dir, 'summary.json');
    const before = sim.requestCount();
    const r = await runBin([...creds(), '--file', file, '--summary-json', summaryPath]);
    expect(r.stderr).not.toContain(API_KEY);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^baton-acme: synced 2 resource types into .*acme\.c1z \(c1z\) in [\d.]+s\n/);
    expect(r.stdout).toMatch(/ {2}group\s+2\s+2\s+3\n/);
    expect(r.stdout).toMatch(/ {2}user\s+5\s+0\s+0\n/);
    expect(r.stdout).toContain('API requests 5');
    // JSON logs went to stderr (info level by default), never to stdout.
    expect(r.stdout).not.toContain('"level"');
    expect(r.stderr).toContain('"msg":"sync finished"');

    const { counts, grantIds } = await readC1z(file);
    expect(counts).toEqual({ resourceTypes: 2, resources: { group: 2, user: 5 }, entitlements: 2, grants: 3 });
    expect(grantIds).toEqual(['group:g1:member:user:u1', 'group:g1:member:user:u2', 'group:g2:member:user:u3']);

    // `inspect` is mounted as a subcommand.
    const inspect = await runBin(['--log-level', 'warn', 'inspect', file, 'stats']);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toMatch(/resources\s+user\s+5/);

    const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
    expect(summary).toMatchObject({
      connector: 'acme',
      resourceTypes: 2,
      resources: 7,
      entitlements: 2,
      grants: 3,
      apiRequests: 5,
    });
    expect(sim.requestCount() - before).toBe(5); // validate + users + groups + 2 member lists
  });

  it('runs the shared fixture connector (child types, grant expansion) the same way', async () => {
    const bin = join(here, '..', 'dist', 'testing', 'fixture-connector-main.js');
    const file = join(dir, 'fixture.c1z');
    const summaryPath = join(dir, 'fixture-summary.json');
    const r = await runBin(['--file', file, '--summary-json', summaryPath, '--log-level', 'warn'], { bin });
    expect(r.code, r.stderr).toBe(0);
    expect((await readC1z(file)).counts.resources).toEqual({ group: 3, project: 6, user: 12 });
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
    expect(summary.expandedGrants).toBeGreaterThan(0);
    expect(r.stdout).toContain(`expanded grants ${summary.expandedGrants}`);
  });

  it('writes JSON Lines for a .jsonl name or --output-format jsonl, and honours --quiet', async () => {
    for (const [args, file] of [
      [['--file', join(dir, 'out', 'acme.jsonl')], join(dir, 'out', 'acme.jsonl')],
      [['--file', join(dir, 'acme.data'), '--output-format', 'jsonl', '--quiet'], join(dir, 'acme.data')],
    ] as const) {
      const r = await runBin([...creds(), ...args, '--log-level', 'warn']);
      expect(r.code, r.stderr).toBe(0);
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const kinds = lines.reduce<Record<string, number>>((acc, l) => ((acc[l.kind] = (acc[l.kind] ?? 0) + 1), acc), {});
      expect(kinds).toEqual({ resource_type: 2, resource: 7, entitlement: 2, grant: 3 });
      if (args.includes('--quiet')) expect(r.stdout).toBe('');
      else expect(r.stdout).toContain('(jsonl)');
    }
  });

  it('reports a connector that dies mid-sync with its exit status and stderr, and writes no file', async () => {
    const file = join(dir, 'crash.c1z');
    const r = await runBin([...creds(), '--file', file, '--crash-on-list', '--log-level', 'error']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: sync failed: .*exited with code 7/);
    expect(r.stderr).toContain('acme: simulated crash while listing users');
    expect(existsSync(file)).toBe(false);
  });

  it('--skip-full-sync validates and writes an empty sync', async () => {
    const file = join(dir, 'empty.c1z');
    const r = await runBin([...creds(), '--file', file, '--skip-full-sync', '--log-level', 'warn']);
    expect(r.code, r.stderr).toBe(0);
    expect((await readC1z(file)).counts).toEqual({ resourceTypes: 0, resources: {}, entitlements: 0, grants: 0 });
  });
});

describe('one-shot provisioning', () => {
  it('grant / revoke round trip, idempotent without mutating calls', async () => {
    const file = join(dir, 'prov.c1z');
    const env = {
      ...cleanEnv,
      BATON_API_KEY: API_KEY,
      BATON_BASE_URL: sim.baseUrl,
      BATON_LOG_LEVEL: 'warn',
      BATON_FILE: file,
    };
    expect((await runBin(['-q'], { env })).code).toBe(0);
    const grantArgs = [
      '--grant-entitlement',
      'group:g2:member',
      '--grant-principal',
      'u1',
      '--grant-principal-type',
      'user',
    ];
    const mutationsBefore = sim.mutations.length;

    expect(await runBin(grantArgs, { env })).toMatchObject({ code: 0, stdout: 'granted\n' });
    expect(sim.mutations.slice(mutationsBefore)).toEqual(['add u1 to g2']);
    // The file the ids came from now holds the grant, without a new sync.
    expect((await readC1z(file)).grantIds).toContain('group:g2:member:user:u1');
    expect(await runBin(grantArgs, { env })).toMatchObject({ code: 0, stdout: 'already granted (no change)\n' });
    expect(sim.mutations.length).toBe(mutationsBefore + 1);

    expect(await runBin(['--revoke-grant', 'group:g2:member:user:u1'], { env })).toMatchObject({
      code: 0,
      stdout: 'revoked\n',
    });
    expect(await runBin(['--revoke-grant', 'group:g2:member:user:u1'], { env })).toMatchObject({
      code: 0,
      stdout: 'already revoked (no change)\n',
    });
    expect(sim.mutations.slice(mutationsBefore)).toEqual(['add u1 to g2', 'remove u1 from g2']);
    expect((await readC1z(file)).grantIds).not.toContain('group:g2:member:user:u1');

    const missing = await runBin(['--revoke-grant', 'group:g9:member:user:u1'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error: grant "group:g9:member:user:u1" not found');
    const noFile = await runBin(grantArgs, { env: { ...env, BATON_FILE: join(dir, 'nope.c1z') } });
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toMatch(/error: sync file .*nope\.c1z does not exist/);
  });

  it('create-account and delete-resource print one line each', async () => {
    const env = { ...cleanEnv, BATON_API_KEY: API_KEY, BATON_BASE_URL: sim.baseUrl, BATON_LOG_LEVEL: 'warn' };
    expect(
      await runBin(['--create-account-login', 'zed', '--create-account-email', 'zed@acme.test'], { env }),
    ).toMatchObject({
      code: 0,
      stdout: 'account created: user:zed\n',
    });
    expect(await runBin(['--delete-resource', 'zed', '--delete-resource-type', 'user'], { env })).toMatchObject({
      code: 0,
      stdout: 'deleted\n',
    });
    expect(await runBin(['--delete-resource', 'zed', '--delete-resource-type', 'user'], { env })).toMatchObject({
      code: 0,
      stdout: 'already deleted\n',
    });
  });
});

describe('serve and simulator', () => {
  it('serve prints its address and answers gRPC until SIGTERM', async () => {
    const { child, firstLine } = await startLongRunning([
      'serve',
      '--listen',
      '127.0.0.1:0',
      ...creds(),
      '--log-level',
      'warn',
    ]);
    const m = /^serving gRPC \(and Connect\) on (127\.0\.0\.1:\d+) \(plaintext\)$/.exec(firstLine);
    expect(m).not.toBeNull();
    const raw = new grpc.Client(m![1], grpc.credentials.createInsecure());
    const client = new GrpcConnectorClient(raw, { rateLimitGate: false });
    try {
      const types = await client.listResourceTypes({});
      expect(types.list.map((t) => t.id)).toEqual(['user', 'group']);
      const users = await client.listResources({ resourceTypeId: 'user' });
      expect(users.list).toHaveLength(5);
      // Provisioning is off without --provisioning.
      const grant = {
        id: 'group:g1:member:user:u1',
        entitlement: { id: 'group:g1:member', resource: { id: { resourceType: 'group', resource: 'g1' } } },
        principal: { id: { resourceType: 'user', resource: 'u1' } },
      };
      await expect(client.revoke({ grant })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    } finally {
      client.close();
    }
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
  });

  it('simulator prints one JSON line with the URL and credentials, serves until SIGINT, then prints what it served', async () => {
    const { child, firstLine, rest } = await startLongRunning(['simulator', '--dataset', 'large']);
    const info = JSON.parse(firstLine);
    expect(Object.keys(info)).toEqual(['baseUrl', 'config']);
    expect(info.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.config).toEqual({ 'base-url': info.baseUrl, 'api-key': API_KEY });
    const res = await fetch(`${info.baseUrl}/users`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(((await res.json()) as { users: unknown[] }).users).toHaveLength(40);
    expect((await fetch(`${info.baseUrl}/users`)).status).toBe(401);
    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(0);
    if (!child.stdout!.closed) await new Promise((resolve) => child.stdout!.once('close', resolve));
    expect(JSON.parse(rest())).toEqual({ stopped: true, requests: 2, byStatus: { '200': 1, '401': 1 } });
  });

  it('simulator refuses a bad --port, --latency-ms or --rate-limits', async () => {
    const r = await runBin(['simulator', '--port', 'eighty']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('invalid configuration: --port (BATON_PORT) must be a port number');
    const latency = await runBin(['simulator', '--latency-ms', '1.5']);
    expect(latency.code).toBe(1);
    expect(latency.stderr).toContain('--latency-ms (BATON_LATENCY_MS) must be a whole number of milliseconds');
    const limits = await runBin(['simulator', '--rate-limits', 'sometimes']);
    expect(limits.code).toBe(1);
    expect(limits.stderr).toContain('--rate-limits (BATON_RATE_LIMITS) must be documented or off, got "sometimes"');
  });
});

describe('--demo', () => {
  it('the parent starts the simulator and the spawned child uses it (no credentials given)', async () => {
    const file = join(dir, 'demo.c1z');
    const r = await runBin(['--demo', '--file', file, '--log-level', 'debug']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/demo: bundled simulator started/g)).toHaveLength(1);
    expect(r.stderr).toContain('demo: using the simulator of the parent process');
    expect(r.stderr).not.toContain(API_KEY);
    expect((await readC1z(file)).counts.resources).toEqual({ group: 2, user: 5 });

    // One-shot provisioning with --demo: a fresh simulator each run, so a grant from the demo dataset always works.
    const grant = [
      '--demo',
      '--file',
      file,
      '--grant-entitlement',
      'group:g2:member',
      '--grant-principal',
      'u1',
      '--grant-principal-type',
      'user',
      '--log-level',
      'warn',
    ];
    expect(await runBin(grant)).toMatchObject({ code: 0, stdout: 'granted\n' });
    expect(await runBin(grant)).toMatchObject({ code: 0, stdout: 'granted\n' });
    expect(
      await runBin(['--demo', '--file', file, '--revoke-grant', 'group:g1:member:user:u1', '--log-level', 'warn']),
    ).toMatchObject({
      code: 0,
      stdout: 'revoked\n',
    });
  });

  it('a host that passes --demo to the plugin gets a working plugin (_connector-service starts its own simulator)', async () => {
    const proc = await spawnConnector({
      command: process.execPath,
      args: [BIN, '--demo', '--log-level', 'warn'],
      env: cleanEnv,
      stderr: 'pipe',
    });
    const store = SyncStore.create();
    try {
      const summary = await runSync(proc.client, store);
      expect(summary).toMatchObject({ resourceTypes: 2, resources: 7, grants: 3, apiRequests: 5 });
    } finally {
      await proc.close();
      store.close();
    }
  });
});

describe('npm run demo driver', () => {
  it('syncs every baton-* bin of the workspace and prints the table; fails with the stderr tail of a broken one', async () => {
    const root = join(dir, 'workspace');
    const pkg = (name: string, manifest: object) => {
      mkdirSync(join(root, 'packages', name), { recursive: true });
      writeFileSync(join(root, 'packages', name, 'package.json'), JSON.stringify(manifest));
    };
    pkg('shared', { name: '@x/shared', bin: { 'baton-inspect': 'inspect.js' } });
    pkg('acme', { name: '@x/acme', bin: { 'baton-acme': BIN } });
    pkg('notes', { name: '@x/notes' });
    const env = { ...cleanEnv, BATON_DEMO_ROOT: root };
    const ok = await runBin([], { bin: DEMO_JS, env, cwd: root });
    expect(ok.code).toBe(0);
    const lines = ok.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^connector\s+resource types\s+resources\s+entitlements\s+grants\s+API requests\s+seconds$/,
    );
    expect(lines[2]).toMatch(/^acme\s+2\s+7\s+2\s+3\s+5\s+[\d.]+$/);
    expect(existsSync(join(root, 'out', 'acme.c1z'))).toBe(true);
    expect((await readC1z(join(root, 'out', 'acme.c1z'))).counts.resources).toEqual({ group: 2, user: 5 });

    const broken = join(root, 'broken.mjs');
    writeFileSync(broken, "process.stderr.write('broken: cannot reach anything\\n'); process.exit(3);\n");
    pkg('broken', { name: '@x/broken', bin: { 'baton-broken': broken } });
    const bad = await runBin([], { bin: DEMO_JS, env, cwd: root });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/\nbroken\s+-\s+-\s+-\s+-\s+-\s+FAILED\n/);
    expect(bad.stderr).toContain('demo: broken failed: exit code 3');
    expect(bad.stderr).toContain('broken: cannot reach anything');
  });
});

describe('a reader that goes away', () => {
  it('a bin whose stdout reader closed (`| head -1`) ends quietly with its exit code, not an EPIPE stack trace', async () => {
    // What every entry point installs first, in a process that keeps writing after the reader has gone.
    const helper = join(here, '..', 'dist', 'cli', 'closed-stdout.js');
    const script = `
      const { exitQuietlyWhenStdoutCloses } = await import(${JSON.stringify(helper)});
      exitQuietlyWhenStdoutCloses();
      process.exitCode = 3;
      setInterval(() => process.stdout.write('line\\n'), 5);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy();
    expect(await exited).toBe(3);
    expect(stderr).toBe('');
  });
});
