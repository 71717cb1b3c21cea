/**
 * Spawn a connector as the Go host does (docs/protocol.md: "Handshake", "Child lifetime", "Parent dial") and return a typed client for it.
 *
 *  1. fresh in-memory Ed25519 CA + client/server leaves (tls/credentials.ts);
 *  2. a listener on 127.0.0.1:0 handed to the child as fd 3, env `BATON_CONNECTOR_SERVICE_LISTENER_FD=3`;
 *  3. argv = the given args with `_connector-service` appended last;
 *  4. exactly one stdin line: standard padded base64 of `c1.connector_wrapper.v1.ServerConfig{credential = server
 *     credential, rate_limiter_config, listen_port}` + "\n"; the pipe then stays open (closing it makes the child
 *     exit, which is how `close()` stops it and how a dead parent never leaves a zombie behind);
 *  5. dial `127.0.0.1:<port>` over mTLS with grpc-js, waiting up to 5 s (reconnect attempts 500 ms apart) for the
 *     channel to become READY.
 *
 * Differences from Go, on purpose: the child's stderr is piped (and teed to ours by default) so we can keep its
 * tail for error reports; an unexpected child exit does not `os.Exit(1)` the host but fails every pending and later
 * RPC with `ConnectorExitedError`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { create, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { ServerConfigSchema } from '../gen/c1/connector_wrapper/v1/connector_wrapper_pb.js';
import { CredentialSchema } from '../gen/c1/utls/v1/tls_pb.js';
import type { RateLimiterConfig } from '../gen/c1/ratelimit/v1/ratelimit_pb.js';
import type { Logger } from '../log/logger.js';
import { generateHandshakeCredentials, type GoCredential } from '../tls/credentials.js';
import { clientTlsForGrpc, GRPC_LOOPBACK_CHANNEL_OPTIONS } from '../tls/grpc-credentials.js';
import { CHILD_LISTENER_FD, openLoopbackListener } from './listener.js';
import {
  ConnectorExitedError,
  GrpcConnectorClient,
  type ConnectorClient,
  type ExitStatus,
  type ExitWatch,
} from './client.js';
import type { RateLimitGateOptions } from './rate-limit-gate.js';
import { connectorStartups } from './startup-gate.js';

/** Hidden subcommand the child runs (Go: `Use: "_connector-service"`). */
export const CONNECTOR_SERVICE_SUBCOMMAND = '_connector-service';
/** Env var naming the inherited listener fd (Go: `listenerFdEnv`). */
export const LISTENER_FD_ENV = 'BATON_CONNECTOR_SERVICE_LISTENER_FD';

export const DEFAULT_DIAL_TIMEOUT_MS = 5_000;
export const DIAL_RETRY_INTERVAL_MS = 500;
export const DEFAULT_STDERR_TAIL_BYTES = 64 * 1024;
export const DEFAULT_CLOSE_GRACE_MS = 5_000;

export interface SpawnConnectorOptions {
  /** Executable (Go: the parent's own `os.Executable()`). */
  command: string;
  /** Arguments before `_connector-service` (Go: the parent's `os.Args[1:]`). */
  args: string[];
  /** Child environment (default `process.env`); `BATON_CONNECTOR_SERVICE_LISTENER_FD=3` is added. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Goes into `ServerConfig.rate_limiter_config` (unset, like the one-shot Go CLI, when omitted). */
  rateLimiterConfig?: RateLimiterConfig;
  /**
   * Child stderr: `'inherit'` (default) forwards it to our stderr like Go does; `'pipe'` only keeps the tail.
   * Either way the last `stderrTailBytes` are kept for `ConnectorExitedError`.
   */
  stderr?: 'inherit' | 'pipe';
  /** Child stdout: `'inherit'` (default, Go: `cmd.Stdout = os.Stdout`) or `'ignore'`. */
  stdout?: 'inherit' | 'ignore';
  /** How long to wait for the channel to become READY (default 5 s, like Go's dial context). */
  dialTimeoutMs?: number;
  stderrTailBytes?: number;
  /** After closing stdin, how long `close()` waits for the child to exit before SIGKILL (default 5 s). */
  closeGraceMs?: number;
  /** Rate-limit gate on the client (default on), see rate-limit-gate.ts. */
  rateLimitGate?: boolean | RateLimitGateOptions;
  /** Default per-call deadline for the client (none by default). */
  callTimeoutMs?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  /**
   * Start the child in its own process group (its pid is the group id), so everything it starts can be found, and
   * killed, after it exits (the conformance kit's orphan check). Default false, like the Go host.
   */
  processGroup?: boolean;
  logger?: Logger;
}

export interface ConnectorProcess {
  client: ConnectorClient;
  /** The concrete gRPC client (channel access, `unary()` for other methods). */
  grpcClient: GrpcConnectorClient;
  pid: number;
  /** `127.0.0.1` port the child serves on. */
  port: number;
  /** Close the channel, then stdin, then wait for exit (SIGKILL after the grace period). Idempotent. */
  close(): Promise<void>;
  /** Resolves when the child has exited (whether or not `close()` was called). Never rejects. */
  exited: Promise<ExitStatus>;
  /** The kept tail of the child's stderr so far. */
  stderrTail(): string;
}

/** Keeps the last `limit` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    if (this.limit <= 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0];
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }
  toString(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** The single stdin line: standard padded base64 of the serialised ServerConfig, then "\n". */
export function encodeServerConfigLine(
  credential: GoCredential,
  listenPort: number,
  rateLimiterConfig?: RateLimiterConfig,
): string {
  const config = create(ServerConfigSchema, {
    credential: create(CredentialSchema, { caCert: credential.caCert, key: credential.key, cert: credential.cert }),
    rateLimiterConfig,
    listenPort,
  });
  return Buffer.from(toBinary(ServerConfigSchema, config)).toString('base64') + '\n';
}

/** Resolves true if `p` settles within `ms`, else false; the timer never outlives the race. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

/** Spawn the connector, hand it the handshake, and dial it. Rejects (and kills the child) if any step fails. */
export async function spawnConnector(options: SpawnConnectorOptions): Promise<ConnectorProcess> {
  // Many children starting at once would starve each other past the dial limit: queue for a start-up slot.
  const releaseStartup = await connectorStartups.acquire();
  try {
    return await startConnector(options);
  } finally {
    releaseStartup();
  }
}

async function startConnector(options: SpawnConnectorOptions): Promise<ConnectorProcess> {
  const logger = options.logger;
  const credentials = await generateHandshakeCredentials();
  const listener = await openLoopbackListener();

  // From here to listener.close() nothing may await (see listener.ts): build the line, spawn, close.
  let child: ChildProcess;
  let line: string;
  try {
    line = encodeServerConfigLine(credentials.server, listener.port, options.rateLimiterConfig);
    const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env), [LISTENER_FD_ENV]: String(CHILD_LISTENER_FD) };
    child = spawn(options.command, [...options.args, CONNECTOR_SERVICE_SUBCOMMAND], {
      cwd: options.cwd,
      env,
      stdio: ['pipe', options.stdout ?? 'inherit', 'pipe', listener.fd],
      detached: options.processGroup ?? false,
    });
  } finally {
    listener.close();
  }
  const port = listener.port;

  // Exit tracking -------------------------------------------------------------------------------------------
  const tail = new TailBuffer(options.stderrTailBytes ?? DEFAULT_STDERR_TAIL_BYTES);
  const teeStderr = (options.stderr ?? 'inherit') === 'inherit';
  let stderrEnded = false;
  const stderrEnd = new Promise<void>((resolve) => {
    if (!child.stderr) {
      stderrEnded = true;
      resolve();
      return;
    }
    child.stderr.on('data', (chunk: Buffer) => {
      tail.push(chunk);
      if (teeStderr) process.stderr.write(chunk);
    });
    child.stderr.on('end', () => {
      stderrEnded = true;
      resolve();
    });
    child.stderr.on('error', () => resolve());
  });

  let closing = false;
  let exitError: ConnectorExitedError | undefined;
  const exitListeners = new Set<(err: ConnectorExitedError) => void>();
  let spawnError: Error | undefined;
  let resolveExited!: (s: ExitStatus) => void;
  const exited = new Promise<ExitStatus>((resolve) => (resolveExited = resolve));

  const onExit = async (status: ExitStatus) => {
    // Collect the last stderr bytes: wait briefly for the pipe to drain (a grandchild holding stderr open must
    // not block the report).
    if (!stderrEnded) await settlesWithin(stderrEnd, 200);
    resolveExited(status);
    if (closing) return;
    exitError = new ConnectorExitedError({ ...status, stderrTail: tail.toString(), pid: child.pid });
    logger?.error('connector service quit unexpectedly', { pid: child.pid, code: status.code, signal: status.signal });
    for (const l of [...exitListeners]) {
      try {
        l(exitError);
      } catch {
        // listeners must not break each other
      }
    }
    exitListeners.clear();
  };
  child.once('exit', (code, signal) => void onExit({ code, signal }));
  child.once('error', (err) => {
    // spawn failure (ENOENT, EACCES...): no 'exit' follows.
    spawnError = err;
    if (child.pid === undefined) void onExit({ code: null, signal: null });
  });
  // EPIPE on stdin when the child died early is reported through the exit path.
  child.stdin?.on('error', () => {});

  const exitWatch: ExitWatch = {
    current: () => exitError,
    onExit(listener) {
      if (exitError) {
        const err = exitError;
        queueMicrotask(() => listener(err));
        return () => {};
      }
      exitListeners.add(listener);
      return () => exitListeners.delete(listener);
    },
  };

  const killChild = async (graceMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      await exited;
      return;
    }
    child.stdin?.end();
    const done = await settlesWithin(exited, graceMs);
    if (!done) {
      child.kill('SIGKILL');
      await exited;
    }
  };

  // Handshake line: written once, pipe kept open.
  child.stdin?.write(line);

  // Dial ----------------------------------------------------------------------------------------------------
  const grpcClient = new grpc.Client(`127.0.0.1:${port}`, clientTlsForGrpc(credentials.client), {
    ...GRPC_LOOPBACK_CHANNEL_OPTIONS,
    // Mirror Go's 500 ms dial retry instead of grpc-js' default 1 s+ backoff.
    'grpc.initial_reconnect_backoff_ms': DIAL_RETRY_INTERVAL_MS,
    'grpc.max_reconnect_backoff_ms': DIAL_RETRY_INTERVAL_MS,
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    // A page of 250 resources is ~100 KiB; with HTTP/2's default 64 KiB window every reply would wait for a
    // WINDOW_UPDATE round trip. Go's gRPC grows its window from BDP estimates; a fixed window of one maximum
    // message does the same job on loopback (~35k -> ~48k resources/s in bench/server.mjs).
    'grpc-node.flow_control_window': 4 * 1024 * 1024,
    ...options.channelOptions,
  });
  const connector = new GrpcConnectorClient(grpcClient, {
    rateLimitGate: options.rateLimitGate,
    exitWatch,
    defaultTimeoutMs: options.callTimeoutMs,
    logger,
  });

  try {
    await waitUntilReady(grpcClient, options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS, exitWatch, () => spawnError);
  } catch (err) {
    closing = true;
    connector.close();
    await killChild(0);
    if (spawnError) {
      throw new Error(`cannot start connector "${options.command}": ${spawnError.message}`, { cause: spawnError });
    }
    throw err;
  }
  logger?.debug('connector service ready', { pid: child.pid, port });

  let closePromise: Promise<void> | undefined;
  return {
    client: connector,
    grpcClient: connector,
    pid: child.pid!,
    port,
    exited,
    stderrTail: () => tail.toString(),
    close() {
      closePromise ??= (async () => {
        closing = true;
        connector.close();
        await killChild(options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
      })();
      return closePromise;
    },
  };
}

/**
 * Wait until the channel is READY, at most `timeoutMs`. grpc-js reconnects on its own (backoff pinned to 500 ms
 * above); we poll in 500 ms slices so an early child exit or spawn error is reported at once.
 */
async function waitUntilReady(
  client: grpc.Client,
  timeoutMs: number,
  watch: ExitWatch,
  spawnError: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: Error | undefined;
  for (;;) {
    const exitErr = watch.current();
    if (exitErr) throw exitErr;
    const se = spawnError();
    if (se) throw se;
    const sliceEnd = Math.min(deadline, Date.now() + DIAL_RETRY_INTERVAL_MS);
    const ready = await new Promise<boolean>((resolve) => {
      let done = false;
      const off = watch.onExit(() => {
        if (done) return;
        done = true;
        resolve(false);
      });
      client.waitForReady(sliceEnd, (err) => {
        off();
        if (done) return;
        done = true;
        if (err) lastError = err;
        resolve(!err);
      });
    });
    if (ready) return;
    if (watch.current()) throw watch.current();
    if (Date.now() >= deadline) {
      throw new Error(
        `connector did not become ready on 127.0.0.1 within ${timeoutMs} ms` +
          (lastError ? `: ${lastError.message}` : ''),
      );
    }
  }
}
