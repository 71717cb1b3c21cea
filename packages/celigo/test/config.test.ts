import { describe, expect, it } from 'vitest';
import { apiBaseUrl, configSchema, parseBaseUrl, parseRegion } from '../src/config.js';

const TOKEN = 'celigo-config-test-token';

function messages(input: Record<string, unknown>): string[] {
  const result = configSchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.error!.issues.map((i) => i.message);
}

describe('config', () => {
  it.each([
    ['us', 'us'],
    ['eu', 'eu'],
    ['US', 'us'],
    ['Eu', 'eu'],
    ['United States', 'us'],
    ['united states', 'us'],
    ['  UNITED   STATES ', 'us'],
    ['European Union', 'eu'],
    ['european union', 'eu'],
  ])('accepts the region %j as %j', (input, region) => {
    const config = configSchema.parse({ celigoAccessToken: TOKEN, region: input });
    expect(config.region).toBe(region);
    expect(apiBaseUrl(config)).toBe(region === 'us' ? 'https://api.integrator.io' : 'https://api.eu.integrator.io');
  });

  it('defaults to the US region, like the Go connector', () => {
    const config = configSchema.parse({ celigoAccessToken: TOKEN });
    expect(config.region).toBe('us');
    expect(apiBaseUrl(config)).toBe('https://api.integrator.io');
  });

  it.each([['au'], ['Canada'], ['usa'], ['europe'], [''], ['us-east']])(
    'refuses the region %j, saying what to type',
    (input) => {
      const [message] = messages({ celigoAccessToken: TOKEN, region: input });
      expect(message).toContain('--region (BATON_REGION)');
      expect(message).toContain('"us" (or "United States")');
      expect(message).toContain('"eu" (or "European Union")');
      expect(message).toContain(JSON.stringify(input));
    },
  );

  it('says other Celigo data centres are not supported', () => {
    expect(parseRegion('AU')).toEqual({ ok: false, message: expect.stringContaining('not supported') });
    expect(parseRegion('ca')).toEqual({ ok: false, message: expect.stringContaining('not supported') });
  });

  it('requires the token and names the flag, the variable and the scope', () => {
    for (const input of [{}, { celigoAccessToken: '' }, { celigoAccessToken: '   ' }]) {
      const [message] = messages(input);
      expect(message).toContain('--celigo-access-token (BATON_CELIGO_ACCESS_TOKEN) is required');
      expect(message).toContain('Full access');
    }
  });

  it('takes --base-url instead of the region, appending /v1 itself', () => {
    const config = configSchema.parse({ celigoAccessToken: TOKEN, region: 'eu', baseUrl: 'http://127.0.0.1:8080/' });
    expect(apiBaseUrl(config)).toBe('http://127.0.0.1:8080');
    expect(parseBaseUrl('http://127.0.0.1:8080/v1')).toEqual({ ok: true, url: 'http://127.0.0.1:8080' });
    expect(parseBaseUrl('https://proxy.example.com/celigo/v1/')).toEqual({
      ok: true,
      url: 'https://proxy.example.com/celigo',
    });
    for (const bad of ['ftp://x', 'not a url', 'https://user:pw@api.integrator.io', 'https://x/?a=1']) {
      const [message] = messages({ celigoAccessToken: TOKEN, baseUrl: bad });
      expect(message).toContain('--base-url (BATON_BASE_URL)');
      expect(message).not.toContain('pw@');
    }
  });

  it('marks the token secret and the base URL hidden', () => {
    const meta = (key: 'celigoAccessToken' | 'baseUrl') => configSchema.shape[key].meta() as Record<string, unknown>;
    expect(meta('celigoAccessToken').secret).toBe(true);
    expect(meta('baseUrl').hidden).toBe(true);
  });
});
