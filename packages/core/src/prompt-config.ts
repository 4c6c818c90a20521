import picomatch from 'picomatch';
import { InvalidConfigError } from './invalid-config-error';
import { Money } from './money';
import { safeYaml } from './safe-yaml';

/** One `prompts:` entry of `.tokenmeter.yml`: which files are prompts and how often each is called. */
export interface PromptRule {
  /** Glob(s) relative to the repository root (of `files:`, or of `code:` for source files). */
  files: string[];
  /**
   * `code` for a `code:` entry: the matching files are TypeScript/JavaScript/Python source whose OpenAI, Anthropic
   * and Vercel AI SDK calls are each priced as one prompt. `files` otherwise.
   */
  kind?: 'files' | 'code' | 'model';
  /** For a `models:` entry (kind `model`): the dotted path of the model name inside the YAML/JSON file. */
  modelPath?: string[];
  /** For a `models:` entry: input tokens of one call made with that model. */
  inputTokens?: number;
  /** Model the prompts are sent to; a model named in a prompt's own front matter wins. */
  model?: string;
  /** Calls per month of each matching prompt; measured volume from `usage` wins over it. */
  callsPerMonth?: number;
  /** Expected output tokens per call (billed at the output price). Default 0. */
  outputTokens?: number;
  /** Token estimates for template variables, merged over the top-level `variables`. */
  variables: Record<string, number>;
}

export interface CheckConfigPlan {
  name: string;
  monthlyUsd: Money;
}

/** Where measured traffic comes from: a file in the repository exported by @tokenmeter/express. */
export interface UsageSource {
  /** Path relative to the repository root, read at the head commit. */
  file: string;
  /** `daily-series` (`[{date,requests,…}]` JSON or CSV) or `per-prompt` (`{ prompts: { path: calls } }`); detected when absent. */
  format?: 'daily-series' | 'per-prompt';
}

export interface CheckConfig {
  prompts: PromptRule[];
  /**
   * `models:` entries: a model name kept in a YAML/JSON file of the repository (`agents.triage.model`). A change of
   * that value is priced at the entry's volume and tokens; these entries match before `prompts`.
   */
  models?: PromptRule[];
  /** Default model for rules that name none. */
  model?: string;
  variables: Record<string, number>;
  /** Tokens assumed for a template variable without an estimate. Default 0 (and the count says so). */
  defaultVariableTokens: number;
  plans: CheckConfigPlan[];
  /** Show the flat-rate comparison in the report (`plans-in-comment`). Default false: plans are computed, not shown. */
  plansInComment: boolean;
  usage?: UsageSource;
  /**
   * Price files or feeds layered over the catalog, in order (later wins): negotiated prices, private models.
   * Each is a path relative to the repository root (read at the commit the config is read from) or a URL.
   */
  prices?: string[];
}

const TOP_LEVEL_KEYS = new Set([
  'prompts',
  'models',
  'model',
  'variables',
  'default-variable-tokens',
  'plans',
  'plans-in-comment',
  'usage',
  'prices',
  'volumes',
]);
const RULE_KEYS = new Set(['files', 'code', 'model', 'calls-per-month', 'output-tokens', 'variables']);
const MODEL_KEYS = new Set(['file', 'path', 'calls-per-month', 'input-tokens', 'output-tokens']);
const PLAN_KEYS = new Set(['name', 'monthly-usd']);
const USAGE_KEYS = new Set(['file', 'format']);
const VOLUMES_KEYS = new Set(['measured']);

/** Parses `.tokenmeter.yml`; throws `InvalidConfigError` (code `INVALID_CONFIG`) naming the field on bad input. */
export function parseCheckConfig(yamlText: string): CheckConfig {
  let document: unknown;
  try {
    document = safeYaml(yamlText);
  } catch (error) {
    throw new InvalidConfigError('', `not valid YAML (${firstLine(error)})`, { cause: error });
  }
  if (document === null || document === undefined) throw new InvalidConfigError('prompts', 'is required');
  const root = asObject(document, '');
  rejectUnknownKeys(root, TOP_LEVEL_KEYS, '');

  const model = optionalString(root.model, 'model');
  const variables = parseVariables(root.variables, 'variables');
  const defaultVariableTokens = optionalCount(root['default-variable-tokens'], 'default-variable-tokens') ?? 0;
  const usage =
    root.usage === undefined || root.usage === null ? parseVolumes(root.volumes) : parseUsageSource(root.usage);
  if (root.usage !== undefined && root.usage !== null && root.volumes !== undefined && root.volumes !== null) {
    throw new InvalidConfigError('volumes', 'give either `usage` or `volumes: { measured }`, not both');
  }
  const prices = root.prices === undefined || root.prices === null ? undefined : parsePriceSources(root.prices);

  if (root.prompts === undefined || root.prompts === null) throw new InvalidConfigError('prompts', 'is required');
  const ruleList = Array.isArray(root.prompts) ? root.prompts : [root.prompts];
  if (ruleList.length === 0) throw new InvalidConfigError('prompts', 'must list at least one entry');
  const prompts = ruleList.map((value, index) => {
    const field = `prompts[${index}]`;
    const rule = asObject(value, field);
    rejectUnknownKeys(rule, RULE_KEYS, field);
    if (rule.files !== undefined && rule.code !== undefined) {
      throw new InvalidConfigError(`${field}.code`, 'cannot be combined with `files` in one entry: use two entries');
    }
    const isCode = rule.code !== undefined;
    const files = isCode ? parseGlobs(rule.code, `${field}.code`) : parseGlobs(rule.files, `${field}.files`);
    const ruleModel = optionalString(rule.model, `${field}.model`);
    if (!isCode && ruleModel === undefined && model === undefined) {
      throw new InvalidConfigError(`${field}.model`, 'is required (or set a top-level `model`)');
    }
    const callsPerMonth = optionalCount(rule['calls-per-month'], `${field}.calls-per-month`);
    if (callsPerMonth === undefined && usage === undefined) {
      throw new InvalidConfigError(
        `${field}.calls-per-month`,
        'is required when no `usage` file gives measured volume',
      );
    }
    return {
      files,
      ...(isCode ? { kind: 'code' as const } : {}),
      ...(ruleModel === undefined ? {} : { model: ruleModel }),
      ...(callsPerMonth === undefined ? {} : { callsPerMonth }),
      ...optionalField('outputTokens', optionalCount(rule['output-tokens'], `${field}.output-tokens`)),
      variables: parseVariables(rule.variables, `${field}.variables`),
    } satisfies PromptRule;
  });

  const models =
    root.models === undefined || root.models === null
      ? []
      : asArray(root.models, 'models').map((value, index): PromptRule => {
          const field = `models[${index}]`;
          const entry = asObject(value, field);
          rejectUnknownKeys(entry, MODEL_KEYS, field);
          const file = optionalString(entry.file, `${field}.file`);
          if (file === undefined) throw new InvalidConfigError(`${field}.file`, 'is required (a YAML or JSON file)');
          if (!/\.(ya?ml|json)$/i.test(file))
            throw new InvalidConfigError(`${field}.file`, 'must be a .yml, .yaml or .json file');
          const path = optionalString(entry.path, `${field}.path`);
          if (path === undefined || path.split('.').some((key) => key === '')) {
            throw new InvalidConfigError(
              `${field}.path`,
              'is required: the dotted path of the model, e.g. agents.triage.model',
            );
          }
          const inputTokens = optionalCount(entry['input-tokens'], `${field}.input-tokens`);
          if (inputTokens === undefined) {
            throw new InvalidConfigError(
              `${field}.input-tokens`,
              'is required: input tokens of one call with that model',
            );
          }
          const callsPerMonth = optionalCount(entry['calls-per-month'], `${field}.calls-per-month`);
          if (callsPerMonth === undefined && usage === undefined) {
            throw new InvalidConfigError(
              `${field}.calls-per-month`,
              'is required when no `usage` file gives measured volume',
            );
          }
          return {
            files: [file.replace(/^\.\//, '')],
            kind: 'model',
            modelPath: path.split('.'),
            inputTokens,
            ...(callsPerMonth === undefined ? {} : { callsPerMonth }),
            ...optionalField('outputTokens', optionalCount(entry['output-tokens'], `${field}.output-tokens`)),
            variables: {},
          };
        });

  const plans =
    root.plans === undefined || root.plans === null
      ? []
      : asArray(root.plans, 'plans').map((value, index) => {
          const field = `plans[${index}]`;
          const plan = asObject(value, field);
          rejectUnknownKeys(plan, PLAN_KEYS, field);
          const name = optionalString(plan.name, `${field}.name`);
          if (name === undefined) throw new InvalidConfigError(`${field}.name`, 'is required');
          const monthly = plan['monthly-usd'];
          if (typeof monthly !== 'number' && typeof monthly !== 'string') {
            throw new InvalidConfigError(`${field}.monthly-usd`, 'is required (a dollar amount such as 25)');
          }
          let monthlyUsd: Money;
          try {
            monthlyUsd = Money.from(monthly);
          } catch (error) {
            throw new InvalidConfigError(`${field}.monthly-usd`, `${JSON.stringify(monthly)} is not an amount`, {
              cause: error,
            });
          }
          if (monthlyUsd.isNegative()) throw new InvalidConfigError(`${field}.monthly-usd`, 'must be ≥ 0');
          return { name, monthlyUsd };
        });

  const plansInComment = root['plans-in-comment'] ?? false;
  if (typeof plansInComment !== 'boolean') throw new InvalidConfigError('plans-in-comment', 'must be true or false');

  return {
    prompts,
    ...(models.length === 0 ? {} : { models }),
    ...(model === undefined ? {} : { model }),
    variables,
    defaultVariableTokens,
    plans,
    plansInComment,
    ...(usage === undefined ? {} : { usage }),
    ...(prices === undefined ? {} : { prices }),
  };
}

function parsePriceSources(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (!list) throw new InvalidConfigError('prices', 'must be a price file path or URL, or a list of them');
  return list.map((item, index) => {
    if (typeof item !== 'string') throw new InvalidConfigError(`prices[${index}]`, 'must be a path or URL');
    return nonEmpty(item, `prices[${index}]`).replace(/^\.\//, '');
  });
}

/** The first rule whose globs match `path` (forward slashes, relative to the repository root). */
export function matchPromptRule(config: CheckConfig, path: string): PromptRule | undefined {
  // picomatch's `.` stops at line terminators, so `prompts/**` would silently miss "prompts/a\nb.md"; a NUL
  // (never in a glob, never in a git path) stands in for them so `*` and `?` match them like any character.
  const matchable = /[\n\r\u2028\u2029]/.test(path) ? path.replace(/[\n\r\u2028\u2029]/g, '\0') : path;
  return (
    config.models?.find((rule) => rule.files[0] === path) ??
    config.prompts.find((rule) => compiledGlobs(rule)(matchable))
  );
}

const matcherCache = new WeakMap<PromptRule, (path: string) => boolean>();

function compiledGlobs(rule: PromptRule): (path: string) => boolean {
  let matcher = matcherCache.get(rule);
  if (!matcher) {
    // `dot: true` so prompts under `.github/` match like any other file.
    matcher = picomatch(rule.files, { dot: true });
    matcherCache.set(rule, matcher);
  }
  return matcher;
}

function parseUsageSource(value: unknown): UsageSource {
  if (typeof value === 'string') return { file: repositoryPath(nonEmpty(value, 'usage'), 'usage') };
  const usage = asObject(value, 'usage');
  rejectUnknownKeys(usage, USAGE_KEYS, 'usage');
  const file = optionalString(usage.file, 'usage.file');
  if (file === undefined) throw new InvalidConfigError('usage.file', 'is required');
  repositoryPath(file, 'usage.file');
  const format = usage.format;
  if (format !== undefined && format !== 'daily-series' && format !== 'per-prompt') {
    throw new InvalidConfigError('usage.format', 'must be `daily-series` or `per-prompt`');
  }
  return { file, ...(format === undefined ? {} : { format }) };
}

/**
 * The config comes with the pull request, so a path in it must not reach outside the repository (`../..`,
 * `/etc/passwd`, a drive letter): the CLI reads it from disk, where nothing else would stop it.
 */
function repositoryPath(path: string, field: string): string {
  const outside = new InvalidConfigError(field, 'must be a relative path inside the repository');
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path) || path.includes('\0')) throw outside;
  let depth = 0;
  for (const segment of path.split(/[\\/]/)) {
    if (segment === '..') depth -= 1;
    else if (segment !== '' && segment !== '.') depth += 1;
    if (depth < 0) throw outside;
  }
  return path;
}

/** `volumes: { measured: usage/prompts.json }`: a per-prompt usage export (`tokenmeter usage export --by prompt`). */
function parseVolumes(value: unknown): UsageSource | undefined {
  if (value === undefined || value === null) return undefined;
  const volumes = asObject(value, 'volumes');
  rejectUnknownKeys(volumes, VOLUMES_KEYS, 'volumes');
  const file = optionalString(volumes.measured, 'volumes.measured');
  if (file === undefined) throw new InvalidConfigError('volumes.measured', 'is required (the path of a usage export)');
  return { file: file.replace(/^\.\//, ''), format: 'per-prompt' };
}

function parseGlobs(value: unknown, field: string): string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (!list || list.length === 0) throw new InvalidConfigError(field, 'must be a glob or a list of globs');
  return list.map((glob, index) => {
    if (typeof glob !== 'string' || glob.trim() === '') {
      throw new InvalidConfigError(`${field}[${index}]`, 'must be a non-empty glob string');
    }
    return glob.trim().replace(/^\.\//, '');
  });
}

function parseVariables(value: unknown, field: string): Record<string, number> {
  if (value === undefined || value === null) return {};
  const object = asObject(value, field);
  const result: Record<string, number> = Object.create(null);
  for (const [name, tokens] of Object.entries(object)) {
    const count = optionalCount(tokens, `${field}.${name}`);
    if (count === undefined) throw new InvalidConfigError(`${field}.${name}`, 'must be a token count');
    result[name] = count;
  }
  return result;
}

function optionalCount(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' && /^\d[\d_,]*$/.test(value) ? Number(value.replace(/[_,]/g, '')) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
    throw new InvalidConfigError(field, `must be a whole number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return number;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidConfigError(field, `must be a string, got ${typeof value}`);
  return nonEmpty(value, field);
}

function nonEmpty(value: string, field: string): string {
  if (value.trim() === '') throw new InvalidConfigError(field, 'must not be empty');
  return value.trim();
}

function asObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidConfigError(field, 'must be a mapping');
  }
  return value as Record<string, unknown>;
}

function asArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new InvalidConfigError(field, 'must be a list');
  return value;
}

function rejectUnknownKeys(object: Record<string, unknown>, known: Set<string>, field: string): void {
  for (const key of Object.keys(object)) {
    if (!known.has(key)) {
      const camel = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
      const hint = known.has(camel) ? ` (did you mean \`${camel}\`?)` : '';
      throw new InvalidConfigError(field ? `${field}.${key}` : key, `unknown key${hint}`);
    }
  }
}

function optionalField<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
