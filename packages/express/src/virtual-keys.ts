import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseBudgetRules, parseBudgetShorthand } from './budget-rules';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';
import type { KeyStore, VirtualKeyRecord } from './key-store';
import type { BudgetRuleOptions } from './meter-options';

/** Every virtual key starts with this, so a leaked one is recognisable (and secret scanners can match it). */
export const VIRTUAL_KEY_PREFIX = 'tm_';

const KEY_PATTERN = /^tm_[A-Za-z0-9_-]{43}$/;

/** A new virtual key: `tm_` and 256 random bits in base64url. */
export function generateVirtualKey(): string {
  return `${VIRTUAL_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 of a key, lower-case hex: what the key store keeps instead of the key. */
export function hashVirtualKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * A stable, non-reversible name for a credential (`key:sha256:<first 12 hex>`): usage can be told apart
 * per API key without the key being stored anywhere.
 */
export function credentialFingerprint(credential: string): string {
  return `key:sha256:${createHash('sha256').update(credential, 'utf8').digest('hex').slice(0, 12)}`;
}

export interface CreateVirtualKeyOptions {
  user: string;
  tenant?: string;
  models?: string[];
  budgets?: string[];
  name?: string;
}

function checkName(value: unknown, option: string, required: boolean): void {
  if (value === undefined && !required) return;
  // Names end up in budget ids, Redis keys and CSV: printable, bounded, no separators that split them.
  if (typeof value !== 'string' || !/^[^\s\x00-\x1f\x7f,]{1,200}$/.test(value)) {
    throw new InvalidMeterOptionsError(option, 'expected 1 to 200 printable characters without spaces or commas');
  }
}

/** The budget rules of one key: its own counters (`key:<id>:…`), whatever the user or tenant does. */
export function keyBudgetRules(record: Pick<VirtualKeyRecord, 'id' | 'budgets'>): BudgetRuleOptions[] {
  return (record.budgets ?? []).map((text, index) => {
    const parsed = parseBudgetShorthand(text, `budgets[${index}]`);
    if (/^\s*~?\s*(user|tenant|feature|route|global):/i.test(text)) {
      throw new InvalidMeterOptionsError(
        `budgets[${index}]`,
        `a key's budget counts that key's calls only; write it without a scope, e.g. 5/day`,
      );
    }
    const unit = typeof parsed.limit === 'object' && 'tokens' in parsed.limit ? 'tokens' : 'usd';
    const window = typeof parsed.window === 'object' ? `rolling${parsed.window.rollingMs}ms` : parsed.window;
    return {
      ...parsed,
      scope: 'global',
      id: `key:${record.id}:${unit}:${window}${parsed.timeZone ? `@${parsed.timeZone}` : ''}`,
    };
  });
}

/** Makes a key, stores its hash and returns the key: the only time it is ever seen. */
export async function createVirtualKey(
  store: KeyStore,
  options: CreateVirtualKeyOptions,
  now = Date.now(),
): Promise<{ key: string; record: VirtualKeyRecord }> {
  checkName(options.user, 'user', true);
  checkName(options.tenant, 'tenant', false);
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length > 200)) {
    throw new InvalidMeterOptionsError('name', 'expected at most 200 characters');
  }
  if (options.models !== undefined) {
    if (!Array.isArray(options.models) || options.models.length === 0) {
      throw new InvalidMeterOptionsError('models', 'expected a non-empty list of model names');
    }
    options.models.forEach((model, index) => {
      checkName(model, `models[${index}]`, true);
    });
  }
  const key = generateVirtualKey();
  const record: VirtualKeyRecord = {
    id: `vk_${randomBytes(8).toString('hex')}`,
    hash: hashVirtualKey(key),
    user: options.user,
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    ...(options.models === undefined ? {} : { models: [...options.models] }),
    ...(options.budgets === undefined || options.budgets.length === 0 ? {} : { budgets: [...options.budgets] }),
    ...(options.name === undefined ? {} : { name: options.name }),
    createdAt: now,
  };
  // Refused here, at creation, rather than on the first call made with the key.
  parseBudgetRules(keyBudgetRules(record), 'budgets');
  await store.addKey(record);
  return { key, record };
}

/**
 * The live record of a presented key; undefined when it is malformed, unknown or revoked. The stored
 * hash is compared with the presented one in constant time.
 */
export async function verifyVirtualKey(store: KeyStore, key: string): Promise<VirtualKeyRecord | undefined> {
  if (!KEY_PATTERN.test(key)) return undefined;
  const hash = hashVirtualKey(key);
  const record = await store.keyByHash(hash);
  if (!record || typeof record.hash !== 'string' || record.hash.length !== hash.length) return undefined;
  if (!timingSafeEqual(Buffer.from(record.hash, 'utf8'), Buffer.from(hash, 'utf8'))) return undefined;
  return record.revokedAt === undefined ? record : undefined;
}

/** Whether a key limited to `models` may call `model` (exact name, or a `prefix*`). */
export function modelAllowed(models: readonly string[] | undefined, model: string): boolean {
  if (models === undefined) return true;
  return models.some((allowed) => (allowed.endsWith('*') ? model.startsWith(allowed.slice(0, -1)) : model === allowed));
}
