/**
 * The RudderStack connector: the organization's SCIM users and groups with their memberships, read through
 * RudderStack's SCIM 2.0 API. Read-only: it provisions nothing, so its capabilities are sync only. See README.md.
 */
import { defineConnector, type ConnectorRuntime } from '@baton-ts/shared';
import { createScimConnector, type ScimConnector, type ScimHttpOptions, type ScimWording } from '@baton-ts/shared/scim';
import { baseUrlWarning, configSchema, type RudderStackConfig } from './config.js';
import { PRODUCT } from './resources/common.js';
import { groupSyncer } from './resources/group.js';
import { userSyncer } from './resources/user.js';

/** Keep in step with package.json (a test checks it). */
export const VERSION = '0.1.0';

/** What RudderStack users are told when SCIM refuses them (docs/apis/rudderstack.md, "Errors"). */
export const WORDING: ScimWording = {
  product: PRODUCT,
  urlFlag: '--scim-base-url (BATON_SCIM_BASE_URL)',
  tokenFlag: '--scim-token (BATON_SCIM_TOKEN)',
  unauthenticated:
    'the token is wrong, revoked or expired. Use the value of an organization-level Service Access Token ' +
    '(Settings > Organization > Service Access Tokens, Organization tab); it is shown once, when created',
  permissionDenied:
    'SCIM needs an organization-level Service Access Token (Settings > Organization > Service Access Tokens, ' +
    'Organization tab); a workspace-level token or a Personal Access Token fails. SCIM also needs the Enterprise ' +
    'plan with SSO, and RudderStack support may have to enable SCIM for your organization',
  urlHint: 'it is https://api.rudderstack.com/scim/v2 for RudderStack Cloud (US), with the /scim/v2 suffix',
};

export interface RudderStackConnectorOptions {
  /** HTTP client tuning (tests shorten retry waits). */
  http?: ScimHttpOptions;
}

/** Builds the connector from a parsed config; no I/O happens here. */
export function createRudderStackConnector(
  config: RudderStackConfig,
  runtime: ConnectorRuntime,
  options: RudderStackConnectorOptions = {},
): ScimConnector {
  const warning = config.scimBaseUrl ? baseUrlWarning(config.scimBaseUrl) : undefined;
  if (warning) runtime.logger.warn(`rudderstack: ${warning}`);
  return createScimConnector({
    service: 'rudderstack',
    baseUrl: config.scimBaseUrl,
    token: config.scimToken,
    wording: WORDING,
    runtime,
    http: options.http,
    syncers: (parts) => [groupSyncer(parts), userSyncer(parts)],
  });
}

export const rudderstack = defineConnector({
  name: 'rudderstack',
  version: VERSION,
  metadata: {
    displayName: 'RudderStack',
    description: "Syncs RudderStack's SCIM users and groups with their memberships (read-only)",
    helpUrl: 'https://www.rudderstack.com/docs/access-management/service-access-tokens/',
  },
  config: configSchema,
  // What to check when the API cannot be reached: the CLI names the one whose host failed.
  endpointFields: ['scimBaseUrl'],
  create: (config, runtime) => createRudderStackConnector(config, runtime),
  // Loaded on demand, so production runs never load simulator code.
  simulator: async () => {
    const { bundledScimSimulator } = await import('@baton-ts/shared/scim-simulator');
    return bundledScimSimulator({
      basePath: '/scim/v2',
      token: 'rs-sim-org-sat-2c7e91d04b',
      config: (url, token) => ({ 'scim-base-url': url, 'scim-token': token }),
    });
  },
});
