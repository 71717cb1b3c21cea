/**
 * The sync checkpoint: the state the sync engine (sync.ts) saves in `v1_sync_runs.sync_token` after every page it
 * stores, in the same SQLite transaction as that page's rows, so that an interrupted sync resumes exactly after the
 * last stored page (docs/sync.md, "Checkpoints").
 *
 * The shape is the Go syncer's state token as baton-sdk v0.2.x writes it, which every later SDK still reads (its
 * "version 0" token): a stack of actions `{operation, page_token, resource_type_id, resource_id,
 * parent_resource_type_id, parent_resource_id}` (empty fields left out), the top one in `current_action`, the rest
 * bottom first in `actions`, and `needs_expansion`. We add one object Go ignores, `baton_ts`, with our version and
 * the resume key (which connector and config wrote the checkpoint). Go-written tokens in the newer form
 * (`actions_map` + `action_order`, `version` 1 or 2) are read too.
 */

/** The actions of the sync (Go's operation names). */
export type SyncActionOp =
  'init' | 'list-resource-types' | 'list-resources' | 'list-entitlements' | 'list-grants' | 'grant-expansion';

const OPS: ReadonlySet<string> = new Set<SyncActionOp>([
  'init',
  'list-resource-types',
  'list-resources',
  'list-entitlements',
  'list-grants',
  'grant-expansion',
]);

/**
 * One pending step. `list-resources` without a type means "every stored type at top level"; `list-entitlements` /
 * `list-grants` without a resource walk the stored resources from `pageToken` (a store cursor), and with one list
 * that resource's entitlements or grants from `pageToken` (the connector's token).
 */
export interface SyncAction {
  op: SyncActionOp;
  pageToken?: string;
  resourceTypeId?: string;
  resourceId?: string;
  parentResourceTypeId?: string;
  parentResourceId?: string;
}

export interface SyncCheckpoint {
  /** Pending actions, bottom first: the last one runs next. Empty when the sync has nothing left to do. */
  actions: SyncAction[];
  /** Some stored grant carries `GrantExpandable`, so the grant-expansion step has work to do. */
  needsExpansion: boolean;
  /** Who may resume the sync (connector and config fingerprint); empty when not recorded. */
  resumeKey: string;
}

/** Our own version of the `baton_ts` extension; a different one is not resumed. */
export const CHECKPOINT_VERSION = 1;

/** The checkpoint of a sync that has just started: Go's `init` action. */
export function initialCheckpoint(resumeKey = ''): SyncCheckpoint {
  return { actions: [{ op: 'init' }], needsExpansion: false, resumeKey };
}

/** The token cannot be resumed (corrupt, or written by something we do not understand). */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

interface WireAction {
  operation?: string;
  page_token?: string;
  resource_type_id?: string;
  resource_id?: string;
  parent_resource_type_id?: string;
  parent_resource_id?: string;
}

function toWire(a: SyncAction): WireAction {
  // Key order follows Go's struct, empty fields left out (omitempty).
  const w: WireAction = { operation: a.op };
  if (a.pageToken) w.page_token = a.pageToken;
  if (a.resourceTypeId) w.resource_type_id = a.resourceTypeId;
  if (a.resourceId) w.resource_id = a.resourceId;
  if (a.parentResourceTypeId) w.parent_resource_type_id = a.parentResourceTypeId;
  if (a.parentResourceId) w.parent_resource_id = a.parentResourceId;
  return w;
}

function text(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new CheckpointError(`sync token: ${field} is not a string`);
  return value;
}

function fromWire(value: unknown): SyncAction {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new CheckpointError('sync token: an action is not an object');
  }
  const w = value as Record<string, unknown>;
  const op = text(w.operation, 'operation');
  if (op === undefined || !OPS.has(op)) {
    throw new CheckpointError(`sync token: unsupported operation ${JSON.stringify(w.operation ?? '')}`);
  }
  const a: SyncAction = { op: op as SyncActionOp };
  const pageToken = text(w.page_token, 'page_token');
  const resourceTypeId = text(w.resource_type_id, 'resource_type_id');
  const resourceId = text(w.resource_id, 'resource_id');
  const parentResourceTypeId = text(w.parent_resource_type_id, 'parent_resource_type_id');
  const parentResourceId = text(w.parent_resource_id, 'parent_resource_id');
  if (pageToken !== undefined) a.pageToken = pageToken;
  if (resourceTypeId !== undefined) a.resourceTypeId = resourceTypeId;
  if (resourceId !== undefined) a.resourceId = resourceId;
  if (parentResourceTypeId !== undefined) a.parentResourceTypeId = parentResourceTypeId;
  if (parentResourceId !== undefined) a.parentResourceId = parentResourceId;
  return a;
}

/** The `sync_token` text of a checkpoint (Go's version-0 token plus `baton_ts`). */
export function serializeCheckpoint(checkpoint: SyncCheckpoint): string {
  const wire: Record<string, unknown> = {};
  const below = checkpoint.actions.slice(0, -1);
  const current = checkpoint.actions.at(-1);
  if (below.length > 0) wire.actions = below.map(toWire);
  if (current) wire.current_action = toWire(current);
  if (checkpoint.needsExpansion) wire.needs_expansion = true;
  wire.baton_ts = { version: CHECKPOINT_VERSION, resume_key: checkpoint.resumeKey };
  return JSON.stringify(wire);
}

/**
 * Reads a `sync_token`. Throws CheckpointError when it is not JSON, holds an operation we do not run, or carries a
 * `baton_ts` version other than ours. `""` (a sync that never checkpointed) is the initial checkpoint.
 */
export function parseCheckpoint(token: string): SyncCheckpoint {
  if (token === '') return initialCheckpoint();
  let doc: unknown;
  try {
    doc = JSON.parse(token);
  } catch {
    throw new CheckpointError('sync token is not JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new CheckpointError('sync token is not an object');
  const d = doc as Record<string, unknown>;

  let resumeKey = '';
  if (d.baton_ts !== undefined) {
    const ext = d.baton_ts as Record<string, unknown> | null;
    if (!ext || typeof ext !== 'object' || ext.version !== CHECKPOINT_VERSION) {
      throw new CheckpointError(`sync token was written by an unsupported version (${JSON.stringify(d.baton_ts)})`);
    }
    resumeKey = text(ext.resume_key, 'baton_ts.resume_key') ?? '';
  }

  let actions: SyncAction[];
  if (d.actions_map !== undefined || d.action_order !== undefined) {
    // Newer Go SDKs: actions by id, and their order bottom first.
    const map = (d.actions_map ?? {}) as Record<string, unknown>;
    const order = d.action_order ?? [];
    if (typeof map !== 'object' || !Array.isArray(order)) throw new CheckpointError('sync token: bad action map');
    actions = order.map((id) => {
      if (typeof id !== 'string' || !(id in map)) throw new CheckpointError('sync token: action order names no action');
      return fromWire(map[id]);
    });
  } else {
    const below = d.actions ?? [];
    if (!Array.isArray(below)) throw new CheckpointError('sync token: actions is not a list');
    actions = below.map(fromWire);
    if (d.current_action !== undefined && d.current_action !== null) actions.push(fromWire(d.current_action));
  }
  const needs = d.needs_expansion;
  if (needs !== undefined && typeof needs !== 'boolean') throw new CheckpointError('sync token: bad needs_expansion');
  return { actions, needsExpansion: needs === true, resumeKey };
}
