/**
 * The `/v1` routes of the fake Celigo API, at Celigo's real paths and with its response shapes, so any Celigo client
 * pointed at the simulator works unchanged. What the connector does not call is there too (single reads, invite,
 * disable, delete, token info), answered the way Celigo documents.
 */
import { formatLinkHeader, type LinkTarget } from '@baton-ts/shared/http';
import type { SimRequest, SimResponse, SimulatorServer } from '@baton-ts/shared/simulator';

import type { AshareRecord, RecordedPut } from './model.js';
import type { ApiError, CeligoState, IntegrationUser } from './state.js';

/** Settings the routes read on every request (they may change while the simulator runs). */
export interface RouteSettings {
  /** Records per page when the request has no `limit`. */
  pageSize: number;
  /** The largest `limit` served; larger ones are served this many. */
  maxPageSize: number;
  /** What the next link carries: `skip` (offset, as Celigo's docs show) or `after` (the last id, a cursor). */
  pagination: 'skip' | 'after';
  /** Status of a list with no records: 200 with `[]`, or 204 with no body (as Celigo's OpenAPI spec allows). */
  emptyListStatus: 200 | 204;
}

export interface RouteContext {
  server: SimulatorServer;
  state: CeligoState;
  settings: () => RouteSettings;
  /** Whether the calling token may read and change users (Full access scope). */
  fullAccess: (req: SimRequest) => boolean;
  /** Every PUT /v1/ashares/{id} body as it arrived. */
  puts: RecordedPut[];
  /** The calling token's scope as `/v1/tokenInfo` reports it (`*` for Full access). */
  scopeOf: (req: SimRequest) => string;
}

export function errorResponse(error: ApiError): SimResponse {
  const { status, ...body } = error;
  return { status, json: { errors: [body] } };
}

const notFound = (what: string): SimResponse =>
  errorResponse({ status: 404, code: 'not_found', message: `Object not found: ${what}.` });

const forbidden: SimResponse = errorResponse({
  status: 403,
  code: 'forbidden',
  message: 'This API token does not have access to users; use a token with Full access scope.',
});

function parseCount(value: string | null, name: string): number | ApiError | undefined {
  if (value === null) return undefined;
  if (!/^\d+$/.test(value)) {
    return { status: 422, code: 'invalid_field', message: `${name} must be a non-negative integer.`, field: name };
  }
  return Number(value);
}

/** One page of `items` with Celigo's `Link` header (absolute URLs, `rel="next"` only when more remain). */
function paged<T extends { _id: string }>(
  ctx: RouteContext,
  req: SimRequest,
  items: readonly T[],
  render: (item: T) => unknown,
): SimResponse {
  const settings = ctx.settings();
  const limitParam = parseCount(req.query.get('limit'), 'limit');
  if (typeof limitParam === 'object') return errorResponse(limitParam);
  if (limitParam === 0) {
    return errorResponse({ status: 422, code: 'invalid_field', message: 'limit must be at least 1.', field: 'limit' });
  }
  const limit = Math.max(1, Math.min(limitParam ?? settings.pageSize, settings.maxPageSize));

  let start = 0;
  const after = req.query.get('after');
  const skip = parseCount(req.query.get('skip'), 'skip');
  if (typeof skip === 'object') return errorResponse(skip);
  if (after !== null) {
    const index = items.findIndex((item) => item._id > after);
    start = index < 0 ? items.length : index;
  } else if (skip !== undefined) {
    start = skip;
  }
  const page = items.slice(start, start + limit);
  if (page.length === 0 && settings.emptyListStatus === 204) return { status: 204 };

  const url = (query: Record<string, string | number>) =>
    `${ctx.server.baseUrl}${req.path}?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`;
  const links: LinkTarget[] = [];
  const end = start + page.length;
  if (end < items.length) {
    links.push({
      rel: 'next',
      url:
        settings.pagination === 'after' ? url({ after: page[page.length - 1]!._id, limit }) : url({ skip: end, limit }),
    });
  }
  // A `prev` link on later pages (the last page included): clients must follow `next` only.
  if (start > 0 && settings.pagination === 'skip')
    links.push({ rel: 'prev', url: url({ skip: Math.max(0, start - limit), limit }) });
  return {
    status: 200,
    json: page.map(render),
    headers: links.length > 0 ? { link: formatLinkHeader(links) } : undefined,
  };
}

/** How an integration's user list shows a share: its level on that integration, no per-integration entries. */
function integrationUserJson({ share, level }: IntegrationUser): unknown {
  return {
    _id: share._id,
    accepted: share.accepted,
    accessLevel: level,
    accountSSORequired: share.accountSSORequired,
    ...(share.disabled ? { disabled: true } : {}),
    // Test data may lack the person (a robustness case for clients): leave it out rather than fail.
    ...(share.sharedWithUser
      ? {
          sharedWithUser: {
            _id: share.sharedWithUser._id,
            email: share.sharedWithUser.email,
            name: share.sharedWithUser.name,
            accountSSOLinked: share.sharedWithUser.accountSSOLinked,
          },
        }
      : {}),
  };
}

const asIs = (share: AshareRecord) => share;

export function registerRoutes(ctx: RouteContext): void {
  const { server, state } = ctx;
  const users = (handler: (req: SimRequest) => SimResponse) => (req: SimRequest) =>
    ctx.fullAccess(req) ? handler(req) : forbidden;

  server.get('/v1/tokenInfo', (req) => ({
    status: 200,
    json: { _userId: state.owner._id, scope: ctx.scopeOf(req) },
  }));

  server.get(
    '/v1/ashares',
    users((req) => paged(ctx, req, state.listShares(), asIs)),
  );

  server.get(
    '/v1/ashares/:id',
    users((req) => {
      const share = state.getShare(req.params.id!);
      return share ? { status: 200, json: share } : notFound(`no user with _id ${req.params.id}`);
    }),
  );

  // The PUT body is parsed here (not by the framework) so that its raw text can be recorded exactly as sent.
  server.put(
    '/v1/ashares/:id',
    users((req) => {
      const raw = req.rawBody.toString('utf8');
      let body: unknown;
      let response: SimResponse | undefined;
      try {
        body = raw.trim() === '' ? undefined : JSON.parse(raw);
      } catch {
        response = errorResponse({ status: 400, code: 'invalid_json', message: 'The request body is not valid JSON.' });
      }
      if (!response) {
        const outcome = state.replaceShare(req.params.id!, body);
        response = outcome.ok ? { status: 204 } : errorResponse(outcome.error);
      }
      ctx.puts.push({ id: req.params.id!, raw, status: response.status ?? 200 });
      return response;
    }),
    { parseJson: false },
  );

  server.put(
    '/v1/ashares/:id/disable',
    users((req) => {
      const outcome = state.toggleDisabled(req.params.id!);
      return outcome.ok ? { status: 204 } : errorResponse(outcome.error);
    }),
    { parseJson: false },
  );

  server.delete(
    '/v1/ashares/:id',
    users((req) =>
      state.deleteShare(req.params.id!) ? { status: 204 } : notFound(`no user with _id ${req.params.id}`),
    ),
  );

  server.post(
    '/v1/invite',
    users((req) => {
      const outcome = state.invite(req.body);
      return outcome.ok ? { status: 201, json: outcome.value } : errorResponse(outcome.error);
    }),
  );

  server.get('/v1/integrations', (req) => paged(ctx, req, state.listIntegrations(), (i) => i));

  server.get('/v1/integrations/:id', (req) => {
    const integration = state.getIntegration(req.params.id!);
    return integration ? { status: 200, json: integration } : notFound(`no integration with _id ${req.params.id}`);
  });

  server.get(
    '/v1/integrations/:id/ashares',
    users((req) => {
      const list = state.integrationUsers(req.params.id!);
      if (!list) return notFound(`no integration with _id ${req.params.id}`);
      const byId = list.map((u) => ({ ...u, _id: u.share._id }));
      return paged(ctx, req, byId, integrationUserJson);
    }),
  );
}
