/**
 * Signs of life during a sync, in the one-shot parent (see docs/cli.md, "Progress and logging").
 *
 * - On a terminal (stdout and stderr are TTYs): one status block on stderr with per resource type counts, RPCs, API
 *   requests and rate-limit waits, redrawn when the sync moves (at most ~10 times a second) and every second in
 *   between, so the elapsed time keeps running and a wait shows a countdown ("rate limited by Twingate: resuming in
 *   18 s"). Log lines (ours and the child's, which the host tees to our stderr) would tear the block, so while it is
 *   shown every other write to the stream first erases it and the block is drawn again below.
 * - Always: an info log line when a resource type is finished in a phase (its resources listed, or all their
 *   entitlements / grants).
 * - Without a terminal: an info line every `intervalMs` (default 10 s) with the counts so far, API requests, waits,
 *   and the wait in progress with its reason and the time left.
 *
 * Waits inside the connector (a 429's Retry-After) are known while they happen through the child's events
 * (child-events.ts); their counters count as soon as the wait starts.
 */
import type { ServerStats } from '../host/client.js';
import type { SyncProgress, TypeFinished } from '../host/sync.js';
import type { Logger } from '../log/logger.js';
import type { ChildWaitEvent } from './child-events.js';

const MIN_REDRAW_MS = 100;
const TICK_MS = 1_000;
const MAX_TYPE_ROWS = 15;
export const DEFAULT_PROGRESS_INTERVAL_MS = 10_000;

const PHASE_LABEL: Record<SyncProgress['phase'], string> = {
  validate: 'validating',
  'resource-types': 'listing resource types',
  resources: 'listing resources',
  entitlements: 'listing entitlements',
  grants: 'listing grants',
  'grant-expansion': 'expanding grants',
  done: 'done',
};

/** A wait the connector is in right now. */
export interface ActiveWait {
  reason: 'rate-limit' | 'retry';
  /** Display name of the API ("Twingate"). */
  api: string;
  status?: number;
  errorCode?: string;
  waitMs: number;
  /** Local clock, ms. */
  until: number;
}

/** "rate limited by Twingate: resuming in 18 s", "Twingate answered 503: retrying in 2 s". */
export function describeWait(wait: ActiveWait, now: number): string {
  const seconds = Math.max(0, Math.ceil((wait.until - now) / 1000));
  if (wait.reason === 'rate-limit') return `rate limited by ${wait.api}: resuming in ${seconds} s`;
  if (wait.status !== undefined) return `${wait.api} answered ${wait.status}: retrying in ${seconds} s`;
  if (wait.errorCode) return `connection to ${wait.api} failed (${wait.errorCode}): retrying in ${seconds} s`;
  return `retrying ${wait.api} in ${seconds} s`;
}

/** Waits, RPCs and API requests as one set of counters (the sync engine's plus the connector's). */
function counters(p: SyncProgress, stats: ServerStats | undefined) {
  return {
    apiRequests: stats?.apiRequests,
    waits: p.rateLimitWaits + (stats?.rateLimitWaits ?? 0),
    waitMs: p.rateLimitWaitMs + (stats?.rateLimitWaitMs ?? 0),
    // The sync engine's RPC retries; the connector's HTTP retries show as waits.
    retries: p.retries,
  };
}

/** The block's lines (exported for tests). `stats` defaults to the progress' own server stats. */
export function renderProgress(
  p: SyncProgress,
  extra: { stats?: ServerStats; elapsedMs?: number; wait?: string } = {},
): string[] {
  const c = counters(p, extra.stats ?? p.serverStats);
  const phase = PHASE_LABEL[p.phase] + (p.resourceTypeId ? ` (${p.resourceTypeId})` : '');
  const header =
    `${phase} · ${((extra.elapsedMs ?? p.elapsedMs) / 1000).toFixed(1)}s · RPCs ${p.rpcCount}` +
    ` · API requests ${c.apiRequests ?? '-'}` +
    ` · rate-limit waits ${c.waits}${c.waits ? ` (${(c.waitMs / 1000).toFixed(1)}s)` : ''}` +
    (c.retries ? ` · retries ${c.retries}` : '');
  const types = Object.keys(p.perType).sort();
  const nameWidth = Math.max(13, ...types.slice(0, MAX_TYPE_ROWS).map((t) => t.length));
  const row = (name: string, a: string | number, b: string | number, d: string | number) =>
    `  ${name.padEnd(nameWidth)}  ${String(a).padStart(10)}  ${String(b).padStart(12)}  ${String(d).padStart(10)}`;
  const lines = [header];
  if (extra.wait) lines.push(`  ${extra.wait}`);
  lines.push(row('resource type', 'resources', 'entitlements', 'grants'));
  for (const t of types.slice(0, MAX_TYPE_ROWS)) {
    const n = p.perType[t];
    lines.push(row(t, n.resources, n.entitlements, n.grants));
  }
  if (types.length > MAX_TYPE_ROWS) lines.push(`  … ${types.length - MAX_TYPE_ROWS} more types`);
  return lines;
}

export interface SyncMonitor {
  update(progress: SyncProgress): void;
  typeFinished(event: TypeFinished): void;
  childEvent(event: ChildWaitEvent): void;
  /** Erase the block, stop the timers and restore the stream. Idempotent. */
  stop(): void;
}

export interface SyncMonitorOptions {
  logger: Logger;
  /** Connector name (`twingate`) and display name (`Twingate`), to name the API in waits. */
  connector: { name: string; displayName: string };
  /** Default: stdout and stderr are both TTYs. */
  interactive?: boolean;
  /** Periodic info line without a terminal; 0 turns it off (default 10 s). */
  intervalMs?: number;
  stream?: NodeJS.WriteStream;
  now?: () => number;
}

export function isInteractive(): boolean {
  return !!process.stderr.isTTY && !!process.stdout.isTTY;
}

function maxStats(a: ServerStats | undefined, b: ServerStats | undefined): ServerStats | undefined {
  if (!a || !b) return a ?? b;
  return {
    apiRequests: Math.max(a.apiRequests, b.apiRequests),
    rateLimitWaits: Math.max(a.rateLimitWaits, b.rateLimitWaits),
    rateLimitWaitMs: Math.max(a.rateLimitWaitMs, b.rateLimitWaitMs),
    retries: Math.max(a.retries, b.retries),
  };
}

export function createSyncMonitor(options: SyncMonitorOptions): SyncMonitor {
  const now = options.now ?? Date.now;
  const started = now();
  const logger = options.logger;
  const interactive = options.interactive ?? isInteractive();
  const intervalMs = options.intervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  const apiName = (service: string) =>
    service.toLowerCase() === options.connector.name.toLowerCase() ? options.connector.displayName : service;

  let latest: SyncProgress | undefined;
  /** Counters from the child's events, newer than the last RPC's stats header while a wait is running. */
  let liveStats: ServerStats | undefined;
  const waits = new Map<string, ActiveWait>();
  let stopped = false;

  const stats = () => maxStats(latest?.serverStats, liveStats);
  /** The wait that ends last (a connector may wait in several requests at once). */
  const currentWait = (): ActiveWait | undefined => {
    const t = now();
    let pick: ActiveWait | undefined;
    for (const [key, w] of waits) {
      if (w.until <= t) waits.delete(key);
      else if (!pick || w.until > pick.until) pick = w;
    }
    return pick;
  };

  const display = interactive ? createBlock(options.stream ?? process.stderr, now) : undefined;
  const render = () =>
    latest
      ? renderProgress(latest, {
          stats: stats(),
          elapsedMs: now() - started,
          wait: (() => {
            const w = currentWait();
            return w ? describeWait(w, now()) : undefined;
          })(),
        })
      : undefined;
  const ticker = display
    ? setInterval(() => {
        const lines = render();
        if (lines) display.draw(lines, true);
      }, TICK_MS)
    : undefined;
  ticker?.unref();

  const periodic =
    !display && intervalMs > 0
      ? setInterval(() => {
          if (!latest) return;
          const s = stats();
          const c = counters(latest, s);
          const w = currentWait();
          logger.info('sync progress', {
            phase: latest.phase,
            ...(latest.resourceTypeId ? { resourceType: latest.resourceTypeId } : {}),
            seconds: Math.round((now() - started) / 100) / 10,
            resources: latest.totals.resources,
            entitlements: latest.totals.entitlements,
            grants: latest.totals.grants,
            apiRequests: c.apiRequests,
            rpcs: latest.rpcCount,
            rateLimitWaits: c.waits,
            rateLimitWaitSeconds: Math.round(c.waitMs / 100) / 10,
            ...(w ? { waiting: describeWait(w, now()) } : {}),
          });
        }, intervalMs)
      : undefined;
  periodic?.unref();

  const redraw = () => {
    if (!display) return;
    const lines = render();
    if (lines) display.draw(lines, false);
  };

  return {
    update(progress) {
      if (stopped) return;
      latest = progress;
      redraw();
    },
    typeFinished(e) {
      if (stopped) return;
      logger.info(`finished ${e.phase} of ${e.resourceTypeId}`, {
        phase: e.phase,
        resourceType: e.resourceTypeId,
        resources: e.counts.resources,
        ...(e.phase === 'resources' ? {} : { [e.phase]: e.counts[e.phase] }),
        seconds: Math.round(e.elapsedMs / 100) / 10,
      });
    },
    childEvent(e) {
      if (stopped) return;
      liveStats = maxStats(liveStats, e.stats);
      const key = `${e.wait.startedAt}:${e.wait.method}:${e.wait.path}:${e.wait.attempt}`;
      if (e.type === 'wait-started') {
        waits.set(key, {
          reason: e.wait.reason,
          api: apiName(e.wait.service),
          status: e.wait.status,
          errorCode: e.wait.errorCode,
          waitMs: e.wait.waitMs,
          until: now() + e.wait.waitMs,
        });
      } else {
        waits.delete(key);
      }
      if (display) {
        const lines = render();
        if (lines) display.draw(lines, true);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (ticker) clearInterval(ticker);
      if (periodic) clearInterval(periodic);
      display?.stop();
    },
  };
}

/** The redrawn block on a terminal stream. */
function createBlock(stream: NodeJS.WriteStream, now: () => number) {
  const originalWrite = stream.write;
  const rawWrite = (text: string) => originalWrite.call(stream, text);
  let drawnLines = 0;
  let lastLines: string[] | undefined;
  let lastDraw = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const erase = () => {
    if (drawnLines > 0) rawWrite(`\x1b[${drawnLines}A\r\x1b[J`);
    drawnLines = 0;
  };
  const paint = () => {
    if (!lastLines || stopped) return;
    const width = Math.max(40, (stream.columns || 100) - 1);
    const lines = lastLines.map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l));
    erase();
    rawWrite(lines.join('\n') + '\n');
    drawnLines = lines.length;
    lastDraw = now();
  };

  // Writes from anyone else (loggers, the child's stderr tee) go above the block.
  stream.write = function patchedWrite(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    const hadBlock = drawnLines > 0;
    erase();
    const result = (originalWrite as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
    if (hadBlock) paint();
    return result;
  } as typeof stream.write;

  return {
    /** `force`: draw now (timer ticks, wait events); else at most every MIN_REDRAW_MS. */
    draw(lines: string[], force: boolean) {
      if (stopped) return;
      lastLines = lines;
      const wait = MIN_REDRAW_MS - (now() - lastDraw);
      if (force || wait <= 0) paint();
      else if (!timer) {
        timer = setTimeout(() => {
          timer = undefined;
          paint();
        }, wait);
        timer.unref();
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      erase();
      stream.write = originalWrite;
    },
  };
}
