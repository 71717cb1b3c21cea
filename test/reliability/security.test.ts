// Security (docs/reliability.md, "Security"), for every connector:
//  - the handshake port speaks only mutual TLS: a plaintext client and a client certificate from another CA are
//    refused, while the host's own credentials keep working;
//  - `serve` refuses plaintext on a non-loopback address;
//  - the distinctive secret the simulator was given never appears in anything the bin prints or writes: debug logs
//    of a sync meeting faults (its retries log errors), the c1z (raw and decompressed by Debian's zstd) and the JSON
//    Lines export, a sync refused for a wrong secret, `capabilities`, `config`, `--help` and `serve`'s banner.
// The per-connector e2e files check their own secrets in more provisioning paths; this file holds every connector
// to the same list.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  clientTlsForGrpc,
  envWithoutBaton,
  generateHandshakeCredentials,
  GRPC_LOOPBACK_CHANNEL_OPTIONS,
  spawnPlugin,
  type ProcessResult,
} from '@baton-ts/shared/testing';
import { CONNECTORS, node, reliabilityFixtures, runBin, type ConnectorCase } from './support.js';

const fixtures = reliabilityFixtures('security');

/** GetMetadata with raw bytes (an empty request), answered or refused within 5 s. */
function getMetadata(client: grpc.Client): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/c1.connector.v2.ConnectorService/GetMetadata',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      new grpc.Metadata(),
      { deadline: Date.now() + 5_000 },
      (err) => resolve(err),
    );
  });
}

describe.concurrent('the handshake port takes mutual TLS only', () => {
  for (const c of CONNECTORS) {
    it(
      `${c.name}: plaintext and a client certificate from another CA are refused; the host's credentials work`,
      { timeout: 120_000 },
      async () => {
        const sim = await fixtures.start(c);
        const plugin = await spawnPlugin(node, [c.bin, ...sim.flags], envWithoutBaton());
        try {
          expect(await getMetadata(plugin.client)).toBeNull();

          const plaintext = new grpc.Client(`127.0.0.1:${plugin.port}`, grpc.credentials.createInsecure());
          const refusedPlain = await getMetadata(plaintext);
          plaintext.close();
          expect(refusedPlain?.code).toBe(grpc.status.UNAVAILABLE);

          // Trusts the real server, presents a leaf from a CA the child never saw.
          const other = await generateHandshakeCredentials();
          const foreign = new grpc.Client(
            `127.0.0.1:${plugin.port}`,
            clientTlsForGrpc({ ...other.client, caCert: plugin.credentials.client.caCert }),
            { ...GRPC_LOOPBACK_CHANNEL_OPTIONS },
          );
          const refusedForeign = await getMetadata(foreign);
          foreign.close();
          expect(refusedForeign?.code).toBe(grpc.status.UNAVAILABLE);

          // The refusals did not hurt the child: the host's channel still works.
          expect(await getMetadata(plugin.client)).toBeNull();
        } finally {
          await plugin.stop();
        }
      },
    );
  }
});

describe.concurrent('serve refuses plaintext off loopback', () => {
  for (const c of CONNECTORS) {
    it(`${c.name}: serve --listen 0.0.0.0:0 exits 1 saying why, serving nothing`, { timeout: 120_000 }, async () => {
      const sim = await fixtures.start(c);
      const r = await runBin(c, [...sim.flags, 'serve', '--listen', '0.0.0.0:0'], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/refusing to serve plaintext on non-loopback address 0\.0\.0\.0/);
      expect(r.stdout).not.toMatch(/serving/);
    });
  }
});

/** The first line a `serve` prints, then SIGTERM; resolves with everything it printed. */
function serveBriefly(c: ConnectorCase, args: string[]): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [c.bin, ...args, 'serve', '--listen', '127.0.0.1:0', '--log-level', 'debug'], {
      env: envWithoutBaton(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('\n')) child.kill('SIGTERM');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The secret as it could leak: verbatim, base64 (Basic auth) and base64url, and a distinctive middle part. */
function needles(secret: string): string[] {
  const b64 = Buffer.from(secret).toString('base64');
  return [secret, secret.slice(4, -4), b64.slice(0, 20), Buffer.from(secret).toString('base64url').slice(0, 20)];
}

describe.concurrent('distinctive secrets never appear in output', () => {
  for (const c of CONNECTORS) {
    it(
      `${c.name}: debug logs, errors, c1z (raw and decompressed), JSONL, capabilities, config, --help, serve`,
      { timeout: 240_000 },
      async () => {
        const sim = await fixtures.start(c, { pages: 'api' });
        const debug = ['--log-level', 'debug'];
        const c1z = fixtures.path(`${c.name}.c1z`);
        const jsonl = fixtures.path(`${c.name}.jsonl`);
        const wrong = `${c.secret}-WRONG`;
        const withWrong = sim.flags.map((f) => (f === c.secret ? wrong : f));
        expect(withWrong).not.toEqual(sim.flags);

        // Faults make the client log errors and retries at debug level (the first request is Validate's).
        sim.faults.set({
          rules: [
            { fault: { kind: 'serverError', status: 500 }, nth: 2 },
            { fault: { kind: 'reset' }, nth: 3 },
            { fault: { kind: 'rateLimit', retryAfterSeconds: 0 }, nth: 4 },
          ],
        });
        const sync = await runBin(c, [...sim.flags, '--file', c1z, ...debug]);
        sim.faults.clear();
        // One child-spawning run at a time per connector: the machine has two cores.
        const exported = await runBin(c, [...sim.flags, '--file', jsonl, ...debug]);
        const refused = await runBin(c, [...withWrong, '--file', fixtures.path(`${c.name}-refused.c1z`), ...debug]);
        const served = await serveBriefly(c, sim.flags);
        const [capabilities, config, help] = await Promise.all([
          runBin(c, [...sim.flags, 'capabilities', ...debug]),
          runBin(c, [...sim.flags, 'config', ...debug]),
          runBin(c, [...sim.flags, '--help']),
        ]);
        expect(sync.code, sync.stderr).toBe(0);
        expect(exported.code, exported.stderr).toBe(0);
        expect(capabilities.code, capabilities.stderr).toBe(0);
        expect(config.code, config.stderr).toBe(0);
        expect(help.code, help.stderr).toBe(0);
        expect(refused.code).toBe(1);
        expect(served.stdout).toMatch(/^serving gRPC/);
        // Debug logging was on (there was something to leak into), and the faults were met and logged.
        expect(sync.stderr).toContain('"level":"debug"');
        expect(sim.log.count((e) => e.fault !== null)).toBeGreaterThan(0);

        const outputs: Array<{ what: string; text: string | Buffer }> = [
          ...[
            ['sync', sync],
            ['jsonl sync', exported],
            ['capabilities', capabilities],
            ['config', config],
            ['--help', help],
            ['wrong secret', refused],
            ['serve', served],
          ].flatMap(([what, r]) => [
            { what: `${what as string} stdout`, text: (r as ProcessResult).stdout },
            { what: `${what as string} stderr`, text: (r as ProcessResult).stderr },
          ]),
          { what: 'c1z', text: readFileSync(c1z) },
          {
            what: 'c1z decompressed',
            text: execFileSync('sh', ['-c', 'tail -c +6 "$1" | zstd -d', 'sh', c1z], { maxBuffer: 256 << 20 }),
          },
          { what: 'jsonl', text: readFileSync(jsonl) },
        ];
        const found: string[] = [];
        for (const { what, text } of outputs) {
          const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
          for (const n of [...needles(c.secret), ...needles(wrong)])
            if (buf.includes(n)) found.push(`${what} contains ${n}`);
        }
        expect(found).toEqual([]);
      },
    );
  }
});
