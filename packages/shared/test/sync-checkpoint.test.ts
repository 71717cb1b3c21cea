// The sync checkpoint (host/checkpoint.ts) and the store's resume path (c1z/store.ts working files), see
// docs/sync.md: the token's exact shape (Go's state token), reading Go's newer form, refusing what cannot be
// resumed; and a working file whose writer is killed with SIGKILL in the middle of a transaction keeps exactly the
// pages committed before, with the checkpoint of the last one.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  initialCheckpoint,
  parseCheckpoint,
  serializeCheckpoint,
  type SyncCheckpoint,
} from '../src/host/checkpoint.js';
import { SyncStore, WorkingFileBusyError } from '../src/c1z/index.js';
import { ResourceSchema } from '../src/gen/c1/connector/v2/resource_pb.js';

const dir = mkdtempSync(join(tmpdir(), 'checkpoint-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpoint serialization', () => {
  const mid: SyncCheckpoint = {
    actions: [
      { op: 'grant-expansion' },
      { op: 'list-grants' },
      { op: 'list-entitlements', pageToken: '17' },
      { op: 'list-entitlements', resourceTypeId: 'group', resourceId: 'g1', pageToken: 'eyJvIjo0fQ' },
    ],
    needsExpansion: true,
    resumeKey: 'twingate@1.0.0:abc',
  };

  it("is Go's version-0 state token: the stack bottom first, the top as current_action, empty fields left out", () => {
    expect(JSON.parse(serializeCheckpoint(mid))).toEqual({
      actions: [
        { operation: 'grant-expansion' },
        { operation: 'list-grants' },
        { operation: 'list-entitlements', page_token: '17' },
      ],
      current_action: {
        operation: 'list-entitlements',
        page_token: 'eyJvIjo0fQ',
        resource_type_id: 'group',
        resource_id: 'g1',
      },
      needs_expansion: true,
      baton_ts: { version: 1, resume_key: 'twingate@1.0.0:abc' },
    });
    // Go's field order, so the text reads like the token a Go host writes.
    expect(serializeCheckpoint(mid)).toMatch(/^\{"actions":\[\{"operation":"grant-expansion"\}/);
  });

  it('round-trips, child listings with their parent included', () => {
    const child: SyncCheckpoint = {
      actions: [
        { op: 'list-resources', resourceTypeId: 'project' },
        { op: 'list-resources', resourceTypeId: 'repo', parentResourceTypeId: 'project', parentResourceId: 'p1' },
      ],
      needsExpansion: false,
      resumeKey: '',
    };
    for (const c of [mid, child, initialCheckpoint('k'), { actions: [], needsExpansion: false, resumeKey: 'k' }]) {
      expect(parseCheckpoint(serializeCheckpoint(c))).toEqual(c);
    }
    expect(JSON.parse(serializeCheckpoint(child)).current_action).toEqual({
      operation: 'list-resources',
      resource_type_id: 'repo',
      parent_resource_type_id: 'project',
      parent_resource_id: 'p1',
    });
  });

  it('reads an empty token as a sync about to start, and the newer Go form (actions_map + action_order)', () => {
    expect(parseCheckpoint('')).toEqual(initialCheckpoint());
    const goV1 = JSON.stringify({
      actions_map: {
        '0000000002': { id: '0000000002', operation: 'list-grants' },
        '0000000007': { id: '0000000007', operation: 'list-resources', resource_type_id: 'user', page_token: 'p2' },
      },
      action_order: ['0000000002', '0000000007'],
      current_action_id: 8,
      needs_expansion: true,
      version: 1,
    });
    expect(parseCheckpoint(goV1)).toEqual({
      actions: [{ op: 'list-grants' }, { op: 'list-resources', resourceTypeId: 'user', pageToken: 'p2' }],
      needsExpansion: true,
      resumeKey: '',
    });
  });

  it('refuses what it cannot resume, with a reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['{not json', /not JSON/],
      ['[]', /not an object/],
      [
        '{"current_action":{"operation":"list-static-entitlements"}}',
        /unsupported operation "list-static-entitlements"/,
      ],
      ['{"current_action":{"operation":"list-resources","page_token":7}}', /page_token is not a string/],
      ['{"baton_ts":{"version":2}}', /unsupported version/],
      ['{"action_order":["x"],"actions_map":{}}', /names no action/],
    ];
    for (const [token, why] of cases) {
      let caught: unknown;
      try {
        parseCheckpoint(token);
      } catch (err) {
        caught = err;
      }
      expect(caught, token).toBeInstanceOf(CheckpointError);
      expect((caught as Error).message, token).toMatch(why);
    }
  });
});

describe('the working file', () => {
  const resource = (id: string) => create(ResourceSchema, { id: { resourceType: 'user', resource: id } });

  it('commits rows and checkpoint together; an open transaction is rolled back, a finished sync stays finished', async () => {
    const path = join(dir, 'together.partial');
    const store = SyncStore.openWorkingFile(path);
    const syncId = store.startSync();
    await store.transaction(() => {
      store.putResources([resource('u1')]);
      store.checkpoint('{"current_action":{"operation":"list-resources","resource_type_id":"user","page_token":"1"}}');
    });
    await expect(
      store.transaction(() => {
        store.putResources([resource('u2')]);
        store.checkpoint(
          '{"current_action":{"operation":"list-resources","resource_type_id":"user","page_token":"2"}}',
        );
        throw new Error('the page failed');
      }),
    ).rejects.toThrow('the page failed');
    store.close();

    const again = SyncStore.openWorkingFile(path);
    try {
      const run = again.unfinishedSync()!;
      expect(run.syncId).toBe(syncId);
      expect(parseCheckpoint(run.syncToken).actions).toEqual([
        { op: 'list-resources', resourceTypeId: 'user', pageToken: '1' },
      ]);
      again.continueSync(syncId);
      expect([...again.resources()].map((r) => r.id?.resource)).toEqual(['u1']);
      again.endSync();
      expect(again.unfinishedSync()).toBeUndefined();
    } finally {
      again.discard();
    }
  });

  it('a writer killed with SIGKILL mid-transaction leaves the pages committed before and their checkpoint', async () => {
    const path = join(dir, 'killed.partial');
    const storeModule = fileURLToPath(new URL('../dist/c1z/index.js', import.meta.url));
    // Three pages, each with its checkpoint; the fourth page's transaction is open when the process kills itself.
    const script = `
      const { SyncStore } = await import(${JSON.stringify(storeModule)});
      const { create } = await import('@bufbuild/protobuf');
      const { ResourceSchema } = await import(${JSON.stringify(fileURLToPath(new URL('../dist/gen/c1/connector/v2/resource_pb.js', import.meta.url)))});
      const store = SyncStore.openWorkingFile(${JSON.stringify(path)});
      store.startSync();
      const page = (n) => Array.from({ length: 50 }, (_, i) => create(ResourceSchema, { id: { resourceType: 'user', resource: 'u' + (n * 50 + i) } }));
      for (let n = 0; n < 3; n++) {
        await store.transaction(() => { store.putResources(page(n)); store.checkpoint('{"current_action":{"operation":"list-resources","resource_type_id":"user","page_token":"' + (n + 1) + '"}}'); });
      }
      await store.transaction(async () => {
        store.putResources(page(3));
        store.checkpoint('{"current_action":{"operation":"list-resources","resource_type_id":"user","page_token":"4"}}');
        process.kill(process.pid, 'SIGKILL');
        await new Promise(() => {});
      });
    `;
    const exit = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) => resolve(signal));
    });
    expect(exit).toBe('SIGKILL');

    const store = SyncStore.openWorkingFile(path);
    try {
      const run = store.unfinishedSync()!;
      expect(run.endedAt).toBeNull();
      expect(parseCheckpoint(run.syncToken).actions).toEqual([
        { op: 'list-resources', resourceTypeId: 'user', pageToken: '3' },
      ]);
      store.continueSync(run.syncId);
      expect(store.counts().resources).toEqual({ user: 150 });
    } finally {
      store.discard();
    }
  });

  it('is refused while another process writes it', async () => {
    const path = join(dir, 'busy.partial');
    const storeModule = fileURLToPath(new URL('../dist/c1z/index.js', import.meta.url));
    const script = `
      const { SyncStore } = await import(${JSON.stringify(storeModule)});
      const store = SyncStore.openWorkingFile(${JSON.stringify(path)});
      process.stdout.write('open\\n');
      process.stdin.on('end', () => { store.close(); process.exit(0); });
      process.stdin.resume();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
      });
      expect(() => SyncStore.openWorkingFile(path)).toThrow(WorkingFileBusyError);
    } finally {
      child.stdin.end();
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // Once it is closed, the file opens.
    SyncStore.openWorkingFile(path).discard();
  });
});
