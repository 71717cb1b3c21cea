/**
 * Connector flags. Keys are camelCase; the CLI runner turns `organizationId` into `--organization-id` /
 * `BATON_ORGANIZATION_ID`. The names are the Go connector's, so existing deployments keep working.
 */
import { z } from 'zod';

/** VGS accounts API (organizations, members, invites, vaults). */
export const DEFAULT_ACCOUNTS_URL = 'https://accounts.apps.verygoodsecurity.com';
/** VGS's Keycloak token endpoint (realm `vgs`). */
export const DEFAULT_TOKEN_URL = 'https://auth.verygoodsecurity.com/auth/realms/vgs/protocol/openid-connect/token';

/** `AC` followed by letters and digits (22 base58 characters in the ids seen so far; a little slack either way). */
const ORGANIZATION_ID = /^AC[A-Za-z0-9]{16,40}$/;
const ORG_HINT = 'the Organization ID from Organization Settings in the VGS Dashboard, e.g. ACsUNAGQN3Lv875yyqZiLQ2s';

export type ParseResult = { ok: true; value: string } | { ok: false; message: string };

export function parseOrganizationId(input: string): ParseResult {
  const raw = input.trim();
  if (raw === '') return { ok: false, message: `--organization-id (BATON_ORGANIZATION_ID) is required: ${ORG_HINT}` };
  if (ORGANIZATION_ID.test(raw)) return { ok: true, value: raw };
  const hint = /^ac/i.test(raw) && !raw.startsWith('AC') ? ' (it starts with a capital "AC")' : '';
  return {
    ok: false,
    message: `--organization-id (BATON_ORGANIZATION_ID) must look like AC… (${ORG_HINT}); got ${JSON.stringify(raw)}${hint}`,
  };
}

/** An http(s) URL without credentials; `flag`/`env` name the setting in the message. */
export function parseHttpUrl(input: string, flag: string, env: string): ParseResult {
  const raw = input.trim();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: `${flag} (${env}) must be an http(s) URL; got ${JSON.stringify(raw)}` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, message: `${flag} (${env}) must be an http(s) URL; got ${JSON.stringify(raw)}` };
  }
  if (url.username || url.password) {
    return { ok: false, message: `${flag} (${env}) must not contain credentials` };
  }
  url.hash = '';
  return { ok: true, value: url.toString().replace(/\/+$/, '') };
}

const stringFlag = (flag: string, env: string, what: string) =>
  z.string({
    error: (issue) =>
      issue.input === undefined ? `${flag} (${env}) is required: ${what}` : `${flag} (${env}) must be a string`,
  });

const requiredString = (flag: string, env: string, what: string) =>
  stringFlag(flag, env, what).trim().min(1, `${flag} (${env}) is required: ${what}`);

/** A string refined and normalised by `parse`. */
const parsed = (schema: z.ZodString, parse: (value: string) => ParseResult) =>
  schema
    .superRefine((value, ctx) => {
      const result = parse(value);
      if (!result.ok) ctx.addIssue({ code: 'custom', message: result.message });
    })
    .overwrite((value) => {
      const result = parse(value);
      return result.ok ? result.value : value;
    });

const SERVICE_ACCOUNT_HINT = 'from the service account created under Organization Settings > Service Accounts';

export const configSchema = z.object({
  serviceAccountClientId: requiredString(
    '--service-account-client-id',
    'BATON_SERVICE_ACCOUNT_CLIENT_ID',
    `the Client ID ${SERVICE_ACCOUNT_HINT}`,
  ).describe('Client ID of the VGS service account (Organization Settings > Service Accounts)'),
  serviceAccountClientSecret: requiredString(
    '--service-account-client-secret',
    'BATON_SERVICE_ACCOUNT_CLIENT_SECRET',
    `the Client Secret ${SERVICE_ACCOUNT_HINT} (shown once, when it is created)`,
  )
    .describe('Client secret of the VGS service account')
    .meta({ secret: true }),
  organizationId: parsed(
    stringFlag('--organization-id', 'BATON_ORGANIZATION_ID', ORG_HINT),
    parseOrganizationId,
  ).describe('VGS organization ID (AC…), from Organization Settings in the VGS Dashboard'),
  vault: z
    .string()
    .optional()
    .describe(
      'Accepted for compatibility with the Go connector and not used: every vault of the organization is synced',
    ),
  baseUrl: parsed(z.string(), (v) => parseHttpUrl(v, '--base-url', 'BATON_BASE_URL'))
    .optional()
    .describe(`Override the VGS accounts API base URL (default ${DEFAULT_ACCOUNTS_URL}; for testing)`)
    .meta({ hidden: true }),
  tokenUrl: parsed(z.string(), (v) => parseHttpUrl(v, '--token-url', 'BATON_TOKEN_URL'))
    .optional()
    .describe(`Override the OAuth2 token URL (default ${DEFAULT_TOKEN_URL}; for testing)`)
    .meta({ hidden: true }),
});

export type VgsConfig = z.output<typeof configSchema>;
