/**
 * The simulator on its own, over plain HTTP (fetch): routes, shapes, paging, PUT semantics, errors, limits and the
 * datasets, so that what the connector tests rely on is itself checked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseLinkHeader } from '@baton-ts/shared/http';
import { DATASETS, generateDataset, type CeligoSimulator } from '../simulator/index.js';
import { closeAll, startSim } from './helpers.js';

afterEach(closeAll);

async function call(sim: CeligoSimulator, method: string, path: string, body?: unknown, token = sim.token) {
  const res = await fetch(`${sim.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text; // a proxy's HTML error page
  }
  return { status: res.status, headers: res.headers, json };
}

describe('auth', () => {
  it('answers the two 401 bodies and accepts the Bearer token', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    expect((await call(sim, 'GET', '/v1/ashares', undefined, 'nope')).json).toEqual({
      message: 'Bearer Authentication Failed',
    });
    const none = await fetch(`${sim.baseUrl}/v1/integrations`);
    expect([none.status, await none.json()]).toEqual([401, { message: 'Unauthorized' }]);
    const basic = await fetch(`${sim.baseUrl}/v1/integrations`, { headers: { authorization: `Basic ${sim.token}` } });
    expect(basic.status).toBe(401);
    expect((await call(sim, 'GET', '/v1/tokenInfo')).json).toEqual({ _userId: sim.state.owner._id, scope: '*' });
  });

  it('a Custom scope token reads integrations but not users', async () => {
    const sim = await startSim({ dataset: 'tiny', extraTokens: [{ token: 'custom-t', scope: 'custom' }] });
    expect((await call(sim, 'GET', '/v1/integrations', undefined, 'custom-t')).status).toBe(200);
    const denied = await call(sim, 'GET', '/v1/ashares', undefined, 'custom-t');
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ errors: [{ code: 'forbidden' }] });
    expect((await call(sim, 'GET', '/v1/tokenInfo', undefined, 'custom-t')).json).toMatchObject({ scope: 'custom' });
  });
});

describe('paging', () => {
  it('serves pages with an absolute rel="next" link while more remain, and rel="prev" after the first', async () => {
    const sim = await startSim({ dataset: 'small', pageSize: 25, maxPageSize: 40 });
    const first = await call(sim, 'GET', '/v1/ashares');
    expect((first.json as unknown[]).length).toBe(25);
    expect(parseLinkHeader(first.headers.get('link') ?? '')).toEqual([
      { url: `${sim.baseUrl}/v1/ashares?skip=25&limit=25`, rels: ['next'], params: { rel: 'next' } },
    ]);
    const big = await call(sim, 'GET', '/v1/ashares?limit=1000');
    expect((big.json as unknown[]).length).toBe(40);
    const last = await call(sim, 'GET', '/v1/ashares?skip=40&limit=40');
    expect((last.json as unknown[]).length).toBe(20);
    // The last page has only a prev link.
    expect(parseLinkHeader(last.headers.get('link') ?? '').map((l) => l.rels)).toEqual([['prev']]);
    expect((await call(sim, 'GET', '/v1/ashares?limit=abc')).status).toBe(422);
    expect((await call(sim, 'GET', '/v1/ashares?limit=0')).status).toBe(422);
  });

  it('after= cursors, and 204 for an empty list when asked', async () => {
    const sim = await startSim({ dataset: 'tiny', pagination: 'after', pageSize: 4, maxPageSize: 4 });
    const first = await call(sim, 'GET', '/v1/ashares');
    const ids = (first.json as Array<{ _id: string }>).map((s) => s._id);
    const [next] = parseLinkHeader(first.headers.get('link') ?? '');
    expect(next!.url).toBe(`${sim.baseUrl}/v1/ashares?after=${ids[3]}&limit=4`);
    sim.setOptions({ emptyListStatus: 204 });
    const end = await call(sim, 'GET', `/v1/ashares?after=ffffffffffffffffffffffff`);
    expect(end.status).toBe(204);
  });
});

describe('shares', () => {
  it("derives integration users like Celigo's UI: admin, manage, monitor (raised by an override), integration-only", async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const shares = sim.state.listShares();
    const [i0, i1] = sim.state.listIntegrations();
    const levelOn = async (integrationId: string) =>
      new Map(
        (
          (await call(sim, 'GET', `/v1/integrations/${integrationId}/ashares?limit=100`)).json as Array<{
            _id: string;
            accessLevel: string;
            integrationAccessLevel?: unknown;
          }>
        ).map((u) => {
          expect(u.integrationAccessLevel).toBeUndefined();
          return [u._id, u.accessLevel];
        }),
      );
    const on0 = await levelOn(i0!._id);
    const on1 = await levelOn(i1!._id);
    expect(on0.get(shares[0]!._id)).toBe('administrator');
    expect(on0.get(shares[1]!._id)).toBe('manage');
    expect(on1.get(shares[2]!._id)).toBe('manage'); // monitor + manage override
    expect(on0.get(shares[3]!._id)).toBe('manage'); // integration-only
    expect(on1.get(shares[3]!._id)).toBe('monitor');
    expect(on0.has(shares[6]!._id)).toBe(false); // declined invitation
    expect((await call(sim, 'GET', '/v1/integrations/ffffffffffffffffffffffff/ashares')).status).toBe(404);
  });

  it('PUT replaces the share (omitted fields cleared), records the raw body, and validates like Celigo', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const share = sim.state.listShares()[2]!;
    const path = `/v1/ashares/${share._id}`;
    expect((await call(sim, 'PUT', path, { accessLevel: 'manage', userType: 'x' })).status).toBe(400);
    expect((await call(sim, 'PUT', path, { accessLevel: 'owner' })).json).toMatchObject({
      errors: [{ code: 'invalid_field', field: 'accessLevel' }],
    });
    expect((await call(sim, 'PUT', path, { integrationAccessLevel: [] })).status).toBe(422);
    expect((await call(sim, 'PUT', path, '{not json')).status).toBe(400);
    expect((await call(sim, 'PUT', '/v1/ashares/ffffffffffffffffffffffff', { accessLevel: 'manage' })).status).toBe(
      404,
    );
    expect(sim.state.getShare(share._id)).toEqual(share);

    expect((await call(sim, 'PUT', path, { accessLevel: 'manage', sharedWithUser: { name: 'X' } })).status).toBe(204);
    const after = sim.state.getShare(share._id)!;
    expect(after).toMatchObject({ accessLevel: 'manage', integrationAccessLevel: [], accountSSORequired: false });
    expect(after.sharedWithUser).toEqual(share.sharedWithUser);
    expect(sim.puts.map((p) => p.status)).toEqual([400, 422, 422, 400, 404, 204]);
    expect(sim.puts.at(-1)!.raw).toBe('{"accessLevel":"manage","sharedWithUser":{"name":"X"}}');
  });

  it('GET one, invite, disable (toggle, accepted users only) and delete', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const [admin] = sim.state.listShares();
    expect((await call(sim, 'GET', `/v1/ashares/${admin!._id}`)).json).toEqual(JSON.parse(JSON.stringify(admin)));
    const invited = await call(sim, 'POST', '/v1/invite', { email: 'New.Person@Example.com', accessLevel: 'monitor' });
    expect(invited.status).toBe(201);
    const id = (invited.json as { _id: string; accepted: boolean })._id;
    expect(invited.json).toMatchObject({ accepted: false, accessLevel: 'monitor' });
    expect(
      (await call(sim, 'POST', '/v1/invite', { email: 'new.person@example.com', accessLevel: 'monitor' })).status,
    ).toBe(409);
    expect((await call(sim, 'POST', '/v1/invite', { email: 'x@example.com' })).status).toBe(422);
    expect((await call(sim, 'PUT', `/v1/ashares/${id}/disable`)).status).toBe(400);
    expect((await call(sim, 'PUT', `/v1/ashares/${admin!._id}/disable`)).status).toBe(204);
    expect(sim.state.getShare(admin!._id)!.disabled).toBe(true);
    expect((await call(sim, 'DELETE', `/v1/ashares/${id}`)).status).toBe(204);
    expect((await call(sim, 'DELETE', `/v1/ashares/${id}`)).status).toBe(404);
  });
});

describe('limits, faults and the log', () => {
  it("rate-limits per account with Celigo's 429 body and a whole-seconds Retry-After", async () => {
    const sim = await startSim({ dataset: 'tiny', rateLimit: { burst: 2, perSecond: 0.5 } });
    expect((await call(sim, 'GET', '/v1/integrations')).status).toBe(200);
    expect((await call(sim, 'GET', '/v1/integrations')).status).toBe(200);
    const limited = await call(sim, 'GET', '/v1/integrations');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.json).toEqual({
      errors: [{ code: 'rate_limited', message: 'Too many requests. Retry after 2 seconds.' }],
    });
    expect(sim.log.last()).toMatchObject({ rateLimited: true, status: 429 });
  });

  it('injects faults and logs every request without the token', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    sim.faults.injectNext({ kind: 'serverError', status: 503 });
    expect((await call(sim, 'GET', '/v1/ashares')).status).toBe(503);
    expect((await call(sim, 'GET', '/v1/ashares')).status).toBe(200);
    expect(sim.log.entries().map((e) => [e.status, e.fault, e.info.caller ?? null])).toEqual([
      [503, 'serverError', null],
      [200, null, 'token-1'],
    ]);
    expect(JSON.stringify(sim.log.entries())).not.toContain(sim.token);
  });
});

describe('datasets', () => {
  it('cover every case on the first records and are identical on every run', () => {
    const a = generateDataset('small');
    expect(generateDataset('small')).toEqual(a);
    const s = a.shares;
    expect(s.slice(0, 8).map((x) => x.accessLevel ?? '-')).toEqual([
      'administrator',
      'manage',
      'monitor',
      '-',
      'monitor',
      'manage',
      '-',
      'monitor',
    ]);
    expect([s[4]!.accepted, s[5]!.disabled, s[6]!.dismissed, s[7]!.sharedWithUser.name]).toEqual([
      false,
      true,
      true,
      undefined,
    ]);
    expect(a.integrations[0]!.description).toBeUndefined();
    const counts = (level?: string) => s.filter((x) => x.accessLevel === level).length;
    expect([counts('administrator'), counts('manage'), counts('monitor')]).toEqual([2, 4, 6]);
    // Every integration-only user has access to at least one integration.
    expect(s.filter((x) => !x.accessLevel && x.integrationAccessLevel.length === 0)).toEqual([]);
    expect(new Set(s.map((x) => x.sharedWithUser.email)).size).toBe(s.length);
  });

  it('large is the benchmark account: 5,000 users, 500 integrations, about 25,000 integration users', async () => {
    expect(DATASETS.large).toMatchObject({ users: 5_000, integrations: 500 });
    const sim = await startSim({ dataset: 'large' });
    const rows = sim.state.integrationUserCount();
    expect(rows).toBeGreaterThan(24_000);
    expect(rows).toBeLessThan(27_000);
  });
});
