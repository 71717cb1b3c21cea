/**
 * The routes of the fake VGS: Keycloak's token endpoint and the accounts API, at the real paths, answering JSON:API
 * documents with `application/vnd.api+json`. What each route does is described in docs/apis/vgs.md; the routes the
 * connector relies on without proof (invitation create/cancel, organization role change and member removal, the
 * service-accounts listing's shape and scope) are implemented as the connector's client assumes them.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, RequestLog, SimRequest, SimResponse, SimulatorServer } from '@baton-ts/shared/simulator';

import { SCOPES } from '../src/client.js';
import type { InviteRecord, MemberRecord, OrganizationRecord, ServiceAccountRecord, VaultRecord } from './model.js';
import { VgsError, type VaultMemberView, type VgsState } from './state.js';

export const TOKEN_PATH = '/auth/realms/vgs/protocol/openid-connect/token';
export const JSON_API = 'application/vnd.api+json';

// The scopes (including the one assumed for the service-accounts listing) are the client's: the simulator enforces
// exactly what the connector expects.
export { SCOPES };

/** Options that can change while the simulator runs. */
export interface VgsRuntimeOptions {
  /** Items per page when the client does not ask (`page[size]`); 0 = everything in one document, no links.next. */
  pageSize: number;
  /** Largest `page[size]` honoured (default 100). */
  maxPageSize: number;
  /** Requests per minute per service account: GET is `read`, everything else `write` (0 = unlimited). */
  rateLimits: { read: number; write: number };
  /** Token lifetime in seconds, unless the service account has its own (default 1200, VGS's 20 minutes). */
  tokenLifetimeSeconds: number;
  /** Whether token responses list the scopes (`scope`); when false a client cannot tell before calling. */
  listScopesInToken: boolean;
  /** Whether organization member lists include service accounts' technical users (default true). */
  serviceAccountsInMembers: boolean;
}

interface IssuedToken {
  clientId: string;
  scopes: ReadonlySet<string>;
  expiresAt: number;
}

export interface ApiContext {
  state: VgsState;
  runtime: VgsRuntimeOptions;
  clock: Clock;
  log: RequestLog;
}

// -- responses ----------------------------------------------------------------------------------------------------

function jsonApi(status: number, json: unknown, headers: Record<string, string> = {}): SimResponse {
  return { status, json, headers: { 'content-type': JSON_API, ...headers } };
}

export function jsonApiError(status: number, detail: string, title?: string): SimResponse {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Entity',
    429: 'Too Many Requests',
  };
  return jsonApi(status, { errors: [{ status: String(status), title: title ?? titles[status] ?? 'Error', detail }] });
}

const noContent = (): SimResponse => ({ status: 204 });

function origin(req: SimRequest): string {
  const host = req.headers.host ?? '127.0.0.1';
  return `http://${host}`;
}

/** One page of `items` with JSON:API `links` (`next` only when there is more). */
function paged<T>(req: SimRequest, runtime: VgsRuntimeOptions, items: readonly T[], toJson: (item: T) => unknown) {
  const sizeParam = req.query.get('page[size]');
  const numberParam = req.query.get('page[number]');
  const requested = sizeParam === null ? runtime.pageSize : Number(sizeParam);
  const number = numberParam === null ? 1 : Number(numberParam);
  if (!Number.isInteger(requested) || requested < 0 || !Number.isInteger(number) || number < 1) {
    return jsonApiError(400, 'page[number] must be a positive integer and page[size] a non-negative integer');
  }
  const self = `${origin(req)}${req.path}`;
  if (requested === 0) {
    return jsonApi(200, { data: items.map(toJson), links: { self }, meta: { total: items.length } });
  }
  const size = Math.min(requested, runtime.maxPageSize);
  const start = (number - 1) * size;
  const link = (n: number) => `${self}?page[number]=${n}&page[size]=${size}`;
  const links: Record<string, string> = { self: link(number), first: link(1) };
  if (start + size < items.length) links.next = link(number + 1);
  if (number > 1) links.prev = link(number - 1);
  return jsonApi(200, { data: items.slice(start, start + size).map(toJson), links, meta: { total: items.length } });
}

// -- serialisation (the wire shapes) --------------------------------------------------------------------------------

function organizationJson(o: OrganizationRecord) {
  return {
    id: o.id,
    type: 'organizations',
    attributes: {
      internal_id: o.internalId,
      identifier: o.id,
      name: o.name,
      active: o.state === 'ACTIVE',
      state: o.state,
      permissions: ['read', 'write', 'admin'],
      created_at: o.createdAt,
      updated_at: o.updatedAt,
    },
  };
}

function vaultJson(req: SimRequest, v: VaultRecord) {
  const base = origin(req);
  const env = v.environment.toLowerCase();
  return {
    id: v.id,
    type: 'vaults',
    attributes: {
      identifier: v.identifier,
      name: v.name,
      environment: v.environment,
      created_at: v.createdAt,
      updated_at: v.updatedAt,
    },
    relationships: {
      organization: {
        links: {
          self: `${base}/vaults/${v.identifier}/relationships/organization`,
          related: `${base}/organizations/${v.orgId}`,
        },
        data: { id: v.orgId, type: 'organizations' },
      },
    },
    links: {
      self: `${base}/vaults/${v.id}`,
      reverse_proxy: `${v.identifier}.${env}.verygoodproxy.com`,
      forward_proxy: `${v.identifier}.${env}.verygoodproxy.com:8443`,
      vault_management_api: `https://api.${env}.verygoodsecurity.com`,
      vault_api: `https://api.${env}.verygoodvault.com`,
    },
  };
}

function inviteJson(state: VgsState, i: InviteRecord) {
  return {
    id: i.id,
    type: 'invites',
    attributes: {
      invite_id: i.inviteId,
      invite_status: state.inviteStatus(i),
      user_email: i.email,
      invited_by: i.invitedBy,
      created_at: i.createdAt,
      role: i.role,
      vaults: i.vaults,
    },
  };
}

function vaultMemberJson(m: VaultMemberView) {
  return { id: m.id, type: 'users', attributes: { id: m.id, email: m.email, role: m.role } };
}

function serviceAccountJson(sa: ServiceAccountRecord, vaults: string[]) {
  return {
    client_id: sa.clientId,
    name: sa.name,
    scopes: sa.scopes.map((name) => ({ name })),
    vaults,
    annotations: {},
    access_token_lifespan: sa.accessTokenLifespan ?? null,
    created_at: sa.createdAt,
  };
}

// -- the routes -----------------------------------------------------------------------------------------------------

const TOKEN_LOCAL = 'vgsToken';

function decodeForm(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

export class VgsApi {
  private readonly tokens = new Map<string, IssuedToken>();
  issuedTokens = 0;

  constructor(private readonly ctx: ApiContext) {}

  /** Every issued token stops working (tests: a token revoked before its expiry). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  register(server: SimulatorServer): void {
    server.post(TOKEN_PATH, (req) => this.token(req), { auth: false, parseJson: false, rateClass: null });
    server.setAuth((req) => this.authenticate(req));

    server.get('/organizations', (req) =>
      this.scoped(req, SCOPES.organizationsRead, (sa) =>
        paged(req, this.ctx.runtime, this.ctx.state.organizationsOf(sa), organizationJson),
      ),
    );
    server.get('/organizations/:org/members', (req) =>
      this.inOrg(req, SCOPES.usersRead, (org) => this.members(req, org)),
    );
    // The older path of the same list, still used by vgs-api-client-go.
    server.get('/organizations/:org/users', (req) =>
      this.inOrg(req, SCOPES.usersRead, (org) => this.members(req, org)),
    );
    server.put('/organizations/:org/members/:user', (req) =>
      this.inOrg(req, SCOPES.usersWrite, (org) =>
        this.write(req, () => this.ctx.state.setMemberRole(org.id, req.params.user!, this.attribute(req, 'role'))),
      ),
    );
    server.delete('/organizations/:org/members/:user', (req) =>
      this.inOrg(req, SCOPES.usersWrite, (org) =>
        this.write(req, () => this.ctx.state.removeMember(org.id, req.params.user!)),
      ),
    );
    server.get('/organizations/:org/invites', (req) =>
      this.inOrg(req, SCOPES.usersRead, (org) =>
        paged(req, this.ctx.runtime, this.ctx.state.listInvites(org.id), (i) => inviteJson(this.ctx.state, i)),
      ),
    );
    server.post('/organizations/:org/invites', (req) =>
      this.inOrg(req, SCOPES.usersWrite, (org, sa) => {
        const attrs = this.attributes(req);
        return this.attempt(() => {
          const invite = this.ctx.state.createInvite(
            org.id,
            { email: attrs.user_email, role: attrs.role, vaults: attrs.vaults },
            `${sa.clientId}@vgs.dev`,
          );
          return jsonApi(201, { data: inviteJson(this.ctx.state, invite) });
        });
      }),
    );
    server.delete('/organizations/:org/invites/:invite', (req) =>
      this.inOrg(req, SCOPES.usersWrite, (org) =>
        this.write(req, () => this.ctx.state.cancelInvite(org.id, req.params.invite!)),
      ),
    );
    server.get('/organizations/:org/service-accounts', (req) =>
      this.inOrg(req, SCOPES.serviceAccountsRead, (org) => {
        const vaultsOf = new Map<string, string[]>();
        for (const v of this.ctx.state.listVaults(new Set([org.id]))) {
          for (const m of this.ctx.state.listVaultMembers(v.identifier)) {
            vaultsOf.set(m.id, [...(vaultsOf.get(m.id) ?? []), v.identifier]);
          }
        }
        const accounts = this.ctx.state
          .listServiceAccounts(org.id)
          .map((sa) => serviceAccountJson(sa, vaultsOf.get(sa.memberId) ?? []));
        return jsonApi(200, { data: { type: 'service_accounts', attributes: { service_accounts: accounts } } });
      }),
    );
    server.get('/vaults', (req) =>
      this.scoped(req, SCOPES.vaultsRead, (sa) => {
        const orgIds = new Set(this.ctx.state.organizationsOf(sa).map((o) => o.id));
        // vgs-cli looks a vault up with `filter[vaults][identifier]`.
        const identifier = req.query.get('filter[vaults][identifier]');
        const vaults = this.ctx.state
          .listVaults(orgIds)
          .filter((v) => identifier === null || v.identifier === identifier);
        return paged(req, this.ctx.runtime, vaults, (v) => vaultJson(req, v));
      }),
    );
    server.get('/vaults/:vault/members', (req) =>
      this.inVault(req, SCOPES.usersRead, (vault) =>
        paged(req, this.ctx.runtime, this.ctx.state.listVaultMembers(vault.identifier), vaultMemberJson),
      ),
    );
    server.put('/vaults/:vault/members/:user', (req) =>
      this.inVault(req, SCOPES.usersWrite, (vault) =>
        this.write(req, () =>
          this.ctx.state.setVaultRole(vault.identifier, req.params.user!, this.attribute(req, 'role')),
        ),
      ),
    );
    server.delete('/vaults/:vault/members/:user', (req) =>
      this.inVault(req, SCOPES.usersWrite, (vault) =>
        this.write(req, () => this.ctx.state.removeVaultMember(vault.identifier, req.params.user!)),
      ),
    );
  }

  // -- token endpoint (Keycloak) -------------------------------------------------------------------------------------

  private token(req: SimRequest): SimResponse {
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const oauthError = (status: number, error: string, description: string): SimResponse => ({
      status,
      json: { error, error_description: description },
    });
    const grantType = form.get('grant_type');
    if (!grantType) return oauthError(400, 'invalid_request', 'Missing form parameter: grant_type');
    if (grantType !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', `Unsupported grant_type ${grantType}`);
    }
    let clientId = form.get('client_id') ?? undefined;
    let clientSecret = form.get('client_secret') ?? undefined;
    const header = req.headers.authorization;
    const basic = typeof header === 'string' ? /^basic\s+(\S+)$/i.exec(header.trim()) : null;
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        clientId = decodeForm(decoded.slice(0, colon));
        clientSecret = decodeForm(decoded.slice(colon + 1));
      }
    }
    req.annotate({ clientId: clientId ?? null, clientAuthentication: basic ? 'basic' : 'body' });
    const sa = clientId ? this.ctx.state.serviceAccount(clientId) : undefined;
    if (!sa || !clientSecret || sa.clientSecret !== clientSecret) {
      return oauthError(401, 'unauthorized_client', 'Invalid client or Invalid client credentials');
    }
    const lifetime = sa.accessTokenLifespan ?? this.ctx.runtime.tokenLifetimeSeconds;
    const value = `eyJ.vgs-sim.${randomBytes(18).toString('base64url')}`;
    this.ctx.log.addSecret(value);
    this.tokens.set(value, {
      clientId: sa.clientId,
      scopes: new Set(sa.scopes),
      expiresAt: this.ctx.clock() + lifetime * 1000,
    });
    this.issuedTokens++;
    const body: Record<string, unknown> = {
      access_token: value,
      expires_in: lifetime,
      refresh_expires_in: 0,
      token_type: 'Bearer',
      'not-before-policy': 0,
    };
    if (this.ctx.runtime.listScopesInToken) body.scope = sa.scopes.join(' ');
    return { status: 200, json: body, headers: { 'content-type': 'application/json' } };
  }

  private authenticate(req: SimRequest) {
    const header = req.headers.authorization;
    const bearer = typeof header === 'string' ? /^bearer\s+(\S+)$/i.exec(header.trim()) : null;
    const issued = bearer ? this.tokens.get(bearer[1]!) : undefined;
    if (!issued) return { response: jsonApiError(401, 'Invalid or missing access token') };
    if (issued.expiresAt <= this.ctx.clock()) return { response: jsonApiError(401, 'Access token expired') };
    req.locals[TOKEN_LOCAL] = issued;
    return { identity: issued.clientId };
  }

  // -- guards --------------------------------------------------------------------------------------------------------

  private scoped(req: SimRequest, scope: string, handler: (sa: ServiceAccountRecord) => SimResponse): SimResponse {
    const token = req.locals[TOKEN_LOCAL] as IssuedToken;
    const sa = this.ctx.state.serviceAccount(token.clientId);
    if (!sa) return jsonApiError(401, 'The service account no longer exists');
    if (!token.scopes.has(scope)) return jsonApiError(403, `Insufficient scope: ${scope} is required`);
    return handler(sa);
  }

  private inOrg(
    req: SimRequest,
    scope: string,
    handler: (org: OrganizationRecord, sa: ServiceAccountRecord) => SimResponse,
  ): SimResponse {
    return this.scoped(req, scope, (sa) => {
      const org = this.ctx.state.organization(req.params.org!);
      if (!org) return jsonApiError(404, `Organization ${req.params.org} not found`);
      if (!this.ctx.state.organizationsOf(sa).some((o) => o.id === org.id)) {
        return jsonApiError(403, `Access to organization ${org.id} denied`);
      }
      return handler(org, sa);
    });
  }

  private inVault(req: SimRequest, scope: string, handler: (vault: VaultRecord) => SimResponse): SimResponse {
    return this.scoped(req, scope, (sa) => {
      const vault = this.ctx.state.vault(req.params.vault!);
      if (!vault) return jsonApiError(404, `Vault ${req.params.vault} not found`);
      if (!this.ctx.state.organizationsOf(sa).some((o) => o.id === vault.orgId)) {
        return jsonApiError(403, `Access to vault ${vault.identifier} denied`);
      }
      return handler(vault);
    });
  }

  // -- handlers ------------------------------------------------------------------------------------------------------

  private members(req: SimRequest, org: OrganizationRecord): SimResponse {
    const state = this.ctx.state;
    // Each member lists their vaults, as the API's member objects do.
    const vaultsOf = new Map<string, Array<{ id: string; name: string; role: string; env_identifier: string }>>();
    for (const v of state.listVaults(new Set([org.id]))) {
      for (const m of state.listVaultMembers(v.identifier)) {
        const list = vaultsOf.get(m.id) ?? [];
        list.push({ id: v.identifier, name: v.name, role: m.role, env_identifier: v.environment });
        vaultsOf.set(m.id, list);
      }
    }
    const people: MemberRecord[] = state.listMembers(org.id);
    const technical: MemberRecord[] = this.ctx.runtime.serviceAccountsInMembers
      ? state.listServiceAccounts(org.id).map((sa) => ({
          id: sa.memberId,
          orgId: org.id,
          name: sa.name,
          email: `${sa.clientId}@vgs.dev`,
          role: 'user' as const,
          createdAt: sa.createdAt,
          updatedAt: sa.createdAt,
        }))
      : [];
    return paged(req, this.ctx.runtime, [...people, ...technical], (m) => ({
      id: m.id,
      type: 'users',
      attributes: {
        id: m.id,
        name: m.name,
        email_address: m.email,
        role: m.role,
        permissions: m.role === 'admin' ? ['read', 'write', 'admin'] : ['read'],
        vaults: vaultsOf.get(m.id) ?? [],
        created_at: m.createdAt,
        updated_at: m.updatedAt,
        last_login: m.lastLogin ?? null,
        sso_id: m.ssoId ?? null,
      },
    }));
  }

  /** `data.attributes` of a JSON:API request body ({} when absent). */
  private attributes(req: SimRequest): Record<string, unknown> {
    const body = req.body as { data?: { attributes?: unknown } } | undefined;
    const attrs = body?.data?.attributes;
    return attrs && typeof attrs === 'object' && !Array.isArray(attrs) ? (attrs as Record<string, unknown>) : {};
  }

  private attribute(req: SimRequest, name: string): string {
    const value = this.attributes(req)[name];
    return typeof value === 'string' ? value : '';
  }

  /** A state change answered with 204 No Content, or VGS's error. */
  private write(req: SimRequest, change: () => void): SimResponse {
    const type = req.headers['content-type'];
    if (req.rawBody.length > 0 && !(typeof type === 'string' && /json/i.test(type))) {
      return jsonApiError(415, `Content-Type must be ${JSON_API}`);
    }
    return this.attempt(() => {
      change();
      return noContent();
    });
  }

  private attempt(fn: () => SimResponse): SimResponse {
    try {
      return fn();
    } catch (err) {
      if (err instanceof VgsError) return jsonApiError(err.status, err.detail);
      throw err;
    }
  }
}
