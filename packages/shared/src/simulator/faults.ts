import { SeededRandom } from './random.js';

/**
 * Failures a simulator can inject, so clients are tested against the ways real APIs misbehave:
 * - `rateLimit`: HTTP 429 with `Retry-After` (small by default, so retry tests stay fast);
 * - `serverError`: HTTP 500/502/503;
 * - `reset`: the TCP connection is reset before any response byte;
 * - `slow`: the response is delayed, then served normally;
 * - `malformed`: the normal response is computed (side effects happen) but its body is cut short, status 200;
 * - `lostResponse`: the request is handled (side effects happen), then the connection is reset before any response
 *   byte: the client cannot tell a write that was applied from one that never arrived.
 */
export type Fault =
  | { kind: 'rateLimit'; retryAfterSeconds?: number }
  | { kind: 'serverError'; status?: number }
  | { kind: 'reset' }
  | { kind: 'slow'; delayMs?: number }
  | { kind: 'malformed' }
  | { kind: 'lostResponse' };

export type FaultKind = Fault['kind'];

/** What a fault rule may look at to decide whether a request is eligible. */
export interface FaultRequestInfo {
  method: string;
  path: string;
  /** Parsed JSON body, when the request had one (e.g. to fault only GraphQL mutations, which share a path). */
  body?: unknown;
}

export interface FaultRule {
  fault: Fault;
  /** Fire on the Nth eligible request (1-based, counted since the last `set()`/`clear()`). */
  nth?: number | number[];
  /** Fire on every Nth eligible request. */
  every?: number;
  /** Stop after firing this many times. */
  times?: number;
}

export interface FaultConfig {
  /** Per-request probabilities, rolled with a seeded PRNG so runs are reproducible. */
  probabilities?: Partial<Record<FaultKind, number>>;
  rules?: FaultRule[];
  /** Only requests for which this returns true are counted and eligible (default: all). */
  match?: (req: FaultRequestInfo) => boolean;
  /** Default Retry-After for injected 429s (seconds; default 1). */
  retryAfterSeconds?: number;
  /** Statuses drawn for probabilistic server errors (default 500, 502, 503). Rules without a status use 500. */
  serverErrorStatuses?: number[];
  /** Default delay of `slow` faults (ms; default 200). */
  slowMs?: number;
  seed?: string | number;
}

/** At most one delay and one terminating/transforming fault per request. */
export interface FaultDecision {
  delayMs: number;
  fault: Exclude<Fault, { kind: 'slow' }> | null;
}

const NO_FAULT: FaultDecision = { delayMs: 0, fault: null };

// Fixed roll order keeps the PRNG sequence (and therefore which request fails) stable across runs.
const ROLL_ORDER: FaultKind[] = ['reset', 'serverError', 'rateLimit', 'malformed', 'lostResponse', 'slow'];

interface RuleState {
  rule: FaultRule;
  fired: number;
}

export class FaultInjector {
  private config: FaultConfig = {};
  private rules: RuleState[] = [];
  private queue: Fault[] = [];
  private rng = new SeededRandom(1);
  private counter = 0;
  private readonly injectedCounts: Record<FaultKind, number> = {
    rateLimit: 0,
    serverError: 0,
    reset: 0,
    slow: 0,
    malformed: 0,
    lostResponse: 0,
  };

  constructor(config: FaultConfig = {}) {
    this.set(config);
  }

  /** Replaces the whole configuration and restarts the request counter and the PRNG. */
  set(config: FaultConfig): void {
    this.config = { ...config };
    this.rules = (config.rules ?? []).map((rule) => ({ rule, fired: 0 }));
    this.queue = [];
    this.counter = 0;
    this.rng = new SeededRandom(config.seed ?? 1);
  }

  /** Merges into the current configuration without restarting the counter. */
  update(partial: Partial<FaultConfig>): void {
    this.config = { ...this.config, ...partial };
    if (partial.rules) this.rules = partial.rules.map((rule) => ({ rule, fired: 0 }));
    if (partial.seed !== undefined) this.rng = new SeededRandom(partial.seed);
  }

  /** No faults from now on. */
  clear(): void {
    this.set({});
  }

  /** The next `count` eligible requests get `fault` (before rules and probabilities are considered). */
  injectNext(fault: Fault, count = 1): void {
    for (let i = 0; i < count; i++) this.queue.push(fault);
  }

  /** Eligible requests seen since the last `set()`/`clear()`. */
  get seen(): number {
    return this.counter;
  }

  /** How many faults of each kind were injected over the injector's life. */
  get injected(): Readonly<Record<FaultKind, number>> {
    return { ...this.injectedCounts };
  }

  /** Called once per request by the server. */
  decide(req: FaultRequestInfo): FaultDecision {
    if (this.config.match && !this.config.match(req)) return NO_FAULT;
    const n = ++this.counter;

    const chosen: Fault[] = [];
    const queued = this.queue.shift();
    if (queued) chosen.push(queued);

    for (const state of this.rules) {
      const { rule } = state;
      if (rule.times !== undefined && state.fired >= rule.times) continue;
      const nth = rule.nth === undefined ? [] : Array.isArray(rule.nth) ? rule.nth : [rule.nth];
      const hit = nth.includes(n) || (rule.every !== undefined && rule.every > 0 && n % rule.every === 0);
      if (hit) {
        state.fired++;
        chosen.push(rule.fault);
      }
    }

    const probabilities = this.config.probabilities ?? {};
    for (const kind of ROLL_ORDER) {
      const p = probabilities[kind];
      if (p !== undefined && p > 0 && this.rng.chance(p)) chosen.push(this.materialize(kind));
    }

    let delayMs = 0;
    let fault: FaultDecision['fault'] = null;
    for (const f of chosen) {
      if (f.kind === 'slow') {
        delayMs = Math.max(delayMs, f.delayMs ?? this.config.slowMs ?? 200);
      } else if (!fault) {
        fault = this.withDefaults(f);
      }
    }
    if (delayMs > 0) this.injectedCounts.slow++;
    if (fault) this.injectedCounts[fault.kind]++;
    return delayMs === 0 && !fault ? NO_FAULT : { delayMs, fault };
  }

  private materialize(kind: FaultKind): Fault {
    switch (kind) {
      case 'serverError': {
        const statuses = this.config.serverErrorStatuses ?? [500, 502, 503];
        return { kind, status: statuses.length > 0 ? this.rng.pick(statuses) : 500 };
      }
      case 'rateLimit':
        return { kind };
      case 'slow':
        return { kind };
      case 'reset':
        return { kind };
      case 'malformed':
        return { kind };
      case 'lostResponse':
        return { kind };
    }
  }

  private withDefaults(f: Exclude<Fault, { kind: 'slow' }>): Exclude<Fault, { kind: 'slow' }> {
    if (f.kind === 'rateLimit')
      return { kind: f.kind, retryAfterSeconds: f.retryAfterSeconds ?? this.config.retryAfterSeconds ?? 1 };
    if (f.kind === 'serverError') return { kind: f.kind, status: f.status ?? 500 };
    return f;
  }
}
