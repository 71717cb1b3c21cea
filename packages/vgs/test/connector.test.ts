/**
 * The connector definition: metadata, capabilities per type, validate() and its errors, the bundled simulator,
 * cleanup, and that the client secret and tokens never show up in logs, errors or sync output.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Code, type ConnectorError } from '@baton-ts/shared';
import { newRuntimeStats } from '@baton-ts/shared/testing';
import { configSchema } from '../src/config.js';
import { vgs, VERSION, createVgsConnector } from '../src/connector.js';
import { captureLogger, closeAll, connectTo, fullSync, route, running, stableJson, startSim } from './helpers.js';

afterEach(closeAll);

const config = configSchema.parse({
  serviceAccountClientId: 'c1integration-abc',
  serviceAccountClientSecret: 'secret-value-1',
  organizationId: 'ACsUNAGQN3Lv875yyqZiLQ2s',
});

describe('definition', () => {
  it('names the connector, keeps the version in step with package.json, and the Go connector’s flags', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(vgs.name).toBe('vgs');
    expect(VERSION).toBe(pkg.version);
    expect(vgs.version).toBe(VERSION);
    expect(Object.keys(vgs.config.shape)).toEqual([
      'serviceAccountClientId',
      'serviceAccountClientSecret',
      'organizationId',
      'vault',
      'baseUrl',
      'tokenUrl',
    ]);
  });

  it('declares sync, provisioning, account provisioning and resource deletion per type, without any I/O', () => {
    const connector = vgs.create(config, { logger: captureLogger().logger, stats: newRuntimeStats() });
    const caps = Object.fromEntries(
      connector.syncers.map((s) => [
        s.resourceType.id,
        [
          'sync',
          s.grant && s.revoke ? 'provision' : undefined,
          connector.accountManager?.resourceTypeId === s.resourceType.id ? 'account' : undefined,
          s.delete ? 'delete' : undefined,
        ].filter(Boolean),
      ]),
    );
    expect(caps).toEqual({
      user: ['sync', 'delete'],
      invitation: ['sync', 'account', 'delete'],
      org: ['sync', 'provision'],
      vault: ['sync', 'provision'],
      service_account: ['sync'],
    });
    expect(connector.accountManager!.accountCreationSchema!.fieldMap.email!.required).toBe(true);
  });

  it('starts its bundled simulator lazily, and the simulator config is a valid connector config', async () => {
    const bundled = await vgs.simulator!();
    const sim = await bundled.start({ dataset: 'tiny' });
    try {
      const fromSim = configSchema.parse({
        serviceAccountClientId: sim.config['service-account-client-id'],
        serviceAccountClientSecret: sim.config['service-account-client-secret'],
        organizationId: sim.config['organization-id'],
        baseUrl: sim.config['base-url'],
        tokenUrl: sim.config['token-url'],
      });
      const connector = vgs.create(fromSim, { logger: captureLogger().logger, stats: newRuntimeStats() });
      await connector.validate({ signal: new AbortController().signal, logger: captureLogger().logger });
      expect(sim.requestCount()).toBe(2);
    } finally {
      await sim.close();
    }
  });
});

describe('validate', () => {
  it('is one token request and one organizations read, which the organization listing reuses', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    await t.connector.validate(t.ctx);
    expect(sim.log.entries().map(route)).toEqual([
      'POST /auth/realms/vgs/protocol/openid-connect/token',
      'GET /organizations',
    ]);
    const org = t.connector.syncers.find((s) => s.resourceType.id === 'org')!;
    const page = await org.list(undefined, { state: undefined, size: 50 }, t.ctx);
    expect(page.items.map((r) => r.displayName)).toEqual(['Acme Payments']);
    expect(sim.log.count()).toBe(2);
  });

  it('an organization the service account cannot see is NOT_FOUND, listing the ones it can', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const hidden = sim.state.listOrganizations()[2]!;
    const t = connectTo(sim, { organizationId: hidden.id });
    const err = (await t.connector.validate(t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.NotFound);
    expect(err.message).toContain(
      `organization ${hidden.id} is not among the organizations this service account can see`,
    );
    expect(err.message).toContain(`${sim.organizationId} (Acme Payments)`);
    expect(err.message).toContain('check --organization-id (BATON_ORGANIZATION_ID)');
  });

  it('a token without organization-users:read fails validation naming the scope', async () => {
    const sim = await startSim({ dataset: 'tiny', scopes: ['organizations:read', 'vaults:read'] });
    const t = connectTo(sim);
    const err = (await t.connector.validate(t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.message).toContain('organization-users:read');
  });

  it('wrong credentials are UNAUTHENTICATED naming the flags', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim, { clientSecret: 'nope-nope-nope' });
    const err = (await t.connector.validate(t.ctx).catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.message).toContain('--service-account-client-secret');
  });
});

describe('cleanup', () => {
  it('drops the page cache', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const t = connectTo(sim);
    await fullSync(t);
    expect(t.connector.client.pages.size).toBeGreaterThan(0);
    await t.connector.cleanup!();
    expect(t.connector.client.pages.size).toBe(0);
  });

  it('logs that --vault is not used', () => {
    const log = captureLogger();
    createVgsConnector({ ...config, vault: 'tnto1wfx2gp' }, { logger: log.logger, stats: newRuntimeStats() });
    expect(log.lines.join('\n')).toContain('--vault is accepted for compatibility and not used');
  });
});

describe('secrets', () => {
  it('a distinctive client secret and the tokens never appear in logs, errors or sync output', async () => {
    const SECRET = 'vgs-DISTINCTIVE-5e8a1c7b3f-secret';
    const sim = await startSim({
      dataset: 'small',
      clientSecret: SECRET,
      pageSize: 9,
      faults: { probabilities: { rateLimit: 0.15, serverError: 0.15 }, retryAfterSeconds: 0, seed: 'secrets' },
    });
    const t = connectTo(sim);
    const result = await fullSync(t);
    expect(result.grants.length).toBeGreaterThan(0);
    const token = t.connector.client.tokens.current!.value;

    const errors: string[] = [];
    const collect = async (p: Promise<unknown>) =>
      p.catch((e: unknown) =>
        errors.push(`${(e as Error).message} ${JSON.stringify(e)} ${String((e as Error).cause ?? '')}`),
      );
    const other = await startSim({ dataset: 'tiny' });
    const wrong = connectTo(other, { clientId: sim.clientId, clientSecret: SECRET });
    await collect(wrong.connector.validate(wrong.ctx));
    sim.faults.clear();
    sim.faults.injectNext({ kind: 'serverError', status: 503 }, 20);
    await collect(t.connector.validate(t.ctx));
    expect(errors).toHaveLength(2);

    const everything = [
      ...t.log.lines,
      ...wrong.log.lines,
      ...errors,
      stableJson(result),
      JSON.stringify(sim.log.entries()),
    ].join('\n');
    expect(t.log.lines.length).toBeGreaterThan(10);
    for (const needle of [SECRET, '5e8a1c7b3f', token]) expect(everything).not.toContain(needle);
    expect(running.length).toBe(2);
  });
});
