// What checkpoints cost (docs/sync.md): a host sync of the fixture connector through the real handshake, into
//  1. a temp store (the conformance kit's case; a checkpoint is still saved with every page), and
//  2. a working file (what every connector bin does now: write-ahead log, a checkpoint per page, durable),
// each the median of RUNS runs, with the pages and checkpoints written.
// Usage: node bench/checkpoint.mjs [--shared <packages/shared/dist of another checkout>]   (USERS=n, RUNS=n)
// With --shared pointing at a checkout from before checkpoints, only the temp-store line is printed (the baseline).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { median } from './support.mjs';

const args = process.argv.slice(2);
const sharedDist = args.includes('--shared')
  ? resolve(args[args.indexOf('--shared') + 1])
  : fileURLToPath(new URL('../packages/shared/dist', import.meta.url));
const load = (path) => import(pathToFileURL(join(sharedDist, path)).href);
const { runSync, spawnConnector } = await load('host/index.js');
const { SyncStore } = await load('c1z/index.js');
const USERS = Number(process.env.USERS ?? 20_000);
const RUNS = Number(process.env.RUNS ?? 3);

const proc = await spawnConnector({
  command: process.execPath,
  args: [join(sharedDist, 'bin/baton-fixture.mjs'), '--users', String(USERS), '--log-level', 'error'],
  stderr: 'pipe',
});
const dir = mkdtempSync(join(tmpdir(), 'bench-checkpoint-'));
const variants = [['temp store', () => SyncStore.create()]];
if (typeof SyncStore.openWorkingFile === 'function') {
  variants.push(['working file (the bins)', (i) => SyncStore.openWorkingFile(join(dir, `run-${i}.partial`))]);
}
try {
  console.log(`host sync of the fixture connector, ${USERS} users, shared from ${sharedDist}`);
  for (const [label, open] of variants) {
    const times = [];
    let summary;
    for (let i = 0; i < RUNS; i++) {
      const store = open(i);
      const t0 = performance.now();
      summary = await runSync(proc.client, store);
      times.push(performance.now() - t0);
      if (store.discard) store.discard();
      else store.close();
    }
    const records = summary.resources + summary.entitlements + summary.grants;
    const ms = median(times);
    console.log(
      `${label.padEnd(26)} ${ms.toFixed(0).padStart(7)} ms  ${records} records  ${summary.rpcCount} RPCs  ` +
        `${Math.round(records / (ms / 1000))} records/s`,
    );
    const d = summary.durationsMs;
    console.log(
      `  last run by phase (ms): resources ${d.resources}, entitlements ${d.entitlements}, grants ${d.grants}, ` +
        `expansion ${d.grantExpansion}`,
    );
  }
} finally {
  await proc.close();
  rmSync(dir, { recursive: true, force: true });
}
