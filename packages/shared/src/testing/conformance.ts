/**
 * Conformance kit: what every connector's tests call to check it behaves like a Baton connector (docs/testing.md).
 *
 *  - `runConformance`: every named check of `baton-conform` (lifecycle, protocol, capabilities, walk, stability,
 *    validation) against a connector executable spawned through the real subprocess handshake
 *    (`_connector-service`, fd 3, mTLS); the first walk is a real host sync whose store is handed back.
 *  - `checkSyncInvariants`: the store checks alone, for any store (e.g. a c1z written by the CLI).
 *  - `checkRpcInvariants`: the walk and stability checks over any client (e.g. an in-memory one in a unit test).
 *  - `provisioningRoundTrip`: grant → the next sync shows the grant → grant again answers `GrantAlreadyExists` with
 *    no mutating API call → revoke → the next sync no longer shows it → revoke again answers `GrantAlreadyRevoked`
 *    with no mutating API call.
 *
 * Violations are sentences prefixed with their rule, e.g. `[grant-principal-missing] grant "…" has principal …`.
 * A connector that cannot be synced at all (the sync fails, times out, or the process dies) makes
 * `runConformance` throw a `ConformanceError` that says why, with the connector's last stderr lines.
 */
import { create } from '@bufbuild/protobuf';
import { GrantSchema, type Grant } from '../gen/c1/connector/v2/grant_pb.js';
import { ResourceIdSchema, type ResourceId } from '../gen/c1/connector/v2/resource_pb.js';
import { SyncStore, type StoreCounts } from '../c1z/index.js';
import {
  grantEntitlement,
  PagingError,
  revokeGrant,
  runSync,
  spawnConnector,
  SyncError,
  type ConnectorProcess,
  type ExitStatus,
  type ProvisionFlags,
  type ProvisionStoreLike,
  type SyncSummary,
} from '../host/index.js';
import type { Logger } from '../log/logger.js';
import { errorMessage, lastLines } from '../util/text.js';
import type { CheckName, CheckResult } from './checks/result.js';
import type { ProvisionTarget } from './checks/provisioning.js';
import type { RelistPassStats } from './page-checks.js';
import { DEFAULT_MAX_SYNC_MS, runChecks } from './run-checks.js';
import { ConformanceError, quote, resourceKey, ViolationCollector } from './violations.js';

// ---------------------------------------------------------------------------------------------------------------
// Shared plumbing
// ---------------------------------------------------------------------------------------------------------------

interface SpawnArgs {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Child stderr: `'pipe'` (default: kept for error reports only) or `'inherit'` (also shown). */
  stderr?: 'inherit' | 'pipe';
  logger?: Logger;
}

function spawnChild(o: SpawnArgs, args: string[]): Promise<ConnectorProcess> {
  return spawnConnector({ command: o.command, args, env: o.env, stderr: o.stderr ?? 'pipe', logger: o.logger });
}

/**
 * A full host sync with a time limit. On timeout the child is closed (which fails the pending RPC) and a
 * `ConformanceError` is thrown; any sync failure becomes a `ConformanceError` naming the phase and the cause.
 */
async function syncWithDeadline(
  proc: ConnectorProcess,
  store: SyncStore,
  maxMs: number,
  what: string,
  logger?: Logger,
): Promise<SyncSummary> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`did not finish within ${maxMs} ms`)), maxMs);
  try {
    return await runSync(proc.client, store, { logger, signal: controller.signal });
  } catch (err) {
    throw syncFailure(err, what, maxMs, controller.signal.aborted, proc.stderrTail());
  } finally {
    clearTimeout(timer);
  }
}

/** The `ConformanceError` for a sync that failed or ran out of time, with the connector's last stderr lines. */
function syncFailure(
  err: unknown,
  what: string,
  maxMs: number,
  timedOut: boolean,
  stderrTail: string,
): ConformanceError {
  const tail = lastLines(stderrTail);
  const stderr = tail ? `\nconnector stderr (last lines):\n${tail}` : '';
  if (timedOut) {
    const msg = `${what} did not finish within ${maxMs} ms (page tokens may not terminate, or the connector hangs)`;
    return new ConformanceError(`[sync-timeout] ${msg}${stderr}`, [`[sync-timeout] ${msg}`], { listViolations: false });
  }
  const phase = err instanceof SyncError ? ` in phase ${err.phase}` : '';
  const rule = err instanceof SyncError && err.cause instanceof PagingError ? 'page-token-stuck' : 'sync-failed';
  const msg = `${what} failed${phase}: ${errorMessage(err)}`;
  return new ConformanceError(`[${rule}] ${msg}${stderr}`, [`[${rule}] ${msg}`], { cause: err, listViolations: false });
}

// ---------------------------------------------------------------------------------------------------------------
// runConformance
// ---------------------------------------------------------------------------------------------------------------

export interface ConformanceOptions {
  /** Connector executable (e.g. `process.execPath`). */
  command: string;
  /** Arguments before `_connector-service` (e.g. `[bin, '--demo']`). */
  args: string[];
  /** Child environment (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Resource type ids that must be listed. */
  expectTypes?: string[];
  /** Budget for each walk (default 120 s). */
  maxSyncMs?: number;
  /** Walks (default 2: the second is the stability check; 1 or 0 skips it). */
  relistPasses?: number;
  /** `page_size` of the second walk (default 50; 0: the connector's choice). The first sends 0, as hosts do. */
  pageSize?: number;
  /** Sentences per rule (default 20). */
  maxPerRule?: number;
  /** Child stderr: `'pipe'` (default) or `'inherit'`. */
  stderr?: 'inherit' | 'pipe';
  /** Parent directory of the temp store. */
  tempDir?: string;
  logger?: Logger;
  /** Time limit for one answer (default 30 s). */
  callTimeoutMs?: number;
  /**
   * How soon the connector must be ready (default 30 s: test machines are shared and loaded; `baton-conform` holds
   * connectors to the 5 s a Go host waits).
   */
  startupLimitMs?: number;
  /** Checks not to run. */
  skip?: CheckName[];
  /** Also run the provisioning check with this entitlement and principal (see `provisioningRoundTrip` too). */
  provision?: ProvisionTarget;
  /** Send nothing that could change the application (skips the capabilities' provisioning probes). */
  readOnly?: boolean;
}

export interface ConformanceReport {
  summary: SyncSummary;
  counts: StoreCounts;
  /** Empty when the connector conforms (warnings are in `checks`). */
  violations: string[];
  /** The synced store (the first walk), still open: the caller closes it. */
  store: SyncStore;
  /** What each walk saw. */
  relist: RelistPassStats[];
  /** How the child exited after its stdin was closed. */
  exit: ExitStatus;
  /** Every named check with its status, summary line and findings (what `baton-conform` prints). */
  checks: CheckResult[];
  /** Nothing failed. */
  ok: boolean;
}

/**
 * Runs every check against the connector. Throws `ConformanceError` only when the connector cannot be synced at
 * all; otherwise returns the violations (see `assertNoViolations`).
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const maxSyncMs = options.maxSyncMs ?? DEFAULT_MAX_SYNC_MS;
  const report = await runChecks({
    target: { kind: 'spawn', command: options.command, args: options.args, env: options.env, stderr: options.stderr },
    expectTypes: options.expectTypes,
    walkTimeoutMs: maxSyncMs,
    stability: (options.relistPasses ?? 2) >= 2,
    pageSize: options.pageSize,
    callTimeoutMs: options.callTimeoutMs,
    startupLimitMs: options.startupLimitMs ?? 30_000,
    maxPerRule: options.maxPerRule,
    skip: options.skip,
    provision: options.provision,
    readOnly: options.readOnly,
    tempDir: options.tempDir,
    stopAfterWalkFailure: true,
    keepStore: true,
    logger: options.logger,
  });
  if (!report.store || !report.summary || !report.counts) {
    const failure = report.walkFailure;
    if (failure) {
      throw syncFailure(failure.error, 'the sync', maxSyncMs, failure.rule === 'deadline', report.stderrTail ?? '');
    }
    throw new ConformanceError('[start] the connector did not start', report.violations, {});
  }
  return {
    summary: report.summary,
    counts: report.counts,
    violations: report.violations,
    store: report.store,
    relist: report.walks,
    exit: report.exit ?? { code: null, signal: null },
    checks: report.checks,
    ok: report.ok,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// provisioningRoundTrip
// ---------------------------------------------------------------------------------------------------------------

export interface RoundTripOptions {
  command: string;
  /**
   * Arguments of the provisioning child, before `_connector-service`. `--provisioning` is added when missing (a
   * Baton connector only serves Grant/Revoke with provisioning on).
   */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Entitlement to grant, e.g. `group:g1:member`. It must appear in the first sync. */
  entitlementId: string;
  /** Principal to grant it to; it must appear in the first sync and must not hold the entitlement yet. */
  principal: { resourceType: string; resource: string };
  /**
   * Reads how many mutating upstream API calls the connector has made so far (e.g. from the simulator's request
   * log). The kit asserts the number does not change across the idempotent grant and revoke.
   */
  mutationCount: () => Promise<number> | number;
  /**
   * Run each sync in a fresh child with these arguments, as separate CLI runs would (for connectors whose state
   * lives outside the process, e.g. in a simulator). Default: sync through the provisioning child itself, so a
   * connector that keeps its state in its own process works too.
   */
  syncArgs?: string[];
  /** Also require the first grant and the first revoke to change `mutationCount` (default false). */
  requireMutation?: boolean;
  /** Budget for each sync (default 120 s). */
  maxSyncMs?: number;
  stderr?: 'inherit' | 'pipe';
  tempDir?: string;
  logger?: Logger;
}

export type RoundTripStepName =
  'initial-sync' | 'grant' | 'sync-after-grant' | 'grant-again' | 'revoke' | 'sync-after-revoke' | 'revoke-again';

export interface RoundTripStep {
  step: RoundTripStepName;
  ok: boolean;
  /** What happened, in one sentence. */
  detail: string;
  /** Idempotency flags of a Grant/Revoke response. */
  flags?: ProvisionFlags;
  mutationsBefore?: number;
  mutationsAfter?: number;
  /** Counts of a sync step. */
  summary?: Pick<SyncSummary, 'resources' | 'entitlements' | 'grants' | 'expandedGrants'>;
  durationMs: number;
}

export interface RoundTripReport {
  /** `<entitlement id>:<principal type>:<principal id>`. */
  grantId: string;
  steps: RoundTripStep[];
  /** Empty when every step behaved; each names its step, e.g. `[grant-again] …`. */
  violations: string[];
  ok: boolean;
}

/**
 * grant → next sync shows it → grant again = `GrantAlreadyExists` without a mutating call → revoke → next sync no
 * longer shows it → revoke again = `GrantAlreadyRevoked` without a mutating call. Steps after a failed step that
 * make no sense any more (e.g. the first sync lacks the entitlement) are not run. Returns every step's outcome;
 * throws only when the connector cannot be started.
 */
export async function provisioningRoundTrip(options: RoundTripOptions): Promise<RoundTripReport> {
  const maxSyncMs = options.maxSyncMs ?? DEFAULT_MAX_SYNC_MS;
  const principalId: ResourceId = create(ResourceIdSchema, options.principal);
  const principalKey = resourceKey(principalId);
  const grantId = `${options.entitlementId}:${options.principal.resourceType}:${options.principal.resource}`;
  const steps: RoundTripStep[] = [];
  const v = new ViolationCollector(100);
  const stores: SyncStore[] = [];

  const provArgs = options.args.includes('--provisioning') ? options.args : [...options.args, '--provisioning'];
  const proc = await spawnChild(options, provArgs);

  const record = (step: RoundTripStep) => {
    steps.push(step);
    if (!step.ok) v.add(step.step, step.detail);
  };
  const count = async () => Number(await options.mutationCount());

  const sync = async (what: string): Promise<{ store: SyncStore; summary: SyncSummary }> => {
    const store = SyncStore.create({ tempDir: options.tempDir });
    stores.push(store);
    if (!options.syncArgs)
      return { store, summary: await syncWithDeadline(proc, store, maxSyncMs, what, options.logger) };
    const child = await spawnChild(options, options.syncArgs);
    try {
      return { store, summary: await syncWithDeadline(child, store, maxSyncMs, what, options.logger) };
    } finally {
      await child.close();
    }
  };
  /** The direct grant of the entitlement to the principal (not one derived only through expansion). */
  const findGrant = (store: SyncStore): { direct?: Grant; derived?: Grant } => {
    const byId = store.getGrant(grantId);
    const all = [...store.grants({ entitlementId: options.entitlementId, principal: principalId })];
    if (byId && !all.some((g) => g.id === byId.id)) all.push(byId);
    const isDirect = (g: Grant) => {
      const sources = Object.keys(g.sources?.sources ?? {});
      return sources.length === 0 || sources.includes(options.entitlementId);
    };
    return { direct: all.find(isDirect), derived: all.find((g) => !isDirect(g)) };
  };
  const summaryOf = (s: SyncSummary) => ({
    resources: s.resources,
    entitlements: s.entitlements,
    grants: s.grants,
    expandedGrants: s.expandedGrants,
  });
  const syncStep = async (step: RoundTripStepName, expectGrant: boolean): Promise<SyncStore | undefined> => {
    const t0 = Date.now();
    let result: { store: SyncStore; summary: SyncSummary };
    try {
      result = await sync(`the sync for step ${step}`);
    } catch (err) {
      record({ step, ok: false, detail: errorMessage(err), durationMs: Date.now() - t0 });
      return undefined;
    }
    const { direct, derived } = findGrant(result.store);
    const shown = !!direct;
    const note =
      derived && !direct ? ` (only a grant derived through expansion, ${quote(derived.id)}, is present)` : '';
    record({
      step,
      ok: shown === expectGrant,
      detail: expectGrant
        ? shown
          ? `the sync shows grant ${quote(direct!.id)}`
          : `the sync does not show a grant of ${quote(options.entitlementId)} to ${quote(principalKey)}${note}`
        : shown
          ? `the sync still shows grant ${quote(direct!.id)} after the revoke`
          : `the sync no longer shows a grant of ${quote(options.entitlementId)} to ${quote(principalKey)}${note}`,
      summary: summaryOf(result.summary),
      durationMs: Date.now() - t0,
    });
    return result.store;
  };
  /** One Grant or Revoke call with the mutation counter read around it. */
  const provisionStep = async (
    step: RoundTripStepName,
    call: () => Promise<ProvisionFlags>,
    judge: (flags: ProvisionFlags, delta: number) => { ok: boolean; detail: string },
  ): Promise<boolean> => {
    const t0 = Date.now();
    let before: number | undefined;
    let after: number | undefined;
    try {
      before = await count();
      const result = await call();
      const flags: ProvisionFlags = {
        alreadyExists: result.alreadyExists,
        alreadyRevoked: result.alreadyRevoked,
        doesNotExist: result.doesNotExist,
      };
      after = await count();
      const { ok, detail } = judge(flags, after - before);
      record({ step, ok, detail, flags, mutationsBefore: before, mutationsAfter: after, durationMs: Date.now() - t0 });
      return ok;
    } catch (err) {
      if (before !== undefined) after = await count().catch(() => undefined);
      record({
        step,
        ok: false,
        detail: `failed: ${errorMessage(err)}`,
        mutationsBefore: before,
        mutationsAfter: after,
        durationMs: Date.now() - t0,
      });
      return false;
    }
  };
  const flagsOf = (f: ProvisionFlags) =>
    [f.alreadyExists && 'GrantAlreadyExists', f.alreadyRevoked && 'GrantAlreadyRevoked'].filter(Boolean).join(', ') ||
    'no idempotency annotation';

  try {
    // 1. Initial sync: the entitlement and the principal must exist, the grant must not.
    const t0 = Date.now();
    let store0: SyncStore;
    try {
      const r = await sync('the initial sync');
      store0 = r.store;
      const ent = store0.getEntitlement(options.entitlementId);
      const principal = store0.getResource(options.principal.resourceType, options.principal.resource);
      const already = findGrant(store0).direct;
      const problems: string[] = [];
      if (!ent) problems.push(`entitlement ${quote(options.entitlementId)} is not in the sync`);
      if (!principal) problems.push(`principal ${quote(principalKey)} is not in the sync`);
      if (already)
        problems.push(
          `principal ${quote(principalKey)} already holds ${quote(options.entitlementId)} (grant ${quote(already.id)}); choose a principal without it`,
        );
      record({
        step: 'initial-sync',
        ok: problems.length === 0,
        detail: problems.length ? problems.join('; ') : `entitlement and principal present, no grant yet`,
        summary: summaryOf(r.summary),
        durationMs: Date.now() - t0,
      });
      if (problems.length) return finish();
    } catch (err) {
      record({ step: 'initial-sync', ok: false, detail: errorMessage(err), durationMs: Date.now() - t0 });
      return finish();
    }

    // 2. Grant.
    const granted = await provisionStep(
      'grant',
      () =>
        grantEntitlement(proc.client, store0, {
          entitlementId: options.entitlementId,
          principalType: options.principal.resourceType,
          principalId: options.principal.resource,
        }),
      (flags, delta) => {
        if (flags.alreadyExists)
          return {
            ok: false,
            detail: `the first Grant answered GrantAlreadyExists although the initial sync showed no such grant`,
          };
        if (options.requireMutation && delta <= 0)
          return { ok: false, detail: `the first Grant succeeded but made no mutating API call` };
        return { ok: true, detail: `granted (${delta} mutating API call(s))` };
      },
    );
    if (!granted) return finish();

    // 3. The next sync shows it.
    const store1 = await syncStep('sync-after-grant', true);

    // 4. Grant again: GrantAlreadyExists, no mutating call.
    await provisionStep(
      'grant-again',
      () =>
        grantEntitlement(proc.client, store1 ?? store0, {
          entitlementId: options.entitlementId,
          principalType: options.principal.resourceType,
          principalId: options.principal.resource,
        }),
      (flags, delta) => {
        const problems: string[] = [];
        if (!flags.alreadyExists)
          problems.push(`the second Grant did not answer GrantAlreadyExists (${flagsOf(flags)})`);
        if (delta !== 0)
          problems.push(
            `the second Grant made ${delta} mutating API call(s); an existing grant must be detected without one`,
          );
        return problems.length
          ? { ok: false, detail: problems.join('; ') }
          : { ok: true, detail: `GrantAlreadyExists, no mutating API call` };
      },
    );

    // 5. Revoke (the grant as the sync stored it, or as Go would rebuild it from its entitlement and principal).
    const revokeStore = withGrant(store1, store0, grantId, options.entitlementId, principalId);
    const revoked = await provisionStep(
      'revoke',
      () => revokeGrant(proc.client, revokeStore, grantId),
      (flags, delta) => {
        if (flags.alreadyRevoked)
          return {
            ok: false,
            detail: `the first Revoke answered GrantAlreadyRevoked although the grant was just made`,
          };
        if (options.requireMutation && delta <= 0)
          return { ok: false, detail: `the first Revoke succeeded but made no mutating API call` };
        return { ok: true, detail: `revoked (${delta} mutating API call(s))` };
      },
    );
    if (!revoked) return finish();

    // 6. The next sync no longer shows it.
    await syncStep('sync-after-revoke', false);

    // 7. Revoke again: GrantAlreadyRevoked, no mutating call.
    await provisionStep(
      'revoke-again',
      () => revokeGrant(proc.client, revokeStore, grantId),
      (flags, delta) => {
        const problems: string[] = [];
        if (!flags.alreadyRevoked)
          problems.push(`the second Revoke did not answer GrantAlreadyRevoked (${flagsOf(flags)})`);
        if (delta !== 0)
          problems.push(
            `the second Revoke made ${delta} mutating API call(s); a missing grant must be detected without one`,
          );
        return problems.length
          ? { ok: false, detail: problems.join('; ') }
          : { ok: true, detail: `GrantAlreadyRevoked, no mutating API call` };
      },
    );
    return finish();
  } finally {
    for (const s of stores) s.close();
    await proc.close();
  }

  function finish(): RoundTripReport {
    const violations = v.result();
    return { grantId, steps, violations, ok: violations.length === 0 };
  }
}

/**
 * Provisioning lookups that find the grant even if the sync after the grant missed it (that step already failed;
 * the revoke is still worth trying): the grant is rebuilt from the entitlement and principal of the first sync.
 */
function withGrant(
  store1: SyncStore | undefined,
  store0: SyncStore,
  grantId: string,
  entitlementId: string,
  principal: ResourceId,
): ProvisionStoreLike {
  const primary = store1 ?? store0;
  return {
    getEntitlement: (id) => primary.getEntitlement(id) ?? store0.getEntitlement(id),
    getResource: (t, id) => primary.getResource(t, id) ?? store0.getResource(t, id),
    getGrant: (id) => {
      const found = primary.getGrant(id);
      if (found || id !== grantId) return found;
      const entitlement = store0.getEntitlement(entitlementId);
      const p = store0.getResource(principal.resourceType, principal.resource);
      return entitlement && p ? create(GrantSchema, { id: grantId, entitlement, principal: p }) : undefined;
    },
  };
}
