/**
 * What the connector service (child) tells the one-shot parent while an RPC is still running: the HTTP client's
 * waits (a 429's Retry-After, retry backoff) with the connector's counters at that moment. Without it the parent
 * learns about a 50-second rate-limit wait only when the RPC returns, and its progress display freezes meanwhile.
 *
 * The parent listens on a Unix socket (a named pipe on Windows) in a private temporary directory and hands its
 * path to the child in `BATON_TS_EVENTS_SOCKET`; the child connects and writes one JSON object per line. Hosts that
 * do not set the variable (a Go host, ConductorOne) get no events and lose nothing. The channel is best effort: a
 * child that cannot connect carries on, a malformed line is ignored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { observeHttpWaits, type HttpWaitEvent } from '../http/wait-events.js';
import type { RuntimeStats } from '../sdk/connector.js';

export const EVENTS_SOCKET_ENV = 'BATON_TS_EVENTS_SOCKET';

export interface ChildWaitEvent {
  type: 'wait-started' | 'wait-ended';
  wait: HttpWaitEvent;
  /** The connector's counters when the event happened (the wait is already counted). */
  stats: RuntimeStats;
}

export interface ChildEventsServer {
  /** Environment to add to the child's. */
  env: Record<string, string>;
  close(): Promise<void>;
}

function isWaitEvent(value: unknown): value is ChildWaitEvent {
  if (value === null || typeof value !== 'object') return false;
  const e = value as Partial<ChildWaitEvent>;
  return (
    (e.type === 'wait-started' || e.type === 'wait-ended') &&
    typeof e.wait?.waitMs === 'number' &&
    typeof e.wait.service === 'string' &&
    typeof e.stats?.apiRequests === 'number'
  );
}

/** Parent side: listen, and call `onEvent` for every well-formed event line. */
export async function listenForChildEvents(onEvent: (event: ChildWaitEvent) => void): Promise<ChildEventsServer> {
  const dir = process.platform === 'win32' ? undefined : await mkdtemp(join(tmpdir(), 'baton-events-'));
  const path = dir ? join(dir, 'events.sock') : `\\\\.\\pipe\\baton-events-${randomBytes(8).toString('hex')}`;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const lines = createInterface({ input: socket, crlfDelay: Infinity });
    lines.on('line', (line) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return;
      }
      if (isWaitEvent(value)) onEvent(value);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (dir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  server.unref();
  let closing: Promise<void> | undefined;
  return {
    env: { [EVENTS_SOCKET_ENV]: path },
    close: () =>
      (closing ??= (async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if (dir) await rm(dir, { recursive: true, force: true });
      })()),
  };
}

/**
 * Child side: when the parent asked for events, forward every HTTP wait of this process to it. Returns a function
 * that stops forwarding. Never throws and never keeps the process alive.
 */
export function forwardEventsToParent(env: NodeJS.ProcessEnv, stats: RuntimeStats): () => void {
  const path = env[EVENTS_SOCKET_ENV];
  if (!path) return () => {};
  const socket = createConnection(path);
  socket.on('error', () => socket.destroy());
  socket.unref();
  const send = (type: ChildWaitEvent['type'], wait: HttpWaitEvent) => {
    if (socket.destroyed) return;
    const event: ChildWaitEvent = { type, wait, stats: { ...stats } };
    socket.write(JSON.stringify(event) + '\n');
  };
  const stop = observeHttpWaits({
    waitStarted: (wait) => send('wait-started', wait),
    waitEnded: (wait) => send('wait-ended', wait),
  });
  return () => {
    stop();
    socket.destroy();
  };
}
