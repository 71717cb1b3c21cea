#!/usr/bin/env node
// API requests and wall time of a full sync by baton-rudderstack and baton-vega, against the floor, on a large SCIM
// tenant, for the standard server and for each quirk switch that changes the number of requests (what `npm run bench`
// does not vary: it runs every connector against its simulator's standard behaviour).
//
//   npm run build && node bench/scim-requests.mjs [--dataset large] [--connectors rudderstack,vega] [--json]
//
// For each connector and server behaviour, starts the SCIM simulator (shared by both connectors), runs the real
// bundled bin (which spawns itself as the connector service over the Go-style handshake) with `--file` to a temp
// c1z, counts the requests in the simulator's request log, and checks the sync file holds exactly the simulator's
// data. Compared with:
//   floor     1 validate + ⌈U/100⌉ users pages + ⌈G/100⌉ groups pages (one page each when `count` is ignored): the
//             fewest requests any client can make;
//   per-group 1 + ⌈U/100⌉ + ⌈G/100⌉ + G, the usual pattern (list groups without members, GET each group; e.g. the
//             open-source baton-scim), for the same data.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { scimPerGroupPattern } from './connectors.mjs';

const root = new URL('..', import.meta.url);
const SIMULATOR = new URL('packages/shared/dist/scim/simulator/index.js', root);
const C1Z = new URL('packages/shared/dist/c1z/index.js', root);

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
};
const datasetName = opt('dataset', 'large');
const connectors = opt('connectors', 'rudderstack,vega').split(',');
const asJson = argv.includes('--json');

const FLAGS = {
  rudderstack: (sim) => ['--scim-base-url', sim.scimUrl, '--scim-token', sim.token],
  vega: (sim) => ['--scim-endpoint', sim.scimUrl, '--scim-token', sim.token],
};
const binOf = (name) => fileURLToPath(new URL(`packages/${name}/dist/bin/baton-${name}.mjs`, root));
for (const name of connectors) {
  if (!FLAGS[name] || !existsSync(binOf(name))) {
    console.error(`unknown or unbuilt connector ${name}: run npm run build (known: ${Object.keys(FLAGS).join(', ')})`);
    process.exit(1);
  }
}
if (!existsSync(fileURLToPath(SIMULATOR))) {
  console.error('build first: npm run build');
  process.exit(1);
}
const { startScimSimulator, SCIM_QUIRK_PRESETS, scimSyncFloor, scimSyncMismatches } = await import(SIMULATOR.href);
const { SyncStore } = await import(C1Z.href);
const { envWithoutBaton, runProcess } = await import(new URL('packages/shared/dist/testing/index.js', root).href);

/** The server behaviours that change the request count (the others only change what a response looks like). */
const CASES = [
  ['standard', 'standard server'],
  ['ignores-count', 'ignores `count` (answers every list request to the end)'],
  ['members-omitted', 'leaves `members` out of groups (list and GET)'],
];

/** Request-log entries by kind: validate, users/groups pages, group GETs, users re-read for their groups. */
function classify(entries) {
  const kinds = {};
  for (const e of entries) {
    const sub = e.path.replace(/^.*\/scim\/v2/, '');
    const kind =
      sub === '/Users' && e.query.count === '1'
        ? 'validate'
        : sub === '/Users'
          ? e.query.attributes === 'groups'
            ? 'users re-read for groups'
            : 'users pages'
          : sub === '/Groups'
            ? 'groups pages'
            : sub.startsWith('/Groups/')
              ? 'group GETs'
              : `other ${e.method} ${sub}`;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

const dir = mkdtempSync(join(tmpdir(), 'scim-bench-'));
const results = [];
try {
  for (const name of connectors) {
    for (const [preset, label] of CASES) {
      const sim = await startScimSimulator({
        dataset: datasetName,
        logLimit: 1_000_000,
        ...SCIM_QUIRK_PRESETS[preset],
      });
      try {
        const file = join(dir, `${name}-${preset}.c1z`);
        const summaryFile = join(dir, `${name}-${preset}.json`);
        const t0 = performance.now();
        const r = await runProcess(
          process.execPath,
          [
            binOf(name),
            ...FLAGS[name](sim),
            '--file',
            file,
            '--summary-json',
            summaryFile,
            '--log-level',
            'warn',
            '--quiet',
          ],
          { env: envWithoutBaton(), timeoutMs: 30 * 60_000 },
        );
        const seconds = (performance.now() - t0) / 1000;
        if (r.code !== 0) throw new Error(`baton-${name} (${preset}) exited with ${r.code}\n${r.stderr}`);
        const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
        const store = await SyncStore.openC1z(file);
        let mismatches;
        try {
          mismatches = scimSyncMismatches(sim, {
            resources: [...store.resources()],
            entitlements: [...store.entitlements()],
            grants: [...store.grants()],
          });
        } finally {
          store.close();
        }
        const entries = sim.log.entries();
        const users = sim.state.listUsers().length;
        const groups = sim.state.listGroups().length;
        results.push({
          connector: name,
          server: preset,
          label,
          requests: entries.length,
          floor: scimSyncFloor(sim.state, sim.quirks()),
          perGroupPattern: Object.values(scimPerGroupPattern(users, groups)).reduce((a, b) => a + b, 0),
          byKind: classify(entries),
          seconds: Number(seconds.toFixed(2)),
          connectorSeconds: summary.seconds,
          resources: summary.resources,
          grants: summary.grants,
          exact: mismatches.length === 0,
          mismatches,
        });
      } finally {
        await sim.close();
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (asJson) {
  console.log(JSON.stringify(results, null, 2));
} else {
  const probe = await startScimSimulator({ dataset: datasetName });
  const U = probe.state.listUsers().length;
  const G = probe.state.listGroups().length;
  const M = probe.state.listGroups().reduce((n, g) => n + probe.state.groupMembers(g.id).length, 0);
  await probe.close();
  console.log(`full sync of the "${datasetName}" SCIM tenant: ${U} users, ${G} groups, ${M} memberships`);
  const header = ['connector', 'server', 'requests', 'floor', 'per-group', 'wall s', 'grants', 'exact'];
  const rows = results.map((r) => [
    r.connector,
    r.server,
    String(r.requests),
    String(r.floor),
    String(r.perGroupPattern),
    r.seconds.toFixed(2),
    String(r.grants),
    r.exact ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log('');
  for (const r of results) console.log(`  ${r.connector} / ${r.server}: ${JSON.stringify(r.byKind)}`);
  console.log('');
  console.log('server behaviours:');
  for (const [preset, label] of CASES) console.log(`  ${preset}: ${label}`);
  console.log(
    'per-group: 1 validate + ⌈U/100⌉ + ⌈G/100⌉ + G GETs, the usual pattern (groups listed without members, then one GET each)',
  );
  const wrong = results.filter((r) => !r.exact);
  for (const r of wrong) console.log(`MISMATCH ${r.connector}/${r.server}: ${r.mismatches.join('; ')}`);
  if (wrong.length) process.exitCode = 1;
}
