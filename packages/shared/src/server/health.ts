/**
 * grpc.health.v1.Health: SERVING for the whole server ("") and for every registered service;
 * NOT_FOUND for a service we do not serve, as the health-checking protocol asks.
 */
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { type Health, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.js';

export function healthService(serviceNames: readonly string[]): ServiceImpl<typeof Health> {
  const known = new Set(['', ...serviceNames]);
  const statusOf = (service: string) => {
    if (!known.has(service)) throw new ConnectError(`unknown service ${service}`, Code.NotFound);
    return { status: HealthCheckResponse_ServingStatus.SERVING };
  };
  return {
    check: (req) => statusOf(req.service),
    list() {
      const statuses: Record<string, { status: HealthCheckResponse_ServingStatus }> = {};
      for (const name of known) statuses[name] = { status: HealthCheckResponse_ServingStatus.SERVING };
      return { statuses };
    },
    async *watch(req, ctx) {
      yield statusOf(req.service);
      // Status never changes while we run; hold the stream open until the client goes away.
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
  };
}
