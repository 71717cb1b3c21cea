#!/usr/bin/env node
// API requests and wall time of a full sync of the `large` Celigo account (5,000 users, 500 integrations, about
// 25,000 integration users) by baton-celigo, against the floor and the Go connector's call pattern.
//
//   npm run build && node bench/celigo-requests.mjs [--dataset large] [--page 1000] [--json]
//
// Starts the Celigo simulator with Celigo's page size (1000, `--page`) and its documented rate limit (a leaky bucket
// of 1000 requests draining 300 per second), runs the real bin (`packages/celigo/dist/bin/baton-celigo.mjs`, which
// spawns itself as the connector service over the Go-style handshake) with `--file` to a temp c1z, and counts the
// requests in the simulator's request log by route.
//
// The floor: what any connector must read for the same data, one request per API page:
//   1 validate + ⌈U/P⌉ users pages + ⌈I/P⌉ integrations pages + Σᵢ max(1, ⌈usersᵢ/P⌉) integration user-list pages.
// The Go connector's call pattern (it sends no `limit`, so it gets the API's default page, here P too; no validate):
//   ⌈U/P⌉ users + ⌈I/P⌉ integrations + Σᵢ max(1, ⌈usersᵢ/P⌉) + 3 × ⌈U/P⌉ (a full users scan per role),
// except that it stops at the first second page it asks for: it uses the raw `Link` header text as the next URL.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const root = new URL('..', import.meta.url);
const BIN = fileURLToPath(new URL('packages/celigo/dist/bin/baton-celigo.mjs', root));
const SIMULATOR = new URL('packages/celigo/dist/simulator/index.js', root);

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
};
const datasetName = opt('dataset', 'large');
const PAGE = Number(opt('page', '1000'));
const asJson = argv.includes('--json');

if (!existsSync(BIN) || !existsSync(fileURLToPath(SIMULATOR))) {
  console.error(`build first: npm run build (missing ${BIN} or the simulator)`);
  process.exit(1);
}

const pages = (n) => Math.max(1, Math.ceil(n / PAGE));

/** `GET /v1/integrations/:id/ashares` for a logged request. */
const route = (e) => `${e.method} ${e.path.replace(/\/[0-9a-f]{24}(?=\/|$)/g, '/:id')}`;

const { startCeligoSimulator } = await import(SIMULATOR.href);
const { envWithoutBaton, runProcess } = await import(new URL('packages/shared/dist/testing/index.js', root).href);
const dir = mkdtempSync(join(tmpdir(), 'celigo-bench-'));
const sim = await startCeligoSimulator({
  dataset: datasetName,
  pageSize: PAGE,
  maxPageSize: PAGE,
  rateLimit: { burst: 1000, perSecond: 300 },
  logLimit: 1_000_000,
});
try {
  const shares = sim.state.listShares();
  const integrations = sim.state.listIntegrations();
  const U = shares.length;
  const I = integrations.length;
  const rows = integrations.map((i) => sim.state.integrationUsers(i._id).length);
  const R = rows.reduce((a, b) => a + b, 0);
  const integrationPages = rows.reduce((n, r) => n + pages(r), 0);

  const floor = {
    validate: 1,
    users: pages(U),
    integrations: pages(I),
    integrationUsers: integrationPages,
    roleGrants: 0,
  };
  floor.total = floor.validate + floor.users + floor.integrations + floor.integrationUsers;
  const go = {
    validate: 0,
    users: pages(U),
    integrations: pages(I),
    integrationUsers: integrationPages,
    roleScans: 3 * pages(U),
  };
  go.total = go.users + go.integrations + go.integrationUsers + go.roleScans;
  // Where the Go connector stops: the users list comes first, and its second page request fails to parse.
  const goStopsAt = U > PAGE ? 'users page 2 (request 2: the raw Link header is not a URL)' : null;

  const file = join(dir, 'sync.c1z');
  const summaryFile = join(dir, 'summary.json');
  const t0 = performance.now();
  const result = await runProcess(
    process.execPath,
    [
      BIN,
      '--celigo-access-token',
      sim.token,
      '--base-url',
      sim.baseUrl,
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
  if (result.code !== 0) {
    console.error(`baton-celigo exited with ${result.code}\n${result.stderr}`);
    process.exitCode = 1;
  } else {
    const entries = sim.log.entries();
    const byRoute = new Map();
    const statuses = new Map();
    for (const e of entries) {
      byRoute.set(route(e), (byRoute.get(route(e)) ?? 0) + 1);
      statuses.set(e.status, (statuses.get(e.status) ?? 0) + 1);
    }
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
    const sorted = (m) => Object.fromEntries([...m.entries()].sort((a, b) => b[1] - a[1]));
    const report = {
      dataset: datasetName,
      apiPageSize: PAGE,
      data: { users: U, integrations: I, integrationUsers: R, largestIntegration: Math.max(...rows) },
      sync: {
        wallSeconds: Number(seconds.toFixed(2)),
        connectorReportedSeconds: summary.seconds,
        resources: summary.resources,
        entitlements: summary.entitlements,
        grants: summary.grants,
        rpcs: summary.rpcs ?? null,
        c1zBytes: statSync(file).size,
      },
      requests: {
        total: entries.length,
        byRoute: sorted(byRoute),
        statuses: sorted(statuses),
        connectorReportedApiRequests: summary.apiRequests ?? null,
      },
      floor,
      roleGrantsWithoutIndex: 3 * pages(U),
      goConnectorPattern: { ...go, stopsAt: goStopsAt },
    };
    if (asJson) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      const pad = (s, n) => String(s).padEnd(n);
      const num = (n) => String(n).padStart(7);
      console.log(
        `baton-celigo full sync, dataset "${datasetName}": ${U} users, ${I} integrations, ${R} integration users (largest ${report.data.largestIntegration}); API pages of ${PAGE}; Celigo's rate limit (1000 burst, 300/s) on`,
      );
      console.log(
        `  synced ${summary.resources} resources, ${summary.entitlements} entitlements, ${summary.grants} grants in ${seconds.toFixed(2)} s wall clock (process start to exit; connector reported ${summary.seconds} s)`,
      );
      console.log('');
      console.log(
        `API requests (simulator request log): ${entries.length}  [statuses ${JSON.stringify(report.requests.statuses)}, connector's own count ${summary.apiRequests ?? '-'}]`,
      );
      for (const [r, n] of Object.entries(report.requests.byRoute)) console.log(`    ${pad(r, 36)}${num(n)}`);
      console.log(
        `  floor: 1 validate + ${floor.users} users pages + ${floor.integrations} integrations pages + ${floor.integrationUsers} integration user-list pages + 0 role-grant reads = ${floor.total}` +
          (floor.total === entries.length
            ? ' (measured: at the floor)'
            : ` (measured ${entries.length}: ${entries.length - floor.total} above)`),
      );
      console.log(
        `  (role grants come from the users listing of the same sync; without it, e.g. in a restarted process, they cost ${report.roleGrantsWithoutIndex} more reads)`,
      );
      console.log('');
      console.log(`Go connector call pattern for the same data (no limit sent, so pages of ${PAGE}):`);
      console.log(
        `  ${go.users} users + ${go.integrations} integrations + ${go.integrationUsers} integration user lists + 3 × ${pages(U)} role scans = ${go.total}, ` +
          `${(go.total / entries.length).toFixed(2)}× this connector's count, if its paging worked`,
      );
      if (goStopsAt) console.log(`  in fact its sync fails at ${goStopsAt}, so no sync file at all for this account`);
    }
  }
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
