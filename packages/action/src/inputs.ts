import * as core from '@actions/core';
import { Money } from '@tokenmeter/core';
import { ActionInputError } from './action-input-error';

export type CommentMode = 'update' | 'new' | 'off';

export interface ActionInputs {
  token: string;
  configPath: string;
  commentMode: CommentMode;
  maxIncreaseUsd?: Money;
  /** Percent as a decimal string (`"10"`, `"2.5"`). */
  maxIncreasePercent?: string;
  /** Price files (paths in the repository) or URLs layered over the catalog after the config's `prices:`. */
  prices: string[];
  /** Show the flat-rate comparison in the comment; the config's `plans-in-comment` also turns it on. */
  plansInComment: boolean;
  /** A usage export in the repository (`tokenmeter usage export --by prompt`); wins over the config's `usage`. */
  usageFile?: string;
}

/** Reads and validates the step's `with:` inputs (`INPUT_<NAME>` variables). */
export function readInputs(): ActionInputs {
  const token = core.getInput('github-token');
  const configPath = core.getInput('config') || '.tokenmeter.yml';
  const mode = (core.getInput('comment-mode') || 'update').toLowerCase();
  if (mode !== 'update' && mode !== 'new' && mode !== 'off') {
    throw new ActionInputError('comment-mode', `must be update, new or off, got ${JSON.stringify(mode)}`);
  }
  if (token) core.setSecret(token);
  const maxIncreaseUsd = decimalInput('max-increase-usd');
  const maxIncreasePercent = decimalInput('max-increase-percent');
  // One source per line or comma-separated: `prices: prices/negotiated.yaml`.
  const prices = core
    .getInput('prices')
    .split(/[\n,]/)
    .map((source) => source.trim().replace(/^\.\//, ''))
    .filter((source) => source !== '');
  const plans = core.getInput('plans-in-comment').trim().toLowerCase();
  if (plans !== '' && plans !== 'true' && plans !== 'false') {
    throw new ActionInputError('plans-in-comment', `must be true or false, got ${JSON.stringify(plans)}`);
  }
  const usageFile = core.getInput('usage-file').trim().replace(/^\.\//, '');
  return {
    plansInComment: plans === 'true',
    ...(usageFile === '' ? {} : { usageFile }),
    token,
    configPath: configPath.replace(/^\.\//, ''),
    prices,
    commentMode: mode,
    ...(maxIncreaseUsd === undefined ? {} : { maxIncreaseUsd: Money.from(maxIncreaseUsd) }),
    ...(maxIncreasePercent === undefined ? {} : { maxIncreasePercent }),
  };
}

function decimalInput(name: string): string | undefined {
  const value = core.getInput(name).replace(/^\$/, '').replace(/%$/, '').trim();
  if (value === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(value))
    throw new ActionInputError(name, `must be a number ≥ 0, got ${JSON.stringify(value)}`);
  return value;
}
