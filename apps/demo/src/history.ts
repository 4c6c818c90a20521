import { computeCost } from '@tokenmeter/core';
import type { Store, UsageEvent } from '@tokenmeter/express';
import type { DemoModels } from './app';
import { DEMO_USERS } from './users';

/**
 * Simulated history: the previous `days` days of a support assistant in production (a few hundred requests
 * a day, growing, one spike day), written as ordinary usage events so the dashboard's daily chart and the
 * planner's p50/p95 projection have a month-like series to work with. Event ids are derived from the date,
 * so seeding twice records nothing new. Costs come from the same catalog as live traffic.
 */
export async function seedHistory(
  store: Store,
  models: DemoModels,
  options: { days?: number; now?: number } = {},
): Promise<number> {
  const days = options.days ?? 20;
  const now = options.now ?? Date.now();
  const today = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate());
  const users = [
    ...DEMO_USERS.map((user) => user.name),
    ...Array.from({ length: 19 }, (_, index) => `agent-${String(index + 6).padStart(2, '0')}`),
  ];
  let recorded = 0;
  for (let back = days; back >= 1; back--) {
    const dayStart = today - back * 86_400_000;
    const date = new Date(dayStart).toISOString().slice(0, 10);
    const random = seededRandom(date);
    const weekday = new Date(dayStart).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    const growth = 1 + (days - back) * 0.02;
    const spike = back === Math.ceil(days / 3) ? 2.6 : 1;
    const requests = Math.round((weekend ? 120 : 300) * growth * spike * (0.9 + 0.2 * random()));
    const events: UsageEvent[] = [];
    for (let index = 0; index < requests; index++) {
      const pick = random();
      const kind = pick < 0.6 ? 'chat' : pick < 0.85 ? 'summarize' : 'code';
      const model = kind === 'chat' ? models.chat : kind === 'summarize' ? models.summarize : models.codeHelper;
      const prompt =
        kind === 'chat'
          ? 420 + Math.floor(random() * 900)
          : kind === 'summarize'
            ? 700 + Math.floor(random() * 2600)
            : 480 + Math.floor(random() * 500);
      const cached = kind === 'chat' && random() < 0.55 ? Math.floor((prompt * 0.6) / 128) * 128 : 0;
      const output =
        kind === 'chat'
          ? 90 + Math.floor(random() * 160)
          : kind === 'summarize'
            ? 110 + Math.floor(random() * 60)
            : 180 + Math.floor(random() * 220);
      const reasoning = kind === 'code' ? 2 * output + 64 : 0;
      const buckets = {
        inputTokens: prompt - cached,
        cachedInputTokens: cached,
        cacheWrite5mTokens: 0,
        cacheWrite1hTokens: 0,
        outputTokens: output,
        reasoningTokens: reasoning,
      };
      const cost = computeCost(buckets, model, { at: new Date(dayStart) });
      const timestamp = dayStart + Math.floor((7 + random() * 12) * 3_600_000);
      const id = `history-${date}-${index}`;
      events.push({
        id,
        timestamp,
        requestId: id,
        route: kind === 'chat' ? '/api/chat' : kind === 'summarize' ? '/api/summarize' : '/api/code-helper',
        user: users[Math.floor(random() ** 1.6 * users.length)] ?? 'alice',
        provider: cost.provider ?? 'openai',
        model: cost.model,
        operation: 'chat',
        ...buckets,
        ...(cost.priced && cost.total ? { cost: cost.total.toString() } : {}),
        priced: cost.priced,
        estimated: false,
        status: 200,
        durationMs: 400 + Math.floor(random() * 2400),
        streamed: kind === 'chat',
      });
    }
    await store.recordEvents(events);
    recorded += events.length;
  }
  return recorded;
}

/** A small deterministic generator (mulberry32) seeded by a string: the same day always looks the same. */
function seededRandom(seed: string): () => number {
  let state = 0;
  for (let index = 0; index < seed.length; index++) state = Math.imul(state ^ seed.charCodeAt(index), 2654435761);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
