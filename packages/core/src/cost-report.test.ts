import { describe, expect, it } from 'vitest';
import { costHeadline, MAX_COMMENT_LENGTH, renderCostReport } from './cost-report';
import { htmlText, markdownCode, markdownText, neutralizeInvisible } from './cost-report-escape';
import {
  COST_REPORT_MARKER,
  formatRunStamp,
  isNewerRunStamp,
  parseRunStamp,
  withoutRunStamp,
} from './cost-report-stamp';
import { costReportJson, renderCostReportText } from './cost-report-text';
import { parseCheckConfig } from './prompt-config';
import { type ChangedFile, diffPrompts } from './prompt-diff';
import { fakePromptEngine } from './prompt-engine-fake';

// Fake engine: 1 token per word, gpt-4o $2.50 / $10 per million; 400 output tokens × 30,000 calls per month.
const config = parseCheckConfig(`
prompts:
  - files: "prompts/**"
    model: gpt-4o
    calls-per-month: 30000
    output-tokens: 400
plans:
  - name: Flat 25
    monthly-usd: 25
`);
const engine = fakePromptEngine();
const hostileName = 'prompts/<img src=x onerror=alert(1)>`|`@octocat [x](https://evil.example) $x$.md';

function report(files: ChangedFile[], options: Parameters<typeof renderCostReport>[1] = {}) {
  return renderCostReport(diffPrompts({ files, config, engine }), options);
}

describe('renderCostReport', () => {
  const files: ChangedFile[] = [
    // 3 → 7 words: $0.0040075 → $0.0040175 per call; $120.225 → $120.525 per month.
    { path: 'prompts/support.md', status: 'modified', before: 'a b c', after: 'a b c d e f g' },
    { path: 'prompts/new.md', previousPath: 'prompts/old.md', status: 'renamed', before: 'a', after: 'a' },
  ];
  const body = report(files, { stamp: { headSha: 'abc123', runId: '42', runAttempt: '1' }, plans: true });

  it('starts with the exact marker and a run stamp', () => {
    expect(body.startsWith(`${COST_REPORT_MARKER}\n<!-- tokenmeter-run: sha=abc123 run=42 attempt=1 -->\n`)).toBe(true);
  });

  it('leads with the headline and has a row per prompt and totals', () => {
    // Before 120.225 + 120.075 = 240.30, after 120.525 + 120.075 = 240.60: +$0.30, +0.1 %.
    expect(body).toContain('## Monthly cost +\\$0.30 (+0.1 %)');
    expect(body).toContain(
      '| ` prompts/support.md `  | ` gpt-4o ` | 3 → 7 | +\\$0.00001 | \\$120.22 | \\$120.52 | +\\$0.30 |',
    );
    expect(body).toContain(
      '| ` prompts/old.md ` → ` prompts/new.md ` (renamed) | ` gpt-4o ` | 1 → 1 | \\$0.00 | \\$120.08 | \\$120.08 | \\$0.00 |',
    );
    expect(body).toContain('| **Total** | | | | **\\$240.30** | **\\$240.60** | **+\\$0.30** |');
  });

  it('states the assumptions and compares with the flat-rate plan, with a chart', () => {
    expect(body).toContain('- Volume: calls-per-month from the config.');
    expect(body).toContain(
      '- Model ` gpt-4o `: \\$2.5 input / \\$10 output per million tokens, prices effective 2024-10-01.',
    );
    expect(body).toContain("- Prices from tokenmeter's catalog as of 2026\\-11\\-01.");
    expect(body).toContain('**Flat 25** (\\$25.00/month) is cheaper by \\$215.60/month; break-even at');
    // Tokens come whole: the break-even is the first whole token count, never "8,333,333.33 tokens".
    expect(body).toMatch(/break-even at \d{1,3}(,\d{3})* tokens\/month/);
    expect(body).toContain('```mermaid\nxychart-beta\n');
    expect(body).toContain('  line [25, 25, 25, 25, 25, 25, 25, 25, 25]');
    expect(body).toContain('<details><summary>Details per prompt</summary>');
  });

  it('has no chart or plan section without plans, or unless asked for', () => {
    const plain = renderCostReport(diffPrompts({ files, config: { ...config, plans: [] }, engine }), { plans: true });
    expect(plain).not.toContain('mermaid');
    expect(plain).not.toContain('flat rate');
    const notAsked = report(files);
    expect(notAsked).not.toContain('mermaid');
    expect(notAsked).not.toContain('flat rate');
    expect(renderCostReportText(diffPrompts({ files, config, engine }))).not.toContain('Flat 25');
    expect(renderCostReportText(diffPrompts({ files, config, engine }), { plans: true })).toContain('Flat 25');
  });

  it('renders a hostile file name inert', () => {
    const hostile = report([{ path: hostileName, status: 'added', after: 'x' }]);
    // Only inside code spans: no raw HTML tag, link, mention or math outside them.
    const outsideCode = hostile.replace(/(`+) [^\n]*? \1/g, '');
    expect(outsideCode).not.toMatch(/<img|\]\(|@octocat|\$x\$/);
    expect(hostile).toContain(markdownCode(hostileName));
    expect(markdownCode('a`b|c\nd')).toBe('`` a`b\\|c d ``');
    // Every table row still has its 8 pipes (7 cells): the name's pipe is escaped.
    const row = hostile.split('\n').find((line) => line.includes('onerror')) ?? '';
    expect(row.replaceAll('\\|', '').split('|')).toHaveLength(9);
  });

  it('escapes prose from the pull request', () => {
    expect(markdownText('<b>@me</b> [x](y)')).toBe('\\<b\\>@\u200bme\\<\\/b\\> \\[x\\]\\(y\\)');
  });

  it('truncates gracefully under the limit: details first, then the smallest changes', () => {
    const many: ChangedFile[] = Array.from({ length: 400 }, (_, index) => ({
      path: `prompts/${'deep/'.repeat(20)}file-${String(index).padStart(4, '0')}.md`,
      status: 'modified',
      before: 'a',
      after: 'a '.repeat(index + 1),
    }));
    const full = report(many, { maxLength: 1_000_000 });
    expect(full).toContain('<details>');
    const truncated = report(many);
    expect(truncated.length).toBeLessThanOrEqual(MAX_COMMENT_LENGTH);
    expect(truncated.length).toBeGreaterThan(MAX_COMMENT_LENGTH - 1000);
    expect(truncated).not.toContain('<details>');
    expect(truncated).toMatch(/> \d+ more prompts with smaller changes not shown/);
    // The biggest change is kept, the smallest is dropped, and the totals still cover everything.
    expect(truncated).toContain('file-0399.md');
    expect(truncated).not.toContain('file-0000.md');
    expect(truncated).toContain(full.split('\n').find((line) => line.startsWith('| **Total**')) ?? 'missing');
    const fullForty = report(many.slice(0, 40), { maxLength: 1_000_000 });
    expect(fullForty).toContain('<details>');
    const noDetails = report(many.slice(0, 40), { maxLength: fullForty.length - 1 });
    expect(noDetails).not.toContain('<details>');
    expect(noDetails).not.toContain('more prompts');
  });

  it('says so when no prompt changed', () => {
    const empty = report([{ path: 'src/a.ts', status: 'modified', before: 'a', after: 'b' }]);
    expect(empty).toContain('## Monthly cost ±\\$0.00 (0.0 %)');
    expect(empty).toContain('No prompt files matched');
  });
});

describe('costHeadline', () => {
  it('marks a cost that did not exist before as new and decreases with a minus', () => {
    const added = diffPrompts({ files: [{ path: 'prompts/a.md', status: 'added', after: 'x' }], config, engine });
    // 1 word: $0.0040025 × 30,000 = $120.075 → "$120.08" (half to even at the cent: 120.075 → 120.08).
    expect(costHeadline(added)).toBe('Monthly cost +$120.08 (new)');
    const removed = diffPrompts({ files: [{ path: 'prompts/a.md', status: 'removed', before: 'x' }], config, engine });
    expect(costHeadline(removed)).toBe('Monthly cost -$120.08 (-100.0 %)');
  });
});

describe('run stamps', () => {
  it('round-trips and strips unsafe characters', () => {
    const stamp = formatRunStamp({ headSha: 'abc -->', runId: '7', runAttempt: '2', at: '2026-11-27T10:00:00Z' });
    expect(stamp).toBe('<!-- tokenmeter-run: sha=abc run=7 attempt=2 at=2026-11-27T10:00:00Z -->');
    expect(parseRunStamp(`x\n${stamp}\ny`)).toEqual({
      headSha: 'abc',
      runId: '7',
      runAttempt: '2',
      at: '2026-11-27T10:00:00Z',
    });
    expect(withoutRunStamp(`a\n${stamp}\nb`)).toBe('a\n\nb');
  });

  it('orders runs by run id, then attempt, then time', () => {
    expect(isNewerRunStamp({ runId: '200' }, { runId: '100' })).toBe(true);
    expect(isNewerRunStamp({ runId: '100' }, { runId: '200' })).toBe(false);
    expect(isNewerRunStamp({ runId: '100', runAttempt: '2' }, { runId: '100', runAttempt: '1' })).toBe(true);
    expect(isNewerRunStamp({ runId: '100', runAttempt: '1' }, { runId: '100', runAttempt: '1' })).toBe(false);
    expect(isNewerRunStamp({ at: '2026-11-27T10:00:00Z' }, { at: '2026-11-27T09:00:00Z' })).toBe(true);
    expect(isNewerRunStamp(undefined, { runId: '1' })).toBe(false);
  });
});

describe('text and JSON', () => {
  const diff = diffPrompts({
    files: [
      { path: 'prompts/a\u001b[31m.md', status: 'modified', before: 'a b c', after: 'a b c d e f g' },
      { path: 'prompts/b.md', previousPath: 'prompts/c.md', status: 'renamed', before: 'a', after: 'a' },
    ],
    config,
    engine,
  });

  it('renders an aligned table without terminal escapes', () => {
    const text = renderCostReportText(diff);
    expect(text.startsWith('Monthly cost +$0.30 (+0.1 %)\n')).toBe(true);
    expect(text).not.toContain('\u001b');
    expect(text).toContain('prompts/a?[31m.md');
    expect(text).toMatch(/Total\s+\$240\.30\s+\$240\.60\s+\+\$0\.30/);
  });

  it('carries money as decimal strings', () => {
    const json = costReportJson(diff);
    expect(json).toMatchObject({ costBefore: '240.3', costAfter: '240.6', costDelta: '0.3', deltaPercent: '0.1' });
    expect(json.prompts[1]).toMatchObject({
      path: 'prompts/b.md',
      previousPath: 'prompts/c.md',
      status: 'renamed',
      tokensBefore: 1,
      tokensAfter: 1,
      costBefore: '120.075',
      costAfter: '120.075',
      costDelta: '0',
    });
  });
});

describe('invisible characters in names', () => {
  // Right-to-left override, isolates, marks, zero-width space / joiners, word joiner, BOM, a tag character.
  const hidden = [
    '\u202E',
    '\u2066',
    '\u2069',
    '\u200F',
    '\u061C',
    '\u200B',
    '\u200C',
    '\u200D',
    '\u2060',
    '\uFEFF',
    '\u{E0041}',
  ];

  it('are shown as <U+XXXX> in code spans, prose and HTML, never passed through', () => {
    for (const character of hidden) {
      const name = `prompts/evil${character}dm.txt`;
      const label = `<U+${(character.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}>`;
      for (const rendered of [markdownCode(name), markdownText(name), htmlText(name), neutralizeInvisible(name)]) {
        expect(rendered).not.toContain(character);
      }
      expect(markdownCode(name)).toContain(label);
      expect(neutralizeInvisible(name)).toBe(`prompts/evil${label}dm.txt`);
    }
    // Visible non-ASCII text is left alone.
    expect(neutralizeInvisible('prompts/こんにちは-é.md')).toBe('prompts/こんにちは-é.md');
  });
});
