import { describe, expect, it } from 'vitest';
import { fakePromptEngine } from './prompt-engine-fake';
import { MAX_PROMPT_BYTES, parsePromptFile } from './prompt-parse';

// The fake engine counts one token per word, and chat as 3 per message + role + content words + 3 for the reply.
const counter = fakePromptEngine();
const options = { model: 'gpt-4o', counter };

describe('parsePromptFile', () => {
  it('counts plain text and Markdown as they are', () => {
    const text = parsePromptFile('prompts/a.txt', 'You are a helpful assistant.', options);
    expect(text).toMatchObject({ format: 'text', tokens: 5, estimated: false, model: 'gpt-4o', modelSource: 'config' });
    const markdown = parsePromptFile('prompts/a.md', '# Role\n\nBe brief.', options);
    expect(markdown).toMatchObject({ format: 'markdown', tokens: 4 });
  });

  it('replaces every placeholder syntax with the configured estimates', () => {
    const text = [
      'Hello {{name}}, about {topic}:', // mustache + single brace
      '{{ user.bio | truncate(100) }}', // Jinja expression with a filter: root name `user` has an estimate
      '{% if premium %}VIP{% endif %}', // Jinja statements count nothing
      '{# a comment #}{{! a handlebars comment }}{{#each items}}item{{/each}}',
      'again {{name}} and {{{raw}}}',
    ].join('\n');
    const parsed = parsePromptFile('p.md', text, {
      ...options,
      variables: { name: 2, topic: 5, user: 40 },
      defaultVariableTokens: 7,
    });
    // Text left after stripping: "Hello , about :\n\nVIP\nitem\nagain  and " → 8 words
    // (Hello, ",", about, ":", VIP, item, again, and).
    // Variables: name 2×2 + topic 5 + user 40 + raw (unconfigured, default 7) = 56.
    expect(parsed.tokens).toBe(8 + 56);
    expect(parsed.estimated).toBe(true);
    expect(parsed.variables).toEqual([
      { name: 'name', occurrences: 2, tokensEach: 2, configured: true },
      { name: 'raw', occurrences: 1, tokensEach: 7, configured: false },
      { name: 'topic', occurrences: 1, tokensEach: 5, configured: true },
      { name: 'user.bio', occurrences: 1, tokensEach: 40, configured: true },
    ]);
    expect(parsed.notes).toEqual(['no token estimate for {{raw}}']);
  });

  it('leaves JSON braces, URL paths and JavaScript templates in a prompt alone', () => {
    const parsed = parsePromptFile('p.txt', 'Reply as {"answer": 1}', options);
    expect(parsed).toMatchObject({ tokens: 4, variables: [] });
    const javascriptTemplate = ['Call GET /notes/{id} with `$', '{token}`'].join('');
    expect(parsePromptFile('p.txt', javascriptTemplate, options).variables).toEqual([]);
  });

  it('reads the model from front matter, which wins over the config, and counts only the body', () => {
    const promptMd = parsePromptFile('a.prompt.md', '---\nmodel: openai/gpt-4o\nmode: agent\n---\nFix the bug.', {
      ...options,
      model: 'gpt-4o-mini',
    });
    expect(promptMd).toMatchObject({ format: 'front-matter', model: 'openai/gpt-4o', modelSource: 'file', tokens: 3 });

    const dotprompt = parsePromptFile(
      'greet.prompt',
      '---\nmodel: googleai/gemini-2.0-flash\n---\n{{role "system"}}\nBe kind.\n{{role "user"}}\nHi {{name}}',
      { ...options, variables: { name: 3 } },
    );
    // Two messages: (3 + 1 + 2) + (3 + 1 + 1) + 3 = 14, plus name 3.
    expect(dotprompt).toMatchObject({ format: 'dotprompt', model: 'googleai/gemini-2.0-flash', tokens: 17 });
  });

  it('reads a .prompty file as chat messages with its configured model', () => {
    const prompty = [
      '---',
      'name: Support',
      'model:',
      '  api: chat',
      '  configuration:',
      '    type: azure_openai',
      '    azure_deployment: gpt-4o',
      '---',
      'system:',
      'You answer support tickets.',
      '',
      'user:',
      '{{question}}',
    ].join('\n');
    const parsed = parsePromptFile('support.prompty', prompty, {
      ...options,
      model: 'other',
      variables: { question: 50 },
    });
    // (3 + 1 + 4) + (3 + 1 + 0) + 3 = 15, plus question 50.
    expect(parsed).toMatchObject({ format: 'prompty', model: 'gpt-4o', modelSource: 'file', tokens: 65 });
  });

  it('counts JSON and YAML chat-message arrays with the chat rules', () => {
    const json = parsePromptFile(
      'chat.json',
      JSON.stringify([
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'Summarize {{doc}}' },
      ]),
      { ...options, variables: { doc: 100 } },
    );
    // (3 + 1 + 2) + (3 + 1 + 1) + 3 = 14, plus doc 100.
    expect(json).toMatchObject({ format: 'chat-json', tokens: 114, estimated: true });

    const yaml = parsePromptFile(
      'review.prompt.yml',
      'name: Review\nmodel: openai/gpt-4o\nmessages:\n  - role: system\n    content: Review code.\n',
      { ...options, model: 'x' },
    );
    // (3 + 1 + 2) + 3 = 9
    expect(yaml).toMatchObject({ format: 'chat-yaml', model: 'openai/gpt-4o', modelSource: 'file', tokens: 9 });
  });

  it('counts JSON that is not a chat array as text, with a note', () => {
    const parsed = parsePromptFile('data.json', '{"a": 1}', options);
    expect(parsed).toMatchObject({ format: 'text', tokens: 2 });
    expect(parsed.notes).toContain('not a chat-message array: counted as plain text');
  });

  it('skips binary and oversized files with the reason', () => {
    expect(parsePromptFile('logo.md', new Uint8Array([0x89, 0x50, 0x00, 0x47]), options).skipped).toBe('binary file');
    expect(parsePromptFile('bad.md', new Uint8Array([0xff, 0xfe, 0xfd]), options).skipped).toBe(
      'binary file (not UTF-8)',
    );
    expect(parsePromptFile('big.md', 'a'.repeat(MAX_PROMPT_BYTES + 1), options).skipped).toBe('larger than 1 MB');
    expect(parsePromptFile('ok.md', new TextEncoder().encode('two words'), options)).toMatchObject({ tokens: 2 });
  });

  it('never throws on hostile content', () => {
    const hostile = [
      '---\nmodel: [unclosed\n---\nbody text',
      '---\na: &a [*a, *a, *a]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n---\nx',
      `${'['.repeat(100_000)}`,
      '{{'.repeat(10_000),
      '{%'.repeat(10_000),
      '\u202e<img src=x onerror=alert(1)>`|`',
    ];
    for (const content of hostile) {
      for (const path of ['x.md', 'x.json', 'x.yaml', 'x.prompty', 'x.prompt']) {
        expect(() => parsePromptFile(path, content, options)).not.toThrow();
      }
    }
    expect(parsePromptFile('x.md', hostile[0] ?? '', options).notes).toContain(
      'front matter is not valid YAML: the config model is used',
    );
  });

  it('falls back to an estimate when the counter fails', () => {
    const failing = {
      ...counter,
      countText: () => {
        throw new Error('tokenizer unavailable');
      },
    };
    expect(parsePromptFile('x.md', 'abcdefgh', { model: 'gpt-4o', counter: failing })).toMatchObject({
      tokens: 2,
      estimated: true,
      encoding: 'estimate',
    });
  });
});
