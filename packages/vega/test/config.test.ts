import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config.js';

const ENDPOINT = 'https://app.vega.example/scim/v2/org-123';
const TOKEN = 'vega-config-test-token';

function messages(input: Record<string, unknown>): string[] {
  const result = configSchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.error!.issues.map((i) => i.message);
}

describe('config', () => {
  it('takes the endpoint and token from the Provisioning modal; deprovisioning deletes by default', () => {
    expect(configSchema.parse({ scimEndpoint: `${ENDPOINT}/`, scimToken: TOKEN })).toEqual({
      scimEndpoint: ENDPOINT,
      scimToken: TOKEN,
      deprovisionMode: 'delete',
    });
    expect(
      configSchema.parse({ scimEndpoint: ENDPOINT, scimToken: TOKEN, deprovisionMode: 'deactivate' }).deprovisionMode,
    ).toBe('deactivate');
  });

  it('requires both, naming the flags, the variables and the Provisioning modal', () => {
    const all = messages({});
    expect(
      all.some((m) => m.includes('--scim-endpoint (BATON_SCIM_ENDPOINT) is required') && m.includes('Provisioning')),
    ).toBe(true);
    expect(all.some((m) => m.includes('--scim-token (BATON_SCIM_TOKEN) is required'))).toBe(true);
  });

  it('refuses a non-https endpoint (http only on loopback) and an unknown deprovision mode', () => {
    expect(messages({ scimEndpoint: 'http://app.vega.example/scim', scimToken: TOKEN })[0]).toContain(
      '--scim-endpoint (BATON_SCIM_ENDPOINT) must be an https URL',
    );
    expect(configSchema.parse({ scimEndpoint: 'http://127.0.0.1:4000/scim', scimToken: TOKEN }).scimEndpoint).toBe(
      'http://127.0.0.1:4000/scim',
    );
    expect(messages({ scimEndpoint: ENDPOINT, scimToken: TOKEN, deprovisionMode: 'disable' })[0]).toBe(
      '--deprovision-mode (BATON_DEPROVISION_MODE) must be "delete" or "deactivate"',
    );
  });

  it('marks the token secret and never echoes it', () => {
    expect(configSchema.shape.scimToken.meta()).toMatchObject({ secret: true });
    const result = configSchema.safeParse({ scimEndpoint: 'nope', scimToken: 'vega-secret-in-error' });
    expect(JSON.stringify(result.error!.issues)).not.toContain('vega-secret-in-error');
  });
});
