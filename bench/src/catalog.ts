/**
 * Catalog coverage: how many models and providers the shipped catalog prices, whether the names people type
 * resolve, and how many feed rows the generator refused or curated (its `stats` header).
 */
import { PriceCatalog } from '@tokenmeter/core';
import { type BenchSection, log, type TargetResult, table } from './report';
import { fixed, median } from './stats';

/**
 * Names as they appear in SDK calls, provider responses and platform consoles: plain ids, dated snapshots,
 * provider and resource prefixes, Anthropic's `-0`/`-latest` aliases, Bedrock profiles, Vertex versions,
 * Azure data zones, fine-tunes, embeddings, audio, and hosts' own ids.
 */
export const TYPED_NAMES = [
  'gpt-4o',
  'gpt-4o-2024-08-06',
  'gpt-4o-mini',
  'gpt-4.1',
  'gpt-5',
  'gpt-5-mini',
  'o1-mini',
  'o3',
  'o4-mini',
  'openai/gpt-4o',
  'ft:gpt-4o-mini-2024-07-18:acme::abc123',
  'text-embedding-3-small',
  'text-embedding-3-large',
  'gpt-4o-transcribe',
  'gpt-4o-mini-tts',
  'gpt-realtime',
  'gpt-4o-audio-preview',
  'claude-sonnet-4-5',
  'claude-sonnet-4-5-20250929',
  'claude-sonnet-4-0',
  'claude-opus-4-0',
  'claude-3-7-sonnet-latest',
  'claude-3-5-haiku-latest',
  'anthropic/claude-haiku-4-5',
  'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
  'claude-sonnet-4-5@20250929',
  'gemini-2.5-pro',
  'gemini-2.5-flash',
  'models/gemini-2.5-flash',
  'gemini/gemini-2.5-flash-lite',
  'projects/acme/locations/us-central1/publishers/google/models/gemini-2.5-pro',
  'gemini-embedding-001',
  'mistral-large-latest',
  'codestral-latest',
  'mistral-embed',
  'deepseek-chat',
  'deepseek-reasoner',
  'grok-4',
  'grok-4-latest',
  'azure/gpt-4o',
  'azure/eu/gpt-4o',
  'meta.llama3-1-70b-instruct-v1:0',
  'us.meta.llama3-3-70b-instruct-v1:0',
  'amazon.nova-pro-v1:0',
  'amazon.titan-embed-text-v2:0',
  'command-r',
  'voyage-3',
  'moonshot/kimi-k2-0905-preview',
  'zai/glm-4.6',
  'perplexity/sonar-pro',
  'groq/llama-3.3-70b-versatile',
  'together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo',
  'fireworks_ai/accounts/fireworks/models/deepseek-v3',
  'openrouter/anthropic/claude-3.7-sonnet',
];

export async function catalogBenchmark(): Promise<BenchSection> {
  const catalog = PriceCatalog.default();
  const stats = catalog.stats;
  if (!stats) throw new Error('the shipped catalog has no stats header: regenerate it');
  const entries = catalog.entries();

  const unresolved: string[] = [];
  const kinds = new Map<string, number>();
  for (const name of TYPED_NAMES) {
    const resolved = catalog.tryResolve(name);
    if (!resolved) unresolved.push(name);
    else kinds.set(resolved.matchedBy, (kinds.get(resolved.matchedBy) ?? 0) + 1);
  }
  const resolvedCount = TYPED_NAMES.length - unresolved.length;
  log(
    `resolved ${resolvedCount}/${TYPED_NAMES.length} typed names${unresolved.length ? `; not: ${unresolved.join(', ')}` : ''}`,
  );

  // Uncached resolution: a fresh catalog per round, every typed name once (the first request of each name).
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const fresh = new PriceCatalog(entries);
    const started = performance.now();
    for (const name of TYPED_NAMES) fresh.tryResolve(name);
    rounds.push(((performance.now() - started) * 1000) / TYPED_NAMES.length);
  }
  const perName = median(rounds);

  const byProvider = new Map<string, number>();
  for (const entry of entries) byProvider.set(entry.provider, (byProvider.get(entry.provider) ?? 0) + 1);
  const top = [...byProvider].sort((a, b) => b[1] - a[1]);

  const markdown = [
    `The shipped catalog (generated ${catalog.generatedAt}) from the generator's \`stats\` header and ${TYPED_NAMES.length} names as people type them (bench/src/catalog.ts).`,
    '',
    table(
      ['measure', 'value'],
      [
        ['models priced', stats.models],
        ['providers', stats.providers],
        ['aliases', stats.aliases],
        [
          'models by mode',
          Object.entries(stats.modes)
            .map(([mode, count]) => `${mode} ${count}`)
            .join(', '),
        ],
        ['models both feeds price (compared)', stats.compared],
        ['… of which the feeds disagreed', stats.disagreements],
        ['rows refused by the plausibility checks', stats.refused],
        ['rows curated (corrections, accepted exceptions)', stats.curated],
        ['price sets given a documented flat-rate price (batch = 50 %…)', stats.derived],
        [
          'typed names resolved',
          `${resolvedCount} / ${TYPED_NAMES.length} (${[...kinds].map(([kind, count]) => `${kind} ${count}`).join(', ')})`,
        ],
        ['uncached resolution, median per name', `${fixed(perName, 1)} µs`],
      ],
    ),
    '',
    `Models per provider: ${top.map(([provider, count]) => `${provider} ${count}`).join(', ')}.`,
    ...(unresolved.length > 0 ? ['', `Not resolved: ${unresolved.map((name) => `\`${name}\``).join(', ')}.`] : []),
  ].join('\n');

  const targets: TargetResult[] = [
    { name: 'catalog: priced models', target: '≥ 1,000', measured: String(stats.models), met: stats.models >= 1000 },
    { name: 'catalog: providers', target: '≥ 25', measured: String(stats.providers), met: stats.providers >= 25 },
    {
      name: 'catalog: typed names resolved',
      target: `${TYPED_NAMES.length} / ${TYPED_NAMES.length}`,
      measured: `${resolvedCount} / ${TYPED_NAMES.length}`,
      met: unresolved.length === 0,
    },
    {
      name: 'catalog: rows refused / curated by the generator',
      target: 'reported',
      measured: `${stats.refused} refused, ${stats.curated} curated`,
      met: true,
    },
  ];
  return { title: 'Price catalog', markdown, targets };
}
