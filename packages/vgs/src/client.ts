/**
 * The VGS accounts API client: JSON:API over the shared HTTP client, with client-credentials tokens from VGS's
 * Keycloak. Nothing here knows about gRPC or Baton. What the API looks like, and which parts of it are verified,
 * is described in docs/apis/vgs.md.
 *
 * What it does differently from the Go connector, on purpose:
 * - the token is renewed before it expires and once more on a 401 (the Go connector fetched one per process);
 * - lists follow JSON:API `links.next` (the Go connector read the first page only) and work when there is none;
 * - a 403 names the scope the service account lacks, and every error carries VGS's own `detail`;
 * - lists read only what the connector uses, and pages a later RPC needs are kept in a bounded cache
 *   (`pages`, see response-cache in @baton-ts/shared/http) instead of being read twice.
 */
import { Code, ConnectorError, permissionDenied, type Logger, type RuntimeStats } from '@baton-ts/shared';
import {
  ClientCredentialsTokenSource,
  HttpClientError,
  JSON_API_MEDIA_TYPE,
  ResponseCache,
  createHttpClient,
  jsonApiData,
  jsonApiNextLink,
  withBearerToken,
  type HttpClient,
  type LinkedPage,
  type RetryOptions,
} from '@baton-ts/shared/http';

export const ORG_ROLES = ['user', 'admin'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];
export const VAULT_ROLES = ['read', 'write', 'admin'] as const;
export type VaultRole = (typeof VAULT_ROLES)[number];

/** VGS invitations expire seven days after they are sent. */
export const INVITATION_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** Service accounts are VGS "technical users" whose email is `<clientId>@vgs.dev`. */
export const SERVICE_ACCOUNT_DOMAIN = 'vgs.dev';

export function isServiceAccountEmail(email: string | undefined): boolean {
  return !!email && email.trim().toLowerCase().endsWith(`@${SERVICE_ACCOUNT_DOMAIN}`);
}

/** The client id of a service account from its `<clientId>@vgs.dev` email. */
export function serviceAccountClientId(email: string): string {
  const trimmed = email.trim();
  return trimmed.slice(0, trimmed.lastIndexOf('@'));
}

export const SCOPES = {
  organizationsRead: 'organizations:read',
  vaultsRead: 'vaults:read',
  usersRead: 'organization-users:read',
  usersWrite: 'organization-users:write',
  /** Assumed: the scope the service-accounts listing needs is not documented (docs/apis/vgs.md). */
  serviceAccountsRead: 'service-accounts:read',
} as const;

/** What to tell an operator whose service account lacks a scope. */
export const SCOPE_ADVICE =
  'VGS scopes are fixed when a service account is created: create one with organizations:read, vaults:read and ' +
  'organization-users:read (and organization-users:write to provision), see the README';

// ---------------------------------------------------------------------------------------------------------------
// Every endpoint the connector calls, in one place. "verified": used by the Go connector or an official VGS client
// with this method, path and shape. "assumed": needed for the seed features, never seen in use; the most plausible
// shape (modelled on the verified vault-member endpoints) is used here and in the simulator, nowhere else.

interface Endpoint {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Scope VGS checks; named in errors when the API answers 403. */
  scope: string;
  verified: boolean;
}

const ENDPOINTS = {
  /** GET /organizations: every organization the token can see (not only the configured one). */
  organizations: { method: 'GET', scope: SCOPES.organizationsRead, verified: true },
  /** GET /organizations/{org}/members: members with `role` (admin/user); pending invitations are not included. */
  members: { method: 'GET', scope: SCOPES.usersRead, verified: true },
  /** GET /organizations/{org}/invites: invitations, expired ones included (`invite_status` EXPIRED). */
  invites: { method: 'GET', scope: SCOPES.usersRead, verified: true },
  /** GET /vaults: every vault the token can see, each with `relationships.organization`. */
  vaults: { method: 'GET', scope: SCOPES.vaultsRead, verified: true },
  /** GET /vaults/{identifier}/members: users and service accounts with their vault role. */
  vaultMembers: { method: 'GET', scope: SCOPES.usersRead, verified: true },
  /** PUT /vaults/{identifier}/members/{userId} `{data:{attributes:{role}}}` → 204; adds or changes the role. */
  setVaultMemberRole: { method: 'PUT', scope: SCOPES.usersWrite, verified: true },
  /** DELETE /vaults/{identifier}/members/{userId} → 204. */
  removeVaultMember: { method: 'DELETE', scope: SCOPES.usersWrite, verified: true },
  /**
   * GET /organizations/{org}/service-accounts. Path verified (vgs-cli); the answer is not a JSON:API list but
   * `{data:{attributes:{service_accounts:[{client_id, name, vaults, scopes, created_at}]}}}` (item fields assumed),
   * and the scope is assumed.
   */
  serviceAccounts: { method: 'GET', scope: SCOPES.serviceAccountsRead, verified: false },
  /** Assumed: PUT /organizations/{org}/members/{userId} `{data:{attributes:{role}}}` → 204, like the vault PUT. */
  setMemberRole: { method: 'PUT', scope: SCOPES.usersWrite, verified: false },
  /** Assumed: DELETE /organizations/{org}/members/{userId} → 204 (removes the user from the organization). */
  removeMember: { method: 'DELETE', scope: SCOPES.usersWrite, verified: false },
  /**
   * Assumed: POST /organizations/{org}/invites `{data:{attributes:{user_email, role, vaults:[{id, role}]}}}` → 201
   * with the invitation as in the list (an answer without a body is tolerated: the invitation is then read back).
   */
  createInvite: { method: 'POST', scope: SCOPES.usersWrite, verified: false },
  /** Assumed: DELETE /organizations/{org}/invites/{inviteId} → 204 (cancels a pending invitation). */
  cancelInvite: { method: 'DELETE', scope: SCOPES.usersWrite, verified: false },
} satisfies Record<string, Endpoint>;

type EndpointName = keyof typeof ENDPOINTS;

// ---------------------------------------------------------------------------------------------------------------
// Records, as the connector uses them.

export interface VgsOrganization {
  id: string;
  name: string;
  state?: string;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface VgsMember {
  id: string;
  name: string;
  email: string;
  /** admin or user (kept as sent: `member` is read as `user` by the org syncer). */
  role: string;
  createdAt?: Date;
  updatedAt?: Date;
  lastLogin?: Date;
  ssoId?: string;
}

export interface VgsInvitation {
  inviteId: string;
  email: string;
  invitedBy: string;
  role: string;
  /** As sent (PENDING, EXPIRED, ...); may be empty. */
  status: string;
  createdAt?: Date;
  /** `expires_at` when sent, else seven days after `created_at`. */
  expiresAt?: Date;
  vaults: Array<{ id: string; role: string }>;
}

export interface VgsVault {
  /** The internal id; the connector identifies vaults by `identifier`, as the API paths do. */
  id: string;
  identifier: string;
  name: string;
  environment: string;
  /** From `relationships.organization.data.id`; undefined when the API did not say. */
  organizationId?: string;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface VgsVaultMember {
  id: string;
  email: string;
  role: string;
}

export interface VgsServiceAccount {
  clientId: string;
  name: string;
  createdAt?: Date;
  vaults: string[];
  scopes: string[];
}

export interface InviteRequest {
  email: string;
  role: OrgRole;
  vaults: Array<{ id: string; role: VaultRole }>;
}

/** `fresh`: always read the API (and keep the page); `cached`: use a page kept earlier when there is one. */
export type PageMode = 'fresh' | 'cached';

export interface VgsClientOptions {
  accountsUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  organizationId: string;
  logger?: Logger;
  stats?: RuntimeStats;
  timeoutMs?: number;
  retry?: RetryOptions;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock for token renewal and invitation expiry (tests). */
  now?: () => number;
  /** Upper bound of the page cache, in records (default 500,000). */
  cacheWeight?: number;
}

const CREDENTIALS_HINT =
  'check --service-account-client-id (BATON_SERVICE_ACCOUNT_CLIENT_ID) and --service-account-client-secret ' +
  '(BATON_SERVICE_ACCOUNT_CLIENT_SECRET)';

// ---------------------------------------------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
}

/** VGS timestamps, with or without a zone (`2024-03-14T21:36:14` is UTC). */
export function parseVgsTime(value: unknown): Date | undefined {
  const text = str(value);
  if (!text) return undefined;
  const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`;
  const date = new Date(zoned);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function attributesOf(item: unknown): Record<string, unknown> {
  return isObject(item) && isObject(item.attributes) ? item.attributes : {};
}

function toOrganization(item: unknown): VgsOrganization | undefined {
  const a = attributesOf(item);
  const id = isObject(item) ? str(item.id) : '';
  if (!id) return undefined;
  return {
    id,
    name: str(a.name),
    state: str(a.state) || undefined,
    createdAt: parseVgsTime(a.created_at),
    updatedAt: parseVgsTime(a.updated_at),
  };
}

function toMember(item: unknown): VgsMember | undefined {
  const a = attributesOf(item);
  // The top-level id is the user id the Go connector used for users; attributes.id is the same user id.
  const id = (isObject(item) ? str(item.id) : '') || str(a.id);
  if (!id) return undefined;
  return {
    id,
    name: str(a.name),
    email: str(a.email_address) || str(a.email),
    role: str(a.role).toLowerCase(),
    createdAt: parseVgsTime(a.created_at),
    updatedAt: parseVgsTime(a.updated_at),
    lastLogin: parseVgsTime(a.last_login),
    ssoId: str(a.sso_id) || undefined,
  };
}

function toInvitation(item: unknown): VgsInvitation | undefined {
  const a = attributesOf(item);
  const inviteId = str(a.invite_id) || (isObject(item) ? str(item.id) : '');
  if (!inviteId) return undefined;
  const createdAt = parseVgsTime(a.created_at);
  const vaults = Array.isArray(a.vaults)
    ? a.vaults.filter(isObject).map((v) => ({ id: str(v.id) || str(v.identifier), role: str(v.role) }))
    : [];
  return {
    inviteId,
    email: str(a.user_email) || str(a.email),
    invitedBy: str(a.invited_by),
    role: str(a.role).toLowerCase(),
    status: str(a.invite_status).toUpperCase(),
    createdAt,
    expiresAt:
      parseVgsTime(a.expires_at) ?? (createdAt ? new Date(createdAt.getTime() + INVITATION_LIFETIME_MS) : undefined),
    vaults: vaults.filter((v) => v.id),
  };
}

function toVault(item: unknown): VgsVault | undefined {
  const a = attributesOf(item);
  const identifier = str(a.identifier);
  if (!identifier) return undefined;
  const rel = isObject(item) && isObject(item.relationships) ? item.relationships : {};
  const org = isObject(rel.organization) && isObject(rel.organization.data) ? rel.organization.data : {};
  return {
    id: isObject(item) ? str(item.id) : '',
    identifier,
    name: str(a.name),
    environment: str(a.environment),
    organizationId: str(org.id) || undefined,
    createdAt: parseVgsTime(a.created_at),
    updatedAt: parseVgsTime(a.updated_at),
  };
}

function toVaultMember(item: unknown): VgsVaultMember | undefined {
  const a = attributesOf(item);
  // The Go connector used attributes.id as the grant principal; the top-level id is the same user id.
  const id = str(a.id) || (isObject(item) ? str(item.id) : '');
  if (!id) return undefined;
  return { id, email: str(a.email) || str(a.email_address), role: str(a.role).toLowerCase() };
}

function toServiceAccount(item: unknown): VgsServiceAccount | undefined {
  // Items are plain objects; a JSON:API resource object (attributes nested) is accepted too.
  const a = isObject(item) && isObject(item.attributes) ? item.attributes : isObject(item) ? item : {};
  const clientId = str(a.client_id) || str(a.clientId);
  if (!clientId) return undefined;
  const names = (list: unknown, key: string) =>
    Array.isArray(list) ? list.map((v) => (isObject(v) ? str(v[key]) : str(v))).filter(Boolean) : [];
  return {
    clientId,
    name: str(a.name),
    createdAt: parseVgsTime(a.created_at),
    vaults: names(a.vaults, 'id'),
    scopes: names(a.scopes, 'name'),
  };
}

// ---------------------------------------------------------------------------------------------------------------

export class VgsClient {
  readonly organizationId: string;
  readonly tokens: ClientCredentialsTokenSource;
  /** Pages a later RPC of the same sync needs (see the module comment). */
  readonly pages: ResponseCache<LinkedPage<unknown>>;
  private readonly http: HttpClient;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly logger?: Logger;
  private readonly now: () => number;

  constructor(options: VgsClientOptions) {
    const base = new URL(options.accountsUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.organizationId = options.organizationId;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    const common = {
      service: 'vgs',
      timeoutMs: options.timeoutMs,
      retry: options.retry,
      stats: options.stats,
      logger: options.logger,
      sleep: options.sleep,
    };
    this.tokens = new ClientCredentialsTokenSource({
      ...common,
      tokenUrl: options.tokenUrl,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      // VGS issues 20-minute tokens; without expires_in, assume less.
      defaultLifetimeSeconds: 300,
      credentialsHint: CREDENTIALS_HINT,
      now: this.now,
    });
    this.http = withBearerToken(
      createHttpClient({
        ...common,
        baseURL: this.origin,
        headers: { Accept: JSON_API_MEDIA_TYPE },
      }),
      this.tokens,
    );
    this.pages = new ResponseCache({ maxWeight: options.cacheWeight, now: this.now });
  }

  /** The scopes of the current token, when the token endpoint listed them. */
  async scopes(signal?: AbortSignal): Promise<ReadonlySet<string> | undefined> {
    return (await this.tokens.token(signal)).scopes;
  }

  /**
   * PERMISSION_DENIED naming `scope` when the token lists its scopes and `scope` is not among them, before any
   * request is made. Checked for the organization-users scopes only, as the Go connector did: whether tokens list
   * the other scopes is not known, and VGS's own 403 names them anyway.
   */
  async requireScope(scope: string, purpose: string, signal?: AbortSignal): Promise<void> {
    const scopes = await this.scopes(signal);
    if (scopes && !scopes.has(scope)) {
      throw permissionDenied(
        `vgs: the service account's token lacks the ${scope} scope, needed to ${purpose}. ${SCOPE_ADVICE}`,
      );
    }
  }

  /** Whether the current time is past `date`. */
  isPast(date: Date | undefined): boolean {
    return date !== undefined && date.getTime() <= this.now();
  }

  // -- reads ------------------------------------------------------------------------------------------------------

  organizationsPage(
    url: string | undefined,
    mode: PageMode,
    signal?: AbortSignal,
  ): Promise<LinkedPage<VgsOrganization>> {
    return this.listPage('organizations', `${this.basePath}/organizations`, url, mode, toOrganization, signal);
  }

  /** Every organization the token can see, all pages. */
  async organizations(mode: PageMode, signal?: AbortSignal): Promise<VgsOrganization[]> {
    return this.all((url, m) => this.organizationsPage(url, m, signal), mode);
  }

  membersPage(url: string | undefined, mode: PageMode, signal?: AbortSignal): Promise<LinkedPage<VgsMember>> {
    return this.listPage('members', `${this.orgPath()}/members`, url, mode, toMember, signal);
  }

  invitesPage(url: string | undefined, mode: PageMode, signal?: AbortSignal): Promise<LinkedPage<VgsInvitation>> {
    return this.listPage('invites', `${this.orgPath()}/invites`, url, mode, toInvitation, signal);
  }

  vaultsPage(url: string | undefined, mode: PageMode, signal?: AbortSignal): Promise<LinkedPage<VgsVault>> {
    return this.listPage('vaults', `${this.basePath}/vaults`, url, mode, toVault, signal);
  }

  vaultMembersPage(
    identifier: string,
    url: string | undefined,
    mode: PageMode,
    signal?: AbortSignal,
  ): Promise<LinkedPage<VgsVaultMember>> {
    return this.listPage('vaultMembers', this.vaultMembersPath(identifier), url, mode, toVaultMember, signal);
  }

  /** Every page of a list, from the first. */
  async all<T>(
    page: (url: string | undefined, mode: PageMode) => Promise<LinkedPage<T>>,
    mode: PageMode,
  ): Promise<T[]> {
    const items: T[] = [];
    let url: string | undefined;
    do {
      const result = await page(url, mode);
      items.push(...result.items);
      url = result.next;
    } while (url);
    return items;
  }

  /**
   * The organization's service accounts, or undefined when the token may not list them (its scopes are known and
   * lack the assumed scope, or VGS answers 403/404): service accounts are then known from vault member lists only.
   */
  async serviceAccounts(signal?: AbortSignal): Promise<VgsServiceAccount[] | undefined> {
    const scopes = await this.scopes(signal);
    if (scopes && !scopes.has(ENDPOINTS.serviceAccounts.scope)) return undefined;
    const path = `${this.orgPath()}/service-accounts`;
    let body: unknown;
    try {
      body = (await this.send('serviceAccounts', path, { signal })).data;
    } catch (err) {
      if (err instanceof ConnectorError && (err.code === Code.PermissionDenied || err.code === Code.NotFound)) {
        this.logger?.debug('vgs: service accounts cannot be listed with this token; using vault member lists', {
          reason: err.message,
        });
        return undefined;
      }
      throw err;
    }
    const data = isObject(body) ? body.data : undefined;
    const list = Array.isArray(data)
      ? data
      : isObject(data) && isObject(data.attributes) && Array.isArray(data.attributes.service_accounts)
        ? data.attributes.service_accounts
        : undefined;
    if (!list) {
      throw new ConnectorError(Code.Unknown, `vgs: GET ${path}: unexpected response shape (no service_accounts list)`);
    }
    return list.map(toServiceAccount).filter((sa): sa is VgsServiceAccount => sa !== undefined);
  }

  // -- writes -----------------------------------------------------------------------------------------------------

  async setMemberRole(userId: string, role: OrgRole, signal?: AbortSignal): Promise<void> {
    await this.requireScope(SCOPES.usersWrite, 'change organization roles', signal);
    await this.send('setMemberRole', `${this.orgPath()}/members/${enc(userId)}`, {
      body: { data: { attributes: { role } } },
      signal,
    });
    this.forgetPages(`${this.orgPath()}/members`);
  }

  /** Removes the user from the organization; `gone` when VGS no longer knows the member. */
  async removeMember(userId: string, signal?: AbortSignal): Promise<'removed' | 'gone'> {
    await this.requireScope(SCOPES.usersWrite, 'remove users from the organization', signal);
    const res = await this.send('removeMember', `${this.orgPath()}/members/${enc(userId)}`, {
      acceptStatus: [404],
      signal,
    });
    this.forgetPages(`${this.orgPath()}/members`);
    // The user's vault access went with the membership.
    this.forgetPages(`${this.basePath}/vaults/`);
    return res.status === 404 ? 'gone' : 'removed';
  }

  /** Sends an invitation; the created invitation, or undefined when VGS answered without one. */
  async createInvite(invite: InviteRequest, signal?: AbortSignal): Promise<VgsInvitation | undefined> {
    await this.requireScope(SCOPES.usersWrite, 'invite users', signal);
    const res = await this.send('createInvite', `${this.orgPath()}/invites`, {
      body: { data: { attributes: { user_email: invite.email, role: invite.role, vaults: invite.vaults } } },
      signal,
    });
    this.forgetPages(`${this.orgPath()}/invites`);
    const data = isObject(res.data) ? res.data.data : undefined;
    return data === undefined ? undefined : toInvitation(data);
  }

  async cancelInvite(inviteId: string, signal?: AbortSignal): Promise<'removed' | 'gone'> {
    await this.requireScope(SCOPES.usersWrite, 'cancel invitations', signal);
    const res = await this.send('cancelInvite', `${this.orgPath()}/invites/${enc(inviteId)}`, {
      acceptStatus: [404],
      signal,
    });
    this.forgetPages(`${this.orgPath()}/invites`);
    return res.status === 404 ? 'gone' : 'removed';
  }

  async setVaultMemberRole(identifier: string, userId: string, role: VaultRole, signal?: AbortSignal): Promise<void> {
    await this.requireScope(SCOPES.usersWrite, 'change vault access', signal);
    await this.send('setVaultMemberRole', `${this.vaultMembersPath(identifier)}/${enc(userId)}`, {
      body: { data: { attributes: { role } } },
      signal,
    });
    this.forgetPages(this.vaultMembersPath(identifier));
  }

  async removeVaultMember(identifier: string, userId: string, signal?: AbortSignal): Promise<'removed' | 'gone'> {
    await this.requireScope(SCOPES.usersWrite, 'change vault access', signal);
    const res = await this.send('removeVaultMember', `${this.vaultMembersPath(identifier)}/${enc(userId)}`, {
      acceptStatus: [404],
      signal,
    });
    this.forgetPages(this.vaultMembersPath(identifier));
    return res.status === 404 ? 'gone' : 'removed';
  }

  // -------------------------------------------------------------------------------------------------------------

  private orgPath(): string {
    return `${this.basePath}/organizations/${enc(this.organizationId)}`;
  }

  private vaultMembersPath(identifier: string): string {
    return `${this.basePath}/vaults/${enc(identifier)}/members`;
  }

  /** Cached pages of the list at `path` (its first page and every page after it) are no longer current. */
  private forgetPages(path: string): void {
    this.pages.deleteWhere((key) => key.startsWith(path));
  }

  /**
   * One page of a list: the first (`url` undefined, read from `firstPath`) or the one a previous page linked to.
   * Records without an id are skipped with a warning instead of failing the sync.
   */
  private async listPage<T>(
    name: EndpointName,
    firstPath: string,
    url: string | undefined,
    mode: PageMode,
    parse: (item: unknown) => T | undefined,
    signal?: AbortSignal,
  ): Promise<LinkedPage<T>> {
    const path = url ?? firstPath;
    const load = async (): Promise<LinkedPage<unknown>> => {
      if (name === 'members' || name === 'invites' || name === 'vaultMembers') {
        await this.requireScope(SCOPES.usersRead, 'read organization members, invitations and vault members', signal);
      }
      const res = await this.send(name, path, { signal });
      const data = jsonApiData(res.data, 'vgs', `GET ${path}`);
      const items: T[] = [];
      for (const item of data) {
        const parsed = parse(item);
        if (parsed !== undefined) items.push(parsed);
      }
      if (items.length < data.length) {
        this.logger?.warn('vgs: skipped records without an id', { path, skipped: data.length - items.length });
      }
      return { items, next: jsonApiNextLink(res.data, `${this.origin}${path}`, this.origin, 'vgs') };
    };
    const weight = (page: LinkedPage<unknown>) => page.items.length + 1;
    const page = mode === 'fresh' ? this.pages.fresh(path, load, weight) : this.pages.readThrough(path, load, weight);
    return (await page) as LinkedPage<T>;
  }

  /** One request to a named endpoint; HTTP failures become errors that say what to do about them. */
  private async send(
    name: EndpointName,
    path: string,
    options: { body?: unknown; acceptStatus?: number[]; signal?: AbortSignal },
  ) {
    const endpoint: Endpoint = ENDPOINTS[name];
    const write = endpoint.method !== 'GET';
    try {
      return await this.http.request<unknown>({
        method: endpoint.method,
        path: `${this.origin}${path}`,
        body: options.body,
        // VGS's own clients send the JSON:API media type as the body's type too.
        headers: write ? { 'Content-Type': JSON_API_MEDIA_TYPE } : undefined,
        acceptStatus: options.acceptStatus,
        signal: options.signal,
      });
    } catch (err) {
      throw this.explain(err, endpoint, path);
    }
  }

  private explain(err: unknown, endpoint: Endpoint, path: string): unknown {
    if (!(err instanceof HttpClientError)) return err;
    const wrap = (code: Code, advice: string) =>
      new ConnectorError(code, `${err.message} (${advice})`, { cause: err, rateLimit: err.rateLimit });
    if (err.status === 403) {
      return wrap(Code.PermissionDenied, `the service account needs the ${endpoint.scope} scope; ${SCOPE_ADVICE}`);
    }
    if (err.status === 404 && endpoint.method === 'GET' && path.startsWith(this.orgPath())) {
      return wrap(
        Code.NotFound,
        `organization ${this.organizationId} was not found: check --organization-id (BATON_ORGANIZATION_ID)`,
      );
    }
    if (err.status === 401) {
      return wrap(Code.Unauthenticated, `VGS refused a freshly issued token; ${CREDENTIALS_HINT}`);
    }
    return err;
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
