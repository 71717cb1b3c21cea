/** Writing text to a stream with backpressure, in batched chunks so many small lines cost few write calls. */
import type { Writable } from 'node:stream';

export type WritableLike = NodeJS.WritableStream | Writable;

export class BufferedWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(
    private readonly stream: WritableLike,
    private readonly chunkSize = 64 * 1024,
  ) {}

  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= this.chunkSize) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await writeWithBackpressure(this.stream, chunk);
  }
}

/** Resolves once the stream accepted the chunk (waiting for 'drain' when its buffer is full). */
export function writeWithBackpressure(stream: WritableLike, chunk: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = stream as Writable;
    if (s.destroyed || s.writableEnded) {
      reject(new Error('output stream is closed'));
      return;
    }
    let settled = false;
    const cleanup = () => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
    };
    const onDrain = () => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    const onClose = () => onError(new Error('output stream closed'));
    stream.on('error', onError);
    const ok = stream.write(chunk, (err?: Error | null) => {
      if (err) onError(err);
    });
    if (ok) {
      settled = true;
      cleanup();
      resolve();
      return;
    }
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}
