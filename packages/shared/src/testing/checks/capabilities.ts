/**
 * The capabilities check (docs/testing.md, "capabilities"): `GetMetadata.capabilities` describes every resource type
 * the connector lists, and the provisioning capabilities match the services that answer. To see which services
 * answer, it sends Grant, Revoke, DeleteResource and RotateCredential for ids that cannot exist
 * (`baton-conform-probe-…`) through a connector started with `--provisioning`: UNIMPLEMENTED (or baton-sdk's
 * "does not have … configured") means "not served"; any other answer, errors included, means the connector handled
 * the request. CreateAccount and CreateResource are never sent (they could create something).
 */
import { Capability, type ConnectorCapabilities } from '../../gen/c1/connector/v2/connector_pb.js';
import { ResourceType_Trait, type ResourceType } from '../../gen/c1/connector/v2/resource_pb.js';
import * as grpc from '@grpc/grpc-js';
import { ConnectorExitedError, describeError, RpcError } from '../../host/index.js';
import type { Session } from '../session.js';
import { quote } from '../violations.js';
import { ConnectorGone, type ConnectorFacts } from './protocol.js';
import type { CheckRecorder } from './result.js';

/**
 * Every id the probes invent starts with this: no real system has such ids, so the probes cannot change anything,
 * and a test that checks a simulator's request log can leave their requests out.
 */
export const PROBE_ID_PREFIX = 'baton-conform-probe';
export const PROBE_RESOURCE_ID = `${PROBE_ID_PREFIX}-does-not-exist`;
const PROBE_PRINCIPAL_ID = `${PROBE_ID_PREFIX}-principal-does-not-exist`;

const capName = (c: Capability) => `CAPABILITY_${Capability[c] ?? c}`;

/** Per listed type: the capabilities its `ResourceTypeCapability` names (undefined when it has none). */
export type TypeCapabilities = Map<string, Set<Capability>>;

/** Judges the description; returns each type's capabilities for the service probes. */
export function describedCapabilities(facts: ConnectorFacts, c: CheckRecorder): TypeCapabilities | undefined {
  if (!facts.metadata) {
    c.skip('GetMetadata did not answer (see protocol)');
    return undefined;
  }
  const caps: ConnectorCapabilities | undefined = facts.metadata.capabilities;
  if (!caps) {
    c.v.add(
      'capabilities-missing',
      'GetMetadata has no capabilities; expected ConnectorCapabilities describing every resource type (`capabilities` and ConductorOne read them)',
    );
    return undefined;
  }
  const described = new Map<string, { type?: ResourceType; capabilities: Set<Capability> }>();
  for (const rtc of caps.resourceTypeCapabilities) {
    const id = rtc.resourceType?.id ?? '';
    described.set(id, { type: rtc.resourceType, capabilities: new Set(rtc.capabilities) });
  }
  if (!facts.types) {
    c.skip('ListResourceTypes did not answer (see walk)');
    return undefined;
  }
  const out: TypeCapabilities = new Map();
  const listed = new Set<string>();
  for (const rt of facts.types) {
    if (!rt.id) continue;
    listed.add(rt.id);
    const d = described.get(rt.id);
    if (!d) {
      c.v.add(
        'type-not-described',
        `resource type ${quote(rt.id)} is listed by ListResourceTypes but not described in the capabilities; expected a ResourceTypeCapability for every listed type`,
        rt.id,
      );
      continue;
    }
    out.set(rt.id, d.capabilities);
    if (!d.capabilities.has(Capability.SYNC)) {
      c.v.warn(
        'sync-capability',
        `resource type ${quote(rt.id)} is described without CAPABILITY_SYNC; expected it for every type the connector lists`,
        rt.id,
      );
    }
    const traits = (list: readonly ResourceType_Trait[] | undefined) => [...(list ?? [])].sort().join(',');
    if (d.type && traits(d.type.traits) !== traits(rt.traits)) {
      const names = (list: readonly ResourceType_Trait[]) =>
        list.map((t) => `TRAIT_${ResourceType_Trait[t] ?? t}`).join(', ') || 'none';
      c.v.warn(
        'capability-traits',
        `resource type ${quote(rt.id)} has traits ${names(rt.traits)} in ListResourceTypes but ${names(d.type.traits)} in the capabilities; expected the same type`,
        rt.id,
      );
    }
  }
  for (const id of described.keys()) {
    if (!listed.has(id)) {
      c.v.warn(
        'type-not-listed',
        `the capabilities describe resource type ${quote(id)}, which ListResourceTypes does not list; expected only listed types`,
        id,
      );
    }
  }
  const provisioned = [...out].filter(([, set]) => set.has(Capability.PROVISION)).map(([id]) => id);
  c.saw(
    `${out.size} of ${listed.size} listed type${listed.size === 1 ? '' : 's'} described` +
      (provisioned.length ? `; CAPABILITY_PROVISION on ${provisioned.join(', ')}` : ''),
  );
  return out;
}

type Served = { served: true; how: string } | { served: false; how: string } | { disabled: true };

/** What a probe's answer says about whether the service is implemented for the type. */
function servedBy(outcome: unknown): Served {
  if (outcome === undefined) return { served: true, how: 'answered OK' };
  if (outcome instanceof ConnectorExitedError) throw new ConnectorGone(outcome.message, { cause: outcome });
  const message = outcome instanceof Error ? outcome.message : String(outcome);
  if (
    outcome instanceof RpcError &&
    outcome.code === grpc.status.FAILED_PRECONDITION &&
    /provisioning is not enabled/i.test(message)
  ) {
    return { disabled: true };
  }
  if (
    (outcome instanceof RpcError && outcome.code === grpc.status.UNIMPLEMENTED) ||
    /does not have (a )?(provisioner|resource manager|resource deleter|credential manager) configured/i.test(message)
  ) {
    return { served: false, how: `answered ${describeError(outcome)}` };
  }
  return { served: true, how: `answered ${describeError(outcome)}` };
}

async function outcomeOf(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
    return undefined;
  } catch (err) {
    return err;
  }
}

/**
 * Sends the probes through `session` (started with `--provisioning`) and compares the answers with `capabilities`.
 * A connector that refuses them as "provisioning is not enabled" (a `serve` target started without `-p`) gets a
 * note instead: nothing can be concluded then.
 */
export async function serviceProbes(
  session: Session,
  capabilities: TypeCapabilities,
  types: ResourceType[],
  c: CheckRecorder,
): Promise<void> {
  const principalType = types.find((t) => t.traits.includes(ResourceType_Trait.USER))?.id;
  let disabled = false;
  const checked: string[] = [];
  for (const [typeId, caps] of capabilities) {
    const resource = { id: { resourceType: typeId, resource: PROBE_RESOURCE_ID }, displayName: 'baton-conform probe' };
    const entitlement = {
      id: `${typeId}:${PROBE_RESOURCE_ID}:baton-conform`,
      resource,
      displayName: 'baton-conform probe',
      slug: 'baton-conform',
    };
    const principal = {
      id: { resourceType: principalType ?? typeId, resource: PROBE_PRINCIPAL_ID },
      displayName: 'baton-conform probe',
    };
    const grantId = `${entitlement.id}:${principal.id.resourceType}:${PROBE_PRINCIPAL_ID}`;

    const judge = (what: string, capability: Capability, outcomes: Served[], combine: 'any' | 'all') => {
      if (outcomes.some((o) => 'disabled' in o)) {
        disabled = true;
        return;
      }
      const served = outcomes.filter((o): o is { served: true; how: string } => 'served' in o && o.served);
      const has = caps.has(capability);
      const hows = outcomes.map((o) => ('how' in o ? o.how : '')).join(', ');
      if (has && served.length === 0) {
        c.v.add(
          'capability-not-served',
          `the capabilities list ${capName(capability)} for ${quote(typeId)} but ${what} for it ${hows}; expected the service to handle the request`,
          typeId,
        );
      } else if (has && combine === 'all' && served.length < outcomes.length) {
        c.v.warn(
          'capability-not-served',
          `the capabilities list ${capName(capability)} for ${quote(typeId)} but not every call of ${what} is served (${hows})`,
          typeId,
        );
      } else if (!has && served.length > 0) {
        c.v.add(
          'capability-not-listed',
          `${what} for ${quote(typeId)} ${served[0].how}, so it is served, but the capabilities do not list ${capName(capability)} for it; expected them to`,
          typeId,
        );
      }
    };

    const grant = servedBy(await outcomeOf(() => session.client.grant({ entitlement, principal })));
    const revoke = servedBy(
      await outcomeOf(() => session.client.revoke({ grant: { id: grantId, entitlement, principal } })),
    );
    judge('Grant/Revoke', Capability.PROVISION, [grant, revoke], 'all');

    let del = servedBy(await outcomeOf(() => session.client.deleteResource({ resourceId: resource.id })));
    if ('served' in del && !del.served) {
      del = servedBy(await outcomeOf(() => session.client.deleteResourceV2({ resourceId: resource.id })));
    }
    judge('DeleteResource', Capability.RESOURCE_DELETE, [del], 'any');

    const rotate = servedBy(
      await outcomeOf(() =>
        session.client.rotateCredential({
          resourceId: resource.id,
          credentialOptions: { options: { case: 'randomPassword', value: { length: 20n } } },
        }),
      ),
    );
    judge('RotateCredential', Capability.CREDENTIAL_ROTATION, [rotate], 'any');
    checked.push(typeId);
  }
  if (disabled) {
    c.note(
      'provisioning services answer "provisioning is not enabled": serve the connector with -p to compare them with the capabilities',
    );
  } else if (checked.length) {
    c.saw(
      `Grant, Revoke, DeleteResource and RotateCredential probed for ${checked.length} type${checked.length === 1 ? '' : 's'}`,
    );
  }
}
