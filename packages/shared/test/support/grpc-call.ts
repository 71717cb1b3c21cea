/**
 * A deliberately independent gRPC client for server tests: @grpc/grpc-js (not Connect), calling methods by their
 * generated descriptors, so our server is checked by another implementation of the protocol.
 */
import * as grpc from '@grpc/grpc-js';
import {
  fromBinary,
  toBinary,
  create,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
  type DescMessage,
} from '@bufbuild/protobuf';

export interface CallResult<O extends DescMessage> {
  message?: MessageShape<O>;
  error?: grpc.ServiceError;
  /** Decoded grpc-status-details-bin, if any: raw google.rpc.Status bytes. */
  statusDetails?: Buffer;
  headers?: grpc.Metadata;
}

export function methodPath(method: { parent: { typeName: string }; name: string }): string {
  return `/${method.parent.typeName}/${method.name}`;
}

export function unary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: DescMethodUnary<I, O>,
  input: MessageInitShape<I>,
  deadlineMs = 10_000,
): Promise<CallResult<O>> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    const call = client.makeUnaryRequest(
      methodPath(method),
      (value: MessageShape<I>) => Buffer.from(toBinary(method.input, value)),
      (bytes: Buffer) => fromBinary(method.output, bytes),
      create(method.input, input),
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (error, message) => {
        const details = error?.metadata?.get('grpc-status-details-bin')?.[0];
        resolve({
          message: message ?? undefined,
          error: error ?? undefined,
          statusDetails: details ? Buffer.from(details as Buffer) : undefined,
          headers,
        });
      },
    );
    call.on('metadata', (md) => (headers = md));
  });
}
