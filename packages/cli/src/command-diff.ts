import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { lstat, open, readFile, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import {
  type ChangedFile,
  type CheckConfig,
  costReportJson,
  createPromptEngine,
  diffPrompts,
  exceededThreshold,
  type GitBlob,
  GitBlobReader,
  MAX_PROMPT_BYTES,
  Money,
  matchPromptRule,
  modelErrorSentence,
  neutralizeInvisible,
  PriceCatalog,
  type PromptFileContent,
  type PromptFileStatus,
  parseCheckConfig,
  parseUsageVolume,
  renderCostReport,
  renderCostReportText,
  type UsageVolume,
  withPriceSources,
} from '@tokenmeter/core';
import { type Command, Option } from 'commander';
import { activeOverrides } from './command-prices';
import { CliInputError, EXIT_BAD_INPUT, EXIT_FAILED_CHECK, printJson } from './output';

interface DiffCommandOptions {
  base: string;
  head?: string;
  workingTree?: boolean;
  config?: string;
  format: 'markdown' | 'json' | 'text';
  repo?: string;
  maxIncreaseUsd?: string;
  maxIncreasePercent?: string;
}

/** One side of the comparison: a commit, or the files on disk. */
type Revision = { kind: 'commit'; sha: string; label: string } | { kind: 'working-tree'; label: string };

export function register(program: Command): void {
  program
    .command('diff')
    .description(
      'Projected monthly cost change of the prompt files changed between two git revisions: the same numbers and Markdown as the GitHub Action.',
    )
    .requiredOption('--base <ref>', 'base revision (branch, tag or commit)')
    .option('--head <ref>', 'head revision (default HEAD)')
    .option('--working-tree', 'compare the base with the files on disk, uncommitted changes included')
    .option('--config <file>', 'tokenmeter config (default .tokenmeter.yml at the head, else the base)')
    .addOption(
      new Option('--format <format>', 'output format').choices(['markdown', 'json', 'text']).default('markdown'),
    )
    .option('--repo <dir>', 'git repository (default: the current directory)')
    .option('--max-increase-usd <usd>', 'exit 1 when the monthly cost rises by more than this')
    .option('--max-increase-percent <percent>', 'exit 1 when the monthly cost rises by more than this percent')
    .action(async (options: DiffCommandOptions) => {
      await runDiff(options);
    });
}

async function runDiff(options: DiffCommandOptions): Promise<void> {
  if (options.head !== undefined && options.workingTree) {
    throw new CliInputError('Give either --head REF or --working-tree, not both.');
  }
  const thresholds = {
    ...(options.maxIncreaseUsd === undefined
      ? {}
      : { maxIncreaseUsd: parseAmount(options.maxIncreaseUsd, '--max-increase-usd') }),
    ...(options.maxIncreasePercent === undefined
      ? {}
      : { maxIncreasePercent: parsePercent(options.maxIncreasePercent) }),
  };
  const shownRepository = (
    await git(options.repo ?? process.cwd(), ['rev-parse', '--show-toplevel'], 'not a git repository')
  )
    .toString('utf8')
    // Only the line feed git adds: a directory name may itself end in spaces.
    .replace(/\n$/, '');
  // Resolved once: every file read from the working tree must resolve to a path below it.
  const repository = await realpath(shownRepository);
  const base = await resolveCommit(repository, options.base);
  const head: Revision = options.workingTree
    ? { kind: 'working-tree', label: 'working tree' }
    : await resolveCommit(repository, options.head ?? 'HEAD');

  const blobs = new GitBlobReader(repository, MAX_PROMPT_BYTES);
  let config: CheckConfig;
  let configText: string;
  let usage: UsageVolume | undefined;
  let catalog: PriceCatalog;
  let files: ChangedFile[];
  try {
    const read = (revision: Revision, path: string, blob?: string) => readAt(repository, blobs, revision, path, blob);
    ({ config, text: configText } = await loadConfig(options.config, (path) => readFirst([head, base], path, read)));
    usage = config.usage ? await loadUsage(config, (path) => read(head, path)) : undefined;
    catalog = await configCatalog(config, (path) => readFirst([head, base], path, read));

    const changes = await changedFiles(repository, base, head);
    const candidates = changes.filter(
      (file) =>
        matchPromptRule(config, file.path) !== undefined ||
        (file.previousPath !== undefined && matchPromptRule(config, file.previousPath) !== undefined),
    );
    // All reads at once: the one git process answers them as a pipeline instead of one round trip per file.
    files = await Promise.all(
      candidates.map(async (file): Promise<ChangedFile> => {
        const { beforeBlob, afterBlob, beforeSpecial, afterSpecial, ...change } = file;
        const side = async (revision: Revision, path: string, blob?: string, special?: string) => {
          if (special) return { skipped: special };
          // git listed this side, so "nothing there" would drop the file from the report without a word.
          return (await read(revision, path, blob)) ?? { skipped: MISSING };
        };
        const [before, after] = await Promise.all([
          file.status === 'added' ? undefined : side(base, file.previousPath ?? file.path, beforeBlob, beforeSpecial),
          file.status === 'removed' ? undefined : side(head, file.path, afterBlob, afterSpecial),
        ]);
        return { ...change, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) };
      }),
    );
  } finally {
    blobs.close();
  }

  const unreadable = files.filter((file) =>
    [file.before, file.after].some(
      (side) => typeof side === 'object' && !(side instanceof Uint8Array) && isUnreadable(side.skipped),
    ),
  );
  if (unreadable.length > 0) {
    // Listed as skipped in the report too; said here so a script reading only the exit code's stream sees it.
    process.stderr.write(
      `tokenmeter: ${unreadable.length} ${unreadable.length === 1 ? 'file' : 'files'} could not be read and ` +
        `${unreadable.length === 1 ? 'is' : 'are'} left out of the totals: ` +
        `${unreadable.map((file) => JSON.stringify(neutralizeInvisible(file.path))).join(', ')}\n`,
    );
  }

  const diff = diffPrompts({
    files,
    config,
    engine: createPromptEngine({ catalog }),
    ...(usage ? { usage } : {}),
    configPath: options.config ?? '.tokenmeter.yml',
    configText,
  });
  const failure = exceededThreshold(diff, thresholds);
  if (options.format === 'json') printJson(costReportJson(diff, failure ? { failure } : {}));
  else if (options.format === 'text') {
    process.stdout.write(renderCostReportText(diff, { plans: config.plansInComment, ...(failure ? { failure } : {}) }));
  } else {
    process.stdout.write(
      renderCostReport(diff, {
        ...(head.kind === 'commit' ? { stamp: { headSha: head.sha } } : {}),
        baseLabel: base.label,
        headLabel: head.label,
        plans: config.plansInComment,
        ...(failure ? { failure } : {}),
      }),
    );
  }
  if (failure) {
    process.stderr.write(`tokenmeter: ${failure}\n`);
    process.exitCode = EXIT_FAILED_CHECK;
  }
  if (diff.modelErrors.length > 0) {
    // A typo is a configuration error (exit 2), never a quietly lower total that passes the gate.
    for (const error of diff.modelErrors) process.stderr.write(`tokenmeter: ${modelErrorSentence(error)}\n`);
    process.exitCode = EXIT_BAD_INPUT;
  }
}

async function resolveCommit(repository: string, ref: string): Promise<Revision & { kind: 'commit' }> {
  if (ref.startsWith('-') || ref.includes('\0')) throw new CliInputError(`Not a revision: ${JSON.stringify(ref)}`);
  const sha = (
    await git(
      repository,
      ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`],
      `unknown revision ${JSON.stringify(ref)}`,
    )
  )
    .toString('utf8')
    .trim();
  return { kind: 'commit', sha, label: sha.slice(0, 7) };
}

/** Changed files between the base and the head (commit or working tree), renames detected as GitHub does. */
/** A changed file, with the ids of its blobs at the base and the head when git names them. */
interface ChangedPath {
  path: string;
  previousPath?: string;
  status: PromptFileStatus;
  beforeBlob?: string;
  afterBlob?: string;
  /** At a commit, a side that is a symbolic link or a submodule: its "content" is not a prompt. */
  beforeSpecial?: string;
  afterSpecial?: string;
}

/** git modes whose blob is not file content: a link's blob is its target path, a submodule's a commit id. */
const SPECIAL_MODES: Record<string, string> = { '120000': 'symbolic link', '160000': 'submodule' };

const NULL_BLOB = /^0+$/;

async function changedFiles(
  repository: string,
  base: Revision & { kind: 'commit' },
  head: Revision,
): Promise<ChangedPath[]> {
  const range = head.kind === 'commit' ? [base.sha, head.sha] : [base.sha];
  // `--raw` rather than `--name-status`: the same statuses and paths, plus the blob ids to read.
  const output = (
    await git(
      repository,
      ['-c', 'core.quotePath=false', 'diff', '--raw', '--no-abbrev', '-z', '-M', ...range, '--'],
      'git diff failed',
    )
  ).toString('utf8');
  const fields = output.split('\0').filter((field) => field !== '');
  const files: ChangedPath[] = [];
  for (let index = 0; index < fields.length; ) {
    // `:old-mode new-mode old-blob new-blob status`; a zero id is a side that does not exist (or is on disk).
    const [oldMode = '', newMode = '', oldBlob = '', newBlob = '', code = ''] = (fields[index++] ?? '').split(' ');
    const beforeSpecial = SPECIAL_MODES[oldMode.replace(/^:/, '')];
    // On disk, links are resolved (and contained) by readWorkingFile instead.
    const afterSpecial = head.kind === 'commit' ? SPECIAL_MODES[newMode] : undefined;
    const blobs = {
      ...(oldBlob && !NULL_BLOB.test(oldBlob) ? { beforeBlob: oldBlob } : {}),
      ...(newBlob && !NULL_BLOB.test(newBlob) && head.kind === 'commit' ? { afterBlob: newBlob } : {}),
      ...(beforeSpecial ? { beforeSpecial } : {}),
      ...(afterSpecial ? { afterSpecial } : {}),
    };
    if (code.startsWith('R')) {
      const previousPath = fields[index++] ?? '';
      files.push({ path: fields[index++] ?? '', previousPath, status: 'renamed', ...blobs });
    } else if (code.startsWith('C')) {
      index++;
      const { afterBlob, afterSpecial: special } = blobs;
      files.push({
        path: fields[index++] ?? '',
        status: 'added',
        ...(afterBlob ? { afterBlob } : {}),
        ...(special ? { afterSpecial: special } : {}),
      });
    } else {
      const status: PromptFileStatus = code === 'A' ? 'added' : code === 'D' ? 'removed' : 'modified';
      files.push({ path: fields[index++] ?? '', status, ...blobs });
    }
  }
  if (head.kind === 'working-tree') {
    // New files not yet added to git are changes too.
    const untracked = (
      await git(repository, ['ls-files', '-z', '--others', '--exclude-standard'], 'git ls-files failed')
    ).toString('utf8');
    for (const path of untracked.split('\0')) if (path) files.push({ path, status: 'added' });
  }
  return files;
}

async function readAt(
  repository: string,
  blobs: GitBlobReader,
  revision: Revision,
  path: string,
  blobId?: string,
): Promise<PromptFileContent | undefined> {
  if (revision.kind === 'working-tree') return readWorkingFile(repository, path);
  const object = blobId ?? `${revision.sha}:${path}`;
  if (GitBlobReader.canRead(object)) {
    let blob: GitBlob | undefined;
    try {
      blob = await blobs.read(object);
    } catch (error) {
      throw new CliInputError(`git cat-file failed (${(error as Error).message})`);
    }
    if (blob === undefined) return undefined;
    if ('tooLarge' in blob) return { skipped: 'larger than 1 MB' };
    return new Uint8Array(blob.content);
  }
  // `cat-file --batch` is line-based: a name with a line break takes one process per read.
  try {
    const size = Number((await git(repository, ['cat-file', '-s', object], '')).toString('utf8').trim());
    if (size > MAX_PROMPT_BYTES) return { skipped: 'larger than 1 MB' };
    return new Uint8Array(await git(repository, ['cat-file', 'blob', object], ''));
  } catch {
    return undefined;
  }
}

/** Why a working-tree file was not read; each is shown as "skipped" in the report and counted on stderr. */
const OUTSIDE = 'link out of the repository';
const NOT_REGULAR = 'not a regular file';
const DANGLING = 'link to a missing file';
const CANNOT_READ = 'cannot be read';
const MISSING = 'listed by git but not readable as a file';

function isUnreadable(reason: string): boolean {
  return (
    reason === OUTSIDE ||
    reason === NOT_REGULAR ||
    reason === DANGLING ||
    reason === MISSING ||
    reason.startsWith(CANNOT_READ)
  );
}

/**
 * A file on disk, read without leaving the repository: the path is resolved (links followed) and must stay
 * below the repository's own resolved path; only a regular file is opened (a FIFO would block, /dev/zero never
 * ends), `O_NOFOLLOW` so the checked path cannot be swapped for a link, and at most the size limit + 1 bytes
 * are read whatever the size reported. Undefined only when the file does not exist.
 */
async function readWorkingFile(repository: string, path: string): Promise<PromptFileContent | undefined> {
  const file = join(repository, path);
  let real: string;
  try {
    real = await realpath(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return { skipped: cannotRead(error) };
    // A link whose target is missing exists as far as git is concerned: say so rather than drop it.
    return (await lstat(file).catch(() => undefined)) ? { skipped: DANGLING } : undefined;
  }
  if (!real.startsWith(repository + sep)) return { skipped: OUTSIDE };
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return { skipped: cannotRead(error) };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { skipped: NOT_REGULAR };
    if (info.size > MAX_PROMPT_BYTES) return { skipped: 'larger than 1 MB' };
    const buffer = Buffer.alloc(Math.min(info.size, MAX_PROMPT_BYTES) + 1);
    let length = 0;
    // The file may grow after fstat: read until it ends or one byte past the limit, no further.
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_PROMPT_BYTES) return { skipped: 'larger than 1 MB' };
    return new Uint8Array(buffer.subarray(0, length));
  } catch (error) {
    return { skipped: cannotRead(error) };
  } finally {
    await handle.close();
  }
}

function cannotRead(error: unknown): string {
  return `${CANNOT_READ} (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
}

async function readFirst(
  revisions: Revision[],
  path: string,
  read: (revision: Revision, path: string) => Promise<PromptFileContent | undefined>,
): Promise<PromptFileContent | undefined> {
  for (const revision of revisions) {
    const content = await read(revision, path);
    if (content !== undefined) return content;
  }
  return undefined;
}

/**
 * The config's `prices:` (read from the repository like the config, or fetched) over the catalog in use, then
 * the command line's `--prices` again on top: what the user typed for this run wins over the repository.
 */
async function configCatalog(
  config: CheckConfig,
  readInRepository: (path: string) => Promise<PromptFileContent | undefined>,
): Promise<PriceCatalog> {
  if (!config.prices?.length) return PriceCatalog.default();
  const fromRepository = await withPriceSources(PriceCatalog.default(), config.prices, async (path) => {
    const content = await readInRepository(path);
    if (content === undefined || typeof content === 'string') return content;
    if (!(content instanceof Uint8Array)) throw new CliInputError(`Cannot read ${path}: ${content.skipped}`);
    return Buffer.from(content).toString('utf8');
  });
  const overrides = activeOverrides();
  return withPriceSources(fromRepository, overrides, async (path) => readFile(path, 'utf8'));
}

async function loadConfig(
  path: string | undefined,
  readInRepository: (path: string) => Promise<PromptFileContent | undefined>,
): Promise<{ config: CheckConfig; text: string }> {
  let text: string;
  if (path !== undefined) {
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new CliInputError(`Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  } else {
    const content = await readInRepository('.tokenmeter.yml');
    if (typeof content === 'object' && !(content instanceof Uint8Array)) {
      throw new CliInputError(`.tokenmeter.yml cannot be used: ${content.skipped}. Pass --config FILE.`);
    }
    if (content === undefined || !(content instanceof Uint8Array)) {
      throw new CliInputError('No .tokenmeter.yml at the head or base: pass --config FILE.');
    }
    text = Buffer.from(content).toString('utf8');
  }
  return { config: parseCheckConfig(text), text };
}

async function loadUsage(config: CheckConfig, read: (path: string) => Promise<PromptFileContent | undefined>) {
  const source = config.usage;
  if (!source) return undefined;
  const content = await read(source.file);
  if (content !== undefined && !(content instanceof Uint8Array) && typeof content === 'object') {
    throw new CliInputError(
      `usage file ${JSON.stringify(neutralizeInvisible(source.file))} cannot be used: ${content.skipped}`,
    );
  }
  if (!(content instanceof Uint8Array)) {
    process.stderr.write(`tokenmeter: usage file ${source.file} not found: using calls-per-month from the config\n`);
    return undefined;
  }
  return parseUsageVolume(Buffer.from(content).toString('utf8'), source.file, source.format);
}

function parseAmount(value: string, option: string): Money {
  const cleaned = value.replace(/^\$/, '');
  if (!/^\d+(\.\d+)?$/.test(cleaned))
    throw new CliInputError(`${option} must be an amount ≥ 0, got ${JSON.stringify(value)}`);
  return Money.from(cleaned);
}

function parsePercent(value: string): string {
  const cleaned = value.replace(/%$/, '');
  if (!/^\d+(\.\d+)?$/.test(cleaned)) {
    throw new CliInputError(`--max-increase-percent must be a number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return cleaned;
}

function git(cwd: string, args: string[], failure: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-C', cwd, ...args],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const detail = stderr.toString('utf8').trim().split('\n')[0] ?? '';
        reject(failure ? new CliInputError(`${failure}${detail ? ` (${detail})` : ''}`) : error);
      },
    );
  });
}
