import { describe, expect, it } from 'vitest';
import { captureLogger, newRuntimeStats } from '@baton-ts/shared/testing';
import { baseUrlWarning, configSchema, DEFAULT_SCIM_BASE_URL } from '../src/config.js';
import { createRudderStackConnector } from '../src/connector.js';

const TOKEN = 'rs-config-test-token';

function messages(input: Record<string, unknown>): string[] {
  const result = configSchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.error!.issues.map((i) => i.message);
}

describe('config', () => {
  it('defaults the base URL to RudderStack Cloud (US) and needs only the token', () => {
    const config = configSchema.parse({ scimToken: TOKEN });
    expect(config).toEqual({ scimBaseUrl: DEFAULT_SCIM_BASE_URL, scimToken: TOKEN });
  });

  it.each([
    ['https://api.rudderstack.com/scim/v2/', 'https://api.rudderstack.com/scim/v2'],
    ['  https://api.eu.rudderstack.com/scim/v2  ', 'https://api.eu.rudderstack.com/scim/v2'],
    ['http://127.0.0.1:8080/scim/v2', 'http://127.0.0.1:8080/scim/v2'],
    ['http://localhost:9/scim/v2', 'http://localhost:9/scim/v2'],
  ])('accepts and normalises %j', (input, expected) => {
    expect(configSchema.parse({ scimBaseUrl: input, scimToken: TOKEN }).scimBaseUrl).toBe(expected);
  });

  it.each([
    ['http://api.rudderstack.com/scim/v2', 'http is accepted only for 127.0.0.1 and localhost'],
    ['api.rudderstack.com/scim/v2', 'must be an https URL such as https://api.rudderstack.com/scim/v2'],
    ['ftp://api.rudderstack.com/scim/v2', 'must be an https URL'],
    ['https://user:pw@api.rudderstack.com/scim/v2', 'must not contain credentials'],
    ['https://api.rudderstack.com/scim/v2?x=1', 'must not contain a query string'],
  ])('refuses %j naming the flag and variable', (input, expected) => {
    const [message] = messages({ scimBaseUrl: input, scimToken: TOKEN });
    expect(message).toContain('--scim-base-url (BATON_SCIM_BASE_URL)');
    expect(message).toContain(expected);
  });

  it('requires the token, naming the flag, the variable and where to find it', () => {
    for (const input of [{}, { scimToken: '   ' }, { scimToken: 'Bearer ' }]) {
      const [message] = messages(input);
      expect(message).toContain('--scim-token (BATON_SCIM_TOKEN) is required');
      expect(message).toContain('organization-level Service Access Token');
    }
  });

  it('drops a pasted "Bearer " prefix, marks the token secret and never echoes it', () => {
    expect(configSchema.parse({ scimToken: `Bearer ${TOKEN}` }).scimToken).toBe(TOKEN);
    expect(configSchema.shape.scimToken.meta()).toMatchObject({ secret: true });
    const result = configSchema.safeParse({ scimBaseUrl: 'http://example.com', scimToken: 'rs-secret-in-error' });
    expect(JSON.stringify(result.error!.issues)).not.toContain('rs-secret-in-error');
  });

  it('warns (once, at start) when the base URL does not end in /scim/v2', () => {
    expect(baseUrlWarning(DEFAULT_SCIM_BASE_URL)).toBeUndefined();
    expect(baseUrlWarning('https://api.rudderstack.com')).toContain('does not end in /scim/v2');
    const log = captureLogger();
    const config = configSchema.parse({ scimBaseUrl: 'https://api.rudderstack.com/v2', scimToken: TOKEN });
    createRudderStackConnector(config, { logger: log.logger, stats: newRuntimeStats() });
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toContain('"level":"warn"');
    expect(log.lines[0]).toContain('does not end in /scim/v2');
    const quiet = captureLogger();
    createRudderStackConnector(configSchema.parse({ scimToken: TOKEN }), {
      logger: quiet.logger,
      stats: newRuntimeStats(),
    });
    expect(quiet.lines).toEqual([]);
  });
});
