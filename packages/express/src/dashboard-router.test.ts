import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FlatRatePlan, Money } from '@tokenmeter/core';
import express from 'express';
import { JSDOM } from 'jsdom';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { dashboardHtml, dashboardScript, dashboardStyles } from './dashboard-assets';
import { dashboardRouter } from './dashboard-router';
import { InvalidDashboardOptionsError } from './invalid-dashboard-options-error';
import { createMemoryStore } from './store-memory';
import type { Store, UsageEvent } from './types';

const NOW = Date.parse('2026-11-27T12:30:00Z');
const HOUR = 3_600_000;

function event(overrides: Partial<UsageEvent>): UsageEvent {
  return {
    id: overrides.id ?? Math.random().toString(36).slice(2),
    timestamp: NOW,
    requestId: 'request',
    route: '/api/chat',
    provider: 'openai',
    model: 'gpt-4o-mini',
    operation: 'chat',
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    priced: true,
    cost: '0',
    estimated: false,
    status: 200,
    durationMs: 100,
    streamed: false,
    ...overrides,
  };
}

// Costs by hand from published prices: gpt-4o-mini $0.15 in / $0.60 out per million, gpt-4.1-mini $0.40 / $1.60.
const EVENTS: UsageEvent[] = [
  // 1000 × 0.15/1M + 500 × 0.60/1M = 0.00015 + 0.0003
  event({ id: 'a', user: 'alice', timestamp: NOW - 2.4 * HOUR, inputTokens: 1000, outputTokens: 500, cost: '0.00045' }),
  // 2000 × 0.40/1M + 200 × 1.60/1M = 0.0008 + 0.00032
  event({
    id: 'b',
    user: 'bob',
    route: '/api/summarize',
    model: 'gpt-4.1-mini',
    timestamp: NOW - 1.3 * HOUR,
    inputTokens: 2000,
    outputTokens: 200,
    cost: '0.00112',
  }),
  event({
    id: 'c',
    user: 'dave',
    route: '/api/summarize',
    model: 'gpt-4.1-mini',
    timestamp: NOW - 1.1 * HOUR,
    status: 429,
    rejected: true,
  }),
  event({
    id: 'd',
    user: 'alice',
    timestamp: NOW - 24 * HOUR,
    inputTokens: 3000,
    cachedInputTokens: 1000,
    outputTokens: 700,
    cost: '0.001',
  }),
  event({
    id: 'e',
    user: 'carol',
    model: 'my-own-llm',
    provider: 'unknown',
    timestamp: NOW - 72 * HOUR,
    inputTokens: 100,
    outputTokens: 50,
    priced: false,
    cost: undefined,
  }),
];

async function appWith(store: Store, options: Partial<Parameters<typeof dashboardRouter>[0]> = {}) {
  await store.recordEvents(EVENTS);
  const app = express();
  app.use('/dashboard', dashboardRouter({ store, authorize: () => true, now: () => NOW, topN: 2, ...options }));
  return app;
}

describe('dashboardRouter', () => {
  it('serves the page with its script and stylesheet from the mount point, offline and under a strict CSP', async () => {
    const app = await appWith(createMemoryStore({ now: () => NOW }), { title: 'Spend <beta>' });
    const page = await request(app).get('/dashboard/').expect(200);
    expect(page.type).toBe('text/html');
    expect(page.text).toContain('<title>Spend &#60;beta&#62;</title>');
    expect(page.text).toContain('src="/dashboard/dashboard.js"');
    expect(page.text).toContain('href="/dashboard/dashboard.css"');
    expect(page.text).toContain('data-api="/dashboard/api/summary"');
    expect(page.text).not.toMatch(/https?:\/\//);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const script = await request(app).get('/dashboard/dashboard.js').expect(200);
    expect(script.type).toBe('application/javascript');
    expect(script.text).toBe(dashboardScript);
    const styles = await request(app).get('/dashboard/dashboard.css').expect(200);
    expect(styles.type).toBe('text/css');
    await request(app).get('/dashboard?x=1').expect(301).expect('location', '/dashboard/?x=1');
  });

  it('answers 403 to everything when authorize says no or throws', async () => {
    const app = await appWith(createMemoryStore({ now: () => NOW }), { authorize: () => false });
    await request(app).get('/dashboard/').expect(403);
    await request(app).get('/dashboard/api/summary').expect(403);
    await request(app).get('/dashboard/dashboard.js').expect(403);
    const throwing = await appWith(createMemoryStore({ now: () => NOW }), {
      authorize: () => {
        throw new Error('session store down');
      },
    });
    await request(throwing).get('/dashboard/api/summary').expect(403);
  });

  it('summarizes today, the month, the range, days, hours and breakdowns exactly', async () => {
    const app = await appWith(createMemoryStore({ now: () => NOW }));
    const { body } = await request(app).get('/dashboard/api/summary').expect(200);
    // Today: 0.00045 + 0.00112 (the rejected call costs nothing).
    expect(body.kpis.today).toMatchObject({
      requests: 3,
      cost: '0.00157',
      costDisplay: '$0.0016',
      rejectedRequests: 1,
    });
    expect(body.kpis.month).toMatchObject({ requests: 5, cost: '0.00257', unpricedRequests: 1 });
    expect(body.kpis.range.tokens).toBe(1000 + 500 + 2000 + 200 + 3000 + 1000 + 700 + 100 + 50);
    expect(body.daily).toHaveLength(30);
    expect(body.daily.at(-1)).toMatchObject({ date: '2026-11-27', requests: 3, cost: '0.00157' });
    expect(body.daily.at(-2)).toMatchObject({ date: '2026-11-26', requests: 1, cost: '0.001' });
    expect(body.hourly).toHaveLength(24);
    expect(body.hourly[10]).toMatchObject({ label: '10:00', requests: 1, cost: '0.00045' });
    expect(body.hourly[11]).toMatchObject({ label: '11:00', requests: 2, cost: '0.00112' });
    expect(body.hourly[12].current).toBe(true);
    // Top 2: alice, then the three others folded together.
    expect(body.byUser.groups).toBe(4);
    expect(body.byUser.rows).toEqual([
      expect.objectContaining({ key: 'alice', requests: 2, cost: '0.00145' }),
      expect.objectContaining({ key: '3 others', others: true, requests: 3, cost: '0.00112', rejectedRequests: 1 }),
    ]);
    expect(body.byModel.rows[0]).toMatchObject({ key: 'gpt-4o-mini', requests: 2, cost: '0.00145' });
    expect(body.tokens).toEqual([
      { bucket: 'input', label: 'Input (uncached)', tokens: 6100 },
      { bucket: 'cached', label: 'Cached input', tokens: 1000 },
      { bucket: 'cacheWrite', label: 'Cache writes', tokens: 0 },
      { bucket: 'output', label: 'Output', tokens: 1450 },
      { bucket: 'reasoning', label: 'Reasoning', tokens: 0 },
    ]);
    expect(body.rejected).toEqual({ requests: 1, byUser: [{ key: 'dave', requests: 1 }] });
    // The unpriced model is folded into "others" by cost, but the badge data still names it.
    expect(body.unpriced).toEqual({ requests: 1, byModel: [{ key: 'my-own-llm', requests: 1 }] });
    expect(body.byModel.rows[1]).toMatchObject({ others: true, unpricedRequests: 1 });
    expect(body.byModel.rows[0]).toMatchObject({ unpricedRequests: 0 });
  });

  it('badges models without a price in the page, and says their cost is unknown rather than $0', async () => {
    const app = await appWith(createMemoryStore({ now: () => NOW }), { topN: 6 });
    const html = (await request(app).get('/dashboard/').expect(200)).text;
    const summary = (await request(app).get('/dashboard/api/summary').expect(200)).text;
    const dom = new JSDOM(html, { url: 'http://127.0.0.1/dashboard/', runScripts: 'outside-only' });
    const window = dom.window;
    // jsdom has no fetch: the page's one request answers with the router's real summary.
    Object.assign(window, { fetch: async () => ({ ok: true, status: 200, json: async () => JSON.parse(summary) }) });
    window.eval(dashboardScript);
    const document = window.document;
    for (let attempt = 0; attempt < 200 && document.body.dataset.loaded !== 'true'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(document.getElementById('status')?.textContent).toBe('Live.');
    expect(document.body.dataset.loaded).toBe('true');
    // One badge per breakdown: the model, the route it was called on and the user who called it.
    const badges = [...document.querySelectorAll('[data-testid="unpriced-badge"]')];
    expect(badges.map((badge) => badge.closest('table')?.dataset.testid)).toEqual(['by-model', 'by-route', 'by-user']);
    const byUser = document.querySelector('[data-testid="by-user"] [data-testid="unpriced-badge"]')?.closest('tr');
    expect(byUser?.querySelector('th')?.textContent).toBe('carol no price · 1 call');
    const row = badges[0]?.closest('tr');
    expect(row?.querySelector('th')?.textContent).toBe('my-own-llm no price · 1 call');
    expect(row?.lastElementChild?.textContent).toBe('unknown');
    const note = document.querySelector('[data-testid="unpriced-note"]');
    expect(note?.hidden).toBe(false);
    expect(note?.textContent).toContain('1 call in the last 30 days went to models without a price (my-own-llm: 1)');
    expect(note?.textContent).toContain('not $0');
    window.close();
  });

  it('reports no unpriced calls when every model has a price', async () => {
    const store = createMemoryStore({ now: () => NOW });
    await store.recordEvents([event({ id: 'priced-only', inputTokens: 10, cost: '0.0000015' })]);
    const app = express();
    app.use('/dashboard', dashboardRouter({ store, authorize: () => true, now: () => NOW }));
    const { body } = await request(app).get('/dashboard/api/summary').expect(200);
    expect(body.unpriced).toEqual({ requests: 0, byModel: [] });
  });

  it("shows each user's use of a budget from the store's own counters", async () => {
    const store = createMemoryStore({ now: () => NOW });
    const window = { kind: 'calendar', period: 'day', timeZone: 'UTC' } as const;
    // alice spent $0.00045 today: 450,000 nano-dollars against a $0.001 (1,000,000 nano-dollar) limit.
    const hold = await store.reserve(
      [{ budgetId: 'user:alice:usd:day', window, limit: 1_000_000, amount: 600_000 }],
      NOW,
    );
    if (!hold.ok) throw new Error('reservation refused');
    await store.settle(hold.reservationId, [450_000], NOW);
    const app = await appWith(store, { budgets: 'user:0.001/day' });
    const { body } = await request(app).get('/dashboard/api/summary').expect(200);
    const alice = body.budgets.find((row: { subject: string }) => row.subject === 'alice');
    expect(alice).toMatchObject({ unit: 'usd', used: '0.00045', limit: '0.001', fraction: 0.45, period: 'per day' });
    expect(body.budgets.find((row: { subject: string }) => row.subject === 'dave')).toMatchObject({
      used: '0',
      rejected: 1,
    });
  });

  it('projects the month from the measured days and compares each flat-rate plan', async () => {
    const plan: FlatRatePlan = { name: 'Flat $25', monthlyFee: Money.from('25'), limits: {} };
    const app = await appWith(createMemoryStore({ now: () => NOW }), { plans: [plan] });
    const { body } = await request(app).get('/dashboard/api/summary').expect(200);
    expect(body.plan.available).toBe(true);
    expect(body.plan.options.map((option: { name: string }) => option.name)).toContain('Flat $25');
    expect(typeof body.plan.advice).toBe('string');
    expect(body.plan.advice.length).toBeGreaterThan(10);
  });

  it('advises with the same p50 month it shows, when the price mix changed over the measured days', async () => {
    // Traffic grows while the cost stays flat (the app moved to a cheaper model): the history's average price
    // is not the price of the month the projection expects.
    const store = createMemoryStore({ now: () => NOW });
    const days = Array.from({ length: 14 }, (_, index) =>
      event({
        timestamp: NOW - (14 - index) * 24 * HOUR,
        inputTokens: 1_000_000 * (index + 1),
        cost: '1',
      }),
    );
    await store.recordEvents(days);
    const app = express();
    const plans: FlatRatePlan[] = [{ name: 'Flat $25', monthlyFee: Money.from('25'), limits: {} }];
    app.use('/dashboard', dashboardRouter({ store, authorize: () => true, now: () => NOW, plans }));
    const { body } = await request(app).get('/dashboard/api/summary').expect(200);
    const perTokenAtP50 = Money.from(body.plan.pricePerMillion).timesDecimal(body.plan.p50.tokens / 1_000_000);
    expect(Math.abs(perTokenAtP50.minus(Money.from(body.plan.p50.cost)).toNumber())).toBeLessThan(0.005);
  });

  it('refuses options it cannot use, at creation', () => {
    const store = createMemoryStore();
    expect(() => dashboardRouter({ store, authorize: undefined as never })).toThrow(InvalidDashboardOptionsError);
    expect(() => dashboardRouter({ store, authorize: () => true, days: 0 })).toThrow(/days/);
    expect(() => dashboardRouter({ store, authorize: () => true, timeZone: 'Mars/Olympus' })).toThrow(/time zone/);
    expect(() => dashboardRouter({ store, authorize: () => true, budgets: 'nonsense' })).toThrow(
      InvalidDashboardOptionsError,
    );
  });

  it('ships the generated assets exactly as in assets/ (rerun scripts/generate-dashboard-assets.mjs)', () => {
    const assets = join(import.meta.dirname, '..', 'assets');
    expect(dashboardHtml).toBe(readFileSync(join(assets, 'dashboard.html'), 'utf8'));
    expect(dashboardScript).toBe(readFileSync(join(assets, 'dashboard.js'), 'utf8'));
    expect(dashboardStyles).toBe(readFileSync(join(assets, 'dashboard.css'), 'utf8'));
  });
});
