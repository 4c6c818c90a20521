import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from './store-memory';
import { usageEvent } from './store-test-support';
import type { Store } from './types';
import { usageRouter } from './usage-router';

function appWith(store: Store, authorize?: (req: express.Request) => boolean | Promise<boolean>) {
  const app = express();
  app.use('/tokenmeter', usageRouter({ store, authorize }));
  return app;
}

function seededStore() {
  const store = createMemoryStore({ now: () => Date.parse('2026-03-31T00:00:00Z') });
  store.recordEvents([
    usageEvent({ timestamp: Date.parse('2026-03-10T08:00:00Z'), user: 'alice', cost: '0.00045' }),
    usageEvent({
      timestamp: Date.parse('2026-03-10T23:30:00Z'),
      user: 'bob',
      model: 'gpt-4o',
      inputTokens: 1000,
      cachedInputTokens: 1000,
      outputTokens: 100,
      // gpt-4o: $2.50 input, $1.25 cached input, $10 output per million:
      // 1000 × 2.5 + 1000 × 1.25 + 100 × 10 = 4750 µ$ = $0.00475.
      cost: '0.00475',
    }),
    usageEvent({ timestamp: Date.parse('2026-03-12T12:00:00Z'), user: 'alice', cost: '0.00045' }),
  ]);
  return store;
}

const allow = () => true;

describe('usageRouter', () => {
  it('answers a usage report grouped by user for a date range', async () => {
    const response = await request(appWith(seededStore(), allow))
      .get('/tokenmeter/usage?from=2026-03-10&to=2026-03-12&groupBy=user')
      .expect(200);
    // $0.00045 × 2 + $0.00475 = $0.00565
    expect(response.body.totals).toMatchObject({ requests: 3, cost: '0.00565' });
    expect(response.body.groups.map((group: { key: string; cost: string }) => [group.key, group.cost])).toEqual([
      ['bob', '0.00475'],
      ['alice', '0.0009'],
    ]);
  });

  it('resolves dates in the time zone and filters', async () => {
    // In Berlin (UTC+1) 23:30 UTC on the 10th is already the 11th: to=2026-03-10 excludes it.
    const response = await request(appWith(seededStore(), allow))
      .get('/tokenmeter/usage?from=2026-03-10&to=2026-03-10&timeZone=Europe/Berlin&groupBy=day&user=alice')
      .expect(200);
    expect(response.body.groups).toEqual([
      expect.objectContaining({ key: '2026-03-10', requests: 1, cost: '0.00045' }),
    ]);
  });

  it('exports the daily series as JSON and CSV with zero days filled', async () => {
    const app = appWith(seededStore(), allow);
    const json = await request(app).get('/tokenmeter/usage/daily?from=2026-03-01&to=2026-03-31').expect(200);
    expect(json.body).toEqual([
      { date: '2026-03-10', requests: 2, inputTokens: 3000, outputTokens: 600, cost: '0.0052' },
      { date: '2026-03-11', requests: 0, inputTokens: 0, outputTokens: 0, cost: '0' },
      { date: '2026-03-12', requests: 1, inputTokens: 1000, outputTokens: 500, cost: '0.00045' },
    ]);
    const csv = await request(app).get('/tokenmeter/usage/daily?format=csv').expect(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.text).toBe(
      'date,requests,inputTokens,outputTokens,cost\n2026-03-10,2,3000,600,0.0052\n2026-03-11,0,0,0,0\n2026-03-12,1,1000,500,0.00045\n',
    );
  });

  it('answers 400 on bad parameters', async () => {
    const app = appWith(seededStore(), allow);
    for (const query of [
      'from=yesterday',
      'from=2026-02-30',
      'groupBy=password',
      'timeZone=Nowhere/City',
      'from=2026-03-12&to=2026-03-10',
      'user=a&user=b',
    ]) {
      const response = await request(app).get(`/tokenmeter/usage?${query}`).expect(400);
      expect(response.body.error.code).toBe('INVALID_USAGE_QUERY');
    }
    await request(app).get('/tokenmeter/usage/daily?format=xml').expect(400);
  });

  it('answers 401 without credentials and 403 with refused ones', async () => {
    const app = appWith(seededStore(), (req) => req.headers.authorization === 'Bearer admin');
    await request(app).get('/tokenmeter/usage').expect(401);
    await request(app).get('/tokenmeter/usage').set('Authorization', 'Bearer guest').expect(403);
    await request(app).get('/tokenmeter/usage').set('Authorization', 'Bearer admin').expect(200);
    const throwing = appWith(seededStore(), () => {
      throw new Error('auth service down');
    });
    await request(throwing).get('/tokenmeter/usage').expect(401);
  });

  it('guards only its own paths when mounted at the root of an app', async () => {
    const app = express();
    app.use(usageRouter({ store: seededStore(), authorize: () => false }));
    app.get('/health', (_req, res) => {
      res.send('ok');
    });
    await request(app).get('/usage').expect(401);
    await request(app).get('/usage/daily').expect(401);
    await request(app).get('/health').expect(200, 'ok');
  });

  it('allows loopback callers only by default', async () => {
    // supertest connects over 127.0.0.1.
    await request(appWith(seededStore())).get('/tokenmeter/usage').expect(200);
  });

  it('never counts a forwarded request as local, even when the forwarder connects from loopback', async () => {
    // nginx `proxy_pass` on the same host: the socket is 127.0.0.1, the caller is anyone.
    const app = appWith(seededStore());
    await request(app).get('/tokenmeter/usage').set('X-Forwarded-For', '203.0.113.7').expect(401);
    await request(app).get('/tokenmeter/usage').set('X-Real-IP', '203.0.113.7').expect(401);
    await request(app).get('/tokenmeter/usage').set('Forwarded', 'for=203.0.113.7').expect(401);
    await request(app).get('/tokenmeter/usage/daily').set('X-Forwarded-For', '127.0.0.1').expect(401);
  });

  it('answers 503 when the store is unavailable', async () => {
    const { withFailurePolicy } = await import('./store-failure-policy');
    const broken = createMemoryStore();
    broken.query = () => {
      throw new Error('connection refused');
    };
    const store = withFailurePolicy(broken, { logger: { warn() {} } });
    const response = await request(appWith(store, allow)).get('/tokenmeter/usage').expect(503);
    expect(response.body.error.code).toBe('STORE_UNAVAILABLE');
  });
});
