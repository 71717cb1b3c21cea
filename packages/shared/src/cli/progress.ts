/**
 * Live sync progress on a terminal: one status block on stderr, redrawn at most ~10 times a second, with per
 * resource type counts, RPCs, API requests and rate-limit waits. Nothing at all when stdout or stderr is not a TTY
 * (pipes and CI logs get only the final summary).
 *
 * Log lines (ours and the child's, which the host tees to our stderr) would tear the block, so while the display is
 * active every other write to the stream first erases the block and the block is drawn again below it.
 */
import type { SyncProgress } from '../host/sync.js';

export interface ProgressDisplay {
  update(progress: SyncProgress): void;
  /** Erase the block and restore the stream. Idempotent. */
  stop(): void;
}

const MIN_REDRAW_MS = 100;
const MAX_TYPE_ROWS = 15;

const PHASE_LABEL: Record<SyncProgress['phase'], string> = {
  validate: 'validating',
  'resource-types': 'listing resource types',
  resources: 'listing resources',
  entitlements: 'listing entitlements',
  grants: 'listing grants',
  'grant-expansion': 'expanding grants',
  done: 'done',
};

const noop: ProgressDisplay = { update() {}, stop() {} };

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Default: stdout and stderr are both TTYs. */
  enabled?: boolean;
  now?: () => number;
}

export function isInteractive(): boolean {
  return !!process.stderr.isTTY && !!process.stdout.isTTY;
}

export function createProgressDisplay(options: ProgressOptions = {}): ProgressDisplay {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? isInteractive();
  if (!enabled) return noop;
  const now = options.now ?? Date.now;

  const originalWrite = stream.write;
  const rawWrite = (text: string) => originalWrite.call(stream, text);
  let drawnLines = 0;
  let latest: SyncProgress | undefined;
  let lastDraw = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const erase = () => {
    if (drawnLines > 0) rawWrite(`\x1b[${drawnLines}A\r\x1b[J`);
    drawnLines = 0;
  };
  const draw = () => {
    if (!latest || stopped) return;
    const width = Math.max(40, (stream.columns || 100) - 1);
    const lines = renderProgress(latest).map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l));
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
    if (hadBlock) draw();
    return result;
  } as typeof stream.write;

  return {
    update(progress) {
      if (stopped) return;
      latest = progress;
      const wait = MIN_REDRAW_MS - (now() - lastDraw);
      if (wait <= 0) draw();
      else if (!timer) {
        timer = setTimeout(() => {
          timer = undefined;
          draw();
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

/** The block's lines (exported for tests). */
export function renderProgress(p: SyncProgress): string[] {
  const waits = p.rateLimitWaits + (p.serverStats?.rateLimitWaits ?? 0);
  const waitMs = p.rateLimitWaitMs + (p.serverStats?.rateLimitWaitMs ?? 0);
  const phase = PHASE_LABEL[p.phase] + (p.resourceTypeId ? ` (${p.resourceTypeId})` : '');
  const header =
    `${phase} · ${(p.elapsedMs / 1000).toFixed(1)}s · RPCs ${p.rpcCount}` +
    ` · API requests ${p.serverStats ? p.serverStats.apiRequests : '-'}` +
    ` · rate-limit waits ${waits}${waits ? ` (${(waitMs / 1000).toFixed(1)}s)` : ''}` +
    (p.retries ? ` · retries ${p.retries}` : '');
  const types = Object.keys(p.perType).sort();
  const nameWidth = Math.max(13, ...types.slice(0, MAX_TYPE_ROWS).map((t) => t.length));
  const row = (name: string, a: string | number, b: string | number, c: string | number) =>
    `  ${name.padEnd(nameWidth)}  ${String(a).padStart(10)}  ${String(b).padStart(12)}  ${String(c).padStart(10)}`;
  const lines = [header, row('resource type', 'resources', 'entitlements', 'grants')];
  for (const t of types.slice(0, MAX_TYPE_ROWS)) {
    const c = p.perType[t];
    lines.push(row(t, c.resources, c.entitlements, c.grants));
  }
  if (types.length > MAX_TYPE_ROWS) lines.push(`  … ${types.length - MAX_TYPE_ROWS} more types`);
  return lines;
}
