import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

/** A blob's bytes, or its size when it is larger than the reader's limit (its bytes are then never kept). */
export type GitBlob = { content: Buffer } | { tooLarge: number };

interface Waiter {
  resolve: (blob: GitBlob | undefined) => void;
  reject: (error: Error) => void;
}

/**
 * One `git cat-file --batch` process answers every read, in order: a thousand changed files cost one process
 * instead of four thousand (`cat-file -s` and `cat-file blob`, before and after), which was most of the time
 * `tokenmeter diff` took. Reads may be issued all at once; git answers them as a pipeline.
 *
 * `--batch` is line-based: a name with a line break cannot be asked for, so callers must take another road
 * for those (`canRead`).
 */
export class GitBlobReader {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes of an oversized blob (and its trailing line feed) still to throw away as they arrive. */
  private discarding = 0;
  /** Size of the blob whose header has been read and whose content is awaited. */
  private pending: { size: number; isBlob: boolean } | undefined;
  private readonly waiting: Waiter[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly repository: string,
    private readonly maxBytes: number,
  ) {}

  static canRead(object: string): boolean {
    return !/[\r\n]/.test(object);
  }

  /**
   * The blob named `object` (a blob id, or `commit:path`); undefined when there is none (missing, or not a
   * file). A blob id is cheaper: git then need not walk the commit's trees for every read.
   */
  read(object: string): Promise<GitBlob | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const child = this.start();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      child.stdin.write(`${object}\n`);
    });
  }

  /** Ends the git process once it has answered what was asked. */
  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('git', ['-C', this.repository, 'cat-file', '--batch'], {
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    });
    child.stdout.on('data', (chunk: Buffer) => this.receive(chunk));
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    };
    child.on('error', fail);
    child.stdin.on('error', fail);
    child.on('close', () => fail(new Error('git cat-file --batch exited')));
    this.child = child;
    return child;
  }

  private receive(chunk: Buffer): void {
    if (this.discarding > 0) {
      const dropped = Math.min(this.discarding, chunk.length);
      this.discarding -= dropped;
      chunk = chunk.subarray(dropped);
      if (chunk.length === 0) return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.drain();
  }

  /** Joins the buffered chunks only when an answer is complete, so a large blob is copied once, not per chunk. */
  private take(length: number): Buffer {
    const joined = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    const taken = joined.subarray(0, length);
    const rest = joined.subarray(length);
    this.chunks.length = 0;
    if (rest.length > 0) this.chunks.push(rest);
    this.buffered = rest.length;
    return taken;
  }

  private drain(): void {
    for (;;) {
      const waiter = this.waiting[0];
      if (!waiter) return;
      if (!this.pending) {
        const newline = this.indexOfNewline();
        if (newline === -1) return;
        const header = this.take(newline + 1)
          .subarray(0, newline)
          .toString('utf8');
        if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
          this.waiting.shift();
          waiter.resolve(undefined);
          continue;
        }
        const [, type, sizeText] = header.split(' ');
        const size = Number(sizeText);
        if (size > this.maxBytes) {
          // Content and its trailing line feed are dropped as they arrive, never held.
          const dropped = Math.min(this.buffered, size + 1);
          this.take(dropped);
          this.discarding = size + 1 - dropped;
          this.waiting.shift();
          waiter.resolve(type === 'blob' ? { tooLarge: size } : undefined);
          if (this.discarding > 0) return;
          continue;
        }
        this.pending = { size, isBlob: type === 'blob' };
      }
      const { size, isBlob } = this.pending;
      // Content, then one line feed.
      if (this.buffered < size + 1) return;
      const content = Buffer.from(this.take(size + 1).subarray(0, size));
      this.pending = undefined;
      this.waiting.shift();
      waiter.resolve(isBlob ? { content } : undefined);
    }
  }

  private indexOfNewline(): number {
    let offset = 0;
    for (const chunk of this.chunks) {
      const index = chunk.indexOf(0x0a);
      if (index !== -1) return offset + index;
      offset += chunk.length;
    }
    return -1;
  }
}
