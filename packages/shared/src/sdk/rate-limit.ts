/**
 * Rate-limit facts in a plain shape, converted to c1.connector.v2.RateLimitDescription at the edges
 * (response annotations, gRPC status details).
 */
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import {
  RateLimitDescriptionSchema,
  RateLimitDescription_Status,
  type RateLimitDescription,
} from '../gen/c1/connector/v2/annotation_ratelimit_pb.js';

export interface RateLimitInfo {
  status: 'ok' | 'overlimit' | 'error';
  limit?: number;
  remaining?: number;
  /** Epoch milliseconds when the window resets. */
  resetAtMs?: number;
}

const STATUS: Record<RateLimitInfo['status'], RateLimitDescription_Status> = {
  ok: RateLimitDescription_Status.OK,
  overlimit: RateLimitDescription_Status.OVERLIMIT,
  error: RateLimitDescription_Status.ERROR,
};

export function toRateLimitDescription(info: RateLimitInfo): RateLimitDescription {
  return create(RateLimitDescriptionSchema, {
    status: STATUS[info.status],
    limit: BigInt(Math.max(0, Math.trunc(info.limit ?? 0))),
    remaining: BigInt(Math.max(0, Math.trunc(info.remaining ?? 0))),
    resetAt: info.resetAtMs !== undefined ? timestampFromMs(info.resetAtMs) : undefined,
  });
}
