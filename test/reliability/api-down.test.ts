// An API that stays down (docs/reliability.md, "Faults"): for every connector, through its real bin, after a good
// sync wrote a file: every request after Validate's answers 503, or nothing listens on the port any more. The sync
// fails with an error naming the cause and exit 1, the previous file is untouched byte for byte and nothing that
// could pass for a sync file is left beside it; a first sync that fails leaves no file at all.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FaultConfig } from '@baton-ts/shared/simulator';
import { CONNECTORS, reliabilityFixtures, runBin, type ReliabilitySim } from './support.js';

const fixtures = reliabilityFixtures('down');

/** A directory's files, without hidden working files (`.<name>.partial`, which the next run resumes from). */
const visibleFiles = (path: string) => readdirSync(path).filter((name) => !/^\..*\.partial$/.test(name));

interface Outage {
  what: string;
  /** Installs the outage on a running simulator (after `healthy` requests), or closes it. */
  apply(sim: ReliabilitySim): Promise<void>;
  /** What the error must name. */
  cause: RegExp;
  /** Also check that a first sync (no previous file) leaves no file (quick only where the failure is quick). */
  freshFileToo?: boolean;
}

/** The first `healthy` requests succeed (Validate's), then the API goes down for good. */
const afterFirst = (healthy: number, fault: FaultConfig['rules']): FaultConfig => {
  let seen = 0;
  return { match: () => ++seen > healthy, rules: fault };
};

const OUTAGES: Outage[] = [
  {
    what: 'every request after Validate answers 503',
    apply: async (sim) => sim.faults.set(afterFirst(1, [{ fault: { kind: 'serverError', status: 503 }, every: 1 }])),
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
// after about two minutes. The cases run concurrently: they mostly wait.
describe.concurrent('the API stays down', () => {
  for (const c of CONNECTORS) {
    for (const outage of OUTAGES) {
      it(
        `${c.name}, ${outage.what}: exit 1 naming the cause, the previous file untouched`,
        { timeout: 300_000 },
        async () => {
          const sim = await fixtures.start(c, { pages: 'api' });
          const sub = mkdtempSync(fixtures.path(`${c.name}-down-`));
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
        },
      );
    }
  }
});
