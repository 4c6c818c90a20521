import { computeCost, normalizeUsage, PriceCatalog } from '@tokenmeter/core';
import { AiCall, usageFromResponse } from '../src/ai-call';
import { parseMeterOptions } from '../src/meter-config';
import { buildUsageEvent, usageHeaders } from '../src/usage-event';
const catalog = PriceCatalog.default();
const body = { id: 'x', object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25, prompt_tokens_details: { cached_tokens: 8 } } };
const config = parseMeterOptions({});
const call = new AiCall('chat', { model: 'gpt-4o-mini', messages: [] });
function time(name: string, fn: () => unknown, n = 20000) {
  for (let i = 0; i < 2000; i++) fn();
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  console.log(name, (((performance.now() - t) * 1000) / n).toFixed(2), 'µs');
}
const resolved = catalog.tryResolve('gpt-4o-mini')!;
const usage = normalizeUsage(body, 'openai-chat');
time('tryResolve', () => catalog.tryResolve('gpt-4o-mini-2024-07-18'));
time('normalizeUsage', () => normalizeUsage(body, 'openai-chat'));
time('computeCost resolved', () => computeCost(usage, resolved, { catalog }));
time('usageFromResponse', () => usageFromResponse(call, body));
time('buildUsageEvent', () => buildUsageEvent(config, { call, requestId: 'r', route: '/v1/chat/completions', identity: undefined, usage, status: 200, streamed: false, durationMs: 3 }));
const { event } = buildUsageEvent(config, { call, requestId: 'r', route: '/v1/chat/completions', identity: undefined, usage, status: 200, streamed: false, durationMs: 3 });
time('usageHeaders', () => usageHeaders(event));
time('JSON.parse body', () => JSON.parse(JSON.stringify(body)));
