/**
 * Spawns a connector the way the Go host does (docs/protocol.md, "Handshake"), written out step by step so tests of
 * the child's transport do not depend on our own host code, and keep the handshake's credentials: fresh Ed25519
 * CA and leaves, a listener passed as fd 3, the ServerConfig line on stdin, then a grpc-js client over mTLS. Tests
 * dial the port again with other credentials (none, a foreign CA) to check what the child refuses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { ServerConfigSchema } from '../gen/c1/connector_wrapper/v1/connector_wrapper_pb.js';
import { generateHandshakeCredentials, type GoCredential } from '../tls/credentials.js';
import { clientTlsForGrpc, GRPC_LOOPBACK_CHANNEL_OPTIONS } from '../tls/grpc-credentials.js';
import { openLoopbackListener } from '../host/listener.js';

export { generateHandshakeCredentials, clientTlsForGrpc, GRPC_LOOPBACK_CHANNEL_OPTIONS, type GoCredential };

export interface SpawnedPlugin {
  child: ChildProcess;
  port: number;
  /** A grpc-js client over the handshake's mTLS credentials, ready. */
  client: grpc.Client;
  credentials: { server: GoCredential; client: GoCredential };
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Close the client and stdin, then wait for the exit. */
  stop(): Promise<void>;
}

export interface SpawnPluginOptions {
  /** Credentials made beforehand (a benchmark makes them before its clock starts, as a Go host does). */
  credentials?: { server: GoCredential; client: GoCredential };
  /** grpc-js channel options on top of the loopback defaults. */
  channelOptions?: grpc.ChannelOptions;
}

export async function spawnPlugin(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: SpawnPluginOptions = {},
): Promise<SpawnedPlugin> {
  const credentials = options.credentials ?? (await generateHandshakeCredentials());
  const listener = await openLoopbackListener();
  const child = spawn(command, [...args, '_connector-service'], {
    stdio: ['pipe', 'inherit', 'pipe', listener.fd],
    env: { ...process.env, ...env, BATON_CONNECTOR_SERVICE_LISTENER_FD: '3' },
  });
  listener.close();
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const config = create(ServerConfigSchema, { credential: credentials.server, listenPort: listener.port });
  child.stdin!.write(Buffer.from(toBinary(ServerConfigSchema, config)).toString('base64') + '\n');

  const client = new grpc.Client(`127.0.0.1:${listener.port}`, clientTlsForGrpc(credentials.client), {
    ...GRPC_LOOPBACK_CHANNEL_OPTIONS,
    ...options.channelOptions,
  });
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (err) =>
      err ? reject(new Error(`${err.message}; stderr: ${stderr}`)) : resolve(),
    ),
  );
  return {
    child,
    port: listener.port,
    client,
    credentials,
    stderr: () => stderr,
    exited,
    async stop() {
      client.close();
      child.stdin!.end();
      await exited;
    },
  };
}
