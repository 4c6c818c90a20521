import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyVirtualKey } from '@tokenmeter/express';
import { createSqliteKeyStore } from '@tokenmeter/express/sqlite';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../test/run-cli';

const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-cli-keys-'));
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe('tokenmeter keys', () => {
  it('creates a key shown once, lists keys without it, and revokes by id', async () => {
    const path = join(directory, 'usage.db');
    const store = `sqlite:${path}`;
    const created = await runCli(
      'keys',
      'create',
      '--store',
      store,
      '--user',
      'alice',
      '--tenant',
      'acme',
      '--model',
      'gpt-4o-mini',
      '--budget',
      '5/day',
      '--json',
    );
    expect(created.code).toBe(0);
    const made = JSON.parse(created.stdout) as { key: string; id: string; user: string };
    expect(made).toMatchObject({ user: 'alice', tenant: 'acme', models: ['gpt-4o-mini'], budgets: ['5/day'] });
    expect(made.key).toMatch(/^tm_[A-Za-z0-9_-]{43}$/);
    const plain = await runCli('keys', 'create', '--store', store, '--user', 'bob');
    expect(plain.code).toBe(0);
    const bobKey = plain.stdout.split('\n')[0] ?? '';
    expect(bobKey).toMatch(/^tm_/);

    const listed = await runCli('keys', 'list', '--store', store);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(made.id);
    expect(listed.stdout).toMatch(/alice\s+acme\s+gpt-4o-mini\s+5\/day/);
    const json = await runCli('keys', 'list', '--store', store, '--json');
    for (const output of [listed.stdout, json.stdout]) {
      expect(output).not.toContain(made.key);
      expect(output).not.toContain(bobKey);
      expect(output).not.toMatch(/[0-9a-f]{64}/);
    }
    expect(readFileSync(path).toString('latin1')).not.toContain(made.key.slice(3));

    const keys = createSqliteKeyStore({ path });
    try {
      expect(await verifyVirtualKey(keys, made.key)).toMatchObject({ user: 'alice' });
      expect((await runCli('keys', 'revoke', made.id, '--store', store)).code).toBe(0);
      expect(await verifyVirtualKey(keys, made.key)).toBeUndefined();
      expect(await verifyVirtualKey(keys, bobKey)).toMatchObject({ user: 'bob' });
    } finally {
      await keys.close();
    }
    const listedAfter = JSON.parse((await runCli('keys', 'list', '--store', store, '--json')).stdout) as Array<{
      id: string;
      revokedAt: string | null;
    }>;
    expect(listedAfter.find((record) => record.id === made.id)?.revokedAt).toMatch(/^\d{4}-/);
  });

  it('keeps keys in Redis under the proxy store prefix, hashed', async () => {
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const prefix = `tokenmeter-cli-test:${randomBytes(6).toString('hex')}:`;
    const admin = new Redis(url);
    try {
      const created = await runCli('keys', 'create', '--store', url, '--prefix', prefix, '--user', 'zoe', '--json');
      expect(created.code).toBe(0);
      const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
      const stored = JSON.stringify(await admin.hgetall(`${prefix}vkeys`));
      expect(stored).toContain(id);
      expect(stored).not.toContain(key);
      const listed = await runCli('keys', 'list', '--store', url, '--prefix', prefix, '--json');
      expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id, user: 'zoe', revokedAt: null })]);
      expect((await runCli('keys', 'revoke', id, '--store', url, '--prefix', prefix)).code).toBe(0);
    } finally {
      await admin.del(`${prefix}vkeys`);
      await admin.quit();
    }
  });

  it('refuses what could not work: memory store, unknown id, scoped key budgets, bad names', async () => {
    const store = `sqlite:${join(directory, 'refusals.db')}`;
    const memory = await runCli('keys', 'create', '--store', 'memory', '--user', 'alice');
    expect(memory.code).toBe(2);
    expect(memory.stderr).toMatch(/sqlite:FILE or redis/);
    const unknown = await runCli('keys', 'revoke', 'vk_0000000000000000', '--store', store);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no key has the id/);
    const scoped = await runCli('keys', 'create', '--store', store, '--user', 'alice', '--budget', 'user:5/day');
    expect(scoped.code).toBe(2);
    const spaced = await runCli('keys', 'create', '--store', store, '--user', 'two words');
    expect(spaced.code).toBe(2);
    expect((await runCli('keys', 'list', '--store', store)).stdout).toContain('No keys.');
  });
});
