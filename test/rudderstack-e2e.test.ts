// End-to-end tests of baton-rudderstack: the bundled bin in real subprocesses (the Go-style handshake, mTLS, fd 3),
// talking real HTTP to the SCIM simulator on loopback.
//
//  1. conformance kit: zero violations; the sync file holds exactly the simulator's users, groups and memberships
//     (flags, BATON_ variables, and a server without /Groups);
//  2. 10% 429 + 10% 5xx give a sync file identical to a fault-free one;
//  3. bad config, a wrong token and a workspace token give clear errors and a non-zero exit;
//  4. read-only: provisioning is refused, capabilities say sync only;
//  5. a distinctive token never appears in stdout, stderr, the c1z or the JSONL export;
//  6. --demo and `simulator` work without credentials.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SyncStore } from '@baton-ts/shared/c1z';
import {
  checkSyncInvariants,
  envWithoutBaton,
  PROBE_ID_PREFIX,
  runConformance,
  syncSnapshot,
  type ProcessResult,
} from '@baton-ts/shared/testing';
import type { ScimSimulator } from '@baton-ts/shared/scim-simulator';
import { grantFlags, scimE2eSuite, decompressC1z, leaks, runBin, storeMismatches } from './support/scim-e2e.js';

const TOKEN = 'rs-e2e-org-sat-6b0d2f1c';
const WORKSPACE_TOKEN = 'rs-e2e-workspace-sat-70aa';

const {
  bin: BIN,
  startSim,
  file: tempFile,
} = scimE2eSuite('rudderstack', { token: TOKEN, forbiddenTokens: [WORKSPACE_TOKEN] });

const flags = (sim: ScimSimulator, token = sim.token) => ['--scim-base-url', sim.scimUrl, '--scim-token', token];

describe('conformance through the real bin', () => {
  it("zero violations; exactly the simulator's users, groups and memberships (flags)", async () => {
    const sim = await startSim();
    const report = await runConformance({
      command: process.execPath,
      args: [BIN, ...flags(sim)],
      env: envWithoutBaton(),
      expectTypes: ['user', 'group'],
    });
    try {
      expect(report.violations).toEqual([]);
      expect(report.exit).toEqual({ code: 0, signal: null });
      expect(storeMismatches(sim, report.store)).toEqual([]);
      expect(report.counts.grants).toBe(700);
      for (const pass of report.relist)
        expect(pass).toMatchObject({ complete: true, resourceTypes: 2, resources: 262 });
      // Nothing failed, apart from the kit's probes for ids that do not exist (answered 404, as they should be).
      expect(sim.log.filter((e) => e.status !== 200 && !e.path.includes(PROBE_ID_PREFIX))).toEqual([]);
      expect(sim.log.filter((e) => e.path.includes(PROBE_ID_PREFIX)).every((e) => e.status === 404)).toBe(true);
    } finally {
      report.store.close();
    }
  });

  it('the same from BATON_ variables, against a server without /Groups (users only)', async () => {
    const sim = await startSim({ groupsEndpoint: 501 });
    const env = envWithoutBaton({ BATON_SCIM_BASE_URL: sim.scimUrl, BATON_SCIM_TOKEN: TOKEN });
    const report = await runConformance({
      command: process.execPath,
      args: [BIN],
      env,
      stderr: 'pipe',
      relistPasses: 0,
    });
    try {
      expect(report.violations).toEqual([]);
      expect(storeMismatches(sim, report.store)).toEqual([]);
      expect(report.counts.resources).toEqual({ user: 250 });
    } finally {
      report.store.close();
    }
  });
});

describe('faults: 10% 429 and 10% 5xx', () => {
  it('give a sync file identical to a fault-free sync', async () => {
    // Pages of 25 make 12 requests; the seed puts both kinds of fault among them.
    const sim = await startSim({ maxPageSize: 25 });
    const cleanFile = tempFile('clean.c1z');
    const faultyFile = tempFile('faulty.c1z');
    const clean = await runBin(BIN, [...flags(sim), '--file', cleanFile, '--log-level', 'warn']);
    expect(clean.code, clean.stderr).toBe(0);
    const cleanRequests = sim.log.count();
    sim.faults.set({
      probabilities: { rateLimit: 0.1, serverError: 0.1 },
      retryAfterSeconds: 0,
      seed: 'scim-faults-11',
    });
    const from = sim.log.last()!.seq;
    const faulty = await runBin(BIN, [...flags(sim), '--file', faultyFile, '--log-level', 'warn']);
    expect(faulty.code, faulty.stderr).toBe(0);
    const served = sim.log.filter((e) => e.seq > from);
    expect(served.filter((e) => e.status === 429).length).toBeGreaterThan(0);
    expect(served.filter((e) => e.status >= 500).length).toBeGreaterThan(0);
    expect(served.filter((e) => e.status === 200).length).toBe(cleanRequests);

    const a = await SyncStore.openC1z(cleanFile);
    const b = await SyncStore.openC1z(faultyFile);
    try {
      expect(checkSyncInvariants(b)).toEqual([]);
      expect(storeMismatches(sim, a)).toEqual([]);
      expect(syncSnapshot(b)).toEqual(syncSnapshot(a));
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('bad config and refused tokens', () => {
  let sim: ScimSimulator;
  beforeAll(async () => {
    sim = await startSim({ dataset: 'tiny' });
  });

  it('missing --scim-token: exit 1 naming the flag and variable, no request, no file', async () => {
    const file = tempFile('notoken.c1z');
    const r = await runBin(BIN, ['--scim-base-url', sim.scimUrl, '--file', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--scim-token (BATON_SCIM_TOKEN) is required');
    expect(sim.log.count()).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it('an http base URL off loopback: exit 1 naming --scim-base-url', async () => {
    const r = await runBin(BIN, ['--scim-base-url', 'http://api.rudderstack.com/scim/v2', '--scim-token', TOKEN]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--scim-base-url (BATON_SCIM_BASE_URL) must be an https URL');
  });

  it('a wrong token: UNAUTHENTICATED, the token is wrong; one request, not retried', async () => {
    const before = sim.log.count();
    // Debug logging on: every request is logged, and the refused token must still not show.
    const wrong = 'rs-e2e-WRONG-5d0f83a6';
    const r = await runBin(BIN, [...flags(sim, wrong), '--file', tempFile('wrong.c1z'), '--log-level', 'debug']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/UNAUTHENTICATED: rudderstack: RudderStack rejected the SCIM token: check --scim-token/);
    expect(r.stderr).toContain('"level":"debug"');
    expect(`${r.stdout}${r.stderr}`).not.toContain('5d0f83a6');
    expect(sim.log.filter((e) => e.seq > before).map((e) => e.status)).toEqual([401]);
  });

  it('a workspace-level token: PERMISSION_DENIED, an organization-level token and Enterprise SCIM are needed', async () => {
    const r = await runBin(BIN, [...flags(sim, WORKSPACE_TOKEN), '--file', tempFile('workspace.c1z')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PERMISSION_DENIED: .*organization-level Service Access Token.*workspace-level token/);
    expect(r.stderr).toContain('Enterprise');
  });
});

describe('read-only', () => {
  it('capabilities say sync only; a grant is refused and changes nothing', async () => {
    const caps = await runBin(BIN, ['capabilities']);
    expect(caps.code, caps.stderr).toBe(0);
    const parsed = JSON.parse(caps.stdout) as {
      connectorCapabilities: string[];
      resourceTypeCapabilities: Array<{ capabilities: string[] }>;
    };
    expect(parsed.connectorCapabilities).toEqual(['CAPABILITY_SYNC']);
    for (const t of parsed.resourceTypeCapabilities) expect(t.capabilities).toEqual(['CAPABILITY_SYNC']);

    const sim = await startSim({ dataset: 'tiny' });
    const file = tempFile('readonly.c1z');
    expect((await runBin(BIN, [...flags(sim), '--file', file])).code).toBe(0);
    const group = sim.state.listGroups()[0]!;
    const user = sim.state.listUsers().find((u) => !sim.state.isMember(group.id, u.id))!;
    const r = await runBin(BIN, [...flags(sim), '--file', file, ...grantFlags(group.id, user.id)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UNIMPLEMENTED');
    expect(sim.log.filter((e) => e.method !== 'GET')).toEqual([]);
  });
});

describe('the token never appears in output', () => {
  it('sync to c1z and JSONL with debug logs, capabilities and config (a refused token: see bad config)', async () => {
    const SECRET = 'rs-SECRET-91c4d7e2b0-sat';
    const sim = await startSim({ token: SECRET, dataset: 'tiny' });
    const outputs: Array<{ what: string; text: string | Buffer }> = [];
    const record = (what: string, r: ProcessResult) =>
      outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
    const c1z = tempFile('secret.c1z');
    const jsonl = tempFile('secret.jsonl');
    const debug = ['--log-level', 'debug'];
    const a = await runBin(BIN, [...flags(sim), '--file', c1z, ...debug]);
    expect(a.code, a.stderr).toBe(0);
    record('sync', a);
    const b = await runBin(
      BIN,
      ['--scim-base-url', sim.scimUrl, '--file', jsonl, ...debug],
      envWithoutBaton({ BATON_SCIM_TOKEN: SECRET }),
    );
    expect(b.code, b.stderr).toBe(0);
    record('sync jsonl', b);
    record('capabilities', await runBin(BIN, [...flags(sim), 'capabilities', ...debug]));
    record('config', await runBin(BIN, [...flags(sim), 'config', ...debug]));
    outputs.push({ what: 'jsonl', text: readFileSync(jsonl) }, { what: 'c1z', text: readFileSync(c1z) });
    outputs.push({ what: 'c1z (decompressed)', text: decompressC1z(c1z) });
    expect(outputs.find((o) => o.what === 'sync stderr')!.text).toContain('"level":"debug"');
    expect(leaks(outputs, [SECRET, '91c4d7e2b0', Buffer.from(SECRET).toString('base64').slice(0, 20)])).toEqual([]);
  });
});

describe('without credentials', () => {
  it('--demo syncs against the bundled simulator', async () => {
    const file = tempFile('demo.c1z');
    const r = await runBin(BIN, ['--demo', '--file', file, '--log-level', 'warn']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/group\s+12\s+12\s+700/);
    expect(r.stdout).toMatch(/user\s+250\s+0\s+0/);
  });

  it('`simulator` prints the base URL and a config that reaches its SCIM API', async () => {
    const child = spawn(process.execPath, [BIN, 'simulator', '--dataset', 'tiny'], {
      env: envWithoutBaton(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString('utf8');
          if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      const { config } = JSON.parse(line) as { config: Record<string, string> };
      expect(Object.keys(config).sort()).toEqual(['scim-base-url', 'scim-token']);
      const res = await fetch(`${config['scim-base-url']}/Users?count=1`, {
        headers: { authorization: `Bearer ${config['scim-token']}` },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { totalResults: number }).totalResults).toBe(8);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
