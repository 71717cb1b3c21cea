/** SCIM simulators shaped like RudderStack's API, and the connector pointed at one. */
import { scimSimulatorSet, scimTestConnector, type ScimSimulator } from '@baton-ts/shared/scim-simulator';
import { configSchema } from '../src/config.js';
import { createRudderStackConnector } from '../src/connector.js';

export const ORG_TOKEN = 'rs-test-org-sat-9f2c41d7';
export const WORKSPACE_TOKEN = 'rs-test-workspace-sat-55e1';

/** RudderStack's base path, an organization-level token, and a workspace-level token that gets 403. */
export const sims = scimSimulatorSet({ basePath: '/scim/v2', token: ORG_TOKEN, forbiddenTokens: [WORKSPACE_TOKEN] });

export function connectTo(sim: ScimSimulator, overrides: { token?: string; baseUrl?: string } = {}) {
  const config = configSchema.parse({
    scimBaseUrl: overrides.baseUrl ?? sim.scimUrl,
    scimToken: overrides.token ?? sim.token,
  });
  return scimTestConnector((runtime, http) => createRudderStackConnector(config, runtime, { http }));
}
