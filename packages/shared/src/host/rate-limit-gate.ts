/**
 * The Go parent's client-side rate-limit gate (docs/protocol.md, "Rate-limit gate"), applied by `GrpcConnectorClient` before every unary call
 * except `/c1.ratelimit.v1.RateLimiterService/*`:
 *
 *  1. descriptors = configured entries, then `connector_method` = full method path, then `connector_resource_type`
 *     = `request.resource.id.resource_type` when the request message has a `resource` field, else
 *     `request.resource_type_id` when it has that field;
 *  2. `Do({request_token, service: "connector", descriptors})`; a gRPC error from Do fails the call with UNKNOWN;
 *  3. on the description status:
 *     - OK / EMPTY: invoke the RPC; on failure `Report(STATUS_ERROR)` and rethrow; on success `Report(STATUS_OK,
 *       description = first c1.ratelimit.v1.RateLimitDescription in the reply annotations)`; a failing Report after
 *       a successful call is only logged (Go v0.7.21+ reads the annotations from the reply);
 *     - OVERLIMIT: sleep until `reset_at`, at least 1 s, and at most until 1 h 5 min after the call started (past
 *       that: RESOURCE_EXHAUSTED "overlimit"), then ask Do again with the token it returned;
 *     - anything else: Go logs a warning and returns an EMPTY reply without invoking the RPC. A silent empty reply
 *       is a bug magnet (a ListGrants that "returned nothing"), so by default our host fails the call instead
 *       (`strict: true`); `strict: false` restores Go's behaviour.
 */
import { create, type DescMessage, type Message } from '@bufbuild/protobuf';
import { timestampMs, type Any } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import {
  RateLimitDescriptionSchema,
  RateLimitDescription_Status,
  type DoRequest,
  type DoResponse,
  type RateLimitDescription,
  type ReportRequest,
  type RateLimitDescriptors_Entry,
  DoRequestSchema,
  ReportRequestSchema,
  RateLimitDescriptorsSchema,
  RateLimitDescriptors_EntrySchema,
} from '../gen/c1/ratelimit/v1/ratelimit_pb.js';
import type { Logger } from '../log/logger.js';
import { findAnnotation } from '../sdk/annotations.js';
import { ConnectorExitedError, ClientClosedError, RpcError } from './errors.js';

export const RATE_LIMITER_METHOD_PREFIX = '/c1.ratelimit.v1.RateLimiterService/';
export const CONNECTOR_SERVICE_KEY = 'connector';
export const DESCRIPTOR_KEY_CONNECTOR_METHOD = 'connector_method';
export const DESCRIPTOR_KEY_CONNECTOR_RESOURCE_TYPE = 'connector_resource_type';
export const MIN_RATE_LIMIT_WAIT_MS = 1_000;
export const MAX_RATE_LIMIT_WAIT_MS = 65 * 60_000;

export function isRateLimiterMethod(path: string): boolean {
  return path.startsWith(RATE_LIMITER_METHOD_PREFIX);
}

export interface RateLimitGateOptions {
  /** Extra descriptors sent first in every Do/Report (Go: the interceptor's configured descriptors). */
  descriptors?: Array<{ key: string; value: string }>;
  /**
   * What to do when Do answers a status other than OK, EMPTY or OVERLIMIT. `true` (default): fail the call with
   * UNKNOWN. `false`: Go's behaviour, log a warning and return an empty reply without invoking the RPC.
   */
  strict?: boolean;
  /** Clock and sleep, injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  logger?: Logger;
}

/** The two RateLimiterService calls, made without the gate. */
export interface RateLimiterTransport {
  do(req: DoRequest): Promise<DoResponse>;
  report(req: ReportRequest): Promise<unknown>;
}

export interface GatedCall<R> {
  /** Full method path of the connector call. */
  path: string;
  /** Request schema (used to find `resource` / `resource_type_id` fields like Go's interface checks). */
  schema: DescMessage;
  request: Message;
  /** Builds the empty reply returned in non-strict mode for an unknown status. */
  emptyReply: () => R;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The descriptors the Go interceptor builds for one call. */
export function gateDescriptors(
  path: string,
  schema: DescMessage,
  request: Message,
  extra: ReadonlyArray<{ key: string; value: string }> = [],
): RateLimitDescriptors_Entry[] {
  const entries = [...extra, { key: DESCRIPTOR_KEY_CONNECTOR_METHOD, value: path }];
  const fields = new Set(schema.fields.map((f) => f.localName));
  const r = request as unknown as {
    resource?: { id?: { resourceType?: string } };
    resourceTypeId?: string;
  };
  if (fields.has('resource')) {
    entries.push({ key: DESCRIPTOR_KEY_CONNECTOR_RESOURCE_TYPE, value: r.resource?.id?.resourceType ?? '' });
  } else if (fields.has('resourceTypeId')) {
    entries.push({ key: DESCRIPTOR_KEY_CONNECTOR_RESOURCE_TYPE, value: r.resourceTypeId ?? '' });
  }
  return entries.map((e) => create(RateLimitDescriptors_EntrySchema, e));
}

function replyRateLimit(reply: unknown): RateLimitDescription | undefined {
  const annotations = (reply as { annotations?: Any[] } | undefined)?.annotations;
  if (!Array.isArray(annotations)) return undefined;
  try {
    return findAnnotation(annotations, RateLimitDescriptionSchema);
  } catch {
    return undefined;
  }
}

function passThrough(err: unknown): boolean {
  return err instanceof ConnectorExitedError || err instanceof ClientClosedError;
}

/** Run `invoke` behind the rate-limit gate. */
export async function gatedInvoke<R>(
  transport: RateLimiterTransport,
  options: RateLimitGateOptions,
  call: GatedCall<R>,
  invoke: () => Promise<R>,
): Promise<R> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const strict = options.strict ?? true;
  const descriptors = create(RateLimitDescriptorsSchema, {
    entries: gateDescriptors(call.path, call.schema, call.request, options.descriptors),
  });
  const start = now();
  let token = '';
  for (;;) {
    let resp: DoResponse;
    try {
      resp = await transport.do(
        create(DoRequestSchema, { requestToken: token, service: CONNECTOR_SERVICE_KEY, descriptors }),
      );
    } catch (err) {
      if (passThrough(err)) throw err;
      const msg = err instanceof Error ? err.message : String(err);
      throw new RpcError(grpc.status.UNKNOWN, `rate limiter Do failed before ${call.path}: ${msg}`, {
        method: call.path,
        cause: err,
      });
    }
    token = resp.requestToken;
    const status = resp.description?.status ?? RateLimitDescription_Status.UNSPECIFIED;
    switch (status) {
      case RateLimitDescription_Status.OK:
      case RateLimitDescription_Status.EMPTY: {
        let reply: R;
        try {
          reply = await invoke();
        } catch (err) {
          if (!passThrough(err)) {
            try {
              await transport.report(
                create(ReportRequestSchema, {
                  requestToken: token,
                  service: CONNECTOR_SERVICE_KEY,
                  descriptors,
                  description: create(RateLimitDescriptionSchema, { status: RateLimitDescription_Status.ERROR }),
                }),
              );
            } catch (reportErr) {
              options.logger?.debug('rate limiter Report failed', { method: call.path, error: reportErr });
            }
          }
          throw err;
        }
        try {
          await transport.report(
            create(ReportRequestSchema, {
              requestToken: token,
              service: CONNECTOR_SERVICE_KEY,
              descriptors,
              description:
                replyRateLimit(reply) ?? create(RateLimitDescriptionSchema, { status: RateLimitDescription_Status.OK }),
            }),
          );
        } catch (reportErr) {
          if (reportErr instanceof ConnectorExitedError) throw reportErr;
          options.logger?.warn('rate limiter Report failed', { method: call.path, error: reportErr });
        }
        return reply;
      }
      case RateLimitDescription_Status.OVERLIMIT: {
        const t = now();
        const resetAt = resp.description?.resetAt ? timestampMs(resp.description.resetAt) : t;
        const wait = Math.max(resetAt - t, MIN_RATE_LIMIT_WAIT_MS);
        if (t + wait - start > MAX_RATE_LIMIT_WAIT_MS) {
          throw new RpcError(grpc.status.RESOURCE_EXHAUSTED, 'overlimit', { method: call.path });
        }
        options.logger?.debug('rate limiter over limit, waiting', { method: call.path, waitMs: wait });
        await sleep(wait);
        continue;
      }
      default: {
        const name = RateLimitDescription_Status[status] ?? String(status);
        if (strict) {
          throw new RpcError(
            grpc.status.UNKNOWN,
            `rate limiter answered status ${name} for ${call.path}; refusing to return an empty reply`,
            { method: call.path },
          );
        }
        options.logger?.warn('rate limiter returned an unexpected status; returning an empty reply (Go behaviour)', {
          method: call.path,
          status: name,
        });
        return call.emptyReply();
      }
    }
  }
}
