// Load (docs/reliability.md, "Load"): 20 syncs of one connector at once through the host, on a 2-core machine,
// all finish, and each one's records are exactly those of a sync run alone. The host is this test process (the
// host library the bins use, as a platform runs many syncs in one process); each sync has its own connector child,
// spawned through the real handshake, against one simulator. Wall time and peak memory of this load are measured
// in bench/ (RESULTS.md), not asserted here.
import { describe, expect, it } from 'vitest';
import { SyncStore } from '@baton-ts/shared/c1z';
import { runSync } from '@baton-ts/shared/host';
import { syncSnapshot, type SyncSnapshot } from '@baton-ts/shared/testing';
import { CONNECTORS, reliabilityFixtures, spawnChild, type ConnectorCase, type ReliabilitySim } from './support.js';

const AT_ONCE = 20;
const connector = CONNECTORS.find((c) => c.name === 'twingate')!;

const fixtures = reliabilityFixtures('load');

/** One full sync through a fresh child into an in-memory store; its records. */
async function syncOnce(c: ConnectorCase, sim: ReliabilitySim): Promise<SyncSnapshot> {
  // Children start through the host's start-up gate (as many at once as there are cores), so each gets the CPU it
  // needs to become ready; the limit is the suite's 20 s, as this machine is shared with other jobs.
  const child = await spawnChild(c, sim.flags);
  const store = SyncStore.create();
  try {
    await runSync(child.client, store);
    return syncSnapshot(store);
  } finally {
    store.close();
    await child.close();
  }
}

describe('load', () => {
  it(
    `${AT_ONCE} syncs of ${connector.name} at once all finish, each identical to one alone`,
    { timeout: 240_000 },
    async () => {
      const sim = await fixtures.start(connector, { pages: 'api' });
      const alone = await syncOnce(connector, sim);
      expect(alone.resources.length).toBeGreaterThan(0);
      expect(alone.grants.length).toBeGreaterThan(0);
      const requestsAlone = sim.log.count();

      const results = await Promise.allSettled(Array.from({ length: AT_ONCE }, () => syncOnce(connector, sim)));
      const failures = results.flatMap((r, i) =>
        r.status === 'rejected' ? [`sync ${i + 1}: ${String(r.reason)}`] : [],
      );
      expect(failures).toEqual([]);
      for (const r of results) {
        const snapshot = (r as PromiseFulfilledResult<SyncSnapshot>).value;
        expect(snapshot.resources).toEqual(alone.resources);
        expect(snapshot.entitlements).toEqual(alone.entitlements);
        expect(snapshot.grants).toEqual(alone.grants);
      }
      // Each sync asked the API what a sync alone asks: nothing retried, nothing skipped.
      expect(sim.log.count()).toBe(requestsAlone * (AT_ONCE + 1));
    },
  );
});
