import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHILD_LISTENER_FD, openLoopbackListener } from '../src/host/listener.js';
import {
  HandshakeError,
  LISTENER_FD_ENV,
  listenOnInheritedFd,
  parseListenerFd,
} from '../src/server/inherited-listener.js';
import { generateHandshakeCredentials, type GoCredential } from '../src/tls/credentials.js';
import { clientTlsOptions, credentialToPem } from '../src/tls/node-tls.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'inherited-listener-child.mjs');

let tmp: string;
let realModuleUrl: string;
let creds: { server: GoCredential; client: GoCredential };

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'baton-listener-test-'));
  // Transpile the real child-side implementation so the spawned fixture exercises it (it has no runtime imports).
  const source = readFileSync(join(here, '..', 'src', 'server', 'inherited-listener.ts'), 'utf8');
  const out = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const modPath = join(tmp, 'inherited-listener.mjs');
  writeFileSync(modPath, out.outputText);
  realModuleUrl = pathToFileURL(modPath).href;
  creds = await generateHandshakeCredentials();
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface ChildRun {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

interface SpawnOpts {
  env?: Record<string, string | undefined>;
  config: Record<string, unknown>;
  useRealModule?: boolean;
  /** Put this fd at index 3 of the child's stdio instead of the listener (which is then still closed). */
  fd3Override?: number;
}

/**
 * Parent flow per the listener contract: open, spawn with fd 3, close synchronously, then write the single
 * config line (the child tolerates the line arriving after start, as a Node parent must write after spawn).
 */
async function startChild(opts: SpawnOpts): Promise<ChildRun & { port: number; acceptedByParent: () => number }> {
  const listener = await openLoopbackListener();
  const config = { ...opts.config };
  if (config.listenPort === 'self') config.listenPort = listener.port;
  if (config.listenPort === 'other') config.listenPort = listener.port === 65535 ? 1 : listener.port + 1;
  const env: Record<string, string | undefined> = { ...process.env, [LISTENER_FD_ENV]: String(CHILD_LISTENER_FD) };
  delete env.FIXTURE_LISTENER_MODULE;
  if (opts.useRealModule !== false) env.FIXTURE_LISTENER_MODULE = realModuleUrl;
  Object.assign(env, opts.env ?? {});
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [FIXTURE], {
      stdio: ['pipe', 'pipe', 'pipe', opts.fd3Override ?? listener.fd],
      env: env as NodeJS.ProcessEnv,
    });
  } finally {
    listener.close();
  }
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  child.stdout!.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stdin!.write(Buffer.from(JSON.stringify(config)).toString('base64') + '\n');
  return { child, stderr: () => stderr, exit, port: listener.port, acceptedByParent: listener.acceptedByParent };
}

function h2Get(
  url: string,
  options: http2.SecureClientSessionOptions | http2.ClientSessionOptions,
): Promise<{ status: number; body: string; alpn: string | false | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, options);
    session.on('error', reject);
    const req = session.request({ ':path': '/' });
    let body = '';
    let status = 0;
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const alpn = session.alpnProtocol;
      session.close();
      resolve({ status, body, alpn });
    });
    req.on('error', reject);
    req.end();
  });
}

function tlsConfig(cred: GoCredential) {
  const pem = credentialToPem(cred);
  return { cert: pem.cert, key: pem.key, ca: pem.ca };
}

describe('openLoopbackListener', () => {
  it('returns a 127.0.0.1 port and a raw fd without letting the event loop turn', async () => {
    let turned = false;
    setImmediate(() => (turned = true));
    const listener = await openLoopbackListener();
    // setImmediate runs right after the next poll phase: not having run proves libuv never polled the listen fd.
    expect(turned).toBe(false);
    try {
      expect(Number.isInteger(listener.fd)).toBe(true);
      expect(listener.fd).toBeGreaterThan(2);
      expect(listener.port).toBeGreaterThan(0);
      expect(listener.acceptedByParent()).toBe(0);
    } finally {
      listener.close();
      listener.close(); // idempotent
    }
  });

  it('safety net: a parent that breaks the contract resets (not hangs) the connections it accepts', async () => {
    let reported = 0;
    const listener = await openLoopbackListener({ onStolenConnection: () => reported++ });
    try {
      const outcome = await new Promise<string>((resolve) => {
        const sock = net.connect({ host: '127.0.0.1', port: listener.port });
        sock.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code}`));
        sock.on('close', () => resolve('closed'));
      });
      expect(outcome).toMatch(/^(error:ECONNRESET|closed)$/);
      expect(listener.acceptedByParent()).toBe(1);
      expect(reported).toBe(1);
    } finally {
      listener.close();
    }
  });

  it('reports a broken contract as a process warning by default', async () => {
    // In a child process, so the warning Node prints lands in a captured stderr rather than the test output.
    const script = `
      import net from 'node:net';
      import { openLoopbackListener } from ${JSON.stringify(new URL('../dist/host/listener.js', import.meta.url).href)};
      const listener = await openLoopbackListener();
      const sock = net.connect({ host: '127.0.0.1', port: listener.port });
      sock.on('error', () => {});
      sock.on('close', () => setImmediate(() => listener.close()));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('[BATON_LISTENER_STOLEN_CONNECTION]');
  });
});

describe('fd 3 listener passing to a real child process', () => {
  for (const useRealModule of [true, false]) {
    const which = useRealModule ? 'src/server/inherited-listener.ts' : 'fixture inline implementation';
    it(`child serves mTLS http2 on the inherited socket (${which}); parent accepts nothing`, async () => {
      const run = await startChild({
        config: { listenPort: 'self', tls: tlsConfig(creds.server) },
        useRealModule,
      });
      try {
        // Connect immediately: the TCP connection waits in the kernel backlog until the child accepts it.
        const res = await h2Get(`https://127.0.0.1:${run.port}`, clientTlsOptions(creds.client));
        expect(res.status).toBe(200);
        expect(res.alpn).toBe('h2');
        const body = JSON.parse(res.body);
        expect(body.pid).toBe(run.child.pid);
        expect(body.pid).not.toBe(process.pid);
        expect(body.port).toBe(run.port);
        expect(body.alpn).toBe('h2');
        expect(body.clientCN).toBe('c1-connector-client');
        // Several sequential connections all reach the child.
        for (let i = 0; i < 3; i++) {
          const again = await h2Get(`https://127.0.0.1:${run.port}`, clientTlsOptions(creds.client));
          expect(JSON.parse(again.body).pid).toBe(run.child.pid);
        }
        expect(run.acceptedByParent()).toBe(0);
      } finally {
        // Zombie guard: closing stdin makes the child exit 0.
        run.child.stdin!.end();
      }
      const { code } = await run.exit;
      expect(code).toBe(0);
      expect(run.stderr()).toBe('');
    });
  }

  it('a cleartext http2 server works too and listen_port is optional (v0.0.x parents)', async () => {
    const run = await startChild({ config: {} });
    try {
      const res = await h2Get(`http://127.0.0.1:${run.port}`, {});
      expect(JSON.parse(res.body).pid).toBe(run.child.pid);
    } finally {
      run.child.stdin!.end();
    }
    expect((await run.exit).code).toBe(0);
  });

  for (const useRealModule of [true, false]) {
    it(`port mismatch exits non-zero with the Go message (${useRealModule ? 'real module' : 'inline'})`, async () => {
      const run = await startChild({ config: { listenPort: 'other' }, useRealModule });
      const { code } = await run.exit;
      const expectedOther = run.port === 65535 ? 1 : run.port + 1;
      expect(code).not.toBe(0);
      expect(run.stderr()).toBe(`listen port mismatch: ${run.port} != ${expectedOther}\n`);
    });
  }

  it('missing env var exits non-zero with "missing required listener fd"', async () => {
    const run = await startChild({ config: { listenPort: 'self' }, env: { [LISTENER_FD_ENV]: undefined } });
    const { code } = await run.exit;
    expect(code).not.toBe(0);
    expect(run.stderr()).toBe('missing required listener fd\n');
  });

  for (const bad of ['abc', '-1', '3x', '1.5']) {
    it(`env var ${JSON.stringify(bad)} exits non-zero with "invalid listener fd"`, async () => {
      const run = await startChild({ config: { listenPort: 'self' }, env: { [LISTENER_FD_ENV]: bad } });
      const { code } = await run.exit;
      expect(code).not.toBe(0);
      expect(run.stderr()).toBe('invalid listener fd\n');
    });
  }

  it('an fd that is not a listening socket is a HandshakeError, not a crash', async () => {
    const file = join(tmp, 'not-a-socket.txt');
    writeFileSync(file, 'x');
    const fd = openSync(file, 'r');
    let run;
    try {
      run = await startChild({ config: {}, fd3Override: fd });
    } finally {
      closeSync(fd);
    }
    const { code } = await run.exit;
    expect(code).not.toBe(0);
    expect(run.stderr()).toMatch(/^cannot listen on inherited fd 3: /);
  });
});

describe('listenOnInheritedFd (in process)', () => {
  it('parses the env var like Go strconv.Atoi and rejects negatives', () => {
    expect(parseListenerFd({ [LISTENER_FD_ENV]: '3' })).toBe(3);
    expect(parseListenerFd({ [LISTENER_FD_ENV]: '+7' })).toBe(7);
    expect(() => parseListenerFd({})).toThrow(new HandshakeError('missing required listener fd'));
    expect(() => parseListenerFd({ [LISTENER_FD_ENV]: ' 3' })).toThrow('invalid listener fd');
    expect(() => parseListenerFd({ [LISTENER_FD_ENV]: '-0x1' })).toThrow('invalid listener fd');
    expect(() => parseListenerFd({ [LISTENER_FD_ENV]: '99999999999' })).toThrow('invalid listener fd');
  });

  it('rejects with HandshakeError before touching the server when the env var is missing', async () => {
    const server = net.createServer();
    const err = await listenOnInheritedFd(server, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandshakeError);
    expect((err as Error).message).toBe('missing required listener fd');
    expect(server.listening).toBe(false);
  });
});
