/**
 * The SQLite schema of a v1 c1z: the v0.2.45 tables plus the columns, tables and index names of
 * v0.7.27 (docs/protocol.md, "Tables"), created in v0.7.27's order: resource_types, resources, entitlements, sync_runs, grants,
 * assets, connector_sessions.
 *
 * Grant expansion strategy: we write `supports_diff = 0` on every sync we create and leave the GrantExpandable
 * annotation inside the grant's `data` blob; `expansion` stays NULL and `needs_expansion` 0. That is the layout
 * every SDK from v0.1.x to v0.7.21 writes and reads, and v0.7.22+ (`backfillGrantExpansionColumn`) converts such
 * syncs itself on open. The alternative (`supports_diff = 1`, annotation stripped into `expansion`) would make
 * the blobs differ from what the connector returned and would hide expansion from pre-0.7.22 readers.
 *
 * The grants index on (resource_type_id, resource_id) uses v0.7.27's name: v0.2.45 reused the resource-types
 * index name there, so `IF NOT EXISTS` silently skipped it.
 */
import type Database from 'better-sqlite3';

interface TableSpec {
  name: string;
  create: string;
  /** Columns added after v0.2.45, with the exact DDL newer SDKs use; added to older files on open. */
  addedColumns: Array<{ name: string; ddl: string }>;
  indexes: string[];
}

export const TABLE_RESOURCE_TYPES = 'v1_resource_types';
export const TABLE_RESOURCES = 'v1_resources';
export const TABLE_ENTITLEMENTS = 'v1_entitlements';
export const TABLE_GRANTS = 'v1_grants';
export const TABLE_SYNC_RUNS = 'v1_sync_runs';
export const TABLE_ASSETS = 'v1_assets';
export const TABLE_CONNECTOR_SESSIONS = 'v1_connector_sessions';

/**
 * The grants indexes that upserts do not need. Grants are by far the largest table, and maintaining four more
 * B-trees on every insert roughly halves write speed, while building them once afterwards is a fast sorted
 * bulk load. So a store being written creates them lazily: before the first filtered grants read and before
 * saving. Every saved file has them.
 */
export const GRANT_SECONDARY_INDEXES: readonly string[] = [
  'create index if not exists idx_grants_resource_type_id_resource_id_v1 on v1_grants (resource_type_id, resource_id)',
  'create index if not exists idx_grants_principal_id_v1 on v1_grants (principal_resource_type_id, principal_resource_id)',
  'create index if not exists idx_grants_entitlement_id_principal_id_v1 on v1_grants (entitlement_id, principal_resource_type_id, principal_resource_id)',
  'create index if not exists idx_grants_sync_expansion_v1 on v1_grants (sync_id) where expansion is not null',
  'create index if not exists idx_grants_sync_needs_expansion_v1 on v1_grants (sync_id) where needs_expansion = 1',
];

export const TABLES: readonly TableSpec[] = [
  {
    name: TABLE_RESOURCE_TYPES,
    create: `create table if not exists v1_resource_types (
  id integer primary key,
  external_id text not null,
  data blob not null,
  sync_id text not null,
  discovered_at datetime not null
)`,
    addedColumns: [],
    indexes: [
      'create unique index if not exists idx_resource_types_external_sync_v1 on v1_resource_types (external_id, sync_id)',
    ],
  },
  {
    name: TABLE_RESOURCES,
    create: `create table if not exists v1_resources (
  id integer primary key,
  resource_type_id text not null,
  external_id text not null,
  parent_resource_type_id text,
  parent_resource_id text,
  data blob not null,
  sync_id text not null,
  discovered_at datetime not null
)`,
    addedColumns: [],
    indexes: [
      'create index if not exists idx_resources_resource_type_id_v1 on v1_resources (resource_type_id)',
      'create index if not exists idx_resources_parent_resource_id_v1 on v1_resources (parent_resource_type_id, parent_resource_id)',
      'create unique index if not exists idx_resources_external_sync_v1 on v1_resources (external_id, sync_id)',
    ],
  },
  {
    name: TABLE_ENTITLEMENTS,
    create: `create table if not exists v1_entitlements (
  id integer primary key,
  resource_type_id text not null,
  resource_id text not null,
  external_id text not null,
  data blob not null,
  sync_id text not null,
  discovered_at datetime not null
)`,
    addedColumns: [],
    indexes: [
      'create index if not exists idx_entitlements_resource_id_v1 on v1_entitlements (resource_type_id, resource_id)',
      'create unique index if not exists idx_entitlements_external_sync_v1 on v1_entitlements (external_id, sync_id)',
    ],
  },
  {
    name: TABLE_SYNC_RUNS,
    create: `create table if not exists v1_sync_runs (
  id integer primary key,
  sync_id text not null,
  started_at datetime not null,
  ended_at datetime,
  sync_token text not null,
  sync_type text not null default 'full',
  parent_sync_id text not null default '',
  linked_sync_id text not null default '',
  supports_diff integer not null default 0
)`,
    addedColumns: [
      { name: 'sync_type', ddl: "sync_type text not null default 'full'" },
      { name: 'parent_sync_id', ddl: "parent_sync_id text not null default ''" },
      { name: 'linked_sync_id', ddl: "linked_sync_id text not null default ''" },
      { name: 'supports_diff', ddl: 'supports_diff integer not null default 0' },
    ],
    indexes: ['create unique index if not exists idx_sync_runs_sync_id_v1 on v1_sync_runs (sync_id)'],
  },
  {
    name: TABLE_GRANTS,
    create: `create table if not exists v1_grants (
  id integer primary key,
  resource_type_id text not null,
  resource_id text not null,
  entitlement_id text not null,
  principal_resource_type_id text not null,
  principal_resource_id text not null,
  external_id text not null,
  data blob not null,
  sync_id text not null,
  discovered_at datetime not null,
  expansion blob,
  needs_expansion integer not null default 0
)`,
    addedColumns: [
      { name: 'expansion', ddl: 'expansion blob' },
      { name: 'needs_expansion', ddl: 'needs_expansion integer not null default 0' },
    ],
    indexes: ['create unique index if not exists idx_grants_external_sync_v1 on v1_grants (external_id, sync_id)'],
  },
  {
    name: TABLE_ASSETS,
    create: `create table if not exists v1_assets (
  id integer primary key,
  external_id text not null,
  content_type text not null,
  data blob not null,
  sync_id text not null,
  discovered_at datetime not null
)`,
    addedColumns: [],
    indexes: ['create unique index if not exists idx_assets_external_sync_v1 on v1_assets (external_id, sync_id)'],
  },
  {
    name: TABLE_CONNECTOR_SESSIONS,
    create: `create table if not exists v1_connector_sessions (
  id integer primary key,
  sync_id text not null,
  key text not null,
  value blob not null
)`,
    addedColumns: [],
    indexes: [
      'create unique index if not exists idx_session_store_sync_key_v1 on v1_connector_sessions (sync_id, key)',
    ],
  },
];

/**
 * Creates whatever is missing: tables, post-v0.2.45 columns (so files from older SDKs open, as Go readers
 * migrate them on open), and indexes. Idempotent; a no-op on files we wrote.
 */
export function ensureSchema(db: Database.Database, options: { deferGrantIndexes?: boolean } = {}): void {
  db.transaction(() => {
    for (const table of TABLES) {
      db.exec(table.create);
      if (table.addedColumns.length > 0) {
        const have = new Set(
          (db.prepare(`pragma table_info(${table.name})`).all() as Array<{ name: string }>).map((c) => c.name),
        );
        for (const column of table.addedColumns) {
          if (!have.has(column.name)) db.exec(`alter table ${table.name} add column ${column.ddl}`);
        }
      }
      for (const index of table.indexes) db.exec(index);
      if (table.name === TABLE_GRANTS && !options.deferGrantIndexes) createGrantIndexes(db);
    }
  })();
}

export function createGrantIndexes(db: Database.Database): void {
  for (const index of GRANT_SECONDARY_INDEXES) db.exec(index);
}
