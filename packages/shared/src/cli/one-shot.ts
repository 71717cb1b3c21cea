/**
 * One-shot mode, the parent side (docs/cli.md): like a Go connector, the process spawns itself as the connector
 * service (`<node> <this script> <same argv> _connector-service`) and drives it over the real handshake: a full
 * sync into `--file`, or one provisioning call whose ids are looked up in `--file` (which a successful grant or
 * revoke then updates, so the next one-shot sees the change).
 */
import { access, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import type { JsonObject } from '@bufbuild/protobuf';
import { SyncStore, WorkingFileBusyError } from '../c1z/store.js';
import { ConnectorExitedError, RpcError } from '../host/client.js';
import { spawnConnector, type ConnectorProcess } from '../host/spawn.js';
import { runSync, SyncError, type SyncSummary } from '../host/sync.js';
import {
  createAccount,
  deleteResource,
  grantEntitlement,
  ProvisionLookupError,
  revokeGrant,
  type ProvisionStoreLike,
} from '../host/provision.js';
import type { Logger } from '../log/logger.js';
import { redactSecrets } from '../log/secrets.js';
import { grant as buildGrant } from '../sdk/entitlements.js';
import { newRuntimeStats, type ConnectorDefinition } from '../sdk/connector.js';
import type { Grant } from '../gen/c1/connector/v2/grant_pb.js';
import { listenForChildEvents, type ChildEventsServer } from './child-events.js';
import { batonBool, batonNumber, batonString, ConfigError, UsageError, type ParsedCli } from './config.js';
import { envNameOf, ONE_SHOT_ENV } from './flags.js';
import { OutputFileError, prepareOutputFile } from './output-file.js';
import { createSyncMonitor, DEFAULT_PROGRESS_INTERVAL_MS } from './progress.js';
import { openWorkingStore, resumeKeyOf, workingFilePath, type WorkingStore } from './sync-resume.js';

export type OutputFormat = 'c1z' | 'jsonl';

export interface ParentContext {
  definition: ConnectorDefinition;
  parsed: ParsedCli;
  logger: Logger;
  /** The argv this process was started with (handed unchanged to the child). */
  argv: string[];
  childEnv: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** The validated connector config (to build the connector in this process without I/O, for capability checks). */
  config: unknown;
}

/** A failure to report as `error: <message>` with exit code 1 (no stack, nothing else). */
export class CommandError extends Error {
  override name = 'CommandError';
}

export function outputFormat(parsed: ParsedCli): OutputFormat {
  const explicit = batonString(parsed, 'output-format');
  if (explicit !== undefined) {
    if (explicit !== 'c1z' && explicit !== 'jsonl') {
      throw new ConfigError([
        `--output-format (${envNameOf('output-format')}) must be c1z or jsonl, got ${JSON.stringify(explicit)}`,
      ]);
    }
    return explicit;
  }
  return extname(outputFile(parsed)).toLowerCase() === '.jsonl' ? 'jsonl' : 'c1z';
}

/** `--file`, default `sync.c1z`. An explicitly empty value is a mistake, not a request for the default. */
export function outputFile(parsed: ParsedCli): string {
  const setting = parsed.baton.get('file');
  if (setting && setting.source !== 'default' && typeof setting.value === 'string' && setting.value.trim() === '') {
    const where =
      setting.source === 'file' ? 'in the config file' : setting.source === 'env' ? 'in the environment' : '';
    throw new ConfigError([
      `--file (${envNameOf('file')}) is empty${where ? ` ${where}` : ''}: give the file to write, e.g. --file sync.c1z`,
    ]);
  }
  return batonString(parsed, 'file') ?? 'sync.c1z';
}

/** `--sync-page-size`: the `page_size` of every list request (0, the default: the connector chooses). */
function syncPageSize(parsed: ParsedCli): number {
  return batonNumber(parsed, 'sync-page-size', { pattern: /^\s*\d+\s*$/, what: 'a whole number of items' }) ?? 0;
}

/** `--progress-interval` in milliseconds (seconds on the command line; 0 turns the periodic log line off). */
function progressIntervalMs(parsed: ParsedCli): number {
  const seconds = batonNumber(parsed, 'progress-interval', {
    pattern: /^\s*\d+(\.\d+)?\s*$/,
    what: 'a number of seconds',
  });
  return seconds === undefined ? DEFAULT_PROGRESS_INTERVAL_MS : Math.round(seconds * 1000);
}

/** The one-shot action the flags select, in v0.2.45 precedence order. */
export type OneShotAction =
  | { kind: 'grant'; entitlementId: string; principalId: string; principalType: string }
  | { kind: 'revoke'; grantId: string }
  | { kind: 'create-account'; login: string; email?: string; profile?: JsonObject; resourceTypeId?: string }
  | { kind: 'delete-resource'; resourceId: string; resourceType: string }
  | { kind: 'sync' };

export function selectAction(parsed: ParsedCli): OneShotAction {
  const s = (name: string) => batonString(parsed, name);
  const requireAll = (trigger: string, names: string[]) => {
    const missing = names.filter((n) => s(n) === undefined);
    if (missing.length > 0) {
      throw new ConfigError([`--${trigger} requires ${missing.map((m) => `--${m} (${envNameOf(m)})`).join(' and ')}`]);
    }
  };
  if (s('grant-entitlement') !== undefined) {
    requireAll('grant-entitlement', ['grant-principal', 'grant-principal-type']);
    return {
      kind: 'grant',
      entitlementId: s('grant-entitlement')!,
      principalId: s('grant-principal')!,
      principalType: s('grant-principal-type')!,
    };
  }
  for (const orphan of ['grant-principal', 'grant-principal-type']) {
    if (s(orphan) !== undefined)
      throw new ConfigError([`--${orphan} (${envNameOf(orphan)}) needs --grant-entitlement`]);
  }
  const revoke = s('revoke-grant');
  if (revoke !== undefined) return { kind: 'revoke', grantId: revoke };
  const login = s('create-account-login');
  if (login !== undefined) {
    const profileText = s('create-account-profile');
    let profile: JsonObject | undefined;
    if (profileText !== undefined) {
      let value: unknown;
      try {
        value = JSON.parse(profileText);
      } catch {
        value = undefined;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new ConfigError([
          `--create-account-profile (${envNameOf('create-account-profile')}) must be a JSON object`,
        ]);
      }
      profile = value as JsonObject;
    }
    return {
      kind: 'create-account',
      login,
      email: s('create-account-email'),
      profile,
      resourceTypeId: s('create-account-resource-type'),
    };
  }
  for (const orphan of ['create-account-email', 'create-account-profile', 'create-account-resource-type']) {
    if (s(orphan) !== undefined)
      throw new ConfigError([`--${orphan} (${envNameOf(orphan)}) needs --create-account-login`]);
  }
  if (s('delete-resource') !== undefined) {
    requireAll('delete-resource', ['delete-resource-type']);
    return { kind: 'delete-resource', resourceId: s('delete-resource')!, resourceType: s('delete-resource-type')! };
  }
  if (s('delete-resource-type') !== undefined) {
    throw new ConfigError([`--delete-resource-type (${envNameOf('delete-resource-type')}) needs --delete-resource`]);
  }
  return { kind: 'sync' };
}

/** Spawn this program as its own connector service, exactly as a Go connector does. */
async function spawnSelf(ctx: ParentContext, extraEnv: Record<string, string> = {}): Promise<ConnectorProcess> {
  const script = process.argv[1];
  if (!script) throw new CommandError("cannot find this program's script path to spawn the connector service");
  return spawnConnector({
    command: process.execPath,
    args: [...process.execArgv, script, ...ctx.argv],
    env: { ...ctx.childEnv, ...extraEnv },
    stderr: 'inherit',
    logger: ctx.logger,
    dialTimeoutMs: SELF_READY_LIMIT_MS,
  });
}

/**
 * How long the one-shot CLI waits for its own child to become ready. A Go host gives a plugin 5 s; the child here is
 * this very program, so while it lives it is still starting, and on a loaded machine (a CI box, many syncs at once)
 * start-up can take longer than 5 s. A child that exits is reported at once whatever the limit.
 */
const SELF_READY_LIMIT_MS = 60_000;

/**
 * Closes the child and the store if the user interrupts us, so no temp files or processes are left behind, then
 * says what happened to the file and exits 130 (SIGINT) or 143 (SIGTERM).
 */
function onInterrupt(cleanup: (signal: NodeJS.Signals) => Promise<string>, stderr: NodeJS.WritableStream): () => void {
  const handler = (signal: NodeJS.Signals) => {
    interrupting = true;
    void cleanup(signal)
      .catch((err: unknown) => `interrupted (${signal}): ${err instanceof Error ? err.message : String(err)}`)
      .then((message) => {
        stderr.write(redactSecrets(message) + '\n');
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Set by the interrupt handler: the failures that the interrupt itself causes (a closed child) are not reported. */
let interrupting = false;

/** Waits for the interrupt handler to exit the process instead of reporting an error the interrupt caused. */
function afterInterrupt(): Promise<never> {
  return new Promise<never>(() => {});
}

function failureMessage(err: unknown): string {
  if (
    err instanceof SyncError &&
    err.cause instanceof ConnectorExitedError &&
    !err.message.includes(err.cause.message)
  ) {
    return `${err.message}: ${err.cause.message}`;
  }
  if (err instanceof RpcError) return `${err.codeName}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Checks the one-shot flags without side effects (the action, --file, --output-format, --progress-interval), so a
 * mistake is reported before anything starts (a demo simulator, the child).
 */
export function checkOneShotFlags(parsed: ParsedCli): void {
  const action = selectAction(parsed);
  outputFormat(parsed);
  if (action.kind === 'sync') {
    progressIntervalMs(parsed);
    syncPageSize(parsed);
  }
}

export async function runOneShot(ctx: ParentContext): Promise<number> {
  const action = selectAction(ctx.parsed);
  if (action.kind === 'sync') return runDefaultSync(ctx);
  return runProvisioning(ctx, action);
}

// -- sync -------------------------------------------------------------------------------------------------------

async function runDefaultSync(ctx: ParentContext): Promise<number> {
  const { parsed, logger } = ctx;
  const file = outputFile(parsed);
  const format = outputFormat(parsed);
  const intervalMs = progressIntervalMs(parsed);
  const tempDir = batonString(parsed, 'c1z-temp-dir');
  const started = Date.now();

  // Before the first API request: a target that cannot be written fails now, not after minutes of syncing.
  const output = await prepareOutputFile(file).catch((err: unknown) => {
    throw err instanceof OutputFileError ? new CommandError(err.message) : err;
  });
  const untouched = output.existed ? `${file} was left untouched` : `no file was written`;

  const skipFullSync = batonBool(parsed, 'skip-full-sync');
  const pageSize = syncPageSize(parsed);
  // The sync is written into the working file, which survives us being killed; the next run resumes from it.
  const working = workingFilePath(output.path, tempDir);
  const resumeKey = resumeKeyOf(ctx.definition, parsed, ctx.config, pageSize);
  let opened: WorkingStore;
  try {
    opened = skipFullSync ? { store: SyncStore.create({ tempDir }) } : openWorkingStore(working, resumeKey, logger);
  } catch (err) {
    await output.undo();
    if (err instanceof WorkingFileBusyError) {
      throw new CommandError(
        `another sync into ${file} is running (it holds ${working}); wait for it to finish or stop it; ${untouched}`,
      );
    }
    throw new CommandError(`cannot open the working file ${working}: ${(err as Error).message}; ${untouched}`);
  }
  const store = opened.store;
  if (!skipFullSync) {
    // We hold the working file's lock, so no other sync writes this output: temporary files of an earlier write
    // into it (a sync killed while compressing) are leftovers.
    for (const name of await tempFilesOf(output.path)) await rm(`${dirname(output.path)}/${name}`, { force: true });
  }
  /** What the user can do about an unfinished sync, once the sync has started. */
  const kept = () =>
    !skipFullSync && store.unfinishedSync()
      ? `; its progress is kept in ${working}: run the same command again to resume`
      : '';
  /** Closes the store: the working file stays when it holds an unfinished sync to resume, else it goes. */
  const closeStore = () => {
    if (skipFullSync || store.unfinishedSync()) store.close();
    else store.discard();
  };
  let child: ConnectorProcess | undefined;
  const monitor = createSyncMonitor({
    logger,
    connector: { name: ctx.definition.name, displayName: ctx.definition.metadata.displayName },
    interactive: batonBool(parsed, 'quiet') ? false : undefined,
    intervalMs,
  });
  let events: ChildEventsServer | undefined;
  let stage: 'syncing' | 'writing' = 'syncing';
  let tempFilesBefore: Set<string> | undefined;
  const removeInterrupt = onInterrupt(async (signal) => {
    monitor.stop();
    await child?.close().catch(() => {});
    const resumable = kept();
    closeStore();
    await events?.close().catch(() => {});
    if (stage === 'writing') {
      // The write goes to a temporary file renamed over the target at the end; remove the unfinished one.
      await removeNewTempFiles(output.path, tempFilesBefore);
      return `sync interrupted (${signal}) while writing ${file}; ${untouched}`;
    }
    await output.undo();
    return `sync interrupted (${signal}); ${untouched}${resumable}`;
  }, ctx.stderr);

  let summary: SyncSummary;
  try {
    logger.info('sync starting', { file, format, ...(opened.resume ? { resuming: opened.resume.syncId } : {}) });
    // Best effort: without the channel the display simply learns about waits when each RPC returns.
    events = await listenForChildEvents((e) => monitor.childEvent(e)).catch((err: unknown) => {
      logger.debug('progress events unavailable', { error: err instanceof Error ? err.message : String(err) });
      return undefined;
    });
    child = await spawnSelf(ctx, events?.env);
    if (skipFullSync) {
      // v0.2.x: Validate, then an empty sync.
      const t0 = Date.now();
      const v = await child.client.validate({});
      store.startSync();
      store.endSync();
      summary = emptySummary(v.sdkVersion, Date.now() - t0, child.client.lastStats?.apiRequests);
    } else {
      summary = await runSync(child.client, store, {
        logger,
        pageSize,
        onProgress: (p) => monitor.update(p),
        onTypeFinished: (e) => monitor.typeFinished(e),
        resume: opened.resume,
        resumeKey,
        restart: {
          // The connector process died mid-sync: a new one, through the same handshake, takes over.
          start: async () => {
            await child?.close().catch(() => {});
            child = await spawnSelf(ctx, events?.env);
            return child.client;
          },
        },
      });
    }
  } catch (err) {
    if (interrupting) return afterInterrupt();
    monitor.stop();
    removeInterrupt();
    await child?.close().catch(() => {});
    const resumable = kept();
    closeStore();
    await events?.close().catch(() => {});
    await output.undo();
    throw new CommandError(`sync failed: ${failureMessage(err)}; ${untouched}${resumable}`);
  }
  monitor.stop();
  stage = 'writing';
  try {
    await child.close();
    await events?.close().catch(() => {});
    tempFilesBefore = await tempFilesOf(output.path);
    if (format === 'jsonl') await store.exportJsonl(output.path);
    else await store.saveC1z(output.path);
  } catch (err) {
    if (interrupting) return afterInterrupt();
    await output.undo();
    throw new CommandError(`cannot write ${file}: ${(err as Error).message}`);
  } finally {
    removeInterrupt();
    // Written (or failed to write): a finished sync is not resumed, so the working file goes.
    store.discard();
  }
  const seconds = (Date.now() - started) / 1000;
  logger.info('sync finished', { file, format, seconds, resources: summary.resources, grants: summary.grants });

  const summaryPath = batonString(parsed, 'summary-json');
  if (summaryPath) {
    const doc = { connector: ctx.definition.name, version: ctx.definition.version, file, format, seconds, ...summary };
    await writeFile(summaryPath, JSON.stringify(doc, null, 2) + '\n');
  }
  if (!batonBool(parsed, 'quiet')) ctx.stdout.write(formatSummary(ctx.definition, summary, file, format, seconds));
  return 0;
}

/** Names of the write's temporary files next to `target` (`.<name>.<random>.tmp`, see c1z/envelope.ts). */
async function tempFilesOf(target: string): Promise<Set<string>> {
  const prefix = `.${basename(target)}.`;
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  return new Set(names.filter((n) => n.startsWith(prefix) && n.endsWith('.tmp')));
}

async function removeNewTempFiles(target: string, before: Set<string> | undefined): Promise<void> {
  if (!before) return;
  for (const name of await tempFilesOf(target)) {
    if (!before.has(name)) await rm(`${dirname(target)}/${name}`, { force: true });
  }
}

function emptySummary(sdkVersion: string, ms: number, apiRequests: number | undefined): SyncSummary {
  return {
    sdkVersion,
    resourceTypes: 0,
    resources: 0,
    entitlements: 0,
    grants: 0,
    expandedGrants: 0,
    updatedGrants: 0,
    dropped: { resourceTypes: 0, resources: 0, entitlements: 0, grants: 0, duplicateResources: 0 },
    perType: {},
    durationsMs: {
      validate: ms,
      resourceTypes: 0,
      resources: 0,
      entitlements: 0,
      grants: 0,
      grantExpansion: 0,
      total: ms,
    },
    rpcCount: 1,
    retries: 0,
    rateLimitWaits: 0,
    rateLimitWaitMs: 0,
    apiRequests,
    resumed: false,
    restarts: 0,
  };
}

/** The short report printed on stdout after a sync. */
export function formatSummary(
  definition: ConnectorDefinition,
  s: SyncSummary,
  file: string,
  format: OutputFormat,
  seconds: number,
): string {
  const lines: string[] = [];
  lines.push(
    `baton-${definition.name}: synced ${s.resourceTypes} resource types into ${file} (${format}) in ${seconds.toFixed(2)}s`,
  );
  const types = Object.keys(s.perType).sort();
  if (types.length > 0) {
    const w = Math.max(13, ...types.map((t) => t.length));
    const row = (a: string, b: string | number, c: string | number, d: string | number) =>
      `  ${a.padEnd(w)}  ${String(b).padStart(10)}  ${String(c).padStart(12)}  ${String(d).padStart(10)}`;
    lines.push(row('resource type', 'resources', 'entitlements', 'grants'));
    for (const t of types) lines.push(row(t, s.perType[t].resources, s.perType[t].entitlements, s.perType[t].grants));
    lines.push(row('total', s.resources, s.entitlements, s.grants));
  }
  const extras = [
    `API requests ${s.apiRequests ?? '-'}`,
    `RPCs ${s.rpcCount}`,
    `rate-limit waits ${s.rateLimitWaits + (s.serverStats?.rateLimitWaits ?? 0)}`,
  ];
  if (s.expandedGrants) extras.push(`expanded grants ${s.expandedGrants}`);
  if (s.retries) extras.push(`retries ${s.retries}`);
  lines.push(`  ${extras.join(' · ')}`);
  return lines.join('\n') + '\n';
}

// -- provisioning -------------------------------------------------------------------------------------------------

async function openSyncFile(ctx: ParentContext): Promise<SyncStore> {
  const file = outputFile(ctx.parsed);
  const tempDir = batonString(ctx.parsed, 'c1z-temp-dir');
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (!exists) {
    throw new CommandError(
      `sync file ${file} does not exist: provisioning looks up ids in the sync file, so run a sync first (or pass --file)`,
    );
  }
  try {
    return outputFormat(ctx.parsed) === 'jsonl'
      ? await SyncStore.fromJsonl(file, { tempDir })
      : await SyncStore.openC1z(file, { tempDir });
  } catch (err) {
    throw new CommandError(`cannot read sync file ${file}: ${(err as Error).message}`);
  }
}

/**
 * Refuses, before anything is spawned, an action the connector does not implement at all, in the words of its
 * capabilities (`baton-<name> capabilities` prints them). The connector is built here without I/O, as for the
 * `capabilities` command.
 */
function checkCapability(ctx: ParentContext, action: Exclude<OneShotAction, { kind: 'sync' }>): void {
  if (action.kind !== 'create-account' && action.kind !== 'delete-resource') return;
  const bin = `baton-${ctx.definition.name}`;
  const connector = ctx.definition.create(ctx.config as never, { logger: ctx.logger, stats: newRuntimeStats() });
  const see = `see \`${bin} capabilities\``;
  if (action.kind === 'create-account') {
    if (!connector.accountManager) {
      throw new CommandError(
        `${bin} cannot create accounts: its capabilities do not include CAPABILITY_ACCOUNT_PROVISIONING (${see}); ` +
          '--create-account-login works only with connectors whose capabilities list it',
      );
    }
    return;
  }
  const types = connector.syncers.map((s) => s.resourceType.id);
  const syncer = connector.syncers.find((s) => s.resourceType.id === action.resourceType);
  if (!syncer) {
    throw new CommandError(
      `${bin} has no resource type ${JSON.stringify(action.resourceType)} (--delete-resource-type); its types are ${types.join(', ')}`,
    );
  }
  if (!syncer.delete) {
    const deletable = connector.syncers.filter((s) => s.delete).map((s) => s.resourceType.id);
    throw new CommandError(
      `${bin} cannot delete ${action.resourceType} resources: their capabilities do not include CAPABILITY_RESOURCE_DELETE (${see})` +
        (deletable.length ? `; it can delete ${deletable.join(', ')}` : '; it cannot delete any resource type'),
    );
  }
}

async function runProvisioning(ctx: ParentContext, action: Exclude<OneShotAction, { kind: 'sync' }>): Promise<number> {
  checkCapability(ctx, action);
  const needsStore = action.kind === 'grant' || action.kind === 'revoke';
  const store = needsStore ? await openSyncFile(ctx) : undefined;
  const file = outputFile(ctx.parsed);
  let child: ConnectorProcess | undefined;
  const removeInterrupt = onInterrupt(async (signal) => {
    await child?.close().catch(() => {});
    store?.close();
    return (
      `${action.kind} interrupted (${signal}) before the connector answered: the change may or may not have been ` +
      `made; ${needsStore ? `${file} was left untouched; ` : ''}run a sync to see the current state`
    );
  }, ctx.stderr);
  try {
    // The child fails fast on an unreachable API during the call, as Validate does (docs/cli.md, "Fail fast").
    child = await spawnSelf(ctx, { [ONE_SHOT_ENV]: '1' });
    const client = child.client;
    let line: string;
    let update: ((store: SyncStore) => string | undefined) | undefined;
    switch (action.kind) {
      case 'grant': {
        const r = await grantEntitlement(client, store!, {
          entitlementId: action.entitlementId,
          principalType: action.principalType,
          principalId: action.principalId,
          file,
        });
        line = r.alreadyExists ? 'already granted (no change)' : 'granted';
        update = (s) => recordGrant(s, action, r.grants);
        break;
      }
      case 'revoke': {
        const r = await revokeGrant(client, withConventionalGrants(store!), action.grantId, { file });
        line = r.alreadyRevoked ? 'already revoked (no change)' : 'revoked';
        update = (s) => forgetGrant(s, action.grantId);
        break;
      }
      case 'create-account': {
        const r = await createAccount(client, {
          login: action.login,
          email: action.email,
          profile: action.profile,
          resourceTypeId: action.resourceTypeId,
        });
        const id = r.resource?.id ? `${r.resource.id.resourceType}:${r.resource.id.resource}` : '';
        if (r.result === 'actionRequired') line = `account creation needs action: ${r.message ?? ''}`.trimEnd();
        else if (r.result === 'inProgress') line = `account creation in progress${id ? `: ${id}` : ''}`;
        else if (r.alreadyExists) line = `account already exists (no change)${id ? `: ${id}` : ''}`;
        else line = `account created: ${id || action.login}`;
        break;
      }
      case 'delete-resource': {
        const r = await deleteResource(client, { resourceType: action.resourceType, resourceId: action.resourceId });
        line = r.doesNotExist ? 'already deleted' : 'deleted';
        break;
      }
    }
    await child.close();
    ctx.stdout.write(line + '\n');
    if (store && update) await updateSyncFile(ctx, store, file, update);
    return 0;
  } catch (err) {
    if (interrupting) return afterInterrupt();
    if (err instanceof CommandError || err instanceof ConfigError || err instanceof UsageError) throw err;
    if (err instanceof ProvisionLookupError) throw new CommandError(err.message);
    throw new CommandError(failureMessage(err));
  } finally {
    removeInterrupt();
    await child?.close().catch(() => {});
    store?.close();
  }
}

/**
 * Keeps the sync file the ids came from in step with what the connector just did, so the next one-shot (a revoke
 * of the grant just made) works without a new sync. The application stays the source of truth: a sync replaces
 * the file, and grants derived by expansion are only recomputed by a sync. A file that cannot be written is a
 * warning: the change itself was made.
 */
async function updateSyncFile(
  ctx: ParentContext,
  store: SyncStore,
  file: string,
  update: (store: SyncStore) => string | undefined,
): Promise<void> {
  try {
    const change = update(store);
    if (change === undefined) return;
    if (outputFormat(ctx.parsed) === 'jsonl') await store.exportJsonl(file);
    else await store.saveC1z(file);
    ctx.logger.info(`updated ${file}: ${change}`, { file });
  } catch (err) {
    ctx.stderr.write(
      redactSecrets(
        `warning: the change was made, but ${file} could not be updated: ${(err as Error).message}; run a sync before the next one-shot\n`,
      ),
    );
  }
}

function recordGrant(
  store: SyncStore,
  action: Extract<OneShotAction, { kind: 'grant' }>,
  returned: Grant[],
): string | undefined {
  const syncId = store.selectedSyncId;
  if (!syncId) return undefined;
  let grants = returned.filter((g) => g.id && g.entitlement?.resource?.id && g.principal?.id?.resource);
  if (grants.length === 0) {
    // The connector did not echo the grant: build it with Baton's id convention from what the file holds.
    const entitlement = store.getEntitlement(action.entitlementId);
    const principal = store.getResource(action.principalType, action.principalId);
    if (!entitlement || !principal) return undefined;
    grants = [buildGrant(entitlement, principal)];
  }
  const fresh = grants.filter((g) => !store.getGrant(g.id));
  if (fresh.length === 0) return undefined;
  store.putGrantsIn(syncId, fresh);
  return `added grant ${fresh.map((g) => g.id).join(', ')}`;
}

/**
 * The store as revoke sees it: a grant id missing from the file but made of an entitlement and a principal the file
 * holds (Baton's `<entitlement id>:<principal type>:<principal id>`) is revoked as that grant. So revoking twice
 * answers "already revoked" after the first revoke removed the grant from the file, and a grant made outside (in
 * the application's console) can be revoked without a new sync. The connector decides whether it exists.
 */
function withConventionalGrants(store: SyncStore): ProvisionStoreLike {
  return {
    getEntitlement: (id) => store.getEntitlement(id),
    getResource: (type, id) => store.getResource(type, id),
    getGrant: (id) => store.getGrant(id) ?? conventionalGrant(store, id),
  };
}

function conventionalGrant(store: SyncStore, grantId: string): Grant | undefined {
  // Entitlement and principal ids may hold colons themselves: try every split, accept only a single match.
  const colons = [...grantId.matchAll(/:/g)].map((m) => m.index);
  const found: Grant[] = [];
  for (let a = 0; a < colons.length; a++) {
    const entitlement = store.getEntitlement(grantId.slice(0, colons[a]));
    if (!entitlement) continue;
    for (let b = a + 1; b < colons.length; b++) {
      const principal = store.getResource(grantId.slice(colons[a] + 1, colons[b]), grantId.slice(colons[b] + 1));
      if (principal) found.push(buildGrant(entitlement, principal));
    }
  }
  return found.length === 1 && found[0].id === grantId ? found[0] : undefined;
}

function forgetGrant(store: SyncStore, grantId: string): string | undefined {
  const syncId = store.selectedSyncId;
  if (!syncId || !store.deleteGrantIn(syncId, grantId)) return undefined;
  return `removed grant ${grantId}`;
}
