// The one walker (packages/shared/src/host/walk.ts) and what the conformance kit adds to it, on the fixture connector
// through the real handshake:
//  1. a plain host sync into a SyncStore (what every connector bin does);
//  2. the same walk observed by the walk check's recorder (every page checked, ids kept per listing);
//  3. the same with record digests kept too (what the stability check compares);
//  4. baton-conform end to end (every check, two walks, three processes) on the fixture and on baton-twingate --demo.
// Usage: node bench/walk.mjs   (USERS=n to change 20 000, RUNS=n to change 3)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { runSync, spawnConnector } from '../packages/shared/dist/host/index.js';
import { SyncStore } from '../packages/shared/dist/c1z/index.js';
import { observedWalk } from '../packages/shared/dist/testing/page-checks.js';
import { ViolationCollector } from '../packages/shared/dist/testing/violations.js';
import { median } from './support.mjs';

const bin = (path) => fileURLToPath(new URL(path, import.meta.url));
const FIXTURE = bin('../packages/shared/dist/bin/baton-fixture.mjs');
const TWINGATE = bin('../packages/twingate/dist/bin/baton-twingate.mjs');
const CONFORM = bin('../packages/shared/dist/bin/baton-conform.mjs');
const USERS = Number(process.env.USERS ?? 20_000);
const RUNS = Number(process.env.RUNS ?? 3);

const proc = await spawnConnector({
  command: process.execPath,
  args: [FIXTURE, '--users', String(USERS), '--log-level', 'error'],
  stderr: 'pipe',
});
const variants = [
  ['plain host sync (runSync)', (store) => runSync(proc.client, store)],
  [
    'walk check (recorder on every page)',
    (store) =>
      observedWalk(proc.client, store, new ViolationCollector(), { walk: 1, pageSize: 0, deadlineMs: 600_000 }),
  ],
  [
    'walk check + record digests (stability)',
    (store) =>
      observedWalk(proc.client, store, new ViolationCollector(), {
        walk: 1,
        pageSize: 0,
        deadlineMs: 600_000,
        recordContent: true,
      }),
  ],
];
try {
  for (const [label, walk] of variants) {
    const times = [];
    let records = 0;
    for (let i = 0; i < RUNS; i++) {
      const store = SyncStore.create();
      const t0 = performance.now();
      await walk(store);
      times.push(performance.now() - t0);
      const c = store.counts();
      records = c.resourceTypes + Object.values(c.resources).reduce((a, b) => a + b, 0) + c.entitlements + c.grants;
      store.close();
    }
    const ms = median(times);
    console.log(
      `${label}, fixture --users ${USERS} (${records} records), median of ${RUNS}: ${ms.toFixed(0)} ms, ${Math.round((records / ms) * 1000)} records/s`,
    );
  }
} finally {
  await proc.close();
}

for (const [label, args] of [
  ['fixture --users 250', [process.execPath, FIXTURE, '--users', '250', '--log-level', 'error']],
  ['baton-twingate --demo', [process.execPath, TWINGATE, '--demo', '--log-level', 'error']],
]) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    execFileSync(process.execPath, [CONFORM, '--json', '--', ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
    times.push(performance.now() - t0);
  }
  console.log(`baton-conform on ${label} (every check), median of ${RUNS}: ${(median(times) / 1000).toFixed(1)} s`);
}
