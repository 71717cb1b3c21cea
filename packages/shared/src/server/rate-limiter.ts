/**
 * c1.ratelimit.v1.RateLimiterService. A Go host calls Do before every other RPC and Report after it; a gRPC error
 * from Do fails the user's call, and any status other than OK/EMPTY/OVERLIMIT makes the host skip the call and
 * return an empty reply. So Do must always answer, echoing the token with STATUS_EMPTY ("no limiter here").
 * The connector paces itself against the SaaS API in its HTTP client, where the real limits are known.
 */
import type { ServiceImpl } from '@connectrpc/connect';
import { type RateLimiterService, RateLimitDescription_Status } from '../gen/c1/ratelimit/v1/ratelimit_pb.js';

export function rateLimiterService(): ServiceImpl<typeof RateLimiterService> {
  return {
    do(req) {
      return { requestToken: req.requestToken, description: { status: RateLimitDescription_Status.EMPTY } };
    },
    report() {
      return {};
    },
  };
}
