/**
 * Local serving for engineers and conformance tools: `serve --listen host:port`.
 * Plaintext is allowed only on loopback (HTTP/2 prior knowledge for gRPC and grpcurl -plaintext, HTTP/1.1 for the
 * Connect protocol so a plain `curl -d '{}'` works); with certificate files it serves TLS, and mutual TLS when a
 * client CA is given.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { loadTlsFiles, type TlsFiles } from '../tls/node-tls.js';
import { closeHttp2Server } from './close.js';
import { connectHandler, type NodeHandlerFn, type PluginHandlerOptions } from './router.js';

export interface ServeOptions extends PluginHandlerOptions {
  /** "host:port", "[::1]:port"; port 0 picks a free port. */
  listen: string;
  tls?: TlsFiles;
}

export interface LocalServer {
  address: string;
  host: string;
  port: number;
  mode: 'plaintext' | 'tls' | 'mtls';
  close(): Promise<void>;
}

export class ServeConfigError extends Error {}

export function parseListenAddress(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  if (!match) throw new ServeConfigError(`--listen must be host:port (for example 127.0.0.1:50051), got "${listen}"`);
  const host = match[1] ?? match[2];
  const port = Number(match[3]);
  if (port > 65535) throw new ServeConfigError(`--listen port out of range: ${port}`);
  return { host, port };
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return net.isIPv4(host) && host.startsWith('127.');
}

export async function serveLocal(options: ServeOptions): Promise<LocalServer> {
  const { host, port } = parseListenAddress(options.listen);
  const handler = await connectHandler(options);
  let server: net.Server;
  let mode: LocalServer['mode'];
  if (options.tls) {
    const tls = loadTlsFiles(options.tls);
    mode = options.tls.clientCaFile ? 'mtls' : 'tls';
    server = http2.createSecureServer({ ...tls, allowHTTP1: true, ALPNProtocols: ['h2', 'http/1.1'] }, handler);
  } else {
    if (!isLoopbackHost(host)) {
      throw new ServeConfigError(
        `refusing to serve plaintext on non-loopback address ${host}: pass --tls-cert and --tls-key (and --tls-client-ca for mutual TLS), or listen on 127.0.0.1`,
      );
    }
    mode = 'plaintext';
    server = plaintextHttp1And2(handler);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = server.address() as net.AddressInfo;
  const shown = actual.family === 'IPv6' ? `[${actual.address}]:${actual.port}` : `${actual.address}:${actual.port}`;
  return {
    address: shown,
    host: actual.address,
    port: actual.port,
    mode,
    close: () => closeHttp2Server(server, 1000),
  };
}

/**
 * One port for both: a connection that starts with the HTTP/2 preface goes to the HTTP/2 server, anything else to
 * an HTTP/1.1 server. Both use the same Connect handler.
 */
function plaintextHttp1And2(handler: NodeHandlerFn): net.Server {
  const h2 = http2.createServer(handler);
  const h1 = http.createServer(handler);
  const sessions = new Set<net.Socket>();
  const front = net.createServer((socket) => {
    sessions.add(socket);
    socket.once('close', () => sessions.delete(socket));
    const route = () => {
      const chunk: Buffer | null = socket.read();
      if (chunk === null) {
        socket.once('readable', route);
        return;
      }
      socket.unshift(chunk);
      const isHttp2 = chunk.subarray(0, 3).toString('latin1') === 'PRI';
      (isHttp2 ? h2 : h1).emit('connection', socket);
    };
    socket.once('readable', route);
  });
  // close() on the front server must also end the connections handed to h1/h2.
  const originalClose = front.close.bind(front);
  front.close = ((cb?: (err?: Error) => void) => {
    for (const socket of sessions) socket.destroy();
    return originalClose(cb);
  }) as typeof front.close;
  return front;
}
