import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costOfTokens, parsePricePerMillion } from './money';
import { extractCodePrompts } from './prompt-code';
import { parseCheckConfig } from './prompt-config';
import { type ChangedFile, diffPrompts, type PromptEngine } from './prompt-diff';
import { fakePromptEngine } from './prompt-engine-fake';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'prompts-in-code');
const fixture = (path: string) => readFileSync(join(FIXTURES, path), 'utf8');
const TRIAGE = 'src/agents/triage.ts';
const ESCALATE = 'src/agents/escalate.py';

describe('extractCodePrompts: TypeScript', () => {
  const { calls, notes } = extractCodePrompts(TRIAGE, fixture(TRIAGE));

  it('finds the OpenAI, Anthropic and Vercel AI SDK calls with their line, label and model', () => {
    expect(notes).toEqual([]);
    expect(calls.map((call) => [call.line, call.callee, call.label, call.model])).toEqual([
      [21, 'client.chat.completions.create', 'system prompt of triage', 'gpt-4o-mini'],
      [32, 'anthropic.messages.create', 'system prompt of summarize', 'claude-sonnet-4-5'],
      [43, 'generateText', 'system prompt of draftReply', 'gpt-4o'],
    ]);
  });

  it('follows a constant referenced by name and keeps template holes as variables', () => {
    const [triage] = calls;
    expect(triage?.messages[0]).toEqual({
      role: 'system',
      content:
        'You are the triage agent of a support desk.\n' +
        'Read the conversation and answer with one label: billing, bug, feature-request or other.\n' +
        'Answer with the label only.',
      holes: [],
    });
    expect(triage?.messages[1]).toEqual({
      role: 'user',
      content: 'Subject: \n\n',
      holes: ['ticket.subject', 'ticket.conversation'],
    });
  });

  it('reads Anthropic `system` and Vercel `system` + `prompt` as system and user messages', () => {
    const [, summarize, draft] = calls;
    expect(summarize?.messages.map((message) => [message.role, message.content, message.holes])).toEqual([
      ['system', 'Summarize the support conversation in three bullet points for the next agent.', []],
      ['user', '', ['conversation']],
    ]);
    expect(draft?.messages.map((message) => [message.role, message.content, message.holes])).toEqual([
      ['system', 'You draft polite, short replies to customers. Never promise refunds.', []],
      ['user', 'Draft a reply to this conversation:\n', ['conversation']],
    ]);
  });

  it('reads `instructions` and `input` of the Responses API, string concatenation and content parts', () => {
    const source = [
      "const PREFIX = 'Be brief. ';",
      'class Agent {',
      '  async run(question: string) {',
      '    return this.client.responses.create({',
      "      model: 'gpt-4.1',",
      "      instructions: PREFIX + 'Answer in French.',",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this is source text containing a template literal.
      '      input: [{ role: "user", content: [{ type: "input_text", text: `Q: ${question}` }] }],',
      '    });',
      '  }',
      '}',
    ].join('\n');
    const [call] = extractCodePrompts('agent.ts', source).calls;
    expect(call).toMatchObject({ line: 4, label: 'system prompt of run', model: 'gpt-4.1' });
    expect(call?.messages).toEqual([
      { role: 'system', content: 'Be brief. Answer in French.', holes: [] },
      { role: 'user', content: 'Q: ', holes: ['question'] },
    ]);
  });

  it('reads Anthropic system blocks with cache_control and a typed constant', () => {
    const source = [
      "const SYS: string = 'You are terse.';",
      'await anthropic.messages.create({',
      "  model: 'claude-sonnet-4-5',",
      '  max_tokens: 100,',
      "  system: [{ type: 'text', text: SYS, cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Two.' }],",
      "  messages: [{ role: 'user', content: 'Hi' }],",
      '});',
    ].join('\n');
    expect(extractCodePrompts('x.ts', source).calls[0]?.messages).toEqual([
      { role: 'system', content: 'You are terse.Two.', holes: [] },
      { role: 'user', content: 'Hi', holes: [] },
    ]);
  });

  it('says so when the model is not a literal, and ignores calls that are not LLM SDK calls', () => {
    const source =
      "fetch('/x', { model: 'gpt-4o' });\nawait openai.chat.completions.create({ model: pickModel(), messages });";
    const { calls: found } = extractCodePrompts('a.js', source);
    expect(found).toHaveLength(1);
    expect(found[0]?.model).toBeUndefined();
    expect(found[0]?.notes.join('\n')).toMatch(/model is `pickModel\(\)`, not a literal/);
    expect(found[0]?.messages).toEqual([{ role: 'user', content: '', holes: ['messages'] }]);
  });

  it('never throws on arbitrary text, TypeScript or Python', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.constantFrom('x.ts', 'x.tsx', 'x.js', 'x.py'), (text, path) => {
        const result = extractCodePrompts(path, text);
        expect(Array.isArray(result.calls)).toBe(true);
      }),
      { numRuns: 300 },
    );
    // Hostile nesting deeper than any parser's stack: a note, never an exception.
    for (const path of ['deep.ts', 'deep.py']) {
      const deep = `x = ${'['.repeat(50_000)}${']'.repeat(50_000)}\nclient.messages.create(system=${'"a" + '.repeat(20_000)}"b")`;
      expect(extractCodePrompts(path, deep).notes.length).toBeGreaterThan(0);
    }
    // Truncations of the real fixtures: error recovery, never an exception.
    for (const path of [TRIAGE, ESCALATE]) {
      const text = fixture(path);
      for (let end = 0; end < text.length; end += 97)
        expect(() => extractCodePrompts(path, text.slice(0, end))).not.toThrow();
    }
  });
});

describe('extractCodePrompts: Python', () => {
  const { calls, notes } = extractCodePrompts(ESCALATE, fixture(ESCALATE));

  it('finds client.chat.completions.create and client.messages.create with keyword arguments', () => {
    expect(notes).toEqual([]);
    expect(calls.map((call) => [call.line, call.callee, call.label, call.model])).toEqual([
      [12, 'client.chat.completions.create', 'system prompt of escalate', 'gpt-4o-mini'],
      [23, 'claude.messages.create', 'system prompt of apologize', 'claude-3-5-haiku-latest'],
    ]);
  });

  it('reads triple-quoted constants, f-string holes and implicitly concatenated strings', () => {
    const [escalate, apologize] = calls;
    expect(escalate?.messages).toEqual([
      {
        role: 'system',
        content:
          'You decide whether a support ticket must be escalated to a human.\nAnswer "yes" or "no" and one sentence of reason.',
        holes: [],
      },
      { role: 'user', content: 'Conversation:\n', holes: ['conversation'] },
    ]);
    expect(apologize?.messages).toEqual([
      {
        role: 'system',
        content: 'Write a two-sentence apology to the customer. Do not mention internal teams.',
        holes: [],
      },
      { role: 'user', content: 'The customer is .', holes: ['customer_name'] },
    ]);
  });

  it('follows annotated and chained assignments', () => {
    const source = [
      'SYSTEM: str = "Be kind."',
      'A = B = "Hello"',
      'client.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": A + B}])',
    ].join('\n');
    expect(extractCodePrompts('x.py', source).calls[0]?.messages).toEqual([
      { role: 'system', content: 'Be kind.', holes: [] },
      { role: 'user', content: 'HelloHello', holes: [] },
    ]);
  });

  it('unescapes literals, keeps raw strings raw and reads {{ }} in f-strings as braces', () => {
    const source = [
      'r = client.responses.create(',
      '    model=MODEL,',
      "    instructions='Tab\\there',",
      '    input=rf"path C:\\dir {{literal}} {name!r:>10}",',
      ')',
    ].join('\n');
    const [call] = extractCodePrompts('x.py', source).calls;
    expect(call?.model).toBeUndefined();
    expect(call?.messages).toEqual([
      { role: 'system', content: 'Tab\there', holes: [] },
      { role: 'user', content: 'path C:\\dir {literal} ', holes: ['name'] },
    ]);
  });
});

// Fake engine: one token per word plus OpenAI's chat overheads (3 per message + 3), gpt-4o at $2.50/$10 and
// gpt-4o-mini at its published $0.15/$0.60 per million tokens (https://openai.com/api/pricing/).
const engine: PromptEngine = {
  ...fakePromptEngine(),
  priceCall(model, inputTokens, outputTokens) {
    if (model !== 'gpt-4o-mini') return fakePromptEngine().priceCall(model, inputTokens, outputTokens);
    return {
      priced: true,
      modelId: 'gpt-4o-mini',
      total: costOfTokens(parsePricePerMillion('0.15'), inputTokens).plus(
        costOfTokens(parsePricePerMillion('0.6'), outputTokens),
      ),
      inputPerMillion: '0.15',
      outputPerMillion: '0.6',
    };
  },
};

const config = parseCheckConfig(`
variables:
  conversation: 500
prompts:
  - code: ["src/**/*.ts", "src/**/*.py"]
    calls-per-month: 10000
    output-tokens: 100
`);

/** The fixture repository's change: draftReply's system prompt grows by 6 words, escalate() moves to gpt-4o. */
function headOf(path: string, text: string): string {
  if (path === TRIAGE) {
    return text.replace('Never promise refunds.', 'Never promise refunds. Always thank the customer by name.');
  }
  return text.replace('model="gpt-4o-mini"', 'model="gpt-4o"');
}

describe('diffPrompts with `code:` entries', () => {
  const files: ChangedFile[] = [TRIAGE, ESCALATE].map((path) => ({
    path,
    status: 'modified',
    before: fixture(path),
    after: headOf(path, fixture(path)),
  }));
  const diff = diffPrompts({ files, config, engine });

  it('prices an edited system prompt and a model switch at the call site, leaving unchanged calls out', () => {
    // draftReply: 3 + (3 + 1 + 10) + (3 + 1 + 6) = 27 words + 500 for {conversation} = 527 → 533 tokens;
    // at gpt-4o with 100 output tokens: $0.0023175 → $0.0023325 per call, × 10,000 calls.
    // escalate: 3 + (3 + 1 + 21) + (3 + 1 + 1) = 33 + 500 = 533 tokens; gpt-4o-mini $0.00013995 → gpt-4o $0.0023325.
    expect(
      diff.prompts.map((prompt) => [
        prompt.path,
        prompt.status,
        prompt.before?.model,
        prompt.after?.model,
        prompt.before?.tokens,
        prompt.after?.tokens,
        prompt.monthlyBefore.toString(),
        prompt.monthlyAfter.toString(),
        prompt.monthlyDelta.toString(),
      ]),
    ).toEqual([
      [
        'src/agents/escalate.py:12 (system prompt of escalate)',
        'modified',
        'gpt-4o-mini',
        'gpt-4o',
        533,
        533,
        '1.3995',
        '23.325',
        '21.9255',
      ],
      [
        'src/agents/triage.ts:43 (system prompt of draftReply)',
        'modified',
        'gpt-4o',
        'gpt-4o',
        527,
        533,
        '23.175',
        '23.325',
        '0.15',
      ],
    ]);
    expect(diff.costDelta.toString()).toBe('22.0755');
    expect(diff.complete).toBe(true);
    expect(diff.prompts[1]?.code).toEqual({
      file: TRIAGE,
      line: 43,
      label: 'system prompt of draftReply',
      callee: 'generateText',
    });
    expect(diff.prompts[0]?.after?.modelSource).toBe('file');
    expect(diff.prompts[0]?.after?.format).toBe('code');
  });

  it('pairs call sites by function, not line: code inserted above moves lines without adding rows', () => {
    const before = fixture(TRIAGE);
    const after = before.replace(
      'export interface Ticket',
      '// A comment\n// moves every line below\nexport interface Ticket',
    );
    const moved = diffPrompts({ files: [{ path: TRIAGE, status: 'modified', before, after }], config, engine });
    expect(moved.prompts).toEqual([]);
  });

  it('adds no rows for any edit outside the prompts: blank lines and comments inserted anywhere between statements', () => {
    for (const path of [TRIAGE, ESCALATE]) {
      const lines = fixture(path).split('\n');
      const comment = path.endsWith('.py') ? '# reviewed' : '// reviewed';
      // Statement starts only: a line inside a multi-line prompt literal is prompt text, not code.
      const starts = lines.flatMap((line, index) =>
        /^\s*(export|const|import|from|def|return|\}|$)/.test(line) ? [index] : [],
      );
      fc.assert(
        fc.property(fc.uniqueArray(fc.constantFrom(...starts), { maxLength: 6 }), (positions) => {
          const edited = lines.flatMap((line, index) =>
            positions.includes(index) ? ['', `${comment}`, line] : [line],
          );
          const result = diffPrompts({
            files: [{ path, status: 'modified', before: fixture(path), after: edited.join('\n') }],
            config,
            engine,
          });
          expect(result.prompts).toEqual([]);
        }),
        { numRuns: 40 },
      );
    }
  });

  it('prices an edit of a constant at the call that references it', () => {
    const before = fixture(TRIAGE);
    const after = before.replace('Answer with the label only.', 'Answer with the label only, in lower case.');
    const rows = diffPrompts({ files: [{ path: TRIAGE, status: 'modified', before, after }], config, engine }).prompts;
    expect(rows.map((row) => [row.path, row.tokensDelta])).toEqual([
      ['src/agents/triage.ts:21 (system prompt of triage)', 3],
    ]);
  });

  it('lists a new call as added and a deleted call as removed, at the config volume', () => {
    // 3 + (3 + 1 + 2) = 9 tokens.
    const source =
      "async function a() { return openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one two' }] }); }";
    const added = diffPrompts({ files: [{ path: 'src/new.ts', status: 'added', after: source }], config, engine });
    expect(added.prompts.map((prompt) => [prompt.path, prompt.status, prompt.after?.tokens])).toEqual([
      ['src/new.ts:1 (user prompt of a)', 'added', 9],
    ]);
    const removed = diffPrompts({ files: [{ path: 'src/new.ts', status: 'removed', before: source }], config, engine });
    expect(removed.prompts.map((prompt) => [prompt.status, prompt.monthlyDelta.isNegative()])).toEqual([
      ['removed', true],
    ]);
  });

  it('prices a model that is not a literal with the config model, and says so', () => {
    const withModel = parseCheckConfig(
      'prompts:\n  - code: "src/**/*.ts"\n    model: gpt-4o\n    calls-per-month: 1\n',
    );
    const before = "await client.messages.create({ model: MODEL, system: 'a b', messages: [] });";
    const after = "await client.messages.create({ model: MODEL, system: 'a b c', messages: [] });";
    const [row] = diffPrompts({
      files: [{ path: 'src/x.ts', status: 'modified', before, after }],
      config: withModel,
      engine,
    }).prompts;
    expect(row?.after?.model).toBe('gpt-4o');
    expect(row?.after?.modelSource).toBe('config');
    expect(row?.after?.notes.join('\n')).toMatch(/model is `MODEL`, not a literal: the config model is used/);
  });
});

describe('parseCheckConfig `code:`', () => {
  it('accepts a code entry without a model and rejects files + code in one entry', () => {
    expect(parseCheckConfig('prompts:\n  - code: "src/**/*.py"\n    calls-per-month: 5\n').prompts[0]).toMatchObject({
      files: ['src/**/*.py'],
      kind: 'code',
    });
    expect(() => parseCheckConfig('prompts:\n  - code: "a.ts"\n    files: "b.md"\n    calls-per-month: 5\n')).toThrow(
      /prompts\[0\]\.code: cannot be combined with `files`/,
    );
  });
});
