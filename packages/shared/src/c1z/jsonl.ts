/**
 * JSON Lines export and import of a sync, for pipelines. One object per line:
 *   {"kind":"resource_type"|"resource"|"entitlement"|"grant","syncId":"<sync id>","data":<protojson of the message>}
 * in the order resource types, resources, entitlements, grants. `data` is canonical protojson (lowerCamelCase
 * names, enums by name, defaults omitted, annotations as `{"@type": …}` objects). Both directions stream.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import type { DescMessage, JsonValue } from '@bufbuild/protobuf';
import { ResourceSchema, ResourceTypeSchema } from '../gen/c1/connector/v2/resource_pb.js';
import { EntitlementSchema } from '../gen/c1/connector/v2/entitlement_pb.js';
import { GrantSchema } from '../gen/c1/connector/v2/grant_pb.js';
import type { Entitlement, Grant, Resource, ResourceType, SyncStore } from './store.js';
import { messageFromJson, messageToJson } from './protojson.js';
import { BufferedWriter, type WritableLike } from './io.js';

export type JsonlKind = 'resource_type' | 'resource' | 'entitlement' | 'grant';

export type JsonlRecord =
  | { kind: 'resource_type'; syncId: string; message: ResourceType }
  | { kind: 'resource'; syncId: string; message: Resource }
  | { kind: 'entitlement'; syncId: string; message: Entitlement }
  | { kind: 'grant'; syncId: string; message: Grant };

export const JSONL_SCHEMAS: Record<JsonlKind, DescMessage> = {
  resource_type: ResourceTypeSchema,
  resource: ResourceSchema,
  entitlement: EntitlementSchema,
  grant: GrantSchema,
};

/** One line (with the trailing newline). */
export function jsonlLine(kind: JsonlKind, syncId: string, data: JsonValue): string {
  return JSON.stringify({ kind, syncId, data }) + '\n';
}

/** Writes the selected sync of `store` as JSON lines to a path (atomically) or a stream (left open). */
export async function writeJsonl(store: SyncStore, target: string | WritableLike): Promise<void> {
  if (typeof target !== 'string') {
    await writeRecords(store, target);
    return;
  }
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const out = createWriteStream(tmp, { flags: 'wx' });
  try {
    await writeRecords(store, out);
    out.end();
    await finished(out);
    await rename(tmp, target);
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}

async function writeRecords(store: SyncStore, stream: WritableLike): Promise<void> {
  const syncId = store.selectedSyncId;
  if (!syncId) return;
  const out = new BufferedWriter(stream);
  // Pin the sync so the four passes read the same one.
  const read = { syncId };
  const pages = async <T>(
    kind: JsonlKind,
    list: (opts: { pageToken: string; syncId: string }) => { list: T[]; nextPageToken: string },
  ) => {
    const schema = JSONL_SCHEMAS[kind];
    let pageToken = '';
    do {
      const page = list({ ...read, pageToken });
      for (const m of page.list) await out.write(jsonlLine(kind, syncId, messageToJson(schema, m as never)));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  };
  await pages('resource_type', (o) => store.listResourceTypes(o));
  await pages('resource', (o) => store.listResources({}, o));
  await pages('entitlement', (o) => store.listEntitlements({}, o));
  await pages('grant', (o) => store.listGrants({}, o));
  await out.flush();
}

/** Parses a JSON lines file record by record; errors name the line. Blank lines are skipped. */
export async function* readJsonl(path: string): AsyncGenerator<JsonlRecord, void, undefined> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      yield parseJsonlLine(line, `${path}:${lineNo}`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`file not found: ${path}`);
    throw err;
  } finally {
    lines.close();
    input.destroy();
  }
}

export function parseJsonlLine(line: string, where = 'line'): JsonlRecord {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    throw new Error(`${where}: invalid JSON: ${(err as Error).message}`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${where}: not a JSON object`);
  const { kind, syncId, data } = obj as { kind?: unknown; syncId?: unknown; data?: unknown };
  if (typeof kind !== 'string' || !(kind in JSONL_SCHEMAS)) {
    throw new Error(`${where}: unknown kind ${JSON.stringify(kind)}`);
  }
  if (typeof syncId !== 'string') throw new Error(`${where}: missing syncId`);
  if (data === null || typeof data !== 'object') throw new Error(`${where}: missing data`);
  try {
    const message = messageFromJson(JSONL_SCHEMAS[kind as JsonlKind], data as JsonValue);
    return { kind, syncId, message } as JsonlRecord;
  } catch (err) {
    throw new Error(`${where}: invalid ${kind}: ${(err as Error).message}`);
  }
}

const IMPORT_BATCH = 1000;

/**
 * Loads a JSON lines file into a store: each distinct syncId becomes a finished full sync (ended in order of
 * first appearance, so the last one is what readers pick by default), rows are written in batches.
 */
export async function importJsonl(store: SyncStore, path: string): Promise<string[]> {
  const syncIds: string[] = [];
  const known = new Set<string>();
  const batches = new Map<string, JsonlRecord[]>();
  const flush = (key: string) => {
    const batch = batches.get(key);
    if (!batch || batch.length === 0) return;
    batches.delete(key);
    const { kind, syncId } = batch[0];
    const messages = batch.map((r) => r.message);
    if (kind === 'resource_type') store.putResourceTypesIn(syncId, messages as ResourceType[]);
    else if (kind === 'resource') store.putResourcesIn(syncId, messages as Resource[]);
    else if (kind === 'entitlement') store.putEntitlementsIn(syncId, messages as Entitlement[]);
    else store.putGrantsIn(syncId, messages as Grant[]);
  };
  for await (const record of readJsonl(path)) {
    if (!known.has(record.syncId)) {
      if (!record.syncId) throw new Error(`${path}: empty syncId`);
      known.add(record.syncId);
      syncIds.push(record.syncId);
      store.insertSyncRun({ syncId: record.syncId });
    }
    const key = `${record.kind}\u0000${record.syncId}`;
    let batch = batches.get(key);
    if (!batch) batches.set(key, (batch = []));
    batch.push(record);
    if (batch.length >= IMPORT_BATCH) flush(key);
  }
  for (const key of [...batches.keys()]) flush(key);
  for (const syncId of syncIds) store.finishSyncRun(syncId);
  return syncIds;
}
