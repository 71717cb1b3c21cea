// Shared helpers for the benchmarks: spawn a plugin through the real handshake and call it with grpc-js.
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ServerConfigSchema } from '../packages/shared/dist/gen/c1/connector_wrapper/v1/connector_wrapper_pb.js';
import { ResourcesService } from '../packages/shared/dist/gen/c1/connector/v2/resource_pb.js';
import { generateHandshakeCredentials } from '../packages/shared/dist/tls/credentials.js';
import { clientTlsForGrpc, GRPC_LOOPBACK_CHANNEL_OPTIONS } from '../packages/shared/dist/tls/grpc-credentials.js';
import { clientTlsOptions } from '../packages/shared/dist/tls/node-tls.js';
import { spawnPlugin as spawnThroughHandshake } from '../packages/shared/dist/testing/handshake-spawn.js';

/**
 * A plugin spawned through the real handshake (the testing kit's step-by-step spawner), with the flow-control window
 * our host uses (host/spawn.ts) and 4 MiB answers; `credentials` made beforehand keep key generation off the clock.
 */
export function spawnPlugin(command, args, { credentials } = {}) {
  return spawnThroughHandshake(
    command,
    args,
    {},
    {
      credentials,
      channelOptions: {
        'grpc.max_receive_message_length': 4 * 1024 * 1024,
        'grpc-node.flow_control_window': 4 * 1024 * 1024,
      },
    },
  );
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
      (err, buf) => (err ? reject(err) : resolve(walkListReply(buf))),
    );
  });
}

/**
 * A minimal gRPC client on node:http2 over the handshake mTLS, with a 16 MiB window: enough protocol to call
 * ListResources and walk the reply, nothing else, so a throughput number reflects the server rather than a client
 * library.
 */
export async function rawGrpcSession(port, credentials) {
  const session = http2.connect(`https://127.0.0.1:${port}`, {
    ...clientTlsOptions(credentials.client),
    settings: { initialWindowSize: 4 * 1024 * 1024 },
  });
  await new Promise((resolve, reject) => {
    session.once('connect', resolve);
    session.once('error', reject);
  });
  session.setLocalWindowSize(16 * 1024 * 1024);
  const method = ResourcesService.method.listResources;
  return {
    listResources(input) {
      const msg = Buffer.from(toBinary(method.input, create(method.input, input)));
      const frame = Buffer.alloc(5 + msg.length);
      frame.writeUInt32BE(msg.length, 1);
      msg.copy(frame, 5);
      return new Promise((resolve, reject) => {
        const req = session.request({
          ':method': 'POST',
          ':path': `/${method.parent.typeName}/${method.name}`,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('error', reject);
        req.on('end', () => resolve(walkListReply(Buffer.concat(chunks).subarray(5))));
        req.end(frame);
      });
    },
    close: () => session.close(),
  };
}

/** Counts the resources (field 1) of a ListResources reply and reads its next page token (field 2). */
function walkListReply(buf) {
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
    if ((tag & 7) !== 2) throw new Error('unexpected wire type in ListResources reply');
    const len = varint();
    if (tag >>> 3 === 1) {
      count++;
      bytes += len;
    } else if (tag >>> 3 === 2) nextPageToken = buf.toString('utf8', offset, offset + len);
    offset += len;
  }
  return { count, bytes, nextPageToken };
}
