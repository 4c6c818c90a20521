import { InvalidConfigError } from './invalid-config-error';

/** Measured traffic that replaces the config's guessed calls per month. */
export interface UsageVolume {
  /** Where it came from (the file path), for the report's assumptions. */
  source: string;
  kind: 'daily-series' | 'per-prompt';
  /** Daily series: mean requests per day × 30, rounded half up. Applies to every prompt without its own volume. */
  callsPerMonth?: number;
  /** Daily series: mean output tokens per request, used when the config gives no `output-tokens`. */
  outputTokensPerCall?: number;
  /** Daily series: how many days it covers. */
  days?: number;
  /** Per-prompt volume: calls per month by prompt path. */
  perPrompt?: Record<string, number>;
  /**
   * Per-prompt measured sizes (`tokenmeter usage export --by prompt`): mean input and output tokens per call by path.
   * The diff subtracts the base template's own count from the mean input to get the real size of the variables.
   */
  perPromptTokens?: Record<string, { meanInputTokens?: number; meanOutputTokens?: number }>;
}

const DAYS_PER_MONTH = 30;

/**
 * Reads a usage file exported by @tokenmeter/express: a daily series (`[{date,requests,inputTokens,outputTokens,cost}]`
 * as JSON or CSV) or per-prompt volume (`{ "prompts": { "path": callsPerMonth } }`). Throws `InvalidConfigError`.
 */
export function parseUsageVolume(text: string, source: string, format?: 'daily-series' | 'per-prompt'): UsageVolume {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') throw new InvalidConfigError('usage.file', `${source} is empty`);
  let json: unknown;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      json = JSON.parse(trimmed);
    } catch (error) {
      throw new InvalidConfigError('usage.file', `${source} is not valid JSON`, { cause: error });
    }
  }
  if (json !== undefined && !Array.isArray(json)) {
    if (format === 'daily-series') throw new InvalidConfigError('usage.file', `${source} is not a daily series`);
    const prompts = (json as { prompts?: unknown }).prompts;
    if (typeof prompts !== 'object' || prompts === null || Array.isArray(prompts)) {
      throw new InvalidConfigError('usage.file', `${source} has no \`prompts\` object of path → calls per month`);
    }
    const perPrompt: Record<string, number> = Object.create(null);
    const perPromptTokens: NonNullable<UsageVolume['perPromptTokens']> = Object.create(null);
    for (const [path, entry] of Object.entries(prompts)) {
      const key = path.replace(/^\.\//, '');
      const record = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? entry : undefined;
      const calls = record ? (record as Record<string, unknown>).callsPerMonth : entry;
      if (typeof calls !== 'number' || !Number.isFinite(calls) || calls < 0) {
        throw new InvalidConfigError('usage.file', `${source}: calls for ${JSON.stringify(path)} must be a number ≥ 0`);
      }
      perPrompt[key] = Math.round(calls);
      if (!record) continue;
      const sizes: { meanInputTokens?: number; meanOutputTokens?: number } = {};
      for (const field of ['meanInputTokens', 'meanOutputTokens'] as const) {
        const value = (record as Record<string, unknown>)[field];
        if (value === undefined || value === null) continue;
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
          throw new InvalidConfigError(
            'usage.file',
            `${source}: ${field} of ${JSON.stringify(path)} must be a number ≥ 0`,
          );
        }
        sizes[field] = Math.round(value);
      }
      if (Object.keys(sizes).length > 0) perPromptTokens[key] = sizes;
    }
    const days = toCount((json as { days?: unknown }).days);
    return {
      source,
      kind: 'per-prompt',
      perPrompt,
      ...(Object.keys(perPromptTokens).length > 0 ? { perPromptTokens } : {}),
      ...(days === undefined || days === 0 ? {} : { days }),
    };
  }
  if (format === 'per-prompt') throw new InvalidConfigError('usage.file', `${source} is not per-prompt volume`);
  const rows = json === undefined ? parseCsv(trimmed, source) : (json as unknown[]);
  return dailySeriesVolume(rows, source);
}

function dailySeriesVolume(rows: unknown[], source: string): UsageVolume {
  if (rows.length === 0) throw new InvalidConfigError('usage.file', `${source} has no days`);
  let requests = 0;
  let outputTokens = 0;
  let outputKnown = true;
  rows.forEach((row, index) => {
    if (typeof row !== 'object' || row === null) {
      throw new InvalidConfigError('usage.file', `${source} row ${index + 1} is not an object`);
    }
    const record = row as Record<string, unknown>;
    const count = toCount(record.requests);
    if (count === undefined) {
      throw new InvalidConfigError('usage.file', `${source} row ${index + 1} has no whole \`requests\` count`);
    }
    requests += count;
    const output = toCount(record.outputTokens);
    if (output === undefined) outputKnown = false;
    else outputTokens += output;
  });
  const days = rows.length;
  return {
    source,
    kind: 'daily-series',
    days,
    callsPerMonth: divideRoundHalfUp(requests * DAYS_PER_MONTH, days),
    ...(outputKnown && requests > 0 ? { outputTokensPerCall: divideRoundHalfUp(outputTokens, requests) } : {}),
  };
}

function parseCsv(text: string, source: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = (lines.shift() ?? '').split(',').map((cell) => cell.trim().replace(/^"|"$/g, ''));
  if (!header.includes('requests')) {
    throw new InvalidConfigError('usage.file', `${source} is neither JSON nor a CSV with a \`requests\` column`);
  }
  return lines.map((line) => {
    const cells = line.split(',').map((cell) => cell.trim().replace(/^"|"$/g, ''));
    return Object.fromEntries(header.map((name, index) => [name, cells[index] ?? '']));
  });
}

function toCount(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= 0 ? number : undefined;
}

function divideRoundHalfUp(numerator: number, denominator: number): number {
  return Math.floor((2 * numerator + denominator) / (2 * denominator));
}
