import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { MAX_PROMPT_BYTES, type PromptFileContent } from '@tokenmeter/core';
import { withRetry } from './github-retry';
import type { Octokit } from './octokit';

/** Reads a file's bytes at a commit: `undefined` when it does not exist there. */
export interface FileSource {
  readonly kind: 'git' | 'api';
  read(path: string, sha: string): Promise<PromptFileContent | undefined>;
  /** Releases what the source holds open (the git process). */
  close?(): void;
}

/**
 * The local checkout, when it has both commits: no API calls, no rate limits. Only `git cat-file` runs,
 * with arguments (never a shell), so nothing from the pull request is executed.
 */
export async function gitFileSource(workspace: string, shas: string[]): Promise<FileSource | undefined> {
  for (const sha of shas) {
    if (!/^[0-9a-f]{7,64}$/i.test(sha)) return undefined;
    const found = await git(workspace, ['cat-file', '-e', `${sha}^{commit}`]).then(
      () => true,
      () => false,
    );
    if (!found) return undefined;
  }
  const batch = new CatFileBatch(workspace);
  return {
    kind: 'git',
    async read(path, sha) {
      const object = `${sha}:${path}`;
      // `--batch` is line-based: a name with a line break takes the slow, one-process-per-file road.
      const blob = /[\r\n]/.test(path) ? await readOne(workspace, object) : await batch.read(object);
      if (blob === undefined) return undefined;
      if (blob.length > MAX_PROMPT_BYTES) return { skipped: 'larger than 1 MB' };
      return new Uint8Array(blob);
    },
    close: () => batch.close(),
  };
}

async function readOne(workspace: string, object: string): Promise<Buffer | undefined> {
  try {
    return await git(workspace, ['cat-file', 'blob', object]);
  } catch {
    return undefined;
  }
}

/**
 * One `git cat-file --batch` process answers every read in order: hundreds of files cost one process,
 * not hundreds (a 300-file pull request would otherwise spawn 600).
 */
class CatFileBatch {
  private child: ChildProcessWithoutNullStreams | undefined;
  private buffer = Buffer.alloc(0);
  private readonly waiting: Array<{ resolve: (blob: Buffer | undefined) => void; reject: (error: Error) => void }> = [];

  constructor(private readonly workspace: string) {}

  read(object: string): Promise<Buffer | undefined> {
    const child = this.start();
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      child.stdin.write(`${object}\n`);
    });
  }

  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('git', ['-C', this.workspace, 'cat-file', '--batch'], {
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    });
    child.stdout.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    const fail = (error: Error) => {
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
      this.child = undefined;
    };
    child.on('error', fail);
    child.stdin.on('error', fail);
    child.on('exit', () => fail(new Error('git cat-file --batch exited')));
    this.child = child;
    return child;
  }

  private drain(): void {
    for (;;) {
      const waiter = this.waiting[0];
      if (!waiter) return;
      const newline = this.buffer.indexOf(0x0a);
      if (newline === -1) return;
      const header = this.buffer.subarray(0, newline).toString('utf8');
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.buffer = this.buffer.subarray(newline + 1);
        this.waiting.shift();
        waiter.resolve(undefined);
        continue;
      }
      const [, type, sizeText] = header.split(' ');
      const size = Number(sizeText);
      // Header, content, and one trailing line feed.
      if (this.buffer.length < newline + 1 + size + 1) return;
      const content = Buffer.from(this.buffer.subarray(newline + 1, newline + 1 + size));
      this.buffer = this.buffer.subarray(newline + 1 + size + 1);
      this.waiting.shift();
      waiter.resolve(type === 'blob' ? content : undefined);
    }
  }
}

/** The contents API at a commit (GitHub serves full content up to 1 MB). */
export function apiFileSource(octokit: Octokit, repository: { owner: string; repo: string }): FileSource {
  return {
    kind: 'api',
    async read(path, sha) {
      let data: { type?: string; size?: number; content?: string; encoding?: string };
      try {
        const response = await withRetry(`read ${path}`, () =>
          octokit.request('GET /repos/{owner}/{repo}/contents/{path}', { ...repository, path, ref: sha }),
        );
        data = response.data as typeof data;
      } catch (error) {
        if ((error as { status?: number }).status === 404) return undefined;
        throw error;
      }
      if (Array.isArray(data) || data.type !== 'file') return { skipped: 'not a regular file' };
      if ((data.size ?? 0) > MAX_PROMPT_BYTES || data.encoding !== 'base64') return { skipped: 'larger than 1 MB' };
      return new Uint8Array(Buffer.from(data.content ?? '', 'base64'));
    },
  };
}

function git(workspace: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-C', workspace, '-c', 'core.quotePath=false', ...args],
      { encoding: 'buffer', maxBuffer: 4 * MAX_PROMPT_BYTES, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}
