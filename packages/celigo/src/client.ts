/**
 * The Celigo integrator.io API client (REST over the shared HTTP client). Nothing here knows about gRPC or Baton.
 * API facts it relies on are in docs/apis/celigo.md.
 *
 * What it does differently from the Go connector, on purpose:
 * - lists follow the `Link` header's `rel="next"` target, parsed as RFC 8288 says (the Go client used the raw header
 *   text as a URL, so every list stopped with a parse error at page 2), and only `next`, never `prev`;
 * - pages are asked for at 1000 records (`limit`), the most Celigo serves, and handed out in slices of the size the
 *   host asks for (`LinkPager`), so each API page is read once;
 * - a 429 waits for its `Retry-After` and is retried by the HTTP client, 5xx responses to reads and to the
 *   (idempotent) PUT are retried with backoff, and every other failure is an error carrying Celigo's own message;
 * - `updateAshare` sends a complete record (read-modify-write), because PUT replaces the record (see role.ts).
 */
import { Code, ConnectorError, type Logger, type RuntimeStats } from '@baton-ts/shared';
import {
  createHttpClient,
  LinkPager,
  type HttpClient,
  type LinkPageState,
  type LinkSlice,
  type RetryOptions,
} from '@baton-ts/shared/http';

/** Records per API page asked for with `limit` (Celigo's documented page size). */
export const API_PAGE_LIMIT = 1000;

/** Account-wide access levels, lowest first. */
export const ACCESS_LEVELS = ['monitor', 'manage', 'administrator'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export function isAccessLevel(value: unknown): value is AccessLevel {
  return typeof value === 'string' && (ACCESS_LEVELS as readonly string[]).includes(value);
}

export interface IntegrationAccess {
  _integrationId: string;
  accessLevel: string;
}

/** The person an account share is for. */
export interface SharedWithUser {
  _id?: string;
  email?: string;
  name?: string;
  allowedToResetMFA?: boolean;
  /** `not_linked`, `this_account` or `other_account`. */
  accountSSOLinked?: string;
  lastSignIn?: string;
}

/**
 * An account share ("ashare"): one user's access to the account. `_id` is the share's id, not the person's.
 * Fields the connector does not read are kept (`[key: string]: unknown`): a PUT must send them back unchanged.
 */
export interface Ashare {
  _id: string;
  /** `administrator`, `manage`, `monitor`; absent for integration-only users. */
  accessLevel?: string;
  integrationAccessLevel?: IntegrationAccess[];
  accepted?: boolean;
  dismissed?: boolean;
  disabled?: boolean;
  accountSSORequired?: boolean;
  accountMFARequired?: boolean;
  createdAt?: string;
  lastModified?: string;
  lastSignIn?: string;
  sharedWithUser?: SharedWithUser;
  [field: string]: unknown;
}

export interface Integration {
  _id: string;
  name?: string;
  description?: string;
  sandbox?: boolean;
  createdAt?: string;
  lastModified?: string;
  [field: string]: unknown;
}

export interface CeligoClientOptions {
  /** API origin without `/v1`, e.g. https://api.integrator.io. */
  baseUrl: string;
  accessToken: string;
  logger?: Logger;
  stats?: RuntimeStats;
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Injectable for tests (Retry-After waits). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const SERVICE = 'celigo';

/**
 * Fields of a share that Celigo computes or that belong to the person, not the share: they are read, never written
 * back (Celigo answers 400 to a PUT that echoes `userType`).
 */
export const READ_ONLY_SHARE_FIELDS: ReadonlySet<string> = new Set([
  '_id',
  '_sharedWithUserId',
  'sharedWithUser',
  'userType',
  'accepted',
  'dismissed',
  'createdAt',
  'lastModified',
  'lastSignIn',
]);

export class CeligoClient {
  readonly baseUrl: string;
  private readonly http: HttpClient;
  private readonly pager: LinkPager;

  constructor(options: CeligoClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.http = createHttpClient({
      service: SERVICE,
      baseURL: this.baseUrl,
      secretHeaders: { Authorization: `Bearer ${options.accessToken}` },
      timeoutMs: options.timeoutMs,
      retry: options.retry,
      stats: options.stats,
      logger: options.logger,
      sleep: options.sleep,
    });
    this.pager = new LinkPager({ http: this.http, baseUrl: this.baseUrl, service: SERVICE });
  }

  /** One cheap read that needs what a sync needs: a valid token allowed to read the account's users. */
  async validate(signal?: AbortSignal): Promise<void> {
    const response = await this.http.get<unknown>('/v1/ashares', { query: { limit: 1 }, signal });
    if (response.status !== 204 && response.data !== undefined && !Array.isArray(response.data)) {
      throw new ConnectorError(
        Code.FailedPrecondition,
        `${SERVICE}: GET /v1/ashares did not answer with a list of users (HTTP ${response.status}): this does not look like the Celigo API`,
      );
    }
  }

  /** The account's users (shares), `size` at a time. The account owner is not among them. */
  listAshares(state: LinkPageState | undefined, size: number, signal?: AbortSignal): Promise<LinkSlice<Ashare>> {
    return this.list<Ashare>('/v1/ashares', state, size, signal, isAshare);
  }

  listIntegrations(
    state: LinkPageState | undefined,
    size: number,
    signal?: AbortSignal,
  ): Promise<LinkSlice<Integration>> {
    return this.list<Integration>('/v1/integrations', state, size, signal, isIntegration);
  }

  /**
   * The users of one integration, each with `accessLevel` = the level they hold on it. NotFound when the integration
   * does not exist (any more).
   */
  listIntegrationAshares(
    integrationId: string,
    state: LinkPageState | undefined,
    size: number,
    signal?: AbortSignal,
  ): Promise<LinkSlice<Ashare>> {
    return this.list<Ashare>(
      `/v1/integrations/${encodeURIComponent(integrationId)}/ashares`,
      state,
      size,
      signal,
      isAshare,
    );
  }

  /** One share, or null when there is none with this id. */
  async getAshare(id: string, signal?: AbortSignal): Promise<Ashare | null> {
    const response = await this.http.get<unknown>(`/v1/ashares/${encodeURIComponent(id)}`, {
      signal,
      acceptStatus: [404],
    });
    if (response.status === 404) return null;
    if (!isAshare(response.data)) throw malformed(`GET /v1/ashares/${id}`, 'a user record');
    return response.data;
  }

  async getIntegration(id: string, signal?: AbortSignal): Promise<Integration | null> {
    const response = await this.http.get<unknown>(`/v1/integrations/${encodeURIComponent(id)}`, {
      signal,
      acceptStatus: [404],
    });
    if (response.status === 404) return null;
    if (!isIntegration(response.data)) throw malformed(`GET /v1/integrations/${id}`, 'an integration');
    return response.data;
  }

  /** Replaces a share with `body` (PUT semantics: what the body omits is cleared; see `writableShare`). */
  async updateAshare(id: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
    await this.http.put(`/v1/ashares/${encodeURIComponent(id)}`, body, { signal, responseType: 'text' });
  }

  /** Forgets partly served API pages (end of a sync). */
  clear(): void {
    this.pager.clear();
  }

  private async list<T extends { _id: string }>(
    path: string,
    state: LinkPageState | undefined,
    size: number,
    signal: AbortSignal | undefined,
    valid: (value: unknown) => value is T,
  ): Promise<LinkSlice<T>> {
    const slice = await this.pager.slice<unknown>(`${path}?limit=${API_PAGE_LIMIT}`, state, size, { signal });
    const bad = slice.items.findIndex((item) => !valid(item));
    if (bad >= 0) throw malformed(`GET ${path}`, 'records with an `_id`');
    return slice as LinkSlice<T>;
  }
}

/**
 * The body of a PUT that changes nothing but what `changes` says: every field of the share as read, minus the
 * read-only ones, plus the changes. Celigo's PUT replaces the record, so sending less would clear per-integration
 * access, SSO/MFA requirements and the other flags.
 */
export function writableShare(share: Ashare, changes: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(share)) {
    if (!READ_ONLY_SHARE_FIELDS.has(key) && value !== undefined) body[key] = value;
  }
  return { ...body, ...changes };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAshare(value: unknown): value is Ashare {
  return isObject(value) && typeof value._id === 'string' && value._id !== '';
}

function isIntegration(value: unknown): value is Integration {
  return isObject(value) && typeof value._id === 'string' && value._id !== '';
}

function malformed(request: string, expected: string): ConnectorError {
  return new ConnectorError(Code.Unknown, `${SERVICE}: ${request}: unexpected response, expected ${expected}`);
}
