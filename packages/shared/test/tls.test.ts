import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateHandshakeCredentials, loadX509, type GoCredential } from '../src/tls/credentials.js';
import {
  checkLoopbackServerIdentity,
  clientTlsOptions,
  credentialToPem,
  derToPem,
  goKeyToPkcs8Pem,
  loadTlsFiles,
  pemToDer,
  pkcs8ToGoKey,
  serverTlsOptions,
} from '../src/tls/node-tls.js';
import { clientTlsForGrpc, GRPC_LOOPBACK_CHANNEL_OPTIONS } from '../src/tls/grpc-credentials.js';

const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY = 86_400_000;

let creds: { server: GoCredential; client: GoCredential };
let otherCreds: { server: GoCredential; client: GoCredential };
let tmp: string;

beforeAll(async () => {
  creds = await generateHandshakeCredentials();
  otherCreds = await generateHandshakeCredentials();
  tmp = mkdtempSync(join(tmpdir(), 'baton-tls-test-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function subjectFor(cn: string): string {
  return ['C=US', 'ST=OR', 'L=Portland', 'O=ConductorOne', 'OU=connector sdk', `CN=${cn}`].join('\n');
}

function rawPublicKey(cert: X509Certificate): Buffer {
  return cert.publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
}

function addYears(d: Date, n: number): Date {
  const r = new Date(d.getTime());
  r.setUTCFullYear(r.getUTCFullYear() + n);
  return r;
}

describe('generateHandshakeCredentials', () => {
  it('produces the c1.utls.v1.Credential shape', () => {
    for (const c of [creds.server, creds.client]) {
      expect(Object.keys(c).sort()).toEqual(['caCert', 'cert', 'key']);
      expect(c.caCert).toBeInstanceOf(Uint8Array);
      expect(c.cert).toBeInstanceOf(Uint8Array);
      expect(c.key).toBeInstanceOf(Uint8Array);
      expect(c.key.length).toBe(64);
    }
    expect(Buffer.from(creds.server.caCert).equals(Buffer.from(creds.client.caCert))).toBe(true);
    expect(Buffer.from(creds.server.key).equals(Buffer.from(creds.client.key))).toBe(false);
    expect(Buffer.from(creds.server.caCert).equals(Buffer.from(otherCreds.server.caCert))).toBe(false);
  });

  it('CA certificate matches the Go template (node:crypto view)', () => {
    const before = Date.now();
    const ca = new X509Certificate(creds.server.caCert);
    expect(ca.subject).toBe(subjectFor('c1-connector-ca'));
    expect(ca.issuer).toBe(ca.subject);
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(ca.subjectAltName).toBeUndefined();
    expect(ca.keyUsage?.sort()).toEqual([OID_CLIENT_AUTH, OID_SERVER_AUTH].sort());
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.checkIssued(ca)).toBe(true);
    const from = new Date(ca.validFrom).getTime();
    const to = new Date(ca.validTo).getTime();
    expect(Math.abs(from - before)).toBeLessThan(60_000);
    expect(Math.abs(to - addYears(new Date(from), 20).getTime())).toBeLessThan(2_000);
    const serial = BigInt(`0x${ca.serialNumber}`);
    expect(serial > 0n && serial < 1n << 128n).toBe(true);
  });

  it('leaf certificates match the Go template (node:crypto view)', () => {
    const ca = new X509Certificate(creds.server.caCert);
    for (const [cred, cn] of [
      [creds.server, 'c1-connector-server'],
      [creds.client, 'c1-connector-client'],
    ] as const) {
      const leaf = new X509Certificate(cred.cert);
      expect(leaf.subject).toBe(subjectFor(cn));
      expect(leaf.issuer).toBe(subjectFor('c1-connector-ca'));
      expect(leaf.ca).toBe(false);
      expect(leaf.subjectAltName).toBe('IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
      expect(leaf.keyUsage?.sort()).toEqual([OID_CLIENT_AUTH, OID_SERVER_AUTH].sort());
      expect(leaf.publicKey.asymmetricKeyType).toBe('ed25519');
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.verify(new X509Certificate(otherCreds.server.caCert).publicKey)).toBe(false);
      expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(leaf.checkIP('::1')).toBeDefined();
      expect(leaf.checkHost('localhost')).toBeUndefined();
      const from = new Date(leaf.validFrom).getTime();
      const to = new Date(leaf.validTo).getTime();
      expect(Math.abs(from - Date.now())).toBeLessThan(60_000);
      expect(Math.abs(to - addYears(new Date(from), 1).getTime())).toBeLessThan(2_000);
      expect(to - from).toBeGreaterThanOrEqual(365 * DAY);
      const serial = BigInt(`0x${leaf.serialNumber}`);
      expect(serial > 0n && serial < 1n << 128n).toBe(true);
      // The key's second half is the certificate's public key (Go reads key[32:] as the public key).
      expect(Buffer.from(cred.key.subarray(32)).equals(rawPublicKey(leaf))).toBe(true);
      // And the seed signs for that public key.
      const msg = Buffer.from(`hello ${cn}`);
      const sig = sign(null, msg, createPrivateKey(goKeyToPkcs8Pem(cred.key)));
      expect(verify(null, msg, leaf.publicKey, sig)).toBe(true);
    }
  });

  it('extensions, criticality, signature algorithm and string types (@peculiar/x509 view)', async () => {
    const x509 = await loadX509();
    const ca = new x509.X509Certificate(creds.server.caCert);
    expect((ca.signatureAlgorithm as unknown as { name: string }).name).toBe('Ed25519');
    const caBc = ca.getExtension(x509.BasicConstraintsExtension)!;
    expect(caBc.ca).toBe(true);
    expect(caBc.pathLength).toBeUndefined();
    expect(caBc.critical).toBe(true);
    const caKu = ca.getExtension(x509.KeyUsagesExtension)!;
    expect(caKu.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign);
    expect(caKu.critical).toBe(true);
    const caEku = ca.getExtension(x509.ExtendedKeyUsageExtension)!;
    expect([...caEku.usages].sort()).toEqual([OID_CLIENT_AUTH, OID_SERVER_AUTH].sort());
    expect(caEku.critical).toBe(false);
    expect(ca.getExtension(x509.SubjectKeyIdentifierExtension)).not.toBeNull();
    expect(ca.getExtension(x509.AuthorityKeyIdentifierExtension)).toBeNull();
    expect(ca.getExtension(x509.SubjectAlternativeNameExtension)).toBeNull();
    expect(await ca.verify({ signatureOnly: true }, webcrypto as never)).toBe(true);
    expect(await ca.isSelfSigned(webcrypto as never)).toBe(true);

    for (const cred of [creds.server, creds.client]) {
      const leaf = new x509.X509Certificate(cred.cert);
      expect((leaf.signatureAlgorithm as unknown as { name: string }).name).toBe('Ed25519');
      expect(leaf.getExtension(x509.BasicConstraintsExtension)).toBeNull();
      const ku = leaf.getExtension(x509.KeyUsagesExtension)!;
      expect(ku.usages).toBe(x509.KeyUsageFlags.digitalSignature);
      expect(ku.critical).toBe(true);
      const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension)!;
      expect([...eku.usages].sort()).toEqual([OID_CLIENT_AUTH, OID_SERVER_AUTH].sort());
      const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)!;
      expect(san.critical).toBe(false);
      expect(san.names.toJSON()).toEqual([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]);
      expect(leaf.getExtension(x509.SubjectKeyIdentifierExtension)).toBeNull();
      expect(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)).toBeNull();
      expect(await leaf.verify({ publicKey: ca, signatureOnly: true }, webcrypto as never)).toBe(true);
      expect(leaf.extensions.length).toBe(3);
    }
    expect(ca.extensions.length).toBe(4);
    // Go encodes these RDN values as PrintableString (tag 0x13), in the order C, ST, L, O, OU, CN.
    const der = Buffer.from(creds.server.caCert);
    const printable = (s: string) => Buffer.concat([Buffer.from([0x13, s.length]), Buffer.from(s, 'ascii')]);
    const positions = ['US', 'OR', 'Portland', 'ConductorOne', 'connector sdk', 'c1-connector-ca'].map((v) =>
      der.indexOf(printable(v)),
    );
    for (const p of positions) expect(p).toBeGreaterThan(0);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});

describe('Go key conversions', () => {
  it('round-trips a 64-byte Go key through PKCS#8', () => {
    for (const cred of [creds.server, creds.client]) {
      const pem = goKeyToPkcs8Pem(cred.key);
      expect(pem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
      const der = pemToDer(pem, 'PRIVATE KEY');
      expect(Buffer.from(der.subarray(0, 16)).toString('hex')).toBe('302e020100300506032b657004220420');
      expect(Buffer.from(der.subarray(16)).equals(Buffer.from(cred.key.subarray(0, 32)))).toBe(true);
      expect(Buffer.from(pkcs8ToGoKey(pem)).equals(Buffer.from(cred.key))).toBe(true);
      expect(Buffer.from(pkcs8ToGoKey(der)).equals(Buffer.from(cred.key))).toBe(true);
      expect(Buffer.from(pkcs8ToGoKey(createPrivateKey(pem))).equals(Buffer.from(cred.key))).toBe(true);
    }
  });

  it('converts a Node-generated key to Go form and back', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const goKey = pkcs8ToGoKey(privateKey);
    expect(goKey.length).toBe(64);
    expect(Buffer.from(goKey.subarray(32)).equals(publicKey.export({ format: 'der', type: 'spki' }).subarray(12))).toBe(
      true,
    );
    const back = createPrivateKey(goKeyToPkcs8Pem(goKey));
    expect(createPublicKey(back).export({ format: 'der', type: 'spki' })).toEqual(
      publicKey.export({ format: 'der', type: 'spki' }),
    );
  });

  it('rejects malformed Go keys with clear errors', () => {
    expect(() => goKeyToPkcs8Pem(new Uint8Array(32))).toThrow(/expected 64 bytes .* got 32/);
    expect(() => goKeyToPkcs8Pem(creds.server.key.subarray(0, 63))).toThrow(/expected 64 bytes .* got 63/);
    const tampered = creds.server.key.slice();
    tampered[40] ^= 0xff;
    expect(() => goKeyToPkcs8Pem(tampered)).toThrow(/do not match the public key derived from the seed/);
    const swapped = new Uint8Array(64);
    swapped.set(creds.server.key.subarray(0, 32), 0);
    swapped.set(creds.client.key.subarray(32), 32);
    expect(() => goKeyToPkcs8Pem(swapped)).toThrow(/do not match/);
  });

  it('rejects non-Ed25519 keys in pkcs8ToGoKey', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => pkcs8ToGoKey(privateKey)).toThrow(/expected an Ed25519 private key/);
  });

  it('derToPem wraps at 64 columns and pemToDer inverts it', () => {
    const pem = derToPem(creds.server.caCert, 'CERTIFICATE');
    const lines = pem.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.at(-1)).toBe('-----END CERTIFICATE-----');
    for (const l of lines.slice(1, -2)) expect(l.length).toBe(64);
    expect(Buffer.from(pemToDer(pem)).equals(Buffer.from(creds.server.caCert))).toBe(true);
    expect(new X509Certificate(pem).subject).toBe(subjectFor('c1-connector-ca'));
  });
});

interface TestServer {
  port: number;
  server: http2.Http2SecureServer;
  tlsErrors: Error[];
  streams: number;
  close(): Promise<void>;
}

/** http2 mTLS server built from the server credential; answers JSON on "/" and gRPC-echoes on "/test.Echo/Ping". */
async function startServer(options: http2.SecureServerOptions): Promise<TestServer> {
  const server = http2.createSecureServer(options);
  const state: TestServer = {
    port: 0,
    server,
    tlsErrors: [],
    streams: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('tlsClientError', (err) => state.tlsErrors.push(err));
  server.on('stream', (stream, headers) => {
    state.streams++;
    const socket = stream.session!.socket as tls.TLSSocket;
    const info = {
      alpn: socket.alpnProtocol,
      protocol: socket.getProtocol(),
      cipher: socket.getCipher().name,
      clientCN: socket.getPeerCertificate().subject?.CN ?? null,
      authorized: socket.authorized,
    };
    if (headers[':path'] === '/test.Echo/Ping') {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const req = Buffer.concat(chunks);
        const payload = Buffer.concat([req.subarray(5), Buffer.from(` from ${info.clientCN}`)]);
        const frame = Buffer.alloc(5 + payload.length);
        frame.writeUInt8(0, 0);
        frame.writeUInt32BE(payload.length, 1);
        payload.copy(frame, 5);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
        stream.end(frame);
      });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify(info));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  return state;
}

interface H2Result {
  ok: boolean;
  status?: number;
  body?: string;
  alpn?: string | false;
  protocol?: string | null;
  error?: string;
}

function h2Request(port: number, options: http2.SecureClientSessionOptions, host = '127.0.0.1'): Promise<H2Result> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: H2Result) => {
      if (settled) return;
      settled = true;
      session.destroy();
      resolve(r);
    };
    const session = http2.connect(`https://${host}:${port}`, options);
    const fail = (e: Error & { code?: string }) => done({ ok: false, error: `${e.code ?? ''} ${e.message}` });
    session.on('error', fail);
    session.on('close', () => done({ ok: false, error: 'session closed' }));
    const req = session.request({ ':path': '/' });
    let body = '';
    let status = 0;
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      if (settled) return;
      const socket = session.socket as tls.TLSSocket | undefined;
      // TLS 1.3: the server checks the client certificate after the client considers the handshake done, so a
      // rejected client can see its stream end before the session error arrives. Let the session report it.
      if (!socket || status === 0) {
        setTimeout(() => done({ ok: false, error: `stream ended without a response (status ${status})` }), 50);
        return;
      }
      done({ ok: true, status, body, alpn: session.alpnProtocol, protocol: socket.getProtocol() });
    });
    req.on('error', fail);
    req.end();
  });
}

describe('mTLS between Node peers with the Go-format credentials', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer(serverTlsOptions(creds.server));
  });
  afterAll(async () => {
    await srv.close();
  });

  it('serverTlsOptions has the Go child settings', () => {
    const o = serverTlsOptions(creds.server);
    expect(o).toMatchObject({
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
      minVersion: 'TLSv1.2',
      allowHTTP1: false,
    });
    expect(String(o.key)).toContain('BEGIN PRIVATE KEY');
    expect(new X509Certificate(String(o.cert)).subject).toContain('CN=c1-connector-server');
    expect(new X509Certificate(String(o.ca)).subject).toContain('CN=c1-connector-ca');
    const c = clientTlsOptions(creds.client);
    expect(c.servername).toBeUndefined();
    expect(c).toMatchObject({ ALPNProtocols: ['h2'], minVersion: 'TLSv1.2', rejectUnauthorized: true });
  });

  it('accepts an http2 client presenting the client credential (ALPN h2)', async () => {
    const res = await h2Request(srv.port, clientTlsOptions(creds.client));
    expect(res.error).toBeUndefined();
    expect(res.ok).toBe(true);
    expect(res.status).toBe(200);
    expect(res.alpn).toBe('h2');
    const info = JSON.parse(res.body!);
    expect(info).toMatchObject({ alpn: 'h2', clientCN: 'c1-connector-client', authorized: true });
  });

  it('accepts the server leaf as a client certificate too (HEAD session-store reversed roles)', async () => {
    const res = await h2Request(srv.port, clientTlsOptions(creds.server));
    expect(res.ok).toBe(true);
    expect(JSON.parse(res.body!).clientCN).toBe('c1-connector-server');
  });

  it('dialing "localhost" still verifies the IP SAN 127.0.0.1 and succeeds', async () => {
    const res = await h2Request(srv.port, clientTlsOptions(creds.client), 'localhost');
    // localhost may resolve to ::1 first; the server listens on 127.0.0.1 only.
    if (res.ok) expect(JSON.parse(res.body!).clientCN).toBe('c1-connector-client');
    else expect(res.error).toMatch(/ECONNREFUSED/);
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`rejects a client without a certificate (${version})`, async () => {
      const before = srv.streams;
      const { key: _k, cert: _c, ...noCert } = clientTlsOptions(creds.client);
      const res = await h2Request(srv.port, { ...noCert, minVersion: version, maxVersion: version });
      expect(res.ok).toBe(false);
      expect(srv.streams).toBe(before);
    });

    it(`rejects a client whose certificate comes from a different CA (${version})`, async () => {
      const before = srv.streams;
      const foreign = credentialToPem(otherCreds.client);
      const res = await h2Request(srv.port, {
        ...clientTlsOptions(creds.client),
        key: foreign.key,
        cert: foreign.cert,
        minVersion: version,
        maxVersion: version,
      });
      expect(res.ok).toBe(false);
      expect(srv.streams).toBe(before);
    });
  }

  it('the client rejects a server whose certificate comes from a different CA', async () => {
    const res = await h2Request(srv.port, clientTlsOptions(otherCreds.client));
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/certificate|signature|verify/i);
  });

  it('TLS 1.2 and TLS 1.3 both negotiate with Ed25519 certificates in both directions', async () => {
    const seen: Record<string, { protocol: string; cipher: string }> = {};
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const res = await h2Request(srv.port, {
        ...clientTlsOptions(creds.client),
        minVersion: version,
        maxVersion: version,
      });
      expect(res.error).toBeUndefined();
      expect(res.protocol).toBe(version);
      const info = JSON.parse(res.body!);
      expect(info.protocol).toBe(version);
      expect(info.clientCN).toBe('c1-connector-client');
      seen[version] = { protocol: info.protocol, cipher: info.cipher };
    }
    // TLS 1.2 with Ed25519 certificates uses ECDHE_ECDSA suites (RFC 8422), which Go offers too.
    expect(seen['TLSv1.2'].cipher).toMatch(/^ECDHE-ECDSA-/);
    expect(seen['TLSv1.3'].cipher).toMatch(/^TLS_/);
    // Default negotiation picks TLS 1.3 (as a Go peer would).
    const dflt = await h2Request(srv.port, clientTlsOptions(creds.client));
    expect(dflt.protocol).toBe('TLSv1.3');
  });

  it('a server pinned to TLS 1.2 still accepts the client credential', async () => {
    const s12 = await startServer({ ...serverTlsOptions(creds.server), maxVersion: 'TLSv1.2' });
    try {
      const res = await h2Request(s12.port, clientTlsOptions(creds.client));
      expect(res.error).toBeUndefined();
      expect(res.protocol).toBe('TLSv1.2');
    } finally {
      await s12.close();
    }
  });
});

function grpcPing(client: grpc.Client, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/test.Echo/Ping',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(text),
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, res) => (err ? reject(err) : resolve(res!.toString())),
    );
  });
}

describe('grpc-js client credentials', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer(serverTlsOptions(creds.server));
  });
  afterAll(async () => {
    await srv.close();
  });

  it('completes the mTLS handshake and a unary call to 127.0.0.1, without an IP as TLS server name', async () => {
    // grpc-js uses the target host as SNI unless told otherwise; Node deprecates an IP there (DEP0123).
    const deprecations: string[] = [];
    const onWarning = (w: Error & { code?: string }) => deprecations.push(w.code ?? w.name);
    process.on('warning', onWarning);
    const client = new grpc.Client(`127.0.0.1:${srv.port}`, clientTlsForGrpc(creds.client), {
      ...GRPC_LOOPBACK_CHANNEL_OPTIONS,
    });
    try {
      await new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
      );
      expect(client.getChannel().getConnectivityState(false)).toBe(grpc.connectivityState.READY);
      expect(await grpcPing(client, 'ping')).toBe('ping from c1-connector-client');
      await new Promise((resolve) => setImmediate(resolve));
      expect(deprecations).not.toContain('DEP0123');
    } finally {
      client.close();
      process.off('warning', onWarning);
    }
  });

  it('fails (UNAVAILABLE) when the server is from a different CA', async () => {
    const client = new grpc.Client(`127.0.0.1:${srv.port}`, clientTlsForGrpc(otherCreds.client), {
      ...GRPC_LOOPBACK_CHANNEL_OPTIONS,
    });
    try {
      const err = (await grpcPing(client, 'x').catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  it('fails when the server leaf lacks IP SAN 127.0.0.1 even if the chain is valid', async () => {
    // Build a CA and a DNS-only server leaf with the same library, then trust that CA on the client.
    const x509 = await loadX509();
    const alg = { name: 'Ed25519' };
    const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const leafKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const caCert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        name: 'CN=test-ca',
        keys: caKeys as never,
        signingAlgorithm: alg,
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
      },
      webcrypto as never,
    );
    const leaf = await x509.X509CertificateGenerator.create(
      {
        subject: 'CN=127.0.0.1',
        issuer: caCert.subject,
        publicKey: leafKeys.publicKey as never,
        signingKey: caKeys.privateKey as never,
        signingAlgorithm: alg,
        extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }])],
      },
      webcrypto as never,
    );
    const leafKeyPem = derToPem(
      new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)),
      'PRIVATE KEY',
    );
    const bad = await startServer({
      cert: leaf.toString('pem'),
      key: leafKeyPem,
      ALPNProtocols: ['h2'],
      allowHTTP1: false,
    });
    const trustingCred: GoCredential = { ...creds.client, caCert: new Uint8Array(caCert.rawData) };
    const client = new grpc.Client(`127.0.0.1:${bad.port}`, clientTlsForGrpc(trustingCred), {
      ...GRPC_LOOPBACK_CHANNEL_OPTIONS,
    });
    try {
      const err = (await grpcPing(client, 'x').catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(bad.streams).toBe(0);
      // The same server passes chain verification alone, so the failure above is the identity check.
      const res = await h2Request(bad.port, {
        ...clientTlsOptions(trustingCred),
        checkServerIdentity: () => undefined,
      });
      expect(res.ok).toBe(true);
      const res2 = await h2Request(bad.port, clientTlsOptions(trustingCred));
      expect(res2.ok).toBe(false);
      expect(res2.error).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
    } finally {
      client.close();
      await bad.close();
    }
  });

  it('checkLoopbackServerIdentity checks IP SAN 127.0.0.1 whatever the host name', () => {
    const good = { subject: { CN: 'x' }, subjectaltname: 'IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1' };
    const dnsOnly = { subject: { CN: '127.0.0.1' }, subjectaltname: 'DNS:localhost' };
    expect(checkLoopbackServerIdentity('localhost', good as unknown as tls.PeerCertificate)).toBeUndefined();
    expect(checkLoopbackServerIdentity('example.com', good as unknown as tls.PeerCertificate)).toBeUndefined();
    expect(checkLoopbackServerIdentity('127.0.0.1', dnsOnly as unknown as tls.PeerCertificate)).toBeInstanceOf(Error);
  });
});

describe('loadTlsFiles (serve mode)', () => {
  it('loads PEM files; mTLS only when clientCaFile is given', async () => {
    const pem = credentialToPem(creds.server);
    const certFile = join(tmp, 'server.crt');
    const keyFile = join(tmp, 'server.key');
    const caFile = join(tmp, 'ca.crt');
    writeFileSync(certFile, pem.cert);
    writeFileSync(keyFile, pem.key);
    writeFileSync(caFile, pem.ca);

    const plain = loadTlsFiles({ certFile, keyFile });
    expect(plain.requestCert).toBeUndefined();
    expect(plain.ca).toBeUndefined();
    expect(plain).toMatchObject({ ALPNProtocols: ['h2'], minVersion: 'TLSv1.2', allowHTTP1: false });

    const mtls = loadTlsFiles({ certFile, keyFile, clientCaFile: caFile });
    expect(mtls).toMatchObject({ requestCert: true, rejectUnauthorized: true, ca: pem.ca });

    const srv = await startServer(mtls);
    try {
      expect((await h2Request(srv.port, clientTlsOptions(creds.client))).ok).toBe(true);
      const { key: _k, cert: _c, ...noCert } = clientTlsOptions(creds.client);
      expect((await h2Request(srv.port, noCert)).ok).toBe(false);
    } finally {
      await srv.close();
    }
    const open = await startServer(plain);
    try {
      const { key: _k, cert: _c, ...noCert } = clientTlsOptions(creds.client);
      expect((await h2Request(open.port, noCert)).ok).toBe(true);
    } finally {
      await open.close();
    }
  });

  it('reports unreadable or invalid files by name', () => {
    const pem = credentialToPem(creds.server);
    const certFile = join(tmp, 'c.crt');
    const keyFile = join(tmp, 'k.key');
    const junk = join(tmp, 'junk.txt');
    writeFileSync(certFile, pem.cert);
    writeFileSync(keyFile, pem.key);
    writeFileSync(junk, 'not pem');
    const missing = join(tmp, 'missing.pem');
    expect(() => loadTlsFiles({ certFile: missing, keyFile })).toThrow(
      `cannot read TLS certificate file "${missing}": ENOENT`,
    );
    expect(() => loadTlsFiles({ certFile, keyFile: missing })).toThrow(`cannot read TLS key file "${missing}"`);
    expect(() => loadTlsFiles({ certFile, keyFile, clientCaFile: missing })).toThrow(
      `cannot read TLS client CA file "${missing}"`,
    );
    expect(() => loadTlsFiles({ certFile: junk, keyFile })).toThrow(
      `TLS certificate file "${junk}" does not contain a PEM block`,
    );
    expect(() => loadTlsFiles({ certFile: keyFile, keyFile })).toThrow(/is not a valid PEM certificate/);
    expect(() => loadTlsFiles({ certFile, keyFile: certFile })).toThrow(/is not a valid PEM private key/);
    expect(() => loadTlsFiles({ certFile, keyFile: tmp })).toThrow(/cannot read TLS key file .*EISDIR/);
  });
});
