/**
 * The sync's output file, checked before the first API request: a sync can take minutes of rate-limited calls,
 * so a target that cannot be written must be found before them, not after.
 *
 * The check does what the final write will do, with asynchronous calls only (the event loop must stay free to
 * honour SIGINT/SIGTERM): missing directories are created one level at a time (Node's recursive mkdir loops forever
 * on some paths, e.g. under /proc), and a probe file is created and removed in the target directory, exactly where
 * the write's temporary file will go before it is renamed over the target. Directories created here are removed
 * again if the sync fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve as resolvePath } from 'node:path';

/** The output cannot be written; `message` says why in words, naming the path. */
export class OutputFileError extends Error {
  override name = 'OutputFileError';
}

export interface PreparedOutput {
  /** Absolute path of the target. */
  path: string;
  /** The target existed before the sync (so an interrupted or failed sync leaves it as it was). */
  existed: boolean;
  /** Removes the directories this check created, if they are still empty (after a failed sync). */
  undo(): Promise<void>;
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'name too long',
  ENOENT: 'cannot create entries there',
  ELOOP: 'too many symbolic links',
};

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return `${REASONS[code] ?? (err as Error).message}${code ? ` (${code})` : ''}`;
}

/** A path as the user would write it: relative to the working directory when it is inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') return 'not-a-directory' as const;
    throw err;
  }
}

/**
 * Checks that `file` (as the user gave it) can be written, creating missing directories. Throws OutputFileError
 * with a message that names the file and the problem.
 */
export async function prepareOutputFile(file: string, flag = '--file'): Promise<PreparedOutput> {
  const cannot = (why: string) => new OutputFileError(`cannot write ${flag} ${file}: ${why}`);
  const path = resolvePath(file);
  if (file.endsWith('/') || file.endsWith('\\')) throw cannot('the name ends with a path separator; give a file name');

  const target = await statOrUndefined(path).catch((err: unknown) => {
    throw cannot(reason(err));
  });
  if (target === 'not-a-directory') {
    throw cannot(`${shown(await firstFileInPath(path))} is a file, not a directory`);
  }
  if (target?.isDirectory()) throw cannot(`it is a directory; give a file name, e.g. ${file}/sync.c1z`);
  if (target && !target.isFile()) throw cannot('it is not a regular file');

  // The nearest existing ancestor, then create the missing levels below it one by one.
  const missing: string[] = [];
  let dir = dirname(path);
  for (;;) {
    const s = await statOrUndefined(dir).catch((err: unknown) => {
      throw cannot(reason(err));
    });
    if (s === 'not-a-directory') throw cannot(`${shown(await firstFileInPath(dir))} is a file, not a directory`);
    if (s) {
      if (!s.isDirectory()) throw cannot(`${shown(dir)} is a file, not a directory`);
      break;
    }
    missing.unshift(dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const created: string[] = [];
  const undo = async () => {
    for (const d of [...created].reverse()) await rmdir(d).catch(() => {});
  };
  for (const d of missing) {
    try {
      await mkdir(d);
      created.push(d);
    } catch (err) {
      await undo();
      throw cannot(`cannot create the directory ${shown(d)}: ${reason(err)}`);
    }
  }

  // The write creates its temporary file next to the target; do the same now.
  const probe = `${dirname(path)}/.${basename(path)}.${randomBytes(6).toString('hex')}.probe`;
  try {
    const handle = await open(probe, 'wx');
    await handle.close();
  } catch (err) {
    await undo();
    throw cannot(`cannot create files in ${shown(dirname(path))}: ${reason(err)}`);
  }
  await rm(probe, { force: true });
  return { path, existed: target !== undefined, undo };
}

/** The first component of `path` that exists and is not a directory (for "README.md is a file" messages). */
async function firstFileInPath(path: string): Promise<string> {
  const parts: string[] = [];
  for (let p = path; dirname(p) !== p; p = dirname(p)) parts.unshift(p);
  for (const p of parts) {
    const s = await stat(p).catch(() => undefined);
    if (s && !s.isDirectory()) return p;
  }
  return path;
}
