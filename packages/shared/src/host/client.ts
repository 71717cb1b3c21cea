/**
 * The parent's typed gRPC client for a connector (docs/protocol.md, "Parent dial"): one grpc-js `Client` (one channel) shared by every
 * `c1.connector.v2` service, unary calls made with `makeUnaryRequest` and protobuf-es (de)serialisation. Method
 * paths are derived from the generated service descriptors, never typed by hand.
 *
 * What this layer adds on top of plain grpc-js:
 *  - errors become `RpcError` (gRPC code, message, and the `c1.connector.v2.RateLimitDescription` status detail
 *    decoded from the `grpc-status-details-bin` trailer, which is what drives the syncer's back-off, docs/protocol.md, "Errors and rate limits");
 *  - the Go parent's rate-limit gate (docs/protocol.md, "Rate-limit gate") before every non-ratelimit call (see rate-limit-gate.ts);
 *  - exit awareness: when the connector process dies, pending and later calls fail with `ConnectorExitedError`
 *    (exit status + stderr tail) instead of a bare UNAVAILABLE or, worse, an empty reply;
 *  - `lastStats`: the latest `baton-ts-stats` response header our own server attaches.
 */
import * as grpc from '@grpc/grpc-js';
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { ConnectorService } from '../gen/c1/connector/v2/connector_pb.js';
import {
  AccountManagerService,
  CredentialManagerService,
  ResourceDeleterService,
  ResourceGetterService,
  ResourceManagerService,
  ResourcesService,
  ResourceTypesService,
} from '../gen/c1/connector/v2/resource_pb.js';
import { EntitlementsService } from '../gen/c1/connector/v2/entitlement_pb.js';
import { GrantManagerService, GrantsService } from '../gen/c1/connector/v2/grant_pb.js';
import {
  RateLimitDescriptionSchema,
  type RateLimitDescription,
} from '../gen/c1/connector/v2/annotation_ratelimit_pb.js';
import { RateLimiterService } from '../gen/c1/ratelimit/v1/ratelimit_pb.js';
import { StatusSchema } from '../gen/google/rpc/status_pb.js';
import type { Logger } from '../log/logger.js';
import { typeNameOf } from '../sdk/annotations.js';
import { asBuffer } from '../util/bytes.js';
import { ClientClosedError, type ConnectorExitedError, RpcError } from './errors.js';
import { gatedInvoke, isRateLimiterMethod, type RateLimitGateOptions } from './rate-limit-gate.js';

export { ClientClosedError, ConnectorExitedError, RpcError, describeError, type ExitStatus } from './errors.js';

/** `/<package>.<Service>/<Rpc>` for a generated method descriptor. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * How the client learns that the process behind the channel died (provided by spawn.ts). Kept abstract so the
 * client can also wrap a connection that has no process behind it.
 */
export interface ExitWatch {
  /** The error to report if the process has already exited, else undefined. */
  current(): ConnectorExitedError | undefined;
  /**
   * Call `listener` once when the process exits (immediately-ish if it already has). Returns an unsubscribe
   * function; calls unsubscribe when they settle, so nothing accumulates over a long sync.
   */
  onExit(listener: (err: ConnectorExitedError) => void): () => void;
}

/** Resolve with the exit error if the process exits within `ms`, else with undefined. */
function waitForExit(watch: ExitWatch, ms: number): Promise<ConnectorExitedError | undefined> {
  const now = watch.current();
  if (now) return Promise.resolve(now);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve(undefined);
    }, ms);
    const off = watch.onExit((err) => {
      clearTimeout(timer);
      off();
      resolve(err);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// google.rpc.Status: the `grpc-status-details-bin` trailer (docs/protocol.md, "Transport")
// ---------------------------------------------------------------------------------------------------------------

export interface DecodedRpcStatus {
  code: number;
  message: string;
  details: Any[];
}

/** Decode a binary `google.rpc.Status`. Throws on malformed input. */
export function decodeRpcStatus(bytes: Uint8Array): DecodedRpcStatus {
  const { code, message, details } = fromBinary(StatusSchema, bytes);
  return { code, message, details };
}

/** The first `c1.connector.v2.RateLimitDescription` among status details, decoded (undefined if none/invalid). */
export function rateLimitFromDetails(details: readonly Any[]): RateLimitDescription | undefined {
  for (const any of details) {
    if (typeNameOf(any) !== RateLimitDescriptionSchema.typeName) continue;
    try {
      return fromBinary(RateLimitDescriptionSchema, any.value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Convert a grpc-js ServiceError into an RpcError with decoded status details. */
export function toRpcError(err: grpc.ServiceError, method: string): RpcError {
  let details: Any[] = [];
  const raw = err.metadata?.get('grpc-status-details-bin')[0];
  if (raw !== undefined) {
    try {
      const bytes = typeof raw === 'string' ? Buffer.from(raw, 'base64') : raw;
      details = decodeRpcStatus(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).details;
    } catch {
      details = [];
    }
  }
  const code = typeof err.code === 'number' ? err.code : grpc.status.UNKNOWN;
  return new RpcError(code, err.details ?? err.message, {
    method,
    details,
    rateLimit: rateLimitFromDetails(details),
    metadata: err.metadata,
    cause: err,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Server stats header
// ---------------------------------------------------------------------------------------------------------------

/** Counters our own server reports in the `baton-ts-stats` response header (cumulative for the process). */
export interface ServerStats {
  apiRequests: number;
  rateLimitWaits: number;
  rateLimitWaitMs: number;
  retries: number;
}

export const STATS_HEADER = 'baton-ts-stats';

export function parseStatsHeader(value: unknown): ServerStats | undefined {
  const text = typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const o = parsed as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  return {
    apiRequests: num(o.apiRequests),
    rateLimitWaits: num(o.rateLimitWaits),
    rateLimitWaitMs: num(o.rateLimitWaitMs),
    retries: num(o.retries),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The client interface
// ---------------------------------------------------------------------------------------------------------------

export interface CallOptions {
  /** Per-call deadline in milliseconds (default: the client's `defaultTimeoutMs`, none if unset). */
  timeoutMs?: number;
  /** Cancels the call; it then fails with CANCELLED. */
  signal?: AbortSignal;
}

type M<K extends keyof typeof CONNECTOR_METHODS> = (typeof CONNECTOR_METHODS)[K];
type Req<K extends keyof typeof CONNECTOR_METHODS> = MessageInitShape<M<K>['input']>;
type Res<K extends keyof typeof CONNECTOR_METHODS> = MessageShape<M<K>['output']>;

/** Every RPC the host uses for sync and provisioning (all unary), by the `ConnectorClient` method that makes it. */
export const CONNECTOR_METHODS = {
  getMetadata: ConnectorService.method.getMetadata,
  validate: ConnectorService.method.validate,
  cleanup: ConnectorService.method.cleanup,
  listResourceTypes: ResourceTypesService.method.listResourceTypes,
  listResources: ResourcesService.method.listResources,
  getResource: ResourceGetterService.method.getResource,
  listEntitlements: EntitlementsService.method.listEntitlements,
  listStaticEntitlements: EntitlementsService.method.listStaticEntitlements,
  listGrants: GrantsService.method.listGrants,
  grant: GrantManagerService.method.grant,
  revoke: GrantManagerService.method.revoke,
  createResource: ResourceManagerService.method.createResource,
  deleteResource: ResourceManagerService.method.deleteResource,
  deleteResourceV2: ResourceDeleterService.method.deleteResourceV2,
  createAccount: AccountManagerService.method.createAccount,
  rotateCredential: CredentialManagerService.method.rotateCredential,
} as const;

/**
 * Typed access to a connector. `GrpcConnectorClient` implements it over gRPC; tests implement it in memory.
 * Requests accept protobuf-es init shapes (plain objects) or messages.
 */
export interface ConnectorClient {
  /** The latest `baton-ts-stats` value any response carried (undefined if the server never sent one). */
  readonly lastStats: ServerStats | undefined;
  getMetadata(req?: Req<'getMetadata'>, opts?: CallOptions): Promise<Res<'getMetadata'>>;
  validate(req?: Req<'validate'>, opts?: CallOptions): Promise<Res<'validate'>>;
  cleanup(req?: Req<'cleanup'>, opts?: CallOptions): Promise<Res<'cleanup'>>;
  listResourceTypes(req?: Req<'listResourceTypes'>, opts?: CallOptions): Promise<Res<'listResourceTypes'>>;
  listResources(req: Req<'listResources'>, opts?: CallOptions): Promise<Res<'listResources'>>;
  getResource(req: Req<'getResource'>, opts?: CallOptions): Promise<Res<'getResource'>>;
  listEntitlements(req: Req<'listEntitlements'>, opts?: CallOptions): Promise<Res<'listEntitlements'>>;
  listStaticEntitlements(
    req: Req<'listStaticEntitlements'>,
    opts?: CallOptions,
  ): Promise<Res<'listStaticEntitlements'>>;
  listGrants(req: Req<'listGrants'>, opts?: CallOptions): Promise<Res<'listGrants'>>;
  grant(req: Req<'grant'>, opts?: CallOptions): Promise<Res<'grant'>>;
  revoke(req: Req<'revoke'>, opts?: CallOptions): Promise<Res<'revoke'>>;
  createResource(req: Req<'createResource'>, opts?: CallOptions): Promise<Res<'createResource'>>;
  deleteResource(req: Req<'deleteResource'>, opts?: CallOptions): Promise<Res<'deleteResource'>>;
  deleteResourceV2(req: Req<'deleteResourceV2'>, opts?: CallOptions): Promise<Res<'deleteResourceV2'>>;
  createAccount(req: Req<'createAccount'>, opts?: CallOptions): Promise<Res<'createAccount'>>;
  rotateCredential(req: Req<'rotateCredential'>, opts?: CallOptions): Promise<Res<'rotateCredential'>>;
}

export interface GrpcConnectorClientOptions {
  /**
   * The Go parent's rate-limit gate (docs/protocol.md, "Rate-limit gate"): `Do` before and `Report` after every connector call. On by
   * default (`true`); `false` switches it off; an object switches it on with options.
   */
  rateLimitGate?: boolean | RateLimitGateOptions;
  /** Process exit notification (spawn.ts supplies it). */
  exitWatch?: ExitWatch;
  /** Default deadline for every call, in ms (default: none, like the Go host). */
  defaultTimeoutMs?: number;
  logger?: Logger;
}

const TRANSPORT_CODES = new Set<number>([
  grpc.status.UNAVAILABLE,
  grpc.status.CANCELLED,
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
]);
/** How long a failed call waits for a pending process exit before reporting the gRPC error itself. */
const EXIT_GRACE_CONNECTION_DOWN_MS = 1000;
const EXIT_GRACE_CONNECTION_UP_MS = 50;

/** `ConnectorClient` over one grpc-js channel. */
export class GrpcConnectorClient implements ConnectorClient {
  lastStats: ServerStats | undefined;
  private closed = false;
  private readonly gate: RateLimitGateOptions | undefined;

  constructor(
    /** The underlying grpc-js client (one channel for every service). */
    readonly grpcClient: grpc.Client,
    private readonly options: GrpcConnectorClientOptions = {},
  ) {
    const g = options.rateLimitGate ?? true;
    this.gate = g === false ? undefined : g === true ? { logger: options.logger } : { logger: options.logger, ...g };
  }

  /** Close the channel. Later calls fail with `ClientClosedError`. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.grpcClient.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  getMetadata(req: Req<'getMetadata'> = {}, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.getMetadata, req, opts);
  }
  validate(req: Req<'validate'> = {}, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.validate, req, opts);
  }
  cleanup(req: Req<'cleanup'> = {}, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.cleanup, req, opts);
  }
  listResourceTypes(req: Req<'listResourceTypes'> = {}, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.listResourceTypes, req, opts);
  }
  listResources(req: Req<'listResources'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.listResources, req, opts);
  }
  getResource(req: Req<'getResource'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.getResource, req, opts);
  }
  listEntitlements(req: Req<'listEntitlements'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.listEntitlements, req, opts);
  }
  listStaticEntitlements(req: Req<'listStaticEntitlements'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.listStaticEntitlements, req, opts);
  }
  listGrants(req: Req<'listGrants'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.listGrants, req, opts);
  }
  grant(req: Req<'grant'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.grant, req, opts);
  }
  revoke(req: Req<'revoke'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.revoke, req, opts);
  }
  createResource(req: Req<'createResource'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.createResource, req, opts);
  }
  deleteResource(req: Req<'deleteResource'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.deleteResource, req, opts);
  }
  deleteResourceV2(req: Req<'deleteResourceV2'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.deleteResourceV2, req, opts);
  }
  createAccount(req: Req<'createAccount'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.createAccount, req, opts);
  }
  rotateCredential(req: Req<'rotateCredential'>, opts?: CallOptions) {
    return this.unary(CONNECTOR_METHODS.rotateCredential, req, opts);
  }

  /**
   * Call any unary method by descriptor (through the rate-limit gate unless it is a RateLimiterService method or
   * the gate is off).
   */
  async unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    init: MessageInitShape<I>,
    opts: CallOptions = {},
  ): Promise<MessageShape<O>> {
    const path = methodPath(method);
    const request = create(method.input, init) as MessageShape<I>;
    if (!this.gate || isRateLimiterMethod(path)) {
      return this.raw(path, method.input, method.output, request, opts);
    }
    return gatedInvoke(
      {
        do: (req) =>
          this.raw(
            methodPath(RateLimiterService.method.do),
            RateLimiterService.method.do.input,
            RateLimiterService.method.do.output,
            req,
            opts,
          ),
        report: (req) =>
          this.raw(
            methodPath(RateLimiterService.method.report),
            RateLimiterService.method.report.input,
            RateLimiterService.method.report.output,
            req,
            opts,
          ),
      },
      this.gate,
      { path, schema: method.input, request, emptyReply: () => create(method.output) as MessageShape<O> },
      () => this.raw(path, method.input, method.output, request, opts),
    );
  }

  /** One gRPC unary call, no gate. */
  private raw<I extends DescMessage, O extends DescMessage>(
    path: string,
    input: I,
    output: O,
    request: MessageShape<I>,
    opts: CallOptions,
  ): Promise<MessageShape<O>> {
    if (this.closed) return Promise.reject(new ClientClosedError(path));
    const watch = this.options.exitWatch;
    const exited = watch?.current();
    if (exited) return Promise.reject(exited);

    return new Promise<MessageShape<O>>((resolve, reject) => {
      let settled = false;
      let offExit: (() => void) | undefined;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        offExit?.();
        fn();
      };
      const callOptions: grpc.CallOptions = {};
      const timeoutMs = opts.timeoutMs ?? this.options.defaultTimeoutMs;
      if (timeoutMs !== undefined && timeoutMs > 0) callOptions.deadline = Date.now() + timeoutMs;

      let call: grpc.ClientUnaryCall;
      try {
        call = this.grpcClient.makeUnaryRequest<MessageShape<I>, MessageShape<O>>(
          path,
          (value) => asBuffer(toBinary(input, value)),
          (buf) => fromBinary(output, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)),
          request,
          new grpc.Metadata(),
          callOptions,
          (err, value) => {
            if (!err) {
              finish(() => resolve(value ?? (create(output) as MessageShape<O>)));
              return;
            }
            const rpcErr = toRpcError(err, path);
            if (!watch || !TRANSPORT_CODES.has(rpcErr.code)) {
              finish(() => reject(rpcErr));
              return;
            }
            // A dying child shows up first as a transport error; give the exit event a moment to arrive so the
            // caller learns the real cause. An application-level UNAVAILABLE on a healthy channel waits only a
            // few milliseconds.
            const state = this.connectivityState();
            const grace =
              state === grpc.connectivityState.READY ? EXIT_GRACE_CONNECTION_UP_MS : EXIT_GRACE_CONNECTION_DOWN_MS;
            void waitForExit(watch, grace).then((exitErr) => {
              finish(() => reject(exitErr ?? rpcErr));
            });
          },
        );
      } catch (err) {
        finish(() => reject(err));
        return;
      }
      call.on('metadata', (md: grpc.Metadata) => this.readStats(md));
      call.on('status', (st: grpc.StatusObject) => this.readStats(st.metadata));

      const onAbort = () => call.cancel();
      if (opts.signal) {
        if (opts.signal.aborted) call.cancel();
        else opts.signal.addEventListener('abort', onAbort, { once: true });
      }
      if (watch && !settled) {
        offExit = watch.onExit((exitErr) => {
          if (settled) return;
          finish(() => reject(exitErr));
          call.cancel();
        });
      }
    });
  }

  private connectivityState(): grpc.connectivityState {
    try {
      return this.grpcClient.getChannel().getConnectivityState(false);
    } catch {
      return grpc.connectivityState.SHUTDOWN;
    }
  }

  private readStats(md: grpc.Metadata | undefined): void {
    const value = md?.get(STATS_HEADER)[0];
    if (value === undefined) return;
    const stats = parseStatsHeader(value);
    if (stats) this.lastStats = stats;
  }
}
