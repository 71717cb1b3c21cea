/**
 * A full conformance run: every named check against one connector (docs/testing.md). `baton-conform` prints its
 * report; `runConformance` (conformance.ts) wraps it for tests.
 *
 * Order, and which process each part uses (a Go connector serves provisioning only when started with
 * `--provisioning`, and a check that may crash the connector must not take the others down with it):
 *  1. the sync process (spawned as a host spawns it for a sync): Do/Report, GetMetadata, Validate, health,
 *     reflection, ListStaticEntitlements (protocol); the capabilities it describes; walk 1, a host sync with the
 *     host's page size (walk); walk 2 with an explicit page size (stability); ListResources of child types without a
 *     parent (protocol); then its stdin is closed and its exit timed (lifecycle);
 *  2. the provisioning process (`--provisioning`): which provisioning services answer (capabilities), the round
 *     trip (provisioning, when asked), the invalid requests (validation; a crash gets a fresh process); then SIGTERM
 *     and its exit timed (lifecycle).
 * A `serve` target has no process of ours: one connection does everything and lifecycle is skipped.
 */
import { SyncStore, type StoreCounts } from '../c1z/index.js';
import type { ExitStatus, SyncSummary } from '../host/index.js';
import type { Logger } from '../log/logger.js';
import { errorMessage } from '../util/text.js';
import { collectSyncInvariants } from './invariants.js';
import {
  compareWalks,
  observedWalk,
  walkSummary,
  type ObservedWalk,
  type RelistPassStats,
  type WalkFailure,
} from './page-checks.js';
import {
  CallClock,
  closeAndObserve,
  findOrphans,
  openSession,
  terminateAndObserve,
  type ConnectorTarget,
  type Session,
} from './session.js';
import { quote } from './violations.js';
import { describedCapabilities, serviceProbes } from './checks/capabilities.js';
import { lifecycleFindings, newLifecycleObservations } from './checks/lifecycle.js';
import { childTypeProbes, ConnectorGone, gatherFacts, protocolProbes, type ConnectorFacts } from './checks/protocol.js';
import { provisioningCheck, type ProvisionTarget } from './checks/provisioning.js';
import { CHECK_NAMES, CheckRecorder, type CheckName, type CheckResult } from './checks/result.js';
import { validationProbes } from './checks/validation.js';

/** Default budget for one walk. */
export const DEFAULT_MAX_SYNC_MS = 120_000;
/** Default time limit for one answer. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
/** Default `page_size` of the stability walk (the first walk sends 0, as hosts do). */
export const DEFAULT_STABILITY_PAGE_SIZE = 50;

export interface ConformanceRunOptions {
  target: ConnectorTarget;
  /** `page_size` of the second (stability) walk; 0 lets the connector choose (default 50). */
  pageSize?: number;
  /** Budget for each walk (default 120 s). */
  walkTimeoutMs?: number;
  /** Time limit for one answer (default 30 s). */
  callTimeoutMs?: number;
  /** How soon a spawned connector must be ready (default 5 s, how long a Go host keeps dialing). */
  startupLimitMs?: number;
  /** Run the provisioning round trip with this entitlement and principal. */
  provision?: ProvisionTarget;
  /** Send no request that could change anything (skips the capabilities' service probes; refuses `provision`). */
  readOnly?: boolean;
  /** Resource type ids that must be listed (walk). */
  expectTypes?: string[];
  /** Checks not to run (`walk` always runs: the others need it). */
  skip?: CheckName[];
  /** Run the second walk (default true). */
  stability?: boolean;
  /** Stop after a first walk that fails (the rest is not run). */
  stopAfterWalkFailure?: boolean;
  /** Sentences per rule (default 20). */
  maxPerRule?: number;
  /** Parent directory of the temporary stores. */
  tempDir?: string;
  /** Hand the first walk's store to the caller (who closes it). */
  keepStore?: boolean;
  logger?: Logger;
}

export interface ConformanceRunReport {
  /** Nothing failed (warnings allowed). */
  ok: boolean;
  checks: CheckResult[];
  /** What each walk saw. */
  walks: RelistPassStats[];
  /** The first walk's sync summary (when it finished). */
  summary?: SyncSummary;
  counts?: StoreCounts;
  /** Why the first walk stopped, if it did. */
  walkFailure?: WalkFailure;
  /** How the sync process exited after its stdin closed. */
  exit?: ExitStatus;
  /** Every failure as `[rule] sentence`, check by check. */
  violations: string[];
  /** The first walk's store, with `keepStore`. */
  store?: SyncStore;
  /** The last stderr output of the sync process. */
  stderrTail?: string;
  durationMs: number;
}

export async function runChecks(options: ConformanceRunOptions): Promise<ConformanceRunReport> {
  const started = Date.now();
  const rec = Object.fromEntries(CHECK_NAMES.map((n) => [n, new CheckRecorder(n, options.maxPerRule)])) as Record<
    CheckName,
    CheckRecorder
  >;
  for (const n of options.skip ?? []) if (n !== 'walk') rec[n].skip('skipped (--skip)');
  const runs = (n: CheckName) => !rec[n].skipped;
  const target = options.target;
  const spawned = target.kind === 'spawn';
  if (!spawned)
    rec.lifecycle.skip('not spawned by baton-conform (--serve-addr): start-up, exit and orphans not checked');
  if (!options.provision) rec.provisioning.skip('not asked for (--provision ENTITLEMENT_ID PRINCIPAL_TYPE:ID)');
  else if (options.readOnly) rec.provisioning.skip('not run: --read-only');
  if (options.stability === false) rec.stability.skip('not asked for');

  const clock = new CallClock(options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
  const life = newLifecycleObservations();
  const walkTimeoutMs = options.walkTimeoutMs ?? DEFAULT_MAX_SYNC_MS;
  const store = SyncStore.create({ tempDir: options.tempDir });
  const sessions: Session[] = [];
  let keepStore = false;
  let walk1: ObservedWalk | undefined;
  const walkStats: RelistPassStats[] = [];
  let exit: ExitStatus | undefined;

  const open = async (what: string, provisioning: boolean): Promise<Session | undefined> => {
    try {
      const s = await openSession(target, {
        provisioning,
        clock,
        startupTimeoutMs: Math.max(30_000, (options.startupLimitMs ?? 0) + 5_000),
        logger: options.logger,
      });
      sessions.push(s);
      if (spawned) life.startups.push({ what, ms: s.startupMs });
      return s;
    } catch (err) {
      life.startFailures.push({ what, message: errorMessage(err) });
      return undefined;
    }
  };
  const orphansOf = async (what: string, s: Session) => {
    const members = await findOrphans(s);
    if (members?.length) life.orphans.push({ what, members });
  };
  /** Runs one part of a check; a dead connector is reported under that check. */
  const part = async (c: CheckRecorder, what: string, fn: () => Promise<void>) => {
    try {
      await c.timed(fn);
    } catch (err) {
      if (!(err instanceof ConnectorGone)) throw err;
      c.v.add('connector-exited', `the connector process died during ${what}: ${err.message}`);
    }
  };

  try {
    const main = await open('sync process', false);
    if (!main) {
      for (const n of CHECK_NAMES) if (n !== 'lifecycle') rec[n].skip('the connector did not start (see lifecycle)');
      return finish();
    }

    // -- the sync process ------------------------------------------------------------------------------------------
    let facts: ConnectorFacts = {};
    await part(rec.protocol, 'GetMetadata, Validate and ListResourceTypes', async () => {
      facts = await gatherFacts(main);
    });
    if (runs('protocol'))
      await part(rec.protocol, 'the protocol probes', () => protocolProbes(main, facts, rec.protocol));
    const typeCapabilities = runs('capabilities') ? describedCapabilities(facts, rec.capabilities) : undefined;

    walk1 = await rec.walk.timed(() =>
      observedWalk(main.client, store, rec.walk.v, {
        walk: 1,
        pageSize: 0,
        deadlineMs: walkTimeoutMs,
        recordContent: runs('stability'),
        logger: options.logger,
      }),
    );
    rec.walk.saw(`${walkSummary(walk1)}; page_size 0 (the connector's choice, as hosts send)`);
    if (walk1.failure) {
      rec.walk.v.add(walk1.failure.rule, walk1.failure.message);
    } else {
      collectSyncInvariants(store, rec.walk.v);
      expectTypes(store, options.expectTypes ?? [], rec.walk);
    }
    if (walk1.failure && options.stopAfterWalkFailure) {
      for (const n of CHECK_NAMES) if (n !== 'walk') rec[n].skip('not run: the walk failed');
      return finish();
    }

    if (runs('stability')) {
      const pageSize = options.pageSize ?? DEFAULT_STABILITY_PAGE_SIZE;
      const store2 = SyncStore.create({ tempDir: options.tempDir });
      try {
        const walk2 = await rec.stability.timed(() =>
          observedWalk(main.client, store2, rec.walk.v, {
            walk: 2,
            pageSize,
            deadlineMs: walkTimeoutMs,
            recordContent: true,
            logger: options.logger,
          }),
        );
        walkStats.push(walk2.stats);
        compareWalks(walk1, walk2, 2, rec.stability.v);
        const records =
          walk2.stats.resourceTypes + walk2.stats.resources + walk2.stats.entitlements + walk2.stats.grants;
        rec.stability.saw(
          `walk 2 with page_size ${pageSize || "0 (the connector's choice)"}: ${records} records in ${walk2.stats.listings} listings, ${walk2.stats.pages} pages, compared with walk 1`,
        );
      } finally {
        store2.close();
      }
    }

    if (runs('protocol')) {
      await part(rec.protocol, 'ListResources of child types', () =>
        childTypeProbes(main, walk1!.recorder.childTypes, rec.protocol),
      );
    }

    if (spawned) {
      if (main.exitedEarly()) {
        // It died during the walk (reported there); time the exit on a fresh process instead.
        await main.close();
        await orphansOf('sync process', main);
        const fresh = await open('process for the exit check', false);
        if (fresh) {
          life.stdinClose = await rec.lifecycle.timed(() => closeAndObserve(fresh));
          await orphansOf('process for the exit check', fresh);
        }
      } else {
        life.stdinClose = await rec.lifecycle.timed(() => closeAndObserve(main));
        exit = life.stdinClose?.status;
        await orphansOf('sync process', main);
      }
    }

    // -- the provisioning process ----------------------------------------------------------------------------------
    const wantsServices = runs('capabilities') && typeCapabilities && facts.types && !options.readOnly;
    if (runs('capabilities') && options.readOnly) {
      rec.capabilities.note('provisioning services not probed (--read-only)');
    }
    const needsSecond = wantsServices || runs('provisioning') || runs('validation') || (spawned && runs('lifecycle'));
    let second: Session | undefined = spawned
      ? needsSecond
        ? await open('provisioning process', true)
        : undefined
      : main;
    const live = async (what: string): Promise<Session | undefined> => {
      if (second && !second.exitedEarly()) return second;
      if (second) {
        await second.close();
        await orphansOf(what, second);
      }
      second = spawned ? await open(what, true) : undefined;
      return second;
    };

    if (wantsServices && typeCapabilities && facts.types) {
      const s = await live('provisioning process');
      const types = facts.types;
      if (s)
        await part(rec.capabilities, 'the provisioning probes', () =>
          serviceProbes(s, typeCapabilities, types, rec.capabilities),
        );
    }
    if (runs('provisioning') && options.provision) {
      const provision = options.provision;
      const s = walk1.failure ? undefined : await live('provisioning process');
      if (walk1.failure) rec.provisioning.skip('not run: the walk failed (the entitlement and principal come from it)');
      else if (s)
        await part(rec.provisioning, 'the round trip', () => provisioningCheck(s, store, provision, rec.provisioning));
    }
    if (runs('validation')) {
      const types = facts.types ?? [...store.resourceTypes()];
      const issued = [...walk1.recorder.issuedTokens].map(([typeId, token]) => ({ typeId, token }))[0];
      if (types.length === 0) rec.validation.skip('no resource types to build requests for');
      else {
        await part(rec.validation, 'the invalid requests', () =>
          validationProbes(
            {
              types,
              issuedToken: issued,
              callTimeoutMs: clock.limitMs,
              session: async () => {
                const s = await live('process after a crash');
                if (!s) throw new ConnectorGone('the connector could not be started again');
                return s;
              },
            },
            rec.validation,
          ),
        );
      }
    }
    if (spawned && runs('lifecycle')) {
      const s = await live('process for the SIGTERM check');
      if (s) {
        life.sigterm = await rec.lifecycle.timed(() => terminateAndObserve(s));
        await orphansOf('process for the SIGTERM check', s);
      }
    }
    return finish();
  } finally {
    for (const s of sessions) await s.close().catch(() => {});
    if (!keepStore) store.close();
  }

  function finish(): ConformanceRunReport {
    if (spawned && runs('lifecycle')) lifecycleFindings(life, clock, rec.lifecycle, options.startupLimitMs);
    const checks = CHECK_NAMES.map((n) => rec[n].result());
    const violations = CHECK_NAMES.flatMap((n) => rec[n].v.result());
    const complete = walk1 !== undefined && !walk1.failure;
    keepStore = !!options.keepStore && complete;
    return {
      ok: checks.every((c) => c.status !== 'fail'),
      checks,
      walks: walk1 ? [walk1.stats, ...walkStats] : [],
      summary: walk1?.summary,
      counts: complete ? store.counts() : undefined,
      walkFailure: walk1?.failure,
      exit,
      violations,
      store: keepStore ? store : undefined,
      stderrTail: sessions[0]?.proc?.stderrTail(),
      durationMs: Date.now() - started,
    };
  }
}

function expectTypes(store: SyncStore, expected: string[], c: CheckRecorder): void {
  if (expected.length === 0) return;
  const listed = [...store.resourceTypes()].map((rt) => rt.id);
  for (const t of expected) {
    if (!listed.includes(t)) {
      c.v.add(
        'expected-type',
        `resource type ${quote(t)} was expected but not listed (listed: ${listed.map(quote).join(', ') || 'none'})`,
        t,
      );
    }
  }
}
