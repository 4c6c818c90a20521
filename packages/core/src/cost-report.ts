import { markdownCode, markdownText } from './cost-report-escape';
import { COST_REPORT_MARKER, formatRunStamp, type RunStamp } from './cost-report-stamp';
import { formatUsd, type Money } from './money';
import type { ModelError, PromptChange, PromptDiff, PromptSide, VolumeSource } from './prompt-diff';

/** GitHub rejects comment bodies longer than this. */
export const MAX_COMMENT_LENGTH = 65_536;

export interface CostReportOptions {
  /** Written as a hidden stamp so an older run never overwrites a newer one. */
  stamp?: RunStamp;
  /** Upper bound on the body length; default GitHub's 65,536. */
  maxLength?: number;
  /** Short names of the compared revisions, shown in the assumptions (`main`, `abc1234`). */
  baseLabel?: string;
  headLabel?: string;
  /** The flat-rate comparison (config `plans-in-comment`, Action input `plans-in-comment`); off by default. */
  plans?: boolean;
  /** The threshold the change exceeds (`exceededThreshold`): stated right under the headline. */
  failure?: string;
}

/**
 * The PR comment: headline, a table per prompt, totals, the flat-rate comparison with a chart, the
 * assumptions, and per-prompt details. Starts with the exact hidden marker. When the body would exceed the
 * limit, the details go first, then the smallest changes, with a note saying what was left out.
 */
export function renderCostReport(diff: PromptDiff, options: CostReportOptions = {}): string {
  const maxLength = options.maxLength ?? MAX_COMMENT_LENGTH;
  const rows = orderForDisplay(diff.prompts);
  const full = compose(diff, options, rows, true, 0);
  if (full.length <= maxLength) return full;
  const withoutDetails = compose(diff, options, rows, false, 0);
  if (withoutDetails.length <= maxLength) return withoutDetails;
  // Binary search for the most rows that fit.
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (compose(diff, options, rows.slice(0, middle), false, rows.length - middle).length <= maxLength) low = middle;
    else high = middle - 1;
  }
  const body = compose(diff, options, rows.slice(0, low), false, rows.length - low);
  return body.length <= maxLength ? body : body.slice(0, maxLength);
}

/** "Monthly cost +$12.34 (+5.0 %)": the headline of every format. */
export function costHeadline(diff: PromptDiff): string {
  const percent =
    diff.deltaPercent === undefined
      ? diff.costAfter.isZero()
        ? '0.0 %'
        : 'new'
      : `${diff.deltaPercent.startsWith('-') || diff.deltaPercent === '0.0' ? '' : '+'}${diff.deltaPercent} %`;
  const delta = diff.costDelta.isZero() ? '±$0.00' : formatUsd(diff.costDelta, { signed: true });
  return `Monthly cost ${delta} (${percent})`;
}

/**
 * One model error as a sentence, with `code` wrapping names (identity for plain text, a code span for markdown):
 * "model gpt4o (.tokenmeter.yml line 4) is not in the price catalog; did you mean gpt-4o? …".
 */
export function modelErrorSentence(error: ModelError, code: (text: string) => string = (text) => text): string {
  const where = `${code(error.file)}${error.line === undefined ? '' : ` line ${error.line}`}`;
  const hint =
    error.suggestions.length > 0 ? `; did you mean ${error.suggestions.slice(0, 3).map(code).join(', ')}?` : '.';
  const count = error.prompts.length;
  const uses =
    count === 0
      ? ''
      : ` ${count} changed prompt${count === 1 ? ' uses' : 's use'} it and ${count === 1 ? 'is' : 'are'} left out of the totals.`;
  return `model ${code(error.model)} (${where}) is not in the price catalog${hint}${uses}`;
}

function compose(
  diff: PromptDiff,
  options: CostReportOptions,
  rows: PromptChange[],
  details: boolean,
  omittedRows: number,
): string {
  const lines: string[] = [COST_REPORT_MARKER];
  if (options.stamp) lines.push(formatRunStamp(options.stamp));
  lines.push(`## ${usd(costHeadline(diff))}`, '');
  if (options.failure) lines.push('> [!WARNING]', `> **Check failed:** ${markdownText(options.failure)}`, '');
  if (diff.modelErrors.length > 0) {
    // Before the numbers: a typo drops prompts out of the totals, so the headline above is too low.
    lines.push('> [!CAUTION]', '> **Configuration error: this check fails.** The totals are incomplete:', '>');
    for (const error of diff.modelErrors) lines.push(`> - ${usd(capitalize(modelErrorSentence(error, markdownCode)))}`);
    lines.push('');
  }
  if (diff.prompts.length === 0) {
    lines.push('No prompt files matched the configured globs in this change.', '');
  } else {
    lines.push(
      `**${usd(formatUsd(diff.costBefore))} → ${usd(formatUsd(diff.costAfter))}** per month across ${summaryCounts(diff)}.`,
      '',
    );
    const floors = unestimatedVariables(diff);
    if (floors.length > 0) {
      lines.push(
        '> [!NOTE]',
        `> Input is a floor: ${floors.map((floor) => `${markdownCode(`{{${floor.name}}}`)} (${floor.paths.map(markdownCode).join(', ')})`).join(', ')} ${floors.length === 1 ? 'has' : 'have'} no estimate — add one under \`variables:\`.`,
        '',
      );
    }
    lines.push(
      '| Prompt | Model | Tokens per call | Change per call | Monthly before | Monthly after | Monthly change |',
      '| :-- | :-- | --: | --: | --: | --: | --: |',
    );
    const perRowVolume = diff.volumeSources.includes('usage-per-prompt');
    for (const prompt of rows) lines.push(tableRow(prompt, perRowVolume ? volumeLabel(prompt, diff) : ''));
    lines.push(
      `| **Total** | | | | **${usd(formatUsd(diff.costBefore))}** | **${usd(formatUsd(diff.costAfter))}** | **${usd(signedUsd(diff.costDelta))}** |`,
      '',
    );
    if (omittedRows > 0) {
      lines.push(
        `> [!NOTE]`,
        `> ${omittedRows} more prompt${omittedRows === 1 ? '' : 's'} with smaller changes not shown: the comment would exceed GitHub's 65,536-character limit. Totals include them.`,
        '',
      );
    }
    if (!diff.complete) {
      lines.push('> [!WARNING]', '> Some prompts are unpriced or were skipped: the totals leave them out.', '');
    }
  }
  if (options.plans && diff.plans.length > 0 && diff.prompts.length > 0) lines.push(...planSection(diff));
  lines.push(...assumptions(diff, options));
  if (details && rows.length > 0) lines.push(...detailsSection(rows));
  lines.push('<sub>Generated by tokenmeter · projections, not invoices.</sub>');
  return `${lines.join('\n')}\n`;
}

function summaryCounts(diff: PromptDiff): string {
  const count = (status: PromptChange['status']) => diff.prompts.filter((prompt) => prompt.status === status).length;
  const parts = [`${diff.prompts.length} changed prompt${diff.prompts.length === 1 ? '' : 's'}`];
  for (const status of ['added', 'modified', 'renamed', 'removed'] as const) {
    const n = count(status);
    if (n > 0) parts.push(`${n} ${status}`);
  }
  return parts.join(' · ');
}

/**
 * "volume: measured over the last 30 days" for a row priced at measured per-prompt volume, "volume: config" for one
 * that fell back to the config's numbers: shown per row once some prompt is measured.
 */
export function volumeLabel(prompt: PromptChange, diff: PromptDiff): string {
  const source = (prompt.after ?? prompt.before)?.volumeSource;
  if (source === undefined) return '';
  if (source === 'usage-per-prompt') {
    return diff.usageDays === undefined
      ? 'volume: measured'
      : `volume: measured over the last ${diff.usageDays} day${diff.usageDays === 1 ? '' : 's'}`;
  }
  return source === 'config' ? 'volume: config (not measured)' : `volume: ${VOLUME_LABEL[source]}`;
}

function tableRow(prompt: PromptChange, volume = ''): string {
  const name =
    prompt.previousPath && prompt.status === 'renamed'
      ? `${markdownCode(prompt.previousPath)} → ${markdownCode(prompt.path)}`
      : markdownCode(prompt.path);
  const label = `${name} ${STATUS_LABEL[prompt.status]}${volume ? `<br><sub>${volume}</sub>` : ''}`;
  if (prompt.skipped) return `| ${label} | — | skipped: ${markdownText(prompt.skipped)} | — | — | — | — |`;
  const model = modelCell(prompt);
  const floor = [prompt.before, prompt.after].some((side) => (side?.unestimated.length ?? 0) > 0) ? ' (floor)' : '';
  const tokens = `${sideTokens(prompt.before)} → ${sideTokens(prompt.after)}${floor}`;
  if (!prompt.priced) return `| ${label} | ${model} | ${tokens} | unpriced | — | — | — |`;
  return `| ${label} | ${model} | ${tokens} | ${usd(signedUsd(prompt.perCallDelta))} | ${usd(sideMonthly(prompt.before))} | ${usd(sideMonthly(prompt.after))} | ${usd(signedUsd(prompt.monthlyDelta))}${usd(splitNote(prompt))} |`;
}

/** `gpt-4o-mini → gpt-4o` when the change switches models, else the one model. */
function modelCell(prompt: PromptChange): string {
  const before = prompt.before?.model;
  const after = prompt.after?.model;
  if (before !== undefined && after !== undefined && before !== after) {
    return `${markdownCode(before)} → ${markdownCode(after)}`;
  }
  const model = after ?? before;
  return model === undefined ? '—' : markdownCode(model);
}

/** " (prompt +$1.00 · model +$2.00)" when a model switch shares the change with the text; else nothing. */
export function splitNote(prompt: PromptChange): string {
  if (!prompt.promptDelta || !prompt.modelDelta || prompt.modelDelta.isZero()) return '';
  return ` (prompt ${signedUsd(prompt.promptDelta)} · model ${signedUsd(prompt.modelDelta)})`;
}

/** Template variables without an estimate at the head (or a removed prompt's base), with the prompts using them. */
export function unestimatedVariables(diff: PromptDiff): Array<{ name: string; paths: string[] }> {
  const byName = new Map<string, string[]>();
  for (const prompt of diff.prompts) {
    const side = prompt.after ?? prompt.before;
    for (const name of side?.unestimated ?? []) {
      const paths = byName.get(name) ?? [];
      if (!paths.includes(prompt.path)) paths.push(prompt.path);
      byName.set(name, paths);
    }
  }
  return [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, paths]) => ({ name, paths }));
}

const STATUS_LABEL: Record<PromptChange['status'], string> = {
  added: '(added)',
  modified: '',
  renamed: '(renamed)',
  removed: '(removed)',
};

function sideTokens(side: PromptSide | undefined): string {
  if (!side) return '—';
  return `${side.estimated ? '≈' : ''}${groupDigits(side.tokens)}`;
}

function sideMonthly(side: PromptSide | undefined): string {
  return side?.monthly ? formatUsd(side.monthly) : '—';
}

function planSection(diff: PromptDiff): string[] {
  const lines = ['### Pay-per-token vs flat rate', ''];
  for (const plan of diff.plans) {
    const verdict =
      plan.cheaper === 'flat-rate'
        ? `**${markdownText(plan.name)}** (${usd(formatUsd(plan.monthlyUsd))}/month) is cheaper by ${usd(formatUsd(plan.savings))}/month`
        : plan.cheaper === 'pay-per-token'
          ? `pay-per-token is cheaper than **${markdownText(plan.name)}** (${usd(formatUsd(plan.monthlyUsd))}/month) by ${usd(formatUsd(plan.savings))}/month`
          : `pay-per-token costs the same as **${markdownText(plan.name)}** (${usd(formatUsd(plan.monthlyUsd))}/month)`;
    const breakEven =
      plan.breakEvenTokensPerMonth === undefined
        ? ''
        : `; break-even at ${groupDigits(wholeUp(plan.breakEvenTokensPerMonth))} tokens/month (≈ ${groupDigits(plan.breakEvenCallsPerMonth ?? 0)} calls/month at this mix), flat rate cheaper above`;
    lines.push(`- At ${usd(formatUsd(diff.costAfter))}/month pay-per-token for these prompts, ${verdict}${breakEven}.`);
  }
  lines.push('', ...chart(diff), '');
  return lines;
}

/** Cost against volume: the pay-per-token line rises from zero, each flat-rate plan is a horizontal line. */
function chart(diff: PromptDiff): string[] {
  const calls = diff.callsPerMonthAfter;
  if (calls <= 0 || diff.costAfter.isZero()) return [];
  const furthest = Math.max(
    calls * 2,
    ...diff.plans.map((plan) => Math.ceil((plan.breakEvenCallsPerMonth ?? 0) * 1.25)),
  );
  const step = niceStep(furthest / 8);
  const points = Array.from({ length: 9 }, (_, index) => index * step);
  // Chart coordinates only: money arithmetic stays exact everywhere else.
  const perCall = diff.costAfter.toNumber() / calls;
  const payPerToken = points.map((volume) => round2(perCall * volume));
  const flats = diff.plans.map((plan) => points.map(() => round2(plan.monthlyUsd.toNumber())));
  const top = Math.max(...payPerToken, ...flats.flat()) * 1.1;
  const lines = [
    '```mermaid',
    'xychart-beta',
    '  title "Monthly cost (USD) against calls per month"',
    `  x-axis "Calls per month" [${points.map((point) => `"${shortNumber(point)}"`).join(', ')}]`,
    `  y-axis "USD per month" 0 --> ${Math.ceil(top)}`,
    `  line [${payPerToken.join(', ')}]`,
    ...flats.map((flat) => `  line [${flat.join(', ')}]`),
    '```',
    '',
    `<sub>Rising line: pay-per-token at this change's prompts; flat line${diff.plans.length === 1 ? '' : 's'}: ${diff.plans.map((plan) => markdownText(plan.name)).join(', ')}.</sub>`,
  ];
  return lines;
}

function assumptions(diff: PromptDiff, options: CostReportOptions): string[] {
  const lines = ['**Assumptions**', ''];
  const volume = diff.volumeSources.map((source) => VOLUME_LABEL[source]).join('; ') || 'none';
  lines.push(`- Volume: ${volume}${diff.usageSource ? ` (usage file ${markdownCode(diff.usageSource)})` : ''}.`);
  for (const model of diff.models) {
    const name = markdownCode(model.model);
    if (!model.priced) {
      lines.push(`- Model ${name}: not in the price catalog, so its prompts are unpriced.`);
      continue;
    }
    const canonical = model.modelId !== model.model ? ` (${markdownCode(model.modelId)})` : '';
    const effective = model.pricesEffectiveFrom ? `, prices effective ${model.pricesEffectiveFrom}` : '';
    lines.push(
      `- Model ${name}${canonical}: ${usd(`$${model.inputPerMillion ?? '?'}`)} input / ${usd(`$${model.outputPerMillion ?? '?'}`)} output per million tokens${effective}.`,
    );
  }
  if (diff.catalogDate) lines.push(`- Prices from tokenmeter's catalog as of ${markdownText(diff.catalogDate)}.`);
  lines.push(
    '- Cost per call = prompt tokens × input price + expected output tokens × output price; no caching or batch discounts.',
    '- ≈ marks estimated counts (template variables, or a model without a public tokenizer).',
  );
  if (options.baseLabel && options.headLabel) {
    lines.push(`- Compared ${markdownCode(options.baseLabel)} → ${markdownCode(options.headLabel)}.`);
  }
  for (const note of diff.notes) lines.push(`- ${markdownText(note)}`);
  lines.push('');
  return lines;
}

const VOLUME_LABEL: Record<VolumeSource, string> = {
  'usage-per-prompt': 'measured calls per prompt',
  'usage-daily-series': 'measured daily requests × 30',
  config: 'calls-per-month from the config',
  none: 'no volume known for some prompts (0 calls assumed)',
};

function detailsSection(rows: PromptChange[]): string[] {
  const lines = ['<details><summary>Details per prompt</summary>', ''];
  for (const prompt of rows) {
    lines.push(`- ${markdownCode(prompt.path)}`);
    if (prompt.skipped) {
      lines.push(`  - skipped: ${markdownText(prompt.skipped)}`);
      continue;
    }
    for (const [label, side] of [
      ['before', prompt.before],
      ['after', prompt.after],
    ] as const) {
      if (!side) continue;
      const per = side.costPerCall ? `${usd(formatUsd(side.costPerCall))} per call` : 'unpriced';
      lines.push(
        `  - ${label}: ${side.format}, model ${markdownCode(side.model)}${side.modelSource === 'file' ? ' (from the file)' : ''}, ${sideTokens(side)} input + ${groupDigits(side.outputTokens)} output tokens, ${per}, ${groupDigits(side.callsPerMonth)} calls/month`,
      );
      for (const note of side.notes) lines.push(`    - ${markdownText(note)}`);
    }
  }
  lines.push('', '</details>', '');
  return lines;
}

function orderForDisplay(prompts: PromptChange[]): PromptChange[] {
  return [...prompts].sort((a, b) => {
    const difference = b.monthlyDelta.abs().compare(a.monthlyDelta.abs());
    if (difference !== 0) return difference;
    return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function signedUsd(amount: Money): string {
  return amount.isZero() ? '$0.00' : formatUsd(amount, { signed: true });
}

/** GitHub renders `$…$` as math: a backslash keeps every dollar sign a dollar sign. */
function usd(text: string): string {
  return text.replaceAll('$', '\\$');
}

/** A decimal count of tokens rounded up to the first whole one (`8333333.33` → `8333334`). */
export function wholeUp(decimal: string): string {
  const [whole = '0', fraction = ''] = decimal.split('.');
  return /[1-9]/.test(fraction) ? (BigInt(whole) + 1n).toString() : whole;
}

export function groupDigits(value: number | string): string {
  const [whole = '0', fraction] = String(value).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

function niceStep(raw: number): number {
  if (raw <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  const nice = normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 2.5 ? 2.5 : normalized <= 5 ? 5 : 10;
  return Math.round(nice * magnitude);
}

function shortNumber(value: number): string {
  if (value >= 1_000_000) return `${round2(value / 1_000_000)}M`;
  if (value >= 1_000) return `${round2(value / 1_000)}k`;
  return String(value);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
