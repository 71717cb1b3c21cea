/**
 * SyncStore: the sync data of a c1z v1 file, kept in a SQLite database in a private temp directory while a sync
 * runs or while a file is read, and compressed into a c1z on `saveC1z`.
 *
 * - Never in memory: the database is a temp file; reads page through it by row id (as the Go reader does), so
 *   callers hold one page at a time however large the sync is.
 * - Rows follow docs/protocol.md ("Tables", "Rows and encoding") exactly: external_id and denormalised columns, deterministic proto blobs
 *   (Go's `Deterministic: true`: deterministic.ts), Go-layout UTC timestamps (time.ts),
 *   `supports_diff = 0` syncs (schema.ts explains why).
 * - Writes are upserts keyed by (external_id, sync_id), batched into one transaction per call, with prepared
 *   statements. The temp database is disposable (it is rebuilt if a sync fails), so durability pragmas are off
 *   while writing; the rollback journal stays (in memory) so a failed batch still rolls back cleanly.
 */
import Database from 'better-sqlite3';
import { fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ResourceSchema,
  ResourceTypeSchema,
  type Resource,
  type ResourceId,
  type ResourceType,
} from '../gen/c1/connector/v2/resource_pb.js';
import { EntitlementSchema, type Entitlement } from '../gen/c1/connector/v2/entitlement_pb.js';
import { GrantSchema, type Grant } from '../gen/c1/connector/v2/grant_pb.js';
import { GrantExpandableSchema } from '../gen/c1/connector/v2/annotation_grant_pb.js';
import { toDeterministicBinary } from './deterministic.js';
import { C1zFormatError, readC1z, writeC1z } from './envelope.js';
import { newKsuid } from './ksuid.js';
import {
  createGrantIndexes,
  ensureSchema,
  TABLE_ENTITLEMENTS,
  TABLE_GRANTS,
  TABLE_RESOURCES,
  TABLE_RESOURCE_TYPES,
  TABLE_SYNC_RUNS,
} from './schema.js';
import { formatGoTime } from './time.js';
import { importJsonl, writeJsonl } from './jsonl.js';

export type { Resource, ResourceId, ResourceType, Entitlement, Grant };

export interface SyncStoreOptions {
  /** Parent directory for the temp database (Go: `--c1z-temp-dir`); default: the OS temp dir. */
  tempDir?: string;
}

export interface OpenC1zOptions extends SyncStoreOptions {
  /** Refuse files that decompress to more than this (default 3 GiB, the Go reader's default). */
  maxDecodedBytes?: number;
}

export interface SyncRun {
  syncId: string;
  startedAt: string;
  endedAt: string | null;
  syncToken: string;
  syncType: string;
  parentSyncId: string;
  linkedSyncId: string;
  supportsDiff: boolean;
}

export interface ResourceFilter {
  resourceTypeId?: string;
  parent?: ResourceId;
}
export interface EntitlementFilter {
  resourceTypeId?: string;
  resourceId?: string;
}
export interface GrantFilter {
  entitlementId?: string;
  principal?: ResourceId;
  /** Type of the resource the grant's entitlement is on. */
  resourceTypeId?: string;
  /** Id of the resource the grant's entitlement is on. */
  resourceId?: string;
}

export interface PageOptions {
  /** The next SQLite row id as a decimal string, as the Go reader's page tokens are; "" for the first page. */
  pageToken?: string;
  /** Clamped to 1..10000 like the Go reader; default 1000. */
  pageSize?: number;
  /** Read this sync instead of the selected one. */
  syncId?: string;
}

export interface Page<T> {
  list: T[];
  /** "" when there are no more rows. */
  nextPageToken: string;
}

export interface StoreCounts {
  resourceTypes: number;
  /** Resources per resource type id. */
  resources: Record<string, number>;
  entitlements: number;
  grants: number;
}

export const MAX_PAGE_SIZE = 10_000;
const DEFAULT_PAGE_SIZE = 1_000;
const GRANT_EXPANDABLE_URL = `type.googleapis.com/${GrantExpandableSchema.typeName}`;

type Row = { id: number; data: Buffer; expansion?: Buffer | null };
type Param = string | number | null | Buffer;

/** Temp directories of stores not yet closed, removed if the process exits without closing them. */
const liveTempDirs = new Set<string>();
let exitHookInstalled = false;
function trackTempDir(dir: string): void {
  liveTempDirs.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const d of liveTempDirs) rmSync(d, { recursive: true, force: true });
    });
  }
}

/**
 * Opens a store's database. A temp database is disposable: no durability, the rollback journal in memory. A working
 * file (`durable`) must survive the process being killed at any moment with every committed transaction intact and
 * nothing half-written: write-ahead log on disk, `synchronous = NORMAL`, and an exclusive lock held until it is
 * closed, so a second process cannot write the same file (docs/sync.md, "The working file").
 */
function openDatabase(path: string, deferGrantIndexes = false, durable = false): Database.Database {
  const db = new Database(path, durable ? { timeout: 200 } : undefined);
  try {
    if (durable) {
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Take the lock now (it is held from the first write until close), so a busy file is found at once.
      db.exec('begin exclusive; commit');
    } else {
      db.pragma('journal_mode = MEMORY');
      db.pragma('synchronous = OFF');
    }
    db.pragma('cache_size = -16384'); // 16 MiB page cache, whatever the database size
    db.pragma('temp_store = FILE');
    ensureSchema(db, { deferGrantIndexes });
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Another process holds the working file (a sync into the same output is running). */
export class WorkingFileBusyError extends Error {
  override name = 'WorkingFileBusyError';
}

/** The files SQLite keeps next to a database in WAL or rollback mode. */
const SIDE_FILES = ['-wal', '-shm', '-journal'];

function resourceExternalId(id: ResourceId | undefined): string {
  return `${id?.resourceType ?? ''}:${id?.resource ?? ''}`;
}

function clampPageSize(size: number | undefined): number {
  if (size === undefined || !Number.isFinite(size) || size <= 0) return DEFAULT_PAGE_SIZE;
  return Math.min(Math.floor(size), MAX_PAGE_SIZE);
}

function parsePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  if (!/^\d{1,15}$/.test(token)) throw new Error(`invalid page token ${JSON.stringify(token)}`);
  return Number(token);
}

export class SyncStore {
  /** Path of the temp SQLite database (for diagnostics and tests). */
  readonly dbPath: string;
  private readonly tempDir: string;
  private handle: Database.Database | undefined;
  private statements = new Map<string, Database.Statement>();
  private current: string | undefined;
  private explicit: string | undefined;
  private saving = false;
  private closed = false;
  /** Grants' secondary indexes are not built yet (see GRANT_SECONDARY_INDEXES). */
  private grantIndexesPending: boolean;
  /** A working file (openWorkingFile): durable, kept on close, no temp directory. */
  private readonly durable: boolean;
  /** An async transaction (`transaction`) is open. */
  private inAsyncTransaction = false;

  private constructor(tempDir: string, db: Database.Database, grantIndexesPending = false, working?: { path: string }) {
    this.tempDir = tempDir;
    this.dbPath = working ? working.path : join(tempDir, 'db');
    this.durable = working !== undefined;
    this.handle = db;
    this.grantIndexesPending = grantIndexesPending;
  }

  private static makeTempDir(options?: SyncStoreOptions): string {
    const dir = mkdtempSync(join(options?.tempDir ?? tmpdir(), 'c1z'));
    trackTempDir(dir);
    return dir;
  }

  private static removeTempDir(dir: string): void {
    rmSync(dir, { recursive: true, force: true });
    liveTempDirs.delete(dir);
  }

  /** A fresh temp database with the v1 schema and no syncs. */
  static create(options?: SyncStoreOptions): SyncStore {
    const dir = SyncStore.makeTempDir(options);
    try {
      return new SyncStore(dir, openDatabase(join(dir, 'db'), true), true);
    } catch (err) {
      SyncStore.removeTempDir(dir);
      throw err;
    }
  }

  /**
   * Decompresses a c1z (ours or one written by the Go SDK) into a temp database and opens it. Missing tables and
   * columns of older SDK versions are added, as Go readers do. Reads then follow docs/protocol.md, "Choosing a sync", unless `selectSync`.
   */
  static async openC1z(path: string, options?: OpenC1zOptions): Promise<SyncStore> {
    const dir = SyncStore.makeTempDir(options);
    try {
      const dbPath = join(dir, 'db');
      await readC1z(path, dbPath, { maxDecodedBytes: options?.maxDecodedBytes });
      let db: Database.Database;
      try {
        db = openDatabase(dbPath); // also adds what older SDK versions lacked
      } catch (err) {
        throw new C1zFormatError(`${path} contains a damaged SQLite database: ${(err as Error).message}`);
      }
      return new SyncStore(dir, db);
    } catch (err) {
      SyncStore.removeTempDir(dir);
      throw err;
    }
  }

  /**
   * Opens, or creates, the working file of a sync: a plain SQLite database (not a c1z) at `path` that survives the
   * process being killed, holding the sync being written and its checkpoint (docs/sync.md, "The working file").
   * Throws WorkingFileBusyError when another process has it open, and C1zFormatError when it is not a database.
   * `close()` keeps the file; `discard()` deletes it.
   */
  static openWorkingFile(path: string): SyncStore {
    let db: Database.Database;
    try {
      db = openDatabase(path, true, true);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        throw new WorkingFileBusyError(`${path} is in use by another process (a sync into the same file is running)`);
      }
      if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
        throw new C1zFormatError(`${path} is not a usable SQLite database: ${(err as Error).message}`);
      }
      throw err;
    }
    return new SyncStore('', db, true, { path });
  }

  /** Deletes a working file and SQLite's files next to it (no error when they do not exist). */
  static removeWorkingFile(path: string): void {
    for (const suffix of ['', ...SIDE_FILES]) rmSync(path + suffix, { force: true });
  }

  /** A temp store filled from a JSON lines export (see jsonl.ts); each sync id in the file becomes a finished sync. */
  static async fromJsonl(path: string, options?: SyncStoreOptions): Promise<SyncStore> {
    const store = SyncStore.create(options);
    try {
      await importJsonl(store, path);
      return store;
    } catch (err) {
      store.close();
      throw err;
    }
  }

  // ---- plumbing -------------------------------------------------------------------------------------------

  private get db(): Database.Database {
    if (this.handle) return this.handle;
    if (this.closed) throw new Error('SyncStore is closed');
    if (this.saving) throw new Error('SyncStore is being saved; wait for saveC1z to finish');
    throw new Error('SyncStore database is not open');
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * Runs `fn` in one SQLite transaction, awaiting it: everything it writes is committed together, or nothing is
   * (the put* calls inside become savepoints). Nested calls join the open transaction. Nothing else may write to
   * the store while `fn` awaits.
   */
  async transaction<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.inAsyncTransaction) return fn();
    const db = this.db;
    db.exec('begin immediate');
    this.inAsyncTransaction = true;
    try {
      const result = await fn();
      db.exec('commit');
      return result;
    } catch (err) {
      if (db.inTransaction) db.exec('rollback');
      throw err;
    } finally {
      this.inAsyncTransaction = false;
    }
  }

  private ensureGrantIndexes(): void {
    if (!this.grantIndexesPending) return;
    createGrantIndexes(this.db);
    this.grantIndexesPending = false;
  }

  private requireCurrent(): string {
    if (!this.current) throw new Error('no sync in progress: call startSync() first');
    return this.current;
  }

  // ---- sync runs ------------------------------------------------------------------------------------------

  /** The sync being written, from startSync until endSync. */
  get currentSyncId(): string | undefined {
    return this.current;
  }

  /** Starts a new full sync (KSUID id) and makes it the current one; reads follow it until selectSync(id). */
  startSync(): string {
    if (this.current) throw new Error(`sync ${this.current} is still in progress; call endSync() first`);
    const syncId = newKsuid();
    this.insertSyncRun({ syncId });
    this.current = syncId;
    this.explicit = undefined;
    return syncId;
  }

  /**
   * The newest sync without `ended_at` (the one a resumed sync continues), or undefined. Finished syncs and syncs
   * of other types than `full` are not resumed.
   */
  unfinishedSync(): SyncRun | undefined {
    const unfinished = this.listSyncs().filter((s) => s.endedAt === null && s.syncType === 'full');
    return unfinished.at(-1);
  }

  /** Makes an unfinished sync the current one again, to resume writing it (`checkpoint`, put*, `endSync`). */
  continueSync(syncId: string): void {
    if (this.current && this.current !== syncId)
      throw new Error(`sync ${this.current} is still in progress; call endSync() first`);
    const run = this.listSyncs().find((s) => s.syncId === syncId);
    if (!run) throw new Error(`sync ${syncId} not found`);
    if (run.endedAt !== null) throw new Error(`sync ${syncId} is finished; it cannot be continued`);
    this.current = syncId;
    this.explicit = undefined;
  }

  /** Saves the resumable checkpoint of the current sync (`v1_sync_runs.sync_token`). */
  checkpoint(syncToken: string): void {
    const syncId = this.requireCurrent();
    this.stmt(`update ${TABLE_SYNC_RUNS} set sync_token = ? where sync_id = ?`).run(syncToken, syncId);
  }

  /** Marks the current sync finished: ended_at = now, sync_token = "". */
  endSync(): void {
    const syncId = this.requireCurrent();
    this.stmt(`update ${TABLE_SYNC_RUNS} set ended_at = ?, sync_token = '' where sync_id = ?`).run(
      formatGoTime(),
      syncId,
    );
    this.current = undefined;
  }

  /**
   * Adds a sync run row directly (for importing data, e.g. from JSON lines). Always `supports_diff = 0`.
   * Does not change the current sync.
   */
  insertSyncRun(run: { syncId: string; startedAt?: string; endedAt?: string | null; syncType?: string }): void {
    if (!run.syncId) throw new Error('sync id must not be empty');
    this.stmt(
      `insert into ${TABLE_SYNC_RUNS} (sync_id, started_at, ended_at, sync_token, sync_type, parent_sync_id, linked_sync_id, supports_diff)
       values (?, ?, ?, '', ?, '', '', 0)`,
    ).run(run.syncId, run.startedAt ?? formatGoTime(), run.endedAt ?? null, run.syncType ?? 'full');
  }

  /** Sets ended_at of any sync (import helper). */
  finishSyncRun(syncId: string, endedAt: string = formatGoTime()): void {
    this.stmt(`update ${TABLE_SYNC_RUNS} set ended_at = ?, sync_token = '' where sync_id = ?`).run(endedAt, syncId);
  }

  /** All sync runs, oldest first. */
  listSyncs(): SyncRun[] {
    const rows = this.stmt(
      `select sync_id, started_at, ended_at, sync_token, sync_type, parent_sync_id, linked_sync_id, supports_diff
       from ${TABLE_SYNC_RUNS} order by started_at asc, id asc`,
    ).all() as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      syncId: String(r.sync_id),
      startedAt: String(r.started_at),
      endedAt: r.ended_at === null || r.ended_at === undefined ? null : String(r.ended_at),
      syncToken: String(r.sync_token ?? ''),
      syncType: String(r.sync_type ?? 'full'),
      parentSyncId: String(r.parent_sync_id ?? ''),
      linkedSyncId: String(r.linked_sync_id ?? ''),
      supportsDiff: Number(r.supports_diff ?? 0) !== 0,
    }));
  }

  /**
   * Chooses the sync that reads use. With an id: that sync (it must exist). Without: the rules of docs/protocol.md, "Choosing a sync", applied at
   * each read — the sync being written, else the latest finished `full` sync (ended_at DESC), else the latest
   * unfinished sync (started_at DESC).
   */
  selectSync(syncId?: string): void {
    if (syncId === undefined || syncId === '') {
      this.explicit = undefined;
      return;
    }
    const found = this.stmt(`select 1 from ${TABLE_SYNC_RUNS} where sync_id = ?`).get(syncId);
    if (!found) throw new Error(`sync ${syncId} not found`);
    this.explicit = syncId;
  }

  /** The sync reads go to right now (undefined if the file has no syncs). */
  get selectedSyncId(): string | undefined {
    if (this.explicit) return this.explicit;
    if (this.current) return this.current;
    const finished = this.stmt(
      `select sync_id from ${TABLE_SYNC_RUNS} where ended_at is not null and sync_type = 'full'
       order by ended_at desc limit 1`,
    ).get() as { sync_id: string } | undefined;
    if (finished) return finished.sync_id;
    const unfinished = this.stmt(
      `select sync_id from ${TABLE_SYNC_RUNS} where ended_at is null order by started_at desc limit 1`,
    ).get() as { sync_id: string } | undefined;
    return unfinished?.sync_id;
  }

  // ---- writes ---------------------------------------------------------------------------------------------

  putResourceTypes(list: readonly ResourceType[]): void {
    this.putResourceTypesIn(this.requireCurrent(), list);
  }

  putResources(list: readonly Resource[]): void {
    this.putResourcesIn(this.requireCurrent(), list);
  }

  putEntitlements(list: readonly Entitlement[]): void {
    this.putEntitlementsIn(this.requireCurrent(), list);
  }

  putGrants(list: readonly Grant[]): void {
    this.putGrantsIn(this.requireCurrent(), list);
  }

  /** Writes rows into a given sync (import helper); the put* methods write into the current sync. */
  putResourceTypesIn(syncId: string, list: readonly ResourceType[]): void {
    const now = formatGoTime();
    const rows = list.map((rt) => {
      if (!rt.id) throw new Error('resource type has an empty id');
      return [rt.id, toDeterministicBinary(ResourceTypeSchema, rt), syncId, now] as Param[];
    });
    this.runBatch(
      `insert into ${TABLE_RESOURCE_TYPES} (external_id, data, sync_id, discovered_at) values (?, ?, ?, ?)
       on conflict (external_id, sync_id) do update set data = excluded.data`,
      rows,
    );
  }

  putResourcesIn(syncId: string, list: readonly Resource[]): void {
    const now = formatGoTime();
    const rows = list.map((r) => {
      if (!r.id?.resourceType || !r.id.resource)
        throw new Error('resource has no id (resource type and id are required)');
      const parent = r.parentResourceId;
      return [
        r.id.resourceType,
        resourceExternalId(r.id),
        parent ? parent.resourceType : null,
        parent ? parent.resource : null,
        toDeterministicBinary(ResourceSchema, r),
        syncId,
        now,
      ] as Param[];
    });
    this.runBatch(
      `insert into ${TABLE_RESOURCES}
         (resource_type_id, external_id, parent_resource_type_id, parent_resource_id, data, sync_id, discovered_at)
       values (?, ?, ?, ?, ?, ?, ?)
       on conflict (external_id, sync_id) do update set data = excluded.data,
         resource_type_id = excluded.resource_type_id,
         parent_resource_type_id = excluded.parent_resource_type_id,
         parent_resource_id = excluded.parent_resource_id`,
      rows,
    );
  }

  putEntitlementsIn(syncId: string, list: readonly Entitlement[]): void {
    const now = formatGoTime();
    const rows = list.map((e) => {
      if (!e.id) throw new Error('entitlement has an empty id');
      const rid = e.resource?.id;
      return [
        rid?.resourceType ?? '',
        rid?.resource ?? '',
        e.id,
        toDeterministicBinary(EntitlementSchema, e),
        syncId,
        now,
      ] as Param[];
    });
    this.runBatch(
      `insert into ${TABLE_ENTITLEMENTS} (resource_type_id, resource_id, external_id, data, sync_id, discovered_at)
       values (?, ?, ?, ?, ?, ?)
       on conflict (external_id, sync_id) do update set data = excluded.data,
         resource_type_id = excluded.resource_type_id,
         resource_id = excluded.resource_id`,
      rows,
    );
  }

  putGrantsIn(syncId: string, list: readonly Grant[]): void {
    const now = formatGoTime();
    const rows = list.map((g) => {
      if (!g.id) throw new Error('grant has an empty id');
      const rid = g.entitlement?.resource?.id;
      const pid = g.principal?.id;
      // supports_diff = 0: GrantExpandable stays in `data`; expansion NULL, needs_expansion 0 (see schema.ts).
      return [
        rid?.resourceType ?? '',
        rid?.resource ?? '',
        g.entitlement?.id ?? '',
        pid?.resourceType ?? '',
        pid?.resource ?? '',
        g.id,
        toDeterministicBinary(GrantSchema, g),
        syncId,
        now,
      ] as Param[];
    });
    this.runBatch(
      `insert into ${TABLE_GRANTS}
         (resource_type_id, resource_id, entitlement_id, principal_resource_type_id, principal_resource_id,
          external_id, data, sync_id, discovered_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (external_id, sync_id) do update set data = excluded.data,
         resource_type_id = excluded.resource_type_id,
         resource_id = excluded.resource_id,
         entitlement_id = excluded.entitlement_id,
         principal_resource_type_id = excluded.principal_resource_type_id,
         principal_resource_id = excluded.principal_resource_id`,
      rows,
    );
  }

  /** Everything is encoded before the transaction starts, so a bad message never leaves a half-written batch. */
  /** Removes a grant from a sync; false when it was not there (one-shot revoke keeps its sync file current). */
  deleteGrantIn(syncId: string, grantId: string): boolean {
    return (
      this.stmt(`delete from ${TABLE_GRANTS} where external_id = ? and sync_id = ?`).run(grantId, syncId).changes > 0
    );
  }

  private runBatch(sql: string, rows: Param[][]): void {
    if (rows.length === 0) return;
    const insert = this.stmt(sql);
    this.db.transaction(() => {
      for (const row of rows) insert.run(...row);
    })();
  }

  // ---- point reads ----------------------------------------------------------------------------------------

  hasResource(resourceTypeId: string, resourceId: string): boolean {
    const syncId = this.selectedSyncId;
    if (!syncId) return false;
    return (
      this.stmt(
        `select 1 from ${TABLE_RESOURCES} where resource_type_id = ? and external_id = ? and sync_id = ? limit 1`,
      ).get(resourceTypeId, `${resourceTypeId}:${resourceId}`, syncId) !== undefined
    );
  }

  getResourceType(id: string): ResourceType | undefined {
    return this.getOne(TABLE_RESOURCE_TYPES, ResourceTypeSchema, 'external_id = ?', [id]);
  }

  getResource(resourceTypeId: string, resourceId: string): Resource | undefined {
    return this.getOne(TABLE_RESOURCES, ResourceSchema, 'resource_type_id = ? and external_id = ?', [
      resourceTypeId,
      `${resourceTypeId}:${resourceId}`,
    ]);
  }

  getEntitlement(id: string): Entitlement | undefined {
    return this.getOne(TABLE_ENTITLEMENTS, EntitlementSchema, 'external_id = ?', [id]);
  }

  getGrant(id: string): Grant | undefined {
    const syncId = this.selectedSyncId;
    if (!syncId) return undefined;
    const row = this.stmt(
      `select id, data, expansion from ${TABLE_GRANTS} where external_id = ? and sync_id = ? limit 1`,
    ).get(id, syncId) as Row | undefined;
    return row ? this.decodeGrant(row) : undefined;
  }

  private getOne<D extends DescMessage>(
    table: string,
    schema: D,
    where: string,
    params: Param[],
  ): MessageShape<D> | undefined {
    const syncId = this.selectedSyncId;
    if (!syncId) return undefined;
    const row = this.stmt(`select id, data from ${table} where ${where} and sync_id = ? limit 1`).get(
      ...params,
      syncId,
    ) as Row | undefined;
    return row ? decodeRow(table, schema, row) : undefined;
  }

  /**
   * Grants from v0.7.22+ syncs with `supports_diff = 1` keep GrantExpandable in the `expansion` column instead
   * of the blob; put it back so callers always see the grant as the connector returned it.
   */
  private decodeGrant(row: Row): Grant {
    const grant = decodeRow(TABLE_GRANTS, GrantSchema, row);
    if (row.expansion && !grant.annotations.some((a) => a.typeUrl.endsWith(`/${GrantExpandableSchema.typeName}`))) {
      grant.annotations.push({
        $typeName: 'google.protobuf.Any',
        typeUrl: GRANT_EXPANDABLE_URL,
        value: new Uint8Array(row.expansion),
      });
    }
    return grant;
  }

  // ---- paged reads ----------------------------------------------------------------------------------------

  listResourceTypes(options: PageOptions = {}): Page<ResourceType> {
    return this.page(TABLE_RESOURCE_TYPES, [], [], options, (row) =>
      decodeRow(TABLE_RESOURCE_TYPES, ResourceTypeSchema, row),
    );
  }

  listResources(filter: ResourceFilter = {}, options: PageOptions = {}): Page<Resource> {
    const where: string[] = [];
    const params: Param[] = [];
    if (filter.resourceTypeId !== undefined) {
      where.push('resource_type_id = ?');
      params.push(filter.resourceTypeId);
    }
    if (filter.parent) {
      where.push('parent_resource_type_id = ? and parent_resource_id = ?');
      params.push(filter.parent.resourceType, filter.parent.resource);
    }
    return this.page(TABLE_RESOURCES, where, params, options, (row) => decodeRow(TABLE_RESOURCES, ResourceSchema, row));
  }

  /**
   * Up to `limit` resources of the selected sync in storage order from `cursor` (a page token, `''` for the first),
   * each with the cursor just after it: the sync engine walks them one at a time and checkpoints that cursor.
   */
  resourcesFrom(cursor: string, limit: number): Array<{ resource: Resource; next: string }> {
    const syncId = this.selectedSyncId;
    if (!syncId) return [];
    const rows = this.stmt(
      `select id, data from ${TABLE_RESOURCES} where sync_id = ? and id >= ? order by id asc limit ?`,
    ).all(syncId, parsePageToken(cursor), clampPageSize(limit)) as Row[];
    return rows.map((row) => ({ resource: decodeRow(TABLE_RESOURCES, ResourceSchema, row), next: String(row.id + 1) }));
  }

  listEntitlements(filter: EntitlementFilter = {}, options: PageOptions = {}): Page<Entitlement> {
    const where: string[] = [];
    const params: Param[] = [];
    if (filter.resourceTypeId !== undefined) {
      where.push('resource_type_id = ?');
      params.push(filter.resourceTypeId);
    }
    if (filter.resourceId !== undefined) {
      where.push('resource_id = ?');
      params.push(filter.resourceId);
    }
    return this.page(TABLE_ENTITLEMENTS, where, params, options, (row) =>
      decodeRow(TABLE_ENTITLEMENTS, EntitlementSchema, row),
    );
  }

  listGrants(filter: GrantFilter = {}, options: PageOptions = {}): Page<Grant> {
    const where: string[] = [];
    if (Object.values(filter).some((v) => v !== undefined)) this.ensureGrantIndexes();
    const params: Param[] = [];
    if (filter.entitlementId !== undefined) {
      where.push('entitlement_id = ?');
      params.push(filter.entitlementId);
    }
    if (filter.principal) {
      where.push('principal_resource_type_id = ? and principal_resource_id = ?');
      params.push(filter.principal.resourceType, filter.principal.resource);
    }
    if (filter.resourceTypeId !== undefined) {
      where.push('resource_type_id = ?');
      params.push(filter.resourceTypeId);
    }
    if (filter.resourceId !== undefined) {
      where.push('resource_id = ?');
      params.push(filter.resourceId);
    }
    return this.page(TABLE_GRANTS, where, params, options, (row) => this.decodeGrant(row), ', expansion');
  }

  /** Go reader semantics: `... and id >= token order by id limit size+1`; next token = last returned id + 1. */
  private page<T>(
    table: string,
    where: string[],
    params: Param[],
    options: PageOptions,
    decode: (row: Row) => T,
    extraColumns = '',
  ): Page<T> {
    const syncId = options.syncId ?? this.selectedSyncId;
    if (!syncId) return { list: [], nextPageToken: '' };
    const size = clampPageSize(options.pageSize);
    const conditions = ['sync_id = ?', ...where, 'id >= ?'].join(' and ');
    const rows = this.stmt(
      `select id, data${extraColumns} from ${table} where ${conditions} order by id asc limit ?`,
    ).all(syncId, ...params, parsePageToken(options.pageToken), size + 1) as Row[];
    const more = rows.length > size;
    if (more) rows.length = size;
    return {
      list: rows.map(decode),
      nextPageToken: more ? String(rows[rows.length - 1].id + 1) : '',
    };
  }

  private *iterate<T>(fetch: (options: PageOptions) => Page<T>): Generator<T, void, undefined> {
    // Resolve the sync once, so a long iteration is not redirected by a sync started or ended meanwhile.
    const syncId = this.selectedSyncId;
    if (!syncId) return;
    let pageToken = '';
    do {
      const page = fetch({ pageToken, pageSize: DEFAULT_PAGE_SIZE, syncId });
      yield* page.list;
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  }

  resourceTypes(): Iterable<ResourceType> {
    return this.iterate((o) => this.listResourceTypes(o));
  }

  resources(filter: ResourceFilter = {}): Iterable<Resource> {
    return this.iterate((o) => this.listResources(filter, o));
  }

  entitlements(filter: EntitlementFilter = {}): Iterable<Entitlement> {
    return this.iterate((o) => this.listEntitlements(filter, o));
  }

  grants(filter: GrantFilter = {}): Iterable<Grant> {
    return this.iterate((o) => this.listGrants(filter, o));
  }

  /** Row counts in the selected sync (what `baton stats` shows). */
  counts(): StoreCounts {
    const syncId = this.selectedSyncId;
    const result: StoreCounts = { resourceTypes: 0, resources: {}, entitlements: 0, grants: 0 };
    if (!syncId) return result;
    const count = (table: string) =>
      (this.stmt(`select count(*) as n from ${table} where sync_id = ?`).get(syncId) as { n: number }).n;
    result.resourceTypes = count(TABLE_RESOURCE_TYPES);
    const perType = this.stmt(
      `select resource_type_id as t, count(*) as n from ${TABLE_RESOURCES} where sync_id = ?
       group by resource_type_id order by resource_type_id`,
    ).all(syncId) as Array<{ t: string; n: number }>;
    for (const { t, n } of perType) result.resources[t] = n;
    result.entitlements = count(TABLE_ENTITLEMENTS);
    result.grants = count(TABLE_GRANTS);
    return result;
  }

  /**
   * Per resource type of the selected sync: resources of the type, entitlements on resources of the type, and
   * grants of entitlements on resources of the type (how a resumed sync restores its counters).
   */
  countsByResourceType(): Record<string, { resources: number; entitlements: number; grants: number }> {
    const syncId = this.selectedSyncId;
    const out: Record<string, { resources: number; entitlements: number; grants: number }> = {};
    if (!syncId) return out;
    const add = (table: string, key: 'resources' | 'entitlements' | 'grants') => {
      const rows = this.stmt(
        `select resource_type_id as t, count(*) as n from ${table} where sync_id = ? group by resource_type_id`,
      ).all(syncId) as Array<{ t: string; n: number }>;
      for (const { t, n } of rows) (out[t] ??= { resources: 0, entitlements: 0, grants: 0 })[key] = n;
    };
    add(TABLE_RESOURCES, 'resources');
    add(TABLE_ENTITLEMENTS, 'entitlements');
    add(TABLE_GRANTS, 'grants');
    return out;
  }

  // ---- output ---------------------------------------------------------------------------------------------

  /**
   * Writes the c1z: rollback journal mode DELETE (nothing pending, no WAL), close the database, stream
   * `C1ZF\0` + zstd into a temp file next to `path`, rename it over `path`, then reopen the database so the
   * store stays usable. Not allowed while a write transaction is open.
   */
  async saveC1z(path: string): Promise<void> {
    const db = this.db;
    if (db.inTransaction) throw new Error('cannot save while a transaction is open');
    this.ensureGrantIndexes();
    db.pragma('journal_mode = DELETE');
    this.statements.clear();
    db.close();
    this.handle = undefined;
    this.saving = true;
    try {
      await writeC1z(this.dbPath, path);
    } finally {
      this.saving = false;
      if (!this.closed) this.handle = openDatabase(this.dbPath, false, this.durable);
      this.grantIndexesPending = false;
    }
  }

  /**
   * One JSON object per line for the selected sync, in the order resource types, resources, entitlements,
   * grants: `{"kind":"resource_type"|"resource"|"entitlement"|"grant","syncId":"…","data":<protojson>}`.
   * A path is written atomically (temp file + rename); a stream is written to and left open.
   */
  async exportJsonl(target: string | NodeJS.WritableStream | Writable): Promise<void> {
    await writeJsonl(this, target);
  }

  /** Closes the database and deletes the temp directory (a working file is kept). Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    try {
      this.handle?.close();
    } finally {
      this.handle = undefined;
      this.current = undefined;
      if (!this.durable) SyncStore.removeTempDir(this.tempDir);
    }
  }

  /** Closes the store and deletes its database: the temp directory, or the working file and its side files. */
  discard(): void {
    this.close();
    if (this.durable) SyncStore.removeWorkingFile(this.dbPath);
  }
}

function decodeRow<D extends DescMessage>(table: string, schema: D, row: Row): MessageShape<D> {
  try {
    return fromBinary(schema, row.data);
  } catch (err) {
    throw new Error(`${table} row ${row.id}: cannot decode ${schema.typeName}: ${(err as Error).message}`);
  }
}
