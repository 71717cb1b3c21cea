/**
 * The errors the host's connector client raises. They live apart from client.ts so the rate-limit gate can use them
 * without importing the client (which imports the gate).
 */
import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { Any } from '@bufbuild/protobuf/wkt';
import type { RateLimitDescription } from '../gen/c1/connector/v2/annotation_ratelimit_pb.js';
import { errorMessage, lastLines } from '../util/text.js';

/** A gRPC call that ended with a non-OK status. */
export class RpcError extends Error {
  /** gRPC status code (`@grpc/grpc-js` `status`). */
  readonly code: grpc.status;
  /** Full method path of the failed call. */
  readonly method: string;
  /** `google.rpc.Status.details` from the `grpc-status-details-bin` trailer (empty when absent). */
  readonly details: Any[];
  /** The first `c1.connector.v2.RateLimitDescription` among `details`, decoded. */
  readonly rateLimit?: RateLimitDescription;
  /** Trailing metadata as received (undefined for locally produced errors). */
  readonly metadata?: grpc.Metadata;

  constructor(
    code: grpc.status,
    message: string,
    init: {
      method?: string;
      details?: Any[];
      rateLimit?: RateLimitDescription;
      metadata?: grpc.Metadata;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: init.cause });
    this.name = 'RpcError';
    this.code = code;
    this.method = init.method ?? '';
    this.details = init.details ?? [];
    this.rateLimit = init.rateLimit;
    this.metadata = init.metadata;
  }

  /** Upper-case status name, e.g. `UNAVAILABLE`. */
  get codeName(): string {
    return grpcStatus[this.code] ?? `CODE_${this.code}`;
  }

  override toString(): string {
    return `${this.name}: ${this.codeName}: ${this.message}`;
  }
}

/** An error for a message: `CODE: message` for an `RpcError`, else the error's message. */
export function describeError(err: unknown): string {
  if (err instanceof RpcError) return `${err.codeName}: ${err.message}`;
  return errorMessage(err);
}

/** Exit status of the connector process. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The connector process exited before the host closed it. Every pending and later RPC fails with this error; it
 * carries no gRPC code on purpose, so retry logic keyed on UNAVAILABLE never retries a dead process.
 */
export class ConnectorExitedError extends Error {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Last bytes of the child's stderr (up to the spawn option's limit), for the operator. */
  readonly stderrTail: string;
  readonly pid?: number;

  constructor(status: ExitStatus & { stderrTail?: string; pid?: number; method?: string }) {
    const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code ?? 'unknown'}`;
    const tail = (status.stderrTail ?? '').trimEnd();
    const during = status.method ? ` during ${status.method}` : '';
    super(
      `connector process${status.pid ? ` ${status.pid}` : ''} ${how}${during}` +
        (tail ? `; last stderr output:\n${lastLines(tail, 20)}` : '; no stderr output'),
    );
    this.name = 'ConnectorExitedError';
    this.exitCode = status.code;
    this.signal = status.signal;
    this.stderrTail = status.stderrTail ?? '';
    this.pid = status.pid;
  }
}

/** The connector client was closed by the host; no more calls are possible. */
export class ClientClosedError extends Error {
  constructor(method: string) {
    super(`connector client is closed (call ${method})`);
    this.name = 'ClientClosedError';
  }
}
