// End-to-end tests of baton-vega: the bundled bin in real subprocesses (the Go-style handshake, mTLS, fd 3), talking
// real HTTP to the SCIM simulator on loopback.
//
//  1. conformance kit: zero violations; the sync file holds exactly the simulator's users, groups and memberships;
//  2. provisioning round trips of a group membership (the conformance kit's grant/revoke, idempotent, mutations
//     counted from the simulator's request log), against an RFC server and one that only speaks Entra's legacy
//     PATCH; account creation and deletion (and deactivation) through the one-shot flags;
//  3. faults (429 and 5xx) during a sync and a grant change nothing in the result;
//  4. bad config and a wrong token give clear errors and a non-zero exit;
//  5. capabilities advertise exactly what is supported;
//  6. a distinctive token never appears in stdout, stderr or the c1z.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SyncStore } from '@baton-ts/shared/c1z';
import { createAccount, deleteResource, spawnConnector } from '@baton-ts/shared/host';
import { envWithoutBaton, provisioningRoundTrip, runConformance, type ProcessResult } from '@baton-ts/shared/testing';
import { SCIM_QUIRK_PRESETS, type ScimSimulator } from '@baton-ts/shared/scim-simulator';
import { grantFlags, scimE2eSuite, decompressC1z, leaks, runBin, storeMismatches } from './support/scim-e2e.js';

const TOKEN = 'vega-e2e-scim-token-3f9a';

const { bin: BIN, startSim, file: tempFile } = scimE2eSuite('vega', { basePath: '/scim/v2/org-e2e', token: TOKEN });

const flags = (sim: ScimSimulator, token = sim.token) => ['--scim-endpoint', sim.scimUrl, '--scim-token', token];
/** Requests that change something upstream (anything but a read). */
const mutationCounter = (sim: ScimSimulator) => () => sim.log.count((e) => e.method !== 'GET');

describe('conformance through the real bin', () => {
  it("zero violations; exactly the simulator's users, groups and memberships", async () => {
    const sim = await startSim();
    const report = await runConformance({
      command: process.execPath,
      args: [BIN, ...flags(sim)],
      env: envWithoutBaton(),
      expectTypes: ['user', 'group'],
      relistPasses: 1,
    });
    try {
      expect(report.violations).toEqual([]);
      expect(storeMismatches(sim, report.store)).toEqual([]);
      expect(report.counts.grants).toBe(700);
    } finally {
      report.store.close();
    }
  });
});

describe('provisioning through the real bin', () => {
  for (const [name, quirks] of [
    ['an RFC server', {}],
    ["a server that only speaks Entra's legacy PATCH", SCIM_QUIRK_PRESETS['entra-legacy-patch']],
  ] as const) {
    it(`round-trips a group membership against ${name}, mutating exactly on the first grant and revoke`, async () => {
      const sim = await startSim({ dataset: 'tiny', ...quirks });
      const group = sim.state.listGroups()[0]!;
      const user = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
      const report = await provisioningRoundTrip({
        command: process.execPath,
        args: [BIN, ...flags(sim)],
        env: envWithoutBaton(),
        entitlementId: `group:${group.id}:member`,
        principal: { resourceType: 'user', resource: user.id },
        mutationCount: mutationCounter(sim),
        requireMutation: true,
      });
      expect(report.violations).toEqual([]);
      expect(report.ok).toBe(true);
      expect(sim.state.isMember(group.id, user.id)).toBe(false);
      const patches = sim.log.filter((e) => e.method === 'PATCH' && e.status < 300).map((e) => e.body);
      expect(patches).toHaveLength(2);
      expect(JSON.stringify(patches)).toContain(user.id);
    });
  }

  it('creates an account (one-shot flags), and through the RPCs: exists, deactivates, deletes, idempotently', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const create = await runBin(BIN, [
      ...flags(sim),
      '--file',
      tempFile('accounts.c1z'),
      '--create-account-login',
      'nia.novak@example.com',
      '--create-account-email',
      'nia.novak@example.com',
      '--create-account-profile',
      '{"given_name":"Nia","family_name":"Novak"}',
    ]);
    expect(create.code, create.stderr).toBe(0);
    const created = sim.state.userByName('nia.novak@example.com')!;
    expect(created).toMatchObject({ active: true, name: { givenName: 'Nia', familyName: 'Novak' } });
    expect(create.stdout).toBe(`account created: user:${created.id}\n`);

    const user = { resourceType: 'user', resourceId: created.id };
    const deactivating = await spawnConnector({
      command: process.execPath,
      args: [BIN, ...flags(sim), '--provisioning', '--deprovision-mode', 'deactivate'],
      env: envWithoutBaton(),
      stderr: 'pipe',
    });
    try {
      const again = await createAccount(deactivating.client, { login: 'NIA.NOVAK@example.com' });
      expect(again).toMatchObject({ result: 'alreadyExists', resource: { id: { resource: created.id } } });
      expect(await deleteResource(deactivating.client, user)).toMatchObject({ doesNotExist: false });
      expect(sim.state.getUser(created.id)!.active).toBe(false);
      expect(await deleteResource(deactivating.client, user)).toMatchObject({ doesNotExist: true });
    } finally {
      await deactivating.close();
    }
    const deleting = await spawnConnector({
      command: process.execPath,
      args: [BIN, ...flags(sim), '--provisioning'],
      env: envWithoutBaton(),
      stderr: 'pipe',
    });
    try {
      expect(await deleteResource(deleting.client, user)).toMatchObject({ doesNotExist: false });
      expect(sim.state.getUser(created.id)).toBeUndefined();
      expect(await deleteResource(deleting.client, user)).toMatchObject({ doesNotExist: true });
    } finally {
      await deleting.close();
    }
    expect(sim.log.filter((e) => e.method !== 'GET').map((e) => `${e.method} ${e.status}`)).toEqual([
      'POST 201',
      'PATCH 200',
      'DELETE 204',
      'DELETE 404',
    ]);
  });
});

describe('faults', () => {
  it("429s and 5xx during a sync and a grant: exactly the simulator's data, and the grant goes through once", async () => {
    const sim = await startSim({ maxPageSize: 25 });
    const faulty = tempFile('faulty.c1z');
    sim.faults.set({
      probabilities: { rateLimit: 0.1, serverError: 0.1 },
      retryAfterSeconds: 0,
      seed: 'scim-faults-31',
    });
    const r = await runBin(BIN, [...flags(sim), '--file', faulty, '--log-level', 'warn']);
    expect(r.code, r.stderr).toBe(0);
    expect(sim.log.filter((e) => e.status === 429).length).toBeGreaterThan(0);
    expect(sim.log.filter((e) => e.status >= 500).length).toBeGreaterThan(0);
    // Exactly the simulator's data: nothing lost, nothing doubled.
    const store = await SyncStore.openC1z(faulty);
    try {
      expect(storeMismatches(sim, store)).toEqual([]);
    } finally {
      store.close();
    }

    // The grant's PATCH meets a 503 first: it is retried (adding a member is idempotent) and applied once.
    const group = sim.state.listGroups()[0]!;
    const user = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    sim.faults.set({
      match: (req) => req.method === 'PATCH',
      rules: [{ fault: { kind: 'serverError', status: 503 }, nth: 1 }],
    });
    const grant = await runBin(BIN, [...flags(sim), '--file', faulty, ...grantFlags(group.id, user.id)]);
    expect(grant.stdout, grant.stderr).toBe('granted\n');
    expect(sim.log.filter((e) => e.method === 'PATCH').map((e) => e.status)).toEqual([503, 204]);
    expect(sim.state.isMember(group.id, user.id)).toBe(true);
  });
});

describe('bad config', () => {
  it('missing endpoint, a bad deprovision mode and a wrong token: exit 1 with what to fix', async () => {
    const sim = await startSim({ dataset: 'tiny' });
    const missing = await runBin(BIN, ['--scim-token', TOKEN, '--file', tempFile('x.c1z')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--scim-endpoint (BATON_SCIM_ENDPOINT) is required');
    const mode = await runBin(BIN, [...flags(sim), '--deprovision-mode', 'disable']);
    expect(mode.code).toBe(1);
    expect(mode.stderr).toContain('--deprovision-mode (BATON_DEPROVISION_MODE) must be "delete" or "deactivate"');
    expect(sim.log.count()).toBe(0);
    const wrong = await runBin(BIN, [...flags(sim, 'vega-e2e-stale-token'), '--file', tempFile('y.c1z')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/UNAUTHENTICATED: vega: VEGA rejected the SCIM token: check --scim-token/);
    expect(wrong.stderr).toContain('Provisioning modal');
    expect(wrong.stderr).not.toContain('vega-e2e-stale-token');
  });
});

describe('capabilities and secrets', () => {
  it('advertise group provisioning, account creation and user deletion, and nothing else', async () => {
    const r = await runBin(BIN, ['capabilities']);
    const caps = JSON.parse(r.stdout) as {
      resourceTypeCapabilities: Array<{ resourceType: { id: string }; capabilities: string[] }>;
    };
    expect(Object.fromEntries(caps.resourceTypeCapabilities.map((c) => [c.resourceType.id, c.capabilities]))).toEqual({
      group: ['CAPABILITY_SYNC', 'CAPABILITY_PROVISION'],
      user: ['CAPABILITY_SYNC', 'CAPABILITY_ACCOUNT_PROVISIONING', 'CAPABILITY_RESOURCE_DELETE'],
    });
  });

  it('a distinctive token never appears in output: sync, grant, a refused token, the c1z', async () => {
    const SECRET = 'vega-SECRET-2d8e64b1f9-token';
    const sim = await startSim({ dataset: 'tiny', token: SECRET });
    const file = tempFile('secret.c1z');
    const outputs: Array<{ what: string; text: string | Buffer }> = [];
    const record = (what: string, r: ProcessResult) =>
      outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
    const run = (what: string, args: string[], env = envWithoutBaton()) =>
      runBin(BIN, [...args, '--log-level', 'debug'], env).then((r) => (record(what, r), r));
    expect(
      (
        await run(
          'sync',
          ['--scim-endpoint', sim.scimUrl, '--file', file],
          envWithoutBaton({ BATON_SCIM_TOKEN: SECRET }),
        )
      ).code,
    ).toBe(0);
    const group = sim.state.listGroups()[0]!;
    const user = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    const grant = await run('grant', [...flags(sim), '--file', file, ...grantFlags(group.id, user.id)]);
    expect(grant.code, grant.stderr).toBe(0);
    await run('wrong token', [...flags(sim, `${SECRET}-x`), '--file', tempFile('z.c1z')]);
    outputs.push({ what: 'c1z', text: readFileSync(file) }, { what: 'c1z (decompressed)', text: decompressC1z(file) });
    expect(outputs.find((o) => o.what === 'grant stderr')!.text).toContain('"level":"debug"');
    expect(leaks(outputs, [SECRET, '2d8e64b1f9'])).toEqual([]);
  });
});
