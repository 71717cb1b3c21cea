/**
 * Connector flags. Keys are camelCase; the CLI runner turns `scimBaseUrl` into `--scim-base-url` /
 * `BATON_SCIM_BASE_URL`.
 *
 * RudderStack's SCIM API lives at https://api.rudderstack.com/scim/v2 (RudderStack Cloud, US); it answers to an
 * organization-level Service Access Token. See docs/apis/rudderstack.md.
 */
import { z } from 'zod';
import { scimTokenField, scimUrlField } from '@baton-ts/shared/scim';

export const DEFAULT_SCIM_BASE_URL = 'https://api.rudderstack.com/scim/v2';

export const configSchema = z.object({
  scimBaseUrl: scimUrlField(
    { flag: '--scim-base-url', env: 'BATON_SCIM_BASE_URL' },
    {
      what: `RudderStack SCIM 2.0 base URL, including /scim/v2 (default ${DEFAULT_SCIM_BASE_URL}, RudderStack Cloud US)`,
      example: DEFAULT_SCIM_BASE_URL,
      default: DEFAULT_SCIM_BASE_URL,
    },
  ),
  scimToken: scimTokenField(
    { flag: '--scim-token', env: 'BATON_SCIM_TOKEN' },
    'an organization-level Service Access Token (Settings > Organization > Service Access Tokens, Organization tab)',
  ),
});

export type RudderStackConfig = z.output<typeof configSchema>;

/**
 * A warning when the base URL does not end in /scim/v2: RudderStack documents the SCIM base with that suffix, and
 * the usual mistake is the bare API host (https://api.rudderstack.com), whose /Users is not the SCIM API.
 */
export function baseUrlWarning(url: string): string | undefined {
  if (/\/scim\/v2$/i.test(new URL(url).pathname)) return undefined;
  return `--scim-base-url (BATON_SCIM_BASE_URL) is ${url}, which does not end in /scim/v2; RudderStack's SCIM base URL is ${DEFAULT_SCIM_BASE_URL} (with the /scim/v2 suffix)`;
}
