/** The exact hidden marker that identifies tokenmeter's sticky PR comment. */
export const COST_REPORT_MARKER = '<!-- tokenmeter-cost-report -->';

/** Which run produced a report: lets a later run refuse to overwrite a comment written by a newer one. */
export interface RunStamp {
  /** Head commit SHA the report describes. */
  headSha?: string;
  /** GitHub Actions `GITHUB_RUN_ID` (increases with every new workflow run in a repository). */
  runId?: string;
  /** `GITHUB_RUN_ATTEMPT`. */
  runAttempt?: string;
  /** When the head was pushed (the PR's `updated_at`) or when the run started: ISO 8601. */
  at?: string;
}

const STAMP_PATTERN = /<!-- tokenmeter-run: ([^>]*?) -->/;

/** `<!-- tokenmeter-run: sha=… run=… attempt=… at=… -->`, with values reduced to safe characters. */
export function formatRunStamp(stamp: RunStamp): string {
  const fields: string[] = [];
  const add = (key: string, value: string | undefined, unsafe: RegExp) => {
    const safe = value?.replace(unsafe, '').slice(0, 64);
    if (safe) fields.push(`${key}=${safe}`);
  };
  add('sha', stamp.headSha, /[^0-9a-fA-F]/g);
  add('run', stamp.runId, /\D/g);
  add('attempt', stamp.runAttempt, /\D/g);
  add('at', stamp.at, /[^\dTZ:.+-]|-(?=-)/g);
  return `<!-- tokenmeter-run: ${fields.join(' ')} -->`;
}

export function parseRunStamp(body: string): RunStamp | undefined {
  const match = STAMP_PATTERN.exec(body);
  if (!match) return undefined;
  const stamp: RunStamp = {};
  for (const field of (match[1] ?? '').split(' ')) {
    const [key, value] = field.split('=', 2);
    if (!value) continue;
    if (key === 'sha') stamp.headSha = value;
    else if (key === 'run') stamp.runId = value;
    else if (key === 'attempt') stamp.runAttempt = value;
    else if (key === 'at') stamp.at = value;
  }
  return stamp;
}

/** The body without its run stamp: two reports with the same content compare equal across runs. */
export function withoutRunStamp(body: string): string {
  return body.replace(STAMP_PATTERN, '').trim();
}

/**
 * Whether `existing` was written by a newer run than `ours`. Run ids grow with every workflow run, so they
 * decide first; then the attempt of the same run; then the head's timestamp. Equal or unknown → not newer.
 */
export function isNewerRunStamp(existing: RunStamp | undefined, ours: RunStamp): boolean {
  if (!existing) return false;
  const existingRun = toBigInt(existing.runId);
  const ourRun = toBigInt(ours.runId);
  if (existingRun !== undefined && ourRun !== undefined && existingRun !== ourRun) return existingRun > ourRun;
  if (existingRun !== undefined && existingRun === ourRun) {
    const existingAttempt = toBigInt(existing.runAttempt) ?? 1n;
    const ourAttempt = toBigInt(ours.runAttempt) ?? 1n;
    if (existingAttempt !== ourAttempt) return existingAttempt > ourAttempt;
  }
  const existingAt = existing.at ? Date.parse(existing.at) : Number.NaN;
  const ourAt = ours.at ? Date.parse(ours.at) : Number.NaN;
  if (Number.isFinite(existingAt) && Number.isFinite(ourAt)) return existingAt > ourAt;
  return false;
}

function toBigInt(value: string | undefined): bigint | undefined {
  return value !== undefined && /^\d{1,30}$/.test(value) ? BigInt(value) : undefined;
}
