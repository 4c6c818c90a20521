import { execFile } from 'node:child_process';
import { GitBlobReader, MAX_PROMPT_BYTES, type PromptFileContent } from '@tokenmeter/core';
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
  // One `git cat-file --batch` process answers every read: a 300-file pull request is one process, not 600.
  const batch = new GitBlobReader(workspace, MAX_PROMPT_BYTES);
  return {
    kind: 'git',
    async read(path, sha) {
      const object = `${sha}:${path}`;
      // `--batch` is line-based: a name with a line break takes the slow, one-process-per-file road.
      if (!GitBlobReader.canRead(object)) {
        const blob = await readOne(workspace, object);
        if (blob === undefined) return undefined;
        return blob.length > MAX_PROMPT_BYTES ? { skipped: 'larger than 1 MB' } : new Uint8Array(blob);
      }
      const blob = await batch.read(object);
      if (blob === undefined) return undefined;
      return 'tooLarge' in blob ? { skipped: 'larger than 1 MB' } : new Uint8Array(blob.content);
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
