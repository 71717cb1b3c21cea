/**
 * The child side of the subprocess protocol (`_connector-service`, docs/protocol.md, "Handshake"): one base64 ServerConfig line on stdin,
 * the listening socket inherited as fd 3, mTLS from the Ed25519 credential, and exit as soon as stdin closes
 * (the parent closed the pipe or died), so a connector can never outlive its host.
 */
import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';
import { fromBinary } from '@bufbuild/protobuf';
import { ServerConfigSchema, type ServerConfig } from '../gen/c1/connector_wrapper/v1/connector_wrapper_pb.js';
import { serverTlsOptions } from '../tls/node-tls.js';
import { HandshakeError, listenOnInheritedFd } from './inherited-listener.js';
import { grpcStreamHandler } from './grpc-server.js';
import { pluginServices, type PluginHandlerOptions } from './plugin-services.js';
import { closeHttp2Server } from './close.js';
import { redactSecrets } from '../log/secrets.js';

export { HandshakeError };

/** bufio.Scanner's default token limit, which bounds the Go child's first line too. */
const MAX_LINE_BYTES = 64 * 1024;
/** The child must be gone within a second of stdin closing, cleanup included. */
const CLEANUP_GRACE_MS = 300;

export interface ConnectorServiceOptions extends PluginHandlerOptions {
  stdin?: Readable;
  env?: NodeJS.ProcessEnv;
}

export interface RunningConnectorService {
  port: number;
  /** Resolves when the service stopped (stdin closed, a signal, or stop()). */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Reads the handshake, starts serving, and returns once listening. Throws HandshakeError for empty or corrupt input,
 * a missing/invalid fd or a port mismatch; the caller prints it and exits non-zero.
 */
export async function startConnectorService(options: ConnectorServiceOptions): Promise<RunningConnectorService> {
  const stdin = options.stdin ?? process.stdin;
  const { line, stdinClosed } = await readFirstLine(stdin);
  const config = decodeServerConfig(line);
  const credential = config.credential;
  if (!credential || credential.caCert.length === 0 || credential.cert.length === 0 || credential.key.length === 0) {
    throw new HandshakeError('server config has no TLS credential');
  }
  if (config.rateLimiterConfig?.type.case === 'external') {
    throw new HandshakeError('external rate limiters are not implemented yet');
  }

  let tls;
  try {
    tls = serverTlsOptions({ caCert: credential.caCert, key: credential.key, cert: credential.cert });
  } catch (err) {
    throw new HandshakeError(`invalid TLS credential: ${(err as Error).message}`, { cause: err });
  }
  const server = http2.createSecureServer(tls);
  server.on(
    'stream',
    grpcStreamHandler({ services: pluginServices(options), logger: options.logger, stats: options.stats }),
  );
  // Go sets TCP_NODELAY on every TCP connection; RPCs are small request/response exchanges, so we do too.
  server.on('secureConnection', (socket: TLSSocket) => socket.setNoDelay(true));
  // A client that fails mTLS is refused; that is not our process's error.
  server.on('tlsClientError', (err) => options.logger.debug('tls client refused', { error: err.message }));
  const port = await listenOnInheritedFd(server, options.env ?? process.env, config.listenPort || undefined);
  options.logger.debug('connector service listening', { port });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await closeHttp2Server(server, 500);
      // The parent is gone or asked us to stop: cleanup gets a short grace period, never the power to keep us alive.
      await Promise.race([
        options.connector.cleanup?.().catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, CLEANUP_GRACE_MS).unref()),
      ]);
      resolveStopped();
    })());
  // Zombie guard: EOF or an error on stdin means the parent is gone.
  void stdinClosed.then(() => stop());
  return { port, stopped, stop };
}

/**
 * The `_connector-service` command: start, then exit 0 when stdin closes or on SIGTERM/SIGINT; on a handshake
 * failure print the reason to stderr and exit 1.
 */
export async function runConnectorService(options: ConnectorServiceOptions): Promise<never> {
  let service: RunningConnectorService;
  try {
    service = await startConnectorService(options);
  } catch (err) {
    const message =
      err instanceof HandshakeError ? err.message : `connector service failed to start: ${(err as Error).message}`;
    process.stderr.write(`_connector-service: ${redactSecrets(message)}\n`);
    process.exit(1);
  }
  const onSignal = () => void service.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await service.stopped;
  process.exit(0);
}

function decodeServerConfig(line: string): ServerConfig {
  const text = line.trim();
  if (text === '') throw new HandshakeError('unexpected empty input');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new HandshakeError('invalid server config: stdin line is not standard base64');
  }
  try {
    return fromBinary(ServerConfigSchema, Buffer.from(text, 'base64'));
  } catch (err) {
    throw new HandshakeError(`invalid server config: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Resolves with the first line of stdin; `stdinClosed` resolves when stdin ends or fails afterwards.
 * Nothing after the first line is expected; it is ignored, like the Go child's one-byte read.
 */
function readFirstLine(stdin: Readable): Promise<{ line: string; stdinClosed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    let gotLine = false;
    let markClosed!: () => void;
    const stdinClosed = new Promise<void>((r) => (markClosed = r));
    const onData = (chunk: Buffer) => {
      if (gotLine) return;
      buffered = Buffer.concat([buffered, chunk]);
      const newline = buffered.indexOf(0x0a);
      if (newline >= 0) {
        gotLine = true;
        resolve({ line: buffered.subarray(0, newline).toString('utf8'), stdinClosed });
      } else if (buffered.length > MAX_LINE_BYTES) {
        gotLine = true;
        reject(new HandshakeError('invalid server config: first stdin line is too long'));
      }
    };
    const onEnd = () => {
      markClosed();
      if (!gotLine) {
        gotLine = true;
        // A final line without a newline still counts, as with bufio.Scanner.
        if (buffered.length > 0) resolve({ line: buffered.toString('utf8'), stdinClosed });
        else reject(new HandshakeError('unexpected empty input'));
      }
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('close', onEnd);
    stdin.once('error', onEnd);
    stdin.resume();
  });
}
