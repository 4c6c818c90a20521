import * as core from '@actions/core';
import * as github from '@actions/github';
import {
  type ChangedFile,
  type CheckConfig,
  costReportJson,
  createPromptEngine,
  diffPrompts,
  displaySource,
  exceededThreshold,
  matchPromptRule,
  modelErrorSentence,
  PriceCatalog,
  type PromptDiff,
  type PromptFileContent,
  parseCheckConfig,
  parseUsageVolume,
  type RunStamp,
  renderCostReport,
  staleCatalogWarning,
  TokenmeterError,
  type UsageVolume,
  withPriceSources,
} from '@tokenmeter/core';
import { apiFileSource, type FileSource, gitFileSource } from './file-source';
import { type ActionInputs, readInputs } from './inputs';
import type { Octokit } from './octokit';
import { GITHUB_FILES_CAP, listPullRequestFiles } from './pull-request-files';
import { type CommentOutcome, postStickyComment } from './sticky-comment';

interface PullRequestEvent {
  number?: number;
  pull_request?: { number: number; base: { sha: string }; head: { sha: string }; updated_at?: string };
}

/** The Action: price the prompt changes of a pull request, comment, summarize, set outputs, gate. Never throws. */
export async function run(): Promise<void> {
  try {
    await check();
  } catch (error) {
    const message =
      error instanceof TokenmeterError
        ? `${error.message} (${error.code})`
        : error instanceof Error
          ? error.message
          : String(error);
    core.setFailed(`tokenmeter: ${message}`);
  }
}

async function check(): Promise<void> {
  const inputs = readInputs();
  const payload = github.context.payload as PullRequestEvent;
  const pullRequest = payload.pull_request;
  if (!pullRequest) {
    core.warning('tokenmeter compares prompt costs on pull_request events; this run has no pull request.');
    await writeSummary('tokenmeter: nothing to compare: this run was not triggered by a pull request.\n');
    return;
  }
  const { owner, repo } = github.context.repo;
  const octokit = github.getOctokit(inputs.token);
  const baseSha = pullRequest.base.sha;
  const headSha = pullRequest.head.sha;

  const workspace = process.env.GITHUB_WORKSPACE;
  const source =
    (workspace ? await gitFileSource(workspace, [baseSha, headSha]) : undefined) ??
    apiFileSource(octokit, { owner, repo });
  core.info(`Reading files from ${source.kind === 'git' ? 'the local checkout' : 'the GitHub contents API'}.`);
  try {
    await checkWith(source, inputs, octokit, { owner, repo }, pullRequest);
  } finally {
    source.close?.();
  }
}

async function checkWith(
  source: FileSource,
  inputs: ActionInputs,
  octokit: Octokit,
  { owner, repo }: { owner: string; repo: string },
  pullRequest: NonNullable<PullRequestEvent['pull_request']>,
): Promise<void> {
  const baseSha = pullRequest.base.sha;
  const headSha = pullRequest.head.sha;

  const { config, text: configText } = await readConfig(source, inputs.configPath, headSha, baseSha);
  const usageSource = inputs.usageFile ? { file: inputs.usageFile } : config.usage;
  const usage = usageSource ? await readUsage(source, usageSource, headSha) : undefined;

  const listing = await listPullRequestFiles(octokit, { owner, repo }, pullRequest.number);
  const notes: string[] = [];
  if (listing.capped) {
    notes.push(
      `GitHub lists at most ${GITHUB_FILES_CAP.toLocaleString('en-US')} files of a pull request: files beyond that were not checked.`,
    );
  }
  if (listing.files.some((file) => file.path === inputs.configPath || file.previousPath === inputs.configPath)) {
    // The head's config prices the change, so a reviewer should know the pull request also edits it.
    notes.push(`This pull request changes ${inputs.configPath}: the projection uses the head's version.`);
  }
  const candidates = listing.files.filter(
    (file) =>
      matchPromptRule(config, file.path) !== undefined ||
      (file.previousPath !== undefined && matchPromptRule(config, file.previousPath) !== undefined),
  );
  core.info(`${listing.files.length} changed files, ${candidates.length} of them prompts.`);
  const files: ChangedFile[] = await mapLimit(candidates, 8, async (file) => {
    const before =
      file.status === 'added' ? undefined : await readSide(source, file.previousPath ?? file.path, baseSha);
    const after = file.status === 'removed' ? undefined : await readSide(source, file.path, headSha);
    return {
      ...file,
      ...(before === undefined ? {} : { before }),
      ...(after === undefined ? {} : { after }),
    };
  });

  const catalog = await priceCatalog(source, config, inputs, headSha, baseSha);
  const stale = staleCatalogWarning(
    catalog.generatedAt,
    new Date(),
    undefined,
    `Give current or negotiated prices with the prices input or "prices:" in ${inputs.configPath}.`,
  );
  if (stale) {
    core.warning(`tokenmeter: ${stale}`);
    // In the comment too: a reviewer weighs a cost projection by how current its prices are.
    notes.push(stale);
  }
  const diff = diffPrompts({
    files,
    config,
    engine: createPromptEngine({ catalog }),
    ...(usage ? { usage } : {}),
    notes,
    configPath: inputs.configPath,
    configText,
  });
  const stamp: RunStamp = {
    headSha,
    ...(process.env.GITHUB_RUN_ID ? { runId: process.env.GITHUB_RUN_ID } : {}),
    ...(process.env.GITHUB_RUN_ATTEMPT ? { runAttempt: process.env.GITHUB_RUN_ATTEMPT } : {}),
    ...(pullRequest.updated_at ? { at: pullRequest.updated_at } : {}),
  };
  const failure = exceededThreshold(diff, inputs);
  const body = renderCostReport(diff, {
    stamp,
    baseLabel: baseSha.slice(0, 7),
    headLabel: headSha.slice(0, 7),
    plans: inputs.plansInComment || config.plansInComment,
    ...(failure ? { failure } : {}),
  });

  setOutputs(diff);
  await writeSummary(body);

  const outcome = await postStickyComment(
    octokit,
    { owner, repo, issueNumber: pullRequest.number },
    body,
    stamp,
    inputs.commentMode,
  );
  reportOutcome(outcome);

  for (const error of diff.modelErrors) {
    // An annotation on the line with the typo, in the pull request's "Files changed" view.
    core.error(`tokenmeter: ${modelErrorSentence(error)}`, {
      title: 'Unknown model',
      file: error.file,
      ...(error.line === undefined ? {} : { startLine: error.line }),
    });
  }
  if (failure) core.setFailed(`tokenmeter: ${failure}`);
  if (diff.modelErrors.length > 0) {
    core.setFailed(
      `tokenmeter: ${diff.modelErrors.length} unknown model name${diff.modelErrors.length === 1 ? '' : 's'}: the projection is incomplete.`,
    );
    // 2 = configuration error, as `tokenmeter diff` exits; 1 stays "a threshold was exceeded".
    process.exitCode = 2;
  }
}

/**
 * The bundled catalog with the config's `prices:` and then the `prices` input on top. Paths are read from the
 * repository like the config (head commit, then base); URLs are fetched. The runner has no price cache.
 */
async function priceCatalog(
  source: FileSource,
  config: CheckConfig,
  inputs: ActionInputs,
  headSha: string,
  baseSha: string,
): Promise<PriceCatalog> {
  const sources = [...(config.prices ?? []), ...inputs.prices];
  if (sources.length === 0) return PriceCatalog.default();
  core.info(`Prices layered over the catalog: ${sources.map(displaySource).join(', ')}`);
  return withPriceSources(PriceCatalog.default(), sources, async (path) => {
    const content = (await source.read(path, headSha)) ?? (await source.read(path, baseSha));
    if (content === undefined) return undefined;
    if (!(content instanceof Uint8Array) && typeof content !== 'string') {
      throw new TokenmeterError('PRICE_FEED_UNAVAILABLE', `${path} cannot be read: ${content.skipped}`);
    }
    return typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  });
}

async function readConfig(
  source: FileSource,
  path: string,
  headSha: string,
  baseSha: string,
): Promise<{ config: CheckConfig; text: string }> {
  // The head's config, so a pull request that adds prompts can say how to price them; the base's as a fallback.
  const content = (await source.read(path, headSha)) ?? (await source.read(path, baseSha));
  if (content === undefined) {
    throw new TokenmeterError('CONFIG_NOT_FOUND', `No ${path} at the head or base commit: add one (see the README).`);
  }
  if (!(content instanceof Uint8Array) && typeof content !== 'string') {
    throw new TokenmeterError('CONFIG_NOT_FOUND', `${path} cannot be read: ${content.skipped}`);
  }
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  return { config: parseCheckConfig(text), text };
}

async function readUsage(
  source: FileSource,
  usage: NonNullable<CheckConfig['usage']>,
  headSha: string,
): Promise<UsageVolume | undefined> {
  const content = await source.read(usage.file, headSha);
  if (content === undefined || (typeof content === 'object' && !(content instanceof Uint8Array))) {
    core.warning(`Usage file ${usage.file} not found at the head commit: using calls-per-month from the config.`);
    return undefined;
  }
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  return parseUsageVolume(text, usage.file, usage.format);
}

async function readSide(source: FileSource, path: string, sha: string): Promise<PromptFileContent | undefined> {
  try {
    return await source.read(path, sha);
  } catch (error) {
    return { skipped: `could not be read (${(error as { status?: number }).status ?? 'error'})` };
  }
}

function setOutputs(diff: PromptDiff): void {
  const json = costReportJson(diff);
  core.setOutput('cost-before', json.costBefore);
  core.setOutput('cost-after', json.costAfter);
  core.setOutput('cost-delta', json.costDelta);
  core.setOutput('changed-prompts', String(diff.prompts.length));
}

async function writeSummary(body: string): Promise<void> {
  try {
    await core.summary.addRaw(body, true).write();
  } catch (error) {
    core.warning(`Could not write the job summary: ${(error as Error).message}`);
  }
}

function reportOutcome(outcome: CommentOutcome): void {
  switch (outcome.action) {
    case 'created':
    case 'updated':
      core.info(`Comment ${outcome.action} (id ${outcome.id}).`);
      break;
    case 'unchanged':
      core.info(`Comment ${outcome.id} already shows this report: not re-posted.`);
      break;
    case 'skipped-newer':
      core.info(
        `Comment ${outcome.id} was written by a newer run (${outcome.newer.runId ?? outcome.newer.headSha ?? 'unknown'}): left alone.`,
      );
      break;
    case 'off':
      core.info('comment-mode is off: the report is in the job summary only.');
      break;
    case 'forbidden':
      core.warning(
        'tokenmeter could not comment (403: the token is read-only, as on pull requests from forks). ' +
          'The report is in the job summary.',
      );
      break;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
