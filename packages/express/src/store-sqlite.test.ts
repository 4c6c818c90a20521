import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnTypeScript } from '../test/spawn-typescript';
import { createSqliteStore } from './store-sqlite';
import { checkStoreContract, DAY_UTC, usageEvent } from './store-test-support';

const directories: string[] = [];
function temporaryFile(): string {
  const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-sqlite-'));
  directories.push(directory);
  return join(directory, 'usage.db');
}
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

describe('createSqliteStore', () => {
  // The README's "Use it" code names `data/tokenmeter.db`; on a first run `data/` does not exist yet.
  it('creates a missing directory for its file and says where it writes', () => {
    const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-sqlite-'));
    directories.push(directory);
    const path = join(directory, 'data', 'nested', 'tokenmeter.db');
    const store = createSqliteStore({ path });
    expect(store.location).toBe(resolve(path));
    store.recordEvents([usageEvent({ id: 'first-run' })]);
    store.flush();
    store.close();
    expect(existsSync(path)).toBe(true);
    expect(createSqliteStore({ path: ':memory:' }).location).toBe(':memory:');
  });

  it('meets the store contract', async () => {
    const store = createSqliteStore({ path: temporaryFile() });
    await checkStoreContract(store);
    store.close();
  });

  it('survives a restart: the same file gives the same totals and budgets', () => {
    const path = temporaryFile();
    const now = Date.parse('2026-03-10T12:00:00Z');
    const first = createSqliteStore({ path });
    first.recordEvents([usageEvent({ cost: '0.000000000000000001' }), usageEvent({ cost: '1.5' })]);
    const reservation = first.reserve([{ budgetId: 'user:a', window: DAY_UTC, limit: 100, amount: 40 }], now);
    if (!reservation.ok) throw new Error('expected a reservation');
    first.settle(reservation.reservationId, [30], now);
    first.close();

    const second = createSqliteStore({ path });
    // $0.000000000000000001 + $1.5 = $1.500000000000000001: the atto-dollar survives.
    expect(second.query({}).totals).toMatchObject({ requests: 2, cost: '1.500000000000000001' });
    expect(second.budgetUsage('user:a', DAY_UTC, now)).toBe(30);
    second.close();
  });

  it('buffers events until the batch is full, the timer fires or flush() is called', async () => {
    const store = createSqliteStore({ path: ':memory:', batchSize: 3, batchIntervalMs: 10 });
    store.recordEvents([usageEvent(), usageEvent()]);
    expect(store.pending).toBe(2);
    store.recordEvents([usageEvent()]);
    expect(store.pending).toBe(0);
    store.recordEvents([usageEvent()]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(store.pending).toBe(0);
    expect(store.query({}).totals.requests).toBe(4);
    store.close();
  });

  it('keeps cost exact over many events', () => {
    const store = createSqliteStore({ path: ':memory:', batchSize: 10_000 });
    // 100,000 events of $0.000123456789012345 each = $12.3456789012345 exactly.
    for (let batch = 0; batch < 10; batch += 1) {
      store.recordEvents(Array.from({ length: 10_000 }, () => usageEvent({ cost: '0.000123456789012345' })));
    }
    store.flush();
    expect(store.query({}).totals.cost).toBe('12.3456789012345');
    store.close();
  });

  it('shares a budget between two connections to one file without overspending', () => {
    const path = temporaryFile();
    const a = createSqliteStore({ path });
    const b = createSqliteStore({ path });
    const now = Date.parse('2026-03-10T12:00:00Z');
    let granted = 0;
    for (let index = 0; index < 40; index += 1) {
      const store = index % 2 === 0 ? a : b;
      const result = store.reserve([{ budgetId: 'global', window: DAY_UTC, limit: 1000, amount: 70 }], now);
      if (result.ok) granted += 1;
    }
    // ⌊1000 / 70⌋ = 14.
    expect(granted).toBe(14);
    expect(b.budgetUsage('global', DAY_UTC, now)).toBe(980);
    // Reservations of a crashed process stop holding budget after the TTL (15 minutes by default).
    expect(b.budgetUsage('global', DAY_UTC, now + 15 * 60_000 + 1)).toBe(0);
    a.close();
    b.close();
  });

  it('keeps every event acknowledged (flushed) before a SIGKILL', async () => {
    const path = temporaryFile();
    const fixture = resolve(import.meta.dirname, '../test/fixtures/sqlite-writer.ts');
    const child = spawnTypeScript(fixture, [path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acknowledged = -1;
    let output = '';
    await new Promise<void>((done, fail) => {
      child.on('error', fail);
      child.on('exit', () => done());
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const lines = output.split('\n');
        output = lines.pop() ?? '';
        for (const line of lines) {
          const match = /^flushed (\d+)$/.exec(line);
          if (match) acknowledged = Number(match[1]);
        }
        // Mid-load: the child is still recording (and has a batch pending) when it is killed.
        if (acknowledged >= 3000 && !child.killed) child.kill('SIGKILL');
      });
    });
    expect(child.signalCode).toBe('SIGKILL');
    expect(acknowledged).toBeGreaterThanOrEqual(3000);

    const db = new Database(path, { readonly: true });
    const present = new Set(
      (db.prepare('SELECT id FROM tokenmeter_events').all() as { id: string }[]).map((row) => row.id),
    );
    db.close();
    const missing = Array.from({ length: acknowledged }, (_, index) => `kill-${index}`).filter(
      (id) => !present.has(id),
    );
    expect(missing).toEqual([]);
    const store = createSqliteStore({ path });
    expect(store.query({}).totals.requests).toBeGreaterThanOrEqual(acknowledged);
    store.close();
  }, 60_000);
});
