/**
 * Connector flags. Keys are camelCase; the CLI runner turns `scimEndpoint` into `--scim-endpoint` /
 * `BATON_SCIM_ENDPOINT`.
 *
 * Both values come from VEGA's Provisioning modal (Users tab > Provisioning icon > Enable SCIM): the "SCIM
 * Endpoint" and the "Token", which VEGA shows only once. See docs/apis/vega.md.
 */
import { z } from 'zod';
import { scimTokenField, scimUrlField } from '@baton-ts/shared/scim';

export const configSchema = z.object({
  scimEndpoint: scimUrlField(
    { flag: '--scim-endpoint', env: 'BATON_SCIM_ENDPOINT' },
    {
      what: "the SCIM Endpoint shown in VEGA's Provisioning modal (Users tab > Provisioning)",
      example: 'the https URL VEGA shows as "SCIM Endpoint"',
    },
  ),
  scimToken: scimTokenField(
    { flag: '--scim-token', env: 'BATON_SCIM_TOKEN' },
    "the Token shown in VEGA's Provisioning modal when SCIM was enabled",
  ),
  deprovisionMode: z
    .enum(['delete', 'deactivate'], {
      error: () => '--deprovision-mode (BATON_DEPROVISION_MODE) must be "delete" or "deactivate"',
    })
    .default('delete')
    .describe(
      'What deleting a user does: "delete" removes the VEGA user (DELETE /Users/{id}); "deactivate" keeps it with active: false, as Entra does when a user is unassigned',
    ),
});

export type VegaConfig = z.output<typeof configSchema>;
