// Every check of baton-conform can fail: deliberately broken variants of the fixture connector (hidden `--break`
// switches, or the fault proxy for what our server never gets wrong), each run through the real bin and the real
// handshake. Each variant must be caught by exactly its check, under the rule named, while every other check passes.
// Runs the bundled bins: build first (`npm run build`, or `npm test`).
import { describe, expect, it } from 'vitest';
import type { CheckName } from '@baton-ts/shared/testing';
import { FIXTURE, node, PROXY, runConform } from './support/conform.js';

/** 120 users: two pages at the fixture's default page size and three at the second walk's, room for paging bugs. */
const FIXTURE_ARGS = ['--log-level', 'error'];
const USERS = '120';
/** The provisioning check runs in every variant too (u1 is not in g1: g1 holds every second user). */
const PROVISION = ['--provision', 'group:g1:member', 'user:u1'];

interface Variant {
  check: CheckName;
  /** The rules that must fail (all of them, and no other). */
  rules: string[];
  /** A `--break` switch of the fixture, or a fault of the proxy. */
  fixtureBreak?: string;
  proxyFault?: string;
  conformArgs?: string[];
  /** Checks that may be skipped because of the break (e.g. provisioning after a walk that fails). */
  skipped?: CheckName[];
  /** Users of the fixture, when 120 is not what the break needs. */
  users?: string;
}

const VARIANTS: Variant[] = [
  { check: 'lifecycle', rules: ['exit-on-stdin-close', 'exit-on-sigterm'], fixtureBreak: 'slow-exit' },
  { check: 'lifecycle', rules: ['orphans'], fixtureBreak: 'orphan' },
  { check: 'lifecycle', rules: ['answer-time'], fixtureBreak: 'slow-answer', conformArgs: ['--call-timeout', '1s'] },
  { check: 'protocol', rules: ['rate-limit-do'], proxyFault: 'do-token' },
  { check: 'protocol', rules: ['static-entitlements'], proxyFault: 'static-entitlements-error' },
  { check: 'capabilities', rules: ['type-not-described'], proxyFault: 'capabilities-omit-type' },
  { check: 'capabilities', rules: ['capability-not-listed'], proxyFault: 'capabilities-no-provision' },
  // A third page in the first walk too: 250 users at 100 a page.
  {
    check: 'walk',
    rules: ['page-token-cycle'],
    fixtureBreak: 'page-token-cycle',
    skipped: ['provisioning'],
    users: '250',
  },
  { check: 'walk', rules: ['grant-principal-missing'], fixtureBreak: 'dangling-principal' },
  { check: 'walk', rules: ['page-size'], fixtureBreak: 'oversized-page' },
  { check: 'walk', rules: ['duplicate-grant'], fixtureBreak: 'duplicate-grant' },
  { check: 'walk', rules: ['trait-missing'], fixtureBreak: 'missing-trait' },
  { check: 'stability', rules: ['unstable-pagination'], fixtureBreak: 'unstable' },
  { check: 'validation', rules: ['unknown-resource'], fixtureBreak: 'crash-on-bad-input' },
  { check: 'provisioning', rules: ['grant-again'], fixtureBreak: 'grant-not-idempotent' },
];

function connectorCommand(v: Variant): string[] {
  const fixture = [
    node,
    FIXTURE,
    '--users',
    v.users ?? USERS,
    ...FIXTURE_ARGS,
    ...(v.fixtureBreak ? ['--break', v.fixtureBreak] : []),
  ];
  return v.proxyFault ? [node, PROXY, '--fault', v.proxyFault, '--', ...fixture] : fixture;
}

describe('baton-conform catches each broken variant with exactly its check', () => {
  it('passes the unbroken fixture, directly and behind the proxy, with every check', async () => {
    for (const proxyFault of [undefined, 'none']) {
      const { code, report } = await runConform([
        ...PROVISION,
        '--',
        ...connectorCommand({ check: 'walk', rules: [], proxyFault }),
      ]);
      const notPassed = report.checks.filter((c) => c.status !== 'pass');
      expect(notPassed, JSON.stringify(notPassed, null, 2)).toEqual([]);
      expect(code).toBe(0);
    }
  }, 120_000);

  for (const v of VARIANTS) {
    const what = v.fixtureBreak ? `--break ${v.fixtureBreak}` : `proxy fault ${v.proxyFault}`;
    it(`${v.check}: ${what} fails ${v.rules.join(' and ')}, and nothing else`, async () => {
      const { code, report } = await runConform([...PROVISION, ...(v.conformArgs ?? []), '--', ...connectorCommand(v)]);
      const byName = new Map(report.checks.map((c) => [c.name, c]));
      const target = byName.get(v.check)!;
      const detail = JSON.stringify(report.checks, null, 2);
      expect(target.status, detail).toBe('fail');
      expect(
        target.findings.filter((f) => f.severity === 'fail').map((f) => f.rule),
        detail,
      ).toEqual(v.rules);
      // Every finding says what was seen and what was expected, in one line.
      for (const f of target.findings) for (const m of f.messages) expect(m).not.toContain('\n');
      for (const c of report.checks) {
        if (c.name === v.check) continue;
        expect(c.status, `${c.name}: ${detail}`).toBe(v.skipped?.includes(c.name) ? 'skip' : 'pass');
      }
      expect(report.ok).toBe(false);
      expect(code).toBe(1);
    }, 120_000);
  }
});
