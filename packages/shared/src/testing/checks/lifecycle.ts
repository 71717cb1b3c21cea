/**
 * The lifecycle check (docs/testing.md, "lifecycle"): the connector becomes ready within the 5 s a Go host keeps
 * dialing, answers every call within the time limit, exits within 1 s once its stdin closes (with status 0, as a
 * Go connector does on its first failed stdin read) and within 1 s of SIGTERM, and leaves no process behind.
 */
import type { CallClock, ExitObservation, GroupMember } from '../session.js';
import { GO_HOST_DIAL_LIMIT_MS } from '../session.js';
import type { CheckRecorder } from './result.js';

/** How soon a connector must exit after its stdin closes or it gets SIGTERM. */
const EXIT_LIMIT_MS = 1_000;

export interface LifecycleObservations {
  /** Spawn-to-ready times, one per process started. */
  startups: Array<{ what: string; ms: number }>;
  /** Processes that could not be started. */
  startFailures: Array<{ what: string; message: string }>;
  stdinClose?: ExitObservation;
  sigterm?: ExitObservation;
  orphans: Array<{ what: string; members: GroupMember[] }>;
}

export function newLifecycleObservations(): LifecycleObservations {
  return { startups: [], startFailures: [], orphans: [] };
}

function exitText(exit: ExitObservation): string {
  return exit.status.signal ? `was killed by ${exit.status.signal}` : `exited with code ${exit.status.code}`;
}

export function lifecycleFindings(
  obs: LifecycleObservations,
  clock: CallClock,
  c: CheckRecorder,
  startupLimitMs = GO_HOST_DIAL_LIMIT_MS,
): void {
  for (const f of obs.startFailures) {
    c.v.add('start', `the connector did not start (${f.what}): ${f.message}`);
  }
  const slowestStart = obs.startups.reduce<{ what: string; ms: number } | undefined>(
    (a, b) => (!a || b.ms > a.ms ? b : a),
    undefined,
  );
  for (const s of obs.startups) {
    if (s.ms > startupLimitMs) {
      c.v.add(
        'startup-time',
        `the connector (${s.what}) became ready ${s.ms} ms after it was spawned; expected within ${startupLimitMs} ms (a Go host stops dialing after ${GO_HOST_DIAL_LIMIT_MS / 1000} s)`,
      );
    }
  }
  if (slowestStart) c.saw(`ready in ${slowestStart.ms} ms`);

  for (const late of clock.late) {
    c.v.add(
      'answer-time',
      `${late.what} took ${late.ms} ms; expected an answer within ${clock.limitMs} ms (--call-timeout)`,
      late.what,
    );
  }
  for (const pending of clock.pending()) {
    if (pending.ms > clock.limitMs) {
      c.v.add(
        'answer-time',
        `${pending.what} had not answered after ${pending.ms} ms; expected an answer within ${clock.limitMs} ms`,
        pending.what,
      );
    }
  }
  if (clock.slowest) c.saw(`slowest of ${clock.calls} answers ${clock.slowest.ms} ms (${clock.slowest.what})`);

  const exits: string[] = [];
  const judgeExit = (rule: string, trigger: string, exit: ExitObservation | undefined, wantZero: boolean) => {
    if (!exit) return;
    if (exit.killed) {
      c.v.add(
        rule,
        `the connector was still running ${exit.ms} ms after ${trigger} and was killed; expected it to exit within ${EXIT_LIMIT_MS} ms`,
      );
      return;
    }
    if (exit.ms > EXIT_LIMIT_MS) {
      c.v.add(
        rule,
        `the connector ${exitText(exit)} ${exit.ms} ms after ${trigger}; expected within ${EXIT_LIMIT_MS} ms`,
      );
    } else if (wantZero && (exit.status.signal || exit.status.code !== 0)) {
      c.v.add(
        rule,
        `the connector ${exitText(exit)} after ${trigger}; expected status 0 (a Go connector exits 0 when its stdin closes)`,
      );
    }
    exits.push(`${exitText(exit).replace('exited with code', 'exit')} ${exit.ms} ms after ${trigger}`);
  };
  judgeExit('exit-on-stdin-close', 'its stdin closed', obs.stdinClose, true);
  judgeExit('exit-on-sigterm', 'SIGTERM', obs.sigterm, false);
  if (exits.length) c.saw(exits.join(', '));

  let orphans = 0;
  for (const o of obs.orphans) {
    orphans += o.members.length;
    const list = o.members
      .slice(0, 3)
      .map((m) => `pid ${m.pid} (${m.command})`)
      .join(', ');
    c.v.add(
      'orphans',
      `${o.members.length} process${o.members.length === 1 ? '' : 'es'} of the connector's process group outlived it (${o.what}): ${list}; expected none (baton-conform killed them)`,
      String(o.members[0]?.pid ?? ''),
    );
  }
  if (obs.orphans.length === 0 || orphans === 0) c.saw('no orphans');
}
