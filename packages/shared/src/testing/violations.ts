/**
 * Violation bookkeeping shared by the conformance checks: every violation is one sentence prefixed with the rule it
 * breaks (`[grant-principal] grant "…" …`), and each rule reports at most `maxPerRule` sentences followed by one
 * "… and N more" line, so a connector that gets one thing wrong for 100 000 grants still gives a readable report.
 */
import { resourceKey as baseResourceKey } from '../util/text.js';

/** Default cap of sentences per rule. */
export const DEFAULT_MAX_PER_RULE = 20;

export class ViolationCollector {
  private readonly list: string[] = [];
  private readonly perRule = new Map<string, number>();

  constructor(private readonly maxPerRule: number = DEFAULT_MAX_PER_RULE) {}

  add(rule: string, message: string): void {
    const n = (this.perRule.get(rule) ?? 0) + 1;
    this.perRule.set(rule, n);
    if (n <= this.maxPerRule) this.list.push(`[${rule}] ${message}`);
  }

  /** Adds already formatted violations (from another collector) as they are. */
  addAll(violations: readonly string[]): void {
    this.list.push(...violations);
  }

  get size(): number {
    return this.list.length;
  }

  result(): string[] {
    const out = [...this.list];
    for (const [rule, n] of this.perRule) {
      if (n > this.maxPerRule)
        out.push(`[${rule}] ... and ${n - this.maxPerRule} more violations of this rule (${n} in all)`);
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
