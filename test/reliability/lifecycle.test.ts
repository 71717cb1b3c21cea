// Process lifecycle (docs/reliability.md, "Process lifecycle"): for every connector, while an API request is in
// flight (the simulator holds every answer back), the connector exits within 1 s when
//  - its stdin closes (how a host stops it), with status 0;
//  - it gets SIGTERM;
//  - its parent, a real host process (the connector's own bin running a sync, which spawns the connector through
//    the handshake), is killed with SIGKILL;
// and leaves no process behind (its process group and its descendants, read from /proc). The 1 s bound on process
// exit is the requirement itself; nothing here sleeps to synchronise: each step waits for the event it needs.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { envWithoutBaton } from '@baton-ts/shared/testing';
import {
  CONNECTORS,
  descendantsOf,
  goneAfter,
  groupMembers,
  isRunning,
  node,
  reliabilityFixtures,
  spawnChild,
} from './support.js';

const EXIT_LIMIT_MS = 1_000;
/** Long enough that no answer arrives while the test runs. */
const HOLD_MS = 30_000;

const fixtures = reliabilityFixtures('lifecycle');

/** A simulator that holds every answer back; resolves `firstRequest` when the first request arrives. */
async function holdingSim(c: (typeof CONNECTORS)[number]) {
  const sim = await fixtures.start(c);
  let arrived!: () => void;
  const firstRequest = new Promise<void>((resolve) => (arrived = resolve));
  sim.faults.set({
    match: () => {
      arrived();
      return true;
    },
    rules: [{ fault: { kind: 'slow', delayMs: HOLD_MS }, every: 1 }],
  });
  return { sim, firstRequest };
}

describe('process lifecycle, with an API request in flight', () => {
  for (const c of CONNECTORS) {
    describe(c.name, () => {
      it('stdin closed: exits with status 0 within 1 s, nothing left in its process group', async () => {
        const { sim, firstRequest } = await holdingSim(c);
        const child = await spawnChild(c, sim.flags, { processGroup: true });
        const call = child.client.listResourceTypes({}).then(() => child.client.validate({}));
        await firstRequest;
        const started = Date.now();
        await child.close();
        const status = await child.exited;
        const ms = Date.now() - started;
        await call.catch(() => undefined);
        expect(status).toEqual({ code: 0, signal: null });
        expect(ms).toBeLessThanOrEqual(EXIT_LIMIT_MS);
        expect(groupMembers(child.pid)).toEqual([]);
      });

      it('SIGTERM: exits within 1 s, nothing left in its process group', async () => {
        const { sim, firstRequest } = await holdingSim(c);
        const child = await spawnChild(c, sim.flags, { processGroup: true });
        const call = child.client.validate({}).catch(() => undefined);
        await firstRequest;
        const started = Date.now();
        process.kill(child.pid, 'SIGTERM');
        const status = await child.exited;
        const ms = Date.now() - started;
        await call;
        expect(status.signal === 'SIGKILL', 'had to be killed').toBe(false);
        expect(ms).toBeLessThanOrEqual(EXIT_LIMIT_MS);
        expect(groupMembers(child.pid)).toEqual([]);
        await child.close();
      });

      it('its parent (the bin as host, mid-sync) killed with SIGKILL: the connector exits within 1 s', async () => {
        const { sim, firstRequest } = await holdingSim(c);
        const host = spawn(node, [c.bin, ...sim.flags, '--file', fixtures.path(`${c.name}.c1z`)], {
          env: envWithoutBaton(),
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        host.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        const hostExited = new Promise<void>((resolve) => host.once('exit', () => resolve()));
        await Promise.race([
          firstRequest,
          hostExited.then(() => {
            throw new Error(`the host exited before the sync started: ${stderr}`);
          }),
        ]);
        // The child made the request: it is the host's descendant now.
        const descendants = descendantsOf(host.pid!);
        expect(descendants.length, 'the connector process under the host').toBeGreaterThan(0);
        const started = Date.now();
        host.kill('SIGKILL');
        await hostExited;
        const ms = await goneAfter(descendants, started);
        expect(descendants.filter(isRunning)).toEqual([]);
        expect(ms).toBeLessThanOrEqual(EXIT_LIMIT_MS);
      });
    });
  }
});
