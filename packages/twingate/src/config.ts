/**
 * Connector flags. Keys are camelCase; the CLI runner turns `apiKey` into `--api-key` / `BATON_API_KEY`.
 *
 * The domain is the Twingate network name: `acme` for https://acme.twingate.com. People paste the console's
 * address as often as the bare name, so `acme.twingate.com` and `https://acme.twingate.com/` are accepted and
 * normalised to `acme`; anything else is refused with a message that says what to type instead (the Go connector
 * accepted anything and then called `acme.twingate.com.twingate.com`).
 */
import { z } from 'zod';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TWINGATE_HOST = /^([^./]+)\.twingate\.com\.?$/;

export type DomainParse = { ok: true; domain: string } | { ok: false; message: string };

/** `acme`, `acme.twingate.com`, `https://acme.twingate.com/` -> `acme`; anything else is an explanation. */
export function parseDomain(input: string): DomainParse {
  const raw = input.trim();
  const hint = 'the Twingate network name, e.g. `acme` for https://acme.twingate.com';
  if (raw === '') return { ok: false, message: `--domain (BATON_DOMAIN) is required: ${hint}` };

  let host = raw.toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(host);
  if (scheme) {
    if (scheme[1] !== 'https') {
      return {
        ok: false,
        message: `--domain (BATON_DOMAIN) must be ${hint}; got ${JSON.stringify(raw)} (only https:// addresses are accepted)`,
      };
    }
    host = host.slice(scheme[0].length);
  }
  // A single trailing slash is what browsers show; a longer path means the value is not a network address.
  if (host.endsWith('/')) host = host.slice(0, -1);

  const candidate = TWINGATE_HOST.exec(host)?.[1] ?? (host.includes('.') || host.includes('/') ? undefined : host);
  if (candidate !== undefined && LABEL.test(candidate)) return { ok: true, domain: candidate };

  const suggestion = /(?:^|\/\/)([a-z0-9-]+)\.twingate\.com(?:[/:]|$)/.exec(raw.toLowerCase())?.[1];
  return {
    ok: false,
    message:
      `--domain (BATON_DOMAIN) must be ${hint}; got ${JSON.stringify(raw)}` +
      (suggestion && LABEL.test(suggestion) ? ` (did you mean ${JSON.stringify(suggestion)}?)` : ''),
  };
}

export type BaseUrlParse = { ok: true; url: string } | { ok: false; message: string };

/**
 * The hidden `--base-url` override: the GraphQL endpoint to POST to (as the Go connector's `BATON_BASE_URL`).
 * An origin alone (`http://127.0.0.1:8080`) gets the API path appended, so both forms work.
 */
export function parseBaseUrl(input: string): BaseUrlParse {
  const raw = input.trim();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: `--base-url (BATON_BASE_URL) must be an http(s) URL; got ${JSON.stringify(raw)}` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, message: `--base-url (BATON_BASE_URL) must be an http(s) URL; got ${JSON.stringify(raw)}` };
  }
  if (url.username || url.password) {
    return { ok: false, message: '--base-url (BATON_BASE_URL) must not contain credentials; use --api-key' };
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/api/graphql/';
  url.hash = '';
  return { ok: true, url: url.toString() };
}

const requiredString = (flag: string, env: string, what: string) =>
  z.string({
    error: (issue) =>
      issue.input === undefined ? `${flag} (${env}) is required: ${what}` : `${flag} (${env}) must be a string`,
  });

export const configSchema = z.object({
  apiKey: requiredString('--api-key', 'BATON_API_KEY', 'an API token from Settings > API in the Twingate Admin Console')
    .trim()
    .min(1, '--api-key (BATON_API_KEY) is required: an API token from Settings > API in the Twingate Admin Console')
    .describe(
      'Twingate API token (Settings > API > Generate Token): Read only for access reviews, Read & Write to provision',
    )
    .meta({ secret: true }),
  domain: requiredString(
    '--domain',
    'BATON_DOMAIN',
    'the Twingate network name, e.g. `acme` for https://acme.twingate.com',
  )
    .superRefine((value, ctx) => {
      const parsed = parseDomain(value);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
    })
    .overwrite((value) => {
      const parsed = parseDomain(value);
      return parsed.ok ? parsed.domain : value;
    })
    .describe(
      'Twingate network name: `acme` for https://acme.twingate.com (acme.twingate.com and the https URL are accepted too)',
    ),
  baseUrl: z
    .string()
    .superRefine((value, ctx) => {
      const parsed = parseBaseUrl(value);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
    })
    .overwrite((value) => {
      const parsed = parseBaseUrl(value);
      return parsed.ok ? parsed.url : value;
    })
    .optional()
    .describe('Override the Twingate GraphQL endpoint URL (for testing); the domain is then not used to build the URL')
    .meta({ hidden: true }),
});

export type TwingateConfig = z.output<typeof configSchema>;

/** The GraphQL endpoint for a config: the override verbatim, or https://<domain>.twingate.com/api/graphql/. */
export function graphqlEndpoint(config: Pick<TwingateConfig, 'domain' | 'baseUrl'>): string {
  return config.baseUrl ?? `https://${config.domain}.twingate.com/api/graphql/`;
}

/** Admin Console address of the network, for deep links; undefined when the API is overridden (tests, demo). */
export function consoleOrigin(config: Pick<TwingateConfig, 'domain' | 'baseUrl'>): string | undefined {
  return config.baseUrl ? undefined : `https://${config.domain}.twingate.com`;
}
