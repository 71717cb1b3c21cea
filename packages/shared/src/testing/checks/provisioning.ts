/**
 * The provisioning check (docs/testing.md, "provisioning"), run only when asked for an entitlement and a principal:
 * grant → ListGrants shows it → grant again (no error; GrantAlreadyExists if the connector says so) → revoke →
 * ListGrants no longer shows it → revoke again (no error; GrantAlreadyRevoked). Calls go to a connector started with
 * `--provisioning`, as a Go host does for provisioning; the entitlement and principal are taken from the first
 * walk, exactly as the Go CLI takes them from its sync file.
 */
import { create } from '@bufbuild/protobuf';
import { GrantSchema, type Grant } from '../../gen/c1/connector/v2/grant_pb.js';
import type { Entitlement } from '../../gen/c1/connector/v2/entitlement_pb.js';
import { ResourceIdSchema, type Resource } from '../../gen/c1/connector/v2/resource_pb.js';
import type { SyncStore } from '../../c1z/index.js';
import {
  describeError,
  grantEntitlement,
  PageTokenGuard,
  revokeGrant,
  type ConnectorClient,
  type ProvisionFlags,
} from '../../host/index.js';
import type { Session } from '../session.js';
import { quote, resourceKey } from '../violations.js';
import { attempt } from './protocol.js';
import type { CheckRecorder } from './result.js';

/** What to grant and revoke: `--provision ENTITLEMENT_ID PRINCIPAL_TYPE:ID`. */
export interface ProvisionTarget {
  entitlementId: string;
  principal: { resourceType: string; resource: string };
}

/** Every grant ListGrants returns for `resource`, all pages. */
async function listGrantsOf(client: ConnectorClient, resource: Resource): Promise<Grant[]> {
  const out: Grant[] = [];
  const tokens = new PageTokenGuard();
  for (let page = 0; page < 100_000; page++) {
    const resp = await client.listGrants({ resource, pageToken: tokens.current });
    out.push(...resp.list);
    if (resp.nextPageToken === '' || tokens.advance(resp.nextPageToken)) break;
  }
  return out;
}

/** A grant a sync stored directly (not only derived through grant expansion). */
function directGrant(store: SyncStore, target: ProvisionTarget): Grant | undefined {
  const principal = create(ResourceIdSchema, target.principal);
  for (const g of store.grants({ entitlementId: target.entitlementId, principal })) {
    const sources = Object.keys(g.sources?.sources ?? {});
    if (sources.length === 0 || sources.includes(target.entitlementId)) return g;
  }
  return undefined;
}

function flagsText(f: ProvisionFlags, which: 'grant' | 'revoke'): string {
  if (which === 'grant') return f.alreadyExists ? ' (GrantAlreadyExists)' : '';
  return f.alreadyRevoked ? ' (GrantAlreadyRevoked)' : '';
}

export async function provisioningCheck(
  session: Session,
  store: SyncStore,
  target: ProvisionTarget,
  c: CheckRecorder,
): Promise<void> {
  const { entitlementId } = target;
  const principalKey = resourceKey(target.principal);
  const entitlement: Entitlement | undefined = store.getEntitlement(entitlementId);
  const principal = store.getResource(target.principal.resourceType, target.principal.resource);
  if (!entitlement) {
    c.v.add(
      'provision-setup',
      `entitlement ${quote(entitlementId)} is not in the walk; expected one the connector lists`,
    );
  }
  if (!principal) {
    c.v.add(
      'provision-setup',
      `principal ${quote(principalKey)} is not in the walk; expected a resource the connector lists`,
    );
  }
  if (!entitlement || !principal) return;
  const already = directGrant(store, target);
  if (already) {
    c.v.add(
      'provision-setup',
      `principal ${quote(principalKey)} already holds ${quote(entitlementId)} (grant ${quote(already.id)}); choose a principal without it`,
    );
    return;
  }
  const resource = entitlement.resource;
  if (!resource) {
    c.v.add('provision-setup', `entitlement ${quote(entitlementId)} has no resource, so its grants cannot be listed`);
    return;
  }
  const args = {
    entitlementId,
    principalType: target.principal.resourceType,
    principalId: target.principal.resource,
  };
  const listed = async () =>
    (await listGrantsOf(session.client, resource)).find(
      (g) =>
        g.entitlement?.id === entitlementId &&
        g.principal?.id?.resourceType === target.principal.resourceType &&
        g.principal.id.resource === target.principal.resource,
    );
  const done: string[] = [];
  const report = () => c.saw(`${entitlementId} to ${principalKey}: ${done.join(', ')}`);

  const granted = await attempt(() => grantEntitlement(session.client, store, args));
  if ('error' in granted) {
    c.v.add(
      'grant',
      `Grant of ${quote(entitlementId)} to ${quote(principalKey)} failed: ${describeError(granted.error)}; expected the grant to be made`,
    );
    return report();
  }
  done.push(`granted${flagsText(granted.value, 'grant')}`);
  if (granted.value.alreadyExists) {
    c.v.add(
      'grant',
      `the first Grant answered GrantAlreadyExists although the walk showed no such grant; expected a new grant`,
    );
  }

  const afterGrant = await attempt(listed);
  let grant: Grant | undefined;
  if ('error' in afterGrant) {
    c.v.add(
      'grant-listed',
      `ListGrants(${resourceKey(resource.id)}) failed after the grant: ${describeError(afterGrant.error)}`,
    );
  } else if (!afterGrant.value) {
    c.v.add(
      'grant-listed',
      `after the Grant, ListGrants(${resourceKey(resource.id)}) does not list a grant of ${quote(entitlementId)} to ${quote(principalKey)}; expected it listed`,
    );
  } else {
    grant = afterGrant.value;
    done.push('listed');
  }

  const again = await attempt(() => grantEntitlement(session.client, store, args));
  if ('error' in again) {
    c.v.add(
      'grant-again',
      `the second Grant failed: ${describeError(again.error)}; expected no error (with the GrantAlreadyExists annotation where the connector can tell)`,
    );
  } else {
    done.push(`granted again${flagsText(again.value, 'grant')}`);
  }

  // The grant as the connector listed it, or as a Go host would rebuild it from its entitlement and principal.
  const toRevoke =
    grant ??
    create(GrantSchema, {
      id: `${entitlementId}:${target.principal.resourceType}:${target.principal.resource}`,
      entitlement,
      principal,
    });
  const lookups = {
    getEntitlement: (id: string) => store.getEntitlement(id),
    getResource: (t: string, id: string) => store.getResource(t, id),
    getGrant: (id: string) => (id === toRevoke.id ? toRevoke : store.getGrant(id)),
  };
  const revoked = await attempt(() => revokeGrant(session.client, lookups, toRevoke.id));
  if ('error' in revoked) {
    c.v.add(
      'revoke',
      `Revoke of ${quote(toRevoke.id)} failed: ${describeError(revoked.error)}; expected the grant to be revoked`,
    );
    return report();
  }
  done.push(`revoked${flagsText(revoked.value, 'revoke')}`);

  const afterRevoke = await attempt(listed);
  if ('error' in afterRevoke) {
    c.v.add(
      'revoke-listed',
      `ListGrants(${resourceKey(resource.id)}) failed after the revoke: ${describeError(afterRevoke.error)}`,
    );
  } else if (afterRevoke.value) {
    c.v.add(
      'revoke-listed',
      `after the Revoke, ListGrants(${resourceKey(resource.id)}) still lists grant ${quote(afterRevoke.value.id)}; expected it gone`,
    );
  } else {
    done.push('gone');
  }

  const revokedAgain = await attempt(() => revokeGrant(session.client, lookups, toRevoke.id));
  if ('error' in revokedAgain) {
    c.v.add(
      'revoke-again',
      `the second Revoke failed: ${describeError(revokedAgain.error)}; expected no error (with the GrantAlreadyRevoked annotation where the connector can tell)`,
    );
  } else {
    done.push(`revoked again${flagsText(revokedAgain.value, 'revoke')}`);
  }
  report();
}
