import { describe, expect, it } from 'vitest';
import { runCli } from '../test/run-cli';

describe('tokenmeter models', () => {
  it('prints a table of one provider with per-million prices and context', async () => {
    const result = await runCli('models', '--provider', 'anthropic');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^Model\s+Provider\s+Input\s+Output\s+Cache read\s+Context$/);
    // Published: Claude Sonnet 4.5 $3 input, $15 output, $0.30 cache read.
    const sonnet = lines.find((line) => line.startsWith('claude-sonnet-4-5 '));
    expect(sonnet?.split(/\s+/)).toEqual(['claude-sonnet-4-5', 'anthropic', '$3.00', '$15.00', '$0.30', '200,000']);
    expect(lines.every((line) => !/\bopenai\b/.test(line))).toBe(true);
  });

  it('prints JSON with prices as decimal strings', async () => {
    const result = await runCli('models', '--provider', 'openai', '--json');
    const parsed = JSON.parse(result.stdout) as { models: Array<Record<string, unknown>> };
    const gpt4o = parsed.models.find((model) => model.id === 'gpt-4o');
    // Published: gpt-4o $2.50 input, $1.25 cached input, $10 output.
    expect(gpt4o).toMatchObject({
      provider: 'openai',
      input: '2.5',
      cachedInput: '1.25',
      output: '10',
      contextWindow: 128000,
    });
    expect(parsed.models.every((model) => model.provider === 'openai')).toBe(true);
  });

  it('exits 2 naming the known providers for an unknown one', async () => {
    const result = await runCli('models', '--provider', 'nobody');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/No models for provider "nobody"\. Providers: .*anthropic/);
  });
});
