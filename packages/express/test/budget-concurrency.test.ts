import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../src/store-redis';
import { type BillingUpstream, pdfBase64, pngDataUrl, startBillingUpstream } from './billing-upstream';
import { deleteKeys } from './faults/redis-keys';
import { spawnTypeScript } from './spawn-typescript';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const INSTANCES = 4;
const REQUESTS = 200;
// About 120 of the 200 requests' worth (each costs $0.002–0.012).
const BUDGET_USD = '1';
const BUDGET_NANO = 1_000_000_000;
const DAY_UTC = { kind: 'calendar', period: 'day', timeZone: 'UTC' } as const;
const fixture = resolve(import.meta.dirname, 'budget-bound-instance.ts');

interface Instance {
  url: string;
  overruns: string[];
  child: ChildProcess;
}

function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawnTypeScript(fixture, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const overruns: string[] = [];
  let buffered = '';
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error('the instance did not start in 60 s')), 60_000);
    child.once('error', fail);
    child.stdout?.on('data', (data: Buffer) => {
      buffered += data.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('overrun ')) overruns.push(line.slice(8));
        const port = /^port (\d+)$/.exec(line)?.[1];
        if (port) {
          clearTimeout(timer);
          done({ url: `http://127.0.0.1:${port}`, overruns, child });
        }
      }
    });
  });
}

function stop(instance: Instance): Promise<void> {
  return new Promise((stopped) => {
    if (instance.child.exitCode !== null || instance.child.signalCode !== null) return stopped();
    instance.child.once('exit', () => stopped());
    instance.child.kill('SIGTERM');
    setTimeout(() => instance.child.kill('SIGKILL'), 10_000).unref();
  });
}

const PROSE =
  'Tokenmeter meters what AI API calls cost, exactly, and refuses a call before it can overspend a budget. ';
const CODE = 'const total = items.reduce((sum, item) => sum + item.price * item.qty, 0); // 价格 ✓\n';

/**
 * Request shapes the attacker used, each under 1.3 % of the budget: Chat Completions on the
 * priority tier with an image, n = 2 and a JSON schema; Responses with items and a tool; Claude with a cached
 * system prompt, tools and an agent-loop tool result holding an image; Claude reading a PDF.
 */
function request(index: number): { path: string; body: unknown } {
  const words = PROSE.repeat(2 + (index % 5));
  switch (index % 4) {
    case 0:
      return {
        path: '/v1/chat/completions',
        body: {
          model: 'gpt-4o',
          service_tier: 'priority',
          n: 2,
          max_tokens: 150,
          messages: [
            { role: 'system', content: `Answer in JSON. ${words}` },
            {
              role: 'user',
              content: [
                { type: 'text', text: `Describe image ${index}. ${CODE}` },
                { type: 'image_url', image_url: { url: pngDataUrl(1024, 700 + index), detail: 'high' } },
              ],
            },
          ],
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: 'description',
              schema: {
                type: 'object',
                properties: { summary: { type: 'string' }, objects: { type: 'array', items: { type: 'string' } } },
              },
            },
          },
        },
      };
    case 1:
      return {
        path: '/v1/responses',
        body: {
          model: 'gpt-4o',
          instructions: words,
          max_output_tokens: 400,
          input: [
            { role: 'user', content: `Request ${index}: ${CODE}` },
            { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{"sku":"A-19"}' },
            { type: 'function_call_output', call_id: 'call_1', output: words },
          ],
          tools: [
            {
              type: 'function',
              name: 'lookup',
              description: 'Looks a product up.',
              parameters: { type: 'object', properties: { sku: { type: 'string' } } },
            },
          ],
        },
      };
    case 2:
      return {
        path: '/v1/messages',
        body: {
          model: 'claude-sonnet-4-5',
          max_tokens: 300,
          system: [{ type: 'text', text: words, cache_control: { type: 'ephemeral' } }],
          tools: [
            {
              name: 'screenshot',
              description: 'Takes a screenshot.',
              input_schema: { type: 'object', properties: { region: { type: 'string' } } },
            },
          ],
          messages: [
            { role: 'user', content: `Step ${index}: what is on screen?` },
            {
              role: 'assistant',
              content: [{ type: 'tool_use', id: 'toolu_01', name: 'screenshot', input: { region: 'all' } }],
            },
            {
              role: 'user',
              content: [
                {
                  type: 'tool_result',
                  tool_use_id: 'toolu_01',
                  content: [
                    { type: 'text', text: CODE },
                    {
                      type: 'image',
                      source: { type: 'base64', media_type: 'image/png', data: pngDataUrl(800, 600).split(',')[1] },
                    },
                  ],
                },
              ],
            },
          ],
        },
      };
    default:
      return {
        path: '/v1/messages',
        body: {
          model: 'claude-haiku-4-5',
          max_tokens: 100,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdfBase64(2) } },
                { type: 'text', text: `Summarize document ${index}.` },
              ],
            },
          ],
        },
      };
  }
}

async function send(instance: Instance, index: number): Promise<number> {
  const { path, body } = request(index);
  const response = await fetch(`${instance.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-user': 'attacker',
      ...(path === '/v1/messages' ? { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-ant-test' } : {}),
    },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('four proxy processes sharing one Redis budget, 200 concurrent requests', { timeout: 240_000 }, () => {
  const prefix = `tokenmeter-bound-${randomBytes(6).toString('hex')}:`;
  let upstream: BillingUpstream;
  let instances: Instance[] = [];

  beforeAll(async () => {
    upstream = await startBillingUpstream();
    instances = await Promise.all(
      Array.from({ length: INSTANCES }, () =>
        startInstance({ TM_UPSTREAM: upstream.url, TM_PREFIX: prefix, TM_BUDGET_USD: BUDGET_USD, REDIS_URL }),
      ),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map(stop));
    await upstream?.close();
    await deleteKeys(REDIS_URL, prefix);
  }, 60_000);

  it('spends at most the budget, and at least 95 % of it is usable', async () => {
    // Wave after wave: all 200 at once, then every refused request again, until a wave serves none (what is
    // left of the budget is then below every remaining request's reservation).
    let pending = Array.from({ length: REQUESTS }, (_, index) => index);
    let served = 0;
    const statuses: number[] = [];
    for (let wave = 0; pending.length > 0 && wave < 50; wave++) {
      const results = await Promise.all(
        pending.map(async (index) => ({ index, status: await send(instances[index % INSTANCES] as Instance, index) })),
      );
      statuses.push(...results.map((result) => result.status));
      const ok = results.filter((result) => result.status === 200).length;
      served += ok;
      // 429: refused by the budget; 503: the store was busy (fail-closed), which a client retries.
      pending = results
        .filter((result) => result.status === 429 || result.status === 503)
        .map((result) => result.index);
      if (ok === 0) break;
    }
    expect(statuses.filter((status) => status !== 200 && status !== 429 && status !== 503)).toEqual([]);
    // The first wave alone would have spent the budget many times over.
    expect(served).toBeLessThan(REQUESTS);
    expect(upstream.billed.length).toBe(served);

    const reader = createRedisStore({ url: REDIS_URL, prefix });
    const used = await reader.budgetUsage('user:attacker:usd:day', DAY_UTC, Date.now());
    await reader.close();
    expect(instances.flatMap((instance) => instance.overruns)).toEqual([]);
    expect(used).toBeLessThanOrEqual(BUDGET_NANO);
    expect(used / BUDGET_NANO).toBeGreaterThanOrEqual(0.95);
  });
});
