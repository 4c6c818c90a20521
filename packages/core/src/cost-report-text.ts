import {
  costHeadline,
  groupDigits,
  modelErrorSentence,
  splitNote,
  unestimatedVariables,
  volumeLabel,
  wholeUp,
} from './cost-report';
import { neutralizeInvisible } from './cost-report-escape';
import { formatUsd, type Money } from './money';
import type { PromptDiff, PromptSide } from './prompt-diff';

/** The cost report for a terminal: headline, aligned table, totals, flat-rate lines, notes. */
export function renderCostReportText(diff: PromptDiff, options: { plans?: boolean; failure?: string } = {}): string {
  const lines = [costHeadline(diff), ''];
  if (options.failure) lines.push(`Check failed: ${oneLine(options.failure)}`, '');
  if (diff.modelErrors.length > 0) {
    lines.push('Configuration error: this check fails. The totals are incomplete:');
    for (const error of diff.modelErrors) lines.push(`- ${oneLine(modelErrorSentence(error))}`);
    lines.push('');
  }
  if (diff.prompts.length === 0) {
    lines.push('No prompt files matched the configured globs in this change.');
    return `${lines.join('\n')}\n`;
  }
  const floors = unestimatedVariables(diff);
  if (floors.length > 0) {
    lines.push(
      `Input is a floor: ${floors.map((floor) => `{{${oneLine(floor.name)}}} (${floor.paths.map(oneLine).join(', ')})`).join(', ')} ${floors.length === 1 ? 'has' : 'have'} no estimate — add one under \`variables:\`.`,
      '',
    );
  }
  const headers = [
    'Prompt',
    'Status',
    'Model',
    'Tokens before',
    'Tokens after',
    'Per call',
    'Monthly before',
    'Monthly after',
    'Change',
  ];
  const rows = diff.prompts.map((prompt) => {
    const name = oneLine(prompt.previousPath ? `${prompt.previousPath} → ${prompt.path}` : prompt.path);
    if (prompt.skipped) return [name, prompt.status, '', `skipped: ${prompt.skipped}`, '', '', '', '', ''];
    const before = prompt.before?.model;
    const after = prompt.after?.model;
    return [
      name,
      prompt.status,
      oneLine(
        before !== undefined && after !== undefined && before !== after
          ? `${before} → ${after}`
          : (after ?? before ?? '—'),
      ),
      tokens(prompt.before),
      tokens(prompt.after),
      prompt.priced ? signed(prompt.perCallDelta) : 'unpriced',
      prompt.before?.monthly ? formatUsd(prompt.before.monthly) : '—',
      prompt.after?.monthly ? formatUsd(prompt.after.monthly) : '—',
      prompt.priced ? `${signed(prompt.monthlyDelta)}${splitNote(prompt)}` : '—',
    ];
  });
  rows.push([
    'Total',
    '',
    '',
    '',
    '',
    '',
    formatUsd(diff.costBefore),
    formatUsd(diff.costAfter),
    signed(diff.costDelta),
  ]);
  lines.push(alignTable(headers, rows), '');
  if (diff.volumeSources.includes('usage-per-prompt')) {
    for (const prompt of diff.prompts) {
      const volume = volumeLabel(prompt, diff);
      if (volume) lines.push(`${oneLine(prompt.path)}: ${volume}`);
    }
    lines.push('');
  }
  for (const plan of options.plans ? diff.plans : []) {
    const breakEven = plan.breakEvenTokensPerMonth
      ? `; break-even at ${groupDigits(wholeUp(plan.breakEvenTokensPerMonth))} tokens/month`
      : '';
    lines.push(
      `${plan.name} (${formatUsd(plan.monthlyUsd)}/month) vs pay-per-token ${formatUsd(plan.payPerToken)}/month: ${plan.cheaper === 'equal' ? 'equal' : `${plan.cheaper} cheaper by ${formatUsd(plan.savings)}`}${breakEven}`,
    );
  }
  for (const model of diff.models) {
    lines.push(
      model.priced
        ? `Model ${oneLine(model.model)}: $${model.inputPerMillion} input / $${model.outputPerMillion} output per million tokens`
        : `Model ${oneLine(model.model)}: not in the price catalog (unpriced)`,
    );
  }
  if (diff.catalogDate) lines.push(`Prices as of ${diff.catalogDate}; ≈ marks estimated token counts.`);
  if (!diff.complete) lines.push('Some prompts are unpriced or skipped: totals leave them out.');
  for (const note of diff.notes) lines.push(note);
  return `${lines.join('\n')}\n`;
}

/** The JSON shape `tokenmeter diff --format json` prints and the Action's outputs mirror; money as decimal strings. */
export interface CostReportJson {
  costBefore: string;
  costAfter: string;
  costDelta: string;
  deltaPercent: string | null;
  complete: boolean;
  prompts: Array<{
    path: string;
    previousPath: string | null;
    status: string;
    skipped: string | null;
    model: string | null;
    modelBefore: string | null;
    modelAfter: string | null;
    priced: boolean;
    estimated: boolean;
    tokensBefore: number | null;
    tokensAfter: number | null;
    callsPerMonth: number | null;
    costPerCallBefore: string | null;
    costPerCallAfter: string | null;
    costBefore: string | null;
    costAfter: string | null;
    costDelta: string | null;
    /** The change at the old model (new text and volume) and the part the model switch adds; they sum to costDelta. */
    promptDelta: string | null;
    modelDelta: string | null;
    /** Template variables without a token estimate: the input tokens are a floor. */
    unestimated: string[];
    /** `usage-per-prompt` (measured), `usage-daily-series`, `config` or `none`. */
    volumeSource: string | null;
  }>;
  /** Days the measured usage covers, when known. */
  usageDays: number | null;
  plans: Array<{
    name: string;
    monthlyUsd: string;
    payPerToken: string;
    cheaper: string;
    savings: string;
    breakEvenTokensPerMonth: string | null;
  }>;
  catalogDate: string | null;
  notes: string[];
  /** The threshold the change exceeds, when the caller checked one. */
  failure: string | null;
  /** Unknown model names: the check fails when this is not empty. */
  modelErrors: Array<{
    model: string;
    file: string;
    line: number | null;
    source: 'config' | 'file';
    suggestions: string[];
    prompts: string[];
    message: string;
  }>;
}

export function costReportJson(diff: PromptDiff, options: { failure?: string } = {}): CostReportJson {
  return {
    costBefore: diff.costBefore.toString(),
    costAfter: diff.costAfter.toString(),
    costDelta: diff.costDelta.toString(),
    deltaPercent: diff.deltaPercent ?? null,
    complete: diff.complete,
    prompts: diff.prompts.map((prompt) => ({
      path: prompt.path,
      previousPath: prompt.previousPath ?? null,
      status: prompt.status,
      skipped: prompt.skipped ?? null,
      model: prompt.after?.model ?? prompt.before?.model ?? null,
      modelBefore: prompt.before?.model ?? null,
      modelAfter: prompt.after?.model ?? null,
      priced: prompt.priced,
      estimated: Boolean(prompt.before?.estimated || prompt.after?.estimated),
      tokensBefore: prompt.before?.tokens ?? null,
      tokensAfter: prompt.after?.tokens ?? null,
      callsPerMonth: prompt.after?.callsPerMonth ?? prompt.before?.callsPerMonth ?? null,
      costPerCallBefore: prompt.before?.costPerCall?.toString() ?? null,
      costPerCallAfter: prompt.after?.costPerCall?.toString() ?? null,
      costBefore: prompt.priced ? (prompt.before?.monthly?.toString() ?? '0') : null,
      costAfter: prompt.priced ? (prompt.after?.monthly?.toString() ?? '0') : null,
      costDelta: prompt.priced ? prompt.monthlyDelta.toString() : null,
      promptDelta: prompt.promptDelta?.toString() ?? null,
      modelDelta: prompt.modelDelta?.toString() ?? null,
      unestimated: (prompt.after ?? prompt.before)?.unestimated ?? [],
      volumeSource: (prompt.after ?? prompt.before)?.volumeSource ?? null,
    })),
    usageDays: diff.usageDays ?? null,
    plans: diff.plans.map((plan) => ({
      name: plan.name,
      monthlyUsd: plan.monthlyUsd.toString(),
      payPerToken: plan.payPerToken.toString(),
      cheaper: plan.cheaper,
      savings: plan.savings.toString(),
      breakEvenTokensPerMonth: plan.breakEvenTokensPerMonth ?? null,
    })),
    catalogDate: diff.catalogDate ?? null,
    notes: diff.notes,
    failure: options.failure ?? null,
    modelErrors: diff.modelErrors.map((error) => ({
      model: error.model,
      file: error.file,
      line: error.line ?? null,
      source: error.source,
      suggestions: error.suggestions,
      prompts: error.prompts,
      message: modelErrorSentence(error),
    })),
  };
}

function tokens(side: PromptSide | undefined): string {
  return side ? `${side.estimated ? '≈' : ''}${groupDigits(side.tokens)}` : '—';
}

function signed(amount: Money): string {
  return amount.isZero() ? '$0.00' : formatUsd(amount, { signed: true });
}

/** A name from the repository on one terminal line, with nothing invisible that could disguise it. */
function oneLine(text: string): string {
  return neutralizeInvisible(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}

function alignTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column >= 3 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((width) => '─'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}
