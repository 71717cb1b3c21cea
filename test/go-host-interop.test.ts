// Interop with a Go host: `test/go-host/main.go` is a standard-library stand-in for the baton-sdk parent (docs/protocol.md:
// "Handshake", "Credentials and mutual TLS", "Parent dial"): fresh Ed25519 CA + leaves, listener on fd 3 + BATON_CONNECTOR_SERVICE_LISTENER_FD=3, one base64
// ServerConfig line on stdin, `_connector-service` appended; then crypto/tls + net/http HTTP/2 (ALPN h2) and
// hand-framed gRPC unary calls: RateLimiterService/Do (echo + STATUS_EMPTY), GetMetadata, Validate, ListResources,
// an invalid ListResources (InvalidArgument naming ResourceTypeId), and exit 0 within 1 s of closing stdin.
//
// Needs a Go toolchain (>= 1.19): `go` on PATH or Debian's /usr/lib/go-*/bin/go (`apt-get install golang-go`;
// .ci/run installs it). Without one this test FAILS rather than skipping. Uses the bundled bins in dist (build first).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GO_SRC = join(ROOT, 'test', 'go-host');
const FIXTURE_BIN = join(ROOT, 'packages/shared/dist/bin/baton-fixture.mjs');
const TWINGATE_BIN = join(ROOT, 'packages/twingate/dist/bin/baton-twingate.mjs');

/** `go` on PATH, else the newest Debian golang-go install under /usr/lib/go-*. */
function findGo(): string | undefined {
  const onPath = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (onPath.status === 0) return 'go';
  let dirs: string[] = [];
  try {
    dirs = readdirSync('/usr/lib').filter((d) => /^go(-[\d.]+)?$/.test(d));
  } catch {
    return undefined;
  }
  dirs.sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  for (const d of dirs) {
    const bin = join('/usr/lib', d, 'bin', 'go');
    if (existsSync(bin) && spawnSync(bin, ['version']).status === 0) return bin;
  }
  return undefined;
}

interface GoHostResult {
  ok: boolean;
  proto: string;
  alpn: string;
  tls: string;
  listenPort: number;
  rateLimit: { requestToken: string; status: number };
  displayName: string;
  validate: number;
  list: { resourceTypeId: string; count: number; nextPageToken: string };
  invalid: { status: number; message: string };
  childExit: number;
}

let work: string;
let hostBin: string;

beforeAll(() => {
  const go = findGo();
  if (!go) {
    throw new Error(
      "No Go toolchain found (neither `go` on PATH nor /usr/lib/go-*/bin/go). Install Debian's golang-go " +
        '(`apt-get install golang-go`; .ci/run does this in CI) to run the Go-host interop test.',
    );
  }
  for (const bin of [FIXTURE_BIN, TWINGATE_BIN]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build)`);
  }
  work = mkdtempSync(join(tmpdir(), 'go-host-'));
  hostBin = join(work, 'gohost');
  // Own caches so a read-only HOME does not matter; no network (stdlib only, no requires in go.mod).
  execFileSync(go, ['build', '-o', hostBin, '.'], {
    cwd: GO_SRC,
    env: {
      ...process.env,
      GOCACHE: join(work, 'gocache'),
      GOPATH: join(work, 'gopath'),
      GOFLAGS: '',
      GOPROXY: 'off',
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs the Go host; its result is the last stdout line (the child shares stdout, as with the Go SDK). */
function runGoHost(type: string, command: string[]): GoHostResult {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BATON_')) env[k] = v;
  const r = spawnSync(hostBin, ['-type', type, '--', ...command], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 45_000,
  });
  if (r.status !== 0) {
    throw new Error(`go host exited with ${r.status ?? r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as GoHostResult;
}

function expectGoSdkShape(res: GoHostResult): void {
  expect(res.ok).toBe(true);
  expect(res.proto).toBe('HTTP/2.0');
  expect(res.alpn).toBe('h2');
  expect(['TLSv1.2', 'TLSv1.3']).toContain(res.tls);
  expect(res.rateLimit).toEqual({ requestToken: 'go-host', status: 4 });
  expect(res.validate).toBe(0);
  expect(res.invalid.status).toBe(3);
  expect(res.invalid.message).toContain('ResourceTypeId');
  expect(res.childExit).toBe(0);
}

describe('Go host (stdlib stand-in for the baton-sdk parent) drives our connectors', () => {
  it('baton-fixture --users 30: handshake, Do, GetMetadata, Validate, 30 users, InvalidArgument, clean exit', () => {
    const res = runGoHost('user', [process.execPath, FIXTURE_BIN, '--users', '30']);
    expectGoSdkShape(res);
    expect(res.displayName).toBe('Fixture');
    expect(res.list).toEqual({ resourceTypeId: 'user', count: 30, nextPageToken: '' });
  }, 60_000);

  it('baton-twingate --demo: same calls against the bundled simulator, 10 groups', () => {
    const res = runGoHost('group', [process.execPath, TWINGATE_BIN, '--demo']);
    expectGoSdkShape(res);
    expect(res.displayName).toBe('Twingate');
    expect(res.list).toEqual({ resourceTypeId: 'group', count: 10, nextPageToken: '' });
  }, 60_000);

  // Every connector of the workspace (each has a `user` type and a bundled simulator behind --demo).
  for (const { name, bin } of connectorBins()) {
    it(`baton-${name} --demo: handshake, Do, GetMetadata, Validate, users, InvalidArgument, clean exit`, () => {
      const res = runGoHost('user', [process.execPath, bin, '--demo']);
      expectGoSdkShape(res);
      expect(res.displayName).not.toBe('');
      expect(res.list.resourceTypeId).toBe('user');
      expect(res.list.count).toBeGreaterThan(0);
    }, 60_000);
  }
});

/** The bundled bin of every connector package (`baton-<name>` bins outside packages/shared). */
function connectorBins(): Array<{ name: string; bin: string }> {
  const found: Array<{ name: string; bin: string }> = [];
  for (const dir of readdirSync(join(ROOT, 'packages')).sort()) {
    if (dir === 'shared') continue;
    const manifestPath = join(ROOT, 'packages', dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin?: Record<string, string> };
    for (const binName of Object.keys(manifest.bin ?? {})) {
      const m = /^baton-(.+)$/.exec(binName);
      if (m) found.push({ name: m[1]!, bin: join(ROOT, 'packages', dir, 'dist', 'bin', `${binName}.mjs`) });
    }
  }
  return found;
}
