import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import * as fixtures from '../../core/test/fixtures/provider-responses';
import {
  ANTHROPIC_BATCH_RESULT,
  BEDROCK_CONVERSE,
  DEEPSEEK_CHAT,
  XAI_CHAT,
} from '../../core/test/fixtures/provider-responses';
import { runCli, scratchFiles } from '../test/run-cli';

const file = scratchFiles('cost-providers');
const realStdin = Object.getOwnPropertyDescriptor(process, 'stdin');

/** `tokenmeter cost --usage -` reads standard input: give it this text. */
function feedStdin(text: string): void {
  Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(text)]), configurable: true });
}

afterEach(() => {
  if (realStdin) Object.defineProperty(process, 'stdin', realStdin);
});

async function costJson(...args: string[]) {
  const result = await runCli('cost', ...args, '--json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

// Prices are the shipped catalog's, which match the providers' pages: grok-3-mini $0.30 / $0.075 cached /
// $0.50 (https://docs.x.ai/docs/models); deepseek-chat $0.28 miss / $0.028 hit / $0.42
// (https://api-docs.deepseek.com/quick_start/pricing); Claude Sonnet 4.5 on Bedrock $3 / $0.30 read /
// $3.75 write / $15 (https://aws.amazon.com/bedrock/pricing/).
describe('tokenmeter cost --usage: each provider’s fields, priced exactly', () => {
  it('xAI: reasoning billed on top of completion_tokens (it was INVALID_USAGE)', async () => {
    const parsed = await costJson('--usage', file('xai.json', JSON.stringify(XAI_CHAT)), '--model', 'grok-3-mini');
    // 26 × 0.30 + 6 × 0.075 + 9 × 0.50 + 94 × 0.50 per million.
    expect(parsed).toMatchObject({
      model: 'grok-3-mini',
      provider: 'xai',
      total: '0.00005975',
      usage: { inputTokens: 26, cachedInputTokens: 6, outputTokens: 9, reasoningTokens: 94 },
      estimated: false,
    });
  });

  it('xAI with reasoning below completion_tokens: --model decides the dialect even without a total', async () => {
    const usage = { prompt_tokens: 100, completion_tokens: 400, completion_tokens_details: { reasoning_tokens: 300 } };
    const parsed = await costJson('--usage', file('xai-bare.json', JSON.stringify(usage)), '--model', 'grok-3-mini');
    // 100 × 0.30 + 400 × 0.50 + 300 × 0.50: reasoning is not inside the 400.
    expect(parsed).toMatchObject({ total: '0.00038', usage: { outputTokens: 400, reasoningTokens: 300 } });
  });

  it('--provider names the dialect for a model the catalog does not place (a gateway id)', async () => {
    const gateway = { ...XAI_CHAT, model: 'my-gateway/grok', usage: { ...XAI_CHAT.usage, total_tokens: undefined } };
    const path = file('gateway.json', JSON.stringify(gateway));
    const read = await runCli('cost', '--usage', path, '--provider', 'xai', '--json');
    // Unknown model: not priced, but the buckets are read in xAI's dialect.
    expect(JSON.parse(read.stdout).usage).toMatchObject({ outputTokens: 9, reasoningTokens: 94 });
    // Without it, reasoning above completion_tokens cannot be read the OpenAI way: a clear error.
    expect((await runCli('cost', '--usage', path, '--json')).code).toBe(2);
    expect((await runCli('cost', '--input', '1', '--output', '1', '--model', 'gpt-4o', '--provider', 'xai')).code).toBe(
      2,
    );
  });

  it('DeepSeek: cache hits at the cache price', async () => {
    const { usage, ...rest } = DEEPSEEK_CHAT;
    const hitMissOnly = { ...rest, usage: { ...usage, prompt_tokens_details: undefined } };
    const parsed = await costJson('--usage', file('deepseek.json', JSON.stringify(hitMissOnly)));
    // 176 × 0.28 + 1024 × 0.028 + 300 × 0.42 per million.
    expect(parsed).toMatchObject({ model: 'deepseek-chat', total: '0.000203952', usage: { cachedInputTokens: 1024 } });
  });

  it('Bedrock Converse: cache reads and writes beside inputTokens', async () => {
    const parsed = await costJson(
      '--usage',
      file('bedrock.json', JSON.stringify(BEDROCK_CONVERSE)),
      '--model',
      'anthropic.claude-sonnet-4-5-20250929-v1:0',
    );
    // 120 × 3 + 4000 × 0.30 + 1000 × 3.75 + 250 × 15 per million.
    expect(parsed).toMatchObject({ provider: 'bedrock', total: '0.00906', estimated: false });
  });

  it('--usage - takes the model from the response when --model is not given', async () => {
    feedStdin(JSON.stringify(XAI_CHAT));
    const parsed = await costJson('--usage', '-');
    expect(parsed).toMatchObject({ model: 'grok-3-mini', requested: 'grok-3-mini', total: '0.00005975' });
  });

  it('an Anthropic batch result line is priced at the tier it reports', async () => {
    feedStdin(JSON.stringify(ANTHROPIC_BATCH_RESULT));
    const parsed = await costJson('--usage', '-');
    expect(parsed).toMatchObject({ model: 'claude-sonnet-4-5', tier: 'batch' });
  });

  it('a response that names no model needs --model: exit 2 with a clear message', async () => {
    const result = await runCli('cost', '--usage', file('bedrock-nomodel.json', JSON.stringify(BEDROCK_CONVERSE)));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/names no model.*give --model/);
    const counts = await runCli('cost', '--input', '1', '--output', '1');
    expect(counts.code).toBe(2);
    expect(counts.stderr).toMatch(/Give --model/);
  });

  it('a gap against the reported total is estimated and named in the notes', async () => {
    const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 20 };
    const parsed = await costJson('--usage', file('gap.json', JSON.stringify(usage)), '--model', 'gpt-4o');
    expect(parsed.estimated).toBe(true);
    expect(parsed.notes[0]).toMatch(/total_tokens is 20 but the reported parts add up to 15: 5 token/);
  });
});

describe('tokenmeter cost --usage reads every documented shape into the same buckets as core', () => {
  // What the buckets must be, from each fixture's documented fields (core's usage-dialects.test.ts prices them).
  const expected: Record<string, Record<string, number>> = {
    XAI_CHAT: { inputTokens: 26, cachedInputTokens: 6, outputTokens: 9, reasoningTokens: 94 },
    DEEPSEEK_CHAT: { inputTokens: 176, cachedInputTokens: 1024, outputTokens: 300 },
    GEMINI_AUDIO: { inputTokens: 90, audioInputTokens: 1800, outputTokens: 120, reasoningTokens: 300 },
    BEDROCK_CONVERSE: { inputTokens: 120, cachedInputTokens: 4000, cacheWrite5mTokens: 1000, outputTokens: 250 },
    BEDROCK_INVOKE_LLAMA: { inputTokens: 22, outputTokens: 128 },
    BEDROCK_INVOKE_TITAN: { inputTokens: 12, outputTokens: 64 },
    ANTHROPIC_BATCH_RESULT: { inputTokens: 11, outputTokens: 36 },
    ANTHROPIC_WEB_SEARCH: { inputTokens: 6039, outputTokens: 931 },
    OPENAI_AUDIO_CHAT: { inputTokens: 17, audioInputTokens: 133, outputTokens: 20, audioOutputTokens: 84 },
    OPENAI_EMBEDDINGS: { inputTokens: 8, outputTokens: 0 },
    COHERE_CHAT: { inputTokens: 17, outputTokens: 12 },
    GROQ_CHAT: { inputTokens: 18, outputTokens: 556 },
    MISTRAL_CHAT: { inputTokens: 16, outputTokens: 34 },
    TOGETHER_CHAT: { inputTokens: 31, outputTokens: 7 },
    FIREWORKS_CHAT: { inputTokens: 512, cachedInputTokens: 1536, outputTokens: 40 },
    OPENROUTER_CHAT: { inputTokens: 194, outputTokens: 2 },
    OPENAI_TRANSCRIPTION: { inputTokens: 0, audioInputTokens: 14, outputTokens: 45 },
    OPENAI_REALTIME_DONE: {
      inputTokens: 55,
      cachedInputTokens: 64,
      audioInputTokens: 13,
      outputTokens: 30,
      audioOutputTokens: 91,
    },
  };

  it.each(Object.keys(fixtures))('%s', async (name) => {
    const payload = (fixtures as Record<string, unknown>)[name];
    expect(expected[name]).toBeDefined();
    // The model the response names picks the dialect; responses that name none are priced as gpt-4o.
    const names = /"(model|modelVersion)":/.test(JSON.stringify(payload));
    const path = file(`${name}.json`, JSON.stringify(payload));
    const result = await runCli('cost', '--usage', path, ...(names ? [] : ['--model', 'gpt-4o']), '--json');
    const parsed = JSON.parse(result.stdout);
    // A model the shipped catalog lacks exits 2 (nothing priced) but still shows the buckets it read.
    if (parsed.priced) expect(result.code).toBe(0);
    else expect([result.code, parsed.error?.code]).toEqual([2, 'UNKNOWN_MODEL']);
    expect(parsed.usage).toMatchObject(expected[name] as Record<string, number>);
  });
});

describe('tokenmeter cost text output', () => {
  it('shows audio buckets in their own rows, and says when audio is billed at the text price', async () => {
    const path = file('gemini-audio.json', JSON.stringify(fixtures.GEMINI_AUDIO));
    const result = await runCli('cost', '--usage', path);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Audio input\s+1,800/);
    expect(result.stdout).toMatch(/Input \(uncached\)\s+90/);
    // The shipped catalog may not have Gemini's audio price yet: the note says what was done instead.
    if (!/Audio input\s+1,800\s+\$0\.0018\b/.test(result.stdout)) {
      expect(result.stdout).toMatch(/no audio input price: audio input billed at the input price/);
    }
  });
});
