import { divideRoundHalfEven, formatScaled, formatUsd, Money } from './money';
import { type CodeCallSite, extractCodePrompts } from './prompt-code';
import { type CheckConfig, type CheckConfigPlan, matchPromptRule, type PromptRule } from './prompt-config';
import {
  decodeContent,
  type ParsedPrompt,
  type PromptCounter,
  type PromptFormat,
  parseCodeCall,
  parsePromptFile,
} from './prompt-parse';
import type { UsageVolume } from './prompt-usage';
import { safeYaml } from './safe-yaml';

export type PromptFileStatus = 'added' | 'modified' | 'renamed' | 'removed';

/** A file's text at one side of the change, or why it could not be read (too large, API refused…). */
export type PromptFileContent = string | Uint8Array | { skipped: string };

export interface ChangedFile {
  /** Path at the head (for `removed`: the path that was deleted). */
  path: string;
  /** Path at the base, for renames. */
  previousPath?: string;
  status: PromptFileStatus;
  /** Content at the base; absent for `added`. */
  before?: PromptFileContent;
  /** Content at the head; absent for `removed`. */
  after?: PromptFileContent;
}

/** The price of one call of a model, as the diff needs it. */
export interface CallPrice {
  priced: boolean;
  /** Canonical catalog id when priced, the requested name otherwise. */
  modelId: string;
  total?: Money;
  /** USD per million input / output tokens, for the report's assumptions. */
  inputPerMillion?: string;
  outputPerMillion?: string;
  pricesEffectiveFrom?: string;
  /** True when the catalog does not know the name at all (a typo), as opposed to a known model without prices. */
  unknown?: boolean;
}

/** Counting and pricing behind the diff; `defaultPromptEngine()` wires tiktoken and the shipped catalog. */
export interface PromptEngine extends PromptCounter {
  priceCall(model: string, inputTokens: number, outputTokens: number): CallPrice;
  /** ISO date the catalog's prices were taken. */
  catalogDate?: string;
  /** Known model ids closest to an unknown name, for "did you mean". */
  suggestModels?(model: string): string[];
}

/**
 * A model name the catalog does not know, written in the config or a prompt file. It is a configuration error,
 * not a quiet "unpriced": every prompt priced with it would drop out of the totals and lower the headline.
 */
export interface ModelError {
  model: string;
  /** The file the name is written in: the config or the prompt. */
  file: string;
  /** 1-based line of the name in `file`, when it could be found. */
  line?: number;
  source: 'config' | 'file';
  suggestions: string[];
  /** Changed prompts that use it (their rows are unpriced and left out of the totals). */
  prompts: string[];
}

export type VolumeSource = 'usage-per-prompt' | 'usage-daily-series' | 'config' | 'none';

/** One side (base or head) of a changed prompt. */
export interface PromptSide {
  path: string;
  format: PromptFormat;
  model: string;
  modelSource: 'config' | 'file';
  modelId: string;
  priced: boolean;
  tokens: number;
  estimated: boolean;
  outputTokens: number;
  callsPerMonth: number;
  volumeSource: VolumeSource;
  /** Cost of one call (input + expected output); undefined when the model is not priced. */
  costPerCall?: Money;
  /** Cost per call × calls per month; undefined when the model is not priced. */
  monthly?: Money;
  notes: string[];
  /** The catalog does not know the model name (see `PromptDiff.modelErrors`). */
  unknownModel?: boolean;
  /** Template variables without a token estimate: `tokens` is then a floor, not an estimate. */
  unestimated: string[];
  /** The template's own tokens, without any variable (estimated or measured). */
  templateTokens: number;
  /** True when `tokens` is the template plus the variables' measured mean size (usage export). */
  measuredTokens?: boolean;
}

export interface PromptChange {
  /** The file, or for a call in source code `file:line (label)`, e.g. `src/agents/triage.ts:42 (system prompt of triage)`. */
  path: string;
  /** For a call in source code: the file, the call's line (head side, else base) and what the call is. */
  code?: { file: string; line: number; label: string; callee: string };
  previousPath?: string;
  status: PromptFileStatus;
  before?: PromptSide;
  after?: PromptSide;
  /** Why it was not counted (binary or > 1 MB on either side): it is then left out of the totals. */
  skipped?: string;
  /** Whether both present sides are priced (and not skipped): only then do the monthly numbers count in totals. */
  priced: boolean;
  /** Monthly cost before / after (zero for an absent side); meaningful only when `priced`. */
  monthlyBefore: Money;
  monthlyAfter: Money;
  monthlyDelta: Money;
  /** Change of the cost of one call. */
  perCallDelta: Money;
  tokensDelta: number;
  /**
   * `monthlyDelta` split in two when both sides are priced: `promptDelta` is the new text (and volume) at the old
   * model, `modelDelta` the switch to the new model at the new text. They add up to `monthlyDelta` exactly.
   */
  promptDelta?: Money;
  modelDelta?: Money;
}

export interface PlanComparison {
  name: string;
  monthlyUsd: Money;
  /** Pay-per-token monthly cost of the changed prompts after the change. */
  payPerToken: Money;
  cheaper: 'flat-rate' | 'pay-per-token' | 'equal';
  /** How much the cheaper option saves per month. */
  savings: Money;
  /** Tokens per month (input + output, at the head's mix) from which the flat rate is cheaper; decimal string. */
  breakEvenTokensPerMonth?: string;
  /** Calls per month (all changed prompts, scaled together) from which the flat rate is cheaper. */
  breakEvenCallsPerMonth?: number;
}

export interface ModelAssumption {
  model: string;
  modelId: string;
  priced: boolean;
  inputPerMillion?: string;
  outputPerMillion?: string;
  pricesEffectiveFrom?: string;
}

export interface PromptDiff {
  prompts: PromptChange[];
  costBefore: Money;
  costAfter: Money;
  costDelta: Money;
  /** Percent change of the monthly total, one decimal (`"12.5"`); undefined when the base cost is zero. */
  deltaPercent?: string;
  /** Calls and tokens per month across the head sides (for break-even and the chart). */
  callsPerMonthAfter: number;
  tokensPerMonthAfter: number;
  /** False when some prompt was unpriced or skipped: totals cover only the rest. */
  complete: boolean;
  plans: PlanComparison[];
  models: ModelAssumption[];
  volumeSources: VolumeSource[];
  usageSource?: string;
  /** Days the measured usage covers, when the usage file says. */
  usageDays?: number;
  catalogDate?: string;
  /** Notes about the whole run (files cap reached…). */
  notes: string[];
  /** Unknown model names in the config or the changed prompts: the check must fail on them. */
  modelErrors: ModelError[];
}

export interface DiffPromptsInput {
  files: ChangedFile[];
  config: CheckConfig;
  engine: PromptEngine;
  usage?: UsageVolume;
  /** Notes from the caller to carry into the report (e.g. "GitHub lists at most 3000 files"). */
  notes?: string[];
  /** Path and text of the config, to point a model error at its line. */
  configPath?: string;
  configText?: string;
}

/**
 * Prices the prompt files of a change: tokens per call before/after, cost per call and per month at the
 * configured or measured volume, totals and the flat-rate comparison. Files outside the prompt globs are ignored.
 */
export function diffPrompts(input: DiffPromptsInput): PromptDiff {
  const { config, engine, usage } = input;
  const prompts: PromptChange[] = [];
  const models = new Map<string, ModelAssumption>();
  const volumeSources = new Set<VolumeSource>();
  const configPath = input.configPath ?? '.tokenmeter.yml';
  const modelErrors = new Map<string, ModelError>();
  const addModelError = (model: string, file: string, source: ModelError['source'], text?: string) => {
    const key = `${source}\u0000${file}\u0000${model}`;
    let error = modelErrors.get(key);
    if (!error) {
      const line = text === undefined ? undefined : lineOfModel(text, model);
      error = {
        model,
        file,
        ...(line === undefined ? {} : { line }),
        source,
        suggestions: engine.suggestModels?.(model) ?? [],
        prompts: [],
      };
      modelErrors.set(key, error);
    }
    return error;
  };
  // Every model the config names is checked, used by this change or not: the typo bites on the next one.
  for (const model of [config.model, ...config.prompts.map((rule) => rule.model)]) {
    if (model !== undefined && engine.priceCall(model, 0, 0).unknown) {
      addModelError(model, configPath, 'config', input.configText);
    }
  }

  const registerSide = (side: PromptSide): PromptSide => {
    volumeSources.add(side.volumeSource);
    if (!models.has(side.model)) {
      const price = engine.priceCall(side.model, 0, 0);
      models.set(side.model, {
        model: side.model,
        modelId: price.modelId,
        priced: price.priced,
        ...pick(price, ['inputPerMillion', 'outputPerMillion', 'pricesEffectiveFrom']),
      });
    }
    return side;
  };

  /**
   * A source file under a `code:` entry: every SDK call is one prompt, paired between base and head by its
   * enclosing function, callee and order (lines move with unrelated edits). Calls whose text and model did not
   * change are left out, so an edit elsewhere in the file adds no rows.
   */
  const diffCodeFile = (
    file: ChangedFile,
    beforeRule: PromptRule | undefined,
    afterRule: PromptRule | undefined,
  ): PromptChange[] => {
    const beforePath = file.previousPath ?? file.path;
    const read = (rule: PromptRule | undefined, path: string, content: PromptFileContent | undefined) => {
      if (rule?.kind !== 'code' || content === undefined) return undefined;
      if (typeof content === 'object' && !(content instanceof Uint8Array)) return { skipped: content.skipped };
      const decoded = decodeContent(content);
      if ('skipped' in decoded) return { skipped: decoded.skipped };
      return extractCodePrompts(path, decoded.text.replace(/^\uFEFF/, ''));
    };
    const before = read(beforeRule, beforePath, file.before);
    const after = read(afterRule, file.path, file.after);
    const empty = { monthlyBefore: Money.ZERO, monthlyAfter: Money.ZERO, monthlyDelta: Money.ZERO };
    const skipped = [before, after].find((side) => side !== undefined && 'skipped' in side);
    if (skipped && 'skipped' in skipped) {
      return [
        {
          path: file.path,
          status: file.status,
          skipped: skipped.skipped,
          priced: false,
          ...empty,
          perCallDelta: Money.ZERO,
          tokensDelta: 0,
        },
      ];
    }
    const beforeCalls = new Map((before && 'calls' in before ? before.calls : []).map((call) => [call.key, call]));
    const afterCalls = after && 'calls' in after ? after.calls : [];
    const fileNotes = [
      ...(before && 'notes' in before ? before.notes : []),
      ...(after && 'notes' in after ? after.notes : []),
    ];
    const pairs: [CodeCallSite | undefined, CodeCallSite | undefined][] = afterCalls.map((call) => [
      beforeCalls.get(call.key),
      call,
    ]);
    const paired = new Set(afterCalls.map((call) => call.key));
    for (const call of beforeCalls.values()) if (!paired.has(call.key)) pairs.push([call, undefined]);

    const side = (
      rule: PromptRule | undefined,
      path: string,
      call: CodeCallSite | undefined,
      volumePaths: string[],
    ) => {
      if (!rule || !call) return undefined;
      const parsed = parseCodeCall(`${path}:${call.line}`, call, {
        model: rule.model ?? config.model ?? '',
        variables: { ...config.variables, ...rule.variables },
        defaultVariableTokens: config.defaultVariableTokens,
        counter: engine,
      });
      if (parsed.model === '') parsed.notes.push('the model is not a literal and the config names none');
      parsed.notes.push(...fileNotes);
      return registerSide(priceSide(parsed, rule, volumePaths, usage, engine));
    };

    const changes: PromptChange[] = [];
    for (const [beforeCall, afterCall] of pairs) {
      if (
        beforeCall &&
        afterCall &&
        beforeCall.model === afterCall.model &&
        JSON.stringify(beforeCall.messages) === JSON.stringify(afterCall.messages)
      ) {
        continue;
      }
      const call = (afterCall ?? beforeCall) as CodeCallSite;
      const path = afterCall ? file.path : beforePath;
      // Measured volume per call site is keyed `file:label` (lines move); the file's volume is the fallback.
      const volumeKeys = (sidePath: string) => [`${sidePath}:${call.label}`, sidePath];
      const beforeSide = side(beforeRule, beforePath, beforeCall, volumeKeys(beforePath));
      const afterSide = side(afterRule, file.path, afterCall, [...volumeKeys(file.path), ...volumeKeys(beforePath)]);
      const monthlyBefore = beforeSide?.monthly ?? Money.ZERO;
      const monthlyAfter = afterSide?.monthly ?? Money.ZERO;
      changes.push({
        path: `${path}:${call.line} (${call.label})`,
        code: { file: path, line: call.line, label: call.label, callee: call.callee },
        status: beforeSide && afterSide ? 'modified' : afterSide ? 'added' : 'removed',
        ...(beforeSide ? { before: beforeSide } : {}),
        ...(afterSide ? { after: afterSide } : {}),
        priced: (beforeSide?.priced ?? true) && (afterSide?.priced ?? true),
        monthlyBefore,
        monthlyAfter,
        monthlyDelta: monthlyAfter.minus(monthlyBefore),
        perCallDelta: (afterSide?.costPerCall ?? Money.ZERO).minus(beforeSide?.costPerCall ?? Money.ZERO),
        tokensDelta: (afterSide?.tokens ?? 0) - (beforeSide?.tokens ?? 0),
      });
    }
    return changes;
  };

  /**
   * A `models:` entry: the model name at a dotted path of a YAML/JSON file. Only a changed value is a row, priced
   * at the entry's input/output tokens and volume on each side.
   */
  const diffModelFile = (
    file: ChangedFile,
    beforeRule: PromptRule | undefined,
    afterRule: PromptRule | undefined,
  ): PromptChange | undefined => {
    const rule = (afterRule ?? beforeRule) as PromptRule;
    const dotted = (rule.modelPath ?? []).join('.');
    const name = `${file.path} (${dotted})`;
    const notes: string[] = [];
    const read = (sideRule: PromptRule | undefined, path: string, content: PromptFileContent | undefined) => {
      if (sideRule?.kind !== 'model' || content === undefined) return undefined;
      if (typeof content === 'object' && !(content instanceof Uint8Array)) return { skipped: content.skipped };
      const decoded = decodeContent(content);
      if ('skipped' in decoded) return { skipped: decoded.skipped };
      let value: unknown;
      try {
        value = /\.json$/i.test(path) ? JSON.parse(decoded.text) : safeYaml(decoded.text);
      } catch {
        notes.push(`${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}`);
        return undefined;
      }
      for (const key of sideRule.modelPath ?? []) {
        value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
      }
      if (typeof value === 'string' && value.trim() !== '') return { model: value.trim() };
      notes.push(`${path} has no model name at ${dotted}`);
      return undefined;
    };
    const beforePath = file.previousPath ?? file.path;
    const before = read(beforeRule, beforePath, file.before);
    const after = read(afterRule, file.path, file.after);
    const base = { path: name, status: file.status, perCallDelta: Money.ZERO, tokensDelta: 0 };
    const zero = { monthlyBefore: Money.ZERO, monthlyAfter: Money.ZERO, monthlyDelta: Money.ZERO };
    const skipped = [before, after].find((side) => side !== undefined && 'skipped' in side);
    if (skipped && 'skipped' in skipped) return { ...base, ...zero, skipped: skipped.skipped, priced: false };
    const beforeModel = before && 'model' in before ? before.model : undefined;
    const afterModel = after && 'model' in after ? after.model : undefined;
    if (beforeModel === afterModel && notes.length === 0) return undefined;
    const side = (sideRule: PromptRule | undefined, model: string | undefined, volumePaths: string[]) => {
      if (!sideRule || model === undefined) return undefined;
      const parsed: ParsedPrompt = {
        path: `${file.path}#${dotted}`,
        format: 'model-config',
        model,
        modelSource: 'file',
        tokens: sideRule.inputTokens ?? 0,
        encoding: 'estimate',
        estimated: true,
        variables: [],
        notes: [`input tokens per call from the config's input-tokens (${sideRule.inputTokens ?? 0})`, ...notes],
      };
      return registerSide(priceSide(parsed, sideRule, volumePaths, usage, engine));
    };
    const beforeSide = side(beforeRule, beforeModel, [`${beforePath}#${dotted}`]);
    const afterSide = side(afterRule, afterModel, [`${file.path}#${dotted}`, `${beforePath}#${dotted}`]);
    if (!beforeSide && !afterSide) return { ...base, ...zero, skipped: notes.join('; ') || 'no model', priced: false };
    const monthlyBefore = beforeSide?.monthly ?? Money.ZERO;
    const monthlyAfter = afterSide?.monthly ?? Money.ZERO;
    return {
      ...base,
      status: beforeSide && afterSide ? 'modified' : afterSide ? 'added' : 'removed',
      ...(beforeSide ? { before: beforeSide } : {}),
      ...(afterSide ? { after: afterSide } : {}),
      priced: (beforeSide?.priced ?? true) && (afterSide?.priced ?? true),
      monthlyBefore,
      monthlyAfter,
      monthlyDelta: monthlyAfter.minus(monthlyBefore),
      perCallDelta: (afterSide?.costPerCall ?? Money.ZERO).minus(beforeSide?.costPerCall ?? Money.ZERO),
      tokensDelta: (afterSide?.tokens ?? 0) - (beforeSide?.tokens ?? 0),
    };
  };

  const sortedFiles = [...input.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of sortedFiles) {
    const beforePath = file.previousPath ?? file.path;
    const beforeRule = file.status === 'added' ? undefined : matchPromptRule(config, beforePath);
    const afterRule = file.status === 'removed' ? undefined : matchPromptRule(config, file.path);
    if (!beforeRule && !afterRule) continue;
    if (beforeRule?.kind === 'model' || afterRule?.kind === 'model') {
      const change = diffModelFile(file, beforeRule, afterRule);
      if (change) prompts.push(change);
      continue;
    }
    if (beforeRule?.kind === 'code' || afterRule?.kind === 'code') {
      prompts.push(...diffCodeFile(file, beforeRule, afterRule));
      continue;
    }

    const readSide = (
      rule: PromptRule | undefined,
      path: string,
      content: PromptFileContent | undefined,
      volumePaths: string[],
      baseTemplateTokens?: number,
    ): PromptSide | { skipped: string } | undefined => {
      if (!rule) return undefined;
      if (content === undefined) return undefined;
      if (typeof content === 'object' && !(content instanceof Uint8Array)) return { skipped: content.skipped };
      const parsed = parsePromptFile(path, content, {
        model: rule.model ?? config.model ?? '',
        variables: { ...config.variables, ...rule.variables },
        defaultVariableTokens: config.defaultVariableTokens,
        counter: engine,
      });
      if (parsed.skipped) return { skipped: parsed.skipped };
      const side = registerSide(priceSide(parsed, rule, volumePaths, usage, engine, baseTemplateTokens));
      if (side.unknownModel) {
        // A base file's own model is history this change cannot fix; the head's and the config's it can.
        if (side.modelSource === 'config') {
          addModelError(side.model, configPath, 'config', input.configText).prompts.push(file.path);
        } else if (path === file.path && content === file.after) {
          addModelError(side.model, path, 'file', textOf(content)).prompts.push(file.path);
        }
      }
      return side;
    };

    const before = readSide(beforeRule, beforePath, file.before, [beforePath]);
    // Measured input sizes come from the base template running in production: the head reuses its variables' size.
    const baseTemplate = before !== undefined && !('skipped' in before) ? before.templateTokens : undefined;
    const after = readSide(afterRule, file.path, file.after, [file.path, beforePath], baseTemplate);
    // A file that moved into or out of the prompt globs is an added or removed prompt.
    const status: PromptFileStatus =
      before === undefined && after !== undefined
        ? 'added'
        : after === undefined && before !== undefined
          ? 'removed'
          : file.status;
    const change: PromptChange = {
      path: file.path,
      ...(file.previousPath && file.previousPath !== file.path ? { previousPath: file.previousPath } : {}),
      status,
      priced: true,
      monthlyBefore: Money.ZERO,
      monthlyAfter: Money.ZERO,
      monthlyDelta: Money.ZERO,
      perCallDelta: Money.ZERO,
      tokensDelta: 0,
    };
    const skipped = [before, after].find((side) => side !== undefined && 'skipped' in side) as
      | { skipped: string }
      | undefined;
    if (skipped) {
      prompts.push({ ...change, skipped: skipped.skipped, priced: false });
      continue;
    }
    const beforeSide = before as PromptSide | undefined;
    const afterSide = after as PromptSide | undefined;
    if (beforeSide === undefined && afterSide === undefined) continue;
    const priced = (beforeSide?.priced ?? true) && (afterSide?.priced ?? true);
    const monthlyBefore = beforeSide?.monthly ?? Money.ZERO;
    const monthlyAfter = afterSide?.monthly ?? Money.ZERO;
    const split = priced ? splitChange(beforeSide, afterSide, monthlyBefore, monthlyAfter, engine) : undefined;
    prompts.push({
      ...change,
      ...(beforeSide ? { before: beforeSide } : {}),
      ...(afterSide ? { after: afterSide } : {}),
      priced,
      monthlyBefore,
      monthlyAfter,
      monthlyDelta: monthlyAfter.minus(monthlyBefore),
      perCallDelta: (afterSide?.costPerCall ?? Money.ZERO).minus(beforeSide?.costPerCall ?? Money.ZERO),
      tokensDelta: (afterSide?.tokens ?? 0) - (beforeSide?.tokens ?? 0),
      ...split,
    });
  }

  const counted = prompts.filter((prompt) => prompt.priced);
  const costBefore = Money.sum(counted.map((prompt) => prompt.monthlyBefore));
  const costAfter = Money.sum(counted.map((prompt) => prompt.monthlyAfter));
  const costDelta = costAfter.minus(costBefore);
  let callsPerMonthAfter = 0;
  let tokensPerMonthAfter = 0;
  for (const prompt of counted) {
    if (!prompt.after) continue;
    callsPerMonthAfter += prompt.after.callsPerMonth;
    tokensPerMonthAfter += (prompt.after.tokens + prompt.after.outputTokens) * prompt.after.callsPerMonth;
  }
  return {
    prompts,
    costBefore,
    costAfter,
    costDelta,
    ...(costBefore.isZero() ? {} : { deltaPercent: percentChange(costBefore, costAfter) }),
    callsPerMonthAfter,
    tokensPerMonthAfter,
    complete: counted.length === prompts.length,
    plans: comparePlans(config.plans, costAfter, tokensPerMonthAfter, callsPerMonthAfter),
    models: [...models.values()].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0)),
    volumeSources: [...volumeSources].sort(),
    ...(usage ? { usageSource: usage.source } : {}),
    ...(usage?.days !== undefined ? { usageDays: usage.days } : {}),
    ...(engine.catalogDate ? { catalogDate: engine.catalogDate } : {}),
    notes: [...(input.notes ?? [])],
    modelErrors: [...modelErrors.values()].map((error) => ({ ...error, prompts: [...new Set(error.prompts)] })),
  };
}

/** The first line that names `model` as a `model:` value (YAML front matter, config, chat JSON), else any mention. */
function lineOfModel(text: string, model: string): number | undefined {
  const name = model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const lines = text.split(/\r?\n/);
  const patterns = [
    new RegExp(`["']?\\bmodel["']?\\s*:\\s*["']?${name}["']?\\s*(,|#.*)?$`),
    new RegExp(`(^|[\\s:"'])${name}($|[\\s,"'}])`),
  ];
  for (const pattern of patterns) {
    const index = lines.findIndex((line) => pattern.test(line.trim()));
    if (index >= 0) return index + 1;
  }
  return undefined;
}

function textOf(content: string | Uint8Array): string {
  return typeof content === 'string' ? content : new TextDecoder().decode(content);
}

function splitChange(
  before: PromptSide | undefined,
  after: PromptSide | undefined,
  monthlyBefore: Money,
  monthlyAfter: Money,
  engine: PromptEngine,
): { promptDelta: Money; modelDelta: Money } | undefined {
  const delta = monthlyAfter.minus(monthlyBefore);
  if (!before || !after || before.modelId === after.modelId) return { promptDelta: delta, modelDelta: Money.ZERO };
  const atOldModel = engine.priceCall(before.model, after.tokens, after.outputTokens);
  if (!atOldModel.priced || !atOldModel.total) return undefined;
  const middle = atOldModel.total.times(after.callsPerMonth);
  return { promptDelta: middle.minus(monthlyBefore), modelDelta: monthlyAfter.minus(middle) };
}

function priceSide(
  parsed: ParsedPrompt,
  rule: PromptRule,
  volumePaths: string[],
  usage: UsageVolume | undefined,
  engine: PromptEngine,
  baseTemplateTokens?: number,
): PromptSide {
  let callsPerMonth = 0;
  let volumeSource: VolumeSource = 'none';
  const measured = volumePaths.map((path) => usage?.perPrompt?.[path]).find((calls) => calls !== undefined);
  if (measured !== undefined) {
    callsPerMonth = measured;
    volumeSource = 'usage-per-prompt';
  } else if (usage?.callsPerMonth !== undefined) {
    callsPerMonth = usage.callsPerMonth;
    volumeSource = 'usage-daily-series';
  } else if (rule.callsPerMonth !== undefined) {
    callsPerMonth = rule.callsPerMonth;
    volumeSource = 'config';
  }
  const templateTokens =
    parsed.tokens - parsed.variables.reduce((sum, use) => sum + use.occurrences * use.tokensEach, 0);
  const sizes = volumePaths.map((path) => usage?.perPromptTokens?.[path]).find((found) => found !== undefined);
  let tokens = parsed.tokens;
  let unestimated = parsed.variables.filter((use) => !use.configured).map((use) => use.name);
  const measuredTokens = sizes?.meanInputTokens !== undefined;
  if (sizes?.meanInputTokens !== undefined) {
    // Mean input minus the template that produced it is what the variables really weigh; never below zero.
    tokens = templateTokens + Math.max(0, sizes.meanInputTokens - (baseTemplateTokens ?? templateTokens));
    unestimated = [];
  }
  // Measured output wins over the config's guess, which wins over the daily series' average.
  const outputTokens = sizes?.meanOutputTokens ?? rule.outputTokens ?? usage?.outputTokensPerCall ?? 0;
  const price = engine.priceCall(parsed.model, tokens, outputTokens);
  const notes = [...parsed.notes];
  if (volumeSource === 'none') notes.push('no volume for this prompt in the usage file or config: 0 calls assumed');
  if (!price.priced) notes.push(`model ${parsed.model} is not in the price catalog`);
  return {
    ...(price.unknown ? { unknownModel: true } : {}),
    path: parsed.path,
    format: parsed.format,
    model: parsed.model,
    modelSource: parsed.modelSource,
    modelId: price.modelId,
    priced: price.priced && price.total !== undefined,
    tokens,
    estimated: parsed.estimated || measuredTokens,
    outputTokens,
    callsPerMonth,
    volumeSource,
    ...(price.total ? { costPerCall: price.total, monthly: price.total.times(callsPerMonth) } : {}),
    notes,
    unestimated,
    templateTokens,
    ...(measuredTokens ? { measuredTokens } : {}),
  };
}

/** (after − before) / before in percent with one decimal, rounded half to even. */
export function percentChange(before: Money, after: Money): string {
  const tenths = divideRoundHalfEven((after.atto - before.atto) * 1000n, before.atto);
  return formatScaled(tenths, 1, false);
}

function comparePlans(
  plans: CheckConfigPlan[],
  payPerToken: Money,
  tokensPerMonth: number,
  callsPerMonth: number,
): PlanComparison[] {
  return plans.map((plan) => {
    const order = plan.monthlyUsd.compare(payPerToken);
    const breakEven = breakEvenVolume(plan.monthlyUsd, payPerToken, tokensPerMonth, callsPerMonth);
    return {
      name: plan.name,
      monthlyUsd: plan.monthlyUsd,
      payPerToken,
      cheaper: order < 0 ? 'flat-rate' : order > 0 ? 'pay-per-token' : 'equal',
      savings: plan.monthlyUsd.minus(payPerToken).abs(),
      ...breakEven,
    };
  });
}

/**
 * The volume at which a flat monthly price equals pay-per-token at today's mix: flat × volume / cost.
 * ($25 flat against $3 per million tokens breaks even at 8,333,333.33 tokens per month.)
 * The check config's plans are a plain monthly fee, so the crossing is one exact division; the planner's
 * piecewise `breakEvenTokens` is for plans with quotas, overage and rate limits.
 */
export function breakEvenVolume(
  flatMonthly: Money,
  payPerTokenMonthly: Money,
  tokensPerMonth: number,
  callsPerMonth: number,
): { breakEvenTokensPerMonth?: string; breakEvenCallsPerMonth?: number } {
  if (payPerTokenMonthly.atto <= 0n || tokensPerMonth <= 0) return {};
  const tokens = divideRoundHalfEven(flatMonthly.atto * BigInt(tokensPerMonth) * 100n, payPerTokenMonthly.atto);
  const calls = divideRoundHalfEven(flatMonthly.atto * BigInt(callsPerMonth), payPerTokenMonthly.atto);
  return { breakEvenTokensPerMonth: formatScaled(tokens, 2, false), breakEvenCallsPerMonth: Number(calls) };
}

function pick<T extends object, K extends keyof T>(object: T, keys: K[]): Partial<Pick<T, K>> {
  const result: Partial<Pick<T, K>> = {};
  for (const key of keys) if (object[key] !== undefined) result[key] = object[key];
  return result;
}

/** Limits on the monthly increase a change may cause (the Action's and `tokenmeter diff`'s quality gate). */
export interface CostThresholds {
  maxIncreaseUsd?: Money;
  /** Percent of the base monthly cost, as a decimal string (`"10"`, `"2.5"`). */
  maxIncreasePercent?: string;
}

/** The threshold the change exceeds, as a sentence, or undefined. A percent limit needs a nonzero base cost. */
export function exceededThreshold(diff: PromptDiff, thresholds: CostThresholds): string | undefined {
  const { maxIncreaseUsd, maxIncreasePercent } = thresholds;
  if (maxIncreaseUsd && diff.costDelta.compare(maxIncreaseUsd) > 0) {
    return `monthly cost increase ${formatUsd(diff.costDelta, { signed: true })} exceeds max-increase-usd ${formatUsd(maxIncreaseUsd)}.`;
  }
  // delta / before > percent / 100  ⇔  delta × 100 > before × percent, in exact money.
  if (
    maxIncreasePercent !== undefined &&
    !diff.costBefore.isZero() &&
    diff.costDelta.times(100).compare(diff.costBefore.timesDecimal(maxIncreasePercent)) > 0
  ) {
    return `monthly cost increase ${diff.deltaPercent} % exceeds max-increase-percent ${maxIncreasePercent} %.`;
  }
  return undefined;
}
