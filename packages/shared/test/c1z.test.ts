import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { create, equals, fromBinary, toBinary, type JsonObject } from '@bufbuild/protobuf';
import { anyPack, anyUnpack, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  ResourceIdSchema,
  ResourceSchema,
  ResourceTypeSchema,
  ResourceType_Trait,
  type Resource,
} from '../src/gen/c1/connector/v2/resource_pb.js';
import {
  EntitlementSchema,
  Entitlement_PurposeValue,
  type Entitlement,
} from '../src/gen/c1/connector/v2/entitlement_pb.js';
import {
  GrantSchema,
  GrantSourcesSchema,
  GrantSources_GrantSourceSchema,
  type Grant,
} from '../src/gen/c1/connector/v2/grant_pb.js';
import {
  GroupTraitSchema,
  UserTraitSchema,
  UserTrait_AccountType,
  UserTrait_EmailSchema,
  UserTrait_StatusSchema,
  UserTrait_Status_Status,
} from '../src/gen/c1/connector/v2/annotation_trait_pb.js';
import { GrantExpandableSchema } from '../src/gen/c1/connector/v2/annotation_grant_pb.js';
import { ChildResourceTypeSchema } from '../src/gen/c1/connector/v2/annotation_resource_tree_pb.js';
import {
  C1zFormatError,
  SyncStore,
  formatGoTime,
  importJsonl,
  isKsuid,
  newKsuid,
  parseGoTime,
  parseKsuid,
  toDeterministicBinary,
} from '../src/c1z/index.js';

// ---- helpers ----------------------------------------------------------------------------------------------

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'c1z-test-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function dir(name: string): string {
  const d = join(root, name);
  execFileSync('mkdir', ['-p', d]);
  return d;
}

function sh(cmd: string): string {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** Runs a query with the sqlite3 CLI and returns rows as objects. */
function sql<T = Record<string, unknown>>(db: string, query: string): T[] {
  const out = execFileSync('sqlite3', ['-json', db, query], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out.trim() === '' ? [] : (JSON.parse(out) as T[]);
}

/** Independent decompression: strip the 5-byte magic with tail, decode with the zstd CLI. */
function unpackWithCli(c1z: string, db: string): void {
  sh(`tail -c +6 '${c1z}' | zstd -q -d -o '${db}'`);
}

const rid = (resourceType: string, resource: string) => create(ResourceIdSchema, { resourceType, resource });

function fixture() {
  const userType = create(ResourceTypeSchema, {
    id: 'user',
    displayName: 'User',
    traits: [ResourceType_Trait.USER],
    description: 'People',
  });
  const groupType = create(ResourceTypeSchema, {
    id: 'group',
    displayName: 'Group',
    traits: [ResourceType_Trait.GROUP],
  });
  const projectType = create(ResourceTypeSchema, { id: 'project', displayName: 'Project' });

  const user = (id: string, name: string, profile: JsonObject): Resource =>
    create(ResourceSchema, {
      id: rid('user', id),
      displayName: name,
      annotations: [
        anyPack(
          UserTraitSchema,
          create(UserTraitSchema, {
            emails: [create(UserTrait_EmailSchema, { address: `${id}@example.com`, isPrimary: true })],
            status: create(UserTrait_StatusSchema, { status: UserTrait_Status_Status.ENABLED }),
            accountType: UserTrait_AccountType.HUMAN,
            login: id,
            profile,
          }),
        ),
      ],
      // Keys deliberately not in sorted order: the stored blob must sort them.
      profile: { zeta: 'last', alpha: 1, '10': 'ten', '2': 'two', nested: { b: true, a: [1, 'x'] } },
      createdAt: timestampFromDate(new Date('2024-03-04T05:06:07.890Z')),
    });
  const alice = user('alice', 'Alice Example', { department: 'eng', title: 'Engineer' });
  const bob = user('bob', 'Bob Example', { department: 'ops' });
  const eng = create(ResourceSchema, {
    id: rid('group', 'eng'),
    displayName: 'Engineering',
    description: 'All engineers',
    annotations: [
      anyPack(GroupTraitSchema, create(GroupTraitSchema, { profile: { size: 2 } })),
      anyPack(ChildResourceTypeSchema, create(ChildResourceTypeSchema, { resourceTypeId: 'project' })),
    ],
  });
  const admins = create(ResourceSchema, {
    id: rid('group', 'admins'),
    displayName: 'Admins',
    annotations: [anyPack(GroupTraitSchema, create(GroupTraitSchema, {}))],
  });
  const project = create(ResourceSchema, {
    id: rid('project', 'p1'),
    parentResourceId: rid('group', 'eng'),
    displayName: 'Project One',
  });
  const member = (group: Resource): Entitlement =>
    create(EntitlementSchema, {
      resource: group,
      id: `group:${group.id!.resource}:member`,
      displayName: `${group.displayName} Member`,
      description: `Member of ${group.displayName}`,
      grantableTo: [userType, groupType],
      purpose: Entitlement_PurposeValue.ASSIGNMENT,
      slug: 'member',
    });
  const engMember = member(eng);
  const adminsMember = member(admins);
  const grant = (
    ent: Entitlement,
    principal: Resource,
    extra: { annotations?: Grant['annotations']; sources?: Grant['sources'] } = {},
  ): Grant =>
    create(GrantSchema, {
      entitlement: ent,
      // Principals are often only an id, as connectors send them.
      principal: create(ResourceSchema, { id: principal.id }),
      id: `${ent.id}:${principal.id!.resourceType}:${principal.id!.resource}`,
      ...extra,
    });
  const g1 = grant(engMember, alice);
  const g2 = grant(engMember, bob, {
    sources: create(GrantSourcesSchema, {
      sources: {
        'group:eng:member': create(GrantSources_GrantSourceSchema, {}),
        'group:admins:member': create(GrantSources_GrantSourceSchema, { isDirect: true }),
      },
    }),
  });
  // "admins holds eng member" + GrantExpandable: every admins member also gets eng member.
  const g3 = grant(engMember, admins, {
    annotations: [
      anyPack(
        GrantExpandableSchema,
        create(GrantExpandableSchema, { entitlementIds: ['group:admins:member'], shallow: true }),
      ),
    ],
  });
  const g4 = grant(adminsMember, bob);
  return {
    resourceTypes: [userType, groupType, projectType],
    resources: [alice, bob, eng, admins, project],
    entitlements: [engMember, adminsMember],
    grants: [g1, g2, g3, g4],
  };
}

type Fixture = ReturnType<typeof fixture>;

function writeFixture(store: SyncStore, f: Fixture): string {
  const syncId = store.startSync();
  store.putResourceTypes(f.resourceTypes);
  store.putResources(f.resources);
  store.putEntitlements(f.entitlements);
  store.putGrants(f.grants);
  store.endSync();
  return syncId;
}

function expectSameList<T extends { $typeName: string }>(schema: Parameters<typeof equals>[0], a: T[], b: T[]) {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    if (!equals(schema, x as never, b[i] as never)) {
      expect(toBinary(schema, x as never)).toEqual(toBinary(schema, b[i] as never));
    }
  });
}

// ---- unit pieces --------------------------------------------------------------------------------------------

describe('ksuid', () => {
  it('makes 27-char base62 ids with a decodable timestamp, sortable by time', () => {
    const now = new Date('2025-06-01T12:00:00Z');
    const id = newKsuid(now);
    expect(id).toMatch(/^[0-9A-Za-z]{27}$/);
    expect(parseKsuid(id).time.toISOString()).toBe('2025-06-01T12:00:00.000Z');
    expect(isKsuid(id)).toBe(true);
    const zeros = newKsuid(new Date(1_400_000_000_000), new Uint8Array(16));
    expect(zeros).toBe('000000000000000000000000000');
    const max = newKsuid(new Date((1_400_000_000 + 0xffffffff) * 1000), new Uint8Array(16).fill(255));
    expect(max).toBe('aWgEPTl1tmebfsQzFP4bxwgy80V'); // segmentio/ksuid's documented maximum
    const later = newKsuid(new Date('2025-06-01T12:00:01Z'), new Uint8Array(16));
    const earlier = newKsuid(now, new Uint8Array(16).fill(255));
    expect(earlier < later).toBe(true);
    expect(isKsuid('abc')).toBe(false);
  });
});

describe('Go time layout', () => {
  it('formats UTC with trailing zeros dropped and no zone', () => {
    expect(formatGoTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 120)))).toBe('2024-01-02 03:04:05.12');
    expect(formatGoTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 0)))).toBe('2024-01-02 03:04:05');
    expect(formatGoTime(1_704_164_645_000_001n)).toBe('2024-01-02 03:04:05.000001');
    expect(formatGoTime()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d*[1-9])?$/);
    expect(parseGoTime('2024-01-02 03:04:05.123456789')?.toISOString()).toBe('2024-01-02T03:04:05.123Z');
    expect(parseGoTime('2024-01-02T03:04:05Z')?.toISOString()).toBe('2024-01-02T03:04:05.000Z');
  });
});

describe('deterministic binary', () => {
  /** The keys of every map entry (field 1 of each length-delimited entry) under `path`, in wire order. */
  function wireKeys(bytes: Uint8Array, path: number[]): string[] {
    const reader = new BinaryReader(bytes);
    const [head, ...rest] = path;
    const keys: string[] = [];
    while (reader.pos < reader.len) {
      const [field, wire] = reader.tag();
      if (field !== head || wire !== WireType.LengthDelimited) {
        reader.skip(wire, field);
        continue;
      }
      const inner = reader.bytes();
      if (rest.length > 0) {
        keys.push(...wireKeys(inner, rest));
        continue;
      }
      const entry = new BinaryReader(inner);
      const [keyField] = entry.tag();
      expect(keyField).toBe(1);
      keys.push(entry.string());
    }
    return keys;
  }
  // Resource.profile = 9 (a Struct), Struct.fields = 1, an entry's value = 2, Value.struct_value = 5.
  const PROFILE = [9, 1];

  it('equals toBinary for messages without maps', () => {
    const f = fixture();
    const g = f.grants[0];
    const noProfile = create(GrantSchema, {
      ...g,
      entitlement: create(EntitlementSchema, { ...g.entitlement!, resource: f.resources[2] }),
    });
    expect(Buffer.from(toDeterministicBinary(GrantSchema, noProfile))).toEqual(
      Buffer.from(toBinary(GrantSchema, noProfile)),
    );
    expect(Buffer.from(toDeterministicBinary(ResourceTypeSchema, f.resourceTypes[0]))).toEqual(
      Buffer.from(toBinary(ResourceTypeSchema, f.resourceTypes[0])),
    );
  });

  it('writes Struct keys in Go order (UTF-8 bytes) at every depth, whatever the insertion order', () => {
    // U+1F600 is a surrogate pair in UTF-16 (below U+FFFD there) but sorts after U+FFFD in UTF-8, as in Go.
    const keys = ['b', 'a', 'Z', '_x', 'é', '\u{1F600}', '\uFFFD', 'a1', 'A'];
    const nested = Object.fromEntries([...keys].reverse().map((k, i) => [k, i]));
    const profileA: JsonObject = Object.fromEntries(keys.map((k, i) => [k, i]));
    profileA.nested = nested;
    profileA.list = [nested, 1, 'x'];
    const profileB: JsonObject = Object.fromEntries([...Object.entries(profileA)].reverse().map(([k, v]) => [k, v]));
    const a = create(ResourceSchema, { id: rid('user', 'x'), profile: profileA });
    const b = create(ResourceSchema, { id: rid('user', 'x'), profile: profileB });
    const bytesA = toDeterministicBinary(ResourceSchema, a);
    expect(Buffer.from(bytesA)).toEqual(Buffer.from(toDeterministicBinary(ResourceSchema, b)));

    const goOrder = (list: string[]) => [...list].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const topKeys = wireKeys(bytesA, PROFILE);
    expect(topKeys).toEqual(goOrder([...keys, 'nested', 'list']));
    // The nested object (profile.fields["nested"].struct_value) decodes in wire order, so its keys show the order.
    const nestedValue = fromBinary(ResourceSchema, bytesA).profile!.nested as JsonObject;
    expect(Object.keys(nestedValue)).toEqual(goOrder(keys));
    expect(equals(ResourceSchema, fromBinary(ResourceSchema, bytesA), a)).toBe(true);
    // The caller's message is left as it was built.
    expect(Object.keys(a.profile!)).toEqual([...keys, 'nested', 'list']);
  });

  it('keys that are array indices come first, in numeric order (a JavaScript object cannot hold them otherwise)', () => {
    const r = create(ResourceSchema, { id: rid('user', 'x'), profile: { b: 1, '10': 2, a: 3, '9': 4 } });
    // Go would write "10", "9", "a", "b"; the bytes are still a function of the content alone.
    expect(wireKeys(toDeterministicBinary(ResourceSchema, r), PROFILE)).toEqual(['9', '10', 'a', 'b']);
  });

  it('sorts map fields (Grant.sources) and leaves sorted input untouched', () => {
    const source = create(GrantSources_GrantSourceSchema);
    const grant = (keys: string[]) =>
      create(GrantSchema, {
        id: 'g',
        sources: create(GrantSourcesSchema, { sources: Object.fromEntries(keys.map((k) => [k, source])) }),
      });
    const shuffled = grant(['z:1', 'a:1', 'group:b:member']);
    const bytes = toDeterministicBinary(GrantSchema, shuffled);
    // Grant.sources = 5, GrantSources.sources = 1.
    expect(wireKeys(bytes, [5, 1])).toEqual(['a:1', 'group:b:member', 'z:1']);
    expect(Buffer.from(bytes)).toEqual(Buffer.from(toBinary(GrantSchema, grant(['a:1', 'group:b:member', 'z:1']))));
    expect(Object.keys(shuffled.sources!.sources)).toEqual(['z:1', 'a:1', 'group:b:member']);
  });

  it('encodes every row of a sync like toBinary up to map order', () => {
    const f = fixture();
    for (const g of f.grants) {
      const bytes = toDeterministicBinary(GrantSchema, g);
      expect(Buffer.isBuffer(bytes)).toBe(true);
      expect(equals(GrantSchema, fromBinary(GrantSchema, bytes), g)).toBe(true);
      expect(bytes.length).toBe(toBinary(GrantSchema, g).length);
    }
  });
});

// ---- the c1z file -------------------------------------------------------------------------------------------

describe('SyncStore c1z files', () => {
  let f: Fixture;
  let c1z: string;
  let db: string;
  let syncId: string;

  beforeAll(async () => {
    f = fixture();
    const d = dir('basic');
    const store = SyncStore.create({ tempDir: d });
    syncId = writeFixture(store, f);
    c1z = join(d, 'sync.c1z');
    await store.saveC1z(c1z);
    store.close();
    expect(readdirSync(d)).toEqual(['sync.c1z']); // temp dir and temp output are gone
    db = join(d, 'unpacked.db');
    unpackWithCli(c1z, db);
  });

  it('starts with the C1ZF magic and one zstd stream with checksum and a small window', () => {
    const bytes = readFileSync(c1z);
    expect(bytes.subarray(0, 5)).toEqual(Buffer.from('C1ZF\0', 'latin1'));
    expect(bytes.subarray(5, 9)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    const fhd = bytes[9];
    expect(fhd & 0x04).toBe(0x04); // Content_Checksum_flag
    if ((fhd & 0x20) === 0) {
      const wd = bytes[10];
      const windowLog = 10 + (wd >> 3);
      const windowSize = 2 ** windowLog + (2 ** windowLog / 8) * (wd & 7);
      expect(windowSize).toBeLessThanOrEqual(128 * 1024 * 1024);
    }
    expect(sh(`tail -c +6 '${c1z}' | zstd -t 2>&1; echo rc=$?`)).toContain('rc=0');
    expect(readFileSync(db).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
  });

  it('has the tables in v0.7.27 order with the exact columns and index names', () => {
    const tables = sql<{ name: string }>(db, "select name from sqlite_master where type = 'table' order by rowid");
    expect(tables.map((t) => t.name)).toEqual([
      'v1_resource_types',
      'v1_resources',
      'v1_entitlements',
      'v1_sync_runs',
      'v1_grants',
      'v1_assets',
      'v1_connector_sessions',
    ]);
    const cols = (t: string) =>
      sql<{ name: string; type: string; notnull: number; dflt_value: string | null }>(db, `pragma table_info(${t})`);
    expect(cols('v1_resources').map((c) => c.name)).toEqual([
      'id',
      'resource_type_id',
      'external_id',
      'parent_resource_type_id',
      'parent_resource_id',
      'data',
      'sync_id',
      'discovered_at',
    ]);
    expect(cols('v1_grants').map((c) => c.name)).toEqual([
      'id',
      'resource_type_id',
      'resource_id',
      'entitlement_id',
      'principal_resource_type_id',
      'principal_resource_id',
      'external_id',
      'data',
      'sync_id',
      'discovered_at',
      'expansion',
      'needs_expansion',
    ]);
    const runs = Object.fromEntries(cols('v1_sync_runs').map((c) => [c.name, c]));
    expect(Object.keys(runs)).toEqual([
      'id',
      'sync_id',
      'started_at',
      'ended_at',
      'sync_token',
      'sync_type',
      'parent_sync_id',
      'linked_sync_id',
      'supports_diff',
    ]);
    expect(runs.sync_type.dflt_value).toBe("'full'");
    expect(runs.parent_sync_id.dflt_value).toBe("''");
    expect(runs.linked_sync_id.dflt_value).toBe("''");
    expect(runs.supports_diff.dflt_value).toBe('0');
    expect(runs.ended_at.notnull).toBe(0);
    expect(cols('v1_connector_sessions').map((c) => c.name)).toEqual(['id', 'sync_id', 'key', 'value']);
    expect(
      cols('v1_resource_types')
        .find((c) => c.name === 'data')
        ?.type.toLowerCase(),
    ).toBe('blob');
    expect(
      cols('v1_resource_types')
        .find((c) => c.name === 'discovered_at')
        ?.type.toLowerCase(),
    ).toBe('datetime');

    const indexes = sql<{ name: string; tbl_name: string }>(
      db,
      "select name, tbl_name from sqlite_master where type = 'index' and name not like 'sqlite_%' order by name",
    );
    const byTable = (t: string) =>
      indexes
        .filter((i) => i.tbl_name === t)
        .map((i) => i.name)
        .sort();
    expect(byTable('v1_grants')).toEqual([
      'idx_grants_entitlement_id_principal_id_v1',
      'idx_grants_external_sync_v1',
      'idx_grants_principal_id_v1',
      'idx_grants_resource_type_id_resource_id_v1',
      'idx_grants_sync_expansion_v1',
      'idx_grants_sync_needs_expansion_v1',
    ]);
    expect(byTable('v1_resource_types')).toEqual(['idx_resource_types_external_sync_v1']);
    expect(byTable('v1_resources')).toEqual([
      'idx_resources_external_sync_v1',
      'idx_resources_parent_resource_id_v1',
      'idx_resources_resource_type_id_v1',
    ]);
    expect(byTable('v1_entitlements')).toEqual([
      'idx_entitlements_external_sync_v1',
      'idx_entitlements_resource_id_v1',
    ]);
    expect(byTable('v1_sync_runs')).toEqual(['idx_sync_runs_sync_id_v1']);
    expect(byTable('v1_assets')).toEqual(['idx_assets_external_sync_v1']);
    expect(byTable('v1_connector_sessions')).toEqual(['idx_session_store_sync_key_v1']);
    // Journal mode left as a rollback mode (no WAL flag in the header) and the file passes an integrity check.
    expect(readFileSync(db)[18]).toBe(1);
    expect(sh(`sqlite3 '${db}' 'pragma integrity_check'`).trim()).toBe('ok');
  });

  it('records one finished full sync', () => {
    const runs = sql(db, 'select * from v1_sync_runs');
    expect(runs).toHaveLength(1);
    const run = runs[0];
    expect(run.sync_id).toBe(syncId);
    expect(String(run.sync_id)).toMatch(/^[0-9A-Za-z]{27}$/);
    expect(run.sync_type).toBe('full');
    expect(run.sync_token).toBe('');
    expect(run.parent_sync_id).toBe('');
    expect(run.linked_sync_id).toBe('');
    expect(run.supports_diff).toBe(0);
    const layout = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{0,8}[1-9])?$/;
    expect(run.started_at).toMatch(layout);
    expect(run.ended_at).toMatch(layout);
    expect(String(run.ended_at) >= String(run.started_at)).toBe(true);
    expect(Math.abs(parseGoTime(String(run.ended_at))!.getTime() - Date.now())).toBeLessThan(120_000);
  });

  it('has the row counts, external ids and denormalised columns of docs/protocol.md (Rows and encoding)', () => {
    const count = (t: string) =>
      sql<{ n: number }>(db, `select count(*) as n from ${t} where sync_id = '${syncId}'`)[0].n;
    expect(count('v1_resource_types')).toBe(3);
    expect(count('v1_resources')).toBe(5);
    expect(count('v1_entitlements')).toBe(2);
    expect(count('v1_grants')).toBe(4);
    expect(sql(db, 'select count(*) as n from v1_assets')[0].n).toBe(0);

    expect(sql(db, 'select external_id from v1_resource_types order by id').map((r) => r.external_id)).toEqual([
      'user',
      'group',
      'project',
    ]);
    expect(
      sql(
        db,
        'select resource_type_id, external_id, parent_resource_type_id, parent_resource_id from v1_resources order by id',
      ),
    ).toEqual([
      { resource_type_id: 'user', external_id: 'user:alice', parent_resource_type_id: null, parent_resource_id: null },
      { resource_type_id: 'user', external_id: 'user:bob', parent_resource_type_id: null, parent_resource_id: null },
      { resource_type_id: 'group', external_id: 'group:eng', parent_resource_type_id: null, parent_resource_id: null },
      {
        resource_type_id: 'group',
        external_id: 'group:admins',
        parent_resource_type_id: null,
        parent_resource_id: null,
      },
      {
        resource_type_id: 'project',
        external_id: 'project:p1',
        parent_resource_type_id: 'group',
        parent_resource_id: 'eng',
      },
    ]);
    expect(sql(db, 'select resource_type_id, resource_id, external_id from v1_entitlements order by id')).toEqual([
      { resource_type_id: 'group', resource_id: 'eng', external_id: 'group:eng:member' },
      { resource_type_id: 'group', resource_id: 'admins', external_id: 'group:admins:member' },
    ]);
    expect(
      sql(
        db,
        `select resource_type_id, resource_id, entitlement_id, principal_resource_type_id, principal_resource_id,
                external_id, expansion, needs_expansion from v1_grants order by id`,
      ),
    ).toEqual(
      [
        ['group', 'eng', 'group:eng:member', 'user', 'alice'],
        ['group', 'eng', 'group:eng:member', 'user', 'bob'],
        ['group', 'eng', 'group:eng:member', 'group', 'admins'],
        ['group', 'admins', 'group:admins:member', 'user', 'bob'],
      ].map(([rt, r, e, pt, p]) => ({
        resource_type_id: rt,
        resource_id: r,
        entitlement_id: e,
        principal_resource_type_id: pt,
        principal_resource_id: p,
        external_id: `${e}:${pt}:${p}`,
        expansion: null,
        needs_expansion: 0,
      })),
    );
    const stamps = sql<{ t: string }>(
      db,
      'select discovered_at as t from v1_resources union all select discovered_at from v1_grants',
    );
    for (const { t } of stamps) expect(t).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{0,8}[1-9])?$/);
  });

  it('stores deterministic proto blobs that decode to the original messages', () => {
    const blob = (table: string, externalId: string) =>
      Buffer.from(
        sql<{ h: string }>(db, `select hex(data) as h from ${table} where external_id = '${externalId}'`)[0].h,
        'hex',
      );

    const g3 = fromBinary(GrantSchema, blob('v1_grants', 'group:eng:member:group:admins'));
    expect(equals(GrantSchema, g3, f.grants[2])).toBe(true);
    // supports_diff = 0: GrantExpandable stays inside the blob.
    const expandable = anyUnpack(g3.annotations[0], GrantExpandableSchema);
    expect(expandable?.entitlementIds).toEqual(['group:admins:member']);
    expect(expandable?.shallow).toBe(true);

    const g2Bytes = blob('v1_grants', 'group:eng:member:user:bob');
    expect(g2Bytes).toEqual(Buffer.from(toDeterministicBinary(GrantSchema, f.grants[1])));
    expect(Object.keys(fromBinary(GrantSchema, g2Bytes).sources!.sources)).toEqual([
      'group:admins:member',
      'group:eng:member',
    ]);

    const alice = fromBinary(ResourceSchema, blob('v1_resources', 'user:alice'));
    expect(equals(ResourceSchema, alice, f.resources[0])).toBe(true);
    expect(anyUnpack(alice.annotations[0], UserTraitSchema)?.login).toBe('alice');
    expect(
      equals(
        EntitlementSchema,
        fromBinary(EntitlementSchema, blob('v1_entitlements', 'group:eng:member')),
        f.entitlements[0],
      ),
    ).toBe(true);
    expect(
      equals(ResourceTypeSchema, fromBinary(ResourceTypeSchema, blob('v1_resource_types', 'user')), f.resourceTypes[0]),
    ).toBe(true);
  });

  it('re-opens with openC1z and reads everything back', async () => {
    const store = await SyncStore.openC1z(c1z, { tempDir: dir('reopen') });
    try {
      expect(store.selectedSyncId).toBe(syncId);
      expect(store.currentSyncId).toBeUndefined();
      expect(store.listSyncs()).toMatchObject([{ syncId, syncType: 'full', supportsDiff: false, syncToken: '' }]);
      expectSameList(ResourceTypeSchema, [...store.resourceTypes()], f.resourceTypes);
      expectSameList(ResourceSchema, [...store.resources()], f.resources);
      expectSameList(EntitlementSchema, [...store.entitlements()], f.entitlements);
      expectSameList(GrantSchema, [...store.grants()], f.grants);
      expect(store.counts()).toEqual({
        resourceTypes: 3,
        resources: { group: 2, project: 1, user: 2 },
        entitlements: 2,
        grants: 4,
      });

      expect(store.hasResource('user', 'alice')).toBe(true);
      expect(store.hasResource('group', 'alice')).toBe(false);
      expect(equals(ResourceSchema, store.getResource('project', 'p1')!, f.resources[4])).toBe(true);
      expect(store.getResource('user', 'nobody')).toBeUndefined();
      expect(store.getEntitlement('group:admins:member')?.displayName).toBe('Admins Member');
      expect(equals(GrantSchema, store.getGrant('group:eng:member:user:bob')!, f.grants[1])).toBe(true);
      expect(store.getGrant('nope')).toBeUndefined();
      expect(store.getResourceType('group')?.traits).toEqual([ResourceType_Trait.GROUP]);

      const ids = (list: Iterable<Resource>) => [...list].map((r) => `${r.id!.resourceType}:${r.id!.resource}`);
      expect(ids(store.resources({ resourceTypeId: 'user' }))).toEqual(['user:alice', 'user:bob']);
      expect(ids(store.resources({ parent: rid('group', 'eng') }))).toEqual(['project:p1']);
      expect([...store.entitlements({ resourceTypeId: 'group', resourceId: 'admins' })].map((e) => e.id)).toEqual([
        'group:admins:member',
      ]);
      const gids = (list: Iterable<Grant>) => [...list].map((g) => g.id);
      expect(gids(store.grants({ entitlementId: 'group:admins:member' }))).toEqual(['group:admins:member:user:bob']);
      expect(gids(store.grants({ principal: rid('user', 'bob') }))).toEqual([
        'group:eng:member:user:bob',
        'group:admins:member:user:bob',
      ]);
      expect(gids(store.grants({ resourceTypeId: 'group', resourceId: 'eng' }))).toHaveLength(3);

      // Go-reader paging: tokens are the next row id.
      const p1 = store.listGrants({}, { pageSize: 3 });
      expect(p1.list).toHaveLength(3);
      expect(p1.nextPageToken).toBe('4');
      const p2 = store.listGrants({}, { pageSize: 3, pageToken: p1.nextPageToken });
      expect(p2.list.map((g) => g.id)).toEqual(['group:admins:member:user:bob']);
      expect(p2.nextPageToken).toBe('');
      expect(() => store.listGrants({}, { pageToken: 'x' })).toThrow(/invalid page token/);
    } finally {
      store.close();
    }
    expect(readdirSync(dir('reopen'))).toEqual([]);
  });
});

describe('SyncStore behaviour', () => {
  it('upserts within a sync, keeps syncs apart and picks the sync as readers do (docs/protocol.md)', async () => {
    const f = fixture();
    const store = SyncStore.create({ tempDir: dir('select') });
    try {
      expect(store.selectedSyncId).toBeUndefined();
      expect([...store.resources()]).toEqual([]);
      expect(() => store.putResources(f.resources)).toThrow(/startSync/);

      const first = writeFixture(store, f);
      const second = store.startSync();
      expect(second).not.toBe(first);
      expect(store.currentSyncId).toBe(second);
      expect(() => store.startSync()).toThrow(/still in progress/);
      // The sync being written is what reads see.
      expect(store.selectedSyncId).toBe(second);
      expect(store.hasResource('user', 'alice')).toBe(false);
      const renamed = create(ResourceSchema, { ...f.resources[0], displayName: 'Alice v1' });
      store.putResources([renamed]);
      store.putResources([create(ResourceSchema, { ...f.resources[0], displayName: 'Alice v2' })]);
      expect(store.counts().resources).toEqual({ user: 1 });
      expect(store.getResource('user', 'alice')?.displayName).toBe('Alice v2');

      // Reading the previous sync while writing (like ETag replay).
      store.selectSync(first);
      expect(store.getResource('user', 'alice')?.displayName).toBe('Alice Example');
      store.selectSync();
      expect(store.selectedSyncId).toBe(second);
      expect(() => store.selectSync('nope')).toThrow(/not found/);

      store.checkpoint('{"actions":[]}');
      expect(store.listSyncs().find((s) => s.syncId === second)?.syncToken).toBe('{"actions":[]}');
      store.endSync();
      expect(store.currentSyncId).toBeUndefined();
      // Latest finished full sync wins.
      expect(store.selectedSyncId).toBe(second);
      expect(store.listSyncs().find((s) => s.syncId === second)?.syncToken).toBe('');

      // An unfinished sync does not hide the finished one once nothing is being written.
      const third = newKsuid();
      store.insertSyncRun({ syncId: third });
      expect(store.selectedSyncId).toBe(second);
      // A finished non-full sync is not chosen.
      store.insertSyncRun({
        syncId: newKsuid(),
        endedAt: formatGoTime(new Date(Date.now() + 60_000)),
        syncType: 'partial',
      });
      expect(store.selectedSyncId).toBe(second);

      // Iterating while writing does not trip over an open statement.
      const fresh = store.startSync();
      store.putResourceTypes(f.resourceTypes);
      for (const rt of store.resourceTypes()) {
        store.putResources([create(ResourceSchema, { id: rid(rt.id, 'x'), displayName: rt.id })]);
      }
      expect(store.counts().resources).toEqual({ group: 1, project: 1, user: 1 });
      store.endSync();
      expect(store.selectedSyncId).toBe(fresh);

      // A file with only unfinished syncs: the latest unfinished one is read.
      const only = SyncStore.create({ tempDir: dir('select') });
      try {
        const a = only.startSync();
        only.putResourceTypes([f.resourceTypes[0]]);
        const saved = join(dir('select'), 'unfinished.c1z');
        await only.saveC1z(saved);
        // The store stays usable after saving.
        only.putResourceTypes([f.resourceTypes[1]]);
        expect(only.counts().resourceTypes).toBe(2);
        const reopened = await SyncStore.openC1z(saved);
        try {
          expect(reopened.selectedSyncId).toBe(a);
          expect(reopened.counts().resourceTypes).toBe(1);
        } finally {
          reopened.close();
        }
      } finally {
        only.close();
      }
    } finally {
      store.close();
    }
  });

  it('rejects messages without ids before writing anything', () => {
    const store = SyncStore.create({ tempDir: dir('invalid') });
    try {
      store.startSync();
      const good = create(ResourceSchema, { id: rid('user', 'ok') });
      expect(() => store.putResources([good, create(ResourceSchema, {})])).toThrow(/no id/);
      expect(store.hasResource('user', 'ok')).toBe(false);
      expect(() => store.putGrants([create(GrantSchema, {})])).toThrow(/empty id/);
      expect(() => store.putEntitlements([create(EntitlementSchema, {})])).toThrow(/empty id/);
      expect(() => store.putResourceTypes([create(ResourceTypeSchema, {})])).toThrow(/empty id/);
    } finally {
      store.close();
    }
  });
});

describe('reading files written elsewhere', () => {
  /** Builds a database with the sqlite3 CLI using v0.2.45's exact DDL (incl. its colliding grants index name). */
  function goStyleDb(path: string, extra = ''): void {
    const f = fixture();
    const hex = (b: Uint8Array) => `X'${Buffer.from(b).toString('hex')}'`;
    const g = f.grants[2];
    const ddl = `
      create table if not exists v1_resource_types (id integer primary key, external_id text not null, data blob not null, sync_id text not null, discovered_at datetime not null);
      create unique index if not exists idx_resource_types_external_sync_v1 on v1_resource_types (external_id, sync_id);
      create table if not exists v1_resources (id integer primary key, resource_type_id text not null, external_id text not null, parent_resource_type_id text, parent_resource_id text, data blob not null, sync_id text not null, discovered_at datetime not null);
      create unique index if not exists idx_resources_external_sync_v1 on v1_resources (external_id, sync_id);
      create table if not exists v1_entitlements (id integer primary key, resource_type_id text not null, resource_id text not null, external_id text not null, data blob not null, sync_id text not null, discovered_at datetime not null);
      create table if not exists v1_grants (id integer primary key, resource_type_id text not null, resource_id text not null, entitlement_id text not null, principal_resource_type_id text not null, principal_resource_id text not null, external_id text not null, data blob not null, sync_id text not null, discovered_at datetime not null);
      create index if not exists idx_resource_types_external_sync_v1 on v1_grants (resource_type_id, resource_id);
      create table if not exists v1_sync_runs (id integer primary key, sync_id text not null, started_at datetime not null, ended_at datetime, sync_token text not null);
      create unique index if not exists idx_sync_runs_sync_id_v1 on v1_sync_runs (sync_id);
      insert into v1_sync_runs (sync_id, started_at, ended_at, sync_token) values ('2old', '2024-11-07 10:00:00', '2024-11-07 10:00:01.5', '');
      insert into v1_sync_runs (sync_id, started_at, ended_at, sync_token) values ('2new', '2024-11-07 11:00:00', '2024-11-07 11:00:00.25', '');
      insert into v1_resource_types (external_id, data, sync_id, discovered_at) values ('user', ${hex(toBinary(ResourceTypeSchema, f.resourceTypes[0]))}, '2new', '2024-11-07 11:00:00.1');
      insert into v1_resources (resource_type_id, external_id, data, sync_id, discovered_at) values ('user', 'user:alice', ${hex(toBinary(ResourceSchema, f.resources[0]))}, '2new', '2024-11-07 11:00:00.1');
      insert into v1_resources (resource_type_id, external_id, data, sync_id, discovered_at) values ('user', 'user:old', ${hex(toBinary(ResourceSchema, create(ResourceSchema, { id: rid('user', 'old') })))}, '2old', '2024-11-07 10:00:00.1');
      insert into v1_grants (resource_type_id, resource_id, entitlement_id, principal_resource_type_id, principal_resource_id, external_id, data, sync_id, discovered_at)
        values ('group', 'eng', 'group:eng:member', 'group', 'admins', '${g.id}', ${hex(toBinary(GrantSchema, g))}, '2new', '2024-11-07 11:00:00.1');
      ${extra}`;
    execFileSync('sqlite3', [path], { input: ddl });
  }

  it('opens a v0.2.45-layout file compressed as several concatenated zstd frames', async () => {
    const d = dir('go-legacy');
    const db = join(d, 'db');
    goStyleDb(db);
    const c1z = join(d, 'legacy.c1z');
    const half = Math.floor(statSync(db).size / 2);
    // Two independent frames (as a concatenating writer would produce), plus a skippable frame in between.
    sh(
      `{ printf 'C1ZF\\0'; head -c ${half} '${db}' | zstd -q -c; printf '\\x50\\x2a\\x4d\\x18\\x04\\x00\\x00\\x00abcd'; tail -c +${half + 1} '${db}' | zstd -q -19 -c; } > '${c1z}'`,
    );
    const store = await SyncStore.openC1z(c1z, { tempDir: d });
    try {
      // Latest finished sync by ended_at text order ('…11:00:00.25' > '…10:00:01.5').
      expect(store.selectedSyncId).toBe('2new');
      expect(store.listSyncs().map((s) => [s.syncId, s.syncType, s.supportsDiff])).toEqual([
        ['2old', 'full', false],
        ['2new', 'full', false],
      ]);
      expect(store.getResource('user', 'alice')?.displayName).toBe('Alice Example');
      expect(store.hasResource('user', 'old')).toBe(false);
      store.selectSync('2old');
      expect(store.hasResource('user', 'old')).toBe(true);
      store.selectSync();
      const grant = store.getGrant(fixture().grants[2].id)!;
      expect(anyUnpack(grant.annotations[0], GrantExpandableSchema)?.shallow).toBe(true);
      // Missing tables/columns were added, as Go readers migrate on open.
      const cols = sql(store.dbPath, 'pragma table_info(v1_grants)').map((c) => c.name);
      expect(cols).toContain('needs_expansion');
      const tables = sql(store.dbPath, "select name from sqlite_master where type='table'").map((t) => t.name);
      expect(tables).toEqual(expect.arrayContaining(['v1_assets', 'v1_connector_sessions']));
    } finally {
      store.close();
    }
  });

  it('puts GrantExpandable back from the expansion column of supports_diff = 1 syncs', async () => {
    const d = dir('go-new');
    const db = join(d, 'db');
    const f = fixture();
    const stripped = create(GrantSchema, { ...f.grants[2], annotations: [] });
    const expansion = Buffer.from(f.grants[2].annotations[0].value).toString('hex');
    goStyleDb(
      db,
      `alter table v1_sync_runs add column sync_type text not null default 'full';
       alter table v1_sync_runs add column supports_diff integer not null default 0;
       alter table v1_grants add column expansion blob;
       alter table v1_grants add column needs_expansion integer not null default 0;
       update v1_sync_runs set supports_diff = 1;
       update v1_grants set data = X'${Buffer.from(toBinary(GrantSchema, stripped)).toString('hex')}', expansion = X'${expansion}', needs_expansion = 1;`,
    );
    const c1z = join(d, 'new.c1z');
    sh(`{ printf 'C1ZF\\0'; zstd -q -c '${db}'; } > '${c1z}'`);
    const store = await SyncStore.openC1z(c1z);
    try {
      const [grant] = [...store.grants()];
      expect(anyUnpack(grant.annotations[0], GrantExpandableSchema)?.entitlementIds).toEqual(['group:admins:member']);
      expect(store.listSyncs()[0].supportsDiff).toBe(true);
    } finally {
      store.close();
    }
  });

  it('gives clear errors for missing and corrupt files and leaves no temp files', async () => {
    const d = dir('corrupt');
    const tempDir = dir('corrupt-tmp');
    const open = (p: string) => SyncStore.openC1z(p, { tempDir });
    await expect(open(join(d, 'missing.c1z'))).rejects.toThrow(/file not found/);

    writeFileSync(join(d, 'magic.c1z'), 'PK\x03\x04 not a c1z');
    await expect(open(join(d, 'magic.c1z'))).rejects.toThrow(/not a c1z file/);
    writeFileSync(join(d, 'v3.c1z'), Buffer.from('C1Z3\0rest', 'latin1'));
    await expect(open(join(d, 'v3.c1z'))).rejects.toThrow(/v3 \(Pebble\)/);
    writeFileSync(join(d, 'empty.c1z'), '');
    await expect(open(join(d, 'empty.c1z'))).rejects.toThrow(/empty/);

    // A good file to damage.
    const store = SyncStore.create({ tempDir });
    writeFixture(store, fixture());
    const good = join(d, 'good.c1z');
    await store.saveC1z(good);
    store.close();
    const bytes = readFileSync(good);

    const flipped = Buffer.from(bytes);
    for (let i = 40; i < flipped.length - 8; i += 7) flipped[i] ^= 0x5a;
    writeFileSync(join(d, 'flipped.c1z'), flipped);
    await expect(open(join(d, 'flipped.c1z'))).rejects.toThrow(C1zFormatError);
    await expect(open(join(d, 'flipped.c1z'))).rejects.toThrow(/corrupt zstd data/);

    writeFileSync(join(d, 'truncated.c1z'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(open(join(d, 'truncated.c1z'))).rejects.toThrow(/corrupt zstd data/);

    writeFileSync(
      join(d, 'garbage.c1z'),
      Buffer.concat([Buffer.from('C1ZF\0', 'latin1'), Buffer.from('definitely not zstd')]),
    );
    await expect(open(join(d, 'garbage.c1z'))).rejects.toThrow(/corrupt zstd data/);

    sh(`{ printf 'C1ZF\\0'; printf 'hello, this is text' | zstd -q -c; } > '${join(d, 'text.c1z')}'`);
    await expect(open(join(d, 'text.c1z'))).rejects.toThrow(/does not contain a SQLite database/);

    // A SQLite header followed by junk: decompresses fine but is no database.
    sh(
      `{ printf 'C1ZF\\0'; { printf 'SQLite format 3\\0'; head -c 5000 /dev/urandom; } | zstd -q -c; } > '${join(d, 'badsqlite.c1z')}'`,
    );
    await expect(open(join(d, 'badsqlite.c1z'))).rejects.toThrow(/damaged SQLite database|does not contain/);

    await expect(SyncStore.openC1z(good, { tempDir, maxDecodedBytes: 1000 })).rejects.toThrow(/exceeds 1000 bytes/);

    expect(readdirSync(tempDir)).toEqual([]);
  });
});

describe('JSON lines', () => {
  it('exports one protojson object per line and round-trips', async () => {
    const f = fixture();
    const d = dir('jsonl');
    const store = SyncStore.create({ tempDir: d });
    const unknownAnnotation = {
      $typeName: 'google.protobuf.Any' as const,
      typeUrl: 'type.googleapis.com/example.v9.Future',
      value: new Uint8Array([8, 1]),
    };
    const odd = create(ResourceSchema, {
      id: rid('user', 'carol'),
      displayName: 'Carol',
      annotations: [unknownAnnotation],
    });
    let syncId: string;
    try {
      syncId = writeFixture(store, { ...f, resources: [...f.resources, odd] });
      const path = join(d, 'sync.jsonl');
      await store.exportJsonl(path);
      const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
      const objs = lines.map((l) => JSON.parse(l) as { kind: string; syncId: string; data: Record<string, unknown> });
      expect(objs.map((o) => o.kind)).toEqual([
        ...Array(3).fill('resource_type'),
        ...Array(6).fill('resource'),
        ...Array(2).fill('entitlement'),
        ...Array(4).fill('grant'),
      ]);
      expect(new Set(objs.map((o) => o.syncId))).toEqual(new Set([syncId]));
      expect(objs[0].data).toEqual({ id: 'user', displayName: 'User', traits: ['TRAIT_USER'], description: 'People' });
      const alice = objs[3].data as { id: unknown; annotations: Array<Record<string, unknown>>; profile: unknown };
      expect(alice.id).toEqual({ resourceType: 'user', resource: 'alice' });
      expect(alice.annotations[0]['@type']).toBe('type.googleapis.com/c1.connector.v2.UserTrait');
      expect(alice.annotations[0].login).toBe('alice');
      const carol = objs[8].data as { annotations: unknown[] };
      expect(carol.annotations).toEqual([{ '@type': 'type.googleapis.com/example.v9.Future', value: 'CAE=' }]);
      const g3 = objs[13].data as { annotations: Array<Record<string, unknown>> };
      expect(g3.annotations[0]).toEqual({
        '@type': 'type.googleapis.com/c1.connector.v2.GrantExpandable',
        entitlementIds: ['group:admins:member'],
        shallow: true,
      });

      // Streams work too, and the stream is left open.
      const sink = new PassThrough();
      const chunks: Buffer[] = [];
      sink.on('data', (c: Buffer) => chunks.push(c));
      await store.exportJsonl(sink);
      expect(sink.writableEnded).toBe(false);
      expect(Buffer.concat(chunks).toString('utf8')).toBe(readFileSync(path, 'utf8'));

      // Import: same messages, same sync id.
      const back = await SyncStore.fromJsonl(path, { tempDir: d });
      try {
        expect(back.selectedSyncId).toBe(syncId);
        expectSameList(ResourceSchema, [...back.resources()], [...f.resources, odd]);
        expectSameList(GrantSchema, [...back.grants()], f.grants);
        expect(back.counts()).toEqual(store.counts());
      } finally {
        back.close();
      }
      const bad = join(d, 'bad.jsonl');
      writeFileSync(bad, `${lines[0]}\n{"kind":"widget","syncId":"x","data":{}}\n`);
      const target = SyncStore.create({ tempDir: d });
      try {
        await expect(importJsonl(target, bad)).rejects.toThrow(/bad\.jsonl:2: unknown kind "widget"/);
      } finally {
        target.close();
      }
    } finally {
      store.close();
    }
    expect(readdirSync(d).sort()).toEqual(['bad.jsonl', 'sync.jsonl']);
  });
});

describe('large syncs', () => {
  it('writes 200k grants in pages with bounded memory and compresses well', async () => {
    const d = dir('large');
    const store = SyncStore.create({ tempDir: d });
    try {
      const userType = create(ResourceTypeSchema, {
        id: 'user',
        displayName: 'User',
        traits: [ResourceType_Trait.USER],
      });
      const groupType = create(ResourceTypeSchema, {
        id: 'group',
        displayName: 'Group',
        traits: [ResourceType_Trait.GROUP],
      });
      store.startSync();
      store.putResourceTypes([userType, groupType]);
      const groups = Array.from({ length: 200 }, (_, i) =>
        create(ResourceSchema, { id: rid('group', `g${i}`), displayName: `Group ${i}` }),
      );
      store.putResources(groups);
      const ents = groups.map((g) =>
        create(EntitlementSchema, {
          resource: g,
          id: `group:${g.id!.resource}:member`,
          displayName: `${g.displayName} Member`,
          grantableTo: [userType],
          slug: 'member',
        }),
      );
      store.putEntitlements(ents);
      const total = 200_000;
      const page = 250;
      for (let start = 0; start < total; start += page) {
        const batch: Grant[] = [];
        for (let i = start; i < start + page; i++) {
          const ent = ents[i % ents.length];
          const user = `u${Math.floor(i / ents.length)}`;
          batch.push(
            create(GrantSchema, {
              entitlement: ent,
              principal: create(ResourceSchema, { id: rid('user', user) }),
              id: `${ent.id}:user:${user}`,
            }),
          );
        }
        store.putGrants(batch);
      }
      store.endSync();
      expect(store.counts().grants).toBe(total);
      const c1z = join(d, 'large.c1z');
      await store.saveC1z(c1z);
      const dbSize = statSync(store.dbPath).size;
      const c1zSize = statSync(c1z).size;
      expect(c1zSize).toBeLessThan(dbSize / 5);

      let seen = 0;
      for (const g of store.grants({ entitlementId: 'group:g7:member' })) {
        expect(g.entitlement?.id).toBe('group:g7:member');
        seen++;
      }
      expect(seen).toBe(total / 200);

      const back = await SyncStore.openC1z(c1z, { tempDir: d });
      try {
        expect(back.counts().grants).toBe(total);
        expect(statSync(back.dbPath).size).toBe(dbSize);
      } finally {
        back.close();
      }
    } finally {
      store.close();
    }
    expect(readdirSync(d)).toEqual(['large.c1z']);
    expect(existsSync(join(d, 'large.c1z'))).toBe(true);
  }, 180_000);
});
