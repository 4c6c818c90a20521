import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import express from 'express';
import fc from 'fast-check';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapAnthropic, wrapOpenAI } from '../src/meter';
import { type MeteredProxy, meteredProxy } from '../src/metered-proxy';
import { createMemoryStore } from '../src/store-memory';
import type { Store, UsageEvent } from '../src/types';
import { type BillingUpstream, pdfBase64, pngDataUrl, startBillingUpstream } from './billing-upstream';

/**
 * The promise behind budgets: what a call reserves is never less than what the provider can bill for it.
 * Generated requests of every shape the proxy meters go through the real SDKs and the proxy to a fake that
 * bills the true count (see billing-upstream.ts); every call's settled amount, in dollars and in tokens, must
 * be at most its reservation, and no event may carry `reservationExceeded`.
 */

// Text of the kinds prompts hold (prose, code, JSON, numbers, hex ids, CJK, emoji) and the densest kind
// there is: random printable and arbitrary Unicode characters.
const PIECES = [
  'The quick brown fox jumps over the lazy dog. ',
  'Summarize the following report in three bullet points.\n',
  'function total(items) { return items.reduce((sum, x) => sum + x.price * x.qty, 0); }\n',
  '{"order_id": 81723, "status": "shipped", "items": [{"sku": "A-19", "qty": 2}]}',
  '3.14159 2.71828 1234567890 0.000001 ',
  'id=5f2b9c1e-8d4a-4e7b-b3c2-9a1f0e6d7c84 ',
  'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 ',
  '価格の計算は正確でなければならない。',
  '모든 요청은 예산 안에 있어야 합니다. ',
  'Ünïcödé façade naïve coöperate — “quotes” ',
  '🚀🎉👩‍💻 ',
  '    if (x > 0 && y < 10) { z += x ** 2; }\n',
  'SELECT name, SUM(cost) FROM usage GROUP BY name HAVING SUM(cost) > 0.001;\n',
  '<div class="card"><span>$0.001/day</span></div>',
];
const text = fc
  .array(
    fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 })),
    {
      minLength: 1,
      maxLength: 12,
    },
  )
  .map((parts) => parts.join(''));
const dims = fc.record({ width: fc.integer({ min: 1, max: 5000 }), height: fc.integer({ min: 1, max: 5000 }) });
const imageUrl = fc
  .tuple(dims, fc.boolean())
  .map(([{ width, height }, inline]) =>
    inline ? pngDataUrl(width, height) : `https://images.example/photo.png?w=${width}&h=${height}`,
  );
const detail = fc.constantFrom(undefined, 'low', 'high', 'auto');
const tier = fc.constantFrom(undefined, 'auto', 'default', 'priority', 'flex');
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const defined = (record: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));

const schema = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.record({ type: fc.constantFrom('string', 'number', 'boolean'), description: maybe(text) }).map(defined),
    fc.record({ type: fc.constant('string'), enum: fc.array(text, { minLength: 1, maxLength: 4 }) }),
    fc
      .record({
        type: fc.constant('object'),
        properties: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), tie('node'), { maxKeys: 4 }),
      })
      .map((value) => value),
    fc.record({ type: fc.constant('array'), items: tie('node') }),
  ),
})).node;
const objectSchema = fc.record({
  type: fc.constant('object'),
  properties: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), schema, { maxKeys: 5 }),
});
const toolName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,30}$/);

const openaiModel = fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-5-mini');

const chatPart = fc.oneof(
  text.map((value) => ({ type: 'text', text: value })),
  fc.tuple(imageUrl, detail).map(([url, level]) => ({ type: 'image_url', image_url: defined({ url, detail: level }) })),
);
const chatMessage = fc.oneof(
  fc.record({ role: fc.constantFrom('system', 'user', 'developer'), content: text }),
  fc.record({ role: fc.constant('user'), content: fc.array(chatPart, { minLength: 1, maxLength: 4 }) }),
  fc.record({ role: fc.constant('user'), name: toolName, content: text }),
  fc.record({
    role: fc.constant('assistant'),
    content: fc.constant(null),
    tool_calls: fc.array(
      fc.record({
        id: fc.constant('call_abc123'),
        type: fc.constant('function'),
        function: fc.record({ name: toolName, arguments: fc.json() }),
      }),
      { minLength: 1, maxLength: 2 },
    ),
  }),
  fc.record({ role: fc.constant('tool'), tool_call_id: fc.constant('call_abc123'), content: text }),
);
const functionTool = fc.record({ name: toolName, description: maybe(text), parameters: objectSchema }).map(defined);

const chatRequest = fc
  .record({
    model: openaiModel,
    messages: fc.array(chatMessage, { minLength: 1, maxLength: 5 }),
    tools: maybe(
      fc.array(
        functionTool.map((fn) => ({ type: 'function', function: fn })),
        { minLength: 1, maxLength: 3 },
      ),
    ),
    response_format: maybe(
      fc.record({
        type: fc.constant('json_schema'),
        json_schema: fc.record({ name: toolName, schema: objectSchema, strict: fc.boolean() }),
      }),
    ),
    n: maybe(fc.integer({ min: 1, max: 4 })),
    max_tokens: maybe(fc.integer({ min: 1, max: 4000 })),
    service_tier: tier,
  })
  .map(defined);

const responsesItem = fc.oneof(
  fc.record({ role: fc.constantFrom('user', 'developer', 'assistant'), content: text }),
  fc.record({
    role: fc.constant('user'),
    content: fc.array(
      fc.oneof(
        text.map((value) => ({ type: 'input_text', text: value })),
        fc
          .tuple(imageUrl, detail)
          .map(([url, level]) => defined({ type: 'input_image', image_url: url, detail: level })),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  }),
  fc.record({
    type: fc.constant('function_call'),
    call_id: fc.constant('call_1'),
    name: toolName,
    arguments: fc.json(),
  }),
  fc.record({ type: fc.constant('function_call_output'), call_id: fc.constant('call_1'), output: text }),
);
const responsesRequest = fc
  .record({
    model: openaiModel,
    instructions: maybe(text),
    input: fc.oneof(text, fc.array(responsesItem, { minLength: 1, maxLength: 5 })),
    tools: maybe(
      fc.array(
        functionTool.map((fn) => ({ type: 'function', strict: false, ...fn })),
        { minLength: 1, maxLength: 3 },
      ),
    ),
    text: maybe(
      fc.record({
        format: fc.record({ type: fc.constant('json_schema'), name: toolName, schema: objectSchema }),
      }),
    ),
    max_output_tokens: maybe(fc.integer({ min: 16, max: 4000 })),
    service_tier: tier,
  })
  .map(defined);

const cacheControl = maybe(fc.constantFrom({ type: 'ephemeral' }, { type: 'ephemeral', ttl: '1h' }));
const claudeImage = fc.tuple(dims, fc.boolean()).map(([{ width, height }, inline]) => ({
  type: 'image',
  source: inline
    ? { type: 'base64', media_type: 'image/png', data: pngDataUrl(width, height).split(',')[1] }
    : { type: 'url', url: `https://images.example/photo.png?w=${width}&h=${height}` },
}));
const claudeBlock = fc.oneof(
  fc.record({ type: fc.constant('text'), text, cache_control: cacheControl }).map(defined),
  claudeImage,
  fc.integer({ min: 1, max: 4 }).map((pages) => ({
    type: 'document',
    source: { type: 'base64', media_type: 'application/pdf', data: pdfBase64(pages) },
  })),
  fc.record({
    type: fc.constant('tool_result'),
    tool_use_id: fc.constant('toolu_01A09q90qw90lq917835lq9'),
    content: fc.oneof(
      text,
      fc.array(
        fc.oneof(
          text.map((value) => ({ type: 'text', text: value })),
          claudeImage,
        ),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
    ),
  }),
);
const claudeMessage = fc.oneof(
  fc.record({ role: fc.constantFrom('user', 'assistant'), content: text }),
  fc.record({ role: fc.constant('user'), content: fc.array(claudeBlock, { minLength: 1, maxLength: 4 }) }),
  fc.record({
    role: fc.constant('assistant'),
    content: fc
      .tuple(text, toolName, fc.dictionary(fc.string({ maxLength: 8 }), text, { maxKeys: 3 }))
      .map(([value, name, input]) => [
        { type: 'text', text: value },
        { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name, input },
      ]),
  }),
);
const messagesRequest = fc
  .record({
    model: fc.constantFrom('claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-3-5-haiku'),
    system: maybe(
      fc.oneof(
        text,
        fc.array(fc.record({ type: fc.constant('text'), text, cache_control: cacheControl }).map(defined), {
          minLength: 1,
          maxLength: 2,
        }),
      ),
    ),
    messages: fc.array(claudeMessage, { minLength: 1, maxLength: 5 }),
    tools: maybe(
      fc.array(
        fc.oneof(
          fc.record({ name: toolName, description: maybe(text), input_schema: objectSchema }).map(defined),
          fc.constant({ type: 'computer_20250124', name: 'computer', display_width_px: 1024, display_height_px: 768 }),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    ),
    max_tokens: fc.integer({ min: 1, max: 8000 }),
    service_tier: maybe(fc.constantFrom('auto', 'standard_only')),
  })
  .map(defined);

interface Ledger {
  reserved: number[][];
  settled: number[][];
}

/** A memory store that remembers every amount reserved and settled, in call order. */
function recordingStore(): { store: Store; ledger: Ledger } {
  const store = createMemoryStore();
  const ledger: Ledger = { reserved: [], settled: [] };
  const reserve = store.reserve.bind(store);
  const settle = store.settle.bind(store);
  store.reserve = (requests, now) => {
    ledger.reserved.push(requests.map((request) => request.amount));
    return reserve(requests, now);
  };
  store.settle = (id, amounts, now) => {
    ledger.settled.push(amounts);
    return settle(id, amounts, now);
  };
  return { store, ledger };
}

describe('a reservation bounds the bill', { timeout: 300_000 }, () => {
  let upstream: BillingUpstream;
  let server: import('node:http').Server;
  let proxy: MeteredProxy;
  let base = '';
  const events: UsageEvent[] = [];
  const warnings: string[] = [];
  let ledger: Ledger;

  beforeAll(async () => {
    upstream = await startBillingUpstream();
    const recording = recordingStore();
    ledger = recording.ledger;
    proxy = meteredProxy({
      upstream: `${upstream.url}/v1`,
      anthropicUpstream: `${upstream.url}/anthropic`,
      store: recording.store,
      // A dollar and a token budget far above any one call: every call is reserved, none refused.
      budgets: [
        { scope: 'global', limit: '1000000', window: 'day' },
        { scope: 'global', limit: { tokens: 1e15 }, window: 'day' },
      ],
      logger: { warn: (message: string) => warnings.push(message) },
      onEvent: (event) => {
        events.push(event);
      },
    });
    const app = express();
    app.use('/v1', proxy);
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await proxy?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await upstream?.close();
  });

  const openai = () => new OpenAI({ apiKey: 'sk-test', baseURL: `${base}/v1`, maxRetries: 0 });
  const anthropic = () => new Anthropic({ apiKey: 'sk-ant-test', baseURL: base, maxRetries: 0 });

  /** Sends one request and checks its settlement against its reservation, dollars and tokens. */
  async function check(send: () => Promise<unknown>): Promise<void> {
    const before = { reserved: ledger.reserved.length, settled: ledger.settled.length, events: events.length };
    await send();
    await proxy.flush();
    for (let wait = 0; ledger.settled.length === before.settled && wait < 100; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(ledger.reserved.length).toBe(before.reserved + 1);
    expect(ledger.settled.length).toBe(before.settled + 1);
    const reserved = ledger.reserved.at(-1) as number[];
    const settled = ledger.settled.at(-1) as number[];
    const bill = upstream.billed.at(-1);
    expect(settled[0], `settled nano-dollars within the reservation for ${JSON.stringify(bill)}`).toBeLessThanOrEqual(
      reserved[0] as number,
    );
    expect(settled[1], `settled tokens within the reservation for ${JSON.stringify(bill)}`).toBeLessThanOrEqual(
      reserved[1] as number,
    );
    // The bill really was what the fake says (not a zero that trivially fits).
    expect(settled[1]).toBe((bill?.input ?? 0) + (bill?.output ?? 0));
    expect(events.at(-1)?.reservationExceeded).toBeUndefined();
  }

  it('Chat Completions: messages, image parts, tool calls, tools, JSON schemas, n and tiers', async () => {
    const client = openai();
    await fc.assert(
      fc.asyncProperty(chatRequest, async (body) => {
        // biome-ignore lint/suspicious/noExplicitAny: generated bodies cover shapes the SDK's types narrow
        await check(() => client.chat.completions.create(body as any));
      }),
      { numRuns: 60 },
    );
  });

  it('Responses: string and item input, images, function calls and outputs, tools, text formats and tiers', async () => {
    const client = openai();
    await fc.assert(
      fc.asyncProperty(responsesRequest, async (body) => {
        // biome-ignore lint/suspicious/noExplicitAny: generated bodies cover shapes the SDK's types narrow
        await check(() => client.responses.create(body as any));
      }),
      { numRuns: 60 },
    );
  });

  it('Anthropic Messages: system blocks, images, PDFs, tool use and array tool results, tools, caching', async () => {
    const client = anthropic();
    await fc.assert(
      fc.asyncProperty(messagesRequest, async (body) => {
        // biome-ignore lint/suspicious/noExplicitAny: generated bodies cover shapes the SDK's types narrow
        await check(() => client.messages.create(body as any));
      }),
      { numRuns: 60 },
    );
  });

  it('in-app (wrapped SDK clients): the same bound, and an over-run flagged on the event', async () => {
    const recording = recordingStore();
    const inApp: UsageEvent[] = [];
    const options = {
      store: recording.store,
      budgets: [
        { scope: 'global' as const, limit: '1000000', window: 'day' as const },
        { scope: 'global' as const, limit: { tokens: 1e15 }, window: 'day' as const },
      ],
      onEvent: (event: UsageEvent) => {
        inApp.push(event);
      },
    };
    const client = wrapOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: `${upstream.url}/v1`, maxRetries: 0 }), options);
    const claude = wrapAnthropic(
      new Anthropic({ apiKey: 'sk-ant-test', baseURL: `${upstream.url}/anthropic`, maxRetries: 0 }),
      options,
    );
    const settledAfter = async (count: number) => {
      for (let wait = 0; (recording.ledger.settled.length < count || inApp.length < count) && wait < 200; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const sends = [
      ...fc.sample(chatRequest, { numRuns: 10, seed: 13 }).map(
        // biome-ignore lint/suspicious/noExplicitAny: generated bodies cover shapes the SDK's types narrow
        (body) => () => client.chat.completions.create(body as any),
      ),
      ...fc.sample(messagesRequest, { numRuns: 10, seed: 17 }).map(
        // biome-ignore lint/suspicious/noExplicitAny: generated bodies cover shapes the SDK's types narrow
        (body) => () => claude.messages.create(body as any),
      ),
    ];
    for (const [index, send] of sends.entries()) {
      await send();
      await settledAfter(index + 1);
      const reserved = recording.ledger.reserved[index] as number[];
      const settled = recording.ledger.settled[index] as number[];
      expect(settled[0]).toBeLessThanOrEqual(reserved[0] as number);
      expect(settled[1]).toBeLessThanOrEqual(reserved[1] as number);
      expect(inApp[index]?.reservationExceeded).toBeUndefined();
    }
    upstream.forceTier = 'priority';
    try {
      await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'Hello' }],
        max_tokens: 50,
      });
      await settledAfter(sends.length + 1);
      expect(inApp.at(-1)?.reservationExceeded).toBe(true);
    } finally {
      upstream.forceTier = undefined;
    }
  });

  it('flags a call the provider billed above its reservation, and warns', async () => {
    // A project whose default tier is priority bills priority for a request that asked for none.
    upstream.forceTier = 'priority';
    try {
      await openai().chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Hello' }],
        max_tokens: 50,
      });
      await proxy.flush();
      expect(events.at(-1)?.reservationExceeded).toBe(true);
      expect(warnings.some((message) => message.includes('cost more than its budget reservation'))).toBe(true);
    } finally {
      upstream.forceTier = undefined;
    }
  });
});
