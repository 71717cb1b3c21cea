/**
 * The connector definition: metadata, validate() and its error messages, the bundled simulator, and that the API
 * key never shows up in logs, errors or sync output.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Code, ConnectorError } from '@baton-ts/shared';
import { newRuntimeStats } from '@baton-ts/shared/testing';
import { HttpClientError } from '@baton-ts/shared/http';
import { configSchema } from '../src/config.js';
import { twingate, VERSION, createTwingateConnector, explainValidationError } from '../src/connector.js';
import { MemberPageCache } from '../src/member-cache.js';
import { captureLogger, closeAll, connectTo, fullSync, running, stableJson, startSim } from './helpers.js';

afterEach(closeAll);

describe('definition', () => {
  it('names the connector and keeps the version in step with package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(twingate.name).toBe('twingate');
    expect(twingate.version).toBe(VERSION);
    expect(VERSION).toBe(pkg.version);
    expect(twingate.metadata.displayName).toBe('Twingate');
    expect(Object.keys(twingate.config.shape)).toEqual(['apiKey', 'domain', 'baseUrl']);
  });

  it('creates syncers for group, role and user without any I/O', async () => {
    const config = configSchema.parse({ apiKey: 'k-123456', domain: 'acme' });
    const connector = twingate.create(config, { logger: captureLogger().logger, stats: newRuntimeStats() });
    expect(connector.syncers.map((s) => s.resourceType.id)).toEqual(['group', 'role', 'user']);
    for (const s of connector.syncers) expect(s.resourceType.traits).toHaveLength(1);
    expect(connector.syncers.filter((s) => s.grant && s.revoke).map((s) => s.resourceType.id)).toEqual([
      'group',
      'role',
    ]);
  });

  it('starts its bundled simulator lazily, and the simulator config is a valid connector config', async () => {
    const bundled = await twingate.simulator!();
    const sim = await bundled.start({ dataset: 'tiny' });
    try {
      const config = configSchema.parse({
        apiKey: sim.config['api-key'],
        domain: sim.config.domain,
        baseUrl: sim.config['base-url'],
      });
      const connector = twingate.create(config, { logger: captureLogger().logger, stats: newRuntimeStats() });
      await connector.validate({ signal: new AbortController().signal, logger: captureLogger().logger });
      expect(sim.requestCount()).toBe(1);
    } finally {
      await sim.close();
    }
  });
});

describe('validate', () => {
  it('is one request for one user', async () => {
    const sim = await startSim({ dataset: 'small' });
    const t = connectTo(sim);
    await t.connector.validate(t.ctx);
    const entry = sim.log.last()!;
    expect(sim.log.count()).toBe(1);
    expect((entry.body as { query: string }).query).toContain('users(first: 1)');
  });

  it('a rejected key is UNAUTHENTICATED with advice, and never shows the key', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim, { apiKey: 'tg-wrong-key-7f3a9c1e' });
    const err = (await t.connector.validate(t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.message).toContain('--api-key (BATON_API_KEY)');
    expect(err.message).toContain('401');
    expect(err.message).not.toContain('tg-wrong-key-7f3a9c1e');
  });

  it('an address that is not the Twingate API says to check the domain', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim, { baseUrl: `${sim.baseUrl}/not-graphql/` });
    const err = (await t.connector.validate(t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.NotFound);
    expect(err.message).toContain('check --domain');
  });

  it('an unknown host (DNS) is NOT_FOUND naming the domain', () => {
    const dns = new HttpClientError(
      Code.Unavailable,
      'twingate: POST /api/graphql/: getaddrinfo ENOTFOUND nope.twingate.com',
      {
        service: 'twingate',
        method: 'POST',
        path: '/api/graphql/',
        errorCode: 'ENOTFOUND',
        attempts: 1,
      },
    );
    const err = explainValidationError(
      dns,
      { domain: 'nope' },
      'https://nope.twingate.com/api/graphql/',
    ) as ConnectorError;
    expect(err.code).toBe(Code.NotFound);
    expect(err.message).toContain('Twingate network "nope"');
    expect(err.message).toContain('check --domain (BATON_DOMAIN)');
  });
});

describe('secrets', () => {
  it('a distinctive API key never appears in logs, errors or sync output', async () => {
    const KEY = 'tgk-DISTINCTIVE-0d7c1f4e9b2a-secret';
    const sim = await startSim({
      dataset: 'small',
      apiKey: KEY,
      faults: { probabilities: { rateLimit: 0.15, serverError: 0.15 }, retryAfterSeconds: 0, seed: 'secrets' },
    });
    const t = connectTo(sim);
    const result = await fullSync(t);
    expect(result.grants.length).toBeGreaterThan(0);

    const errors: string[] = [];
    const collect = async (p: Promise<unknown>) =>
      p.catch((e: unknown) =>
        errors.push(`${(e as Error).message} ${JSON.stringify(e)} ${String((e as Error).cause ?? '')}`),
      );
    // The same key sent to a server that does not accept it, and a server error that outlasts the retries.
    const other = await startSim({ dataset: 'tiny' });
    const wrong = connectTo(other, { apiKey: KEY });
    await collect(wrong.connector.validate(wrong.ctx));
    sim.faults.clear();
    sim.faults.injectNext({ kind: 'serverError', status: 503 }, 20);
    await collect(t.connector.validate(t.ctx));
    expect(errors).toHaveLength(2);

    const everything = [...t.log.lines, ...wrong.log.lines, ...errors, stableJson(result)].join('\n');
    expect(t.log.lines.length).toBeGreaterThan(10); // debug lines for every request were captured
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain('0d7c1f4e9b2a');
    expect(running.length).toBe(2);
  });
});

describe('member page cache', () => {
  it('bounds what it holds, evicting the oldest groups, and expires entries', () => {
    let now = 0;
    const cache = new MemberPageCache({ maxUserIds: 10, ttlMs: 1_000, now: () => now });
    const page = (n: number) => ({
      userIds: Array.from({ length: n }, (_, i) => `u${i}`),
      endCursor: null,
      hasNextPage: false,
    });
    cache.put('a', page(4));
    cache.put('b', page(4));
    expect(cache.heldUnits).toBe(10);
    cache.put('c', page(2));
    expect(cache.take('a')).toBeUndefined();
    expect(cache.take('b')?.userIds).toHaveLength(4);
    expect(cache.take('b')).toBeUndefined(); // taken once
    cache.put('big', page(50));
    expect(cache.take('big')).toBeUndefined();
    now = 5_000;
    expect(cache.take('c')).toBeUndefined();
    expect(cache.heldUnits).toBe(0);
  });

  it('is cleared by cleanup()', async () => {
    const config = configSchema.parse({ apiKey: 'k-123456', domain: 'acme' });
    const connector = createTwingateConnector(config, { logger: captureLogger().logger, stats: newRuntimeStats() });
    connector.memberCache.put('g', { userIds: ['u'], endCursor: null, hasNextPage: false });
    await connector.cleanup!();
    expect(connector.memberCache.size).toBe(0);
  });
});
