/**
 * How many connector children one host process starts at once (docs/reliability.md, "Load"). A child has 5 s, as
 * under a Go host, from spawn to a READY channel; starting twenty at once on two cores shares the CPU twenty ways
 * and most of them miss it. Start-ups therefore queue for a slot (as many as the machine has cores, at least two):
 * a spawn takes its slot before the process starts and gives it back when the child is ready or has failed, so the
 * 5 s count only while the child can actually run. Syncs themselves still run all at once.
 */
import { availableParallelism } from 'node:os';

export class StartupGate {
  private starting = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly slots: number) {}

  /** Waits for a slot; call the returned function exactly once to give it back. */
  async acquire(): Promise<() => void> {
    if (this.starting >= this.slots) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.starting++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.starting--;
    };
  }
}

/** The gate every `spawnConnector` of this process goes through. */
export const connectorStartups = new StartupGate(Math.max(2, availableParallelism()));
