/** SCIM simulators shaped like a VEGA tenant's endpoint, the connector pointed at one, and what it changed. */
import { scimSimulatorSet, scimTestConnector, type ScimSimulator } from '@baton-ts/shared/scim-simulator';
import { configSchema, type VegaConfig } from '../src/config.js';
import { createVegaConnector } from '../src/connector.js';

export const sims = scimSimulatorSet({ basePath: '/scim/v2/org-test', token: 'vega-test-scim-token-c0d3' });

export function connectTo(
  sim: ScimSimulator,
  overrides: { token?: string; endpoint?: string; deprovisionMode?: VegaConfig['deprovisionMode'] } = {},
) {
  const config = configSchema.parse({
    scimEndpoint: overrides.endpoint ?? sim.scimUrl,
    scimToken: overrides.token ?? sim.token,
    deprovisionMode: overrides.deprovisionMode,
  });
  return scimTestConnector((runtime, http) => createVegaConnector(config, runtime, { http }));
}

/** Requests that change something (anything but GET) after `fromSeq`, as `METHOD /path`. */
export function mutations(sim: ScimSimulator, fromSeq = 0): string[] {
  return sim.log
    .filter((e) => e.seq > fromSeq && e.method !== 'GET')
    .map((e) => `${e.method} ${e.path.replace(/^.*\/scim\/v2\/org-test/, '')}`);
}

export const lastSeq = (sim: ScimSimulator) => sim.log.last()?.seq ?? 0;
