/// <reference lib="dom" />
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UsageEvent } from '@tokenmeter/express';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../src/demo';
import { DEMO_ROOT } from '../src/prompts';
import { driveTraffic } from '../src/traffic';
import { settled } from './support';

/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core (no browser download).
 * `.ci/run` installs it; locally `apt-get install chromium`, or point CHROMIUM_PATH at another build.
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const ARTIFACTS = join(DEMO_ROOT, 'test-artifacts');

if (!HAVE_CHROMIUM && IN_CI) {
  describe('dashboard in Chromium', () => {
    it('needs Chromium', () => {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM_PATH.`,
      );
    });
  });
} else if (!HAVE_CHROMIUM) {
  describe.skip(`dashboard in Chromium (skipped: no Chromium at ${CHROMIUM}; apt-get install -y chromium or set CHROMIUM_PATH)`, () => {
    it('renders', () => undefined);
  });
} else {
  // A browser under a loaded CI machine can be slow to start and render: a generous limit, not a speed test.
  describe('dashboard in Chromium', { timeout: 90_000 }, () => {
    const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-dashboard-'));
    const events: UsageEvent[] = [];
    let demo: RunningDemo;
    let browser: Browser;

    beforeAll(async () => {
      demo = await startDemo({
        port: 0,
        databasePath: join(directory, 'usage.db'),
        chunkDelayMs: 1,
        env: {},
        onEvent: (event) => events.push(event),
      });
      await driveTraffic(demo.url, { thinkMs: 0 });
      await settled(demo, events, Date.now() - 3_600_000);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      mkdirSync(ARTIFACTS, { recursive: true });
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await demo?.close();
      rmSync(directory, { recursive: true, force: true });
    });

    it('shows the numbers the usage API reports, and the planner advice', async () => {
      const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
      const failures: string[] = [];
      page.on('pageerror', (error) => failures.push(error.message));
      page.on('requestfailed', (request) => failures.push(`request failed: ${request.url()}`));
      page.on('request', (request) => {
        if (!request.url().startsWith(demo.url)) failures.push(`left the app: ${request.url()}`);
      });
      await page.goto(`${demo.url}/dashboard`);
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });

      const usage = (await (await fetch(`${demo.url}/usage`)).json()) as {
        totals: { cost: string; requests: number; rejectedRequests: number };
      };
      const summary = (await (await fetch(`${demo.url}/dashboard/api/summary`)).json()) as {
        kpis: { range: { cost: string; requests: number } };
        plan: { advice: string };
      };
      // The seeded history is within the dashboard's 30 days, so its range equals everything in the store.
      expect(await page.getAttribute('[data-testid="cost-range"]', 'data-value')).toBe(usage.totals.cost);
      expect(await page.getAttribute('[data-testid="requests-range"]', 'data-value')).toBe(
        String(usage.totals.requests),
      );
      expect(await page.getAttribute('[data-testid="rejected-range"]', 'data-value')).toBe(
        String(usage.totals.rejectedRequests),
      );
      expect(summary.kpis.range.cost).toBe(usage.totals.cost);
      expect(usage.totals.rejectedRequests).toBeGreaterThan(0);
      expect((await page.textContent('[data-testid="advice"]'))?.trim()).toBe(summary.plan.advice);
      // Every user of the burst appears in the by-user table or is folded into "others"; dave hit his budget.
      expect(await page.textContent('[data-testid="budgets-table"]')).toContain('dave');
      expect(await page.locator('#daily-chart svg rect.bar').count()).toBe(30);
      expect(await page.locator('#plan-chart svg path.per-token').count()).toBe(1);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      expect(failures).toEqual([]);
      await page.close();
    });

    it('can be used from the keyboard alone', async () => {
      const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
      await page.goto(`${demo.url}/dashboard/`);
      await page.waitForSelector('body[data-loaded="true"]');
      const focused: string[] = [];
      for (let step = 0; step < 8; step++) {
        await page.keyboard.press('Tab');
        focused.push(
          await page.evaluate(() => {
            const element = document.activeElement as HTMLElement | null;
            return element ? `${element.tagName.toLowerCase()}:${(element.textContent ?? '').trim().slice(0, 40)}` : '';
          }),
        );
      }
      expect(focused[0]).toBe('a:Skip to the numbers');
      expect(focused).toContain('button:Pause updates');
      expect(focused).toContain('summary:Spend by day as a table');
      // A table behind its summary opens with the keyboard.
      await page.focus('#daily-heading ~ details summary');
      await page.keyboard.press('Enter');
      expect(await page.locator('[data-testid="daily-table"]').isVisible()).toBe(true);
      await page.close();
    });

    it('fits a phone-width screen without sideways scrolling', async () => {
      const page = await browser.newPage({
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
      });
      await page.goto(`${demo.url}/dashboard/`);
      await page.waitForSelector('body[data-loaded="true"]');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
      await page.close();
    });
  });
}
