/**
 * Cross-cutting behaviour for every RPC: request validation, turning thrown errors into gRPC statuses without
 * leaking internals, and reporting API-usage counters to our own host in a response header.
 */
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { RateLimitDescriptionSchema } from '../gen/c1/connector/v2/annotation_ratelimit_pb.js';
import { ConnectorError } from '../sdk/errors.js';
import { toRateLimitDescription } from '../sdk/rate-limit.js';
import type { RuntimeStats } from '../sdk/connector.js';
import type { Logger } from '../log/logger.js';
import { redactSecrets } from '../log/secrets.js';
import { validateMessage } from './validation.js';

/** Response header carrying RuntimeStats as JSON; Go hosts ignore unknown metadata. */
export const STATS_HEADER = 'baton-ts-stats';

export function validationInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) {
      const problem = validateMessage(req.method.input, req.message);
      if (problem) throw new ConnectError(problem, Code.InvalidArgument);
    }
    return next(req);
  };
}

export function errorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw toConnectError(err, req.method.name, logger);
    }
  };
}

export function statsInterceptor(stats: RuntimeStats): Interceptor {
  return (next) => async (req) => {
    try {
      const res = await next(req);
      res.header.set(STATS_HEADER, JSON.stringify(stats));
      return res;
    } catch (err) {
      if (err instanceof ConnectError) err.metadata.set(STATS_HEADER, JSON.stringify(stats));
      throw err;
    }
  };
}

export function toConnectError(err: unknown, method: string, logger: Logger): ConnectError {
  if (err instanceof ConnectorError) {
    const details = err.rateLimit
      ? [{ desc: RateLimitDescriptionSchema, value: toRateLimitDescription(err.rateLimit) }]
      : [];
    if (err.code === Code.Internal || err.code === Code.Unknown) {
      logger.error('rpc failed', { method, code: Code[err.code], error: redactSecrets(err.message) });
    }
    return new ConnectError(redactSecrets(err.message), err.code, undefined, details, err);
  }
  if (err instanceof ConnectError) {
    const clean = redactSecrets(err.rawMessage);
    return clean === err.rawMessage ? err : new ConnectError(clean, err.code, err.metadata);
  }
  // An unexpected exception: log it for the operator, answer the caller like Go's panic recovery does.
  const message = err instanceof Error ? err.message : String(err);
  logger.error('unexpected error in rpc handler', {
    method,
    error: redactSecrets(message),
    stack: err instanceof Error && err.stack ? redactSecrets(err.stack) : undefined,
  });
  return new ConnectError('Internal Server Error', Code.Internal);
}
