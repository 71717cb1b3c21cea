// The parts of baton-conform that need no connector: the lifecycle verdicts from measured times, the call clock,
// finding bookkeeping and the text report. The runs themselves are tested through the bin in test/conform-*.test.ts.
import { describe, expect, it } from 'vitest';
import { lifecycleFindings, newLifecycleObservations } from '../src/testing/checks/lifecycle.js';
import { CheckRecorder } from '../src/testing/checks/result.js';
import { CallClock } from '../src/testing/session.js';
import { ViolationCollector } from '../src/testing/violations.js';
import { formatText } from '../src/conform/report.js';
import type { ConformanceRunReport } from '../src/testing/run-checks.js';

const ok = { code: 0, signal: null };

describe('lifecycle verdicts', () => {
  it('passes a connector that starts, answers and exits in time, and says what it saw', () => {
    const obs = newLifecycleObservations();
    obs.startups.push({ what: 'sync process', ms: 800 }, { what: 'provisioning process', ms: 650 });
    obs.stdinClose = { status: ok, ms: 40, killed: false };
    obs.sigterm = { status: { code: null, signal: 'SIGTERM' }, ms: 12, killed: false };
    const c = new CheckRecorder('lifecycle');
    lifecycleFindings(obs, new CallClock(30_000), c);
    const r = c.result();
    expect(r.status).toBe('pass');
    expect(r.summary).toBe(
      'ready in 800 ms; exit 0 40 ms after its stdin closed, was killed by SIGTERM 12 ms after SIGTERM; no orphans',
    );
  });

  it('fails each limit: 5 s to start, the call limit, 1 s to exit (status 0 on stdin), orphans', async () => {
    const obs = newLifecycleObservations();
    obs.startups.push({ what: 'sync process', ms: 6200 });
    obs.stdinClose = { status: { code: 3, signal: null }, ms: 200, killed: false };
    obs.sigterm = { status: { code: null, signal: 'SIGKILL' }, ms: 3000, killed: true };
    obs.orphans.push({ what: 'sync process', members: [{ pid: 4242, command: 'sleep 60' }] });
    const clock = new CallClock(20);
    await clock.time('ListGrants(group:g1)', () => new Promise((r) => setTimeout(r, 40)));
    void clock.time('Validate', () => new Promise(() => {}));
    await new Promise((r) => setTimeout(r, 40));
    const c = new CheckRecorder('lifecycle');
    lifecycleFindings(obs, clock, c);
    const findings = Object.fromEntries(c.result().findings.map((f) => [f.rule, f.messages]));
    expect(Object.keys(findings)).toEqual([
      'startup-time',
      'answer-time',
      'exit-on-stdin-close',
      'exit-on-sigterm',
      'orphans',
    ]);
    expect(findings['startup-time']).toEqual([
      'the connector (sync process) became ready 6200 ms after it was spawned; expected within 5000 ms (a Go host stops dialing after 5 s)',
    ]);
    expect(findings['answer-time'][0]).toMatch(/^ListGrants\(group:g1\) took \d+ ms; expected an answer within 20 ms/);
    expect(findings['answer-time'][1]).toMatch(/^Validate had not answered after \d+ ms/);
    expect(findings['exit-on-stdin-close']).toEqual([
      'the connector exited with code 3 after its stdin closed; expected status 0 (a Go connector exits 0 when its stdin closes)',
    ]);
    expect(findings['exit-on-sigterm']).toEqual([
      'the connector was still running 3000 ms after SIGTERM and was killed; expected it to exit within 1000 ms',
    ]);
    expect(findings.orphans).toEqual([
      "1 process of the connector's process group outlived it (sync process): pid 4242 (sleep 60); expected none (baton-conform killed them)",
    ]);
  });
});

describe('findings', () => {
  it('keeps fail over warn per rule, a few ids, one line per sentence, and counts the rest', () => {
    const v = new ViolationCollector(2);
    v.warn('r', 'first\nsecond line', 'a');
    for (const id of ['b', 'c', 'd', 'e', 'f', 'g']) v.add('r', `bad ${id}`, id);
    v.warn('w', 'just a warning');
    const [r, w] = v.findings();
    expect(r).toEqual({
      rule: 'r',
      severity: 'fail',
      count: 7,
      messages: ['first | second line', 'bad b'],
      ids: ['a', 'b', 'c', 'd', 'e'],
    });
    expect(w.severity).toBe('warn');
    // The legacy flat list holds failures only.
    expect(v.result()).toEqual(['[r] bad b', '[r] ... and 5 more violations of this rule (7 in all)']);
    expect(v.size).toBe(7);
  });
});

describe('text report', () => {
  it('prints one line per check and one per problem, with the offending ids', () => {
    const walk = new CheckRecorder('walk');
    walk.saw('3 types, 259 resources');
    for (const id of ['g:1', 'g:2', 'g:3'])
      walk.v.add('grant-principal-missing', `grant "${id}" names a principal nobody listed`, id);
    const skip = new CheckRecorder('provisioning');
    skip.skip('not asked for');
    const report = {
      ok: false,
      checks: [walk.result(), skip.result()],
      walks: [],
      violations: [],
      durationMs: 4321,
    } as ConformanceRunReport;
    expect(formatText(report, 'baton-x --demo', { color: false, verbose: false })).toBe(
      [
        'baton-conform: baton-x --demo',
        'FAIL  walk          3 types, 259 resources',
        '                    fail grant-principal-missing (3 times): grant "g:1" names a principal nobody listed',
        '                         ids: g:1, g:2, g:3',
        'SKIP  provisioning  not asked for',
        'not conformant: 0 passed, 0 warned, 1 failed, 1 skipped in 4.3 s',
        '',
      ].join('\n'),
    );
  });
});
