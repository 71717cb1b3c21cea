import type { FaultKind } from './faults.js';

/**
 * One served request. Headers are never recorded (they carry credentials); bodies and query strings are stored
 * after redaction of secret-looking keys and of every registered secret value.
 */
export interface RequestLogEntry {
  /** 1-based, increasing over the log's life (not reset by `clear()`). */
  seq: number;
  /** Clock time the request arrived (ms since the epoch). */
  time: number;
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** Response status; 0 when the connection was reset. */
  status: number;
  /** Auth identity label (never the credential); null when unauthenticated or not checked. */
  identity: string | null;
  durationMs: number;
  /** Rate-limit class the request was counted in, if any. */
  rateClass: string | null;
  rateLimited: boolean;
  fault: FaultKind | null;
  /** Simulator-specific annotations, e.g. `{ graphql: {...} }`. */
  info: Record<string, unknown>;
}

export const REDACTED = '[REDACTED]';

/** Key names whose values are treated as secrets wherever they appear in a body or query string. */
const SECRET_KEY =
  /password|passwd|secret|api[-_]?key|apikey|authorization|^(access_?|refresh_?|id_?|bearer_?|auth_?)?token$|credential|private_?key/i;

export interface RequestLogOptions {
  /** Oldest entries are dropped beyond this many (default 100,000) so long benchmarks stay bounded. */
  maxEntries?: number;
}

export class RequestLog {
  private readonly items: RequestLogEntry[] = [];
  private readonly secrets = new Set<string>();
  private readonly maxEntries: number;
  private nextSeq = 1;

  constructor(options: RequestLogOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Registers a secret value (e.g. an API key): any string containing it is redacted before storage. */
  addSecret(value: string): void {
    if (value.length > 0) this.secrets.add(value);
  }

  record(
    entry: Omit<RequestLogEntry, 'seq' | 'body' | 'query'> & { body: unknown; query: Record<string, string> },
  ): RequestLogEntry {
    const stored: RequestLogEntry = {
      ...entry,
      seq: this.nextSeq++,
      body: this.redact(entry.body),
      query: this.redact(entry.query) as Record<string, string>,
      info: this.redact(entry.info) as Record<string, unknown>,
    };
    this.items.push(stored);
    if (this.items.length > this.maxEntries) this.items.splice(0, this.items.length - this.maxEntries);
    return stored;
  }

  /** A copy of the entries, oldest first. */
  entries(): RequestLogEntry[] {
    return [...this.items];
  }

  filter(predicate: (entry: RequestLogEntry) => boolean): RequestLogEntry[] {
    return this.items.filter(predicate);
  }

  count(predicate?: (entry: RequestLogEntry) => boolean): number {
    return predicate ? this.items.reduce((n, e) => (predicate(e) ? n + 1 : n), 0) : this.items.length;
  }

  last(): RequestLogEntry | undefined {
    return this.items[this.items.length - 1];
  }

  clear(): void {
    this.items.length = 0;
  }

  /** Deep copy with secret keys and secret values replaced by `[REDACTED]`. */
  redact(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.scrubString(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth > 32) return REDACTED;
    if (Array.isArray(value)) return value.map((v) => this.redact(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEY.test(k) && v !== null && v !== undefined ? REDACTED : this.redact(v, depth + 1);
    }
    return out;
  }

  private scrubString(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }
}
