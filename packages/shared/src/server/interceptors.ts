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

/**
 * What an RPC answers when it fails: code, message, details (packed into google.rpc.Status by the transport) and
 * any metadata the error carried. Plain data, so the child's transport needs no ConnectError (whose Headers load
 * the fetch API) to answer an error.
 */
export class RpcStatus {
  constructor(
    readonly code: Code,
    readonly message: string,
    readonly details: ConnectError['details'] = [],
    readonly metadata?: Headers,
  ) {}
}

/**
 * The status for anything a handler threw: a ConnectorError keeps its code and message (rate-limit details
 * attached), a ConnectError passes through, anything else is logged and answered INTERNAL without its text, like
 * Go's panic recovery. Messages are redacted of registered secrets either way.
 */
export function toRpcStatus(err: unknown, method: string, logger: Logger): RpcStatus {
  if (err instanceof RpcStatus) return err;
  if (err instanceof ConnectorError) {
    const details = err.rateLimit
      ? [{ desc: RateLimitDescriptionSchema, value: toRateLimitDescription(err.rateLimit) }]
      : [];
    if (err.code === Code.Internal || err.code === Code.Unknown) {
      logger.error('rpc failed', { method, code: Code[err.code], error: redactSecrets(err.message) });
    }
    return new RpcStatus(err.code, redactSecrets(err.message), details);
  }
  if (err instanceof ConnectError) {
    return new RpcStatus(err.code, redactSecrets(err.rawMessage), err.details, err.metadata);
  }
  // An unexpected exception: log it for the operator, answer the caller like Go's panic recovery does.
  const message = err instanceof Error ? err.message : String(err);
  logger.error('unexpected error in rpc handler', {
    method,
    error: redactSecrets(message),
    stack: err instanceof Error && err.stack ? redactSecrets(err.stack) : undefined,
  });
  return new RpcStatus(Code.Internal, 'Internal Server Error');
}

export function toConnectError(err: unknown, method: string, logger: Logger): ConnectError {
  if (err instanceof ConnectError && redactSecrets(err.rawMessage) === err.rawMessage) return err;
  const status = toRpcStatus(err, method, logger);
  const connectError = new ConnectError(status.message, status.code, status.metadata, undefined, err);
  connectError.details = [...status.details];
  return connectError;
}
