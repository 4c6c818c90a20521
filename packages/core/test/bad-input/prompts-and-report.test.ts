import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChangedFile,
  COST_REPORT_MARKER,
  createPromptEngine,
  diffPrompts,
  formatRunStamp,
  MAX_COMMENT_LENGTH,
  parseCheckConfig,
  parsePromptFile,
  parseRunStamp,
  renderCostReport,
  TokenmeterError,
} from '../../src/index';

const engine = createPromptEngine();
const config = parseCheckConfig(`prompts:
  - files: "prompts/**/*.md"
    model: gpt-4o-mini
    calls-per-month: 1000
  - files: "prompts/**/*.yaml"
    model: gpt-4o-mini
    calls-per-month: 1000
plans:
  - name: Flat 1
    monthly-usd: 1
`);

/** Snippets that try to escape a table cell, inject HTML or links, or forge the sticky-comment marker. */
const INJECTIONS = [
  '<img src=x onerror=alert(1)>',
  '<script>alert(1)</script>',
  '</details><h1>pwned</h1>',
  COST_REPORT_MARKER,
  '<!-- tokenmeter-run: run=99999999999 attempt=9 -->',
  '<!--',
  '-->',
  '| forged | cell |',
  '\n# Heading\n',
  '\r\n| --- |',
  '[click](javascript:alert(1))',
  '![x](https://evil.example/x.png)',
  '@everyone',
  '$$\\sum$$',
  '```',
  '`',
  '&lt;',
  '\u2028',
  '\u0000',
  '\ud800',
  '🙂',
];

const hostileText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(...INJECTIONS),
  fc
    .array(fc.oneof(fc.constantFrom(...INJECTIONS), fc.string({ maxLength: 8 })), { maxLength: 5 })
    .map((parts) => parts.join('')),
);

/** A file name GitHub could list: no slash (kept in the `prompts/` directory), no NUL, not starting with a dot. */
const hostileName = hostileText.map((text) => `x${text.replace(/[/\u0000]/g, '_')}`);

const hostileContent = fc.oneof(
  hostileText,
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }),
  hostileText.map(
    (model) =>
      `---\nmodel: ${JSON.stringify(model)}\nvariables:\n  name: ${JSON.stringify(model)}\n---\nHello {{name}} ${model}`,
  ),
  hostileText.map(
    (text) =>
      `messages:\n  - role: system\n    content: ${JSON.stringify(text)}\n  - role: user\n    content: "{{question}}"\n`,
  ),
  fc.constantFrom(
    '---\nmodel: [unclosed\n---\n',
    '---\n---\n',
    'messages: 5',
    'messages:\n  - 7\n',
    '{{{{',
    '&anchor *anchor',
    '- - - -',
  ),
);

/** Removes code spans (any backtick fence), whose content GitHub shows literally. */
function withoutCodeSpans(markdown: string): string {
  // A backslash-escaped backtick opens nothing; the report keeps every code span on one line.
  return markdown.replace(/(?<![\\`])(`+)(?!`)[^\n]*?(?<!`)\1(?!`)/g, '');
}

/** Raw HTML tags: a `<` preceded by an odd number of backslashes is an escaped, literal character. */
function htmlTags(markdown: string): string[] {
  const tags: string[] = [];
  for (const match of markdown.matchAll(/(\\*)(<\/?[a-zA-Z!][^>]*>)/g)) {
    if ((match[1] as string).length % 2 === 0) tags.push(match[2] as string);
  }
  return tags;
}

const ALLOWED_TAGS = new Set([
  '<details>',
  '</details>',
  '<summary>',
  '</summary>',
  '<sub>',
  '</sub>',
  '<br>',
  COST_REPORT_MARKER,
]);

describe('prompt parsers on hostile files', () => {
  it('parsePromptFile returns a parsed prompt or a tokenmeter error, for any name and bytes', () => {
    fc.assert(
      fc.property(
        hostileName,
        fc.constantFrom('.md', '.yaml', '.json', '.txt', ''),
        hostileContent,
        (name, extension, content) => {
          try {
            const parsed = parsePromptFile(`prompts/${name}${extension}`, content, {
              model: 'gpt-4o-mini',
              counter: engine,
            });
            expect(parsed).toBeTypeOf('object');
          } catch (error) {
            expect(error).toBeInstanceOf(TokenmeterError);
            expect((error as TokenmeterError).code).toMatch(/^[A-Z_]+$/);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('the PR comment renderer on hostile file names and contents', () => {
  it('never emits HTML, a second marker or a broken table row, whatever the names and contents', () => {
    const files = fc.array(
      fc.record({
        name: hostileName,
        status: fc.constantFrom('added', 'modified', 'removed'),
        before: hostileContent,
        after: hostileContent,
      }),
      { minLength: 1, maxLength: 4 },
    );
    fc.assert(
      fc.property(files, (generated) => {
        const changed: ChangedFile[] = generated.map((file, index) => ({
          path: `prompts/${index}-${file.name}.md`,
          status: file.status,
          ...(file.status === 'added' ? {} : { before: file.before }),
          ...(file.status === 'removed' ? {} : { after: file.after }),
        }));
        const diff = diffPrompts({ files: changed, config, engine });
        // Every hostile name is still a prompt file: none is silently left out of the check.
        expect(diff.prompts.length).toBe(changed.length);
        const stamp = { headSha: 'abcdef1', runId: '100', runAttempt: '1' };
        const markdown = renderCostReport(diff, { baseLabel: 'base', headLabel: 'head', stamp });
        expect(markdown.length).toBeLessThanOrEqual(MAX_COMMENT_LENGTH);
        // The sticky comment is found by its first line; a name holding the marker or a forged run stamp
        // must neither make a second marker line nor change which run the comment says wrote it.
        expect(markdown.split('\n')[0]).toBe(COST_REPORT_MARKER);
        expect(markdown.split('\n').filter((line) => line.trim() === COST_REPORT_MARKER).length).toBe(1);
        expect(parseRunStamp(markdown)).toEqual(stamp);

        const prose = withoutCodeSpans(markdown);
        const allowed = new Set([...ALLOWED_TAGS, formatRunStamp(stamp)]);
        for (const tag of htmlTags(prose)) expect(allowed.has(tag), `unexpected HTML ${tag}`).toBe(true);
        expect(prose).not.toMatch(/\]\(\s*javascript:/i);
        expect(prose).not.toMatch(/(^|[^\\])!\[/);

        // The twin report with harmless names has the same shape: no name added a line, a row or a cell.
        const twin = renderCostReport(
          diffPrompts({
            files: changed.map((file, index) => ({ ...file, path: `prompts/${index}-safe.md` })),
            config,
            engine,
          }),
          { baseLabel: 'base', headLabel: 'head', stamp },
        );
        const shape = (text: string) =>
          text.split('\n').map((line) => (line.startsWith('|') ? line.replace(/\\\|/g, '').split('|').length : -1));
        expect(shape(markdown)).toEqual(shape(twin));
      }),
      { numRuns: 150 },
    );
  });
});
