import { describe, expect, it } from 'vitest';
import { runCli, scratchFiles } from '../test/run-cli';

const file = scratchFiles('cost');

describe('tokenmeter cost', () => {
  it('prices token counts where --input includes the cached tokens (gpt-4o: $3)', async () => {
    const result = await runCli(
      'cost',
      '--model',
      'gpt-4o',
      '--input',
      '1,000,000',
      '--cached-input',
      '400000',
      '--output',
      '100000',
      '--json',
    );
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout);
    // 600k × $2.50 + 400k × $1.25 + 100k × $10 per M (OpenAI's published gpt-4o prices).
    expect(parsed).toMatchObject({
      model: 'gpt-4o',
      provider: 'openai',
      priced: true,
      currency: 'USD',
      total: '3',
      breakdown: { input: '1.5', cachedInput: '0.5', output: '1', reasoning: '0' },
      usage: { inputTokens: 600000, cachedInputTokens: 400000, outputTokens: 100000 },
      estimated: false,
    });
  });

  it('prices an Anthropic response file with 5-minute and 1-hour cache writes', async () => {
    const path = file(
      'anthropic.json',
      JSON.stringify({
        type: 'message',
        model: 'claude-sonnet-4-5-20250929',
        usage: {
          input_tokens: 42,
          cache_creation_input_tokens: 3000,
          cache_read_input_tokens: 18000,
          cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
          output_tokens: 512,
        },
      }),
    );
    const result = await runCli('cost', '--model', 'claude-sonnet-4-5', '--usage', path, '--json');
    // 42×$3 + 18,000×$0.30 + 1,000×$3.75 + 2,000×$6 + 512×$15 per M = $0.028956.
    expect(JSON.parse(result.stdout)).toMatchObject({ total: '0.028956', breakdown: { cacheWrite1h: '0.012' } });
  });

  it('batch tier from the command line', async () => {
    const result = await runCli(
      'cost',
      '--model',
      'gpt-4o',
      '--input',
      '1000000',
      '--output',
      '1000000',
      '--tier',
      'batch',
      '--json',
    );
    // Published batch prices: $1.25 input, $5 output per M.
    expect(JSON.parse(result.stdout)).toMatchObject({ total: '6.25', tier: 'batch', tierApplied: 'batch' });
  });

  it('prints a readable table', async () => {
    const result = await runCli(
      'cost',
      '--model',
      'gpt-4o',
      '--input',
      '1000000',
      '--cached-input',
      '400000',
      '--output',
      '100000',
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Input \(uncached\)\s+600,000\s+\$1\.50/);
    expect(result.stdout).toMatch(/Cache read\s+400,000\s+\$0\.50/);
    expect(result.stdout).toContain('Total: $3.00 (exactly 3 USD)');
  });

  it('an unknown model: exit 2, "did you mean" on stderr, nothing on stdout in text and the error in JSON', async () => {
    const text = await runCli('cost', '--model', 'gpt-4oo', '--input', '10', '--output', '5');
    expect(text.code).toBe(2);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(/Unknown model "gpt-4oo"\. Did you mean "gpt-4o"/);
    const json = await runCli('cost', '--model', 'gpt-4oo', '--input', '10', '--output', '5', '--json');
    expect(json.code).toBe(2);
    // --json: the error on stdout, with what was read and total null — never a number a script could sum.
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({ priced: false, total: null });
    const error = parsed.error;
    expect(error.code).toBe('UNKNOWN_MODEL');
    expect(error.suggestions[0]).toBe('gpt-4o');
  });

  it('an unknown model with nothing close: exit 2 without a suggestion', async () => {
    const result = await runCli('cost', '--model', 'zzzzzzzzzzzzzzzz-9', '--input', '10', '--output', '5');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Unknown model "zzzzzzzzzzzzzzzz-9"\.$/m);
  });

  it('malformed JSON on --usage: exit 2 with a clear message', async () => {
    const result = await runCli(
      'cost',
      '--model',
      'gpt-4o',
      '--usage',
      file('broken.json', '{"usage": {"prompt_tokens": 1,'),
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/broken\.json is not valid JSON/);
  });

  it('garbage usage: exit 2 naming the field', async () => {
    const result = await runCli(
      'cost',
      '--model',
      'gpt-4o',
      '--usage',
      file('negative.json', '{"prompt_tokens": -4, "completion_tokens": 1}'),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/usage\.prompt_tokens must not be negative/);
  });

  it('parts larger than --input: exit 2', async () => {
    const result = await runCli(
      'cost',
      '--model',
      'gpt-4o',
      '--input',
      '100',
      '--cached-input',
      '200',
      '--output',
      '1',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--input \(100\) counts all input tokens/);
  });

  it('bad --tier, --format or --at: exit 2', async () => {
    expect((await runCli('cost', '--model', 'gpt-4o', '--input', '1', '--output', '1', '--tier', 'gold')).code).toBe(2);
    expect((await runCli('cost', '--model', 'gpt-4o', '--usage', '-', '--format', 'bogus')).code).toBe(2);
    expect((await runCli('cost', '--model', 'gpt-4o', '--input', '1', '--output', '1', '--at', 'yesterday')).code).toBe(
      2,
    );
  });

  it('historic prices with --at (o3 launched at $10/$40 per M)', async () => {
    const result = await runCli(
      'cost',
      '--model',
      'o3',
      '--input',
      '1000000',
      '--output',
      '1000000',
      '--at',
      '2025-05-01',
      '--json',
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ total: '50', pricesEffectiveFrom: '2025-04-16' });
  });
});
