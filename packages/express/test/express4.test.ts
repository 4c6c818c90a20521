import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
// Express 4 under another name (devDependency `express4` = npm:express@^4): the peer range covers both majors.
import express4 from 'express4';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meter, wrapOpenAI } from '../src/meter';
import { meteredProxy } from '../src/metered-proxy';
import { createMemoryStore } from '../src/store-memory';
import type { UsageEvent } from '../src/types';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
});

async function listen(app: Express): Promise<{ url: string; close: () => Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('Express 4 compatibility', () => {
  it('runs the metered proxy and the in-app meter with their route patterns', async () => {
    const events: UsageEvent[] = [];
    const store = createMemoryStore();
    const app = express4();
    const proxy = meteredProxy({ upstream: `${upstream.url}/v1`, store, onEvent: (event) => events.push(event) });
    const metering = meter({ store, onEvent: (event) => events.push(event) });
    const client = wrapOpenAI(new OpenAI({ apiKey: 'sk-4', baseURL: `${upstream.url}/v1`, maxRetries: 0 }));
    app.use('/v1', proxy);
    app.use(metering);
    app.get('/rooms/:room', async (_req, res, next) => {
      try {
        const answer = await client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Hi' }],
        });
        res.json({ text: answer.choices[0]?.message.content });
      } catch (error) {
        next(error);
      }
    });
    const server = await listen(app);
    try {
      const viaProxy = await new OpenAI({ apiKey: 'sk-4', baseURL: `${server.url}/v1`, maxRetries: 0 }).chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
        .withResponse();
      expect(viaProxy.response.headers.get('x-tokenmeter-cost')).toBe('0.0000054');
      const inApp = await fetch(`${server.url}/rooms/42`);
      expect(await inApp.json()).toEqual({ text: 'Hello there!' });
      expect(inApp.headers.get('x-tokenmeter-cost')).toBe('0.0000054');
      await proxy.flush();
      await metering.flush();
      expect(events.map((event) => event.route)).toEqual(['/v1/chat/completions', '/rooms/:room']);
    } finally {
      await server.close();
      await proxy.close();
    }
  });
});
