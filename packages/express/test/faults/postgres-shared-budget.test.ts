import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/store-postgres';
import { spawnTypeScript } from '../spawn-typescript';
import { type FaultUpstream, post, sharedBudgetBody, sharedBudgetSizing, startFaultUpstream } from './fault-upstream';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const INSTANCES = 4;
const REQUESTS = 200;
const DAY_UTC = { kind: 'calendar', period: 'day', timeZone: 'UTC' } as const;
const fixture = resolve(import.meta.dirname, 'postgres-proxy-instance.ts');

interface Child {
  process: ChildProcess;
  url: string;
}

function start(env: Record<string, string>): Promise<Child> {
  const child = spawnTypeScript(fixture, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error('the instance did not start in 60 s')), 60_000);
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`the instance exited early (${code ?? signal})`)));
    let buffered = '';
    child.stdout?.on('data', (data: Buffer) => {
      buffered += data.toString('utf8');
      const port = /^port (\d+)$/m.exec(buffered)?.[1];
      if (port) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        done({ process: child, url: `http://127.0.0.1:${port}` });
      }
    });
  });
}

function stop(child: Child): Promise<void> {
  return new Promise((stopped) => {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      stopped();
      return;
    }
    child.process.once('exit', () => stopped());
    child.process.kill('SIGTERM');
    setTimeout(() => child.process.kill('SIGKILL'), 10_000).unref();
  });
}

describe('four Express processes sharing one PostgreSQL budget', { timeout: 120_000 }, () => {
  // A schema of this run's own: the database is shared with other test runs.
  const schema = `tokenmeter_faults_${randomBytes(6).toString('hex')}`;
  const spec = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  let upstream: FaultUpstream;
  let instances: Child[] = [];
  let perRequest = 0;
  let limit = 0;

  beforeAll(async () => {
    upstream = await startFaultUpstream();
    ({ perRequest, limit } = await sharedBudgetSizing());
    // All four start at once and race to create the tables.
    instances = await Promise.all(
      Array.from({ length: INSTANCES }, () =>
        start({ TM_UPSTREAM: `${upstream.url}/v1`, TM_STORE: spec, TM_BUDGET_TOKENS: String(limit) }),
      ),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map(stop));
    await upstream?.close();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }, 60_000);

  it('never overspends with 200 concurrent requests, and records every served call once', async () => {
    const results = await Promise.all(
      Array.from({ length: REQUESTS }, (_, index) =>
        post(`${(instances[index % INSTANCES] as Child).url}/v1/chat/completions`, sharedBudgetBody(index)),
      ),
    );
    const statuses = results.map((result) => result.status);
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
    const served = statuses.filter((status) => status === 200).length;
    const refused = results.filter((result) => result.status === 429);
    for (const rejection of refused) {
      expect(JSON.parse(rejection.body)).toMatchObject({ error: { code: 'budget_exceeded', type: 'budget_exceeded' } });
    }
    const budgetId = String(
      results.find((result) => result.headers['x-tokenmeter-budget-id'])?.headers['x-tokenmeter-budget-id'],
    );

    // Events are written after the response: stopping the instances flushes them.
    await Promise.all(instances.map(stop));
    const reader = createPostgresStore({ connectionString: DATABASE_URL, schema, maxConnections: 1 });
    const used = await reader.budgetUsage(budgetId, DAY_UTC, Date.now());
    const report = await reader.query({});
    await reader.close();

    expect(used).toBe(served * perRequest);
    expect(used).toBeLessThanOrEqual(limit);
    expect(used / limit).toBeGreaterThanOrEqual(0.95);
    expect(served).toBeGreaterThanOrEqual(150);
    expect(refused.length).toBe(REQUESTS - served);
    expect(upstream.received).toBe(served);
    expect(report.totals).toMatchObject({ requests: REQUESTS, rejectedRequests: REQUESTS - served });
    expect(report.totals.inputTokens + report.totals.outputTokens).toBe(served * perRequest);
  });
});
