/**
 * Errors a connector throws to answer an RPC with a specific gRPC status. Anything else a connector throws
 * becomes INTERNAL without its message, so internals and secrets never reach the caller by accident.
 */
import { Code } from '@connectrpc/connect';
import type { RateLimitInfo } from './rate-limit.js';

export { Code };

export class ConnectorError extends Error {
  readonly code: Code;
  /** Sent as a c1.connector.v2.RateLimitDescription status detail, which drives host back-off. */
  readonly rateLimit?: RateLimitInfo;

  constructor(code: Code, message: string, options: { cause?: unknown; rateLimit?: RateLimitInfo } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ConnectorError';
    this.code = code;
    this.rateLimit = options.rateLimit;
  }
}

export const invalidArgument = (msg: string) => new ConnectorError(Code.InvalidArgument, msg);
export const notFound = (msg: string) => new ConnectorError(Code.NotFound, msg);
export const failedPrecondition = (msg: string) => new ConnectorError(Code.FailedPrecondition, msg);
export const permissionDenied = (msg: string) => new ConnectorError(Code.PermissionDenied, msg);
export const unauthenticated = (msg: string) => new ConnectorError(Code.Unauthenticated, msg);
export const unimplemented = (msg: string) => new ConnectorError(Code.Unimplemented, msg);
export const alreadyExists = (msg: string) => new ConnectorError(Code.AlreadyExists, msg);
export const internal = (msg: string) => new ConnectorError(Code.Internal, msg);
export const unavailable = (msg: string, rateLimit?: RateLimitInfo) =>
  new ConnectorError(Code.Unavailable, msg, { rateLimit });
export const deadlineExceeded = (msg: string) => new ConnectorError(Code.DeadlineExceeded, msg);
