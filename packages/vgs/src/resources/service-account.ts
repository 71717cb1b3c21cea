/**
 * VGS service accounts: the technical users (`<clientId>@vgs.dev`) that hold vault access next to people. They are
 * their own type so that their vault grants point at real resources, while the user type stays people only.
 *
 * Where they come from:
 * - every vault member list of the organization's vaults (VGS lists service accounts there, with their role);
 * - the service-accounts listing, when the token may read it (it adds service accounts without vault access, and
 *   their names); see `VgsClient.serviceAccounts`.
 * The resource id is the client id, lower-cased; the member id vault endpoints use is kept in the profile.
 *
 * The listing reads every vault's members (a few at a time), which is also what the vault grants need: those pages
 * stay in the client's page cache for them, so each vault's members are read once per sync. The organization has
 * at most a few dozen service accounts (VGS allows 50), so the merged list is computed in one call and paged by
 * offset; later pages reuse the merged list from the cache, or compute it again.
 */
import {
  mapConcurrent,
  pageOfArray,
  resourceType,
  userResource,
  type CallContext,
  type PageRequest,
  type Resource,
  type ResourceSyncer,
} from '@baton-ts/shared';
import type { LinkedPage } from '@baton-ts/shared/http';
import { isServiceAccountEmail, serviceAccountClientId, SERVICE_ACCOUNT_DOMAIN, type VgsClient } from '../client.js';
import { inOrganization, noEntitlementsOrGrants, serviceAccountId } from './common.js';

export const serviceAccountType = resourceType({
  id: 'service_account',
  displayName: 'Service Account',
  traits: ['user'],
  description: 'A VGS service account (technical user <clientId>@vgs.dev); it can hold vault access',
  skipEntitlementsAndGrants: true,
});

/** Vault member lists read at once while listing service accounts. */
export const VAULT_READ_CONCURRENCY = 4;

export interface ServiceAccountRecord {
  /** Resource id: the client id, lower-cased. */
  id: string;
  clientId: string;
  name: string;
  email: string;
  /** The user id vault member endpoints know it by, when it is in a vault. */
  memberId?: string;
  createdAt?: Date;
  scopes: string[];
  vaults: Array<{ identifier: string; role?: string }>;
}

export function toServiceAccountResource(sa: ServiceAccountRecord): Resource {
  return userResource({
    type: serviceAccountType,
    id: sa.id,
    displayName: sa.name || sa.clientId,
    emails: [sa.email],
    login: sa.clientId,
    accountType: 'service',
    status: 'enabled',
    createdAt: sa.createdAt,
    profile: {
      client_id: sa.clientId,
      email: sa.email,
      name: sa.name || undefined,
      member_id: sa.memberId,
      scopes: sa.scopes.join(' ') || undefined,
      vaults: sa.vaults.map((v) => (v.role ? `${v.identifier}:${v.role}` : v.identifier)).join(',') || undefined,
    },
  });
}

/**
 * Every service account of the organization, merged from the service-accounts listing and the vault member lists,
 * sorted by id. `mode` applies to the vault member pages: `fresh` when a listing starts (so the vault grants of
 * this sync see current data), `cached` when a later page needs the list again.
 */
export async function scanServiceAccounts(
  client: VgsClient,
  mode: 'fresh' | 'cached',
  signal: AbortSignal,
): Promise<ServiceAccountRecord[]> {
  const byId = new Map<string, ServiceAccountRecord>();
  const record = (clientId: string) => {
    const id = serviceAccountId(clientId);
    let sa = byId.get(id);
    if (!sa) {
      sa = { id, clientId, name: '', email: `${clientId}@${SERVICE_ACCOUNT_DOMAIN}`, scopes: [], vaults: [] };
      byId.set(id, sa);
    }
    return sa;
  };

  for (const listed of (await client.serviceAccounts(signal)) ?? []) {
    const sa = record(listed.clientId);
    sa.clientId = listed.clientId;
    sa.name = listed.name;
    sa.createdAt = listed.createdAt;
    sa.scopes = listed.scopes;
    sa.vaults = listed.vaults.map((identifier) => ({ identifier }));
  }

  // The vault listing of this sync has just read these pages.
  const vaults = (await client.all((url, m) => client.vaultsPage(url, m, signal), 'cached')).filter((v) =>
    inOrganization(v, client.organizationId),
  );
  const memberLists = await mapConcurrent(vaults, VAULT_READ_CONCURRENCY, (vault) =>
    client.all((url, m) => client.vaultMembersPage(vault.identifier, url, m, signal), mode),
  );
  vaults.forEach((vault, i) => {
    for (const member of memberLists[i]!) {
      if (!isServiceAccountEmail(member.email)) continue;
      const sa = record(serviceAccountClientId(member.email));
      sa.email = member.email;
      sa.memberId ??= member.id;
      const known = sa.vaults.find((v) => v.identifier === vault.identifier);
      if (known) known.role = member.role;
      else sa.vaults.push({ identifier: vault.identifier, role: member.role });
    }
  });
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function serviceAccountSyncer(deps: { client: VgsClient }): ResourceSyncer {
  const { client } = deps;
  const key = `#service-accounts:${client.organizationId}`;
  const weight = (page: LinkedPage<unknown>) => page.items.length + 1;
  const scan = (mode: 'fresh' | 'cached', ctx: CallContext) => async () => ({
    items: await scanServiceAccounts(client, mode, ctx.signal),
  });

  return {
    resourceType: serviceAccountType,
    defaultPageSize: 100,

    async list(_parent, page: PageRequest<number>, ctx) {
      const merged =
        page.state === undefined
          ? await client.pages.fresh(key, scan('fresh', ctx), weight)
          : await client.pages.readThrough(key, scan('cached', ctx), weight);
      return pageOfArray((merged.items as ServiceAccountRecord[]).map(toServiceAccountResource), page);
    },

    ...noEntitlementsOrGrants,
  };
}
