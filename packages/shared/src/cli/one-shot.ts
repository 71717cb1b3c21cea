/**
 * One-shot mode, the parent side (docs/protocol.md, "Roles: parent and child" and "One-shot provisioning"): like a Go connector, the process spawns itself as the connector
 * service (`<node> <this script> <same argv> _connector-service`) and drives it over the real handshake: a full
 * sync into `--file`, or one provisioning call whose ids are looked up in `--file`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, extname, resolve as resolvePath } from 'node:path';
import type { JsonObject } from '@bufbuild/protobuf';
import { SyncStore } from '../c1z/store.js';
import { ConnectorExitedError, RpcError } from '../host/client.js';
import { spawnConnector, type ConnectorProcess } from '../host/spawn.js';
import { runSync, SyncError, type SyncSummary } from '../host/sync.js';
import { createAccount, deleteResource, grantEntitlement, revokeGrant } from '../host/provision.js';
import type { Logger } from '../log/logger.js';
import type { ConnectorDefinition } from '../sdk/connector.js';
import { batonBool, batonString, ConfigError, UsageError, type ParsedCli } from './config.js';
import { envNameOf } from './flags.js';
import { createProgressDisplay } from './progress.js';

export type OutputFormat = 'c1z' | 'jsonl';

export interface ParentContext {
  definition: ConnectorDefinition;
  parsed: ParsedCli;
  logger: Logger;
  /** The argv this process was started with (handed unchanged to the child). */
  argv: string[];
  childEnv: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
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
  const file = batonString(parsed, 'file') ?? 'sync.c1z';
  return extname(file).toLowerCase() === '.jsonl' ? 'jsonl' : 'c1z';
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
async function spawnSelf(ctx: ParentContext): Promise<ConnectorProcess> {
  const script = process.argv[1];
  if (!script) throw new CommandError("cannot find this program's script path to spawn the connector service");
  return spawnConnector({
    command: process.execPath,
    args: [...process.execArgv, script, ...ctx.argv],
    env: ctx.childEnv,
    stderr: 'inherit',
    logger: ctx.logger,
  });
}

/** Closes the child and the store if the user interrupts us, so no temp files or processes are left behind. */
function onInterrupt(cleanup: () => Promise<void>): () => void {
  const handler = (signal: NodeJS.Signals) => {
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
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

export async function runOneShot(ctx: ParentContext): Promise<number> {
  const action = selectAction(ctx.parsed);
  if (action.kind === 'sync') return runDefaultSync(ctx);
  return runProvisioning(ctx, action);
}

// -- sync -------------------------------------------------------------------------------------------------------

async function runDefaultSync(ctx: ParentContext): Promise<number> {
  const { parsed, logger } = ctx;
  const file = batonString(parsed, 'file') ?? 'sync.c1z';
  const format = outputFormat(parsed);
  const tempDir = batonString(parsed, 'c1z-temp-dir');
  const started = Date.now();

  const store = SyncStore.create({ tempDir });
  let child: ConnectorProcess | undefined;
  const progress = createProgressDisplay({ enabled: batonBool(parsed, 'quiet') ? false : undefined });
  const removeInterrupt = onInterrupt(async () => {
    progress.stop();
    await child?.close().catch(() => {});
    store.close();
  });
  let summary: SyncSummary;
  try {
    logger.info('sync starting', { file, format });
    child = await spawnSelf(ctx);
    if (batonBool(parsed, 'skip-full-sync')) {
      // v0.2.x: Validate, then an empty sync.
      const t0 = Date.now();
      const v = await child.client.validate({});
      store.startSync();
      store.endSync();
      summary = emptySummary(v.sdkVersion, Date.now() - t0, child.client.lastStats?.apiRequests);
    } else {
      summary = await runSync(child.client, store, { logger, onProgress: (p) => progress.update(p) });
    }
  } catch (err) {
    progress.stop();
    removeInterrupt();
    await child?.close().catch(() => {});
    store.close();
    throw new CommandError(`sync failed: ${failureMessage(err)}`);
  }
  progress.stop();
  try {
    await child.close();
    const target = resolvePath(file);
    mkdirSync(dirname(target), { recursive: true });
    if (format === 'jsonl') await store.exportJsonl(target);
    else await store.saveC1z(target);
  } catch (err) {
    throw new CommandError(`cannot write ${file}: ${(err as Error).message}`);
  } finally {
    removeInterrupt();
    store.close();
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
  const file = batonString(ctx.parsed, 'file') ?? 'sync.c1z';
  const tempDir = batonString(ctx.parsed, 'c1z-temp-dir');
  if (!existsSync(file)) {
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

async function runProvisioning(ctx: ParentContext, action: Exclude<OneShotAction, { kind: 'sync' }>): Promise<number> {
  const needsStore = action.kind === 'grant' || action.kind === 'revoke';
  const store = needsStore ? await openSyncFile(ctx) : undefined;
  const file = batonString(ctx.parsed, 'file') ?? 'sync.c1z';
  let child: ConnectorProcess | undefined;
  const removeInterrupt = onInterrupt(async () => {
    await child?.close().catch(() => {});
    store?.close();
  });
  try {
    child = await spawnSelf(ctx);
    const client = child.client;
    let line: string;
    switch (action.kind) {
      case 'grant': {
        const r = await grantEntitlement(client, store!, {
          entitlementId: action.entitlementId,
          principalType: action.principalType,
          principalId: action.principalId,
          file,
        });
        line = r.alreadyExists ? 'already granted (no change)' : 'granted';
        break;
      }
      case 'revoke': {
        const r = await revokeGrant(client, store!, action.grantId, { file });
        line = r.alreadyRevoked ? 'already revoked (no change)' : 'revoked';
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
    ctx.stdout.write(line + '\n');
    return 0;
  } catch (err) {
    if (err instanceof CommandError || err instanceof ConfigError || err instanceof UsageError) throw err;
    throw new CommandError(failureMessage(err));
  } finally {
    removeInterrupt();
    await child?.close().catch(() => {});
    store?.close();
  }
}
