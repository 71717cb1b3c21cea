import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { create, fromJson } from '@bufbuild/protobuf';
import { anyPack, type Any } from '@bufbuild/protobuf/wkt';
import {
  ResourceIdSchema,
  ResourceSchema,
  ResourceTypeSchema,
  ResourceType_Trait,
  type Resource,
} from '../src/gen/c1/connector/v2/resource_pb.js';
import { EntitlementSchema, type Entitlement } from '../src/gen/c1/connector/v2/entitlement_pb.js';
import { GrantSchema } from '../src/gen/c1/connector/v2/grant_pb.js';
import {
  GroupTraitSchema,
  UserTraitSchema,
  UserTrait_StatusSchema,
  UserTrait_Status_Status,
} from '../src/gen/c1/connector/v2/annotation_trait_pb.js';
import { GrantExpandableSchema } from '../src/gen/c1/connector/v2/annotation_grant_pb.js';
import { SyncStore } from '../src/c1z/index.js';
import { protocolRegistry as c1Registry } from '../src/descriptors.js';
import { runInspect } from '../src/cli/inspect.js';
import { SHARED_VERSION } from '../src/version.js';
import { runProcess } from '../src/testing/bin-process.js';

let root: string;
let c1z: string;
let jsonl: string;
let firstSync: string;
let secondSync: string;

const rid = (resourceType: string, resource: string) => create(ResourceIdSchema, { resourceType, resource });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'inspect-test-'));
  const userType = create(ResourceTypeSchema, { id: 'user', displayName: 'User', traits: [ResourceType_Trait.USER] });
  const groupType = create(ResourceTypeSchema, {
    id: 'group',
    displayName: 'Group',
    traits: [ResourceType_Trait.GROUP],
  });
  const folderType = create(ResourceTypeSchema, { id: 'folder', displayName: 'Folder' });
  const user = (id: string, name: string): Resource =>
    create(ResourceSchema, {
      id: rid('user', id),
      displayName: name,
      annotations: [
        anyPack(
          UserTraitSchema,
          create(UserTraitSchema, {
            login: id,
            status: create(UserTrait_StatusSchema, { status: UserTrait_Status_Status.ENABLED }),
          }),
        ),
      ],
    });
  const group = (id: string, name: string): Resource =>
    create(ResourceSchema, {
      id: rid('group', id),
      displayName: name,
      annotations: [anyPack(GroupTraitSchema, create(GroupTraitSchema, {}))],
    });
  const alice = user('alice', 'Alice Anderson');
  const bob = user('bob', 'Bob');
  const eng = group('engineering', 'Engineering');
  const admins = group('admins', 'Admins');
  const folder = create(ResourceSchema, { id: rid('folder', 'f1'), parentResourceId: eng.id, displayName: 'Designs' });
  const member = (g: Resource): Entitlement =>
    create(EntitlementSchema, {
      resource: g,
      id: `group:${g.id!.resource}:member`,
      displayName: `${g.displayName} Member`,
      grantableTo: [userType, groupType],
      slug: 'member',
    });
  const engMember = member(eng);
  const adminsMember = member(admins);
  const grant = (e: Entitlement, p: Resource, annotations: Any[] = []) =>
    create(GrantSchema, {
      entitlement: e,
      principal: create(ResourceSchema, { id: p.id }),
      id: `${e.id}:${p.id!.resourceType}:${p.id!.resource}`,
      annotations,
    });

  const store = SyncStore.create({ tempDir: root });
  try {
    // An older sync that must not show up by default.
    firstSync = store.startSync();
    store.putResourceTypes([userType]);
    store.putResources([user('old', 'Old User')]);
    store.endSync();

    secondSync = store.startSync();
    store.putResourceTypes([userType, groupType, folderType]);
    store.putResources([alice, bob, eng, admins, folder]);
    store.putEntitlements([engMember, adminsMember]);
    store.putGrants([
      grant(engMember, alice),
      grant(engMember, bob),
      grant(engMember, admins, [
        anyPack(GrantExpandableSchema, create(GrantExpandableSchema, { entitlementIds: ['group:admins:member'] })),
      ]),
      grant(adminsMember, bob),
    ]);
    store.endSync();
    c1z = join(root, 'sync.c1z');
    await store.saveC1z(c1z);
    jsonl = join(root, 'sync.jsonl');
    await store.exportJsonl(jsonl);
  } finally {
    store.close();
  }
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

async function inspect(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const code = await runInspect(argv, { stdout, stderr });
  return { code, out, err };
}

/** Splits an aligned table into rows of cells, checking every column starts at the header's offset. */
function parseTable(out: string): string[][] {
  const lines = out.trimEnd().split('\n');
  const header = lines[0];
  const starts = [...header.matchAll(/(?:^|\s{2,})(\S)/g)].map((m) => m.index! + m[0].length - 1);
  return lines.map((line) =>
    starts.map((start, i) => {
      if (start > 0) expect(line[start - 1] === ' ' || line.length <= start).toBe(true);
      return line.slice(start, i + 1 < starts.length ? starts[i + 1] : undefined).trim();
    }),
  );
}

describe('inspect', () => {
  it('lists resources of the latest sync as an aligned table', async () => {
    const { code, out, err } = await inspect(c1z, 'resources');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(parseTable(out)).toEqual([
      ['TYPE', 'ID', 'DISPLAY NAME', 'PARENT'],
      ['user', 'alice', 'Alice Anderson', ''],
      ['user', 'bob', 'Bob', ''],
      ['group', 'engineering', 'Engineering', ''],
      ['group', 'admins', 'Admins', ''],
      ['folder', 'f1', 'Designs', 'group:engineering'],
    ]);
    expect(out.split('\n')[0]).toMatch(/^TYPE {4}ID {11}DISPLAY NAME {4}PARENT$/);
  });

  it('filters resources by type, id and parent', async () => {
    expect(
      parseTable((await inspect(c1z, 'resources', '--type', 'group')).out)
        .slice(1)
        .map((r) => r[1]),
    ).toEqual(['engineering', 'admins']);
    expect(parseTable((await inspect(c1z, 'resources', '--type', 'user', '--id', 'bob')).out).slice(1)).toEqual([
      ['user', 'bob', 'Bob', ''],
    ]);
    expect(
      parseTable((await inspect(c1z, 'resources', '--id', 'alice')).out)
        .slice(1)
        .map((r) => r[1]),
    ).toEqual(['alice']);
    expect(
      parseTable((await inspect(c1z, 'resources', '--parent', 'group:engineering')).out)
        .slice(1)
        .map((r) => r[1]),
    ).toEqual(['f1']);
    const none = await inspect(c1z, 'resources', '--type', 'nothing');
    expect(none.code).toBe(0);
    expect(none.out).toBe('TYPE  ID  DISPLAY NAME  PARENT\n');
  });

  it('lists resource types, entitlements and grants with filters', async () => {
    expect(parseTable((await inspect(c1z, 'resource-types')).out)).toEqual([
      ['ID', 'DISPLAY NAME', 'TRAITS'],
      ['user', 'User', 'user'],
      ['group', 'Group', 'group'],
      ['folder', 'Folder', ''],
    ]);
    expect(parseTable((await inspect(c1z, 'entitlements')).out)).toEqual([
      ['ID', 'DISPLAY NAME', 'RESOURCE', 'GRANTABLE TO'],
      ['group:engineering:member', 'Engineering Member', 'group:engineering', 'user,group'],
      ['group:admins:member', 'Admins Member', 'group:admins', 'user,group'],
    ]);
    expect(
      parseTable((await inspect(c1z, 'entitlements', '--resource', 'group:admins')).out)
        .slice(1)
        .map((r) => r[0]),
    ).toEqual(['group:admins:member']);
    expect(parseTable((await inspect(c1z, 'entitlements', '--id', 'group:engineering:member')).out)).toHaveLength(2);

    expect(parseTable((await inspect(c1z, 'grants')).out)).toEqual([
      ['ENTITLEMENT', 'PRINCIPAL', 'ID'],
      ['group:engineering:member', 'user:alice', 'group:engineering:member:user:alice'],
      ['group:engineering:member', 'user:bob', 'group:engineering:member:user:bob'],
      ['group:engineering:member', 'group:admins', 'group:engineering:member:group:admins'],
      ['group:admins:member', 'user:bob', 'group:admins:member:user:bob'],
    ]);
    const ids = async (...args: string[]) =>
      parseTable((await inspect(c1z, 'grants', ...args)).out)
        .slice(1)
        .map((r) => r[2]);
    expect(await ids('--entitlement', 'group:admins:member')).toEqual(['group:admins:member:user:bob']);
    expect(await ids('--principal', 'user:bob')).toEqual([
      'group:engineering:member:user:bob',
      'group:admins:member:user:bob',
    ]);
    expect(await ids('--principal', 'user:bob', '--entitlement', 'group:engineering:member')).toEqual([
      'group:engineering:member:user:bob',
    ]);
    expect(await ids('--resource', 'group:admins')).toEqual(['group:admins:member:user:bob']);
    expect(await ids('--type', 'group')).toHaveLength(4);
    expect(await ids('--id', 'group:engineering:member:user:alice')).toEqual(['group:engineering:member:user:alice']);
    expect(await ids('--id', 'group:engineering:member:user:alice', '--principal', 'user:bob')).toEqual([]);
  });

  it('prints JSON lines of protojson', async () => {
    const { code, out } = await inspect(c1z, 'grants', '--output', 'json', '--principal', 'group:admins');
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const obj = JSON.parse(lines[0]);
    expect(obj.id).toBe('group:engineering:member:group:admins');
    expect(obj.principal).toEqual({ id: { resourceType: 'group', resource: 'admins' } });
    expect(obj.annotations).toEqual([
      { '@type': 'type.googleapis.com/c1.connector.v2.GrantExpandable', entitlementIds: ['group:admins:member'] },
    ]);
    const grant = fromJson(GrantSchema, obj, { registry: c1Registry() });
    expect(grant.entitlement?.resource?.displayName).toBe('Engineering');

    const resources = (await inspect(c1z, 'resources', '-o', 'json')).out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(resources).toHaveLength(5);
    expect(resources[0].annotations[0]['@type']).toBe('type.googleapis.com/c1.connector.v2.UserTrait');
    expect(resources[0].annotations[0].status).toEqual({ status: 'STATUS_ENABLED' });
  });

  it('prints stats and syncs, and reads an explicit sync', async () => {
    expect(parseTable((await inspect(c1z)).out)).toEqual([
      ['KIND', 'TYPE', 'COUNT'],
      ['resource_types', '', '3'],
      ['resources', 'folder', '1'],
      ['resources', 'group', '2'],
      ['resources', 'user', '2'],
      ['entitlements', '', '2'],
      ['grants', '', '4'],
    ]);
    const json = JSON.parse((await inspect(c1z, 'stats', '--output', 'json')).out);
    expect(json).toEqual({
      syncId: secondSync,
      resourceTypes: 3,
      resources: { folder: 1, group: 2, user: 2 },
      entitlements: 2,
      grants: 4,
    });
    const syncs = parseTable((await inspect(c1z, 'syncs')).out);
    expect(syncs.map((r) => [r[0], r[1]])).toEqual([
      ['ID', 'TYPE'],
      [firstSync, 'full'],
      [secondSync, 'full'],
    ]);
    const old = await inspect(c1z, 'resources', '--sync-id', firstSync);
    expect(parseTable(old.out).slice(1)).toEqual([['user', 'old', 'Old User', '']]);
  });

  it('reads JSON lines exports the same way', async () => {
    expect((await inspect(jsonl, 'grants')).out).toBe((await inspect(c1z, 'grants')).out);
    expect((await inspect(jsonl, 'resources', '--type', 'group')).out).toBe(
      (await inspect(c1z, 'resources', '--type', 'group')).out,
    );
    const stats = JSON.parse((await inspect(jsonl, 'stats', '-o', 'json')).out);
    expect(stats.syncId).toBe(secondSync);
    expect(stats.grants).toBe(4);
    // Recognised by content too, whatever the extension.
    const renamed = join(root, 'export.txt');
    writeFileSync(
      renamed,
      (await inspect(c1z, 'resources', '-o', 'json')).out
        .split('\n')
        .filter(Boolean)
        .map((data) => JSON.stringify({ kind: 'resource', syncId: 'S1', data: JSON.parse(data) }))
        .join('\n'),
    );
    expect(parseTable((await inspect(renamed, 'resources')).out)).toHaveLength(6);
  });

  it('fails clearly on bad input', async () => {
    const missing = await inspect(join(root, 'nope.c1z'), 'resources');
    expect(missing.code).toBe(1);
    expect(missing.out).toBe('');
    expect(missing.err).toBe(`baton-inspect: ${join(root, 'nope.c1z')} does not exist\n`);

    // Usage mistakes: one line that points to --help, never the whole usage.
    const unknown = await inspect(c1z, 'users');
    expect(unknown.code).toBe(2);
    expect(unknown.out).toBe('');
    expect(unknown.err).toBe(
      'baton-inspect: unknown subcommand "users" (one of: resource-types, resources, entitlements, grants, stats, syncs) (see baton-inspect --help)\n',
    );
    expect((await inspect(c1z, 'grant')).err).toContain('unknown subcommand "grant" (did you mean grants?)');
    const bogus = await inspect(c1z, 'grants', '--bogus');
    expect(bogus.err).toBe('baton-inspect: unknown option --bogus (see baton-inspect --help)\n');
    expect((await inspect(c1z, 'grants', '--principle', 'user:bob')).err).toBe(
      'baton-inspect: unknown option --principle (did you mean --principal?) (see baton-inspect --help)\n',
    );
    expect((await inspect(c1z, 'grants', '--type')).err).toBe(
      'baton-inspect: --type needs a value (see baton-inspect --help)\n',
    );

    expect((await inspect()).err).toMatch(/missing the file to read/);
    expect((await inspect(c1z, 'resources', '--entitlement', 'x')).err).toMatch(
      /--entitlement does not apply to resources/,
    );
    expect((await inspect(c1z, 'grants', '--principal', 'bob')).err).toMatch(/--principal must look like/);
    expect((await inspect(c1z, 'grants', '--output', 'yaml')).code).toBe(2);
    expect((await inspect(c1z, 'grants', '--bogus')).code).toBe(2);

    const badSync = await inspect(c1z, 'grants', '--sync-id', 'nope');
    expect(badSync.code).toBe(1);
    expect(badSync.err).toMatch(/sync nope not found/);

    const garbage = join(root, 'garbage.bin');
    writeFileSync(garbage, Buffer.from([0, 1, 2, 3, 4, 5]));
    expect((await inspect(garbage)).err).toMatch(/neither a c1z file nor JSON lines/);
    const corrupt = join(root, 'corrupt.c1z');
    writeFileSync(corrupt, Buffer.from('C1ZF\0xxxxxxxx', 'latin1'));
    expect((await inspect(corrupt)).err).toMatch(/corrupt zstd data/);
    const badJson = join(root, 'bad.jsonl');
    writeFileSync(badJson, '{"kind":"resource","syncId":"s","data":{"id":{"resourceType":1}}}\n');
    const bad = await inspect(badJson);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad\.jsonl:1: invalid resource/);

    const help = await inspect('--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: baton-inspect/);
  });

  it('refuses a directory, an empty file and a file without a sync, whatever the extension', async () => {
    const dirErr = await inspect(root);
    expect(dirErr).toMatchObject({ code: 1, out: '' });
    expect(dirErr.err).toBe(`baton-inspect: ${root} is a directory, not a sync file (.c1z or .jsonl)\n`);
    for (const name of ['empty.jsonl', 'empty.c1z', 'empty.json']) {
      const empty = join(root, name);
      writeFileSync(empty, '');
      const r = await inspect(empty);
      expect(r).toMatchObject({ code: 1, out: '' });
      expect(r.err).toBe(`baton-inspect: ${empty} is empty, not a sync file\n`);
    }
    const blank = join(root, 'blank.jsonl');
    writeFileSync(blank, '\n\n');
    expect((await inspect(blank)).err).toBe(`baton-inspect: ${blank} holds no sync: it has no records\n`);
  });
});

describe('baton-inspect, the bundled bin', () => {
  const bin = fileURLToPath(new URL('../bin/baton-inspect.mjs', import.meta.url));
  const run = async (...argv: string[]) => {
    const r = await runProcess(process.execPath, [bin, ...argv]);
    return { code: r.code, out: r.stdout, err: r.stderr };
  };

  it('a usage error is one line pointing to --help; an unknown option is named with its close matches', async () => {
    const usage = await run(c1z, 'grants', 'extra');
    expect(usage).toEqual({
      code: 2,
      out: '',
      err: 'baton-inspect: unexpected argument 3 after the subcommand (see baton-inspect --help)\n',
    });
    const bogus = await run(c1z, '--bogus');
    expect(bogus).toEqual({
      code: 2,
      out: '',
      err: 'baton-inspect: unknown option --bogus (see baton-inspect --help)\n',
    });
    const typo = await run(c1z, 'grants', '--entitlment', 'x');
    expect(typo.err).toBe(
      'baton-inspect: unknown option --entitlment (did you mean --entitlement?) (see baton-inspect --help)\n',
    );
  });

  it('an empty .jsonl and an empty .c1z are both errors; a directory is named as one', async () => {
    for (const name of ['bin-empty.jsonl', 'bin-empty.c1z']) {
      const file = join(root, name);
      writeFileSync(file, '');
      expect(await run(file)).toEqual({ code: 1, out: '', err: `baton-inspect: ${file} is empty, not a sync file\n` });
    }
    expect(await run(root)).toEqual({
      code: 1,
      out: '',
      err: `baton-inspect: ${root} is a directory, not a sync file (.c1z or .jsonl)\n`,
    });
  });

  it('--version, -v and --help', async () => {
    expect(await run('--version')).toEqual({ code: 0, out: `baton-inspect ${SHARED_VERSION}\n`, err: '' });
    expect((await run('-v')).out).toBe(`baton-inspect ${SHARED_VERSION}\n`);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SHARED_VERSION).toBe(pkg.version);
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: baton-inspect <file\.c1z\|file\.jsonl>/);
  });
});
