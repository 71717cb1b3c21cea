/**
 * The RudderStack connector in-process against the SCIM simulator: the definition (read-only), a full sync against
 * every quirk switch compared with the simulator's data and the request floor, RudderStack's error explanations,
 * and the token never showing up.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Code, type ConnectorError } from '@baton-ts/shared';
import { captureLogger, newRuntimeStats, stableJson, syncInProcess, testCallContext } from '@baton-ts/shared/testing';
import { SCIM_QUIRK_PRESETS, scimSyncMismatches, type ScimQuirkPreset } from '@baton-ts/shared/scim-simulator';
import { configSchema } from '../src/config.js';
import { rudderstack, VERSION } from '../src/connector.js';
import { connectTo, sims, WORKSPACE_TOKEN } from './helpers.js';

afterEach(() => sims.closeAll());

describe('definition', () => {
  it('names the connector, keeps the version in step, and takes two flags', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(rudderstack.name).toBe('rudderstack');
    expect(VERSION).toBe(pkg.version);
    expect(rudderstack.version).toBe(VERSION);
    expect(Object.keys(rudderstack.config.shape)).toEqual(['scimBaseUrl', 'scimToken']);
  });

  it('is read-only: syncers for group and user, no grant, revoke, create, delete or account creation', () => {
    const config = configSchema.parse({ scimToken: 'rs-token-x' });
    const connector = rudderstack.create(config, { logger: captureLogger().logger, stats: newRuntimeStats() });
    expect(connector.syncers.map((s) => s.resourceType.id)).toEqual(['group', 'user']);
    for (const s of connector.syncers) {
      expect([s.grant, s.revoke, s.create, s.delete]).toEqual([undefined, undefined, undefined, undefined]);
    }
    expect(connector.accountManager).toBeUndefined();
  });

  it('starts its bundled simulator lazily; the simulator config is a valid config that validates', async () => {
    const bundled = await rudderstack.simulator!();
    const sim = await bundled.start({ dataset: 'tiny' });
    try {
      expect(Object.keys(sim.config).sort()).toEqual(['scim-base-url', 'scim-token']);
      expect(sim.config['scim-base-url']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
      const config = configSchema.parse({
        scimBaseUrl: sim.config['scim-base-url'],
        scimToken: sim.config['scim-token'],
      });
      const log = captureLogger();
      const connector = rudderstack.create(config, { logger: log.logger, stats: newRuntimeStats() });
      await connector.validate(testCallContext(log.logger));
      expect(sim.requestCount()).toBe(1);
    } finally {
      await sim.close();
    }
  });
});

describe('contract: a full sync against every quirk switch', () => {
  const presets = Object.keys(SCIM_QUIRK_PRESETS) as ScimQuirkPreset[];
  it.each(presets)('%s', async (preset) => {
    const sim = await sims.start({ ...SCIM_QUIRK_PRESETS[preset] });
    const t = connectTo(sim);
    const result = await syncInProcess(t.connector, t.ctx);
    // Exactly the simulator's data, in the floor's number of requests (plus two GETs when members are left out).
    expect(scimSyncMismatches(sim, result, sim.log.count())).toEqual([]);
    expect(t.stats.apiRequests).toBe(sim.log.count());
    if (preset.startsWith('no-groups')) {
      expect(t.log.lines.join('\n')).toContain('does not support /Groups');
    }
  });
});

describe('errors a RudderStack user will hit', () => {
  it('401: the token is wrong, with where to get the right one', async () => {
    const sim = await sims.start({ dataset: 'tiny' });
    const t = connectTo(sim, { token: 'rs-not-the-token-3311' });
    const err = (await t.connector.validate(t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.message).toContain('RudderStack rejected the SCIM token: check --scim-token (BATON_SCIM_TOKEN)');
    expect(err.message).toContain('organization-level Service Access Token');
    expect(err.message).not.toContain('rs-not-the-token-3311');
  });

  it('403: an organization-level token is needed, and SCIM on the Enterprise plan', async () => {
    const sim = await sims.start({ dataset: 'tiny' });
    const t = connectTo(sim, { token: WORKSPACE_TOKEN });
    const err = (await t.connector.validate(t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toMatch(/organization-level Service Access Token.*workspace-level token.*Enterprise/);
    sim.setQuirks({ scimDisabled: true });
    const off = connectTo(sim);
    const disabled = (await off.connector.validate(off.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(disabled.code).toBe(Code.PermissionDenied);
    expect(disabled.message).toContain('SCIM provisioning is not enabled for this organization');
    expect(disabled.message).toContain('RudderStack support may have to enable SCIM');
  });

  it('a token revoked in the middle of a sync is explained the same way', async () => {
    const sim = await sims.start({ dataset: 'tiny' });
    const t = connectTo(sim);
    await t.connector.validate(t.ctx);
    sim.setQuirks({ scimDisabled: true });
    const err = (await syncInProcess(t.connector, t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain('RudderStack refused the SCIM request (HTTP 403)');
  });

  it('the API host without /scim/v2 is NOT_FOUND with the right URL', async () => {
    const sim = await sims.start({ dataset: 'tiny' });
    const t = connectTo(sim, { baseUrl: sim.baseUrl });
    const err = (await t.connector.validate(t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.NotFound);
    expect(err.message).toContain(
      'check --scim-base-url (BATON_SCIM_BASE_URL); it is https://api.rudderstack.com/scim/v2',
    );
    expect(t.log.lines.join('\n')).toContain('does not end in /scim/v2');
  });
});

describe('secrets', () => {
  it('a distinctive token never appears in logs, errors or sync output', async () => {
    const TOKEN = 'rs-DISTINCTIVE-4e7a0b9c13-sat';
    const sim = await sims.start({
      token: TOKEN,
      faults: { probabilities: { rateLimit: 0.15, serverError: 0.15 }, retryAfterSeconds: 0, seed: 'rs-secrets' },
    });
    const t = connectTo(sim);
    const result = await syncInProcess(t.connector, t.ctx);
    expect(result.grants.length).toBeGreaterThan(0);
    const wrong = connectTo(sim, { token: `${TOKEN}-old` });
    const err = await wrong.connector.validate(wrong.ctx).catch((e: unknown) => e);
    const everything = [
      ...t.log.lines,
      ...wrong.log.lines,
      `${String(err)} ${JSON.stringify(err)}`,
      stableJson(result),
    ];
    expect(t.log.lines.length).toBeGreaterThan(10);
    expect(everything.join('\n')).not.toContain('4e7a0b9c13');
    expect(sims.running).toHaveLength(1);
  });
});
