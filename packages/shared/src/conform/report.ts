/**
 * How `baton-conform` prints a run: one line per check (status, name, what it saw), each problem below it on one
 * line (rule, how often, the first sentence, the offending ids), and a last line with the totals; or all of it as
 * one JSON document with `--json`.
 */
import type { ConformanceRunReport } from '../testing/run-checks.js';
import type { CheckResult, CheckStatus } from '../testing/checks/result.js';
import { redactSecrets } from '../log/secrets.js';

export interface TextOptions {
  /** ANSI colours (a terminal without NO_COLOR). */
  color: boolean;
  /** Also print each check's notes. */
  verbose: boolean;
}

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };
const COLOR: Record<CheckStatus, string> = { pass: '32', warn: '33', fail: '31', skip: '2' };

function paint(text: string, code: string, on: boolean): string {
  return on ? `\u001b[${code}m${text}\u001b[0m` : text;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

const NAME_WIDTH = 'capabilities'.length;

function checkLines(check: CheckResult, o: TextOptions): string[] {
  const lines = [
    `${paint(LABEL[check.status], COLOR[check.status], o.color)}  ${check.name.padEnd(NAME_WIDTH)}  ${check.summary}`,
  ];
  const indent = ' '.repeat(6 + NAME_WIDTH + 2);
  for (const f of check.findings) {
    const more = f.count > 1 ? ` (${f.count} times)` : '';
    lines.push(
      `${indent}${paint(f.severity, f.severity === 'fail' ? '31' : '33', o.color)} ${f.rule}${more}: ${f.messages[0] ?? ''}`,
    );
    if (f.count > 1 && f.ids.length > 1) {
      const rest = f.count > f.ids.length ? `, ... (${f.count - f.ids.length} more)` : '';
      lines.push(`${indent}     ids: ${f.ids.join(', ')}${rest}`);
    }
  }
  if (o.verbose) for (const n of check.notes) lines.push(`${indent}${paint('note', '2', o.color)} ${n}`);
  return lines;
}

/** The human-readable report. */
export function formatText(report: ConformanceRunReport, target: string, o: TextOptions): string {
  const lines = [`baton-conform: ${target}`];
  for (const check of report.checks) lines.push(...checkLines(check, o));
  const count = (s: CheckStatus) => report.checks.filter((c) => c.status === s).length;
  const parts = [
    `${count('pass')} passed`,
    `${count('warn')} warned`,
    `${count('fail')} failed`,
    `${count('skip')} skipped`,
  ];
  const verdict = report.ok ? paint('conformant', '32', o.color) : paint('not conformant', '31', o.color);
  lines.push(`${verdict}: ${parts.join(', ')} in ${seconds(report.durationMs)}`);
  return redactSecrets(lines.join('\n')) + '\n';
}

/** The machine-readable report (`--json`). */
export function formatJson(report: ConformanceRunReport, target: Record<string, unknown>, file?: string): string {
  const doc = {
    tool: 'baton-conform',
    target,
    ok: report.ok,
    durationMs: report.durationMs,
    checks: report.checks,
    walks: report.walks,
    counts: report.counts,
    file,
  };
  return redactSecrets(JSON.stringify(doc, null, 2)) + '\n';
}
