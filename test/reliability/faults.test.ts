// Faults (docs/reliability.md, "Faults"): for every connector, through its real bin (which spawns itself through
// the handshake), against its simulator, 429 with Retry-After, 500/502/503, connection resets and slow answers on
// about 10% of API requests: the sync succeeds and its file holds exactly the records of a fault-free sync
// (compared record by record), and every 429 was followed by a wait of at least its Retry-After.
// An API that stays down: api-down.test.ts.
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '@baton-ts/shared/testing';
import type { FaultConfig, RequestLogEntry } from '@baton-ts/shared/simulator';
import { CONNECTORS, reliabilityFixtures, runBin, snapshotOf } from './support.js';

const fixtures = reliabilityFixtures('faults');

/** About 10% of requests fail or dawdle; the first of each kind is forced so every kind is seen at least once. */
const TEN_PERCENT = (seed: string): FaultConfig => ({
  probabilities: { rateLimit: 0.025, serverError: 0.025, reset: 0.025, slow: 0.025 },
  rules: [
    { fault: { kind: 'rateLimit' }, nth: 2 },
    { fault: { kind: 'serverError', status: 502 }, nth: 4 },
    { fault: { kind: 'reset' }, nth: 6 },
    { fault: { kind: 'slow' }, nth: 8 },
  ],
  // Retry-After 1 s: the longest wait this suite allows itself, and long enough to see that it is honoured.
  retryAfterSeconds: 1,
  serverErrorStatuses: [500, 502, 503],
  slowMs: 300,
  seed,
});

/** The same request sent again (a retry): same method, path, query and body. */
const requestKey = (e: RequestLogEntry) =>
  `${e.method} ${e.path} ${canonicalJson(e.query)} ${canonicalJson(e.body ?? null)}`;

describe.concurrent('faults on ~10% of API requests', () => {
  for (const c of CONNECTORS) {
    it(
      `${c.name}: the sync succeeds with exactly the records of a fault-free sync, honouring Retry-After`,
      { timeout: 240_000 },
      async () => {
        const sim = await fixtures.start(c);
        const cleanFile = fixtures.path(`${c.name}-clean.c1z`);
        const faultyFile = fixtures.path(`${c.name}-faulty.c1z`);
        const clean = await runBin(c, [...sim.flags, '--file', cleanFile, '--log-level', 'warn']);
        expect(clean.code, clean.stderr).toBe(0);
        const cleanOk = sim.log.count((e) => e.status >= 200 && e.status < 300);
        expect(sim.log.count((e) => e.status >= 400 || e.status === 0)).toBe(0);
        expect(cleanOk).toBeGreaterThanOrEqual(10);

        const from = sim.log.last()?.seq ?? 0;
        sim.faults.set(TEN_PERCENT(`reliability-${c.name}`));
        const faulty = await runBin(c, [...sim.flags, '--file', faultyFile, '--log-level', 'warn']);
        expect(faulty.code, faulty.stderr).toBe(0);

        const served = sim.log.filter((e) => e.seq > from);
        const kinds = new Set(served.map((e) => e.fault).filter(Boolean));
        expect([...kinds].sort()).toEqual(['rateLimit', 'reset', 'serverError', 'slow']);
        // Nothing was lost and nothing fetched twice: every request of the clean sync succeeded exactly once more.
        expect(served.filter((e) => e.status >= 200 && e.status < 300).length).toBe(cleanOk);

        // Each 429 (Retry-After: 1) is followed by the same request no sooner than a second later.
        for (const limited of served.filter((e) => e.status === 429)) {
          const retry = served.find((e) => e.seq > limited.seq && requestKey(e) === requestKey(limited));
          expect(retry, `the 429 on ${requestKey(limited)} was never retried`).toBeDefined();
          expect(retry!.time - limited.time).toBeGreaterThanOrEqual(1000);
        }

        const [a, b] = await Promise.all([snapshotOf(cleanFile), snapshotOf(faultyFile)]);
        expect(a.resources.length).toBeGreaterThan(0);
        expect(b.resources).toEqual(a.resources);
        expect(b.entitlements).toEqual(a.entitlements);
        expect(b.grants).toEqual(a.grants);
      },
    );
  }
});
