import { execFile } from 'node:child_process';
import { MAX_PROMPT_BYTES, type PromptFileContent } from '@tokenmeter/core';
import type { Octokit } from './octokit';
import { withRetry } from './github-retry';

/** Reads a file's bytes at a commit: `undefined` when it does not exist there. */
export interface FileSource {
  readonly kind: 'git' | 'api';
  read(path: string, sha: string): Promise<PromptFileContent | undefined>;
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
  return {
    kind: 'git',
    async read(path, sha) {
      const object = `${sha}:${path}`;
      let size: number;
      try {
        size = Number((await git(workspace, ['cat-file', '-s', object])).toString('utf8').trim());
      } catch {
        return undefined;
      }
      if (size > MAX_PROMPT_BYTES) return { skipped: 'larger than 1 MB' };
      return new Uint8Array(await git(workspace, ['cat-file', 'blob', object]));
    },
  };
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
