/**
 * Handshake credentials for the Baton subprocess protocol (docs/protocol.md, "Credentials and mutual TLS").
 *
 * The Go host (`pkg/utls`) builds, for every child it spawns, a fresh in-memory Ed25519 CA and two leaf
 * certificates signed by it: `c1-connector-client` (kept by the parent) and `c1-connector-server` (sent to the child
 * inside `ServerConfig.credential`). This module reproduces that certificate profile field by field so that a
 * TypeScript parent is indistinguishable from a Go parent, and a Go child accepts what we send.
 *
 * Go template facts mirrored here (crypto/x509 `CreateCertificate`):
 *  - Subject RDN order as `pkix.Name.ToRDNSequence` emits it: C, ST, L, O, OU, CN (PrintableString values).
 *  - CA: BasicConstraints {cA: TRUE, no pathLen} (critical), KeyUsage digitalSignature|keyCertSign (critical),
 *    ExtKeyUsage clientAuth+serverAuth, SubjectKeyIdentifier (Go adds one automatically to CA certificates;
 *    RFC 5280 method 1, SHA-1 of the public key bits; Go >= 1.25 uses truncated SHA-256 instead, the value is
 *    opaque to every verifier). No AuthorityKeyIdentifier (self-signed).
 *  - Leaves: KeyUsage digitalSignature (critical), ExtKeyUsage clientAuth+serverAuth, SubjectAltName with IP
 *    addresses 127.0.0.1 and ::1 only. No BasicConstraints (Go's template leaves BasicConstraintsValid false), no
 *    SKI/AKI (Go signs the leaves with the CA *template*, which has no SubjectKeyId, so no AKI is emitted).
 *  - Serial numbers: uniformly random in [0, 2^128), DER INTEGER kept positive.
 *  - Validity: NotBefore = now; NotAfter = now + 20 years (CA) / now + 1 year (leaves), calendar arithmetic.
 *  - Signature algorithm Ed25519 (OID 1.3.101.112, no parameters).
 */
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

/**
 * Go-compatible credential, same field names protobuf-es generates for `c1.utls.v1.Credential`
 * `{ ca_cert = 1, key = 2, cert = 3 }`.
 */
export interface GoCredential {
  /** DER X.509 CA certificate. */
  caCert: Uint8Array;
  /** Go `ed25519.PrivateKey` raw form: 64 bytes = 32-byte RFC 8032 seed || 32-byte public key. */
  key: Uint8Array;
  /** DER X.509 leaf certificate signed by the CA. */
  cert: Uint8Array;
}

export const CA_COMMON_NAME = 'c1-connector-ca';
export const CLIENT_COMMON_NAME = 'c1-connector-client';
export const SERVER_COMMON_NAME = 'c1-connector-server';

const ED25519 = { name: 'Ed25519' } as const;

// The repo compiles without the DOM lib, so use Node's WebCrypto types (structurally the DOM ones that
// @peculiar/x509 declares).
type Crypto = webcrypto.Crypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Node's WebCrypto implementation (same object as `globalThis.crypto` on Node >= 19). */
const nodeCrypto: Crypto = webcrypto;

type X509Module = typeof X509;

/**
 * @peculiar/x509 v2 depends on tsyringe, which throws at import time unless a Reflect metadata polyfill
 * (`Reflect.getMetadata` and friends) is installed first (see the library README). A static import would be
 * evaluated before any code in this module, so the library is loaded lazily after the polyfill is in place:
 *  1. an already installed polyfill (e.g. the app imported `reflect-metadata`) is used as is;
 *  2. otherwise the `reflect-metadata` package is imported if it is installed;
 *  3. otherwise a minimal WeakMap-backed implementation of the calls tsyringe makes is installed
 *     (`defineMetadata`, `getMetadata`, `getOwnMetadata`, plus `hasMetadata`, `hasOwnMetadata`, `metadata`).
 */
async function ensureReflectMetadata(): Promise<void> {
  const R = Reflect as unknown as Record<string, unknown>;
  if (typeof R.getMetadata === 'function') return;
  try {
    const specifier = 'reflect-metadata'; // not a declared dependency: resolved at run time only
    await import(specifier);
  } catch {
    // not installed: fall through to the minimal polyfill
  }
  if (typeof R.getMetadata === 'function') return;
  const store = new WeakMap<object, Map<string | symbol | undefined, Map<unknown, unknown>>>();
  const ownMap = (target: object, prop: string | symbol | undefined, create: boolean) => {
    let byProp = store.get(target);
    if (!byProp) {
      if (!create) return undefined;
      byProp = new Map();
      store.set(target, byProp);
    }
    let map = byProp.get(prop);
    if (!map && create) {
      map = new Map();
      byProp.set(prop, map);
    }
    return map;
  };
  const getOwnMetadata = (key: unknown, target: object, prop?: string | symbol) =>
    ownMap(target, prop, false)?.get(key);
  const hasOwnMetadata = (key: unknown, target: object, prop?: string | symbol) =>
    ownMap(target, prop, false)?.has(key) ?? false;
  const hasMetadata = (key: unknown, target: object, prop?: string | symbol): boolean => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t)) if (hasOwnMetadata(key, t, prop)) return true;
    return false;
  };
  const getMetadata = (key: unknown, target: object, prop?: string | symbol): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t)) {
      if (hasOwnMetadata(key, t, prop)) return getOwnMetadata(key, t, prop);
    }
    return undefined;
  };
  const defineMetadata = (key: unknown, value: unknown, target: object, prop?: string | symbol) => {
    ownMap(target, prop, true)!.set(key, value);
  };
  const metadata = (key: unknown, value: unknown) => (target: object, prop?: string | symbol) =>
    defineMetadata(key, value, target, prop);
  const fns: Record<string, unknown> = {
    defineMetadata,
    getMetadata,
    getOwnMetadata,
    hasMetadata,
    hasOwnMetadata,
    metadata,
  };
  for (const [name, fn] of Object.entries(fns)) {
    if (typeof R[name] !== 'function') {
      Object.defineProperty(Reflect, name, { value: fn, writable: true, configurable: true, enumerable: false });
    }
  }
}

let x509Promise: Promise<X509Module> | undefined;

/**
 * Load @peculiar/x509 (after the Reflect polyfill) and make sure it has a crypto provider. The library resolves
 * its default provider at load time (it picks `globalThis.crypto` when present); if none is registered we register
 * Node's WebCrypto, so library calls that are not handed a provider (e.g. `X509Certificate#verify()`) work too.
 * A provider someone else set is never replaced.
 */
export function loadX509(): Promise<X509Module> {
  x509Promise ??= (async () => {
    await ensureReflectMetadata();
    const imported = (await import('@peculiar/x509')) as X509Module & { default?: X509Module };
    // Bundled (esbuild), a CommonJS build of the library arrives as the namespace's default export.
    const mod = imported.cryptoProvider ? imported : imported.default!;
    if (!mod.cryptoProvider.has(mod.CryptoProvider.DEFAULT)) {
      mod.cryptoProvider.set(nodeCrypto);
    }
    return mod;
  })();
  // Do not cache a failure (e.g. a transient import error): the next call retries.
  x509Promise.catch(() => {
    x509Promise = undefined;
  });
  return x509Promise;
}

function subjectName(x509: X509Module, commonName: string): X509.Name {
  // Explicit printableString values in Go's RDN order; one attribute per RDN like Go's appendRDNs.
  return new x509.Name([
    { C: [{ printableString: 'US' }] },
    { ST: [{ printableString: 'OR' }] },
    { L: [{ printableString: 'Portland' }] },
    { O: [{ printableString: 'ConductorOne' }] },
    { OU: [{ printableString: 'connector sdk' }] },
    { CN: [{ printableString: commonName }] },
  ]);
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Random serial in [1, 2^128) as hex; @peculiar/x509 prepends 0x00 when the top bit is set (positive INTEGER). */
function randomSerialHex(crypto: Crypto): string {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    // A zero serial would make @peculiar/x509 substitute its own random value; Go could emit 0 with
    // probability 2^-128, we simply draw again.
    if (bytes.some((b: number) => b !== 0)) return toHex(bytes);
  }
}

function addYears(from: Date, years: number): Date {
  const d = new Date(from.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}

interface Ed25519KeyPair {
  keys: CryptoKeyPair;
  /** 32-byte raw public key. */
  publicRaw: Uint8Array;
  /** 64-byte Go private key form. */
  goKey: Uint8Array;
}

async function generateEd25519(crypto: Crypto): Promise<Ed25519KeyPair> {
  const keys = (await crypto.subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  // Ed25519 PKCS#8 (RFC 8410) is a fixed 16-byte prefix followed by the 32-byte seed.
  if (pkcs8.length !== 48 || publicRaw.length !== 32) {
    throw new Error(
      `unexpected Ed25519 key encoding from WebCrypto (pkcs8 ${pkcs8.length} bytes, raw ${publicRaw.length} bytes)`,
    );
  }
  const goKey = new Uint8Array(64);
  goKey.set(pkcs8.subarray(16), 0);
  goKey.set(publicRaw, 32);
  return { keys, publicRaw, goKey };
}

async function sha1(crypto: Crypto, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-1', data));
}

async function createLeaf(
  x509: X509Module,
  crypto: Crypto,
  commonName: string,
  caName: X509.Name,
  caPrivateKey: CryptoKey,
  caDer: Uint8Array,
): Promise<GoCredential> {
  const pair = await generateEd25519(crypto);
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(crypto),
      subject: subjectName(x509, commonName),
      issuer: caName,
      notBefore: now,
      notAfter: addYears(now, 1),
      publicKey: pair.keys.publicKey,
      signingKey: caPrivateKey,
      signingAlgorithm: ED25519,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(
          [
            { type: 'ip', value: '127.0.0.1' },
            { type: 'ip', value: '::1' },
          ],
          false,
        ),
      ],
    },
    crypto,
  );
  return { caCert: caDer.slice(), key: pair.goKey, cert: new Uint8Array(cert.rawData) };
}

/**
 * Generate a fresh CA plus client and server credentials exactly like the Go host's
 * `utls.GenerateClientServerCredentials`. Both credentials carry the same `caCert`. The parent keeps `client`
 * and sends `server` to the child in `ServerConfig.credential`.
 */
export async function generateHandshakeCredentials(): Promise<{ server: GoCredential; client: GoCredential }> {
  const x509 = await loadX509();
  const crypto = nodeCrypto;
  const ca = await generateEd25519(crypto);
  const caName = subjectName(x509, CA_COMMON_NAME);
  const now = new Date();
  const ski = await sha1(crypto, ca.publicRaw);
  const caCert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(crypto),
      subject: caName,
      issuer: caName,
      notBefore: now,
      notAfter: addYears(now, 20),
      publicKey: ca.keys.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: ED25519,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth], false),
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.SubjectKeyIdentifierExtension(toHex(ski), false),
      ],
    },
    crypto,
  );
  const caDer = new Uint8Array(caCert.rawData);
  const client = await createLeaf(x509, crypto, CLIENT_COMMON_NAME, caName, ca.keys.privateKey, caDer);
  const server = await createLeaf(x509, crypto, SERVER_COMMON_NAME, caName, ca.keys.privateKey, caDer);
  return { server, client };
}
