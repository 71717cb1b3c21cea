/**
 * The VEGA connector: users and groups through the SCIM endpoint VEGA offers for Microsoft Entra provisioning;
 * creates accounts, deletes (or deactivates) users, and grants and revokes group membership. See README.md.
 */
import { defineConnector, type ConnectorRuntime } from '@baton-ts/shared';
import {
  createScimConnector,
  scimAccountManager,
  type ScimConnector,
  type ScimHttpOptions,
  type ScimWording,
} from '@baton-ts/shared/scim';
import { configSchema, type VegaConfig } from './config.js';
import { PRODUCT } from './resources/common.js';
import { groupSyncer } from './resources/group.js';
import { userSyncer, userType } from './resources/user.js';

/** Keep in step with package.json (a test checks it). */
export const VERSION = '0.1.0';

/** What VEGA users are told when SCIM refuses them (docs/apis/vega.md, "Errors"). */
export const WORDING: ScimWording = {
  product: PRODUCT,
  urlFlag: '--scim-endpoint (BATON_SCIM_ENDPOINT)',
  tokenFlag: '--scim-token (BATON_SCIM_TOKEN)',
  unauthenticated:
    "use the Token from VEGA's Provisioning modal (Users tab > Provisioning). VEGA shows it only once: if it is " +
    'lost, an organization administrator generates a new one there (the old one stops working)',
  permissionDenied:
    "the token may not use SCIM for this organization: check that SCIM is enabled in VEGA's Provisioning modal " +
    '(Users tab > Provisioning > Enable SCIM) and that the token was issued there by an organization administrator',
  urlHint: 'copy the "SCIM Endpoint" exactly as VEGA\'s Provisioning modal shows it',
};

export interface VegaConnectorOptions {
  /** HTTP client tuning (tests shorten retry waits). */
  http?: ScimHttpOptions;
}

/** Builds the connector from a parsed config; no I/O happens here. */
export function createVegaConnector(
  config: VegaConfig,
  runtime: ConnectorRuntime,
  options: VegaConnectorOptions = {},
): ScimConnector {
  return createScimConnector({
    service: 'vega',
    baseUrl: config.scimEndpoint,
    token: config.scimToken,
    wording: WORDING,
    runtime,
    http: options.http,
    syncers: (parts) => [groupSyncer(parts), userSyncer(parts, config.deprovisionMode)],
    accountManager: ({ client }) => scimAccountManager({ client, userType, product: PRODUCT }),
  });
}

export const vega = defineConnector({
  name: 'vega',
  version: VERSION,
  metadata: {
    displayName: 'VEGA',
    description:
      'Syncs VEGA users and groups over SCIM; creates and deprovisions accounts and manages group membership',
    helpUrl: 'https://vega-client.helpscoutdocs.com/article/124-scim-integration',
  },
  config: configSchema,
  // What to check when the API cannot be reached: the CLI names the one whose host failed.
  endpointFields: ['scimEndpoint'],
  create: (config, runtime) => createVegaConnector(config, runtime),
  // Loaded on demand, so production runs never load simulator code.
  simulator: async () => {
    const { bundledScimSimulator } = await import('@baton-ts/shared/scim-simulator');
    return bundledScimSimulator({
      basePath: '/scim/v2/org-5f3a9d',
      token: 'vega-sim-scim-token-81b6e2a7f0',
      config: (url, token) => ({ 'scim-endpoint': url, 'scim-token': token }),
    });
  },
});
