import { describe, expect, it } from 'vitest';
import { runCli } from '../test/run-cli';

describe('tokenmeter price', () => {
  it('shows the full entry: cache writes, tiers and the resolution path', async () => {
    const result = await runCli('price', 'anthropic/claude-sonnet-4-5');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^claude-sonnet-4-5 \(anthropic, Claude Sonnet 4\.5\)\n/);
    expect(result.stdout).toContain('Resolved from "anthropic/claude-sonnet-4-5" (prefix-stripped)');
    // Published: $3 / $0.30 read / $3.75 5-minute write / $6 1-hour write / $15; above 200k $6 and $22.50;
    // batch half of each (https://platform.claude.com/docs/en/build-with-claude/batch-processing).
    expect(result.stdout).toMatch(/Per million tokens\s+Standard\s+Batch\s+> 200,000 tokens/);
    expect(result.stdout).toMatch(/Input\s+\$3\.00\s+\$1\.50\s+\$6\.00/);
    expect(result.stdout).toMatch(/Cache write 5m\s+\$3\.75\s+\$1\.875\s+\$7\.50/);
    expect(result.stdout).toMatch(/Cache write 1h\s+\$6\.00\s+\$3\.00\s+\$12\.00/);
    expect(result.stdout).toMatch(/Output\s+\$15\.00\s+\$7\.50\s+\$22\.50/);
    expect(result.stdout).toContain('> 200,000 tokens');
  });

  it('shows service-tier variants and price history', async () => {
    const result = await runCli('price', 'o3');
    // Batch is OpenAI's flat 50 % (https://platform.openai.com/docs/guides/batch); flex and priority published.
    expect(result.stdout).toMatch(/Per million tokens\s+Standard\s+Batch\s+Flex\s+Priority/);
    expect(result.stdout).toMatch(/Input\s+\$2\.00\s+\$1\.00\s+\$1\.00\s+\$3\.50/);
    expect(result.stdout).toMatch(/from 2025-04-16: input \$10\.00, output \$40\.00/);
  });

  it('prints the entry as JSON', async () => {
    const result = await runCli('price', 'gpt-4o-2024-08-06', '--json');
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({ requested: 'gpt-4o-2024-08-06', matchedBy: 'alias', entry: { id: 'gpt-4o' } });
    expect(parsed.current.standard).toEqual({ input: '2.5', cachedInput: '1.25', output: '10' });
  });

  it('exits 2 with "did you mean" for an unknown model', async () => {
    const result = await runCli('price', 'claude-sonet-4-5');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/Unknown model "claude-sonet-4-5"\. Did you mean "claude-sonnet-4-5"/);
  });
});

describe('tokenmeter price: audio', () => {
  // gpt-4o-audio-preview: text $2.50 / $10, audio $40 in / $80 out per million (https://openai.com/api/pricing/).
  it('shows audio prices in their own rows when the model has them', async () => {
    const result = await runCli('price', 'gpt-4o-audio-preview');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Audio input\s+\$40\.00/);
    expect(result.stdout).toMatch(/Audio output\s+\$80\.00/);
    expect((await runCli('price', 'gpt-4o')).stdout).not.toContain('Audio');
  });
});
