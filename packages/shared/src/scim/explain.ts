/**
 * Failures a user will hit, explained in the connector's own words: a rejected token (401), a token without the
 * right scope or SCIM switched off (403), a URL that does not lead to a SCIM API (404, DNS, refused connection), and
 * a server that cannot list users. Each connector supplies its wording; the rules are shared.
 */
import { Code } from '../sdk/errors.js';
import { ScimError } from './errors.js';

export interface ScimWording {
  /** The application, e.g. "RudderStack". */
  product: string;
  /** The URL flag with its variable, e.g. "--scim-base-url (BATON_SCIM_BASE_URL)". */
  urlFlag: string;
  /** The token flag with its variable, e.g. "--scim-token (BATON_SCIM_TOKEN)". */
  tokenFlag: string;
  /** What to do about a 401, completing "<product> rejected the SCIM token: ...". */
  unauthenticated: string;
  /** What to do about a 403, completing "<product> refused the SCIM request (HTTP 403): ...". */
  permissionDenied: string;
  /** What the URL should look like, completing "check <urlFlag>: ...". */
  urlHint: string;
}

/** Advice for failures of any request: 401 and 403 mean the same thing wherever they happen. */
export function scimErrorExplainer(service: string, wording: ScimWording): (err: ScimError) => ScimError {
  return (err) => {
    if (err.cause instanceof ScimError) return err; // already explained
    if (err.status === 401) {
      return err.withAdvice(
        Code.Unauthenticated,
        `${service}: ${wording.product} rejected the SCIM token: check ${wording.tokenFlag}; ${wording.unauthenticated}`,
      );
    }
    if (err.status === 403) {
      return err.withAdvice(
        Code.PermissionDenied,
        `${service}: ${wording.product} refused the SCIM request (HTTP 403): ${wording.permissionDenied}`,
      );
    }
    return err;
  };
}

/** Transport errors that mean "nothing answers at this URL" (a wrong host, or nothing listening). */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Advice for the first request of a run (Validate, `GET /Users?count=1`): where a wrong URL or an unsupported
 * listing shows.
 */
export function explainScimValidation(err: unknown, service: string, wording: ScimWording, url: string): unknown {
  if (!(err instanceof ScimError) || err.cause instanceof ScimError) return err;
  const where = `the SCIM API at ${url}`;
  if (err.errorCode !== undefined && UNREACHABLE.has(err.errorCode)) {
    // Nothing answers there: the same code as every other connector's unreachable API; the transport error already
    // names the host and the flag, so only the URL's expected shape is added.
    return err.withAdvice(Code.FailedPrecondition, `${service}: ${where} could not be reached; ${wording.urlHint}`);
  }
  if (err.status === 404) {
    return err.withAdvice(
      Code.NotFound,
      `${service}: ${where} has no /Users: check ${wording.urlFlag}; ${wording.urlHint}`,
    );
  }
  if (err.status === 400 || err.status === 405 || err.status === 501) {
    return err.withAdvice(
      Code.FailedPrecondition,
      `${service}: ${where} does not list users (GET /Users answered HTTP ${err.status}), so they cannot be synced; ` +
        `check ${wording.urlFlag} (${wording.urlHint}) and that SCIM listing is enabled for your ${wording.product} organization`,
    );
  }
  if (err.status !== undefined && err.status >= 200 && err.status < 400) {
    return err.withAdvice(
      Code.FailedPrecondition,
      `${service}: ${where} did not answer like a SCIM server: check ${wording.urlFlag}; ${wording.urlHint}`,
    );
  }
  return err;
}
