import { COST_REPORT_MARKER, isNewerRunStamp, parseRunStamp, type RunStamp, withoutRunStamp } from '@tokenmeter/core';
import { withRetry } from './github-retry';
import type { CommentMode } from './inputs';
import type { Octokit } from './octokit';

export type CommentOutcome =
  | { action: 'created' | 'updated'; id: number }
  | { action: 'unchanged'; id: number }
  | { action: 'skipped-newer'; id: number; newer: RunStamp }
  | { action: 'off' }
  | { action: 'forbidden'; message: string };

interface IssueComment {
  id: number;
  body?: string;
}

/**
 * Posts the report as the pull request's one tokenmeter comment: found by the exact marker and edited in
 * place, left alone when identical or when a newer run wrote it. A read-only token (fork pull requests)
 * answers 403: that is an outcome, not an error.
 */
export async function postStickyComment(
  octokit: Octokit,
  target: { owner: string; repo: string; issueNumber: number },
  body: string,
  stamp: RunStamp,
  mode: CommentMode,
): Promise<CommentOutcome> {
  if (mode === 'off') return { action: 'off' };
  const repository = { owner: target.owner, repo: target.repo };
  try {
    if (mode === 'update') {
      const existing = await findMarkedComment(octokit, repository, target.issueNumber);
      if (existing) {
        const previous = existing.body ?? '';
        const previousStamp = parseRunStamp(previous);
        if (previousStamp && isNewerRunStamp(previousStamp, stamp)) {
          return { action: 'skipped-newer', id: existing.id, newer: previousStamp };
        }
        if (withoutRunStamp(previous) === withoutRunStamp(body)) return { action: 'unchanged', id: existing.id };
        await withRetry('update comment', () =>
          octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', {
            ...repository,
            comment_id: existing.id,
            body,
          }),
        );
        return { action: 'updated', id: existing.id };
      }
    }
    const created = await withRetry('create comment', () =>
      octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        ...repository,
        issue_number: target.issueNumber,
        body,
      }),
    );
    return { action: 'created', id: (created.data as IssueComment).id };
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 403) {
      return { action: 'forbidden', message: (error as Error).message };
    }
    throw error;
  }
}

async function findMarkedComment(
  octokit: Octokit,
  repository: { owner: string; repo: string },
  issueNumber: number,
): Promise<IssueComment | undefined> {
  // Pull requests with thousands of comments exist; GitHub pages issue comments at 100.
  for (let page = 1; page <= 100; page++) {
    const response = await withRetry(`list comments page ${page}`, () =>
      octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        ...repository,
        issue_number: issueNumber,
        per_page: 100,
        page,
      }),
    );
    const comments = response.data as IssueComment[];
    const marked = comments.find((comment) => (comment.body ?? '').split('\n', 1)[0]?.trim() === COST_REPORT_MARKER);
    if (marked) return marked;
    if (comments.length < 100) return undefined;
  }
  return undefined;
}
