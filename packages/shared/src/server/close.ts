/** Closing an HTTP/2 server within a bounded time, for the child and for local `serve`. */
import type net from 'node:net';

/** Stops accepting, gives open sessions `graceMs` to finish, then destroys what is left. */
export function closeHttp2Server(server: net.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const sockets = new Set<net.Socket>();
    const track = (s: net.Socket) => sockets.add(s);
    server.on('connection', track);
    server.on('secureConnection', track);
    const timer = setTimeout(() => {
      for (const s of sockets) s.destroy();
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    }, graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    if (!server.listening) {
      clearTimeout(timer);
      resolve();
    }
  });
}
