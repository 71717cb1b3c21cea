/**
 * The API client and validate() against the simulator: the 401 forms, scope errors, rate limits with Retry-After,
 * transient failures, and the messages a user sees. The token never appears in an error or a log line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Code, type ConnectorError } from '@baton-ts/shared';
import { HttpClientError } from '@baton-ts/shared/http';
import { explainValidationError } from '../src/connector.js';
import { closeAll, connectTo, fullSync, startSim, errorOf } from './helpers.js';

afterEach(closeAll);

describe('validate', () => {
  it('is one request that needs what a sync needs: reading the users', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    await t.connector.validate(t.ctx);
    expect(sim.log.entries().map((e) => [e.method, e.path, e.query, e.status])).toEqual([
      ['GET', '/v1/ashares', { limit: '1' }, 200],
    ]);
  });

  it('a bad token is UNAUTHENTICATED, quotes Celigo, names the flag and the Full access scope, and hides the token', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim, { token: 'celigo-WRONG-token-5e1f' });
    const err = await errorOf(t.connector.validate(t.ctx));
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.message).toContain('--celigo-access-token (BATON_CELIGO_ACCESS_TOKEN)');
    expect(err.message).toContain('Full access');
    expect(err.message).toContain('Bearer Authentication Failed');
    expect(err.message).not.toContain('WRONG-token');
    expect(JSON.stringify(t.log.lines)).not.toContain('WRONG-token');
    // A 401 is not retried.
    expect(sim.log.count()).toBe(1);
  });

  it('a Custom scope token is PERMISSION_DENIED with the same advice', async () => {
    const sim = await startSim({ dataset: 'tiny', extraTokens: [{ token: 'celigo-custom-1', scope: 'custom' }] });
    const t = connectTo(sim, { token: 'celigo-custom-1' });
    const err = await errorOf(t.connector.validate(t.ctx));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(/Full access scope.*Custom scope token cannot read users/);
  });

  it('an address that is not the Celigo API is NOT_FOUND and says to check the region / base URL', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim, { baseUrl: `${sim.baseUrl}/nothing-here` });
    const err = await errorOf(t.connector.validate(t.ctx));
    expect(err.code).toBe(Code.NotFound);
    expect(err.message).toContain('check --region (BATON_REGION) and --base-url');
  });

  it('a server that is not the Celigo API (a web page, a redirect) is FAILED_PRECONDITION naming the region', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    sim.faults.set({ rules: [{ fault: { kind: 'malformed' }, every: 1 }] });
    const t = connectTo(sim, {}, { http: { retry: { maxAttempts: 2, baseDelayMs: 1 } } });
    const err = await errorOf(t.connector.validate(t.ctx));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.message).toMatch(/did not answer like the Celigo API \(HTTP 200.*check --region/);
  });

  it('an unknown host names the region and its API URL', () => {
    const dns = new HttpClientError(Code.Unavailable, 'celigo: GET /v1/ashares: getaddrinfo ENOTFOUND', {
      service: 'celigo',
      method: 'GET',
      path: '/v1/ashares',
      errorCode: 'ENOTFOUND',
      attempts: 1,
    });
    const err = explainValidationError(dns, { region: 'eu' }) as ConnectorError;
    expect(err.code).toBe(Code.NotFound);
    expect(err.message).toContain('region eu (https://api.eu.integrator.io)');
  });

  it('a missing Authorization header gets the other 401 body', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const res = await fetch(`${sim.baseUrl}/v1/ashares`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: 'Unauthorized' });
  });
});

describe('rate limits and transient failures', () => {
  it("honours Celigo's 429 Retry-After (leaky bucket) and finishes the sync with the same result", async () => {
    let now = Date.parse('2024-05-01T00:00:00Z');
    const sim = await startSim({ dataset: 'small', rateLimit: { burst: 4, perSecond: 1 }, clock: () => now });
    const waits: number[] = [];
    const t = connectTo(
      sim,
      { syncId: 's' },
      {
        http: {
          retry: { maxAttempts: 10 },
          // The simulator's clock moves while the client "sleeps".
          sleep: async (ms) => {
            waits.push(ms);
            now += ms;
          },
        },
      },
    );
    const result = await fullSync(t);
    const limited = sim.log.filter((e) => e.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((e) => e.rateLimited)).toBe(true);
    // Whole seconds, as Celigo sends them, and no wait that the server did not ask for.
    expect(waits.length).toBe(limited.length);
    expect(waits.every((ms) => ms >= 1000 && ms % 1000 === 0)).toBe(true);
    expect(t.stats.rateLimitWaits).toBe(limited.length);

    const clean = await startSim({ dataset: 'small' });
    const reference = await fullSync(connectTo(clean, { syncId: 's' }));
    expect(result.grants.map((g) => g.id).sort()).toEqual(reference.grants.map((g) => g.id).sort());
  });

  it('a 429 carries the Celigo error body, and the error after the last attempt says so', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    sim.setOptions({ rateLimit: { burst: 1, perSecond: 0.001 } });
    const t = connectTo(sim, {}, { http: { retry: { maxAttempts: 2 }, sleep: async () => {} } });
    await t.connector.validate(t.ctx);
    const err = await errorOf(t.connector.validate(t.ctx));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.message).toMatch(/429 Too Many Requests: Too many requests\. Retry after \d+ seconds\./);
    expect(err.rateLimit).toBeDefined();
  });

  it('retries 5xx, resets and malformed bodies on reads, and the sync equals a fault-free one', async () => {
    const sim = await startSim({ dataset: 'small' });
    const reference = await fullSync(connectTo(sim, { syncId: 'a' }));
    sim.faults.set({
      probabilities: { serverError: 0.15, reset: 0.05, malformed: 0.05, rateLimit: 0.1 },
      retryAfterSeconds: 0,
      seed: 'client-faults',
    });
    const from = sim.log.last()!.seq;
    const result = await fullSync(connectTo(sim, { syncId: 'b' }));
    const faulted = sim.log.filter((e) => e.seq > from && e.fault !== null);
    expect(faulted.length).toBeGreaterThan(3);
    expect(result.resources.map((r) => r.id!.resource)).toEqual(reference.resources.map((r) => r.id!.resource));
    expect(result.entitlements.map((e) => e.id)).toEqual(reference.entitlements.map((e) => e.id));
    expect(result.grants.map((g) => g.id)).toEqual(reference.grants.map((g) => g.id));
  });
});

describe('secrets', () => {
  it('the token never appears in logs, errors or sync output, even with failures', async () => {
    const TOKEN = 'celigo-DISTINCTIVE-3b8e2f71c9d4-secret';
    const sim = await startSim({
      dataset: 'small',
      token: TOKEN,
      faults: { probabilities: { rateLimit: 0.1, serverError: 0.1 }, retryAfterSeconds: 0, seed: 'secrets' },
    });
    const t = connectTo(sim);
    const result = await fullSync(t);
    const errors: string[] = [];
    const other = await startSim({ dataset: 'tiny' });
    const wrong = connectTo(other, { token: TOKEN });
    await wrong.connector.validate(wrong.ctx).catch((e: Error) => errors.push(`${e.message} ${String(e.cause)}`));
    sim.faults.set({ rules: [{ fault: { kind: 'serverError', status: 500 }, every: 1 }] });
    await t.connector.validate(t.ctx).catch((e: Error) => errors.push(`${e.message} ${JSON.stringify(e)}`));
    expect(errors).toHaveLength(2);
    const everything = [
      ...t.log.lines,
      ...wrong.log.lines,
      ...errors,
      JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      JSON.stringify(sim.log.entries()),
    ].join('\n');
    expect(t.log.lines.length).toBeGreaterThan(10);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain('3b8e2f71c9d4');
  });
});
