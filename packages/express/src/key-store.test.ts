import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryKeyStore, type KeyStore } from './key-store';
import { createRedisKeyStore } from './key-store-redis';
import { keyStoreFromSpec } from './key-store-spec';
import { createSqliteKeyStore } from './key-store-sqlite';
import { createVirtualKey, hashVirtualKey, modelAllowed, verifyVirtualKey } from './virtual-keys';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-keys-'));
const prefix = `tokenmeter-test:${randomBytes(6).toString('hex')}:`;

afterAll(async () => {
  rmSync(directory, { recursive: true, force: true });
  const admin = new Redis(url);
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

async function checkKeyStore(store: KeyStore, reopen?: () => KeyStore): Promise<void> {
  const first = await createVirtualKey(store, { user: 'alice', tenant: 'acme', models: ['gpt-4o*'], name: 'ci' }, 1000);
  const second = await createVirtualKey(store, { user: 'bob', budgets: ['5/day'] }, 2000);
  expect(first.key).toMatch(/^tm_[A-Za-z0-9_-]{43}$/);
  expect(first.key).not.toBe(second.key);
  expect(first.record.hash).toBe(hashVirtualKey(first.key));
  expect(await verifyVirtualKey(store, first.key)).toEqual(first.record);
  expect(await verifyVirtualKey(store, second.key)).toEqual(second.record);
  expect(await verifyVirtualKey(store, `${first.key.slice(0, -1)}${first.key.endsWith('A') ? 'B' : 'A'}`)).toBe(
    undefined,
  );
  // The stored record is the hash: presenting the hash itself is no key.
  expect(await verifyVirtualKey(store, first.record.hash)).toBe(undefined);
  expect((await store.listKeys()).map((record) => record.id)).toEqual([first.record.id, second.record.id]);
  expect(JSON.stringify(await store.listKeys())).not.toContain(first.key);
  expect(await store.revokeKey(first.record.id, 3000)).toBe(true);
  expect(await store.revokeKey(first.record.id, 4000)).toBe(true);
  expect(await store.revokeKey('vk_0000000000000000', 3000)).toBe(false);
  expect(await verifyVirtualKey(store, first.key)).toBe(undefined);
  expect(await verifyVirtualKey(store, second.key)).toEqual(second.record);
  await store.close();
  if (reopen) {
    // Keys outlive the process that made them (the CLI makes them, the proxy checks them).
    const again = reopen();
    try {
      expect(await verifyVirtualKey(again, second.key)).toEqual(second.record);
      expect((await again.listKeys()).find((record) => record.id === first.record.id)?.revokedAt).toBe(3000);
    } finally {
      await again.close();
    }
  }
}

describe('key stores', () => {
  it('memory: creates, verifies, lists and revokes', async () => {
    await checkKeyStore(createMemoryKeyStore());
  });

  it('SQLite: the same, and across connections to the file', async () => {
    const path = join(directory, 'keys.db');
    await checkKeyStore(createSqliteKeyStore({ path }), () => keyStoreFromSpec(`sqlite:${path}`));
  });

  it('Redis: the same, and across connections', async () => {
    await checkKeyStore(createRedisKeyStore({ url, prefix }), () => createRedisKeyStore({ url, prefix }));
  });

  it('a Redis key store that cannot connect fails its calls (the proxy answers 503), never hangs', async () => {
    const store = createRedisKeyStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 200 });
    await expect(store.keyByHash('00')).rejects.toBeDefined();
    await store.close();
  });

  it('matches allow-lists exactly or by a trailing *', () => {
    expect(modelAllowed(undefined, 'anything')).toBe(true);
    expect(modelAllowed(['gpt-4o-mini'], 'gpt-4o-mini')).toBe(true);
    expect(modelAllowed(['gpt-4o-mini'], 'gpt-4o-mini-2024-07-18')).toBe(false);
    expect(modelAllowed(['gpt-4o*'], 'gpt-4o-mini')).toBe(true);
    expect(modelAllowed(['gpt-4o*'], 'gpt-4.1')).toBe(false);
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1 }), { minLength: 1 }), fc.string(), (models, model) => {
        const exact = models.filter((allowed) => !allowed.endsWith('*'));
        // Without wildcards, only a listed name passes.
        expect(modelAllowed(exact.length ? exact : ['x'], model)).toBe((exact.length ? exact : ['x']).includes(model));
      }),
    );
  });

  it('verifies only the exact key: any one-character change is refused', async () => {
    const store = createMemoryKeyStore();
    const { key } = await createVirtualKey(store, { user: 'alice' });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: key.length - 1 }), fc.constantFrom(...alphabet), async (at, char) => {
        const changed = `${key.slice(0, at)}${char}${key.slice(at + 1)}`;
        expect(await verifyVirtualKey(store, changed)).toEqual(changed === key ? expect.anything() : undefined);
      }),
    );
  });
});
