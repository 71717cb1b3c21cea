#!/usr/bin/env node
// API requests for a full sync of the `large` Twingate dataset by baton-twingate, against the Go connector's call
// pattern for the same data.
//
//   npm run build && node bench/twingate-requests.mjs [--dataset large] [--json]
//
// Starts the Twingate simulator (rate limits off), runs the real bin (`packages/twingate/dist/bin/baton-twingate.mjs`, which
// spawns itself as the connector service over the Go-style handshake) with `--file` to a temp c1z, then counts the
// requests in the simulator's request log, broken down by GraphQL top-level field and operation name.
//
// The Go connector's count is computed from its call pattern (docs/apis/twingate.md, "Its call pattern"; R = 5 roles):
//   1 validate + ⌈G/100⌉ groups pages + ⌈U/100⌉ users pages + G group-member reads (one per group, unpaginated)
//   + R × ⌈U/100⌉ (a full users scan per role).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { getOperationAST, parse } from 'graphql';

const root = new URL('..', import.meta.url);
const BIN = fileURLToPath(new URL('packages/twingate/dist/bin/baton-twingate.mjs', root));
const SIMULATOR = new URL('packages/twingate/dist/simulator/index.js', root);

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
};
const datasetName = opt('dataset', 'large');
const asJson = argv.includes('--json');

if (!existsSync(BIN) || !existsSync(fileURLToPath(SIMULATOR))) {
  console.error(`build first: npx tsc -b packages/shared packages/twingate (missing ${BIN} or the simulator)`);
  process.exit(1);
}

const PAGE = 100;
const ROLES = ['ADMIN', 'DEVOPS', 'SUPPORT', 'ACCESS_REVIEWER', 'MEMBER'];
const ceil = (n) => Math.ceil(n / PAGE);

/** Top-level fields and operation name of a logged GraphQL request, read from its body. */
function describe(entry) {
  const info = entry.info?.graphql;
  if (info && info.operationType)
    return { fields: info.topLevelFields, operation: info.operationName ?? '(anonymous)', type: info.operationType };
  const body = entry.body;
  try {
    const op = getOperationAST(
      parse(body.query),
      typeof body.operationName === 'string' ? body.operationName : undefined,
    );
    const fields = op.selectionSet.selections.filter((s) => s.kind === 'Field').map((s) => s.name.value);
    return { fields, operation: op.name?.value ?? '(anonymous)', type: op.operation };
  } catch {
    return { fields: ['(unparseable)'], operation: '(unparseable)', type: null };
  }
}

function run(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const { startTwingateSimulator } = await import(SIMULATOR.href);
const dir = mkdtempSync(join(tmpdir(), 'twingate-bench-'));
const sim = await startTwingateSimulator({
  dataset: datasetName,
  rateLimits: { read: 0, write: 0 },
  logLimit: 1_000_000,
});
try {
  const users = sim.state.listUsers();
  const groups = sim.state.listGroups();
  const U = users.length;
  const G = groups.length;
  const R = ROLES.length;
  const memberCounts = groups.map((g) => sim.state.groupMembers(g.id).length);
  const memberships = memberCounts.reduce((a, b) => a + b, 0);

  // The Go connector's call pattern (docs/apis/twingate.md), and what this connector's pattern needs for the same data.
  const go = { validate: 1, groups: ceil(G), users: ceil(U), groupMembers: G, roleScans: R * ceil(U) };
  go.total = go.validate + go.groups + go.users + go.groupMembers + go.roleScans;
  const perRole = ROLES.map((r) => users.filter((u) => u.role === r).length);
  const expected = {
    validate: 1,
    groups: ceil(G),
    users: ceil(U),
    // Role grants come from the roles the users listing already returned (the connector's user role index), so
    // they cost nothing; the filtered-query fallback (index unusable, e.g. a restart) would cost `roleGrantsFallback`.
    roleGrants: 0,
    // Members arrive nested (first 100) in the groups listing; only larger groups page on.
    extraMemberPages: memberCounts.reduce((n, c) => n + Math.max(0, ceil(c) - 1), 0),
  };
  expected.total =
    expected.validate + expected.groups + expected.users + expected.roleGrants + expected.extraMemberPages;
  const roleGrantsFallback = perRole.reduce((n, c) => n + Math.max(1, ceil(c)), 0);

  const file = join(dir, 'large.c1z');
  const summaryFile = join(dir, 'summary.json');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BATON_')));
  const before = sim.log.count();
  const t0 = performance.now();
  const result = await run(
    process.execPath,
    [
      BIN,
      '--api-key',
      sim.apiKey,
      '--base-url',
      sim.graphqlUrl,
      '--domain',
      'simulated',
      '--file',
      file,
      '--summary-json',
      summaryFile,
      '--log-level',
      'warn',
      '--quiet',
    ],
    env,
  );
  const seconds = (performance.now() - t0) / 1000;
  if (result.code !== 0) {
    console.error(`baton-twingate exited with ${result.code}\n${result.stderr}`);
    process.exitCode = 1;
  } else {
    const entries = sim.log.entries().slice(before);
    const byField = new Map();
    const byOperation = new Map();
    const statuses = new Map();
    let mutations = 0;
    for (const e of entries) {
      const d = describe(e);
      for (const f of d.fields) byField.set(f, (byField.get(f) ?? 0) + 1);
      byOperation.set(d.operation, (byOperation.get(d.operation) ?? 0) + 1);
      statuses.set(e.status, (statuses.get(e.status) ?? 0) + 1);
      if (d.type === 'mutation') mutations++;
    }
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
    const sorted = (m) => Object.fromEntries([...m.entries()].sort((a, b) => b[1] - a[1]));
    const report = {
      dataset: datasetName,
      data: { users: U, groups: G, roles: R, groupMemberships: memberships, largestGroup: Math.max(...memberCounts) },
      sync: {
        seconds: Number(seconds.toFixed(2)),
        connectorReportedSeconds: summary.seconds,
        resources: summary.resources,
        entitlements: summary.entitlements,
        grants: summary.grants,
        c1zBytes: statSync(file).size,
      },
      requests: {
        total: entries.length,
        byTopLevelField: sorted(byField),
        byOperation: sorted(byOperation),
        statuses: sorted(statuses),
        mutations,
        connectorReportedApiRequests: summary.apiRequests ?? null,
        expectedFromPattern: expected,
        roleGrantsFallbackPages: roleGrantsFallback,
      },
      goConnectorPattern: go,
      // At Twingate's documented ~60 read requests per minute per token.
      minutesAt60PerMinute: {
        typescript: Number((entries.length / 60).toFixed(1)),
        go: Number((go.total / 60).toFixed(1)),
      },
    };
    if (asJson) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      const pad = (s, n) => String(s).padEnd(n);
      const num = (n) => String(n).padStart(7);
      console.log(
        `baton-twingate full sync, dataset "${datasetName}": ${U} users, ${G} groups, ${R} roles, ${memberships} group memberships (largest group ${report.data.largestGroup})`,
      );
      console.log(
        `  synced ${summary.resources} resources, ${summary.entitlements} entitlements, ${summary.grants} grants in ${seconds.toFixed(2)} s wall clock (process start to exit; connector reported ${summary.seconds} s)`,
      );
      console.log('');
      console.log(
        `API requests (simulator request log): ${entries.length}  [statuses ${JSON.stringify(report.requests.statuses)}, mutations ${mutations}, connector's own count ${summary.apiRequests ?? '-'}]`,
      );
      console.log('  by GraphQL top-level field:');
      for (const [f, n] of Object.entries(report.requests.byTopLevelField)) console.log(`    ${pad(f, 24)}${num(n)}`);
      console.log('  by operation:');
      for (const [f, n] of Object.entries(report.requests.byOperation)) console.log(`    ${pad(f, 24)}${num(n)}`);
      console.log(
        `  expected from the pattern: 1 validate + ${expected.groups} groups pages + ${expected.users} users pages + ${expected.roleGrants} role-filtered users pages (role grants from the users listing) + ${expected.extraMemberPages} extra member pages = ${expected.total}` +
          (expected.total === entries.length ? ' (matches)' : ` (MISMATCH: measured ${entries.length})`),
      );
      console.log(
        `  (without the user role index, e.g. after a restart, role grants would add ${roleGrantsFallback} role-filtered users pages)`,
      );
      console.log('');
      console.log(`Go connector call pattern for the same data (docs/apis/twingate.md, R = ${R}):`);
      console.log(
        `  1 validate + ⌈G/100⌉ ${go.groups} + ⌈U/100⌉ ${go.users} + G ${go.groupMembers} + R×⌈U/100⌉ ${go.roleScans} = ${go.total}`,
      );
      console.log(`  (and it would still truncate every group to its first page of members)`);
      console.log('');
      console.log(
        `ratio: ${(go.total / entries.length).toFixed(1)}× fewer requests; at ~60 reads/min: ${report.minutesAt60PerMinute.typescript} min vs ${report.minutesAt60PerMinute.go} min`,
      );
    }
  }
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
