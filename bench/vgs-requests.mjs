#!/usr/bin/env node
// API requests of a full sync of the `large` VGS dataset (5,000 members, 200 vaults, 20,000 vault memberships,
// 500 invitations, 20 service accounts, plus two other organizations) by baton-vgs, against the fewest requests
// the API allows and the Go connector's call pattern for the same data; and the wall time at a rate limit.
//
//   npm run build && node bench/vgs-requests.mjs [--dataset large] [--page-size 100] [--rate 200] [--no-rate-run] [--json]
//
// Each run starts the VGS simulator, runs the real bin (`packages/vgs/dist/bin/baton-vgs.mjs`, which spawns itself as
// the connector service over the Go-style handshake) with `--file` to a temp c1z, and counts the requests in the
// simulator's request log. Runs:
//   1. the API pages by --page-size (default 100, the simulator's default), no rate limit;
//   2. the API does not page at all (one document per list), no rate limit;
//   3. (unless --no-rate-run) run 1 again with the simulator limiting each service account to --rate requests per
//      minute (default 200: VGS publishes no accounts-API limit; 200/min is what it documents for sandbox proxy
//      traffic), measuring the wall time.
//
// The floor: one token, plus one request per API page of every list a complete sync needs (organizations, members,
// invitations, vaults, and each of the organization's vaults' members).
// The Go connector's pattern (see docs/apis/vgs.md, "The Go connector"), for the same data: token, organizations,
// GET /vaults once plus once per vault (vaults list themselves as children), members and invites at the top level
// and again under each organization, and the members of every vault the token sees (it does not filter by
// organization). With the Go SDK's HTTP cache (on by default) the repeats are cache hits. It never follows a page
// link, so with a paging API it reads only first pages (and misses the rest).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const root = new URL('..', import.meta.url);
const BIN = fileURLToPath(new URL('packages/vgs/dist/bin/baton-vgs.mjs', root));
const SIMULATOR = new URL('packages/vgs/dist/simulator/index.js', root);

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
};
const datasetName = opt('dataset', 'large');
const pageSize = Number(opt('page-size', '100'));
const rate = Number(opt('rate', '200'));
const rateRun = !argv.includes('--no-rate-run');
const asJson = argv.includes('--json');

if (!existsSync(BIN) || !existsSync(fileURLToPath(SIMULATOR))) {
  console.error(`build first: npm run build (missing ${BIN} or the simulator)`);
  process.exit(1);
}

const { startVgsSimulator } = await import(SIMULATOR.href);

function run(args) {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BATON_')));
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** What a request was for, from its path. */
function kind(path) {
  if (path.startsWith('/auth/')) return 'token';
  if (path === '/organizations') return 'organizations';
  if (/^\/organizations\/[^/]+\/members$/.test(path)) return 'members';
  if (/^\/organizations\/[^/]+\/invites$/.test(path)) return 'invites';
  if (/^\/organizations\/[^/]+\/service-accounts$/.test(path)) return 'service-accounts';
  if (path === '/vaults') return 'vaults';
  if (/^\/vaults\/[^/]+\/members$/.test(path)) return 'vault members';
  return path;
}

/** Floor and Go pattern for the simulator's data at page size `size` (0: the API does not page). */
function patterns(sim, size) {
  const pages = (n) => (size === 0 ? 1 : Math.max(1, Math.ceil(n / size)));
  const org = sim.organizationId;
  const own = sim.state.serviceAccount(sim.clientId);
  const visibleOrgs = sim.state.organizationsOf(own);
  const visible = new Set(visibleOrgs.map((o) => o.id));
  const members = sim.state.listMembers(org).length + sim.state.listServiceAccounts(org).length;
  const orgVaults = sim.state.listVaults(new Set([org]));
  const visibleVaults = sim.state.listVaults(visible);
  const floor = {
    token: 1,
    organizations: pages(visibleOrgs.length),
    members: pages(members),
    invites: pages(sim.state.listInvites(org).length),
    vaults: pages(visibleVaults.length),
    vaultMembers: orgVaults.reduce((n, v) => n + pages(sim.state.listVaultMembers(v.identifier).length), 0),
  };
  floor.total = Object.values(floor).reduce((a, b) => a + b, 0);
  const O = visibleOrgs.length;
  const V = visibleVaults.length;
  const goCached = { token: 1, organizations: 1, vaults: 1, membersAndInvites: 2, vaultMembers: V };
  goCached.total = Object.values(goCached).reduce((a, b) => a + b, 0);
  const goUncached = { token: 1, organizations: 1, vaults: 1 + V, membersAndInvites: 2 * (1 + O), vaultMembers: V };
  goUncached.total = Object.values(goUncached).reduce((a, b) => a + b, 0);
  const truncated =
    size === 0
      ? 0
      : [members, sim.state.listInvites(org).length, visibleVaults.length].filter((n) => n > size).length +
        orgVaults.filter((v) => sim.state.listVaultMembers(v.identifier).length > size).length;
  return {
    floor,
    goCached,
    goUncached,
    goTruncatedLists: truncated,
    orgVaults: orgVaults.length,
    visibleVaults: V,
    visibleOrgs: O,
  };
}

async function measure({ size, limit }) {
  const sim = await startVgsSimulator({
    dataset: datasetName,
    pageSize: size,
    rateLimits: { read: limit, write: limit },
    logLimit: 1_000_000,
  });
  const dir = mkdtempSync(join(tmpdir(), 'vgs-bench-'));
  try {
    const file = join(dir, 'sync.c1z');
    const summaryFile = join(dir, 'summary.json');
    const t0 = performance.now();
    const result = await run([
      ...Object.entries(sim.config).flatMap(([k, v]) => [`--${k}`, v]),
      '--file',
      file,
      '--summary-json',
      summaryFile,
      '--log-level',
      'error',
      '--quiet',
    ]);
    const seconds = (performance.now() - t0) / 1000;
    if (result.code !== 0) throw new Error(`baton-vgs exited with ${result.code}\n${result.stderr}`);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
    const entries = sim.log.entries();
    const byKind = {};
    for (const e of entries) byKind[kind(e.path)] = (byKind[kind(e.path)] ?? 0) + 1;
    const statuses = {};
    for (const e of entries) statuses[e.status] = (statuses[e.status] ?? 0) + 1;
    const data = {
      members: sim.state.listMembers(sim.organizationId).length,
      serviceAccounts: sim.state.listServiceAccounts(sim.organizationId).length,
      vaults: sim.state.listVaults(new Set([sim.organizationId])).length,
      vaultMemberships: sim.state.vaultMembershipCount(sim.organizationId),
      invitations: sim.state.listInvites(sim.organizationId).length,
      pendingInvitations: sim.state.pendingInvites(sim.organizationId).length,
    };
    return {
      pageSize: size,
      rateLimitPerMinute: limit || null,
      seconds: Number(seconds.toFixed(2)),
      sync: { resources: summary.resources, entitlements: summary.entitlements, grants: summary.grants },
      requests: { total: entries.length, successful: entries.filter((e) => e.status < 300).length, byKind, statuses },
      connectorReportedApiRequests: summary.apiRequests ?? null,
      data,
      ...patterns(sim, size),
    };
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = [await measure({ size: pageSize, limit: 0 }), await measure({ size: 0, limit: 0 })];
if (rateRun) runs.push(await measure({ size: pageSize, limit: rate }));

if (asJson) {
  console.log(JSON.stringify({ dataset: datasetName, runs }, null, 2));
} else {
  const d = runs[0].data;
  console.log(
    `baton-vgs full sync, dataset "${datasetName}": ${d.members} members, ${d.serviceAccounts} service accounts, ${d.vaults} vaults, ${d.vaultMemberships} vault memberships, ${d.invitations} invitations (${d.pendingInvitations} pending); the token also sees ${runs[0].visibleOrgs - 1} other organization(s) and ${runs[0].visibleVaults - runs[0].orgVaults} other vault(s)`,
  );
  for (const r of runs) {
    const paging = r.pageSize === 0 ? 'the API does not page' : `the API pages by ${r.pageSize}`;
    const limit = r.rateLimitPerMinute
      ? `, ${r.rateLimitPerMinute} requests/min per service account`
      : ', no rate limit';
    console.log('');
    console.log(`${paging}${limit}:`);
    console.log(
      `  synced ${r.sync.resources} resources, ${r.sync.entitlements} entitlements, ${r.sync.grants} grants in ${r.seconds.toFixed(2)} s wall clock`,
    );
    console.log(
      `  requests ${r.requests.total} (${r.requests.successful} successful; statuses ${JSON.stringify(r.requests.statuses)}): ${Object.entries(
        r.requests.byKind,
      )
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    );
    if (r.rateLimitPerMinute) continue;
    const f = r.floor;
    console.log(
      `  floor ${f.total} = token 1 + organizations ${f.organizations} + members ${f.members} + invites ${f.invites} + vaults ${f.vaults} + vault members ${f.vaultMembers}` +
        (f.total === r.requests.successful
          ? '  (matches)'
          : `  (MISMATCH: ${r.requests.successful} successful requests)`),
    );
    console.log(
      `  Go connector pattern: ${r.goCached.total} with its HTTP cache, ${r.goUncached.total} without (token, organizations, vaults ${r.goUncached.vaults}, members+invites ${r.goUncached.membersAndInvites}, vault members ${r.goUncached.vaultMembers} incl. ${r.visibleVaults - r.orgVaults} of another organization)` +
        (r.goTruncatedLists
          ? `; it follows no page link, so ${r.goTruncatedLists} of its lists would stop after the first page`
          : ''),
    );
  }
  const paged = runs[0];
  const limited = runs[2];
  console.log('');
  const minutes = (n) => (n / rate).toFixed(2);
  console.log(
    `at ${rate} requests/min: baton-vgs ${paged.requests.successful} requests ≈ ${minutes(paged.requests.successful)} min of quota` +
      (limited
        ? `, measured ${limited.seconds.toFixed(1)} s wall clock (${limited.requests.statuses['429'] ?? 0} answers were 429 and waited out)`
        : '') +
      `; the Go pattern ${paged.goCached.total}/${paged.goUncached.total} requests ≈ ${minutes(paged.goCached.total)}/${minutes(paged.goUncached.total)} min (cached/uncached, with incomplete data when the API pages)`,
  );
}
