/**
 * The SCIM 2.0 server for tests, benchmarks and `--demo`, on the simulator kit:
 * `/Users`, `/Groups`, `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes` under a base path, bearer-token
 * auth, rate limits (429 with Retry-After in seconds or as an HTTP date), faults, a request log and seeded data.
 *
 * Switches (`quirks`, changeable while running) reproduce what real servers do differently; docs/apis/scim.md lists
 * each with the servers it was seen on. Only connector tests, benchmarks and `--demo` load this module.
 */
import {
  isDatasetWith,
  FaultInjector,
  RateLimiter,
  RequestLog,
  SimulatorServer,
  runtimeOptionsControl,
  systemClock,
  type AuthHook,
  type Clock,
  type FaultConfig,
  type RouteHandler,
  type RunningSimulator,
  type SimRequest,
  type SimResponse,
} from '../../simulator/index.js';
import { SCIM_ERROR_SCHEMA, SCIM_LIST_RESPONSE_SCHEMA } from '../types.js';
import { generateScimDataset, type ScimDatasetName, type ScimDatasetSpec } from './dataset.js';
import { FilterSyntaxError, matchesFilter, parseFilter, type FilterNode } from './filter.js';
import { applyPatch } from './patch.js';
import { DEFAULT_QUIRKS, type ScimQuirks } from './quirks.js';
import {
  groupDocument,
  groupFromDocument,
  listResponse,
  project,
  renderGroup,
  renderUser,
  resourceTypes,
  schemas,
  serviceProviderConfig,
  userDocument,
  userDocumentFromBody,
  userFromDocument,
  versionOf,
  type RenderOptions,
} from './resources.js';
import { ScimSimError, ScimState, type ScimData } from './state.js';

export const DEFAULT_SCIM_TOKEN = 'scim-sim-7d41c0ffee5a4b1e9c2d';

export interface ScimSimulatorOptions extends Partial<ScimQuirks> {
  /** Loopback address to bind (default 127.0.0.1). */
  host?: string;
  port?: number;
  /** Path of the SCIM base under the origin (default `/scim/v2`). */
  basePath?: string;
  /** The accepted bearer token. */
  token?: string;
  /** Tokens that authenticate but may not use SCIM: 403 (e.g. a RudderStack workspace-level token). */
  forbiddenTokens?: string[];
  dataset?: ScimDatasetName | ScimDatasetSpec | ScimData;
  clock?: Clock;
  faults?: FaultConfig;
  rateLimitWindowMs?: number;
  /** Request log capacity (default 100,000). */
  logLimit?: number;
  /** Simulated network latency per request (default 0). */
  latencyMs?: number;
  /** The connector config that points at this simulator (default `{ 'scim-url', 'scim-token' }`). */
  config?: (scimUrl: string, token: string) => Record<string, string>;
}

export interface ScimSimulator extends RunningSimulator {
  /** Absolute SCIM base URL, e.g. http://127.0.0.1:43123/scim/v2. */
  scimUrl: string;
  token: string;
  state: ScimState;
  log: RequestLog;
  faults: FaultInjector;
  rateLimiter: RateLimiter;
  setQuirks(quirks: Partial<ScimQuirks>): void;
  quirks(): ScimQuirks;
}

function intParam(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? Math.trunc(n) : NaN;
}

/** Starts the SCIM server on loopback; resolves once it listens. */
export async function startScimSimulator(options: ScimSimulatorOptions = {}): Promise<ScimSimulator> {
  const clock = options.clock ?? systemClock;
  const quirks: ScimQuirks = { ...DEFAULT_QUIRKS, rateLimits: { ...DEFAULT_QUIRKS.rateLimits } };
  const given = Object.fromEntries(
    Object.keys(DEFAULT_QUIRKS).map((k) => [k, (options as Record<string, unknown>)[k]]),
  ) as Partial<ScimQuirks>;

  const basePath = `/${(options.basePath ?? '/scim/v2').replace(/^\/+|\/+$/g, '')}`.replace(/^\/$/, '');
  const data = isDatasetWith<ScimData>(options.dataset, 'users')
    ? structuredClone(options.dataset)
    : generateScimDataset(options.dataset ?? 'small');
  const state = new ScimState(data, clock);
  const token = options.token ?? DEFAULT_SCIM_TOKEN;
  const forbidden = new Set(options.forbiddenTokens ?? []);

  const log = new RequestLog({ maxEntries: options.logLimit });
  log.addSecret(token);
  for (const t of forbidden) log.addSecret(t);
  const faults = new FaultInjector(options.faults ?? {});
  const rateLimiter = new RateLimiter({ windowMs: options.rateLimitWindowMs, clock });
  const control = runtimeOptionsControl(quirks, (options) => rateLimiter.setLimits(options.rateLimits));
  control.setOptions(given);

  const headers = (extra: Record<string, string> = {}) => ({ 'content-type': quirks.contentType, ...extra });
  const errorResponse = (
    status: number,
    scimType: string | undefined,
    detail: string,
    extra?: Record<string, string>,
  ) => ({
    status,
    headers: headers(extra),
    json: {
      schemas: [SCIM_ERROR_SCHEMA],
      status: quirks.statusAsNumber ? status : String(status),
      ...(scimType ? { scimType } : {}),
      detail,
    },
  });

  const auth: AuthHook = (req) => {
    const raw = req.headers.authorization;
    const value = Array.isArray(raw) ? raw[0] : raw;
    const bearer = value && /^bearer\s+/i.test(value) ? value.replace(/^bearer\s+/i, '').trim() : undefined;
    if (bearer === token) {
      if (quirks.scimDisabled) {
        return { response: errorResponse(403, undefined, 'SCIM provisioning is not enabled for this organization') };
      }
      return { identity: 'org-token' };
    }
    if (bearer !== undefined && forbidden.has(bearer)) {
      return {
        response: errorResponse(
          403,
          undefined,
          'This token cannot access SCIM: an organization-level token is required',
        ),
      };
    }
    return {
      response: errorResponse(401, undefined, 'Authentication failed: missing or invalid bearer token', {
        'www-authenticate': 'Bearer realm="scim"',
      }),
    };
  };

  const server = new SimulatorServer({
    host: options.host,
    port: options.port,
    clock,
    log,
    faults,
    rateLimiter,
    auth,
    trailingSlash: true,
    latencyMs: options.latencyMs,
  });
  const origin = await server.start();
  const scimUrl = `${origin}${basePath}`;
  const render = (): RenderOptions => ({
    base: scimUrl,
    activeAsString: quirks.activeAsString,
    usersCarryGroups: quirks.usersCarryGroups,
    omitMembers: quirks.membersOnGroupGet === 'omit',
  });

  /** Rate limit, then the handler; a ScimSimError becomes a SCIM error response. */
  const route =
    (handler: RouteHandler): RouteHandler =>
    async (req) => {
      // Media types are part of the contract (and carry no secret), so the log keeps them.
      req.annotate({ accept: req.headers.accept, contentType: req.headers['content-type'] });
      const cls = req.method === 'GET' ? 'read' : 'write';
      const decision = rateLimiter.take(req.identity ?? 'anonymous', cls);
      if (!decision.allowed) {
        const retryAfter =
          quirks.retryAfter === 'http-date'
            ? new Date(Math.ceil((clock() + decision.retryAfterSeconds * 1000) / 1000) * 1000).toUTCString()
            : String(decision.retryAfterSeconds);
        req.annotate({ rateLimited: true, retryAfter });
        return errorResponse(429, undefined, `Too many requests: ${decision.limit} ${cls} requests per window`, {
          'retry-after': retryAfter,
        });
      }
      try {
        return await handler(req);
      } catch (err) {
        if (err instanceof ScimSimError) return errorResponse(err.status, err.scimType, err.message);
        throw err;
      }
    };
  const options_ = { rateClass: null } as const;
  const get = (path: string, h: RouteHandler) => server.get(`${basePath}${path}`, route(h), options_);
  const post = (path: string, h: RouteHandler) => server.post(`${basePath}${path}`, route(h), options_);
  const put = (path: string, h: RouteHandler) => server.put(`${basePath}${path}`, route(h), options_);
  const patch = (path: string, h: RouteHandler) => server.patch(`${basePath}${path}`, route(h), options_);
  const del = (path: string, h: RouteHandler) => server.delete(`${basePath}${path}`, route(h), options_);

  const ok = (json: unknown, status = 200, extra?: Record<string, string>): SimResponse => ({
    status,
    headers: headers(extra),
    json,
  });

  /**
   * A ListResponse over stored items. Only a filter needs every item rendered (it matches on the served JSON);
   * without one, only the page is rendered, so a listing of N items in pages costs O(N), not O(N²/page).
   */
  const list = <T>(req: SimRequest, stored: T[], render: (item: T) => Record<string, unknown>): SimResponse => {
    const filterText = req.query.get('filter');
    let filtered: Array<T | Record<string, unknown>> = stored;
    let rendered = false;
    if (filterText) {
      let node: FilterNode;
      try {
        node = parseFilter(filterText);
      } catch (err) {
        if (err instanceof FilterSyntaxError)
          throw new ScimSimError(400, 'invalidFilter', `bad filter: ${err.message}`);
        throw err;
      }
      filtered = stored.map(render).filter((r) => matchesFilter(r, node));
      rendered = true;
    }
    let startIndex = intParam(req.query.get('startIndex')) ?? 1;
    if (Number.isNaN(startIndex) || startIndex < 1 || quirks.ignoreStartIndex) startIndex = 1;
    const asked = intParam(req.query.get('count'));
    if (asked !== undefined && Number.isNaN(asked))
      throw new ScimSimError(400, 'invalidValue', 'count must be a number');
    let count = Math.min(Math.max(0, asked ?? quirks.defaultPageSize), quirks.maxPageSize);
    if (quirks.ignoreCount) count = filtered.length;
    const page = filtered.slice(startIndex - 1, startIndex - 1 + count);
    const attributes = req.query.get('attributes');
    const excluded = req.query.get('excludedAttributes');
    const body: Record<string, unknown> = {
      schemas: [SCIM_LIST_RESPONSE_SCHEMA],
      totalResults: filtered.length,
      itemsPerPage: quirks.echoCount ? (asked ?? quirks.defaultPageSize) : page.length,
      startIndex,
      Resources: page.map((r) =>
        project(rendered ? (r as Record<string, unknown>) : render(r as T), attributes, excluded),
      ),
    };
    if (quirks.omitPagingFields) {
      delete body.itemsPerPage;
      delete body.startIndex;
    }
    return ok(body);
  };

  const patchAnswer = (kind: 'user' | 'group', json: Record<string, unknown>, version: string): SimResponse => {
    const status = quirks.patchResponse === 'entra' ? (kind === 'user' ? 200 : 204) : quirks.patchResponse;
    return status === 204 ? { status: 204, headers: { etag: version } } : ok(json, 200, { etag: version });
  };

  const requireGroups = () => {
    if (quirks.groupsEndpoint === 404) throw new ScimSimError(404, undefined, 'Resource type Groups is not supported');
    if (quirks.groupsEndpoint === 501) throw new ScimSimError(501, undefined, 'Groups are not implemented');
  };
  const userOr404 = (id: string) => {
    const user = state.getUser(id);
    if (!user) throw new ScimSimError(404, undefined, `User ${id} not found`);
    return user;
  };
  const groupOr404 = (id: string) => {
    const group = state.getGroup(id);
    if (!group) throw new ScimSimError(404, undefined, `Group ${id} not found`);
    return group;
  };

  // -- discovery
  get('/ServiceProviderConfig', () => ok(serviceProviderConfig(scimUrl, quirks.maxPageSize)));
  get('/ResourceTypes', () => ok(listResponse(resourceTypes(scimUrl, quirks.groupsEndpoint === 'ok'))));
  get('/ResourceTypes/:id', (req) => {
    const found = resourceTypes(scimUrl, quirks.groupsEndpoint === 'ok').find((t) => t.id === req.params.id);
    if (!found) throw new ScimSimError(404, undefined, `ResourceType ${req.params.id} not found`);
    return ok(found);
  });
  get('/Schemas', () => ok(listResponse(schemas(scimUrl, quirks.groupsEndpoint === 'ok'))));
  get('/Schemas/:id', (req) => {
    const found = schemas(scimUrl, quirks.groupsEndpoint === 'ok').find((s) => s.id === req.params.id);
    if (!found) throw new ScimSimError(404, undefined, `Schema ${req.params.id} not found`);
    return ok(found);
  });

  // -- users
  get('/Users', (req) => {
    const options = render();
    return list(req, state.listUsers(), (u) => renderUser(state, u, options));
  });
  get('/Users/:id', (req) => {
    const user = userOr404(req.params.id!);
    const json = renderUser(state, user, render());
    return ok(project(json, req.query.get('attributes'), req.query.get('excludedAttributes')), 200, {
      etag: versionOf(user),
    });
  });
  post('/Users', (req) => {
    const user = userFromDocument(userDocumentFromBody(req.body), state.newId(), state.newMeta());
    state.saveUser(user);
    return ok(renderUser(state, user, render()), 201, {
      location: `${scimUrl}/Users/${user.id}`,
      etag: versionOf(user),
    });
  });
  put('/Users/:id', (req) => {
    const current = userOr404(req.params.id!);
    const user = userFromDocument(userDocumentFromBody(req.body), current.id, current.meta);
    state.saveUser(user);
    return ok(renderUser(state, user, render()), 200, { etag: versionOf(user) });
  });
  patch('/Users/:id', (req) => {
    const current = userOr404(req.params.id!);
    const doc = userDocument(current);
    applyPatch(doc, 'user', req.body, quirks);
    const user = userFromDocument(doc, current.id, current.meta);
    state.saveUser(user);
    return patchAnswer('user', renderUser(state, user, render()), versionOf(user));
  });
  del('/Users/:id', (req) => {
    if (!state.deleteUser(req.params.id!)) throw new ScimSimError(404, undefined, `User ${req.params.id} not found`);
    return { status: 204 };
  });

  // -- groups
  get('/Groups', (req) => {
    requireGroups();
    const options = render();
    return list(req, state.listGroups(), (g) => renderGroup(state, g, options));
  });
  get('/Groups/:id', (req) => {
    requireGroups();
    const group = groupOr404(req.params.id!);
    const json = renderGroup(state, group, render());
    return ok(project(json, req.query.get('attributes'), req.query.get('excludedAttributes')), 200, {
      etag: versionOf(group),
    });
  });
  post('/Groups', (req) => {
    requireGroups();
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object')
      throw new ScimSimError(400, 'invalidSyntax', 'the body must be a SCIM Group');
    const group = groupFromDocument(state, body, state.newId(), state.newMeta());
    state.saveGroup(group);
    return ok(renderGroup(state, group, render()), 201, { location: `${scimUrl}/Groups/${group.id}` });
  });
  put('/Groups/:id', (req) => {
    requireGroups();
    const current = groupOr404(req.params.id!);
    const group = groupFromDocument(state, (req.body ?? {}) as Record<string, unknown>, current.id, current.meta);
    state.saveGroup(group);
    return ok(renderGroup(state, group, render()));
  });
  patch('/Groups/:id', (req) => {
    requireGroups();
    const current = groupOr404(req.params.id!);
    const doc = groupDocument(current);
    applyPatch(doc, 'group', req.body, quirks);
    const group = groupFromDocument(state, doc, current.id, current.meta);
    state.saveGroup(group);
    return patchAnswer('group', renderGroup(state, group, render()), versionOf(state.getGroup(group.id)!));
  });
  del('/Groups/:id', (req) => {
    requireGroups();
    if (!state.deleteGroup(req.params.id!)) throw new ScimSimError(404, undefined, `Group ${req.params.id} not found`);
    return { status: 204 };
  });

  const config = options.config ?? ((url: string, t: string) => ({ 'scim-url': url, 'scim-token': t }));
  return {
    baseUrl: origin,
    scimUrl,
    token,
    config: config(scimUrl, token),
    requestCount: () => server.requestCount(),
    stats: () => server.stats(),
    close: () => server.close(),
    state,
    log,
    faults,
    rateLimiter,
    setQuirks: control.setOptions,
    quirks: control.options,
  };
}
