/**
 * The working file of a one-shot sync, and resuming an unfinished one (docs/sync.md, "The working file").
 *
 * A sync is written into a SQLite database next to its output (`.<name>.partial`, or in `--c1z-temp-dir`), which
 * survives the host being killed: every page is stored with its checkpoint in one transaction. Only a finished sync
 * is compressed into the output file, through a temporary file renamed over it, so the output is never unfinished.
 * The next run of the same command (same connector, version and non-secret config) resumes an unfinished sync from
 * its checkpoint; anything else found in the working file (another config's sync, an unreadable checkpoint, a
 * damaged database) is discarded and the sync starts clean.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { C1zFormatError } from '../c1z/envelope.js';
import { SyncStore } from '../c1z/store.js';
import { CheckpointError, parseCheckpoint, type SyncCheckpoint } from '../host/checkpoint.js';
import type { Logger } from '../log/logger.js';
import type { ConnectorDefinition } from '../sdk/connector.js';
import type { ParsedCli } from './config.js';

/** Where the sync into `outputPath` keeps its work: next to the output, or in `tempDir` when one is given. */
export function workingFilePath(outputPath: string, tempDir?: string): string {
  const name = `.${basename(outputPath)}.partial`;
  if (!tempDir) return join(dirname(outputPath), name);
  // One temp directory may serve syncs into many outputs: the output's path keeps their names apart.
  const tag = createHash('sha256').update(outputPath).digest('hex').slice(0, 12);
  return join(tempDir, `${name.slice(0, -'.partial'.length)}.${tag}.partial`);
}

/**
 * Who may resume a checkpoint: the connector, its version, the host page size and a digest of the non-secret config
 * (a changed secret still resumes: the data it reaches is the same account). Secrets never enter it.
 */
export function resumeKeyOf(
  definition: ConnectorDefinition,
  parsed: ParsedCli,
  config: unknown,
  pageSize: number,
): string {
  const values = (config ?? {}) as Record<string, unknown>;
  const shown: Record<string, unknown> = {};
  for (const field of [...parsed.fields].sort((a, b) => a.key.localeCompare(b.key))) {
    if (!field.secret && values[field.key] !== undefined) shown[field.key] = values[field.key];
  }
  const digest = createHash('sha256')
    .update(JSON.stringify({ config: shown, pageSize }))
    .digest('hex')
    .slice(0, 32);
  return `${definition.name}@${definition.version}:${digest}`;
}

export interface WorkingStore {
  store: SyncStore;
  /** The unfinished sync to continue, when the working file holds one this run may resume. */
  resume?: { syncId: string; checkpoint: SyncCheckpoint };
}

/**
 * Opens the working file: resumes the unfinished sync it holds if this run may, else starts from an empty one.
 * Throws WorkingFileBusyError when another process is writing it.
 */
export function openWorkingStore(path: string, resumeKey: string, logger: Logger): WorkingStore {
  let store: SyncStore;
  try {
    store = SyncStore.openWorkingFile(path);
  } catch (err) {
    if (!(err instanceof C1zFormatError)) throw err;
    logger.warn('the working file of an earlier sync is damaged; starting clean', { file: path, error: err.message });
    SyncStore.removeWorkingFile(path);
    return { store: SyncStore.openWorkingFile(path) };
  }
  const unfinished = store.unfinishedSync();
  let why: string | undefined;
  if (unfinished) {
    try {
      const checkpoint = parseCheckpoint(unfinished.syncToken);
      if (checkpoint.resumeKey === resumeKey) return { store, resume: { syncId: unfinished.syncId, checkpoint } };
      why = 'it was started by another connector version or config';
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      why = `its checkpoint cannot be read (${err.message})`;
    }
  } else if (store.listSyncs().length > 0) {
    why = 'it holds no unfinished sync';
  }
  if (why === undefined) return { store };
  logger.info(`not resuming the sync in the working file: ${why}; starting clean`, { file: path });
  store.discard();
  return { store: SyncStore.openWorkingFile(path) };
}
