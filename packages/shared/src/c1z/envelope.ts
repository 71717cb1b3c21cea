/**
 * The v1 c1z envelope: the 5 magic bytes `C1ZF\0`, then a zstd stream whose content is a complete SQLite 3
 * database file (docs/protocol.md, "Envelope"). Both directions stream through fixed-size buffers, so memory does not grow with the
 * database size.
 *
 * Compression: zstd level 3 (the Go writer's "default"), frame checksum on (as klauspost writes it). We never
 * enable long-distance matching and, as the input size is unknown to the streaming compressor, level 3 uses its
 * default window (2 MiB), far below the 128 MiB a Go reader accepts.
 * Decompression: any number of concatenated frames (and skippable frames) decode; the window is capped at
 * 128 MiB and the output at 3 GiB, the Go reader's defaults.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompressStream, DecompressStream } from 'zstd-napi';

export const C1Z_MAGIC = Buffer.from([0x43, 0x31, 0x5a, 0x46, 0x00]); // "C1ZF\0"
export const C1Z_V3_MAGIC = Buffer.from([0x43, 0x31, 0x5a, 0x33, 0x00]); // "C1Z3\0" (Pebble, not supported)
export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
export const ZSTD_FRAME_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
export const DEFAULT_COMPRESSION_LEVEL = 3;
/** 2^27 = 128 MiB, the Go reader's default decoder memory limit. */
export const MAX_WINDOW_LOG = 27;
export const DEFAULT_MAX_DECODED_BYTES = 3 * 1024 ** 3;

const IO_CHUNK = 1024 * 1024;

export class C1zFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'C1zFormatError';
  }
}

export type FileKind = 'c1z' | 'c1z-v3' | 'sqlite' | 'zstd' | 'empty' | 'other';

/** Reads the first bytes of a file and says what it is. Throws a clear error if the file does not exist. */
export async function sniffFile(path: string): Promise<{ kind: FileKind; head: Buffer }> {
  const handle = await openForRead(path);
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const got = head.subarray(0, bytesRead);
    let kind: FileKind = 'other';
    if (bytesRead === 0) kind = 'empty';
    else if (startsWith(got, C1Z_MAGIC)) kind = 'c1z';
    else if (startsWith(got, C1Z_V3_MAGIC)) kind = 'c1z-v3';
    else if (startsWith(got, SQLITE_MAGIC)) kind = 'sqlite';
    else if (startsWith(got, ZSTD_FRAME_MAGIC)) kind = 'zstd';
    return { kind, head: got };
  } finally {
    await handle.close();
  }
}

function startsWith(buf: Buffer, prefix: Buffer): boolean {
  return buf.length >= prefix.length && buf.subarray(0, prefix.length).equals(prefix);
}

async function openForRead(path: string) {
  try {
    return await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new C1zFormatError(`file not found: ${path}`);
    if (code === 'EISDIR') throw new C1zFormatError(`${path} is a directory, not a c1z file`);
    throw err;
  }
}

/** Compresses a SQLite file into a c1z at `outPath`, atomically (temp file in the same directory, then rename). */
export async function writeC1z(
  dbPath: string,
  outPath: string,
  options: { level?: number } = {},
): Promise<{ bytes: number }> {
  const dir = dirname(outPath);
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat?.isDirectory()) throw new C1zFormatError(`cannot write ${outPath}: directory ${dir} does not exist`);
  const tmp = join(dir, `.${basename(outPath)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const out = createWriteStream(tmp, { flags: 'wx', highWaterMark: IO_CHUNK });
    out.write(C1Z_MAGIC);
    await pipeline(
      createReadStream(dbPath, { highWaterMark: IO_CHUNK }),
      new CompressStream({ compressionLevel: options.level ?? DEFAULT_COMPRESSION_LEVEL, checksumFlag: true }),
      out,
    );
    const handle = await open(tmp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, outPath);
    return { bytes: (await stat(outPath)).size };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Decompresses a c1z into a new SQLite file at `dbPath` (which must not exist) and checks the SQLite header.
 * Errors name the problem: missing file, wrong magic (incl. the unsupported v3 format), corrupt or truncated
 * zstd data, an oversized payload, or content that is not SQLite.
 */
export async function readC1z(
  c1zPath: string,
  dbPath: string,
  options: { maxDecodedBytes?: number } = {},
): Promise<{ bytes: number }> {
  const { kind } = await sniffFile(c1zPath);
  if (kind === 'c1z-v3') {
    throw new C1zFormatError(
      `${c1zPath} is a v3 (Pebble) c1z, which is not supported; write it with --storage-engine sqlite`,
    );
  }
  if (kind === 'empty') throw new C1zFormatError(`${c1zPath} is empty, not a c1z file`);
  if (kind !== 'c1z') throw new C1zFormatError(`${c1zPath} is not a c1z file (it does not start with "C1ZF\\0")`);

  const limit = options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  let decoded = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      decoded += chunk.length;
      if (decoded > limit) done(new C1zFormatError(`decompressed size exceeds ${limit} bytes`));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(
      createReadStream(c1zPath, { start: C1Z_MAGIC.length, highWaterMark: 64 * 1024 }),
      new DecompressStream({ windowLogMax: MAX_WINDOW_LOG }),
      counter,
      createWriteStream(dbPath, { flags: 'wx', highWaterMark: IO_CHUNK }),
    );
  } catch (err) {
    if (err instanceof C1zFormatError) throw new C1zFormatError(`${c1zPath}: ${err.message}`);
    const message = err instanceof Error ? err.message : String(err);
    throw new C1zFormatError(`${c1zPath} has corrupt zstd data: ${message}`);
  }
  const { kind: inner } = await sniffFile(dbPath);
  if (inner !== 'sqlite') {
    throw new C1zFormatError(`${c1zPath} does not contain a SQLite database (${decoded} bytes after decompression)`);
  }
  return { bytes: decoded };
}
