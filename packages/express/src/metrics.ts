import type { Attributes, MeterProvider, Counter as OtelCounter, Histogram as OtelHistogram } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { Counter, Histogram, Registry } from './peer-prom-client';
import type { UsageEvent } from './types';

export interface MetricsOptions {
  /** prom-client registry to register on. Default: a new registry (not the global one). */
  registry?: Registry;
  /** When given, the GenAI semantic-convention instruments are recorded on it too. */
  meterProvider?: MeterProvider;
  /** Prefix of the Prometheus metric names. Default `tokenmeter_`. */
  prefix?: string;
  /**
   * Distinct values kept per label (model, route, provider, scope, status); later new values are reported
   * as `other`, so a stream of made-up model names cannot blow up the series count. Default 200.
   */
  maxLabelValues?: number;
}

export interface Metrics {
  readonly registry: Registry;
  /**
   * Records one usage event. For a budget rejection (`event.rejected`), `budgetScope` names the kind of
   * budget that refused it (`user`, `tenant`, `route`, `global`) for `tokenmeter_budget_rejections_total`.
   */
  observe(event: UsageEvent, details?: { budgetScope?: string }): void;
  /** Counts a proxy request to an endpoint it could not meter, for `tokenmeter_unmetered_requests_total`. */
  observeUnmetered(endpoint: string, outcome: 'forwarded' | 'refused'): void;
  /**
   * Counts one event whose model, user, tenant, feature or route the store folded into `(other)` (the Redis
   * store's `maxDistinctValuesPerDay`), in `tokenmeter_store_folded_values_total{dimension}`.
   */
  observeFold(dimension: string): void;
  /** An Express handler for `GET /metrics` in the Prometheus text format. */
  metricsHandler(): RequestHandler;
}

/** `gen_ai.client.token.usage` buckets: powers of 4 from 1 to 67,108,864 (OpenTelemetry GenAI semconv). */
export const TOKEN_USAGE_BUCKETS = Array.from({ length: 14 }, (_, index) => 4 ** index);
/** `gen_ai.client.operation.duration` buckets: 0.01 s doubling to 81.92 s (OpenTelemetry GenAI semconv). */
export const OPERATION_DURATION_BUCKETS = Array.from({ length: 14 }, (_, index) => (0.01 * 2 ** index).toFixed(2)).map(
  Number,
);

/** tokenmeter operation → `gen_ai.operation.name`. */
const OPERATION_NAMES: Record<string, string> = {
  chat: 'chat',
  messages: 'chat',
  responses: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
};

/** tokenmeter provider → `gen_ai.provider.name` where the names differ. */
const PROVIDER_NAMES: Record<string, string> = {
  bedrock: 'aws.bedrock',
  'aws-bedrock': 'aws.bedrock',
  azure: 'azure.ai.openai',
  'azure-openai': 'azure.ai.openai',
  vertex: 'gcp.vertex_ai',
  'vertex-ai': 'gcp.vertex_ai',
  gemini: 'gcp.gemini',
  google: 'gcp.gemini',
  mistral: 'mistral_ai',
  xai: 'x_ai',
};

/** Keeps a label's distinct values bounded. */
class LabelBound {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly limit: number) {}

  value(label: string, value: string | undefined): string {
    const text = value === undefined || value === '' ? 'unknown' : value;
    let values = this.seen.get(label);
    if (!values) {
      values = new Set();
      this.seen.set(label, values);
    }
    if (values.has(text)) return text;
    if (values.size >= this.limit) return 'other';
    values.add(text);
    return text;
  }
}

/**
 * Prometheus metrics (prom-client) and, when a meter provider is given, OpenTelemetry GenAI metrics, fed
 * from usage events. Labels are low-cardinality by construction: model, provider, route pattern, status;
 * never a user, tenant or request id. Cost is a float in dollars here, good for dashboards only; the exact
 * cost lives in the store.
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? new Registry();
  const prefix = options.prefix ?? 'tokenmeter_';
  const labels = new LabelBound(options.maxLabelValues ?? 200);

  const tokens = new Counter({
    name: `${prefix}tokens_total`,
    help: 'AI tokens metered, by billing bucket (input = uncached input, cache_read, cache_write, output, reasoning).',
    labelNames: ['type', 'model', 'provider', 'route'] as const,
    registers: [registry],
  });
  const cost = new Counter({
    name: `${prefix}cost_usd_total`,
    help: 'Cost of priced AI calls in US dollars (float, for dashboards; the store keeps the exact amount).',
    labelNames: ['model', 'provider', 'route'] as const,
    registers: [registry],
  });
  const requests = new Counter({
    name: `${prefix}requests_total`,
    help: 'Metered AI calls by the HTTP status the client received.',
    labelNames: ['model', 'provider', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${prefix}request_duration_seconds`,
    help: 'Duration of metered AI calls.',
    labelNames: ['model', 'provider', 'route'] as const,
    buckets: OPERATION_DURATION_BUCKETS,
    registers: [registry],
  });
  const rejections = new Counter({
    name: `${prefix}budget_rejections_total`,
    help: 'Calls refused by a budget before reaching the upstream.',
    labelNames: ['scope'] as const,
    registers: [registry],
  });

  const unmetered = new Counter({
    name: `${prefix}unmetered_requests_total`,
    help: 'Proxy requests to endpoints tokenmeter cannot meter (batches, images, audio, unknown paths), forwarded or refused.',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [registry],
  });
  const unpriced = new Counter({
    name: `${prefix}unpriced_calls_total`,
    help:
      'Calls to models without a price (their cost is unknown, never $0), by what unpricedPolicy did: refuse, allow, ' +
      'price_as, or none when no USD budget applied.',
    labelNames: ['model', 'policy'] as const,
    registers: [registry],
  });
  const folds = new Counter({
    name: `${prefix}store_folded_values_total`,
    help: "Events stored with a dimension folded into '(other)': that day already had the maximum of distinct values.",
    labelNames: ['dimension'] as const,
    registers: [registry],
  });

  let otel: { tokenUsage: OtelHistogram; operationDuration: OtelHistogram; cost: OtelCounter } | undefined;
  if (options.meterProvider) {
    const meter = options.meterProvider.getMeter('@tokenmeter/express');
    otel = {
      tokenUsage: meter.createHistogram('gen_ai.client.token.usage', {
        description: 'Number of input and output tokens used.',
        unit: '{token}',
        advice: { explicitBucketBoundaries: TOKEN_USAGE_BUCKETS },
      }),
      operationDuration: meter.createHistogram('gen_ai.client.operation.duration', {
        description: 'GenAI operation duration.',
        unit: 's',
        advice: { explicitBucketBoundaries: OPERATION_DURATION_BUCKETS },
      }),
      // The GenAI conventions define no cost instrument: ours is named under tokenmeter's own namespace.
      cost: meter.createCounter('tokenmeter.cost', {
        description: 'Cost of priced GenAI calls in US dollars (float; the exact amount is in the usage store).',
        unit: 'USD',
      }),
    };
  }

  function observe(event: UsageEvent, details: { budgetScope?: string } = {}): void {
    const model = labels.value('model', event.model);
    const provider = labels.value('provider', event.provider);
    const route = labels.value('route', event.route);
    const base = { model, provider, route };
    requests.inc({ ...base, status: labels.value('status', String(event.status)) });
    if (!event.priced || event.pricedAs !== undefined) {
      unpriced.inc({ model, policy: event.unpricedPolicy ?? 'none' });
    }
    if (event.rejected) {
      rejections.inc({ scope: labels.value('scope', details.budgetScope) });
      return;
    }
    const buckets: [string, number][] = [
      ['input', event.inputTokens],
      ['cache_read', event.cachedInputTokens],
      ['cache_write', event.cacheWrite5mTokens + event.cacheWrite1hTokens],
      ['output', event.outputTokens],
      ['reasoning', event.reasoningTokens],
    ];
    for (const [type, count] of buckets) if (count > 0) tokens.inc({ ...base, type }, count);
    const dollars = event.priced && event.cost !== undefined ? Number(event.cost) : 0;
    if (dollars > 0) cost.inc(base, dollars);
    duration.observe(base, event.durationMs / 1000);

    if (otel) {
      const attributes: Attributes = {
        'gen_ai.operation.name': OPERATION_NAMES[event.operation] ?? event.operation,
        'gen_ai.provider.name': PROVIDER_NAMES[event.provider] ?? event.provider,
        'gen_ai.request.model': model,
      };
      // Semantic-convention totals: input includes cache reads and writes, output includes reasoning.
      const input = event.inputTokens + event.cachedInputTokens + event.cacheWrite5mTokens + event.cacheWrite1hTokens;
      const output = event.outputTokens + event.reasoningTokens;
      otel.tokenUsage.record(input, { ...attributes, 'gen_ai.token.type': 'input' });
      otel.tokenUsage.record(output, { ...attributes, 'gen_ai.token.type': 'output' });
      const failed = event.error !== undefined || event.status >= 400;
      otel.operationDuration.record(
        event.durationMs / 1000,
        failed ? { ...attributes, 'error.type': event.error ?? String(event.status) } : attributes,
      );
      if (dollars > 0) otel.cost.add(dollars, attributes);
    }
  }

  return {
    registry,
    observe,
    observeUnmetered(endpoint: string, outcome: 'forwarded' | 'refused'): void {
      unmetered.inc({ endpoint: labels.value('endpoint', endpoint), outcome });
    },
    observeFold(dimension: string) {
      folds.inc({ dimension: labels.value('dimension', dimension) });
    },
    metricsHandler(): RequestHandler {
      return (_req, res, next) => {
        registry.metrics().then((text) => {
          res.setHeader('Content-Type', registry.contentType);
          res.end(text);
        }, next);
      };
    },
  };
}
