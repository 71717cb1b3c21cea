/**
 * Fail fast while a connector checks its configuration.
 *
 * During `Validate` the first requests of a run go out. If the host name does not resolve, nothing listens on the
 * port, the network is unreachable or the TLS certificate is not trusted, the configuration is wrong (a mistyped
 * domain or base URL, a proxy with a private CA), and retrying for minutes only hides that. So inside
 * `asConfigurationCheck(fn)` (the plugin server wraps `Validate` in it) the HTTP client does not retry these
 * failures and throws `FailedPrecondition` ("fix the system before retrying", which no host retries) with a
 * message that names the host and, when the CLI runner has set one, the flag to check. Everywhere else (the middle
 * of a sync) the same failures are retried patiently, as before.
 *
 * The scope is carried by AsyncLocalStorage, so every request the connector makes while validating is covered
 * without the connector passing anything along. See docs/cli.md ("Fail fast").
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<'configuration-check'>();
let running = 0;

/**
 * Runs `fn` as a configuration check: unreachable-endpoint failures of requests made inside fail at once.
 *
 * The storage is disabled again when no check is running: on Node 20 an AsyncLocalStorage that has run once keeps a
 * promise hook installed, which made every later `await` of the process about twice as slow (measured: 2 million
 * awaits, 0.25 s before the first `run`, 0.46 s after it, 0.15 s after `disable()`), i.e. the whole sync after
 * Validate.
 */
export async function asConfigurationCheck<T>(fn: () => Promise<T>): Promise<T> {
  running++;
  try {
    return await scope.run('configuration-check', fn);
  } finally {
    if (--running === 0) scope.disable();
  }
}

/** True inside `asConfigurationCheck`. */
export function inConfigurationCheck(): boolean {
  return scope.getStore() === 'configuration-check';
}

/** A fixed hint, or one chosen by the host that failed (a connector may talk to a token URL and an API URL). */
export type EndpointHint = string | ((host: string) => string | undefined);

let endpointHint: EndpointHint | undefined;

/**
 * What a user should check when the API cannot be reached during a configuration check, e.g.
 * `--domain (BATON_DOMAIN)`. The CLI runner sets it from the connector definition's endpoint fields; undefined
 * leaves it out. Process-wide: a plugin process runs one connector.
 */
export function setEndpointHint(hint: EndpointHint | undefined): void {
  endpointHint = hint;
}

/** The hint for a failure on `host` (`host:port`), if any. */
export function getEndpointHint(host: string): string | undefined {
  return typeof endpointHint === 'function' ? endpointHint(host) : endpointHint;
}

/** OpenSSL verification results and Node's host-name check, as they appear in `err.code`. */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_REJECTED',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export type EndpointProblem = 'dns' | 'refused' | 'unreachable' | 'tls';

/** The kind of misconfiguration a transport error code reveals, or undefined for transient/unknown codes. */
export function endpointProblemOf(code: string | undefined): EndpointProblem | undefined {
  if (code === undefined) return undefined;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NONAME') return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENETDOWN') return 'unreachable';
  // EPROTO / wrong version number: https:// to a port that speaks plain HTTP (or the reverse through a proxy).
  if (CERTIFICATE_CODES.has(code) || code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') return 'tls';
  return undefined;
}

/** `twingate: cannot resolve the host acme.twingate.com (ENOTFOUND): check --domain (BATON_DOMAIN)`. */
export function describeEndpointProblem(args: {
  service: string;
  problem: EndpointProblem;
  host: string;
  code: string;
  detail: string;
  hint?: string;
}): string {
  const { service, problem, host, code } = args;
  let what: string;
  switch (problem) {
    case 'dns':
      what = `cannot resolve the host ${host} (${code})`;
      break;
    case 'refused':
      what = `cannot connect to ${host}: connection refused (${code})`;
      break;
    case 'unreachable':
      what = `cannot reach ${host}: network unreachable (${code})`;
      break;
    case 'tls': {
      const reason = args.detail.trim() || code;
      what = `the TLS connection to ${host} failed: ${reason} (${code})`;
      break;
    }
  }
  const checks: string[] = [];
  if (args.hint) checks.push(`check ${args.hint}`);
  if (problem === 'tls' && CERTIFICATE_CODES.has(code))
    checks.push('if a proxy or a private CA signs the certificate, set NODE_EXTRA_CA_CERTS to that CA file');
  return `${service}: ${what}${checks.length ? `: ${checks.join('; ')}` : ''}`;
}
