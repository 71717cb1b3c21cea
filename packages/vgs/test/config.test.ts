/** Flags: the Go connector's names, the organization id's shape, the optional --vault, the hidden URL overrides. */
import { describe, expect, it } from 'vitest';
import { configSchema, parseHttpUrl, parseOrganizationId } from '../src/config.js';

const base = {
  serviceAccountClientId: 'c1integration-abc',
  serviceAccountClientSecret: 'secret-value',
  organizationId: 'ACsUNAGQN3Lv875yyqZiLQ2s',
};

const messages = (input: Record<string, unknown>) => {
  const result = configSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => i.message);
};

describe('config', () => {
  it('accepts the three required flags; --vault is optional and ignored, URLs default to VGS', () => {
    expect(configSchema.parse(base)).toEqual(base);
    expect(configSchema.parse({ ...base, vault: 'tnto1wfx2gp' }).vault).toBe('tnto1wfx2gp');
    expect(configSchema.parse({ ...base, organizationId: '  ACsUNAGQN3Lv875yyqZiLQ2s ' }).organizationId).toBe(
      'ACsUNAGQN3Lv875yyqZiLQ2s',
    );
  });

  it('names the flag and variable of every missing value', () => {
    const missing = messages({});
    expect(missing).toEqual([
      expect.stringContaining('--service-account-client-id (BATON_SERVICE_ACCOUNT_CLIENT_ID) is required'),
      expect.stringContaining('--service-account-client-secret (BATON_SERVICE_ACCOUNT_CLIENT_SECRET) is required'),
      expect.stringContaining('--organization-id (BATON_ORGANIZATION_ID) is required'),
    ]);
    expect(messages({ ...base, serviceAccountClientSecret: '   ' })).toEqual([
      expect.stringContaining('--service-account-client-secret (BATON_SERVICE_ACCOUNT_CLIENT_SECRET) is required'),
    ]);
  });

  it('an organization id that does not look like AC… is refused with where to find it', () => {
    for (const bad of ['tnto1wfx2gp', 'AC-123', 'org_123', 'https://dashboard.verygoodsecurity.com']) {
      const [message] = messages({ ...base, organizationId: bad });
      expect(message).toContain('--organization-id (BATON_ORGANIZATION_ID) must look like AC…');
      expect(message).toContain('Organization Settings');
      expect(message).toContain(JSON.stringify(bad));
    }
    expect(parseOrganizationId('acsUNAGQN3Lv875yyqZiLQ2s')).toMatchObject({
      ok: false,
      message: expect.stringContaining('capital "AC"'),
    });
    expect(messages({ ...base, organizationId: '' })).toEqual([
      expect.stringContaining('--organization-id (BATON_ORGANIZATION_ID) is required'),
    ]);
  });

  it('the hidden URL overrides must be http(s) URLs without credentials; a trailing slash is dropped', () => {
    expect(configSchema.parse({ ...base, baseUrl: 'http://127.0.0.1:8080/' }).baseUrl).toBe('http://127.0.0.1:8080');
    expect(messages({ ...base, tokenUrl: 'ftp://x' })).toEqual([
      '--token-url (BATON_TOKEN_URL) must be an http(s) URL; got "ftp://x"',
    ]);
    expect(parseHttpUrl('https://u:p@host', '--base-url', 'BATON_BASE_URL')).toEqual({
      ok: false,
      message: '--base-url (BATON_BASE_URL) must not contain credentials',
    });
  });

  it('marks the secret and the hidden flags', () => {
    const shape = configSchema.shape;
    expect(shape.serviceAccountClientSecret.meta()).toMatchObject({ secret: true });
    expect(shape.baseUrl.meta()).toMatchObject({ hidden: true });
    expect(shape.tokenUrl.meta()).toMatchObject({ hidden: true });
    expect(shape.vault.meta()?.hidden).toBeUndefined();
  });
});
