/**
 * The Connect router of local `serve`: every plugin service over gRPC, gRPC-Web off, and the Connect protocol (JSON
 * over HTTP/1.1 for curl), behind validation and error interceptors, as a node request handler. A host's plugin does
 * not use it: the child speaks gRPC through grpc-server.ts, which starts faster.
 */
import type { DescService } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { errorInterceptor, statsInterceptor, validationInterceptor } from './interceptors.js';
import { lazyProtocolRegistry } from '../descriptors.js';
import { withGoGrpcMessages } from './grpc-message.js';
import { pluginServices, type PluginHandlerOptions } from './plugin-services.js';

export type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;
export type { PluginHandlerOptions };

export async function connectHandler(options: PluginHandlerOptions): Promise<NodeHandlerFn> {
  const services = pluginServices(options);
  const entries = [...services.eager, ...(await Promise.all([...services.lazy.values()].map((load) => load())))];
  const routes = (router: ConnectRouter) => {
    for (const { service, impl } of entries) router.service(service as DescService, impl);
  };
  const handler = connectNodeAdapter({
    routes,
    // Outermost first: stats header, error mapping, validation next to the handler.
    interceptors: [statsInterceptor(options.stats), errorInterceptor(options.logger), validationInterceptor()],
    grpc: true,
    grpcWeb: false,
    connect: true,
    // Go's gRPC default; hosts never send more.
    readMaxBytes: 4 * 1024 * 1024,
    // Go servers never compress responses; neither do we (gzip cost more CPU than it saved on loopback).
    acceptCompression: [],
    // JSON (Connect with curl) must resolve the Any-packed annotations.
    jsonOptions: { registry: lazyProtocolRegistry() },
  });
  return withGoGrpcMessages(handler);
}
