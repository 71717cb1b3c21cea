/**
 * gRPC server reflection, v1 and v1alpha (same messages, two package names), so grpcurl and similar tools can list
 * services and call methods without .proto files. Answers come from the descriptors embedded in the generated code.
 */
import { createRegistry, toBinary, type DescFile, type MessageInitShape } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, type ServiceImpl } from '@connectrpc/connect';
import type * as v1 from '../gen/grpc/reflection/v1/reflection_pb.js';
import type * as v1alpha from '../gen/grpc/reflection/v1alpha/reflection_pb.js';

type Request = v1.ServerReflectionRequest;
type Answer = NonNullable<MessageInitShape<typeof v1.ServerReflectionResponseSchema>['messageResponse']>;

export class ReflectionIndex {
  private readonly files = new Map<string, DescFile>();
  private readonly registry;

  constructor(
    files: DescFile[],
    private readonly serviceNames: readonly string[],
  ) {
    const visit = (file: DescFile) => {
      if (this.files.has(file.proto.name)) return;
      this.files.set(file.proto.name, file);
      file.dependencies.forEach(visit);
    };
    files.forEach(visit);
    this.registry = createRegistry(...this.files.values());
  }

  answer(request: Request): Answer {
    const q = request.messageRequest;
    switch (q.case) {
      case 'listServices':
        return { case: 'listServicesResponse', value: { service: this.serviceNames.map((name) => ({ name })) } };
      case 'fileByFilename': {
        const file = this.files.get(q.value);
        return file ? this.fileResponse(file) : this.error(Code.NotFound, `file not found: ${q.value}`);
      }
      case 'fileContainingSymbol': {
        const file = this.fileOfSymbol(q.value);
        return file ? this.fileResponse(file) : this.error(Code.NotFound, `symbol not found: ${q.value}`);
      }
      case 'allExtensionNumbersOfType': {
        if (!this.registry.getMessage(q.value)) return this.error(Code.NotFound, `type not found: ${q.value}`);
        return { case: 'allExtensionNumbersResponse', value: { baseTypeName: q.value, extensionNumber: [] } };
      }
      case 'fileContainingExtension':
        return this.error(Code.NotFound, 'no extensions are registered');
      default:
        return this.error(Code.InvalidArgument, 'empty reflection request');
    }
  }

  private fileOfSymbol(symbol: string): DescFile | undefined {
    const direct = this.registry.get(symbol);
    if (direct) return direct.file;
    // "pkg.Service.Method" names a method: look up its service.
    const dot = symbol.lastIndexOf('.');
    const service = dot > 0 ? this.registry.getService(symbol.slice(0, dot)) : undefined;
    return service?.methods.some((m) => m.name === symbol.slice(dot + 1)) ? service.file : undefined;
  }

  /** The file first, then everything it imports, transitively, each once. */
  private fileResponse(file: DescFile): Answer {
    const ordered: DescFile[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      ordered.push(f);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return {
      case: 'fileDescriptorResponse',
      value: { fileDescriptorProto: ordered.map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) },
    };
  }

  private error(code: Code, message: string): Answer {
    return { case: 'errorResponse', value: { errorCode: code, errorMessage: message } };
  }
}

function reflectionImpl(index: () => ReflectionIndex) {
  return {
    async *serverReflectionInfo(requests: AsyncIterable<Request>) {
      for await (const request of requests) {
        // Plain init objects (no $typeName), so the same code serves the v1 and v1alpha message types.
        const originalRequest = { host: request.host, messageRequest: stripTypeName(request.messageRequest) };
        yield { validHost: request.host, originalRequest, messageResponse: stripTypeName(index().answer(request)) };
      }
    },
  };
}

function stripTypeName<T extends { case?: unknown; value?: unknown }>(oneof: T): T {
  const value = oneof.value;
  if (value && typeof value === 'object' && '$typeName' in value) {
    const { $typeName: _ignored, ...rest } = value as Record<string, unknown>;
    return { ...oneof, value: rest };
  }
  return oneof;
}

export function reflectionV1(index: () => ReflectionIndex): ServiceImpl<typeof v1.ServerReflection> {
  return reflectionImpl(index);
}

export function reflectionV1alpha(index: () => ReflectionIndex): ServiceImpl<typeof v1alpha.ServerReflection> {
  // The v1alpha messages are field-for-field identical; only the type names differ.
  return reflectionImpl(index) as unknown as ServiceImpl<typeof v1alpha.ServerReflection>;
}
