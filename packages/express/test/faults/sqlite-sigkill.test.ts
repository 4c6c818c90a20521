import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store-sqlite';
import { chatBody, type FaultUpstream, post, startFaultUpstream } from './fault-upstream';
import { startInstance } from './spawn-instance';

describe('an Express process with the SQLite store killed with SIGKILL mid-load', { timeout: 120_000 }, () => {
  let upstream: FaultUpstream;
  let directory: string;

  beforeAll(async () => {
    upstream = await startFaultUpstream();
    directory = mkdtempSync(join(tmpdir(), 'tokenmeter-sigkill-'));
  });

  afterAll(async () => {
    await upstream?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('keeps every event acknowledged (flushed) before the kill', async () => {
    const path = join(directory, 'usage.db');
    const instance = await startInstance({ TM_UPSTREAM: `${upstream.url}/v1`, TM_STORE: `sqlite:${path}` });
    let sent = 0;
    let stop = false;
    // Eight clients keep requests in flight until the process dies (bounded: 5,000 requests at most).
    const client = async () => {
      while (!stop && sent < 5_000) {
        sent++;
        const result = await post(`${instance.url}/v1/chat/completions`, chatBody(sent));
        if (result.status === 0) return;
      }
    };
    const clients = Array.from({ length: 8 }, client);
    for (let wait = 0; wait < 600 && instance.acknowledged.length < 300; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const exited = new Promise((resolve) => instance.child.once('exit', resolve));
    instance.child.kill('SIGKILL');
    await exited;
    stop = true;
    await Promise.all(clients);
    const acknowledged = [...instance.acknowledged];

    expect(instance.child.signalCode).toBe('SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);
    // Reopened as a store after the crash (which replays the write-ahead log the dead process left), the
    // events are queryable and none is counted twice. (The instance must be the process that dies: run
    // through the `tsx` command, only its wrapper died and the server went on writing while this read.)
    const store = createSqliteStore({ path });
    const db = new Database(path);
    const present = new Set(
      (db.prepare('SELECT id FROM tokenmeter_events').all() as Array<{ id: string }>).map((row) => row.id),
    );
    db.close();
    expect(acknowledged.filter((id) => !present.has(id))).toEqual([]);
    expect(store.query({}).totals.requests).toBe(present.size);
    expect(present.size).toBeGreaterThanOrEqual(acknowledged.length);
    store.close();
  });
});
