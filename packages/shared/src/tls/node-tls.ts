/**
 * Conversions between the Go handshake credential format (docs/protocol.md, "Handshake": DER certificates, 64-byte raw Ed25519
 * keys) and what Node's TLS stack wants (PEM), plus ready-made option objects for both ends of the mTLS channel.
 *
 * Go side facts (docs/protocol.md, "Credentials and mutual TLS"):
 *  - child (server): MinVersion TLS 1.2, own cert+key, RequireAndVerifyClientCert against the CA, NextProtos ["h2"].
 *  - parent (client): MinVersion TLS 1.2, RootCAs = CA, presents its own cert, ServerName "127.0.0.1" (so the
 *    server leaf must carry IP SAN 127.0.0.1), newer gRPC-Go insists on ALPN "h2".
 */
import { createPrivateKey, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureServerOptions, SecureClientSessionOptions } from 'node:http2';
import { checkServerIdentity as nodeCheckServerIdentity, type PeerCertificate } from 'node:tls';
import { asBuffer } from '../util/bytes.js';
import type { GoCredential } from './credentials.js';

/** RFC 8410 PKCS#8 prefix for an Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** RFC 8410 SubjectPublicKeyInfo prefix for an Ed25519 public key; the 32-byte key follows. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The address whose IP SAN the Go parent verifies (`ServerName: "127.0.0.1"`). */
export const LOOPBACK_SERVER_NAME = '127.0.0.1';

/** Wrap DER bytes in a PEM block with 64-character base64 lines. */
export function derToPem(der: Uint8Array, label: string): string {
  const b64 = asBuffer(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Extract the DER bytes of the first PEM block with the given label (any label when omitted). */
export function pemToDer(pem: string, label?: string): Uint8Array {
  const re = label
    ? new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`)
    : /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;
  const m = re.exec(pem);
  if (!m) throw new Error(`no PEM block${label ? ` labelled "${label}"` : ''} found`);
  const body = label ? m[1] : m[2];
  return new Uint8Array(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
}

/** The 32-byte Ed25519 public key derived from a 32-byte seed. */
function publicFromSeed(seed: Uint8Array): Buffer {
  const priv = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, asBuffer(seed)]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return spki.subarray(ED25519_SPKI_PREFIX.length);
}

/**
 * Validate a Go `ed25519.PrivateKey` (64 bytes: seed || public key) and return its PKCS#8 DER encoding.
 * Go's crypto/ed25519 reads `key[32:]` as the public key when signing, so an inconsistent key would produce
 * signatures that do not verify; we reject it up front.
 */
export function goKeyToPkcs8Der(key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array)) {
    throw new TypeError('invalid Go ed25519 private key: expected a Uint8Array');
  }
  if (key.length !== 64) {
    throw new Error(
      `invalid Go ed25519 private key: expected 64 bytes (32-byte seed || 32-byte public key), got ${key.length}`,
    );
  }
  const seed = key.subarray(0, 32);
  const pub = publicFromSeed(seed);
  if (!pub.equals(asBuffer(key.subarray(32)))) {
    throw new Error('invalid Go ed25519 private key: bytes 32..63 do not match the public key derived from the seed');
  }
  return new Uint8Array(Buffer.concat([ED25519_PKCS8_PREFIX, asBuffer(seed)]));
}

/** Validate a 64-byte Go Ed25519 key and return it as a PKCS#8 PEM ("PRIVATE KEY") string. */
export function goKeyToPkcs8Pem(key: Uint8Array): string {
  return derToPem(goKeyToPkcs8Der(key), 'PRIVATE KEY');
}

/**
 * Convert an Ed25519 private key (PKCS#8 DER bytes, a PEM string, or a KeyObject) into Go's 64-byte
 * `ed25519.PrivateKey` form: seed || public key.
 */
export function pkcs8ToGoKey(pkcs8: Uint8Array | string | KeyObject): Uint8Array {
  let key: KeyObject;
  if (pkcs8 instanceof KeyObject) {
    key = pkcs8;
  } else if (typeof pkcs8 === 'string') {
    key = createPrivateKey({ key: pkcs8, format: 'pem' });
  } else {
    key = createPrivateKey({ key: asBuffer(pkcs8), format: 'der', type: 'pkcs8' });
  }
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`expected an Ed25519 private key, got ${key.type} ${key.asymmetricKeyType ?? 'unknown'} key`);
  }
  const jwk = key.export({ format: 'jwk' });
  if (!jwk.d || !jwk.x) throw new Error('Ed25519 key export did not yield seed and public key');
  const seed = Buffer.from(jwk.d, 'base64url');
  const pub = Buffer.from(jwk.x, 'base64url');
  if (seed.length !== 32 || pub.length !== 32) throw new Error('unexpected Ed25519 key component length');
  const out = new Uint8Array(64);
  out.set(seed, 0);
  out.set(pub, 32);
  return out;
}

/** PEM strings for a Go credential. */
export interface PemCredential {
  ca: string;
  key: string;
  cert: string;
}

export function credentialToPem(cred: GoCredential): PemCredential {
  return {
    ca: derToPem(cred.caCert, 'CERTIFICATE'),
    key: goKeyToPkcs8Pem(cred.key),
    cert: derToPem(cred.cert, 'CERTIFICATE'),
  };
}

/**
 * Go's client check for `ServerName: "127.0.0.1"`: the peer leaf must list IP SAN 127.0.0.1 (chain verification
 * against the CA is done by OpenSSL because `rejectUnauthorized` stays true). The `hostname` Node passes in is
 * ignored on purpose: gRPC and http2 callers may dial "localhost" or have an SNI override.
 */
export function checkLoopbackServerIdentity(_hostname: string, cert: PeerCertificate): Error | undefined {
  return nodeCheckServerIdentity(LOOPBACK_SERVER_NAME, cert);
}

/**
 * Options for `http2.createSecureServer` matching the Go child's TLS config: own cert/key, mandatory client
 * certificate verified against the handshake CA, ALPN h2 only, TLS >= 1.2.
 */
export function serverTlsOptions(cred: GoCredential): SecureServerOptions {
  const pem = credentialToPem(cred);
  return {
    cert: pem.cert,
    key: pem.key,
    ca: pem.ca,
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ['h2'],
    minVersion: 'TLSv1.2',
    allowHTTP1: false,
  };
}

/**
 * Options for `tls.connect` / `http2.connect` matching the Go parent's TLS config. No `servername` is set:
 * Go sends no SNI for an IP ServerName and Node deprecates SNI with an IP (DEP0123). Identity is checked by
 * `checkLoopbackServerIdentity` (IP SAN 127.0.0.1), the chain against the handshake CA.
 */
export function clientTlsOptions(cred: GoCredential): SecureClientSessionOptions {
  const pem = credentialToPem(cred);
  return {
    ca: pem.ca,
    key: pem.key,
    cert: pem.cert,
    ALPNProtocols: ['h2'],
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    checkServerIdentity: checkLoopbackServerIdentity,
  };
}

/** Files for the local `serve` mode. */
export interface TlsFiles {
  /** PEM certificate (chain) presented by the server. */
  certFile: string;
  /** PEM private key for the certificate (any type Node supports). */
  keyFile: string;
  /** PEM CA bundle; when given, clients must present a certificate issued by it (mTLS). */
  clientCaFile?: string;
}

function readPemFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot read TLS ${what} file "${path}": ${e.code ?? ''}${e.code ? ' ' : ''}${e.message}`.trim());
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) {
    throw new Error(`TLS ${what} file "${path}" does not contain a PEM block`);
  }
  return text;
}

/**
 * Load PEM files into `http2.createSecureServer` options. Mutual TLS (`requestCert` + `rejectUnauthorized`) is
 * switched on exactly when `clientCaFile` is given. Contents are validated so errors name the offending file.
 */
export function loadTlsFiles(files: TlsFiles): SecureServerOptions {
  const cert = readPemFile(files.certFile, 'certificate');
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw new Error(
      `TLS certificate file "${files.certFile}" is not a valid PEM certificate: ${(err as Error).message}`,
    );
  }
  const key = readPemFile(files.keyFile, 'key');
  try {
    createPrivateKey({ key, format: 'pem' });
  } catch (err) {
    throw new Error(`TLS key file "${files.keyFile}" is not a valid PEM private key: ${(err as Error).message}`);
  }
  const options: SecureServerOptions = {
    cert,
    key,
    ALPNProtocols: ['h2'],
    minVersion: 'TLSv1.2',
    allowHTTP1: false,
  };
  if (files.clientCaFile !== undefined) {
    const ca = readPemFile(files.clientCaFile, 'client CA');
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw new Error(
        `TLS client CA file "${files.clientCaFile}" is not a valid PEM certificate: ${(err as Error).message}`,
      );
    }
    options.ca = ca;
    options.requestCert = true;
    options.rejectUnauthorized = true;
  }
  return options;
}
