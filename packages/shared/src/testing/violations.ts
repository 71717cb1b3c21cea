/**
 * Finding bookkeeping shared by the conformance checks. Every problem is one sentence under a rule name
 * (`[grant-principal-missing] grant "…" …`) that says what was seen and what was expected, optionally naming the
 * offending id. Each rule keeps at most `maxPerRule` sentences and a few ids, and counts the rest, so a connector
 * that gets one thing wrong for 100 000 grants still gives a readable report.
 */
import { resourceKey as baseResourceKey } from '../util/text.js';

/** Default cap of sentences per rule. */
export const DEFAULT_MAX_PER_RULE = 20;
/** Offending ids kept per rule ("at most a few"). */
const MAX_IDS_PER_RULE = 5;

/** `fail` breaks conformance; `warn` is worth a look but does not fail a run. */
export type Severity = 'fail' | 'warn';

/** Everything one rule reported. */
export interface Finding {
  rule: string;
  severity: Severity;
  /** How often the rule was hit. */
  count: number;
  /** The first sentences (at most `maxPerRule`). */
  messages: string[];
  /** The first offending ids (at most `MAX_IDS_PER_RULE`), for rules that name one per hit. */
  ids: string[];
}

export class ViolationCollector {
  /** Sentences in the order they were reported (for the flat list of `result()`). */
  private readonly ordered: Array<{ rule: string; severity: Severity; message: string }> = [];
  private readonly rules = new Map<string, Finding>();
  private readonly idSets = new Map<string, Set<string>>();

  constructor(private readonly maxPerRule: number = DEFAULT_MAX_PER_RULE) {}

  /** A failure of `rule`; `id` names the offending object when there is one. */
  add(rule: string, message: string, id?: string): void {
    this.record(rule, 'fail', message, id);
  }

  /** A warning of `rule`. */
  warn(rule: string, message: string, id?: string): void {
    this.record(rule, 'warn', message, id);
  }

  private record(rule: string, severity: Severity, text: string, id: string | undefined): void {
    // One line per finding, whatever it quotes (a stderr tail, an error with a stack of causes).
    const message = text.replace(/\s*\n+\s*/g, ' | ');
    let finding = this.rules.get(rule);
    if (!finding) {
      finding = { rule, severity, count: 0, messages: [], ids: [] };
      this.rules.set(rule, finding);
      this.idSets.set(rule, new Set());
    }
    if (severity === 'fail') finding.severity = 'fail';
    finding.count++;
    if (finding.messages.length < this.maxPerRule) {
      finding.messages.push(message);
      this.ordered.push({ rule, severity, message });
    }
    const ids = this.idSets.get(rule)!;
    if (id !== undefined && !ids.has(id) && ids.size < MAX_IDS_PER_RULE) {
      ids.add(id);
      finding.ids.push(id);
    }
  }

  /** Number of failures reported (warnings not counted). */
  get size(): number {
    let n = 0;
    for (const f of this.rules.values()) if (f.severity === 'fail') n += f.count;
    return n;
  }

  /** One entry per rule, in the order rules were first hit. */
  findings(): Finding[] {
    return [...this.rules.values()].map((f) => ({ ...f, messages: [...f.messages], ids: [...f.ids] }));
  }

  /** The failures as `[rule] sentence` lines, then one "... and N more" line per capped rule. */
  result(): string[] {
    const out = this.ordered.filter((e) => e.severity === 'fail').map((e) => `[${e.rule}] ${e.message}`);
    for (const f of this.rules.values()) {
      if (f.severity === 'fail' && f.count > f.messages.length)
        out.push(`[${f.rule}] ... and ${f.count - f.messages.length} more violations of this rule (${f.count} in all)`);
    }
    return out;
  }
}

/** A conformance run found violations, or could not run at all (the sync failed, the connector died). */
export class ConformanceError extends Error {
  readonly violations: string[];
  /** The message lists the violations after `message` unless `listViolations` is false (it already names them). */
  constructor(message: string, violations: string[] = [], options?: { cause?: unknown; listViolations?: boolean }) {
    const list = violations.length > 0 && options?.listViolations !== false;
    super(list ? `${message}\n${formatViolations(violations)}` : message, { cause: options?.cause });
    this.name = 'ConformanceError';
    this.violations = violations;
  }
}

/** One violation per line, numbered. */
export function formatViolations(violations: readonly string[]): string {
  return violations.map((v, i) => `  ${i + 1}. ${v}`).join('\n');
}

/** Throws a `ConformanceError` listing every violation; does nothing when there are none. */
export function assertNoViolations(violations: readonly string[], title = 'conformance violations'): void {
  if (violations.length === 0) return;
  throw new ConformanceError(`${title} (${violations.length}):`, [...violations]);
}

/** `type:id` of a resource id, as Baton prints it; `<no id>` when there is none. */
export function resourceKey(id: { resourceType: string; resource: string } | undefined): string {
  return baseResourceKey(id, '<no id>');
}

export function quote(s: string): string {
  return JSON.stringify(s);
}

/** Up to `n` items, then "… (N more)". */
export function sample(items: readonly string[], n = 5): string {
  const shown = items.slice(0, n).map(quote).join(', ');
  return items.length > n ? `${shown}, ... (${items.length - n} more)` : shown;
}
