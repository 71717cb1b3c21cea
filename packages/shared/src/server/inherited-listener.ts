/**
 * Child side of listener passing (docs/protocol.md, "Listener passing"): serve on the already-listening socket the parent passed as an
 * inherited descriptor, named by `BATON_CONNECTOR_SERVICE_LISTENER_FD`, and cross-check its port against
 * `ServerConfig.listen_port`. Error texts match the Go SDK so logs read the same.
 */
import type net from 'node:net';
import type http2 from 'node:http2';

/** Environment variable naming the inherited listener fd (Go: `listenerFdEnv`). */
export const LISTENER_FD_ENV = 'BATON_CONNECTOR_SERVICE_LISTENER_FD';

/**
 * A failure of the subprocess handshake. Callers print `message` to stderr and exit non-zero, like the Go child
 * whose `_connector-service` RunE returns the error.
 */
export class HandshakeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HandshakeError';
  }
}

/**
 * Parse the listener fd from the environment. Go uses `strconv.Atoi` (optional sign, decimal digits); HEAD also
 * rejects negatives. Values beyond the int32 range cannot be descriptors and are rejected too.
 */
export function parseListenerFd(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[LISTENER_FD_ENV];
  if (raw === undefined || raw === '') {
    throw new HandshakeError('missing required listener fd');
  }
  if (!/^[+-]?[0-9]+$/.test(raw)) {
    throw new HandshakeError('invalid listener fd');
  }
  const fd = Number(raw);
  if (!Number.isSafeInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new HandshakeError('invalid listener fd');
  }
  return fd;
}

type ListenableServer = net.Server | http2.Http2SecureServer | http2.Http2Server;

/**
 * Start `server` on the inherited listening socket and resolve with its port. `expectedPort` is
 * `ServerConfig.listen_port`; the Go child (v0.1.0+) always compares, so pass it as received to behave the same,
 * or `undefined` to skip the check (v0.0.x parents send no listen_port). Rejects with a `HandshakeError`:
 *  - `missing required listener fd` when the env var is absent,
 *  - `invalid listener fd` when it is not a non-negative integer,
 *  - `listen port mismatch: <actual> != <expected>` when `expectedPort` is given and differs (the server is closed),
 *  - `cannot listen on inherited fd <n>: ...` when the descriptor is not a usable listening socket.
 */
export async function listenOnInheritedFd(
  server: ListenableServer,
  env: NodeJS.ProcessEnv = process.env,
  expectedPort?: number,
): Promise<number> {
  const fd = parseListenerFd(env);
  // All three server kinds are net.Server subclasses.
  const srv = server as net.Server;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      srv.off('listening', onListening);
      reject(new HandshakeError(`cannot listen on inherited fd ${fd}: ${err.message}`, { cause: err }));
    };
    const onListening = () => {
      srv.off('error', onError);
      resolve();
    };
    srv.once('error', onError);
    srv.once('listening', onListening);
    try {
      srv.listen({ fd });
    } catch (err) {
      srv.off('error', onError);
      srv.off('listening', onListening);
      reject(new HandshakeError(`cannot listen on inherited fd ${fd}: ${(err as Error).message}`, { cause: err }));
    }
  });
  const address = srv.address();
  if (address === null || typeof address === 'string') {
    await closeQuietly(srv);
    throw new HandshakeError(`cannot listen on inherited fd ${fd}: not a TCP socket`);
  }
  const port = address.port;
  if (expectedPort !== undefined && port !== expectedPort) {
    await closeQuietly(srv);
    throw new HandshakeError(`listen port mismatch: ${port} != ${expectedPort}`);
  }
  return port;
}

function closeQuietly(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
  });
}
