/**
 * Config fields every SCIM connector has: the SCIM base URL and the bearer token, with messages that name the flag
 * and its BATON_ variable.
 *
 * The URL must be https. Plain http is accepted for loopback hosts only (127.0.0.0/8, ::1, localhost): that is where
 * the bundled simulator listens for `--demo` and the tests, and a token sent to loopback never crosses a network.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

export interface FlagNames {
  /** e.g. `--scim-base-url`. */
  flag: string;
  /** e.g. `BATON_SCIM_BASE_URL`. */
  env: string;
}

export type ScimUrlParse = { ok: true; url: string } | { ok: false; message: string };

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** An https URL (http on loopback), without credentials, query or fragment; trailing slashes dropped. */
export function parseScimUrl(input: string, names: FlagNames, example: string): ScimUrlParse {
  const raw = input.trim();
  const label = `${names.flag} (${names.env})`;
  const got = `got ${JSON.stringify(raw)}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: `${label} must be an https URL such as ${example}; ${got}` };
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return {
      ok: false,
      message: `${label} must be an https URL (http is accepted only for 127.0.0.1 and localhost, for local testing); ${got}`,
    };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, message: `${label} must be an https URL such as ${example}; ${got}` };
  }
  if (url.username || url.password) {
    return { ok: false, message: `${label} must not contain credentials; the token goes in its own flag` };
  }
  if (url.search || url.hash) {
    return { ok: false, message: `${label} must not contain a query string or fragment; ${got}` };
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return { ok: true, url: url.toString().replace(/\/+$/, '') };
}

/** A required URL flag, validated and normalised by parseScimUrl. */
export function scimUrlField(names: FlagNames, options: { what: string; example: string; default?: string }) {
  const base = z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? `${names.flag} (${names.env}) is required: ${options.what}`
          : `${names.flag} (${names.env}) must be a string`,
    })
    .superRefine((value, ctx) => {
      const parsed = parseScimUrl(value, names, options.example);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
    })
    .overwrite((value) => {
      const parsed = parseScimUrl(value, names, options.example);
      return parsed.ok ? parsed.url : value;
    });
  return (options.default !== undefined ? base.default(options.default) : base).describe(options.what);
}

/**
 * A required secret token. A pasted `Bearer ` prefix is dropped (the client adds it), so copying the header value
 * works as well as copying the token.
 */
export function scimTokenField(names: FlagNames, what: string) {
  const required = `${names.flag} (${names.env}) is required: ${what}`;
  return z
    .string({
      error: (issue) => (issue.input === undefined ? required : `${names.flag} (${names.env}) must be a string`),
    })
    .trim()
    .overwrite((value) => value.replace(/^bearer(\s+|$)/i, ''))
    .refine((value) => value.length > 0, required)
    .describe(what)
    .meta({ secret: true });
}
