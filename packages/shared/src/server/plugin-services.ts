/**
 * The services a plugin serves, shared by both transports: the child's gRPC server (grpc-server.ts, what a host
 * talks to) and the Connect router of local `serve` (router.ts). Health and reflection are loaded on their first
 * call: a host never calls them, so its plugins do not decode their descriptors at start-up.
 */
import type { DescService } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { RateLimiterService } from '../gen/c1/ratelimit/v1/ratelimit_pb.js';
import type { RuntimeStats } from '../sdk/connector.js';
import { connectorServices, type ServiceOptions } from './services.js';
import { rateLimiterService } from './rate-limiter.js';
import type { ReflectionIndex } from './reflection.js';

export interface PluginHandlerOptions extends ServiceOptions {
  stats: RuntimeStats;
}

/** One service and its implementation, with the method types erased so services of every kind fit one list. */
export interface ServiceEntry {
  service: DescService;
  impl: ServiceImpl<DescService>;
}

export interface PluginServices {
  /** Served from the start. */
  eager: ServiceEntry[];
  /** Service type name -> loader, for services built on their first call. */
  lazy: ReadonlyMap<string, () => Promise<ServiceEntry>>;
  /** Every served service name, sorted (health and reflection list them). */
  names: string[];
}

export function serviceEntry<S extends DescService>(service: S, impl: ServiceImpl<S>): ServiceEntry {
  return { service, impl: impl as unknown as ServiceImpl<DescService> };
}

/** Type names of the lazily loaded services; a test checks them against the generated descriptors. */
export const EVENT_SERVICE = 'c1.connector.v2.EventService';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';
export const REFLECTION_V1_SERVICE = 'grpc.reflection.v1.ServerReflection';
export const REFLECTION_V1ALPHA_SERVICE = 'grpc.reflection.v1alpha.ServerReflection';

export function pluginServices(options: PluginHandlerOptions): PluginServices {
  const eager = [
    ...connectorServices(options).map(([service, impl]) =>
      serviceEntry(service as DescService, impl as ServiceImpl<DescService>),
    ),
    serviceEntry(RateLimiterService, rateLimiterService()),
  ];
  const names = [
    ...eager.map((e) => e.service.typeName),
    EVENT_SERVICE,
    HEALTH_SERVICE,
    REFLECTION_V1_SERVICE,
    REFLECTION_V1ALPHA_SERVICE,
  ].sort();

  // One reflection index for both reflection versions, built from every descriptor on the first request.
  let index: Promise<ReflectionIndex> | undefined;
  const reflectionIndex = () =>
    (index ??= Promise.all([import('./reflection.js'), import('../descriptors.js')]).then(
      ([reflection, descriptors]) => new reflection.ReflectionIndex(descriptors.allFiles(), names),
    ));

  const lazy = new Map<string, () => Promise<ServiceEntry>>([
    [
      EVENT_SERVICE,
      async () => {
        const { EventService } = await import('../gen/c1/connector/v2/event_feed_pb.js');
        return serviceEntry(EventService, {
          // No event feed: an empty, final page that hands the cursor back unchanged.
          listEvents: (req) => ({ events: [], cursor: req.cursor, hasMore: false }),
          listEventFeeds: () => ({ list: [] }),
        });
      },
    ],
    [
      HEALTH_SERVICE,
      async () => {
        const [{ Health }, { healthService }] = await Promise.all([
          import('../gen/grpc/health/v1/health_pb.js'),
          import('./health.js'),
        ]);
        return serviceEntry(Health, healthService(names));
      },
    ],
    [REFLECTION_V1_SERVICE, () => reflectionEntry('v1', reflectionIndex)],
    [REFLECTION_V1ALPHA_SERVICE, () => reflectionEntry('v1alpha', reflectionIndex)],
  ]);
  return { eager, lazy, names };
}

/** gRPC reflection in either version (same messages, two package names), answering from one shared index. */
async function reflectionEntry(
  version: 'v1' | 'v1alpha',
  reflectionIndex: () => Promise<ReflectionIndex>,
): Promise<ServiceEntry> {
  const [reflection, built] = await Promise.all([import('./reflection.js'), reflectionIndex()]);
  if (version === 'v1') {
    const pb = await import('../gen/grpc/reflection/v1/reflection_pb.js');
    return serviceEntry(
      pb.ServerReflection,
      reflection.reflectionV1(() => built),
    );
  }
  const pb = await import('../gen/grpc/reflection/v1alpha/reflection_pb.js');
  return serviceEntry(
    pb.ServerReflection,
    reflection.reflectionV1alpha(() => built),
  );
}
