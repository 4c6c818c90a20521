import {
  AggregationTemporality,
  type HistogramMetricData,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createMetrics, OPERATION_DURATION_BUCKETS, TOKEN_USAGE_BUCKETS } from './metrics';
import { usageEvent } from './store-test-support';

describe('createMetrics (Prometheus)', () => {
  it('counts tokens by bucket, cost, requests and duration with low-cardinality labels only', async () => {
    const metrics = createMetrics();
    metrics.observe(
      usageEvent({ user: 'alice@example.com', cachedInputTokens: 200, reasoningTokens: 30, durationMs: 1500 }),
    );
    metrics.observe(usageEvent({ user: 'bob', cost: '0.00055', durationMs: 300 }));
    metrics.observe(usageEvent({ status: 429, rejected: true, inputTokens: 0, outputTokens: 0 }), {
      budgetScope: 'user',
    });
    const text = await metrics.registry.metrics();
    const labels = 'model="gpt-4o-mini",provider="openai",route="/chat"';
    expect(text).toContain(`tokenmeter_tokens_total{${labels},type="input"} 2000`);
    expect(text).toContain(`tokenmeter_tokens_total{${labels},type="cache_read"} 200`);
    expect(text).toContain(`tokenmeter_tokens_total{${labels},type="output"} 1000`);
    expect(text).toContain(`tokenmeter_tokens_total{${labels},type="reasoning"} 30`);
    // $0.00045 + $0.00055 = $0.001
    expect(text).toContain(`tokenmeter_cost_usd_total{${labels}} 0.001`);
    expect(text).toContain(`tokenmeter_requests_total{${labels},status="200"} 2`);
    expect(text).toContain(`tokenmeter_requests_total{${labels},status="429"} 1`);
    expect(text).toContain('tokenmeter_budget_rejections_total{scope="user"} 1');
    // 0.3 s falls in the 0.32 bucket, 1.5 s in the 2.56 bucket (0.01 × 2^n).
    expect(text).toContain(`tokenmeter_request_duration_seconds_bucket{le="0.16",${labels}} 0`);
    expect(text).toContain(`tokenmeter_request_duration_seconds_bucket{le="0.32",${labels}} 1`);
    expect(text).toContain(`tokenmeter_request_duration_seconds_bucket{le="2.56",${labels}} 2`);
    expect(text).toContain(`tokenmeter_request_duration_seconds_sum{${labels}} 1.8`);
    expect(text).not.toMatch(/alice|bob/);
  });

  it('counts calls to unpriced models by policy, never priced ones, with the model label bounded', async () => {
    const metrics = createMetrics({ maxLabelValues: 3 });
    const unknown = { provider: 'unknown', cost: undefined, priced: false };
    metrics.observe(usageEvent({ ...unknown, model: 'new-model' }));
    metrics.observe(usageEvent({ ...unknown, model: 'new-model', unpricedPolicy: 'allow' }));
    metrics.observe(
      usageEvent({ ...unknown, model: 'new-model', unpricedPolicy: 'refuse', rejected: true, status: 403 }),
      { budgetScope: 'user' },
    );
    metrics.observe(
      usageEvent({ provider: 'unknown', model: 'new-model', unpricedPolicy: 'price_as', pricedAs: 'gpt-4o' }),
    );
    metrics.observe(usageEvent());
    for (const model of ['x-1', 'x-2', 'x-3', 'x-4']) metrics.observe(usageEvent({ ...unknown, model }));
    const text = await metrics.registry.metrics();
    expect(text).toContain('tokenmeter_unpriced_calls_total{model="new-model",policy="none"} 1');
    expect(text).toContain('tokenmeter_unpriced_calls_total{model="new-model",policy="allow"} 1');
    expect(text).toContain('tokenmeter_unpriced_calls_total{model="new-model",policy="refuse"} 1');
    expect(text).toContain('tokenmeter_unpriced_calls_total{model="new-model",policy="price_as"} 1');
    expect(text).not.toContain('tokenmeter_unpriced_calls_total{model="gpt-4o-mini"');
    // new-model, gpt-4o-mini and x-1 fill the 3 model values: x-2 … x-4 are "other".
    expect(text).toContain('tokenmeter_unpriced_calls_total{model="x-1",policy="none"} 1');
    expect(text).toContain('tokenmeter_unpriced_calls_total{model="other",policy="none"} 3');
  });

  it('reports new label values beyond the bound as "other"', async () => {
    const metrics = createMetrics({ maxLabelValues: 2, prefix: 'app_' });
    for (const model of ['a', 'b', 'c', 'd']) metrics.observe(usageEvent({ model }));
    const text = await metrics.registry.metrics();
    expect(text).toContain('app_requests_total{model="a"');
    expect(text).toContain('app_requests_total{model="other",provider="openai",route="/chat",status="200"} 2');
    expect(text).not.toContain('model="c"');
  });

  it('uses the registry it is given and serves it at GET /metrics', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    metrics.observe(usageEvent());
    const app = express();
    app.get('/metrics', metrics.metricsHandler());
    const response = await request(app).get('/metrics').expect(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.text).toContain('tokenmeter_requests_total');
    expect(await registry.metrics()).toContain('tokenmeter_requests_total');
  });
});

describe('createMetrics (OpenTelemetry)', () => {
  it('records the GenAI semantic-convention instruments with their buckets and attributes', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const metrics = createMetrics({ meterProvider });
    metrics.observe(
      usageEvent({
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        operation: 'messages',
        inputTokens: 2000,
        cachedInputTokens: 10_000,
        cacheWrite5mTokens: 300,
        outputTokens: 100,
        reasoningTokens: 50,
        cost: '0.012375',
        durationMs: 2500,
      }),
    );
    metrics.observe(usageEvent({ status: 502, error: 'upstream_error', durationMs: 40 }));
    await reader.forceFlush();
    const data = exporter.getMetrics().at(-1)!.scopeMetrics[0]!.metrics;
    const byName = new Map(data.map((metric) => [metric.descriptor.name, metric]));

    const tokens = byName.get('gen_ai.client.token.usage') as HistogramMetricData;
    expect(tokens.descriptor.unit).toBe('{token}');
    expect(TOKEN_USAGE_BUCKETS.at(-1)).toBe(67_108_864);
    const claudeInput = tokens.dataPoints.find(
      (point) =>
        point.attributes['gen_ai.token.type'] === 'input' && point.attributes['gen_ai.provider.name'] === 'anthropic',
    )!;
    expect(claudeInput.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.token.type': 'input',
    });
    // Input per the conventions includes cache reads and writes: 2000 + 10000 + 300.
    expect(claudeInput.value.sum).toBe(12_300);
    expect(claudeInput.value.buckets.boundaries).toEqual(TOKEN_USAGE_BUCKETS);
    const claudeOutput = tokens.dataPoints.find(
      (point) =>
        point.attributes['gen_ai.token.type'] === 'output' && point.attributes['gen_ai.provider.name'] === 'anthropic',
    )!;
    expect(claudeOutput.value.sum).toBe(150);

    const duration = byName.get('gen_ai.client.operation.duration') as HistogramMetricData;
    expect(duration.descriptor.unit).toBe('s');
    expect(duration.dataPoints[0]!.value.buckets.boundaries).toEqual(OPERATION_DURATION_BUCKETS);
    expect(OPERATION_DURATION_BUCKETS.at(-1)).toBe(81.92);
    const failed = duration.dataPoints.find((point) => point.attributes['error.type'] === 'upstream_error');
    expect(failed?.value.sum).toBe(0.04);

    const cost = byName.get('tokenmeter.cost')!;
    expect(cost.descriptor.unit).toBe('USD');
    const costs = cost.dataPoints.map((point) => point.value as number).sort();
    expect(costs).toEqual([0.00045, 0.012375]);
    await meterProvider.shutdown();
  });
});
