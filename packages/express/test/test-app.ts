import type { AddressInfo } from 'node:net';
import express from 'express';
import type { MeteredProxyOptions } from '../src/meter-options';
import { type MeteredProxy, meteredProxy } from '../src/metered-proxy';
import { createMemoryStore } from '../src/store-memory';
import type { Store, UsageEvent } from '../src/types';
import type { FakeUpstream } from './fake-upstream';

export interface ProxyApp {
  url: string;
  proxy: MeteredProxy;
  store: Store;
  events: UsageEvent[];
  /** Waits until `count` events were recorded (events of aborted calls arrive when the server notices). */
  eventsAfter(count: number): Promise<UsageEvent[]>;
  close(): Promise<void>;
}

/** A real Express 5 app with the metered proxy at /v1, in front of the fake upstream. */
export async function startProxyApp(upstream: FakeUpstream, options: MeteredProxyOptions = {}): Promise<ProxyApp> {
  const events: UsageEvent[] = [];
  const store = options.store ?? createMemoryStore();
  const proxy = meteredProxy({
    upstream: `${upstream.url}/v1`,
    anthropicUpstream: upstream.url,
    identify: (req) => {
      const user = req.get('x-user');
      return user === undefined ? undefined : { user };
    },
    ...options,
    store,
    onEvent: (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  });
  const app = express();
  app.use('/v1', proxy);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    proxy,
    store,
    events,
    eventsAfter: async (count) => {
      for (let attempt = 0; attempt < 400 && events.length < count; attempt += 1) {
        await proxy.flush();
        if (events.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return events;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await proxy.close();
    },
  };
}
