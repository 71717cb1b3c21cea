// The conformance kit against the fixture connector, through the real subprocess handshake (`_connector-service`,
// fd 3 listener, mTLS). Runs the compiled bin: build first (`npx tsc -p packages/shared`, or `npm test`).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncStore } from '@baton-ts/shared/c1z';
import { checkSyncInvariants, ConformanceError, provisioningRoundTrip, runConformance } from '@baton-ts/shared/testing';

const BIN = fileURLToPath(new URL('../packages/shared/dist/testing/fixture-connector-main.js', import.meta.url));
const SERVICE = fileURLToPath(new URL('../packages/shared/test/fixtures/fixture-service.mjs', import.meta.url));
const node = process.execPath;
const quiet = ['--log-level', 'error'];

/**
 * The fixture connector keeps its fake application (and its `state.mutations` counter) inside its own process, so
 * the test cannot read how many mutating calls it made. The round trip therefore relies on the connector's own
 * signals (`GrantAlreadyExists` / `GrantAlreadyRevoked`) and passes a counter that never changes; the fixture only
 * counts a mutation on the paths that do not answer those annotations, so a constant is truthful for the idempotent
 * steps. Connectors with a simulator (Twingate) pass a real counter read from the simulator's request log.
 */
const noMutationCounter = () => 0;

let dir: string;
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npx tsc -p packages/shared" first`);
  dir = mkdtempSync(join(tmpdir(), 'fixture-conformance-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('runConformance on the fixture connector', () => {
  it('syncs it through the handshake with no violations, the expected types and counts', async () => {
    // 250 users: three pages of users at the connector's default page size of 100.
    const report = await runConformance({
      command: node,
      args: [BIN, '--users', '250', ...quiet],
      expectTypes: ['user', 'group', 'project'],
    });
    try {
      expect(report.violations).toEqual([]);
      // g0 holds every user, g1 every 2nd, g2 every 3rd: 250 + 125 + 84 memberships, plus one viewer grant per
      // project to its group; expansion gives each member of a group the viewer grants of its 2 projects.
      expect(report.counts).toEqual({
        resourceTypes: 3,
        resources: { group: 3, project: 6, user: 250 },
        entitlements: 9,
        grants: 459 + 6 + 2 * 459,
      });
      expect(report.summary).toMatchObject({ resourceTypes: 3, resources: 259, entitlements: 9, expandedGrants: 918 });
      expect(report.relist).toHaveLength(2);
      for (const pass of report.relist) {
        expect(pass).toMatchObject({
          complete: true,
          resourceTypes: 3,
          resources: 259,
          entitlements: 9,
          grants: 465,
          retries: 0,
        });
      }
      expect(report.exit).toEqual({ code: 0, signal: null });
      // Every named check ran and passed; provisioning is not asked for here.
      expect(report.ok).toBe(true);
      expect(Object.fromEntries(report.checks.map((c) => [c.name, c.status]))).toEqual({
        lifecycle: 'pass',
        protocol: 'pass',
        capabilities: 'pass',
        walk: 'pass',
        stability: 'pass',
        validation: 'pass',
        provisioning: 'skip',
      });
      // The store is handed over open.
      expect(report.store.getResource('project', 'g2-p1')?.parentResourceId?.resource).toBe('g2');
    } finally {
      report.store.close();
    }
  });

  it('walks a second time with a small page size, so every listing spans many pages', async () => {
    const report = await runConformance({ command: node, args: [BIN, '--users', '40', ...quiet], pageSize: 3 });
    try {
      expect(report.violations).toEqual([]);
      // The first walk sends page_size 0, as hosts do; the second the size asked for.
      expect(report.relist[0].pages).toBeLessThan(report.relist[0].listings * 2);
      expect(report.relist[1].pages).toBeGreaterThan(report.relist[1].listings * 2);
    } finally {
      report.store.close();
    }
  });

  it('names a missing expected type', async () => {
    const report = await runConformance({
      command: node,
      args: [BIN, ...quiet],
      expectTypes: ['user', 'role'],
      relistPasses: 0,
    });
    report.store.close();
    expect(report.violations).toEqual([
      '[expected-type] resource type "role" was expected but not listed (listed: "user", "group", "project")',
    ]);
  });

  it('throws a ConformanceError naming the phase and the cause when the sync fails', async () => {
    const err = await runConformance({ command: node, args: [SERVICE, '--throw-in-list'] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConformanceError);
    expect((err as ConformanceError).violations).toHaveLength(1);
    expect((err as ConformanceError).violations[0]).toMatch(
      /^\[sync-failed\] the sync failed in phase resources: ListResources\(user\) failed/,
    );
  });

  it('throws a ConformanceError when the sync does not finish within maxSyncMs', async () => {
    const t0 = Date.now();
    const err = await runConformance({
      command: node,
      args: [BIN, '--users', '2000000', ...quiet],
      maxSyncMs: 1500,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConformanceError);
    expect((err as ConformanceError).violations).toEqual([
      '[sync-timeout] the sync did not finish within 1500 ms (page tokens may not terminate, or the connector hangs)',
    ]);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('checks a c1z written by the connector CLI', async () => {
    const file = join(dir, 'cli.c1z');
    await promisify(execFile)(node, [BIN, '--users', '30', '--file', file, '--quiet', ...quiet]);
    const store = await SyncStore.openC1z(file);
    try {
      expect(checkSyncInvariants(store)).toEqual([]);
      expect(store.counts().resources).toEqual({ group: 3, project: 6, user: 30 });
    } finally {
      store.close();
    }
  });
});

describe('provisioningRoundTrip on the fixture connector', () => {
  it('grant → sync shows it → GrantAlreadyExists → revoke → gone → GrantAlreadyRevoked', async () => {
    // u1 is not in g1 (g1 holds every 2nd user). `--provisioning` is added by the kit.
    const report = await provisioningRoundTrip({
      command: node,
      args: [BIN, ...quiet],
      entitlementId: 'group:g1:member',
      principal: { resourceType: 'user', resource: 'u1' },
      mutationCount: noMutationCounter,
    });
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.grantId).toBe('group:g1:member:user:u1');
    expect(report.steps.map((s) => [s.step, s.ok])).toEqual([
      ['initial-sync', true],
      ['grant', true],
      ['sync-after-grant', true],
      ['grant-again', true],
      ['revoke', true],
      ['sync-after-revoke', true],
      ['revoke-again', true],
    ]);
    const step = (name: string) => report.steps.find((s) => s.step === name)!;
    expect(step('grant').flags).toEqual({ alreadyExists: false, alreadyRevoked: false, doesNotExist: false });
    expect(step('grant-again').flags?.alreadyExists).toBe(true);
    expect(step('revoke-again').flags?.alreadyRevoked).toBe(true);
    expect(step('grant-again').detail).toBe('GrantAlreadyExists, no mutating API call');
    expect(step('revoke-again').detail).toBe('GrantAlreadyRevoked, no mutating API call');
    // The membership and what expansion derives from it appear and disappear with the grant (u1 gains g1's 2 projects).
    expect(step('sync-after-grant').summary!.grants - step('initial-sync').summary!.grants).toBe(3);
    expect(step('sync-after-revoke').summary!.grants).toBe(step('initial-sync').summary!.grants);
  });

  it('reports a mutating call on an idempotent step, from the counter it is given', async () => {
    let calls = 0;
    const report = await provisioningRoundTrip({
      command: node,
      args: [BIN, ...quiet],
      entitlementId: 'group:g2:member',
      principal: { resourceType: 'user', resource: 'u1' },
      // A counter that ticks on every read, as if each step had called the API once.
      mutationCount: () => calls++,
    });
    expect(report.ok).toBe(false);
    expect(report.violations).toEqual([
      '[grant-again] the second Grant made 1 mutating API call(s); an existing grant must be detected without one',
      '[revoke-again] the second Revoke made 1 mutating API call(s); a missing grant must be detected without one',
    ]);
  });

  it('reports each step when a sync does not show the grant (syncs in fresh children lose the fixture state)', async () => {
    // The fixture keeps memberships in its process, so a sync in a fresh child (syncArgs) never sees the grant made
    // by the provisioning child: the kit reports that step, still revokes (rebuilding the grant from the first sync)
    // and runs the rest.
    const report = await provisioningRoundTrip({
      command: node,
      args: [BIN, ...quiet],
      syncArgs: [BIN, ...quiet],
      entitlementId: 'group:g1:member',
      principal: { resourceType: 'user', resource: 'u3' },
      mutationCount: noMutationCounter,
    });
    expect(report.steps.map((s) => [s.step, s.ok])).toEqual([
      ['initial-sync', true],
      ['grant', true],
      ['sync-after-grant', false],
      ['grant-again', true],
      ['revoke', true],
      ['sync-after-revoke', true],
      ['revoke-again', true],
    ]);
    expect(report.violations).toEqual([
      '[sync-after-grant] the sync does not show a grant of "group:g1:member" to "user:u3"',
    ]);
  });

  it('stops with a clear message when the principal already holds the entitlement', async () => {
    const report = await provisioningRoundTrip({
      command: node,
      args: [BIN, '--provisioning', ...quiet],
      entitlementId: 'group:g0:member',
      principal: { resourceType: 'user', resource: 'u0' },
      mutationCount: noMutationCounter,
    });
    expect(report.steps.map((s) => s.step)).toEqual(['initial-sync']);
    expect(report.violations).toEqual([
      '[initial-sync] principal "user:u0" already holds "group:g0:member" (grant "group:g0:member:user:u0"); choose a principal without it',
    ]);
  });
});
