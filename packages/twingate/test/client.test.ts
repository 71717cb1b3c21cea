/**
 * Contract tests of the GraphQL client against the Twingate simulator over real HTTP: what goes on the wire
 * (variables, cursors, page sizes), how pages and nested member pages are read, and how every kind of failure
 * surfaces (never as an empty or short page).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Code, ConnectorError } from '@baton-ts/shared';
import { newRuntimeStats } from '@baton-ts/shared/testing';
import type { DatasetSpec, TwingateSimulator } from '../simulator/index.js';
import { MAX_PAGE_SIZE, TwingateClient, type TwingateClientOptions } from '../src/client.js';
import { captureLogger, closeAll, gqlInfo, isMutation, operationName, startSim } from './helpers.js';

afterEach(closeAll);

/** 250 users (3 pages), a 230-member group (nested page + 2 more), every role, state and group type. */
const MID: DatasetSpec = {
  users: 250,
  groups: 8,
  memberships: 600,
  seed: 'client-mid',
  largeGroupSizes: [230, 100, 101],
};

function clientFor(sim: TwingateSimulator, options: Partial<TwingateClientOptions> = {}) {
  const log = captureLogger();
  const stats = newRuntimeStats();
  const client = new TwingateClient({
    endpoint: sim.config['base-url']!,
    apiKey: sim.apiKey,
    logger: log.logger,
    stats,
    retry: { maxAttempts: 5, baseDelayMs: 1, maxWaitMs: 5_000 },
    ...options,
  });
  return { client, log, stats };
}

async function rejection(promise: Promise<unknown>): Promise<ConnectorError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectorError);
  return err as ConnectorError;
}

describe('queries on the wire', () => {
  it('sends ids, cursors and page sizes as variables, never "<nil>", with the largest page size', async () => {
    const sim = await startSim({ dataset: MID });
    const { client } = clientFor(sim);
    const ids: string[] = [];
    let after: string | undefined;
    do {
      const page = await client.listUsers({ after });
      ids.push(...page.items.map((u) => u.id));
      after = page.hasNextPage ? page.endCursor! : undefined;
    } while (after);
    expect(ids).toEqual(sim.state.listUsers().map((u) => u.id));

    const entries = sim.log.entries();
    expect(entries).toHaveLength(3);
    for (const [i, entry] of entries.entries()) {
      const body = entry.body as { query: string; variables: Record<string, unknown>; operationName: string };
      expect(body.operationName).toBe('ListUsers');
      expect(body.query).not.toContain('<nil>');
      // Nothing but variable references in the arguments: no literal cursor or id in the text.
      expect(body.query).toMatch(/users\(first: \$first, after: \$after\)/);
      expect(body.variables.first).toBe(MAX_PAGE_SIZE);
      if (i === 0) expect(body.variables).not.toHaveProperty('after');
      else expect(typeof body.variables.after).toBe('string');
      const call = gqlInfo(entry)!.calls.find((c) => c.path === 'users')!;
      expect(call.args.first).toBe(100);
    }
    expect(JSON.stringify(entries.map((e) => e.body))).not.toContain('<nil>');
  });

  it('reads users with role, state and type', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    const page = await client.listUsers();
    const expected = sim.state.listUsers();
    expect(page.items).toHaveLength(expected.length);
    expect(page.hasNextPage).toBe(false);
    for (const [i, u] of page.items.entries()) {
      expect(u).toMatchObject({
        id: expected[i]!.id,
        email: expected[i]!.email,
        firstName: expected[i]!.firstName,
        lastName: expected[i]!.lastName,
        role: expected[i]!.role,
        state: expected[i]!.state,
        type: expected[i]!.type,
      });
    }
  });

  it('lists groups with their first 100 members nested, and pages the rest with the nested cursor', async () => {
    const sim = await startSim({ dataset: MID });
    const { client } = clientFor(sim);
    const page = await client.listGroups();
    expect(page.items.map((g) => g.id)).toEqual(sim.state.listGroups().map((g) => g.id));
    expect(sim.log.count()).toBe(1);
    const call = gqlInfo(sim.log.last()!)!.calls.find((c) => c.path === 'groups.edges.node.users')!;
    expect(call.args).toEqual({ first: 100 });

    for (const group of page.items) {
      const all = sim.state.groupMembers(group.id).map((u) => u.id);
      expect(group.type).toBe(sim.state.getGroup(group.id)!.type);
      expect(group.members.userIds).toEqual(all.slice(0, 100));
      expect(group.members.hasNextPage).toBe(all.length > 100);
      const ids = [...group.members.userIds];
      let members = group.members;
      while (members.hasNextPage) {
        const more = await client.groupMembers(group.id, { after: members.endCursor! });
        expect(more.group?.id).toBe(group.id);
        ids.push(...more.members.userIds);
        members = more.members;
      }
      expect(ids).toEqual(all);
    }
    const big = page.items.find((g) => sim.state.groupMembers(g.id).length === 230)!;
    expect(big.members.hasNextPage).toBe(true);
    // Extra requests only for groups larger than the nested page (Everyone: 250, 230, 101 members, ...).
    const extra = sim.log.filter((e) => operationName(e) === 'GroupMembers');
    const expected = page.items.reduce(
      (n, g) => n + Math.max(0, Math.ceil(sim.state.groupMembers(g.id).length / 100) - 1),
      0,
    );
    expect(expected).toBeGreaterThanOrEqual(2 + 2 + 1);
    expect(extra.length).toBe(expected);
    for (const e of extra)
      expect((e.body as { variables: Record<string, unknown> }).variables.after).toEqual(expect.any(String));
  });

  it('filters users by role through a variable', async () => {
    const sim = await startSim({ dataset: MID });
    const { client } = clientFor(sim);
    const page = await client.listUserIdsWithRole('ADMIN');
    expect(page.items).toEqual(
      sim.state
        .listUsers()
        .filter((u) => u.role === 'ADMIN')
        .map((u) => u.id),
    );
    const body = sim.log.last()!.body as { query: string; variables: Record<string, unknown> };
    expect(body.variables).toEqual({ role: 'ADMIN', first: 100 });
  });

  it('answers null for unknown users and groups', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    expect(await client.getUser('VXNlcjo5OTk5')).toBeNull();
    expect((await client.groupMembers('R3JvdXA6OTk5OQ==')).group).toBeNull();
    const check = await client.checkMembership('R3JvdXA6OTk5OQ==', sim.state.listUsers()[0]!.id);
    expect(check.group).toBeNull();
  });

  it('checks membership from the user side in one request', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    const group = sim.state.listGroups().find((g) => g.type === 'MANUAL' && sim.state.groupMembers(g.id).length > 0)!;
    const member = sim.state.groupMembers(group.id)[0]!;
    const outsider = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    expect(await client.checkMembership(group.id, member.id)).toMatchObject({
      isMember: true,
      group: { type: 'MANUAL' },
    });
    expect(await client.checkMembership(group.id, outsider.id)).toMatchObject({
      isMember: false,
      user: { id: outsider.id },
    });
    expect(sim.log.count()).toBe(2);
  });
});

describe('errors are surfaced, never silent', () => {
  it('top-level GraphQL errors carry the API message (HTTP 200 and 400)', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    const err = await rejection(
      client.execute('Bad', 'query Bad { users(first: 500) { edges { node { id } } } }', undefined),
    );
    expect(err.message).toContain('exceeds the `first` limit of 100');

    sim.setOptions({ requestErrorStatus: 400 });
    const err400 = await rejection(client.execute('Bad', 'query Bad { users { nope } }', undefined));
    expect(err400.message).toContain('Cannot query field "nope"');
    expect(sim.log.count()).toBe(2); // a client error is not retried
  });

  it('ok:false payloads become errors with the API message', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    const synced = sim.state.listGroups().find((g) => g.type === 'SYNCED')!;
    const user = sim.state.listUsers()[0]!;
    const err = await rejection(client.addGroupMembers(synced.id, [user.id]));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toContain('cannot be modified');
    const manual = sim.state.listGroups().find((g) => g.type === 'MANUAL')!;
    const missing = await rejection(client.addGroupMembers(manual.id, ['VXNlcjo5OTk5']));
    expect(missing.message).toContain('does not exist');
    const role = await rejection(client.updateUserRole('VXNlcjo5OTk5', 'ADMIN'));
    expect(role.message).toContain('does not exist');
  });

  it('401 is Unauthenticated', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim, { apiKey: 'wrong-key-123456' });
    const err = await rejection(client.validate());
    expect(err.code).toBe(Code.Unauthenticated);
    expect(sim.log.count()).toBe(1);
  });

  it('honours Retry-After on 429 and retries 5xx for queries', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const waits: number[] = [];
    const { client, stats } = clientFor(sim, {
      sleep: async (ms) => void waits.push(ms),
      retry: { maxAttempts: 5, baseDelayMs: 1, maxWaitMs: 60_000 },
    });
    sim.faults.injectNext({ kind: 'rateLimit', retryAfterSeconds: 7 });
    sim.faults.injectNext({ kind: 'serverError', status: 502 });
    const page = await client.listUsers();
    expect(page.items).toHaveLength(8);
    expect(waits[0]).toBe(7_000);
    expect(waits).toHaveLength(2);
    expect(sim.log.entries().map((e) => e.status)).toEqual([429, 502, 200]);
    expect(stats.rateLimitWaits).toBe(1);
  });

  it('really waits for Retry-After', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim);
    sim.faults.injectNext({ kind: 'rateLimit', retryAfterSeconds: 1 });
    const started = Date.now();
    await client.listUsers();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('a 429 that outlasts the retries is an Unavailable error, not an empty page', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim, { retry: { maxAttempts: 2, baseDelayMs: 1 }, sleep: async () => {} });
    sim.faults.injectNext({ kind: 'rateLimit', retryAfterSeconds: 1 }, 5);
    const err = await rejection(client.listUsers());
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rateLimit?.status).toBe('overlimit');
  });

  it('retries a mutation after 429 but not after a 500 (it may have been applied)', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const { client } = clientFor(sim, { sleep: async () => {} });
    const group = sim.state.listGroups().find((g) => g.type === 'MANUAL' && g.isActive)!;
    const outsider = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    sim.faults.injectNext({ kind: 'rateLimit', retryAfterSeconds: 1 });
    await client.addGroupMembers(group.id, [outsider.id]);
    expect(sim.state.isMember(group.id, outsider.id)).toBe(true);
    expect(sim.log.filter(isMutation).map((e) => e.status)).toEqual([429, 200]);

    sim.log.clear();
    sim.faults.injectNext({ kind: 'serverError', status: 500 });
    const err = await rejection(client.removeGroupMembers(group.id, [outsider.id]));
    expect(err.code).toBe(Code.Unavailable);
    expect(sim.log.count()).toBe(1);
  });
});

describe('against a misbehaving server', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(bodies: unknown[]): Promise<string> {
    let i = 0;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const body = bodies[Math.min(i++, bodies.length - 1)];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/api/graphql/`;
  }

  it('skips null edges and nodes with a warning instead of crashing', async () => {
    const endpoint = await serve([
      {
        data: {
          users: {
            edges: [
              null,
              { node: null },
              {
                node: {
                  id: 'VXNlcjox',
                  email: 'a@example.com',
                  firstName: '',
                  lastName: '',
                  role: 'MEMBER',
                  state: 'ACTIVE',
                  type: 'MANUAL',
                },
              },
            ],
            pageInfo: { endCursor: 'YXJyYXljb25uZWN0aW9uOjI=', hasNextPage: false },
          },
        },
      },
    ]);
    const log = captureLogger();
    const client = new TwingateClient({ endpoint, apiKey: 'k-123456', logger: log.logger });
    const page = await client.listUsers();
    expect(page.items.map((u) => u.id)).toEqual(['VXNlcjox']);
    expect(log.lines.some((l) => l.includes('skipped edges without a node') && l.includes('"skipped":2'))).toBe(true);
  });

  it('refuses "more pages" without a usable cursor, and a payload without data', async () => {
    const endpoint = await serve([
      { data: { users: { edges: [], pageInfo: { endCursor: null, hasNextPage: true } } } },
      { data: { groupUpdate: null } },
      { data: null },
      '<html>login</html>',
    ]);
    const client = new TwingateClient({ endpoint, apiKey: 'k-123456', retry: { maxAttempts: 1 } });
    expect((await rejection(client.listUsers())).message).toContain('no new cursor');
    expect((await rejection(client.addGroupMembers('g', ['u']))).message).toContain('no result');
    expect((await rejection(client.listUsers())).message).toContain('no data');
    expect((await rejection(client.listUsers())).message).toContain('malformed JSON');
  });
});
