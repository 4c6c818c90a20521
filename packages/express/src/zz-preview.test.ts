// TEMPORARY scratch preview (deleted before the report).
import { Money } from '@tokenmeter/core';
import express from 'express';
import { chromium } from '../../../apps/demo/node_modules/playwright-core/index.mjs';
import { it } from 'vitest';
import { dashboardRouter } from './dashboard-router';
import { createMemoryStore } from './store-memory';
import type { UsageEvent } from './types';

it('preview', async () => {
  const store = createMemoryStore();
  const now = Date.now();
  const events: UsageEvent[] = [];
  let n = 0;
  const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'agent-06', 'agent-07', 'agent-08', 'agent-09'];
  const models = ['gpt-4o-mini', 'gpt-4.1-mini', 'o4-mini'];
  const routes = ['/api/chat', '/api/summarize', '/api/code-helper'];
  for (let d = 20; d >= 0; d--) {
    const count = d === 0 ? 60 : 150 + ((d * 37) % 90) + (d === 7 ? 300 : 0);
    for (let i = 0; i < count; i++) {
      const k = (i * 7 + d) % 3;
      const ts = d === 0 ? now - ((i * 97) % 5) * 3_600_000 - 1000 : now - d * 86_400_000;
      events.push({ id: `e${n++}`, timestamp: ts, requestId: 'r', route: routes[k]!, user: users[(i * 5 + d) % users.length], provider: 'openai', model: models[k]!, operation: 'chat', inputTokens: 800, cachedInputTokens: k === 0 ? 256 : 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: 200, reasoningTokens: k === 2 ? 400 : 0, cost: ['0.00025', '0.00064', '0.00264'][k], priced: true, estimated: false, status: i % 40 === 0 ? 429 : 200, rejected: i % 40 === 0, durationMs: 100, streamed: false });
    }
  }
  await store.recordEvents(events);
  const hold = await store.reserve([{ budgetId: 'user:dave:usd:day', window: { kind: 'calendar', period: 'day', timeZone: 'UTC' }, limit: 20_000_000, amount: 19_500_000 }], now);
  if (hold.ok) await store.settle(hold.reservationId, [19_800_000], now);
  const app = express();
  app.use('/dashboard', dashboardRouter({ store, authorize: () => true, budgets: 'user:0.02/day', plans: [{ name: 'Flat $25/month', monthlyFee: Money.from('25'), limits: {} }, { name: 'Team $99/month', monthlyFee: Money.from('99'), includedTokens: 100_000_000, overagePerMillionTokens: Money.from('1.5'), limits: {} }] }));
  const server = app.listen(0);
  const port = (server.address() as { port: number }).port;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  for (const [name, width, height] of [['wide', 1366, 900], ['phone', 390, 844]] as const) {
    const page = await browser.newPage({ viewport: { width, height } });
    page.on('pageerror', (e) => console.log('PAGEERROR', e.message));
    page.on('console', (m) => console.log('CONSOLE', m.text()));
    await page.goto(`http://127.0.0.1:${port}/dashboard/`);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 10000 });
    await page.screenshot({ path: `/tmp/preview/${name}.png`, fullPage: true });
    console.log(name, await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth));
  }
  await browser.close();
  server.close();
}, 60000);
