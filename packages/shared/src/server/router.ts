/**
 * Assembles the child's gRPC surface: every c1.connector.v2 service, the rate-limit gate, health and reflection,
 * behind validation and error interceptors, as a node:http2 request handler.
 */
import type { DescService } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';

export type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;
import { RateLimiterService } from '../gen/c1/ratelimit/v1/ratelimit_pb.js';
import { Health } from '../gen/grpc/health/v1/health_pb.js';
import * as reflectionV1Pb from '../gen/grpc/reflection/v1/reflection_pb.js';
import * as reflectionV1alphaPb from '../gen/grpc/reflection/v1alpha/reflection_pb.js';
import type { RuntimeStats } from '../sdk/connector.js';
import { connectorServices, type ServiceOptions } from './services.js';
import { rateLimiterService } from './rate-limiter.js';
import { healthService } from './health.js';
import { ReflectionIndex, reflectionV1, reflectionV1alpha } from './reflection.js';
import { errorInterceptor, statsInterceptor, validationInterceptor } from './interceptors.js';
import { allFiles, lazyProtocolRegistry } from '../descriptors.js';
import { withGoGrpcMessages } from './grpc-message.js';

export interface PluginHandlerOptions extends ServiceOptions {
  stats: RuntimeStats;
}

export function pluginHandler(options: PluginHandlerOptions): NodeHandlerFn {
  const services = connectorServices(options);
  const served: DescService[] = [
    ...services.map(([service]) => service),
    RateLimiterService,
    Health,
    reflectionV1Pb.ServerReflection,
    reflectionV1alphaPb.ServerReflection,
  ];
  const names = served.map((s) => s.typeName).sort();
  // Built on the first reflection request: a host never asks, so its plugins do not pay for it at start-up.
  let index: ReflectionIndex | undefined;
  const reflectionIndex = () => (index ??= new ReflectionIndex(allFiles(), names));

  const routes = (router: ConnectRouter) => {
    for (const [service, impl] of services) router.service(service as DescService, impl as never);
    router.service(RateLimiterService, rateLimiterService());
    router.service(Health, healthService(names));
    router.service(reflectionV1Pb.ServerReflection, reflectionV1(reflectionIndex));
    router.service(reflectionV1alphaPb.ServerReflection, reflectionV1alpha(reflectionIndex));
  };

  const handler = connectNodeAdapter({
    routes,
    // Outermost first: stats header, error mapping, validation next to the handler.
    interceptors: [
      statsInterceptor(options.stats),
      errorInterceptor(options.logger),
      validationInterceptor(),
    ],
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
