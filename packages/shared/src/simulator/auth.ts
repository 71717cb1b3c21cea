import type { AuthHook, SimResponse } from './types.js';

export interface HeaderKeyAuthOptions {
  /** Header carrying the credential; matched case-insensitively (e.g. `X-API-KEY`). */
  header: string;
  /** Accepted credentials -> identity label used in logs and rate-limit keys (never the credential itself). */
  keys: Record<string, string> | (() => Record<string, string>);
  /** Optional scheme prefix to strip, e.g. `Bearer` for `Authorization: Bearer <token>`. */
  scheme?: string;
  /** Response for a missing or unknown credential (default 401 `{"error":"unauthorized"}`). */
  failure?: SimResponse;
}

/**
 * Auth hook for "a secret in a header" schemes (API keys, bearer tokens). Node lower-cases incoming header
 * names, so `X-API-KEY`, `X-Api-Key` and `x-api-key` all match.
 */
export function headerKeyAuth(options: HeaderKeyAuthOptions): AuthHook {
  const header = options.header.toLowerCase();
  const failure = options.failure ?? { status: 401, json: { error: 'unauthorized' } };
  return (req) => {
    const raw = req.headers[header];
    let value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined && options.scheme) {
      const prefix = `${options.scheme.toLowerCase()} `;
      value = value.toLowerCase().startsWith(prefix) ? value.slice(prefix.length).trim() : undefined;
    }
    const keys = typeof options.keys === 'function' ? options.keys() : options.keys;
    const identity = value !== undefined && Object.prototype.hasOwnProperty.call(keys, value) ? keys[value] : undefined;
    return identity === undefined ? { response: failure } : { identity };
  };
}
