/**
 * Parent side of listener passing (docs/protocol.md, "Listener passing"): open a TCP listener on 127.0.0.1:<ephemeral> and hand
 * the listening socket to the child as fd 3 (the child gets `BATON_CONNECTOR_SERVICE_LISTENER_FD=3`).
 *
 * The problem: Go dups the socket (`listener.File()`) without ever accepting on it in the parent. In Node, the only
 * public way to create a listening TCP socket is `net.Server#listen`, and a listening `net.Server` accepts
 * connections itself as soon as the event loop polls its fd; an accepted connection is gone from the kernel
 * backlog and can never reach the child.
 *
 * Approach (measured on Node 20 / Linux, see packages/shared/test/listener.test.ts):
 *  - `listen()` on the IP literal 127.0.0.1 completes entirely inside process.nextTick/microtask callbacks (the
 *    DNS lookup of an IP literal is answered via nextTick, the libuv `uv_listen` call is synchronous, and
 *    'listening' is emitted via nextTick). libuv accepts connections only from its poll phase (it even defers the
 *    epoll registration of the fd to it), so when this promise resolves the event loop has not turned and the
 *    parent cannot have accepted anything. (A test asserts this with a setImmediate probe.)
 *  - The caller then spawns the child with the raw fd in its stdio array (libuv dup2()s it to fd 3 in the child
 *    before `spawn()` returns) and calls `close()` synchronously right after. Closing the parent's descriptor does
 *    not affect the child's duplicate: the socket stays listening, and connections wait in the kernel backlog
 *    until the child accepts them. The parent never polls the fd at all.
 *  - Safety net: the parent's server uses `pauseOnConnect` and destroys any connection it does accept (which only
 *    happens if the contract below is broken), counts it (`acceptedByParent()`), and emits a process warning. The
 *    peer sees a reset rather than a hang, and gRPC clients reconnect.
 *
 * Contract for callers:
 *  ```ts
 *  const listener = await openLoopbackListener();
 *  let child;
 *  try {
 *    child = spawn(exe, args, { stdio: ['pipe', 'inherit', 'inherit', listener.fd], env: { ...env, [LISTENER_FD_ENV]: '3' } });
 *  } finally {
 *    listener.close(); // synchronously, in the same tick as spawn(); no `await` between open, spawn and close
 *  }
 *  ```
 *  Do not await I/O, timers or anything that lets the event loop turn between `openLoopbackListener()` resolving
 *  and `close()`. Everything that needs the port (building and encoding ServerConfig) is synchronous.
 *
 * The raw fd comes from the internal `server._handle.fd` (a TCPWrap property that exists on Unix in Node 18-24;
 * it is -1 on Windows, where the Go SDK uses port-only passing). It is checked at runtime.
 */
import net from 'node:net';

/** The fd number the listener occupies in the child (Go: `cmd.ExtraFiles[0]`). */
export const CHILD_LISTENER_FD = 3;

export interface LoopbackListener {
  /** Ephemeral port on 127.0.0.1 (goes into `ServerConfig.listen_port`). */
  readonly port: number;
  /** The parent's raw descriptor of the listening socket; put it at index 3 of the spawn stdio array. */
  readonly fd: number;
  /** Close the parent's copy. Call synchronously right after `spawn()` returns (or on spawn failure). Idempotent. */
  close(): void;
  /** Connections the parent accepted (and reset) because the contract was broken. 0 in correct use. */
  acceptedByParent(): number;
}

interface HandleWithFd {
  fd?: unknown;
}

export interface LoopbackListenerOptions {
  /**
   * Called when the parent accepted (and reset) a connection meant for the child, i.e. the contract above was
   * broken. Default: a process warning with code BATON_LISTENER_STOLEN_CONNECTION.
   */
  onStolenConnection?: () => void;
}

const warnStolenConnection = () =>
  process.emitWarning(
    'openLoopbackListener: the parent accepted a connection meant for the child; call close() synchronously right after spawn()',
    { code: 'BATON_LISTENER_STOLEN_CONNECTION' },
  );

/**
 * Open a TCP listener on 127.0.0.1:0 whose descriptor can be inherited by a child as fd 3. See the module comment
 * for the contract (spawn, then `close()` synchronously).
 */
export function openLoopbackListener(options: LoopbackListenerOptions = {}): Promise<LoopbackListener> {
  const onStolenConnection = options.onStolenConnection ?? warnStolenConnection;
  return new Promise((resolve, reject) => {
    let accepted = 0;
    let closed = false;
    const server = net.createServer({ pauseOnConnect: true });
    server.on('connection', (socket: net.Socket) => {
      // Only reachable if the caller let the event loop turn before close(): the connection is lost for the
      // child. Reset it so the client retries instead of hanging on a socket nobody serves.
      accepted++;
      socket.resetAndDestroy();
      onStolenConnection();
    });
    const onError = (err: Error) => {
      closed = true;
      server.close();
      reject(err);
    };
    server.once('error', onError);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      server.off('error', onError);
      // The server itself must not keep the parent alive if a caller forgets close(); the child owns the socket.
      server.unref();
      const address = server.address();
      const handle = (server as unknown as { _handle?: HandleWithFd | null })._handle;
      const fd = handle?.fd;
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('openLoopbackListener: listener has no TCP address'));
        return;
      }
      if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
        server.close();
        reject(
          new Error(
            `openLoopbackListener: cannot obtain the listening socket's file descriptor on ${process.platform} (got ${String(fd)}); fd passing is Unix-only`,
          ),
        );
        return;
      }
      resolve({
        port: address.port,
        fd,
        close() {
          if (closed) return;
          closed = true;
          server.close();
        },
        acceptedByParent: () => accepted,
      });
    });
  });
}
