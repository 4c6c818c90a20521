import { describe, expect, it } from 'vitest';
import { EventSink } from './meter-config';
import { createMemoryStore } from './store-memory';
import type { Store, UsageEvent } from './types';

function event(id: string): UsageEvent {
  return {
    id,
    timestamp: Date.now(),
    requestId: `request-${id}`,
    route: '/v1/chat/completions',
    provider: 'openai',
    model: 'gpt-4o-mini',
    operation: 'chat',
    inputTokens: 10,
    cachedInputTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 5,
    reasoningTokens: 0,
    priced: false,
    estimated: false,
    status: 200,
    durationMs: 3,
    streamed: false,
  };
}

/** A store that only records events, through the given write. */
function storeWith(recordEvents: Store['recordEvents']): Store {
  return { ...createMemoryStore(), name: 'test', recordEvents };
}

function sinkFor(store: Store) {
  const warnings: string[] = [];
  const observed: string[] = [];
  const sink = new EventSink(store, [(recorded) => observed.push(recorded.id)], (code) => warnings.push(code));
  return { sink, warnings, observed };
}

describe('EventSink', () => {
  it('hands the events of one tick to the store in one batch, after the response path', async () => {
    const batches: string[][] = [];
    const { sink, observed } = sinkFor(storeWith((events) => void batches.push(events.map((each) => each.id))));
    sink.record(event('a'));
    sink.record(event('b'));
    expect(batches).toEqual([]);
    await sink.flush();
    expect(batches).toEqual([['a', 'b']]);
    expect(observed).toEqual(['a', 'b']);
  });

  it('reports every synchronous store failure (warnOnce keeps one), still tells the observers, and keeps recording', async () => {
    let fail = true;
    const kept: string[] = [];
    const { sink, warnings, observed } = sinkFor(
      storeWith((events) => {
        if (fail) throw new Error('disk full');
        kept.push(...events.map((each) => each.id));
      }),
    );
    sink.record(event('a'));
    await sink.flush();
    sink.record(event('b'));
    await sink.flush();
    expect(warnings).toEqual(['STORE_WRITE_FAILED', 'STORE_WRITE_FAILED']);
    expect(observed).toEqual(['a', 'b']);
    fail = false;
    sink.record(event('c'));
    await sink.flush();
    expect(kept).toEqual(['c']);
  });

  it('waits in flush() for an asynchronous write, a native promise or any thenable', async () => {
    const kept: string[] = [];
    const promiseStore = sinkFor(
      storeWith(
        (events) =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              kept.push(...events.map((each) => each.id));
              resolve();
            }, 20),
          ),
      ),
    );
    promiseStore.sink.record(event('a'));
    await promiseStore.sink.flush();
    expect(kept).toEqual(['a']);

    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: a store may return any thenable, not only a native promise
      then(resolve: () => void) {
        setTimeout(() => {
          kept.push('b');
          resolve();
        }, 20);
      },
    };
    const thenableStore = sinkFor(storeWith(() => thenable as unknown as Promise<void>));
    thenableStore.sink.record(event('b'));
    await thenableStore.sink.flush();
    expect(kept).toEqual(['a', 'b']);
  });

  it('reports a rejected asynchronous write and never leaves it unhandled', async () => {
    const { sink, warnings } = sinkFor(storeWith(() => Promise.reject(new Error('connection refused'))));
    sink.record(event('a'));
    await sink.flush();
    expect(warnings).toEqual(['STORE_WRITE_FAILED']);
  });
});
