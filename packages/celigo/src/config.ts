/**
 * Connector flags. Keys are camelCase; the CLI runner turns `celigoAccessToken` into `--celigo-access-token` /
 * `BATON_CELIGO_ACCESS_TOKEN` (the Go connector's names, so existing deployments keep working).
 *
 * Region: the Go connector took exactly `us` or `eu`, while ConductorOne's setup page shows "United States" and
 * "European Union"; both spellings are accepted here, in any case, and anything else is refused with a message that
 * lists them. Celigo's AU and CA data centres are not offered (the Go connector does not offer them either).
 */
import { z } from 'zod';

export type Region = 'us' | 'eu';

/** API origin per region (the client appends `/v1/...`). */
export const REGION_API: Record<Region, string> = {
  us: 'https://api.integrator.io',
  eu: 'https://api.eu.integrator.io',
};

const REGION_NAMES: Record<string, Region> = {
  us: 'us',
  'united states': 'us',
  eu: 'eu',
  'european union': 'eu',
};

export type RegionParse = { ok: true; region: Region } | { ok: false; message: string };

/** `us`, `EU`, `United States`, ` european union ` -> `us` / `eu`; anything else is an explanation. */
export function parseRegion(input: string): RegionParse {
  const key = input.trim().replace(/\s+/g, ' ').toLowerCase();
  const region = REGION_NAMES[key];
  if (region) return { ok: true, region };
  const other = /^(au|ca|australia|canada)$/.test(key)
    ? ' (Celigo data centres other than the United States and the European Union are not supported)'
    : '';
  return {
    ok: false,
    message: `--region (BATON_REGION) must be "us" (or "United States") or "eu" (or "European Union"); got ${JSON.stringify(input)}${other}`,
  };
}

export type BaseUrlParse = { ok: true; url: string } | { ok: false; message: string };

/**
 * The hidden `--base-url` override (the newer Go connector's `base-url`): an API origin used instead of the region's.
 * `/v1` is appended to it like to the region URLs, so a trailing `/v1` given by habit is dropped rather than doubled.
 */
export function parseBaseUrl(input: string): BaseUrlParse {
  const raw = input.trim();
  const bad = `--base-url (BATON_BASE_URL) must be an http(s) URL such as https://api.integrator.io; got ${JSON.stringify(raw)}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: bad };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, message: bad };
  if (url.username || url.password) {
    return {
      ok: false,
      message: '--base-url (BATON_BASE_URL) must not contain credentials; use --celigo-access-token',
    };
  }
  if (url.search || url.hash) {
    return {
      ok: false,
      message: `--base-url (BATON_BASE_URL) must not have a query or fragment; got ${JSON.stringify(raw)}`,
    };
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return { ok: true, url: `${url.origin}${path}` };
}

/** A zod string refined and normalised by a parser that explains what is wrong. */
function parsed<T extends { ok: true } | { ok: false; message: string }>(
  schema: z.ZodString,
  parse: (value: string) => T,
  value: (result: Extract<T, { ok: true }>) => string,
) {
  return schema
    .superRefine((input, ctx) => {
      const result = parse(input);
      if (!result.ok) ctx.addIssue({ code: 'custom', message: (result as { message: string }).message });
    })
    .overwrite((input) => {
      const result = parse(input);
      return result.ok ? value(result as Extract<T, { ok: true }>) : input;
    });
}

const TOKEN_HINT =
  'a Celigo API token with Full access scope (in Celigo: Resources > API tokens > Create API token, created by an account owner or administrator)';

export const configSchema = z.object({
  celigoAccessToken: z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? `--celigo-access-token (BATON_CELIGO_ACCESS_TOKEN) is required: ${TOKEN_HINT}`
          : '--celigo-access-token (BATON_CELIGO_ACCESS_TOKEN) must be a string',
    })
    .trim()
    .min(1, `--celigo-access-token (BATON_CELIGO_ACCESS_TOKEN) is required: ${TOKEN_HINT}`)
    .describe('Celigo API token with Full access scope (Resources > API tokens)')
    .meta({ secret: true }),
  region: parsed(z.string({ error: '--region (BATON_REGION) must be a string' }), parseRegion, (r) => r.region)
    .default('us')
    .describe('Celigo region of the account: us (United States, default) or eu (European Union)'),
  baseUrl: parsed(z.string(), parseBaseUrl, (r) => r.url)
    .optional()
    .describe('Override the Celigo API URL (for testing); /v1 is appended, and --region is then not used')
    .meta({ hidden: true }),
});

export type CeligoConfig = z.output<typeof configSchema>;

/** The API origin the client talks to: the override, else the region's. */
export function apiBaseUrl(config: Pick<CeligoConfig, 'region' | 'baseUrl'>): string {
  return config.baseUrl ?? REGION_API[config.region as Region];
}
