import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Money } from '@tokenmeter/core';
import type { UsageEvent } from '@tokenmeter/express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../src/demo';
import { driveTraffic, type TrafficResult } from '../src/traffic';
import { settled } from './support';

describe('the demo app, end to end against the offline fake model', () => {
  const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-demo-'));
  const events: UsageEvent[] = [];
  let demo: RunningDemo;
  let traffic: TrafficResult;

  beforeAll(async () => {
    demo = await startDemo({
      port: 0,
      databasePath: join(directory, 'usage.db'),
      history: false,
      chunkDelayMs: 1,
      env: {},
      onEvent: (event) => events.push(event),
    });
    traffic = await driveTraffic(demo.url, { thinkMs: 0 });
    await settled(demo, events);
  }, 60_000);

  afterAll(async () => {
    await demo?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('answers every request, refuses the over-budget user with 429 and lets one client hang up', () => {
    expect(traffic.failed).toBe(0);
    expect(traffic.rejected).toBeGreaterThan(0);
    expect(traffic.cut).toBe(1);
    expect(traffic.ok + traffic.rejected + traffic.cut).toBe(traffic.sent);
  });

  it('reports usage API totals equal to the sum of the recorded events', async () => {
    const response = await fetch(`${demo.url}/usage`);
    expect(response.status).toBe(200);
    const { totals } = (await response.json()) as { totals: Record<string, number | string> };
    const sum = (pick: (event: UsageEvent) => number) => events.reduce((total, event) => total + pick(event), 0);
    expect(totals.requests).toBe(events.length);
    expect(totals.inputTokens).toBe(sum((event) => event.inputTokens));
    expect(totals.cachedInputTokens).toBe(sum((event) => event.cachedInputTokens));
    expect(totals.outputTokens).toBe(sum((event) => event.outputTokens));
    expect(totals.reasoningTokens).toBe(sum((event) => event.reasoningTokens));
    expect(totals.rejectedRequests).toBe(events.filter((event) => event.rejected).length);
    const cost = Money.sum(
      events.filter((event) => event.cost !== undefined).map((event) => Money.from(event.cost ?? '0')),
    );
    expect(totals.cost).toBe(cost.toString());
    expect(Money.from(String(totals.cost)).compare(Money.ZERO)).toBe(1);
  });

  it('attributes calls to users and routes, with cached, reasoning and estimated tokens where they belong', () => {
    const byUser = (name: string) => events.filter((event) => event.user === name);
    // Only dave's backfill script runs into the daily budget; each refusal is recorded as a 429 event.
    const rejected = events.filter((event) => event.rejected);
    expect(rejected).toHaveLength(traffic.rejected);
    expect(rejected.every((event) => event.user === 'dave' && event.status === 429)).toBe(true);
    // alice's follow-up turns resend the conversation so far: the fake model reports those prefixes cached.
    expect(byUser('alice').some((event) => event.cachedInputTokens > 0)).toBe(true);
    expect(byUser('carol').every((event) => event.reasoningTokens > 0 && event.route.endsWith('/code-helper'))).toBe(
      true,
    );
    // erin's closed stream is recorded from what was seen, marked estimated, never as zero.
    const cut = byUser('erin').filter((event) => event.estimated);
    expect(cut).toHaveLength(1);
    expect(cut[0]?.outputTokens).toBeGreaterThan(0);
    expect(events.every((event) => event.user !== undefined && !JSON.stringify(event).includes('demo-key'))).toBe(true);
  });

  it('refuses callers without a known API key and serves metrics', async () => {
    const refused = await fetch(`${demo.url}/api/summarize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'wrong' },
      body: JSON.stringify({ thread: 'hello' }),
    });
    expect(refused.status).toBe(401);
    const metrics = await fetch(`${demo.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/tokenmeter_/);
  });

  it('serves spend and metrics to this machine only, never to a request forwarded by a proxy on it', async () => {
    for (const path of ['/metrics', '/usage?groupBy=user', '/dashboard/api/summary']) {
      const forwarded = await fetch(`${demo.url}${path}`, { headers: { 'x-forwarded-for': '203.0.113.5' } });
      expect(forwarded.status).toBeGreaterThanOrEqual(401);
      expect(forwarded.status).toBeLessThanOrEqual(403);
      expect(await forwarded.text()).not.toMatch(/tokenmeter_|"totals"|alice/);
      expect((await fetch(`${demo.url}${path}`)).status).toBe(200);
    }
  });
});

describe('each demo run starts from its own data', () => {
  it('--no-history after a run with history shows no history, and --keep-data keeps it', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-demo-rerun-'));
    const databasePath = join(directory, 'usage.db');
    const requests = async (options: { history: boolean; keepData?: boolean }) => {
      const demo = await startDemo({ port: 0, databasePath, env: {}, ...options });
      try {
        return { seeded: demo.historyEvents, stored: (await demo.store.query({})).totals.requests };
      } finally {
        await demo.close();
      }
    };
    try {
      const first = await requests({ history: true });
      expect(first.seeded).toBeGreaterThan(0);
      expect(first.stored).toBe(first.seeded);
      // The earlier run's history used to stay in the file: --no-history then still showed 20 days.
      expect(await requests({ history: false })).toEqual({ seeded: 0, stored: 0 });
      const seeded = await requests({ history: true });
      expect(await requests({ history: false, keepData: true })).toEqual({ seeded: 0, stored: seeded.stored });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);
});
