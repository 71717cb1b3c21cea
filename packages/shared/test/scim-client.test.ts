/**
 * The SCIM client against the SCIM simulator over real HTTP: paging under every paging quirk, what goes on the wire,
 * the error schema mapped to gRPC codes with the server's detail, 429 with Retry-After in seconds or as an HTTP date,
 * and the PATCH dialect fallback.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Code, ConnectorError } from '../src/index.js';
import { newRuntimeStats } from '../src/sdk/connector.js';
import { captureLogger } from '../src/testing/in-process.js';
import {
  ScimClient,
  ScimError,
  scimEq,
  type ScimClientOptions,
  type ScimGroup,
  type ScimPageState,
  type ScimUser,
} from '../src/scim/index.js';
import {
  SCIM_QUIRK_PRESETS,
  scimSimulatorSet,
  type ScimQuirkPreset,
  type ScimSimulator,
} from '../src/scim/simulator/index.js';

const sims = scimSimulatorSet({ dataset: 'small' });
afterEach(() => sims.closeAll());
const startSim = sims.start;

function clientFor(sim: ScimSimulator, options: Partial<ScimClientOptions> = {}) {
  const log = captureLogger();
  const stats = newRuntimeStats();
  const client = new ScimClient({
    service: 'scimtest',
    baseUrl: sim.scimUrl,
    token: sim.token,
    logger: log.logger,
    stats,
    retry: { maxAttempts: 4, baseDelayMs: 1, maxWaitMs: 5_000 },
    ...options,
  });
  return { client, log, stats };
}

async function rejection(promise: Promise<unknown>): Promise<ScimError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ScimError);
  expect(err).toBeInstanceOf(ConnectorError);
  return err as ScimError;
}

/** Every page of /Users as a host would ask for them: `size` items per page, each state through JSON. */
async function listUsers(client: ScimClient, size: number): Promise<string[]> {
  const ids: string[] = [];
  let state: ScimPageState | undefined;
  for (let i = 0; i < 10_000; i++) {
    const page = await client.listPage<ScimUser>('Users', state, size);
    expect(page.items.length).toBeLessThanOrEqual(size);
    ids.push(...page.items.map((u) => u.id));
    if (!page.next) return ids;
    state = JSON.parse(JSON.stringify(page.next)) as ScimPageState;
  }
  throw new Error('did not terminate');
}

describe('paging', () => {
  const cases: Array<[ScimQuirkPreset, number]> = [
    ['standard', 3],
    ['echoes-count', 3],
    ['no-paging-fields', 3],
    ['ignores-count', 1],
    ['caps-page-size', Math.ceil(250 / 7)],
  ];
  it.each(cases)('reads every user exactly once from a server that %s, in %i requests', async (preset, requests) => {
    const sim = await startSim(SCIM_QUIRK_PRESETS[preset]);
    const expected = sim.state.listUsers().map((u) => u.id);
    for (const size of [100, 30]) {
      sim.log.clear();
      const { client } = clientFor(sim);
      const ids = await listUsers(client, size);
      expect(ids).toEqual(expected);
      // The host's page size does not change the number of API requests.
      expect(sim.log.count(), `host page size ${size}`).toBe(requests);
      for (const e of sim.log.entries()) expect(e.query.count).toBe('100');
    }
  });

  it('a page state resumed in a new process (no buffer) continues where it was, even when count is ignored', async () => {
    const sim = await startSim({ ignoreCount: true, omitPagingFields: true });
    const { client } = clientFor(sim);
    const first = await client.listPage<ScimUser>('Users', undefined, 100);
    expect(client.bufferedItems).toBe(150);
    const { client: fresh } = clientFor(sim);
    sim.log.clear();
    const second = await fresh.listPage<ScimUser>('Users', first.next, 100);
    expect(second.items.map((u) => u.id)).toEqual(
      sim.state
        .listUsers()
        .slice(100, 200)
        .map((u) => u.id),
    );
    expect(sim.log.last()!.query.startIndex).toBe('101');
  });

  it('stops with FAILED_PRECONDITION instead of looping when the server ignores startIndex', async () => {
    const sim = await startSim({ ignoreStartIndex: true, omitPagingFields: true });
    const { client } = clientFor(sim);
    const err = await rejection(listUsers(client, 100));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain('does not page by startIndex');
    expect(sim.log.count()).toBe(2);
  });

  it('stops at an empty page even when totalResults promised more, with a warning', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client, log } = clientFor(sim);
    const page = await client.listPage<ScimUser>('Users', { startIndex: 50 }, 100);
    expect(page).toMatchObject({ items: [], next: undefined });
    expect(log.lines.some((l) => l.includes('"level":"warn"'))).toBe(false); // 50 > 8: nothing was promised
    expect(await client.listAll('Groups')).toHaveLength(5);
  });
});

describe('on the wire', () => {
  it('asks for SCIM JSON, sends SCIM JSON, and passes filter, attributes and excludedAttributes', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    const alice = sim.state.listUsers()[0]!;
    const found = await client.findOne<ScimUser>('Users', scimEq('userName', alice.userName.toUpperCase()));
    expect(found?.id).toBe(alice.id);
    const e = sim.log.last()!;
    expect(e.query).toMatchObject({ filter: `userName eq "${alice.userName.toUpperCase()}"`, count: '1' });
    expect(e.info.accept).toBe('application/scim+json, application/json');

    const group = sim.state.listGroups()[0]!;
    const bare = await client.get<ScimGroup>('Groups', group.id, { excludedAttributes: ['members'] });
    expect(bare).toMatchObject({ id: group.id, displayName: group.displayName });
    expect(bare).not.toHaveProperty('members');
    const onlyGroups = await client.get<ScimUser>('Users', alice.id, { attributes: ['groups'] });
    expect(Object.keys(onlyGroups!).sort()).toEqual(['groups', 'id', 'schemas']);

    await client.patch('Groups', group.id, [{ kind: 'replace', path: 'displayName', value: 'Renamed' }]);
    expect(sim.log.last()!.info.contentType).toBe('application/scim+json');
    expect(sim.state.getGroup(group.id)!.displayName).toBe('Renamed');
  });

  it('quotes filter values, so a quote in a value cannot change the expression', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    expect(await client.findOne('Users', scimEq('userName', 'x" or userName pr or userName eq "y'))).toBeUndefined();
    expect(() => scimEq('userName) or (id', 'x')).toThrow(/not a SCIM attribute path/);
  });

  it('accepts application/json responses, PATCH answers with a body (200) or without (204)', async () => {
    const sim = await startSim({ dataset: 'tiny', ...SCIM_QUIRK_PRESETS['plain-json'] });
    const { client } = clientFor(sim);
    const group = sim.state.listGroups()[1]!;
    const user = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    const answer = (await client.patch('Groups', group.id, [{ kind: 'addMembers', ids: [user.id] }])) as ScimGroup;
    expect(answer.members?.some((m) => m.value === user.id)).toBe(true);
    sim.setQuirks({ patchResponse: 204 });
    expect(await client.patch('Groups', group.id, [{ kind: 'removeMember', id: user.id }])).toBeUndefined();
    expect(sim.state.isMember(group.id, user.id)).toBe(false);
  });
});

describe('errors', () => {
  it('maps the SCIM error schema to gRPC codes and keeps the server detail and scimType', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    const taken = sim.state.listUsers()[0]!.userName;
    const conflict = await rejection(client.create('Users', { userName: taken }));
    expect(conflict).toMatchObject({ code: Code.AlreadyExists, status: 409, scimType: 'uniqueness' });
    expect(conflict.message).toBe(
      `scimtest: POST /Users: 409 (uniqueness): User with userName ${taken} already exists`,
    );

    const filter = await rejection(client.findOne('Users', 'userName eq'));
    expect(filter).toMatchObject({ code: Code.InvalidArgument, status: 400, scimType: 'invalidFilter' });

    const group = sim.state.listGroups()[0]!;
    const noTarget = await rejection(client.patch('Groups', group.id, [{ kind: 'removeMember', id: 'not-a-member' }]));
    expect(noTarget).toMatchObject({ code: Code.NotFound, scimType: 'noTarget' });

    expect(await client.get('Users', 'nobody')).toBeUndefined();
    expect(await client.delete('Users', 'nobody')).toBe(false);
    expect(sim.log.filter((e) => e.status >= 400).length).toBe(5); // none of these is retried
  });

  it('reads status as a number, non-SCIM bodies and a missing /Groups the same way', async () => {
    const sim = await startSim({ dataset: 'tiny', statusAsNumber: true, contentType: 'application/json' });
    const { client } = clientFor(sim, { token: 'scim-wrong-token-1234' });
    const err = await rejection(client.probe());
    expect(err).toMatchObject({ code: Code.Unauthenticated, status: 401 });
    expect(err.message).toContain('missing or invalid bearer token');

    sim.setQuirks({ groupsEndpoint: 501 });
    const { client: ok } = clientFor(sim);
    expect(await rejection(ok.listAll('Groups'))).toMatchObject({ code: Code.Unimplemented, status: 501 });

    sim.faults.injectNext({ kind: 'serverError', status: 502 }, 4);
    const proxy = await rejection(ok.probe());
    expect(proxy).toMatchObject({ code: Code.Unavailable, status: 502 });
    expect(proxy.message).toContain('502 Bad Gateway');
  });

  it('an unreachable server is UNAVAILABLE with the transport code', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const url = sim.scimUrl;
    await sim.close();
    const client = new ScimClient({
      service: 'scimtest',
      baseUrl: url,
      token: 'scim-x-token',
      retry: { maxAttempts: 1 },
    });
    const err = await rejection(client.probe());
    expect(err).toMatchObject({ code: Code.Unavailable, errorCode: 'ECONNREFUSED' });
  });

  it('a 2xx that is not a SCIM ListResponse fails the probe, whether JSON or a login page', async () => {
    let body = '{"ok":true}';
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': body.startsWith('<') ? 'text/html' : 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/scim/v2`;
      const client = new ScimClient({ service: 'scimtest', baseUrl, token: 'scim-x-token', retry: { maxAttempts: 1 } });
      const json = await rejection(client.probe());
      expect(json).toMatchObject({ code: Code.FailedPrecondition, status: 200 });
      expect(json.message).toContain('not a SCIM ListResponse');
      body = '<html><body>Sign in</body></html>';
      const html = await rejection(client.probe());
      expect(html).toMatchObject({ code: Code.Unavailable, status: 200 });
      expect(html.message).toContain('malformed JSON');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('never puts the token into an error or a log line', async () => {
    const TOKEN = 'scim-DISTINCTIVE-a81f3c55e0-token';
    const sim = await startSim({ dataset: 'tiny', token: TOKEN });
    const { client, log } = clientFor(sim);
    const { client: wrong, log: wrongLog } = clientFor(sim, { token: `${TOKEN}-wrong` });
    const errors = [
      await rejection(wrong.probe()),
      await rejection(client.findOne('Users', 'bad filter')),
      await rejection(client.create('Users', {})),
    ];
    sim.faults.injectNext({ kind: 'serverError', status: 500 }, 10);
    errors.push(await rejection(client.probe()));
    const text = [...log.lines, ...wrongLog.lines, ...errors.map((e) => `${e.message} ${JSON.stringify(e)}`)].join(
      '\n',
    );
    expect(log.lines.length).toBeGreaterThan(4);
    expect(text).not.toContain('a81f3c55e0');
  });
});

describe('429', () => {
  // Only Date is faked (sockets and timers stay real): the simulator's window and the client's reading of an HTTP
  // date then agree on one instant, the start of a 30 s window, so the asked-for wait is exactly 30 s on every run.
  // With the real clock the rest of the window depends on when the test happens to run (under 1 s, 1 time in 30).
  afterEach(() => vi.useRealTimers());

  for (const format of ['seconds', 'http-date'] as const) {
    it(`waits for Retry-After given as ${format}, then succeeds`, async () => {
      const windowMs = 30_000;
      vi.useFakeTimers({ toFake: ['Date'], now: Math.ceil(Date.now() / windowMs) * windowMs });
      const sim = await startSim({
        dataset: 'tiny',
        clock: () => Date.now(),
        rateLimits: { read: 2, write: 0 },
        rateLimitWindowMs: windowMs,
        retryAfter: format,
      });
      const waits: number[] = [];
      const { client, stats } = clientFor(sim, {
        retry: { maxAttempts: 3, baseDelayMs: 1, maxWaitMs: 60_000 },
        sleep: async (ms) => {
          waits.push(ms);
          vi.setSystemTime(Date.now() + ms);
        },
      });
      await client.probe();
      await client.probe();
      await client.probe();
      expect(sim.log.entries().map((e) => e.status)).toEqual([200, 200, 429, 200]);
      const limited = sim.log.entries()[2]!.info;
      expect(limited.rateLimited).toBe(true);
      expect(limited.retryAfter).toMatch(
        format === 'seconds' ? /^30$/ : /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} [\d:]{8} GMT$/,
      );
      // The wait is what the server asked for: the whole 30 s window, not the client's own 1 ms backoff.
      expect(waits).toEqual([windowMs]);
      expect(stats).toMatchObject({ rateLimitWaits: 1, retries: 1 });
    });
  }
});

describe('PATCH dialects', () => {
  it('falls back once to Entra legacy form (capitalised ops, member list) and keeps using it', async () => {
    const sim = await startSim({ dataset: 'tiny', ...SCIM_QUIRK_PRESETS['entra-legacy-patch'] });
    const { client } = clientFor(sim);
    const group = sim.state.listGroups()[0]!;
    const [a, b] = sim.state.groupMembers(group.id);
    await client.patch('Groups', group.id, [{ kind: 'removeMember', id: a!.id }]);
    expect(sim.log.entries().map((e) => e.status)).toEqual([400, 204]);
    expect(client.patchDialect).toBe('entra-legacy');
    await client.patch('Groups', group.id, [{ kind: 'removeMember', id: b!.id }]);
    expect(sim.log.count()).toBe(3);
    expect(sim.log.last()!.body).toMatchObject({
      Operations: [{ op: 'Remove', path: 'members', value: [{ value: b!.id }] }],
    });
    expect(sim.state.isMember(group.id, a!.id) || sim.state.isMember(group.id, b!.id)).toBe(false);
  });

  it('speaks the RFC dialect to a strict server, first time', async () => {
    const sim = await startSim({ dataset: 'tiny', ...SCIM_QUIRK_PRESETS['rfc-strict-patch'] });
    const { client } = clientFor(sim);
    const group = sim.state.listGroups()[0]!;
    const member = sim.state.groupMembers(group.id)[0]!;
    await client.patch('Groups', group.id, [{ kind: 'removeMember', id: member.id }]);
    expect(sim.log.entries().map((e) => e.status)).toEqual([204]);
    expect(sim.log.last()!.body).toMatchObject({
      Operations: [{ op: 'remove', path: `members[value eq "${member.id}"]` }],
    });
    expect(client.patchDialect).toBe('rfc');
  });

  it('does not retry a rejection that is about the content (mutability), in either dialect', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    const user = sim.state.listUsers()[0]!;
    const err = await rejection(client.patch('Users', user.id, [{ kind: 'replace', path: 'id', value: 'x' }]));
    expect(err).toMatchObject({ code: Code.FailedPrecondition, scimType: 'mutability' });
    expect(sim.log.count()).toBe(1);
  });
});
