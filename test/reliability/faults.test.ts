// Faults (docs/reliability.md, "Faults"): for every connector, through its real bin (which spawns itself through
// the handshake), against its simulator:
//  - 429 with Retry-After, 500/502/503, connection resets and slow answers on about 10% of API requests: the sync
//    succeeds and its file holds exactly the records of a fault-free sync (compared record by record), and every
//    429 was followed by a wait of at least its Retry-After;
//  - an API that stays down (every request 503, every connection reset, or nothing listening): the sync fails with
//    an error naming the cause, a non-zero exit, and the previous file untouched (or no file), never a partial one.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '@baton-ts/shared/testing';
import type { FaultConfig, RequestLogEntry } from '@baton-ts/shared/simulator';
import { CONNECTORS, requireBuiltBins, runBin, snapshotOf, type ReliabilitySim } from './support.js';

let dir = '';
const sims: ReliabilitySim[] = [];
beforeAll(() => {
  requireBuiltBins();
  dir = mkdtempSync(join(tmpdir(), 'reliability-faults-'));
});
afterAll(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

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

/** A directory's files, without hidden working files (`.<name>.partial`, which the next run resumes from). */
const visibleFiles = (path: string) => readdirSync(path).filter((name) => !/^\..*\.partial$/.test(name));

/** The same request sent again (a retry): same method, path, query and body. */
const requestKey = (e: RequestLogEntry) =>
  `${e.method} ${e.path} ${canonicalJson(e.query)} ${canonicalJson(e.body ?? null)}`;

describe.concurrent('faults on ~10% of API requests', () => {
  for (const c of CONNECTORS) {
    it(`${c.name}: the sync succeeds with exactly the records of a fault-free sync, honouring Retry-After`, async () => {
      const sim = await c.start();
      sims.push(sim);
      const cleanFile = join(dir, `${c.name}-clean.c1z`);
      const faultyFile = join(dir, `${c.name}-faulty.c1z`);
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
    });
  }
});

interface Outage {
  what: string;
  /** Installs the outage on a running simulator (after `healthy` requests), or closes it. */
  apply(sim: ReliabilitySim): Promise<void>;
  /** What the error must name. */
  cause: RegExp;
  /** Also check that a first sync (no previous file) leaves no file (quick only where the failure is quick). */
  freshFileToo?: boolean;
}

/** The first few requests succeed (validation, the first pages), then the API goes down for good. */
const afterFirst = (healthy: number, fault: FaultConfig['rules']): FaultConfig => {
  let seen = 0;
  return { match: () => ++seen > healthy, rules: fault };
};

const OUTAGES: Outage[] = [
  {
    what: 'every request answers 503 after the first three',
    apply: async (sim) => sim.faults.set(afterFirst(3, [{ fault: { kind: 'serverError', status: 503 }, every: 1 }])),
    cause: /\b503\b|Service Unavailable/,
  },
  {
    what: 'nothing listens on the port any more',
    apply: (sim) => sim.close(),
    cause: /refused|ECONNREFUSED/i,
    freshFileToo: true,
  },
];

// The connector retries each failed API request (5 attempts, backoff from 0.5 s) and the host then retries the
// UNAVAILABLE call as a Go host does (10 attempts, waits growing by 1 s): an API that stays down is given up on
// after about 100 s. The cases run concurrently: they mostly wait.
describe.concurrent('the API stays down', () => {
  for (const c of CONNECTORS) {
    for (const outage of OUTAGES) {
      it(`${c.name}, ${outage.what}: exit 1 naming the cause, the previous file untouched`, { timeout: 300_000 }, async () => {
        const sim = await c.start();
        sims.push(sim);
        const sub = mkdtempSync(join(dir, `${c.name}-down-`));
        const file = join(sub, 'sync.c1z');
        const first = await runBin(c, [...sim.flags, '--file', file, '--log-level', 'warn']);
        expect(first.code, first.stderr).toBe(0);
        const previous = readFileSync(file);

        await outage.apply(sim);
        const failed = await runBin(c, [...sim.flags, '--file', file, '--log-level', 'error'], {
          timeoutMs: 280_000,
          busy: false,
        });
        const lastLine = failed.stderr.trimEnd().split('\n').at(-1) ?? '';
        expect(failed.code, failed.stderr).toBe(1);
        expect(lastLine, failed.stderr).toMatch(outage.cause);
        expect(lastLine).toContain(`${file} was left untouched`);
        // The previous file byte for byte, and nothing beside it that could pass for a sync file (a resumable
        // working file is a hidden `.<name>.partial`).
        expect(readFileSync(file).equals(previous)).toBe(true);
        expect(visibleFiles(sub)).toEqual(['sync.c1z']);

        if (outage.freshFileToo) {
          // A first sync that fails leaves no file at all.
          const fresh = join(sub, 'never.c1z');
          const none = await runBin(c, [...sim.flags, '--file', fresh, '--log-level', 'error'], { busy: false });
          const noneLine = none.stderr.trimEnd().split('\n').at(-1) ?? '';
          expect(none.code, none.stderr).toBe(1);
          expect(noneLine).toMatch(outage.cause);
          expect(noneLine).toContain('no file was written');
          expect(existsSync(fresh)).toBe(false);
          expect(visibleFiles(sub)).toEqual(['sync.c1z']);
        }
      });
    }
  }
});
