/**
 * The host's side of the handshake TLS for @grpc/grpc-js. Kept apart from node-tls.ts so the child process, which
 * never dials, does not load grpc-js at start-up (start-up time is a product feature: hosts spawn a plugin per job).
 */
import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { GoCredential } from './credentials.js';
import { checkLoopbackServerIdentity, credentialToPem } from './node-tls.js';

/**
 * `@grpc/grpc-js` channel credentials matching the Go parent: CA as root, client cert/key presented, server
 * identity = IP SAN 127.0.0.1. grpc-js sets the TLS server name to the target host unless told otherwise, and for
 * "127.0.0.1:<port>" Node then warns that an IP address as server name is deprecated (DEP0123). Always pass
 * `GRPC_LOOPBACK_CHANNEL_OPTIONS` to the client/channel constructor (the identity check below ignores the name).
 */
export function clientTlsForGrpc(cred: GoCredential): ChannelCredentials {
  const pem = credentialToPem(cred);
  return grpcCredentials.createSsl(Buffer.from(pem.ca), Buffer.from(pem.key), Buffer.from(pem.cert), {
    checkServerIdentity: checkLoopbackServerIdentity,
    rejectUnauthorized: true,
  });
}

/**
 * grpc-js channel options for dialing the child at 127.0.0.1: replaces the IP SNI (which Node deprecates, DEP0123)
 * with the server leaf's CN. Servers built from `serverTlsOptions` (and Go servers) have a
 * single certificate and ignore SNI; `clientTlsForGrpc`'s identity check still requires IP SAN 127.0.0.1.
 */
export const GRPC_LOOPBACK_CHANNEL_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  'grpc.ssl_target_name_override': 'c1-connector-server',
});
