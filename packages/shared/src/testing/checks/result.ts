/**
 * The named checks of a conformance run and what each reports: a status, one line saying what it saw, the findings
 * (one per rule, each with its first sentences and offending ids) and informational notes.
 */
import { ViolationCollector, type Finding } from '../violations.js';

/** Every check, in report order. */
export const CHECK_NAMES = [
  'lifecycle',
  'protocol',
  'capabilities',
  'walk',
  'stability',
  'validation',
  'provisioning',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  name: CheckName;
  /** `fail` when any finding fails, `warn` when any warns, `skip` when the check did not run. */
  status: CheckStatus;
  /** One line: what the check saw (or why it was skipped). */
  summary: string;
  findings: Finding[];
  /** Informational lines (e.g. "reflection: absent"), never problems. */
  notes: string[];
  durationMs: number;
}

/** Collects one check's findings while it runs. */
export class CheckRecorder {
  readonly v: ViolationCollector;
  readonly notes: string[] = [];
  private readonly summaryParts: string[] = [];
  private skipReason: string | undefined;
  private spentMs = 0;

  constructor(
    readonly name: CheckName,
    maxPerRule?: number,
  ) {
    this.v = new ViolationCollector(maxPerRule);
  }

  /** Adds a part of the summary line. */
  saw(text: string): void {
    this.summaryParts.push(text);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Marks the check as not run (the first reason wins). */
  skip(reason: string): void {
    this.skipReason ??= reason;
  }

  get skipped(): boolean {
    return this.skipReason !== undefined;
  }

  /** Runs a part of the check, adding its time to the check's duration (a check runs in several parts). */
  async timed<T>(fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      this.spentMs += Date.now() - t0;
    }
  }

  result(): CheckResult {
    const findings = this.v.findings();
    const status: CheckStatus = findings.some((f) => f.severity === 'fail')
      ? 'fail'
      : this.skipReason !== undefined && findings.length === 0
        ? 'skip'
        : findings.length > 0
          ? 'warn'
          : 'pass';
    const summary =
      status === 'skip'
        ? (this.skipReason ?? 'skipped')
        : this.summaryParts.join('; ') || (this.skipReason ?? 'nothing to report');
    return {
      name: this.name,
      status,
      summary,
      findings,
      notes: [...this.notes],
      durationMs: this.spentMs,
    };
  }
}
