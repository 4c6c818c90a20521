import { InvalidMeterOptionsError } from './invalid-meter-options-error';
import { createMemoryKeyStore, type KeyStore } from './key-store';
import { createRedisKeyStore } from './key-store-redis';
import { createSqliteKeyStore } from './key-store-sqlite';

/** Opens the key store that lives beside a store spec: `memory`, `sqlite:FILE`, `redis://…`. */
export function keyStoreFromSpec(spec: string, options: { prefix?: string } = {}): KeyStore {
  if (spec === 'memory') return createMemoryKeyStore();
  if (spec.startsWith('sqlite:') && spec.length > 'sqlite:'.length) {
    return createSqliteKeyStore({ path: spec.slice('sqlite:'.length) });
  }
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) {
    return createRedisKeyStore({ url: spec, ...(options.prefix ? { prefix: options.prefix } : {}) });
  }
  throw new InvalidMeterOptionsError(
    'store',
    `unknown store ${JSON.stringify(spec)}; expected memory, sqlite:FILE or redis://…`,
  );
}
