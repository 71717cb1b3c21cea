import { describe, expect, it } from 'vitest';
import { configSchema, consoleOrigin, graphqlEndpoint, parseDomain } from '../src/config.js';

const KEY = 'tg-config-test-key';

function parse(input: Record<string, unknown>) {
  return configSchema.safeParse(input);
}

function messages(input: Record<string, unknown>): string[] {
  const result = parse(input);
  expect(result.success).toBe(false);
  return result.error!.issues.map((i) => i.message);
}

describe('config', () => {
  it.each([
    ['acme', 'acme'],
    ['ACME', 'acme'],
    ['  acme  ', 'acme'],
    ['acme.twingate.com', 'acme'],
    ['acme.twingate.com/', 'acme'],
    ['Acme.Twingate.com', 'acme'],
    ['https://acme.twingate.com', 'acme'],
    ['https://acme.twingate.com/', 'acme'],
    ['my-network-01', 'my-network-01'],
  ])('normalises the domain %j to %j', (input, expected) => {
    const result = parse({ apiKey: KEY, domain: input });
    expect(result.success).toBe(true);
    expect(result.data!.domain).toBe(expected);
    expect(graphqlEndpoint(result.data!)).toBe(`https://${expected}.twingate.com/api/graphql/`);
    expect(consoleOrigin(result.data!)).toBe(`https://${expected}.twingate.com`);
  });

  it.each([
    ['acme.example.com'],
    ['http://acme.twingate.com'],
    ['https://acme.twingate.com/admin'],
    ['acme.twingate.com.evil.net'],
    ['-acme'],
    ['ac me'],
    ['https://'],
    ['a.b.twingate.com'],
  ])('refuses the domain %j with a message naming the flag and the expected form', (input) => {
    const [message] = messages({ apiKey: KEY, domain: input });
    expect(message).toContain('--domain (BATON_DOMAIN)');
    expect(message).toContain('e.g. `acme` for https://acme.twingate.com');
  });

  it('suggests the network name when a console URL with a path is given', () => {
    const parsed = parseDomain('https://acme.twingate.com/users');
    expect(parsed).toMatchObject({ ok: false });
    expect((parsed as { message: string }).message).toContain('did you mean "acme"?');
  });

  it('requires the API key and the domain, naming flags and environment variables', () => {
    const all = messages({});
    expect(all.some((m) => m.includes('--api-key (BATON_API_KEY) is required'))).toBe(true);
    expect(all.some((m) => m.includes('--domain (BATON_DOMAIN) is required'))).toBe(true);
    expect(messages({ apiKey: '  ', domain: 'acme' })[0]).toContain('--api-key (BATON_API_KEY) is required');
    expect(messages({ apiKey: KEY, domain: '' })[0]).toContain('--domain (BATON_DOMAIN) is required');
  });

  it('accepts a hidden base URL override, verbatim or with the API path added to a bare origin', () => {
    const full = parse({ apiKey: KEY, domain: 'acme', baseUrl: 'http://127.0.0.1:8080/api/graphql/' });
    expect(graphqlEndpoint(full.data!)).toBe('http://127.0.0.1:8080/api/graphql/');
    expect(consoleOrigin(full.data!)).toBeUndefined();
    const origin = parse({ apiKey: KEY, domain: 'acme', baseUrl: 'http://127.0.0.1:8080' });
    expect(graphqlEndpoint(origin.data!)).toBe('http://127.0.0.1:8080/api/graphql/');
    expect(messages({ apiKey: KEY, domain: 'acme', baseUrl: 'ftp://x' })[0]).toContain('--base-url (BATON_BASE_URL)');
    expect(messages({ apiKey: KEY, domain: 'acme', baseUrl: 'nope' })[0]).toContain('must be an http(s) URL');
  });

  it('marks the key secret and the base URL hidden, with help text', () => {
    const shape = configSchema.shape;
    expect(shape.apiKey.meta()).toMatchObject({ secret: true });
    expect(shape.baseUrl.meta()).toMatchObject({ hidden: true });
    for (const field of [shape.apiKey, shape.domain, shape.baseUrl]) expect(field.description).toBeTruthy();
  });

  it('never echoes the API key in an error', () => {
    const result = parse({ apiKey: 'tg-secret-in-error-check', domain: 'bad domain' });
    expect(JSON.stringify(result.error!.issues)).not.toContain('tg-secret-in-error-check');
  });
});
