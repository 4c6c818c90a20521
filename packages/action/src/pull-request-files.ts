import type { PromptFileStatus } from '@tokenmeter/core';
import { withRetry } from './github-retry';
import type { Octokit } from './octokit';

export interface PullRequestFile {
  path: string;
  previousPath?: string;
  status: PromptFileStatus;
}

/** GitHub lists at most this many files of a pull request. */
export const GITHUB_FILES_CAP = 3000;
const PER_PAGE = 100;

/** Every changed file of the pull request (all pages, up to GitHub's cap) and whether the cap was reached. */
export async function listPullRequestFiles(
  octokit: Octokit,
  repository: { owner: string; repo: string },
  pullNumber: number,
): Promise<{ files: PullRequestFile[]; capped: boolean }> {
  const files: PullRequestFile[] = [];
  let listed = 0;
  for (let page = 1; page <= GITHUB_FILES_CAP / PER_PAGE; page++) {
    const response = await withRetry(`list files page ${page}`, () =>
      octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', {
        ...repository,
        pull_number: pullNumber,
        per_page: PER_PAGE,
        page,
      }),
    );
    const data = response.data as Array<{ filename: string; status: string; previous_filename?: string }>;
    listed += data.length;
    for (const item of data) {
      const status = mapStatus(item.status);
      if (!status) continue;
      files.push({
        path: item.filename,
        status,
        ...(item.previous_filename ? { previousPath: item.previous_filename } : {}),
      });
    }
    if (data.length < PER_PAGE) break;
  }
  return { files, capped: listed >= GITHUB_FILES_CAP };
}

function mapStatus(status: string): PromptFileStatus | undefined {
  switch (status) {
    case 'added':
    case 'copied':
      return 'added';
    case 'removed':
      return 'removed';
    case 'renamed':
      return 'renamed';
    case 'modified':
    case 'changed':
      return 'modified';
    default:
      return undefined;
  }
}
