import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatWait, parseBudgetRules, parseBudgetShorthand } from '../src/budget-rules';
import type { BudgetWarning } from '../src/meter-options';
import { createMemoryStore } from '../src/store-memory';
import type { BudgetWindow } from '../src/types';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';
import { type ProxyApp, startProxyApp } from './test-app';

let upstream: FakeUpstream;
let app: ProxyApp;

beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await app?.close();
});

const DAY: BudgetWindow = { kind: 'calendar', period: 'day', timeZone: 'UTC' };

function chat(headers: Record<string, string> = {}, body: Record<string, unknown> = {}) {
  return fetch(`${app.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 100,
      ...body,
    }),
  });
}

describe('budget rules', () => {
  it('reads shorthands and objects into store units', () => {
    expect(parseBudgetShorthand('5/day')).toEqual({ scope: 'global', limit: '5', window: 'day' });
    expect(parseBudgetShorthand('~user:0.50/week@Europe/Paris')).toEqual({
      scope: 'user',
      limit: '0.50',
      window: 'week',
      timeZone: 'Europe/Paris',
      soft: true,
    });
    expect(parseBudgetShorthand('tenant:200000tokens/2h')).toEqual({
      scope: 'tenant',
      limit: { tokens: 200000 },
      window: { rollingMs: 7_200_000 },
    });
    const [usd, tokens] = parseBudgetRules([
      'user:0.5/day',
      { scope: 'route', limit: { tokens: 1000 }, window: 'month' },
    ]);
    // $0.50 = 500,000,000 nano-dollars.
    expect(usd).toMatchObject({ label: 'user:usd:day', unit: 'usd', limit: 500_000_000, window: DAY, soft: false });
    expect(tokens).toMatchObject({ label: 'route:tokens:month', unit: 'tokens', limit: 1000 });
  });

  it('rejects unreadable budgets with the option path', () => {
    expect(() => parseBudgetRules([{ scope: 'planet', limit: '1' }])).toThrow(/budgets\[0\]\.scope/);
    expect(() => parseBudgetRules({ scope: 'user', limit: '0.0000000001' })).toThrow(/9 decimal places/);
    expect(() => parseBudgetRules({ scope: 'user', limit: '1', timeZone: 'Mars/Base' })).toThrow(/budgets\.window/);
    expect(() => parseBudgetRules(['1/day', '2/day'])).toThrow(/share the id/);
  });
});

describe('budget enforcement at the proxy', () => {
  it('never lets 50 concurrent requests overspend, and settles every reservation to the actual cost', async () => {
    const store = createMemoryStore();
    // Each call may cost 25 prompt tokens (the prompt's bound: 8 counted plus framing headroom) × $0.15 + 100
    // output × $0.60 per million = 63.75 µ$ (reserved), and costs 5.4 µ$ (settled, see the proxy test). A
    // 100 µ$ budget holds one maximum at a time.
    app = await startProxyApp(upstream, { store, budgets: { scope: 'global', limit: '0.0001', window: 'day' } });
    const responses = await Promise.all(Array.from({ length: 50 }, () => chat()));
    const statuses = responses.map((response) => response.status);
    const accepted = statuses.filter((status) => status === 200).length;
    const rejected = statuses.filter((status) => status === 429).length;
    expect(accepted + rejected).toBe(50);
    expect(accepted).toBeGreaterThanOrEqual(1);
    // Even one after another at most 7 fit: after 7 × 5.4 = 37.8 µ$ spent, 37.8 + 63.75 > 100.
    expect(accepted).toBeLessThanOrEqual(7);
    await app.eventsAfter(50);
    // Every reservation settled: the budget holds exactly the spend (5,400 nano-dollars per call).
    expect(await store.budgetUsage('global:usd:day', DAY, Date.now())).toBe(accepted * 5400);
    const events = app.events;
    expect(events.filter((event) => event.rejected).length).toBe(rejected);
    expect(events.filter((event) => !event.rejected).every((event) => event.cost === '0.0000054')).toBe(true);
  });

  it('answers 429 with an OpenAI-style body, Retry-After and remaining-budget headers', async () => {
    app = await startProxyApp(upstream, { budgets: { scope: 'user', limit: { tokens: 150 }, window: 'day' } });
    const first = await chat({ 'x-user': 'carol' });
    expect(first.status).toBe(200);
    // Reserved 25 (the prompt's bound) + 100 = 125 of 150 tokens, settled to 25 (12 + 8 cached + 5 output).
    expect(first.headers.get('x-tokenmeter-budget-id')).toBe('user:carol:tokens:day');
    expect(first.headers.get('x-tokenmeter-budget-limit')).toBe('150');
    expect(first.headers.get('x-tokenmeter-budget-remaining')).toBe('25');
    // Before and after this call's reservation, named apart: 150 − 25 left after reserving 125.
    expect(first.headers.get('x-tokenmeter-budget-reserved')).toBe('125');
    expect(first.headers.get('x-tokenmeter-budget-remaining-before')).toBe('150');
    const second = await chat({ 'x-user': 'carol' }, { max_tokens: 120 });
    expect(second.status).toBe(429);
    const retryAfter = Number(second.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(second.headers.get('x-tokenmeter-budget-remaining')).toBe('125');
    expect(await second.json()).toEqual({
      error: {
        type: 'budget_exceeded',
        code: 'budget_exceeded',
        message: `Budget user:carol:tokens:day exceeded: 25 tokens of 150 tokens used this day window (125 tokens left) and this request may need up to 145 tokens. Retry after ${formatWait(retryAfter)} (${retryAfter} s) or raise the budget.`,
        param: null,
      },
    });
    // Another user has a budget of their own; an unidentified caller has none under a user rule.
    expect((await chat({ 'x-user': 'dave' }, { max_tokens: 120 })).status).toBe(200);
    expect((await chat({}, { max_tokens: 120 })).status).toBe(200);
  });

  it('releases the reservation when the upstream fails, and settles an estimate when the stream is cut', async () => {
    const store = createMemoryStore();
    app = await startProxyApp(upstream, {
      store,
      budgets: { scope: 'global', limit: { tokens: 10_000 }, window: 'day' },
    });
    expect((await chat({ 'x-fake': 'status-500' })).status).toBe(500);
    await app.eventsAfter(1);
    expect(await store.budgetUsage('global:tokens:day', DAY, Date.now())).toBe(0);
    const cut = await chat({ 'x-fake': 'cut' }, { stream: true });
    await cut.text().catch(() => '');
    await app.eventsAfter(2);
    // 8 prompt tokens counted + "Hello there" = 2 output tokens counted: never zero, never lost.
    expect(await store.budgetUsage('global:tokens:day', DAY, Date.now())).toBe(10);
  });

  it('warns about a soft budget by header and callback but serves the request', async () => {
    const warnings: BudgetWarning[] = [];
    app = await startProxyApp(upstream, {
      budgets: [{ scope: 'global', limit: { tokens: 50 }, soft: true }],
      onBudgetWarning: (warning) => warnings.push(warning),
    });
    expect((await chat()).headers.get('x-tokenmeter-budget-warning')).toBe('global:tokens:day');
    expect(warnings).toEqual([
      { budgetId: 'global:tokens:day', scope: 'global', subject: 'global', unit: 'tokens', limit: '50', used: '125' },
    ]);
  });

  it('answers 503 when the budget store is down (fail-closed)', async () => {
    const store = createMemoryStore();
    store.reserve = () => {
      throw new Error('connection refused');
    };
    const logged: string[] = [];
    app = await startProxyApp(upstream, { store, budgets: '1/day', logger: { warn: (line) => logged.push(line) } });
    const response = await chat();
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    await chat();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/STORE_RESERVE_FAILED.*docs\/errors\.md#store-reserve-failed/);
  });
});
