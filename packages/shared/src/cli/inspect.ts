/**
 * `inspect`: prints what a sync file holds, like `baton resources` / `baton grants` / `baton stats`.
 *
 *   inspect <file> [resource-types|resources|entitlements|grants|stats|syncs] [filters] [--output table|json]
 *
 * The file is a v1 `.c1z` (recognised by its `C1ZF\0` magic) or a JSON lines export (`.jsonl`/`.json`, or any
 * file whose first byte is `{`). Reads use the sync chosen by `--sync-id`, else the default rules (latest finished
 * full sync, else latest unfinished one).
 *
 * Output: `table` (default) prints aligned columns with a header; `json` prints **JSON lines**, one protojson
 * object per line (the stored message as-is), so output streams and pipes into `jq -c`. `stats --output json`
 * prints a single object. Only data goes to stdout; errors go to stderr: a usage mistake in one line that points to
 * `--help` (exit 2), a file that cannot be read (missing, a directory, empty, no sync) in one line (exit 1).
 */
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { extname } from 'node:path';
import type { Writable } from 'node:stream';
import type { JsonValue } from '@bufbuild/protobuf';
import { ResourceType_Trait, ResourceTypeSchema, ResourceSchema } from '../gen/c1/connector/v2/resource_pb.js';
import { EntitlementSchema } from '../gen/c1/connector/v2/entitlement_pb.js';
import { GrantSchema } from '../gen/c1/connector/v2/grant_pb.js';
import {
  SyncStore,
  type Entitlement,
  type Grant,
  type Resource,
  type ResourceId,
  type ResourceType,
} from '../c1z/store.js';
import { sniffFile } from '../c1z/envelope.js';
import { messageToJson } from '../c1z/protojson.js';
import { BufferedWriter } from '../c1z/io.js';
import { SHARED_VERSION } from '../version.js';
import { closeMatches } from './suggest.js';

export interface InspectIo {
  stdout: Writable | NodeJS.WritableStream;
  stderr: Writable | NodeJS.WritableStream;
  /** How the user called it, for messages: `baton-inspect` (default) or `baton-twingate inspect`. */
  program?: string;
}

const SUBCOMMANDS = ['resource-types', 'resources', 'entitlements', 'grants', 'stats', 'syncs'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** Which filters make sense for which subcommand; anything else is rejected so a typo never silently lists all. */
const FILTERS: Record<Subcommand, readonly string[]> = {
  'resource-types': ['id'],
  resources: ['type', 'id', 'parent'],
  entitlements: ['type', 'id', 'resource'],
  grants: ['type', 'id', 'resource', 'entitlement', 'principal'],
  stats: [],
  syncs: [],
};

export const INSPECT_USAGE = `Usage: inspect <file.c1z|file.jsonl> [subcommand] [flags]

Subcommands:
  resource-types   ID, DISPLAY NAME, TRAITS
  resources        TYPE, ID, DISPLAY NAME, PARENT
  entitlements     ID, DISPLAY NAME, RESOURCE, GRANTABLE TO
  grants           ENTITLEMENT, PRINCIPAL, ID
  stats            row counts per kind and resource type (default)
  syncs            the sync runs in the file

Flags:
  --type <id>             resource type (resources: their type; entitlements/grants: the type of the resource
                          the entitlement is on)
  --id <id>               the object's own id (resource id, entitlement id, grant id, resource type id)
  --resource <type:id>    entitlements/grants on this resource
  --parent <type:id>      resources whose parent is this resource
  --entitlement <id>      grants of this entitlement
  --principal <type:id>   grants held by this principal
  --sync-id <id>          read this sync instead of the latest finished full sync
  --output table|json     table (default) or JSON lines (one protojson object per line)
  -h, --help              show this help
  -v, --version           print the version

Exit codes: 0 ok, 1 the file cannot be read (missing, a directory, empty, not a sync file), 2 usage error.
`;

class UsageError extends Error {}

interface Parsed {
  file: string;
  subcommand: Subcommand;
  output: 'table' | 'json';
  syncId?: string;
  filters: Partial<Record<'type' | 'id' | 'resource' | 'parent' | 'entitlement' | 'principal', string>>;
}

const OPTIONS = {
  type: { type: 'string' },
  id: { type: 'string' },
  resource: { type: 'string' },
  parent: { type: 'string' },
  entitlement: { type: 'string' },
  principal: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'sync-id': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** node's parser errors in our words: "unknown option --bogus (did you mean --id?)". */
function describeParseError(err: unknown): UsageError {
  const e = err as { code?: string; message: string };
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = /Unknown option '([^']+)'/.exec(e.message)?.[1] ?? '';
    const bare = name.replace(/^-+/, '').split('=')[0];
    const near = closeMatches(bare, Object.keys(OPTIONS)).map((o) => `--${o}`);
    return new UsageError(`unknown option ${name}${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''}`);
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = /--([\w-]+)/.exec(e.message)?.[1];
    if (name) return new UsageError(`--${name} needs a value`);
  }
  return new UsageError(e.message.split('. To specify')[0]);
}

function parse(argv: string[]): Parsed | 'help' | 'version' {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS }));
  } catch (err) {
    throw describeParseError(err);
  }
  if (values.help) return 'help';
  if (values.version) return 'version';
  const [file, sub = 'stats', ...extra] = positionals;
  if (!file) throw new UsageError('missing the file to read (a .c1z or .jsonl sync file)');
  if (extra.length > 0) throw new UsageError(`unexpected argument ${positionals.length} after the subcommand`);
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
    const near = closeMatches(sub, SUBCOMMANDS);
    throw new UsageError(
      `unknown subcommand ${JSON.stringify(sub)}` +
        (near.length ? ` (did you mean ${near.join(' or ')}?)` : ` (one of: ${SUBCOMMANDS.join(', ')})`),
    );
  }
  const subcommand = sub as Subcommand;
  const output = (values.output as string | undefined) ?? 'table';
  if (output !== 'table' && output !== 'json') {
    throw new UsageError(`--output must be "table" or "json", not ${JSON.stringify(output)}`);
  }
  const filters: Parsed['filters'] = {};
  for (const name of ['type', 'id', 'resource', 'parent', 'entitlement', 'principal'] as const) {
    const v = values[name];
    if (typeof v !== 'string') continue;
    if (!FILTERS[subcommand].includes(name)) throw new UsageError(`--${name} does not apply to ${subcommand}`);
    filters[name] = v;
  }
  for (const name of ['resource', 'parent', 'principal'] as const) {
    if (filters[name] !== undefined) parseResourceRef(filters[name]!, `--${name}`);
  }
  return { file, subcommand, output, syncId: values['sync-id'] as string | undefined, filters };
}

function parseResourceRef(text: string, flag: string): ResourceId {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1)
    throw new UsageError(`${flag} must look like <resource type>:<resource id>`);
  return {
    $typeName: 'c1.connector.v2.ResourceId',
    resourceType: text.slice(0, colon),
    resource: text.slice(colon + 1),
    batonResource: false,
  };
}

/** Runs the inspect command; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function runInspect(argv: string[], io: InspectIo): Promise<number> {
  const program = io.program ?? 'baton-inspect';
  let parsed: Parsed | 'help' | 'version';
  try {
    parsed = parse(argv);
  } catch (err) {
    io.stderr.write(`${program}: ${(err as Error).message} (see ${program} --help)\n`);
    return 2;
  }
  if (parsed === 'help') {
    io.stdout.write(INSPECT_USAGE.replace(/^Usage: inspect/, `Usage: ${program}`));
    return 0;
  }
  if (parsed === 'version') {
    io.stdout.write(`baton-inspect ${SHARED_VERSION}\n`);
    return 0;
  }
  let store: SyncStore | undefined;
  // The reader of stdout may go away (`inspect f grants | head`): that is a normal end, not an error.
  let stdoutError: NodeJS.ErrnoException | undefined;
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    stdoutError ??= err;
  };
  io.stdout.on('error', onStdoutError);
  try {
    store = await openInput(parsed.file);
    if (parsed.syncId) store.selectSync(parsed.syncId);
    warnIfUnfinished(store, parsed.file, io.stderr, program);
    const out = new BufferedWriter(io.stdout);
    await print(store, parsed, out);
    await out.flush();
    return 0;
  } catch (err) {
    const code = (stdoutError ?? (err as NodeJS.ErrnoException)).code;
    if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED') return 0;
    io.stderr.write(`${program}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    store?.close();
    io.stdout.removeListener('error', onStdoutError);
  }
}

/**
 * A sync without `ended_at` (a Go host keeps one in its c1z when a sync fails) holds part of the data at most: say
 * so, on stderr, so a partial file is never taken for a complete one.
 */
function warnIfUnfinished(store: SyncStore, file: string, stderr: InspectIo['stderr'], program: string): void {
  const selected = store.selectedSyncId;
  const run = store.listSyncs().find((s) => s.syncId === selected);
  if (run && run.endedAt === null) {
    stderr.write(
      `${program}: warning: sync ${run.syncId} in ${file} is unfinished (it has no end time): its records are partial\n`,
    );
  }
}

async function openInput(file: string): Promise<SyncStore> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new Error(`${file} does not exist`);
    if (err.code === 'ENOTDIR') throw new Error(`${file} does not exist (a part of the path is a file)`);
    throw new Error(`cannot read ${file}: ${err.message}`);
  });
  if (info.isDirectory()) throw new Error(`${file} is a directory, not a sync file (.c1z or .jsonl)`);
  const store = await openSyncFile(file);
  // A file without a sync (an empty JSON lines file, a c1z whose sync never started) has nothing to show.
  if (store.listSyncs().length === 0) {
    store.close();
    throw new Error(`${file} holds no sync: it has no records`);
  }
  return store;
}

async function openSyncFile(file: string): Promise<SyncStore> {
  const { kind, head } = await sniffFile(file);
  if (kind === 'empty') throw new Error(`${file} is empty, not a sync file`);
  if (kind === 'c1z') return SyncStore.openC1z(file);
  if (kind === 'c1z-v3') {
    throw new Error(`${file} is a v3 (Pebble) c1z, which is not supported; write it with --storage-engine sqlite`);
  }
  const ext = extname(file).toLowerCase();
  if (kind === 'sqlite') {
    // A sync's working file (docs/sync.md) is a bare database: never read as if it were a finished sync.
    throw new Error(
      ext === '.partial'
        ? `${file} is the working file of an unfinished sync, not a c1z: run the same sync command again to resume it (or delete it to start clean)`
        : `${file} is a bare SQLite database, not a c1z (a c1z starts with "C1ZF\\0")`,
    );
  }
  const looksJson = head.toString('utf8').trimStart().startsWith('{');
  if (ext === '.jsonl' || ext === '.ndjson' || looksJson || ext === '.json') {
    return SyncStore.fromJsonl(file);
  }
  throw new Error(`${file} is neither a c1z file nor JSON lines`);
}

// ---- printing -------------------------------------------------------------------------------------------

type Cells = string[];

interface Listing<T> {
  header: Cells;
  rows: Iterable<T>;
  cells: (item: T) => Cells;
  json: (item: T) => JsonValue;
}

async function print(store: SyncStore, p: Parsed, out: BufferedWriter): Promise<void> {
  const f = p.filters;
  switch (p.subcommand) {
    case 'stats':
      return printStats(store, p, out);
    case 'syncs':
      return emit(out, p.output, {
        header: ['ID', 'TYPE', 'STARTED', 'ENDED'],
        rows: store.listSyncs(),
        cells: (s) => [s.syncId, s.syncType, s.startedAt, s.endedAt ?? ''],
        json: (s) => ({ ...s }),
      });
    case 'resource-types': {
      const rows: Iterable<ResourceType> =
        f.id !== undefined ? optional(store.getResourceType(f.id)) : store.resourceTypes();
      return emit(out, p.output, {
        header: ['ID', 'DISPLAY NAME', 'TRAITS'],
        rows,
        cells: (rt) => [rt.id, rt.displayName, rt.traits.map(traitName).join(',')],
        json: (rt) => messageToJson(ResourceTypeSchema, rt),
      });
    }
    case 'resources': {
      let rows: Iterable<Resource>;
      if (f.id !== undefined && f.type !== undefined) {
        rows = optional(store.getResource(f.type, f.id));
      } else {
        const all = store.resources({
          resourceTypeId: f.type,
          parent: f.parent !== undefined ? parseResourceRef(f.parent, '--parent') : undefined,
        });
        rows = f.id !== undefined ? filter(all, (r) => r.id?.resource === f.id) : all;
      }
      return emit(out, p.output, {
        header: ['TYPE', 'ID', 'DISPLAY NAME', 'PARENT'],
        rows,
        cells: (r) => [r.id?.resourceType ?? '', r.id?.resource ?? '', r.displayName, ref(r.parentResourceId)],
        json: (r) => messageToJson(ResourceSchema, r),
      });
    }
    case 'entitlements': {
      const res = f.resource !== undefined ? parseResourceRef(f.resource, '--resource') : undefined;
      let rows: Iterable<Entitlement>;
      if (f.id !== undefined) {
        rows = filter(optional(store.getEntitlement(f.id)), (e) => matchesResource(e.resource?.id, f.type, res));
      } else {
        rows = store.entitlements({ resourceTypeId: res?.resourceType ?? f.type, resourceId: res?.resource });
        if (res && f.type !== undefined && f.type !== res.resourceType) rows = [];
      }
      return emit(out, p.output, {
        header: ['ID', 'DISPLAY NAME', 'RESOURCE', 'GRANTABLE TO'],
        rows,
        cells: (e) => [e.id, e.displayName, ref(e.resource?.id), e.grantableTo.map((t) => t.id).join(',')],
        json: (e) => messageToJson(EntitlementSchema, e),
      });
    }
    case 'grants': {
      const res = f.resource !== undefined ? parseResourceRef(f.resource, '--resource') : undefined;
      const principal = f.principal !== undefined ? parseResourceRef(f.principal, '--principal') : undefined;
      let rows: Iterable<Grant>;
      if (f.id !== undefined) {
        rows = filter(
          optional(store.getGrant(f.id)),
          (g) =>
            matchesResource(g.entitlement?.resource?.id, f.type, res) &&
            (f.entitlement === undefined || g.entitlement?.id === f.entitlement) &&
            (principal === undefined ||
              (g.principal?.id?.resourceType === principal.resourceType &&
                g.principal?.id?.resource === principal.resource)),
        );
      } else {
        rows = store.grants({
          entitlementId: f.entitlement,
          principal,
          resourceTypeId: res?.resourceType ?? f.type,
          resourceId: res?.resource,
        });
        if (res && f.type !== undefined && f.type !== res.resourceType) rows = [];
      }
      return emit(out, p.output, {
        header: ['ENTITLEMENT', 'PRINCIPAL', 'ID'],
        rows,
        cells: (g) => [g.entitlement?.id ?? '', ref(g.principal?.id), g.id],
        json: (g) => messageToJson(GrantSchema, g),
      });
    }
  }
}

async function printStats(store: SyncStore, p: Parsed, out: BufferedWriter): Promise<void> {
  const counts = store.counts();
  if (p.output === 'json') {
    await out.write(JSON.stringify({ syncId: store.selectedSyncId ?? '', ...counts }) + '\n');
    return;
  }
  const rows: Cells[] = [['resource_types', '', String(counts.resourceTypes)]];
  for (const [type, n] of Object.entries(counts.resources)) rows.push(['resources', type, String(n)]);
  rows.push(['entitlements', '', String(counts.entitlements)], ['grants', '', String(counts.grants)]);
  await emit(out, 'table', { header: ['KIND', 'TYPE', 'COUNT'], rows, cells: (c) => c, json: () => null });
}

/** Rows are aligned in blocks of this many: enough for typical files, bounded memory for huge ones. */
const TABLE_BLOCK = 5000;

async function emit<T>(out: BufferedWriter, output: 'table' | 'json', listing: Listing<T>): Promise<void> {
  if (output === 'json') {
    for (const item of listing.rows) await out.write(JSON.stringify(listing.json(item)) + '\n');
    return;
  }
  let widths: number[] | undefined;
  let block: Cells[] = [];
  const flushBlock = async () => {
    if (!widths) {
      // Column widths come from the header and the first block; later blocks keep them so columns stay put.
      widths = listing.header.map((h, i) => Math.max(h.length, ...block.map((r) => (r[i] ?? '').length)));
      await out.write(formatRow(listing.header, widths));
    }
    for (const r of block) await out.write(formatRow(r, widths));
    block = [];
  };
  for (const item of listing.rows) {
    block.push(listing.cells(item).map(clean));
    if (block.length >= TABLE_BLOCK) await flushBlock();
  }
  await flushBlock();
}

function formatRow(cells: Cells, widths: number[]): string {
  const last = cells.length - 1;
  return (
    cells
      .map((c, i) => (i === last ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd() + '\n'
  );
}

/** Keeps one row per line whatever the data holds. */
function clean(cell: string): string {
  return cell.replace(/[\r\n\t]+/g, ' ');
}

function ref(id: ResourceId | undefined): string {
  return id ? `${id.resourceType}:${id.resource}` : '';
}

function traitName(t: ResourceType_Trait): string {
  return (ResourceType_Trait[t] ?? String(t)).toLowerCase();
}

function matchesResource(id: ResourceId | undefined, type: string | undefined, res: ResourceId | undefined): boolean {
  if (type !== undefined && id?.resourceType !== type) return false;
  if (res && (id?.resourceType !== res.resourceType || id?.resource !== res.resource)) return false;
  return true;
}

function optional<T>(item: T | undefined): T[] {
  return item === undefined ? [] : [item];
}

function* filter<T>(items: Iterable<T>, keep: (item: T) => boolean): Generator<T> {
  for (const item of items) if (keep(item)) yield item;
}
