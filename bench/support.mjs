// Shared helpers for the benchmarks: spawn a plugin through the real handshake and call it with grpc-js.
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ServerConfigSchema } from '../packages/shared/dist/gen/c1/connector_wrapper/v1/connector_wrapper_pb.js';
import { ResourcesService } from '../packages/shared/dist/gen/c1/connector/v2/resource_pb.js';
import { generateHandshakeCredentials } from '../packages/shared/dist/tls/credentials.js';
import { clientTlsForGrpc, GRPC_LOOPBACK_CHANNEL_OPTIONS } from '../packages/shared/dist/tls/grpc-credentials.js';
import { openLoopbackListener } from '../packages/shared/dist/host/listener.js';

export async function spawnPlugin(command, args, { credentials } = {}) {
  credentials ??= await generateHandshakeCredentials();
  const listener = await openLoopbackListener();
  const child = spawn(command, [...args, '_connector-service'], {
    stdio: ['pipe', 'inherit', 'inherit', listener.fd],
    env: { ...process.env, BATON_CONNECTOR_SERVICE_LISTENER_FD: '3' },
  });
  listener.close();
  const config = create(ServerConfigSchema, { credential: credentials.server, listenPort: listener.port });
  child.stdin.write(Buffer.from(toBinary(ServerConfigSchema, config)).toString('base64') + '\n');
  const client = new grpc.Client(`127.0.0.1:${listener.port}`, clientTlsForGrpc(credentials.client), {
    ...GRPC_LOOPBACK_CHANNEL_OPTIONS,
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    client,
    async stop() {
      client.close();
      child.stdin.end();
      await exited;
    },
  };
}

/** Calls a unary method; retries UNAVAILABLE while the child is still starting (like the Go host's dial loop). */
export function unary(client, method, input, { waitForReady = false } = {}) {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/${method.parent.typeName}/${method.name}`,
      (v) => Buffer.from(toBinary(method.input, v)),
      (b) => fromBinary(method.output, b),
      create(method.input, input),
      new grpc.Metadata({ waitForReady }),
      { deadline: Date.now() + 30_000 },
      (err, value) => (err ? reject(err) : resolve(value)),
    );
  });
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * ListResources with a minimal client-side decode: counts field-1 entries (resources) and reads field 2 (the next
 * page token) by walking the top-level wire format, without building Resource objects.
 */
export function listResourcesRaw(client, input) {
  const method = ResourcesService.method.listResources;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/${method.parent.typeName}/${method.name}`,
      (v) => Buffer.from(toBinary(method.input, v)),
      (b) => b,
      create(method.input, input),
      new grpc.Metadata(),
      { deadline: Date.now() + 30_000 },
      (err, buf) => {
        if (err) return reject(err);
        let offset = 0;
        let count = 0;
        let bytes = 0;
        let nextPageToken = '';
        const varint = () => {
          let value = 0;
          let shift = 0;
          for (;;) {
            const byte = buf[offset++];
            value += (byte & 0x7f) * 2 ** shift;
            if (byte < 0x80) return value;
            shift += 7;
          }
        };
        while (offset < buf.length) {
          const tag = varint();
          if ((tag & 7) !== 2) return reject(new Error(`unexpected wire type in ListResources reply`));
          const len = varint();
          if (tag >>> 3 === 1) {
            count++;
            bytes += len;
          } else if (tag >>> 3 === 2) nextPageToken = buf.toString('utf8', offset, offset + len);
          offset += len;
        }
        resolve({ count, bytes, nextPageToken });
      },
    );
  });
}
