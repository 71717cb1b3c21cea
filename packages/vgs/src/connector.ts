/**
 * The VGS connector: users, invitations, the organization, its vaults and service accounts from the VGS accounts
 * API; organization roles, vault access, invitations (account provisioning) and member removal. See README.md for
 * setup and docs/apis/vgs.md for the API.
 */
import {
  Code,
  ConnectorError,
  defineConnector,
  type CallContext,
  type Connector,
  type ConnectorRuntime,
} from '@baton-ts/shared';
import { SCOPES, VgsClient, type VgsClientOptions } from './client.js';
import { configSchema, DEFAULT_ACCOUNTS_URL, DEFAULT_TOKEN_URL, type VgsConfig } from './config.js';
import { invitationAccountManager, invitationSyncer } from './resources/invitation.js';
import { orgSyncer } from './resources/org.js';
import { serviceAccountSyncer } from './resources/service-account.js';
import { userSyncer } from './resources/user.js';
import { vaultSyncer } from './resources/vault.js';
// Type only: erased at run time, so production runs never load simulator code.
import type { DatasetName } from '../simulator/index.js';

/** Keep in step with package.json (a test checks it). */
export const VERSION = '0.1.0';

export interface VgsConnectorOptions {
  /** HTTP client tuning and clock (tests). */
  http?: Pick<VgsClientOptions, 'retry' | 'sleep' | 'timeoutMs' | 'now' | 'cacheWeight'>;
}

export interface VgsConnector extends Connector {
  readonly client: VgsClient;
}

/** Builds the connector from a parsed config; no I/O happens here. */
export function createVgsConnector(
  config: VgsConfig,
  runtime: ConnectorRuntime,
  options: VgsConnectorOptions = {},
): VgsConnector {
  const client = new VgsClient({
    accountsUrl: config.baseUrl ?? DEFAULT_ACCOUNTS_URL,
    tokenUrl: config.tokenUrl ?? DEFAULT_TOKEN_URL,
    clientId: config.serviceAccountClientId,
    clientSecret: config.serviceAccountClientSecret,
    organizationId: config.organizationId,
    logger: runtime.logger,
    stats: runtime.stats,
    ...options.http,
  });
  if (config.vault) {
    runtime.logger.debug('vgs: --vault is accepted for compatibility and not used; every vault is synced', {
      vault: config.vault,
    });
  }

  return {
    client,
    // Listing order matters for request counts: the service-account listing reuses the vault pages the vault
    // listing read, and the org grants the member pages the user listing read.
    syncers: [
      userSyncer({ client }),
      invitationSyncer({ client }),
      orgSyncer({ client }),
      vaultSyncer({ client }),
      serviceAccountSyncer({ client }),
    ],
    accountManager: invitationAccountManager({ client }),
    async validate(ctx: CallContext) {
      // The token request checks the credentials; the organizations listing checks the organization id (and is
      // reused by the organization listing of the sync that follows).
      const orgs = await client.organizations('fresh', ctx.signal);
      if (!orgs.some((o) => o.id === config.organizationId)) {
        const visible = orgs.map((o) => `${o.id}${o.name ? ` (${o.name})` : ''}`).join(', ') || 'none';
        throw new ConnectorError(
          Code.NotFound,
          `vgs: organization ${config.organizationId} is not among the organizations this service account can see (${visible}): check --organization-id (BATON_ORGANIZATION_ID)`,
        );
      }
      await client.requireScope(
        SCOPES.usersRead,
        'read organization members, invitations and vault members',
        ctx.signal,
      );
    },
    async cleanup() {
      client.pages.clear();
    },
  };
}

export const vgs = defineConnector({
  name: 'vgs',
  version: VERSION,
  metadata: {
    displayName: 'VGS',
    description:
      'Syncs VGS users, invitations, the organization, its vaults and service accounts; provisions organization roles, vault access and invitations, and removes members',
    helpUrl: 'https://docs.verygoodsecurity.com/',
  },
  config: configSchema,
  // What to check when the API cannot be reached: the CLI names the one whose host failed.
  endpointFields: ['baseUrl', 'tokenUrl'],
  create: (config, runtime) => createVgsConnector(config, runtime),
  simulator: async () => {
    const { startVgsSimulator, DATASET_LIST } = await import('../simulator/index.js');
    return {
      datasets: DATASET_LIST,
      // "Documented" limits: 200 requests a minute per service account, VGS's published figure for sandbox traffic
      // (it publishes none for the accounts API; docs/apis/vgs.md), the default.
      start: (options) =>
        startVgsSimulator({
          host: options.host,
          port: options.port,
          dataset: options.dataset as DatasetName | undefined,
          latencyMs: options.latencyMs,
          faults: options.faults,
          ...(options.rateLimits === 'off' ? { rateLimits: { read: 0, write: 0 } } : {}),
        }),
    };
  },
});
