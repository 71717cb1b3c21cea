// The engineer's CLI through the real bins (the committed launchers npm links, which load the bundles): what a
// person running a connector locally sees. Every connector inherits this from the shared runner; Twingate and its
// simulator (on loopback) stand in for all of them.
//
//  - fail fast: refused, DNS and TLS failures during Validate end at once, naming the host and the flag; a 503
//    during Validate is still retried;
//  - a stray word (a key whose flag name was forgotten) is never echoed;
//  - --file: empty, inside a file, a directory, under /proc: one clear line before any API request, and SIGTERM
//    still works; an interrupted sync says so and leaves the previous file untouched;
//  - show life: info lines per finished type and at a steady pace with the wait in progress; on a terminal
//    (through `script`) the block counts a rate-limit wait down;
//  - provisioning one-shots keep the file current (grant then revoke without a sync), fail fast (a wrong address ends
//    the call at once and changes nothing) and refuse account creation in the words of the capabilities;
//  - help per command, datasets, the inspect line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncStore } from '@baton-ts/shared/c1z';
import { envWithoutBaton, runProcess } from '@baton-ts/shared/testing';
import {
  startTwingateSimulator,
  type TwingateSimulator,
  type TwingateSimulatorOptions,
} from '../packages/twingate/simulator/index.js';

const BIN = fileURLToPath(new URL('../packages/twingate/bin/baton-twingate.mjs', import.meta.url));
const SECRET_KEY = 'tgk-CLI-SECRET-4e1f9a0c-never-print';

const cleanEnv = envWithoutBaton;

let dir: string;
const sims: TwingateSimulator[] = [];
const live = new Set<ChildProcess>();
let https: HttpsServer | undefined;

beforeAll(() => {
  if (!existsSync(fileURLToPath(new URL('../packages/twingate/dist/bin/baton-twingate.mjs', import.meta.url))))
    throw new Error('run `npm run build` first: the bins load their bundles');
  dir = mkdtempSync(join(tmpdir(), 'cli-engineer-'));
});

afterAll(async () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const sim of sims) await sim.close();
  await new Promise<void>((resolve) => (https ? https.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function startSim(options: TwingateSimulatorOptions = {}): Promise<TwingateSimulator> {
  const sim = await startTwingateSimulator({
    dataset: 'small',
    apiKey: SECRET_KEY,
    rateLimits: { read: 0, write: 0 },
    ...options,
  });
  sims.push(sim);
  return sim;
}

const flags = (sim: TwingateSimulator) => ['--api-key', SECRET_KEY, '--base-url', sim.graphqlUrl, '--domain', 'x'];

const runBin = (args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) =>
  runProcess(process.execPath, [BIN, ...args], { env: options.env ?? cleanEnv(), cwd: options.cwd ?? dir });

/** Twingate flags against `url` with debug logs, so a retry would show. */
const against = (url: string) => ['--api-key', SECRET_KEY, '--base-url', url, '--domain', 'x', '--log-level', 'debug'];

/** A running bin whose stderr is watched: `until(text)` resolves once stderr contains it (no sleeping). */
function startBin(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const w of [...waiters]) if (stderr.includes(w.text)) w.resolve();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    until: (text: string) =>
      new Promise<void>((resolve, reject) => {
        if (stderr.includes(text)) return resolve();
        waiters.push({ text, resolve });
        void exited.then(() => reject(new Error(`exited before printing ${JSON.stringify(text)}: ${stderr}`)));
      }),
  };
}

/** Lines of the child that show a retry happened (debug level is on in these runs). */
const RETRY_LINE = /retrying connector call|waiting before retrying|rate limited: waiting/;

describe('fail fast during Validate, naming the host and the flag', () => {
  it('connection refused: one attempt, FAILED_PRECONDITION, the host and --base-url', async () => {
    const r = await runBin(against('http://127.0.0.1:1/api/graphql/'));
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(RETRY_LINE);
    expect(r.stderr).toContain(
      'error: sync failed: Validate failed: FAILED_PRECONDITION: twingate: cannot connect to 127.0.0.1:1: connection refused (ECONNREFUSED): check --base-url (BATON_BASE_URL); no file was written\n',
    );
    expect(r.stderr.match(/"msg":"http request"/g)).toHaveLength(1);
    expect(r.stderr + r.stdout).not.toContain(SECRET_KEY);
    expect(existsSync(join(dir, 'sync.c1z'))).toBe(false);
  });

  it('an unresolvable host: one attempt, names the host', async () => {
    // A DNS label longer than 63 characters is refused by the resolver library itself: nothing leaves the machine.
    const host = `${'x'.repeat(64)}.invalid`;
    const r = await runBin(against(`http://${host}/`));
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(RETRY_LINE);
    expect(r.stderr).toContain(`cannot resolve the host ${host} (ENOTFOUND): check --base-url (BATON_BASE_URL)`);
    expect(r.stderr.match(/"msg":"http request"/g)).toHaveLength(1);
  });

  const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
  it.skipIf(!hasOpenssl)(
    'an untrusted TLS certificate: one handshake, names the host, the flag and NODE_EXTRA_CA_CERTS',
    async () => {
      // A self-signed certificate no CA store trusts.
      const key = join(dir, 'tls-key.pem');
      const cert = join(dir, 'tls-cert.pem');
      const made = spawnSync('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ]);
      expect(made.status, String(made.stderr)).toBe(0);
      let handshakes = 0;
      https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => res.end('{}'));
      https.on('tlsClientError', () => handshakes++);
      https.on('secureConnection', () => handshakes++);
      await new Promise<void>((resolve) => https!.listen(0, '127.0.0.1', resolve));
      const port = (https.address() as AddressInfo).port;
      const r = await runBin(against(`https://127.0.0.1:${port}/api/graphql/`));
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(RETRY_LINE);
      expect(r.stderr).toMatch(
        new RegExp(
          `FAILED_PRECONDITION: twingate: the TLS connection to 127\\.0\\.0\\.1:${port} failed: .+ \\([A-Z_]+\\): check --base-url \\(BATON_BASE_URL\\); if a proxy or a private CA signs the certificate, set NODE_EXTRA_CA_CERTS to that CA file`,
        ),
      );
      expect(handshakes).toBe(1);
    },
  );

  it('a 503 during Validate is still retried (patience for the API, not for a wrong address)', async () => {
    const sim = await startSim({ faults: { rules: [{ fault: { kind: 'serverError', status: 503 }, nth: 1 }] } });
    const r = await runBin([...flags(sim), '--file', join(dir, 'retried.c1z'), '--log-level', 'debug']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('"msg":"waiting before retrying"');
    expect(sim.log.count((e) => e.status === 503)).toBe(1);
  });
});

describe('arguments that may be secrets', () => {
  it('a key without its flag name is reported by position and never printed', async () => {
    for (const args of [
      ['--domain', 'acme', SECRET_KEY],
      ['--provisioning', SECRET_KEY],
      [SECRET_KEY, '--domain', 'acme'],
    ]) {
      const r = await runBin(args);
      expect(r.code).toBe(1);
      const position = args.indexOf(SECRET_KEY) + 1;
      expect(r.stderr).toContain(`error: argument ${position} is not a command`);
      expect(r.stderr).toContain('not shown in case it is a secret');
      expect(r.stderr + r.stdout).not.toContain(SECRET_KEY);
    }
  });
});

describe('--file is checked before the first API request', () => {
  let sim: TwingateSimulator;
  beforeAll(async () => {
    sim = await startSim();
  });

  it.each([
    [
      ['--file', ''],
      'invalid configuration: --file (BATON_FILE) is empty: give the file to write, e.g. --file sync.c1z',
    ],
    [['--file', 'README.md/x.c1z'], 'error: cannot write --file README.md/x.c1z: README.md is a file, not a directory'],
    [['--file', 'adir'], 'error: cannot write --file adir: it is a directory; give a file name, e.g. adir/sync.c1z'],
    [
      ['--file', '/proc/nope/x.c1z'],
      'error: cannot write --file /proc/nope/x.c1z: cannot create the directory /proc/nope: cannot create entries there (ENOENT)',
    ],
  ])('%j: one line, exit 1, no API request, nothing written', async (fileArgs, message) => {
    const cwd = mkdtempSync(join(dir, 'file-'));
    writeFileSync(join(cwd, 'README.md'), 'hello\n');
    mkdirSync(join(cwd, 'adir'));
    const before = sim.log.count();
    const r = await runBin([...flags(sim), ...fileArgs], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(message);
    expect(sim.log.count()).toBe(before);
    expect(existsSync(join(cwd, 'sync.c1z'))).toBe(false);
  });

  it('missing directories are created, and removed again when the sync fails', async () => {
    const ok = await runBin([...flags(sim), '--file', 'new/deeper/out.c1z', '-q']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(dir, 'new', 'deeper', 'out.c1z'))).toBe(true);
    const bad = await runBin([
      '--api-key',
      'tgk-wrong',
      '--base-url',
      sim.graphqlUrl,
      '--domain',
      'x',
      '--file',
      'gone/out.c1z',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('UNAUTHENTICATED');
    expect(existsSync(join(dir, 'gone'))).toBe(false);
  });
});

describe('interrupting a sync', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: says so, exits %i, and leaves the previous file untouched', async (signal, exitCode) => {
    const sim = await startSim();
    const file = join(dir, `interrupted-${signal}.c1z`);
    expect((await runBin([...flags(sim), '--file', file, '-q'])).code).toBe(0);
    const previous = readFileSync(file);
    // The next sync hits a long rate-limit wait; interrupt it once the wait is under way.
    sim.faults.set({ rules: [{ fault: { kind: 'rateLimit', retryAfterSeconds: 60 }, nth: 2 }] });
    const run = startBin([...flags(sim), '--file', file]);
    await run.until('rate limited: waiting before the next request');
    run.child.kill(signal);
    const { code } = await run.exited;
    expect(code).toBe(exitCode);
    // The pages stored before the interrupt stay in the working file, for the next run to resume (docs/sync.md).
    const working = join(dir, `.interrupted-${signal}.c1z.partial`);
    expect(run.stderr().trimEnd().split('\n').at(-1)).toBe(
      `sync interrupted (${signal}); ${file} was left untouched; its progress is kept in ${working}: run the same command again to resume`,
    );
    expect(existsSync(working)).toBe(true);
    expect(readFileSync(file).equals(previous)).toBe(true);
    expect(run.stdout()).toBe('');
  });
});

describe('signs of life', () => {
  it('without a terminal: finished types, and a line per interval naming the wait, its reason and what is left', async () => {
    const sim = await startSim({
      faults: { rules: [{ fault: { kind: 'rateLimit', retryAfterSeconds: 2 }, nth: 2 }] },
    });
    const r = await runBin([...flags(sim), '--file', join(dir, 'life.c1z'), '--progress-interval', '0.25']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const info = lines.filter((l) => l.level === 'info');
    expect(info.find((l) => l.msg === 'rate limited: waiting before the next request')).toMatchObject({
      service: 'twingate',
      reason: 429,
      waitMs: 2000,
    });
    const waiting = info.filter((l) => l.msg === 'sync progress' && typeof l.waiting === 'string');
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    expect(waiting[0].waiting).toMatch(/^rate limited by Twingate: resuming in [12] s$/);
    expect(waiting[0]).toMatchObject({ rateLimitWaits: 1, apiRequests: expect.any(Number) });
    const finished = info.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('finished '));
    expect(finished.map((l) => l.msg)).toEqual([
      'finished resources of group',
      'finished resources of role',
      'finished resources of user',
      'finished entitlements of group',
      'finished entitlements of role',
      'finished grants of group',
      'finished grants of role',
    ]);
    expect(finished.find((l) => l.msg === 'finished grants of group')).toMatchObject({ resources: 10, grants: 260 });
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)(
    'on a terminal (through `script`): the block keeps moving and counts the wait down',
    async () => {
      const sim = await startSim({
        faults: { rules: [{ fault: { kind: 'rateLimit', retryAfterSeconds: 3 }, nth: 2 }] },
      });
      const command = [process.execPath, BIN, ...flags(sim), '--file', join(dir, 'tty.c1z'), '--log-level', 'warn']
        .map((a) => `'${a}'`)
        .join(' ');
      // Asynchronously: the simulator answers from this process.
      const r = await new Promise<{ status: number | null; stdout: string }>((resolve, reject) => {
        const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: dir, env: cleanEnv() });
        live.add(child);
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stdout }));
      });
      expect(r.status, r.stdout).toBe(0);
      const countdown = [...r.stdout.matchAll(/rate limited by Twingate: resuming in (\d+) s/g)].map((m) =>
        Number(m[1]),
      );
      expect(new Set(countdown).size).toBeGreaterThanOrEqual(2);
      expect(countdown.at(-1)).toBeLessThan(countdown[0]);
      // The elapsed time moved during the wait (the block is redrawn every second, not only when an RPC returns).
      const elapsed = [...r.stdout.matchAll(/listing resources (?:\(\w+\) )?· ([\d.]+)s/g)].map((m) => Number(m[1]));
      expect(Math.max(...elapsed) - Math.min(...elapsed)).toBeGreaterThanOrEqual(2);
      expect(r.stdout).toContain('baton-twingate: synced 3 resource types');
    },
  );
});

describe('provisioning one-shots', () => {
  it('revoking a grant just made needs no new sync: the file the ids came from is updated', async () => {
    const sim = await startSim();
    const file = join(dir, 'prov.c1z');
    expect((await runBin([...flags(sim), '--file', file, '-q'])).code).toBe(0);
    // A MANUAL group and a user who is not in it.
    const group = sim.state.listGroups().find((g) => g.type === 'MANUAL' && g.isActive)!;
    const user = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    const entitlement = `group:${group.id}:member`;
    const grantId = `${entitlement}:user:${user.id}`;

    const grant = await runBin([
      ...flags(sim),
      '--file',
      file,
      '--grant-entitlement',
      entitlement,
      '--grant-principal',
      user.id,
      '--grant-principal-type',
      'user',
    ]);
    expect(grant.code, grant.stderr).toBe(0);
    expect(grant.stdout).toBe('granted\n');
    expect(grant.stderr).toContain(`updated ${file}: added grant ${grantId}`);

    const revoke = await runBin([...flags(sim), '--file', file, '--revoke-grant', grantId]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toBe('revoked\n');
    const again = await runBin([...flags(sim), '--file', file, '--revoke-grant', grantId]);
    expect(again.stdout).toBe('already revoked (no change)\n');
    const after = await SyncStore.openC1z(file);
    expect(after.getGrant(grantId)).toBeUndefined();
    after.close();
  });

  it('a one-shot against an address where nothing listens fails at once, names the flag, changes nothing', async () => {
    const sim = await startSim();
    const file = join(dir, 'prov-down.c1z');
    expect((await runBin([...flags(sim), '--file', file, '-q'])).code).toBe(0);
    const before = readFileSync(file);
    const group = sim.state.listGroups().find((g) => g.type === 'MANUAL' && g.isActive)!;
    const member = sim.state.listUsers().find((u) => sim.state.isMember(group.id, u.id))!;
    const r = await runBin([
      ...against('http://127.0.0.1:1/api/graphql/'),
      '--file',
      file,
      '--revoke-grant',
      `group:${group.id}:member:user:${member.id}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(RETRY_LINE);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(
      'error: FAILED_PRECONDITION: twingate: cannot connect to 127.0.0.1:1: connection refused (ECONNREFUSED): check --base-url (BATON_BASE_URL)',
    );
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(sim.state.isMember(group.id, member.id)).toBe(true);
  });

  it('--create-account-login on a connector without account provisioning says so from its capabilities', async () => {
    const sim = await startSim();
    const before = sim.log.count();
    const r = await runBin([
      ...flags(sim),
      '--create-account-login',
      'newbie',
      '--create-account-email',
      'n@example.com',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(
      'error: baton-twingate cannot create accounts: its capabilities do not include CAPABILITY_ACCOUNT_PROVISIONING (see `baton-twingate capabilities`); --create-account-login works only with connectors whose capabilities list it',
    );
    expect(sim.log.count()).toBe(before);
  });
});

describe('help that matches', () => {
  it('every command has its own --help listing its options (and the simulator its datasets)', async () => {
    const sim = await runBin(['simulator', '--help']);
    expect(sim.code).toBe(0);
    expect(sim.stdout).toMatch(/^baton-twingate simulator: /);
    expect(sim.stdout).toContain('--port (BATON_PORT)');
    expect(sim.stdout).toMatch(
      /Datasets \(--dataset\):\n {2}tiny +8 users.*\n {2}small +60 users.*\(default\)\n {2}medium .*\n {2}large /,
    );
    expect(sim.stdout).not.toContain('--grant-entitlement');
    expect((await runBin(['help', 'simulator'])).stdout).toBe(sim.stdout);

    const serve = await runBin(['serve', '--help']);
    expect(serve.stdout).toContain('--listen (BATON_LISTEN)');
    expect(serve.stdout).toContain('--tls-client-ca');
    expect(serve.stdout).toContain('--api-key (BATON_API_KEY)');
    expect(serve.stdout).not.toContain('--grant-entitlement');
    expect((await runBin(['capabilities', '--help'])).stdout).toContain('Twingate flags (optional here):');
    expect((await runBin(['config', '--help'])).stdout).toMatch(
      /^baton-twingate config: print the configuration schema/,
    );
    expect((await runBin(['inspect', '--help'])).stdout).toMatch(/^Usage: baton-twingate inspect <file/);
  });

  it('--help names every inspect subcommand, and what service mode is', async () => {
    const r = await runBin(['--help']);
    expect(r.stdout).toContain('inspect FILE [stats|resource-types|resources|entitlements|grants|syncs]');
    expect(r.stdout).toContain('baton-twingate <command> --help');
    expect(r.stdout).toContain('runs as a plugin of a host, or locally as above; not as a service');
  });
});
