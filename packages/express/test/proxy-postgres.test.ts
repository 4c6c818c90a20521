import { randomBytes } from 'node:crypto';
import { Money } from '@tokenmeter/core';
import OpenAI from 'openai';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, storeFromSpec } from '../src/proxy-server';
import type { UsageReport } from '../src/types';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ADMIN = 'admin-0123456789abcdef';
// A schema of this run's own: the database is shared with other test runs.
const schema = `tokenmeter_proxy_${randomBytes(6).toString('hex')}`;
const spec = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}schema=${schema}`;
let upstream: FakeUpstream;

beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describe('startProxy({ store: "postgres://…" }) (tokenmeter proxy --store postgres://…)', () => {
  it('meters through PostgreSQL, with budgets, and keeps the events after close', async () => {
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      store: spec,
      userHeader: 'X-User',
      budgets: ['5/day'],
      adminToken: ADMIN,
    });
    const openai = new OpenAI({
      apiKey: 'sk-gateway',
      baseURL: `${running.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'x-user': 'gina' },
    });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
    const usage = (await (
      await fetch(`${running.url}/tokenmeter/usage?groupBy=user`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as UsageReport;
    expect(usage.totals.requests).toBe(2);
    expect(usage.groups.map((group) => group.key)).toEqual(['gina']);
    await running.close();

    const reopened = storeFromSpec(spec);
    try {
      const report = await reopened.query({ groupBy: 'model' });
      expect(report.totals).toEqual(usage.totals);
      expect(report.groups.map((group) => group.key)).toEqual(['gpt-4o-mini']);
      // The USD budget's spend was booked in the same database: each call's cost in nano-dollars, rounded up.
      const perCallAtto = Money.from(usage.totals.cost).atto / 2n;
      const perCallNano = (perCallAtto + 999_999_999n) / 1_000_000_000n;
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      const { rows } = await client.query(
        `SELECT sum(amount)::text AS spent FROM "${schema}"."tokenmeter_budget_spend"`,
      );
      await client.end();
      expect(perCallNano > 0n).toBe(true);
      expect(rows[0].spent).toBe(String(2n * perCallNano));
    } finally {
      await reopened.close();
    }
  });
});
