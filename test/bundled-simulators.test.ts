// Every connector's bundled simulator takes the same options (docs/cli.md, "The simulator command"): the benchmark
// datasets, simulated latency, documented or no rate limits, and faults.
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectorDefinition } from '@baton-ts/shared';
import type { RateLimiter, RunningSimulator } from '@baton-ts/shared/simulator';
import { simulatorRegistry } from '@baton-ts/shared/testing';
import { celigo } from '../packages/celigo/src/connector.js';
import { rudderstack } from '../packages/rudderstack/src/connector.js';
import { twingate } from '../packages/twingate/src/connector.js';
import { vega } from '../packages/vega/src/connector.js';
import { vgs } from '../packages/vgs/src/connector.js';

const CONNECTORS: ConnectorDefinition[] = [twingate, vgs, celigo, rudderstack, vega];

/** What `documented` applies, per connector (docs/apis/<app>.md); `off` applies none of it. */
const DOCUMENTED: Record<string, (limiter: RateLimiter) => unknown> = {
  twingate: (l) => l.getLimits(),
  vgs: (l) => l.getLimits(),
  celigo: (l) => (l as unknown as { getBuckets(): unknown }).getBuckets(),
  rudderstack: (l) => l.getLimits(),
  vega: (l) => l.getLimits(),
};
const EXPECTED_DOCUMENTED: Record<string, unknown> = {
  twingate: { read: 60, write: 20 },
  vgs: { read: 200, write: 200 },
  celigo: { api: { burst: 1000, perSecond: 300 } },
  rudderstack: { read: 0, write: 0 },
  vega: { read: 0, write: 0 },
};
const EXPECTED_OFF: Record<string, unknown> = {
  twingate: { read: 0, write: 0 },
  vgs: { read: 0, write: 0 },
  celigo: {},
  rudderstack: { read: 0, write: 0 },
  vega: { read: 0, write: 0 },
};

/** A route of each API (faults are injected on matched routes, before auth). */
const PROBE: Record<string, [method: string, path: string]> = {
  twingate: ['POST', '/api/graphql/'],
  vgs: ['POST', '/auth/realms/vgs/protocol/openid-connect/token'],
  celigo: ['GET', '/v1/ashares'],
  rudderstack: ['GET', '/scim/v2/Users'],
  vega: ['GET', '/scim/v2/org-5f3a9d/Users'],
};

const simulators = simulatorRegistry<RunningSimulator>();
afterEach(() => simulators.closeAll());

describe.each(CONNECTORS.map((c) => [c.name, c] as const))('%s bundled simulator', (name, definition) => {
  it('lists the benchmark datasets and marks one default', async () => {
    const bundled = await definition.simulator!();
    const names = bundled.datasets!.map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['tiny', 'small', 'bench-small', 'bench-medium', 'bench-large']));
    expect(bundled.datasets!.filter((d) => d.description?.includes('(default)'))).toHaveLength(1);
  });

  it('applies documented rate limits by default, none with rateLimits off, and latency and faults', async () => {
    const bundled = await definition.simulator!();
    const documented = simulators.add(await bundled.start({ dataset: 'tiny' }));
    const limiterOf = (sim: RunningSimulator) => (sim as RunningSimulator & { rateLimiter: RateLimiter }).rateLimiter;
    expect(DOCUMENTED[name]!(limiterOf(documented))).toEqual(EXPECTED_DOCUMENTED[name]);

    const off = simulators.add(
      await bundled.start({
        dataset: 'tiny',
        rateLimits: 'off',
        latencyMs: 40,
        faults: { rules: [{ nth: 1, fault: { kind: 'serverError', status: 503 } }] },
      }),
    );
    expect(DOCUMENTED[name]!(limiterOf(off))).toEqual(EXPECTED_OFF[name]);
    const [method, path] = PROBE[name]!;
    const started = Date.now();
    expect((await fetch(`${off.baseUrl}${path}`, { method })).status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect((await fetch(`${off.baseUrl}/no-such-path`)).status).toBe(404);
    expect(off.stats()).toEqual({ requests: 2, byStatus: { '404': 1, '503': 1 } });
  });
});
