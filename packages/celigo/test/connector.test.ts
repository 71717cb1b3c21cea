/** The connector definition: metadata, resource types with the Go connector's ids, the bundled simulator, cleanup. */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hasAnnotation } from '@baton-ts/shared';
import { SkipEntitlementsAndGrantsSchema } from '@baton-ts/shared/pb';
import { newRuntimeStats } from '@baton-ts/shared/testing';
import { configSchema } from '../src/config.js';
import { celigo, VERSION } from '../src/connector.js';
import { captureLogger, closeAll, connectTo, fullSync, startSim } from './helpers.js';

afterEach(closeAll);

describe('definition', () => {
  it('names the connector and keeps the version in step with package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(celigo.name).toBe('celigo');
    expect(VERSION).toBe(pkg.version);
    expect(celigo.version).toBe(VERSION);
    expect(celigo.metadata.displayName).toBe('Celigo');
    expect(Object.keys(celigo.config.shape)).toEqual(['celigoAccessToken', 'region', 'baseUrl']);
  });

  it("has the Go connector's resource types, in its order; only roles provision; users skip entitlements", () => {
    const config = configSchema.parse({ celigoAccessToken: 'token-123456' });
    const connector = celigo.create(config, { logger: captureLogger().logger, stats: newRuntimeStats() });
    expect(
      connector.syncers.map((s) => [s.resourceType.id, s.resourceType.displayName, s.resourceType.traits]),
    ).toEqual([
      ['user', 'User', [1]],
      ['integration', 'Integration', [4]],
      ['role', 'Role', [3]],
    ]);
    expect(connector.syncers.filter((s) => s.grant && s.revoke).map((s) => s.resourceType.id)).toEqual(['role']);
    const user = connector.syncers[0]!.resourceType;
    expect(hasAnnotation(user.annotations, SkipEntitlementsAndGrantsSchema)).toBe(true);
  });

  it('starts its bundled simulator lazily, and the simulator config is a valid connector config', async () => {
    const bundled = await celigo.simulator!();
    const sim = await bundled.start({ dataset: 'tiny' });
    try {
      const config = configSchema.parse({
        celigoAccessToken: sim.config['celigo-access-token'],
        baseUrl: sim.config['base-url'],
      });
      const connector = celigo.create(config, { logger: captureLogger().logger, stats: newRuntimeStats() });
      await connector.validate({ signal: new AbortController().signal, logger: captureLogger().logger });
      expect(sim.requestCount()).toBe(1);
    } finally {
      await sim.close();
    }
  });

  it('cleanup() drops what a sync kept (the account index)', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    await fullSync(t);
    expect(t.connector.accountIndex.complete).toBe(true);
    await t.connector.cleanup!();
    expect(t.connector.accountIndex.complete).toBe(false);
  });
});
