/**
 * The validation check (docs/testing.md, "validation"): a handful of invalid requests must be refused with
 * INVALID_ARGUMENT or NOT_FOUND, never INTERNAL, never a crash, never silence.
 *  - Refused by baton-sdk's request validation in every Go connector, so any other answer fails: `page_size` over
 *    250, ListResources without a resource type, ListGrants without a resource.
 *  - Left to the connector, so an OK answer or another error code only warns (a Go connector answers UNKNOWN for a
 *    page token its pagination bag cannot decode): a page token it never issued, a truncated one, an unknown
 *    resource type, the grants of a resource that does not exist (an empty list is fine there). Entitlements of a
 *    missing resource are not asked for: connectors commonly build them from the resource alone, without a call.
 * A probe that kills the process is reported and the next probe gets a fresh process.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { ResourceSchema, type ResourceType } from '../../gen/c1/connector/v2/resource_pb.js';
import {
  ConnectorExitedError,
  describeError,
  RpcError,
  skipsListing,
  type CallOptions,
  type ConnectorClient,
} from '../../host/index.js';
import type { Session } from '../session.js';
import { PROBE_RESOURCE_ID } from './capabilities.js';
import type { CheckRecorder } from './result.js';

interface Probe {
  rule: string;
  /** What was sent, e.g. `ListResources(user) with page_size 251`. */
  sent: string;
  /** Request validation refuses it in every Go connector: any answer but INVALID_ARGUMENT/NOT_FOUND fails. */
  strict: boolean;
  /** An OK answer without records is fine (listing what belongs to a resource that does not exist). */
  emptyOk?: boolean;
  call(client: ConnectorClient, opts: CallOptions): Promise<{ list: unknown[] }>;
}

const EXPECTED = new Set<number>([grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND]);

/** The probes for a connector with these types (and, if the walk saw one, a page token it really issued). */
function probesFor(types: ResourceType[], issuedToken: { typeId: string; token: string } | undefined): Probe[] {
  const typeIds = types.map((t) => t.id).filter(Boolean);
  const first = typeIds[0] ?? 'user';
  const probe = create(ResourceSchema);
  const withGrants = types.find((t) => t.id && !skipsListing(t, probe, 'grants'))?.id;
  const forged = `baton-conform-forged-${randomBytes(9).toString('base64url')}`;
  const probes: Probe[] = [
    {
      rule: 'page-size-over-limit',
      sent: `ListResources(${first}) with page_size 251`,
      strict: true,
      call: (client, opts) => client.listResources({ resourceTypeId: first, pageSize: 251 }, opts),
    },
    {
      rule: 'missing-resource-type',
      sent: 'ListResources without a resource_type_id',
      strict: true,
      call: (client, opts) => client.listResources({ resourceTypeId: '' }, opts),
    },
    {
      rule: 'missing-resource',
      sent: 'ListGrants without a resource',
      strict: true,
      call: (client, opts) => client.listGrants({}, opts),
    },
    {
      rule: 'forged-page-token',
      sent: `ListResources(${first}) with a page token it never issued`,
      strict: false,
      call: (client, opts) => client.listResources({ resourceTypeId: first, pageToken: forged }, opts),
    },
    {
      rule: 'unknown-resource-type',
      sent: 'ListResources(baton-conform-no-such-type)',
      strict: false,
      call: (client, opts) => client.listResources({ resourceTypeId: 'baton-conform-no-such-type' }, opts),
    },
  ];
  if (issuedToken && issuedToken.token.length > 1) {
    const truncated = issuedToken.token.slice(0, Math.ceil(issuedToken.token.length / 2));
    probes.push({
      rule: 'truncated-page-token',
      sent: `ListResources(${issuedToken.typeId}) with the first half of a page token it issued`,
      strict: false,
      call: (client, opts) => client.listResources({ resourceTypeId: issuedToken.typeId, pageToken: truncated }, opts),
    });
  }
  const missing = (typeId: string) => ({ id: { resourceType: typeId, resource: PROBE_RESOURCE_ID } });
  if (withGrants) {
    probes.push({
      rule: 'unknown-resource',
      sent: `ListGrants(${withGrants}:${PROBE_RESOURCE_ID}) of a resource that does not exist`,
      strict: false,
      emptyOk: true,
      call: (client, opts) => client.listGrants({ resource: missing(withGrants) }, opts),
    });
  }
  return probes;
}

export interface ValidationOptions {
  types: ResourceType[];
  issuedToken?: { typeId: string; token: string };
  /** A live session; called again after a probe killed the process. */
  session: () => Promise<Session>;
  /** How long a probe may wait for its answer. */
  callTimeoutMs: number;
}

export async function validationProbes(options: ValidationOptions, c: CheckRecorder): Promise<void> {
  const probes = probesFor(options.types, options.issuedToken);
  let refused = 0;
  for (const p of probes) {
    const session = await options.session();
    const expectation = p.strict
      ? 'INVALID_ARGUMENT (baton-sdk refuses it before any connector code runs)'
      : `INVALID_ARGUMENT or NOT_FOUND${p.emptyOk ? ', or an empty list' : ''}`;
    const t0 = Date.now();
    let answer: { list: unknown[] } | undefined;
    let error: unknown;
    try {
      answer = await p.call(session.client, { timeoutMs: options.callTimeoutMs });
    } catch (err) {
      error = err;
    }
    const ms = Date.now() - t0;
    if (error instanceof ConnectorExitedError) {
      const how = error.signal ? `was killed by ${error.signal}` : `exited with code ${error.exitCode}`;
      const tail = error.stderrTail.trim().split('\n').at(-1);
      c.v.add(
        p.rule,
        `${p.sent}: the connector process ${how}${tail ? ` (last stderr line: ${tail})` : ''}; expected ${expectation}`,
        p.sent,
      );
      continue;
    }
    if (error instanceof RpcError) {
      if (EXPECTED.has(error.code)) {
        refused++;
      } else if (error.code === grpc.status.DEADLINE_EXCEEDED && ms >= options.callTimeoutMs - 50) {
        c.v.add(p.rule, `${p.sent}: no answer within ${options.callTimeoutMs} ms; expected ${expectation}`, p.sent);
      } else if (error.code === grpc.status.INTERNAL || p.strict) {
        c.v.add(p.rule, `${p.sent} answered ${describeError(error)}; expected ${expectation}`, p.sent);
      } else {
        c.v.warn(p.rule, `${p.sent} answered ${describeError(error)}; expected ${expectation}`, p.sent);
      }
      continue;
    }
    if (error !== undefined) {
      c.v.add(p.rule, `${p.sent} failed: ${describeError(error)}; expected ${expectation}`, p.sent);
      continue;
    }
    const n = answer?.list.length ?? 0;
    if (p.emptyOk && n === 0) {
      refused++;
    } else if (p.strict) {
      c.v.add(p.rule, `${p.sent} answered OK with ${n} records; expected ${expectation}`, p.sent);
    } else {
      c.v.warn(p.rule, `${p.sent} answered OK with ${n} records; expected ${expectation}`, p.sent);
    }
  }
  c.saw(`${refused} of ${probes.length} invalid requests refused as expected`);
}
