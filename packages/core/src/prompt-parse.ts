import type { CodeCallSite } from './prompt-code';
import { safeYaml } from './safe-yaml';
import type { ChatMessage, TokenCount } from './types';

/** How a prompt file was read. */
export type PromptFormat =
  | 'text'
  | 'markdown'
  | 'front-matter'
  | 'prompty'
  | 'dotprompt'
  | 'chat-json'
  | 'chat-yaml'
  | 'code'
  | 'model-config';

/** Counts tokens for the prompt parser; `defaultPromptCounter()` uses tiktoken through @tokenmeter/core. */
export interface PromptCounter {
  countText(text: string, model: string): TokenCount;
  countChat(messages: ChatMessage[], model: string): TokenCount;
}

export interface ParsePromptOptions {
  /** The model from the config; a model named in the file's front matter (or chat file) wins. */
  model: string;
  /** Token estimates per template variable name. */
  variables?: Record<string, number>;
  /** Tokens for a variable without an estimate. Default 0. */
  defaultVariableTokens?: number;
  counter: PromptCounter;
}

export interface PromptVariableUse {
  name: string;
  occurrences: number;
  tokensEach: number;
  /** False when the config has no estimate for it and `defaultVariableTokens` was used. */
  configured: boolean;
}

export interface ParsedPrompt {
  path: string;
  format: PromptFormat;
  /** Why the file was not counted (binary, too large): `tokens` is then 0 and must not be read as a count. */
  skipped?: string;
  model: string;
  modelSource: 'config' | 'file';
  /** Input tokens of one call with every placeholder replaced by its estimate. */
  tokens: number;
  encoding: TokenCount['encoding'];
  /** True when the count is not exact: placeholders, a model without a public tokenizer, or a fallback. */
  estimated: boolean;
  variables: PromptVariableUse[];
  /** Things a reviewer should know (unparseable front matter read as text, unknown variables…). */
  notes: string[];
}

/** GitHub's contents API serves files fully up to 1 MB; a prompt larger than that is not a prompt. */
export const MAX_PROMPT_BYTES = 1024 * 1024;

const TEXT_DECODER = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a prompt file and counts the input tokens of one call. Never throws on file content: anything it
 * cannot read as its format is counted as plain text with a note, and binary or oversized files are skipped
 * with the reason.
 */
export function parsePromptFile(path: string, content: string | Uint8Array, options: ParsePromptOptions): ParsedPrompt {
  const base: ParsedPrompt = {
    path,
    format: 'text',
    model: options.model,
    modelSource: 'config',
    tokens: 0,
    encoding: 'estimate',
    estimated: false,
    variables: [],
    notes: [],
  };
  const decoded = decodeContent(content);
  if ('skipped' in decoded) return { ...base, skipped: decoded.skipped };
  const text = decoded.text.replace(/^\uFEFF/, '');
  const lowerPath = path.toLowerCase();
  const placeholders = new PlaceholderCounter(options);

  if (/\.(json|ya?ml)$/.test(lowerPath)) {
    const chat = readChatFile(text, lowerPath.endsWith('.json') ? 'json' : 'yaml');
    if (chat.messages) {
      const model = chat.model ?? options.model;
      const messages = chat.messages.map((message) => placeholders.stripMessage(message));
      const count = safeCount(() => options.counter.countChat(messages, model), JSON.stringify(messages));
      return finish(base, {
        format: lowerPath.endsWith('.json') ? 'chat-json' : 'chat-yaml',
        model,
        modelSource: chat.model ? 'file' : 'config',
        count,
        placeholders,
        notes: chat.notes,
      });
    }
    base.notes.push(...chat.notes, 'not a chat-message array: counted as plain text');
  }

  const frontMatter = splitFrontMatter(text);
  if (frontMatter) {
    const format: PromptFormat = lowerPath.endsWith('.prompty')
      ? 'prompty'
      : lowerPath.endsWith('.prompt')
        ? 'dotprompt'
        : 'front-matter';
    const notes: string[] = [];
    let fileModel: string | undefined;
    try {
      fileModel = modelFromFrontMatter(safeYaml(frontMatter.yaml));
    } catch {
      notes.push('front matter is not valid YAML: the config model is used');
    }
    const model = fileModel ?? options.model;
    const messages = splitRoleSections(frontMatter.body);
    const count = messages
      ? safeCount(
          () =>
            options.counter.countChat(
              messages.map((message) => placeholders.stripMessage(message)),
              model,
            ),
          frontMatter.body,
        )
      : countText(placeholders.strip(frontMatter.body), model, options.counter);
    return finish(base, { format, model, modelSource: fileModel ? 'file' : 'config', count, placeholders, notes });
  }

  const format: PromptFormat = /\.(md|markdown|mdx)$/.test(lowerPath) ? 'markdown' : 'text';
  const count = countText(placeholders.strip(text), options.model, options.counter);
  return finish(base, { format, model: options.model, modelSource: 'config', count, placeholders, notes: [] });
}

/**
 * Counts one LLM call found in source code as a chat: its literal text exactly, each template hole at the
 * `variables:` estimate for its name (`conversation`, `ticket.subject` or its root `ticket`). A literal `model`
 * argument wins over the config model.
 */
export function parseCodeCall(path: string, call: CodeCallSite, options: ParsePromptOptions): ParsedPrompt {
  const placeholders = new PlaceholderCounter(options);
  const model = call.model ?? options.model;
  const messages: ChatMessage[] = call.messages.map((message) => {
    for (const hole of message.holes) placeholders.record(hole);
    return { role: message.role, content: message.content };
  });
  const count = safeCount(() => options.counter.countChat(messages, model), JSON.stringify(messages));
  return finish(
    {
      path,
      format: 'code',
      model,
      modelSource: 'config',
      tokens: 0,
      encoding: 'estimate',
      estimated: false,
      variables: [],
      notes: [],
    },
    { format: 'code', model, modelSource: call.model ? 'file' : 'config', count, placeholders, notes: call.notes },
  );
}

function finish(
  base: ParsedPrompt,
  result: {
    format: PromptFormat;
    model: string;
    modelSource: 'config' | 'file';
    count: TokenCount;
    placeholders: PlaceholderCounter;
    notes: string[];
  },
): ParsedPrompt {
  const variables = result.placeholders.uses();
  const variableTokens = variables.reduce((sum, use) => sum + use.occurrences * use.tokensEach, 0);
  const unconfigured = variables.filter((use) => !use.configured).map((use) => use.name);
  const notes = [...base.notes, ...result.notes];
  if (unconfigured.length > 0) {
    notes.push(`no token estimate for ${unconfigured.map((name) => `{{${name}}}`).join(', ')}`);
  }
  return {
    ...base,
    format: result.format,
    model: result.model,
    modelSource: result.modelSource,
    tokens: result.count.tokens + variableTokens,
    encoding: result.count.encoding,
    estimated: result.count.estimated || variables.length > 0,
    variables,
    notes,
  };
}

/** The text of a prompt or source file, or why it is skipped (binary, not UTF-8, larger than 1 MB). */
export function decodeContent(content: string | Uint8Array): { text: string } | { skipped: string } {
  if (typeof content === 'string') {
    if (Buffer.byteLength(content, 'utf8') > MAX_PROMPT_BYTES) return { skipped: 'larger than 1 MB' };
    if (content.includes('\u0000')) return { skipped: 'binary file' };
    return { text: content };
  }
  if (content.byteLength > MAX_PROMPT_BYTES) return { skipped: 'larger than 1 MB' };
  if (content.subarray(0, 8000).includes(0)) return { skipped: 'binary file' };
  try {
    return { text: TEXT_DECODER.decode(content) };
  } catch {
    return { skipped: 'binary file (not UTF-8)' };
  }
}

function countText(text: string, model: string, counter: PromptCounter): TokenCount {
  return safeCount(() => counter.countText(text, model), text);
}

/** A counter failure must not lose the file: fall back to ≈ 4 characters per token and say it is an estimate. */
function safeCount(count: () => TokenCount, text: string): TokenCount {
  try {
    return count();
  } catch {
    return { tokens: Math.ceil(text.length / 4), encoding: 'estimate', estimated: true };
  }
}

function splitFrontMatter(text: string): { yaml: string; body: string } | undefined {
  const match = /^---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!match) return undefined;
  return { yaml: match[1] ?? '', body: text.slice(match[0].length) };
}

/** `model: gpt-4o`, dotprompt `model: openai/gpt-4o`, prompty `model: { configuration: { name | model | azure_deployment } }`. */
function modelFromFrontMatter(document: unknown): string | undefined {
  if (typeof document !== 'object' || document === null) return undefined;
  const model = (document as { model?: unknown }).model;
  if (typeof model === 'string' && model.trim() !== '') return model.trim();
  if (typeof model === 'object' && model !== null) {
    const configuration = (model as { configuration?: unknown }).configuration;
    for (const candidate of [configuration, model]) {
      if (typeof candidate !== 'object' || candidate === null) continue;
      for (const key of ['model', 'name', 'azure_deployment', 'id']) {
        const value = (candidate as Record<string, unknown>)[key];
        if (typeof value === 'string' && value.trim() !== '') return value.trim();
      }
    }
  }
  return undefined;
}

const ROLE_LINE = /^[ \t]*(system|user|assistant|developer|tool)[ \t]*:[ \t]*$/gim;
const DOTPROMPT_ROLE = /\{\{\s*role\s+["'](\w+)["']\s*\}\}/g;

/** Prompty (`system:` lines) and dotprompt (`{{role "system"}}`) bodies are chat messages, counted as such. */
function splitRoleSections(body: string): ChatMessage[] | undefined {
  for (const pattern of [ROLE_LINE, DOTPROMPT_ROLE]) {
    const matches = [...body.matchAll(pattern)];
    if (matches.length === 0) continue;
    const messages: ChatMessage[] = [];
    const leading = body.slice(0, matches[0]?.index ?? 0).trim();
    if (leading) messages.push({ role: 'system', content: leading });
    matches.forEach((match, index) => {
      const start = (match.index ?? 0) + match[0].length;
      const end = matches[index + 1]?.index ?? body.length;
      messages.push({ role: (match[1] ?? 'user').toLowerCase(), content: body.slice(start, end).trim() });
    });
    return messages;
  }
  return undefined;
}

function readChatFile(
  text: string,
  syntax: 'json' | 'yaml',
): { messages?: ChatMessage[]; model?: string; notes: string[] } {
  let document: unknown;
  try {
    document = syntax === 'json' ? JSON.parse(text) : safeYaml(text);
  } catch {
    return { notes: [`not valid ${syntax.toUpperCase()}`] };
  }
  let list: unknown = document;
  let model: string | undefined;
  if (typeof document === 'object' && document !== null && !Array.isArray(document)) {
    list = (document as { messages?: unknown }).messages;
    const fileModel = (document as { model?: unknown }).model;
    if (typeof fileModel === 'string' && fileModel.trim() !== '') model = fileModel.trim();
  }
  if (!Array.isArray(list) || list.length === 0) return { notes: [] };
  const messages: ChatMessage[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null || typeof (item as { role?: unknown }).role !== 'string') {
      return { notes: [] };
    }
    const message = item as ChatMessage;
    const content = message.content;
    const normalized: ChatMessage = { role: message.role };
    if (typeof content === 'string' || content === null) normalized.content = content;
    else if (Array.isArray(content)) normalized.content = content;
    else if (content !== undefined) normalized.content = JSON.stringify(content);
    if (typeof message.name === 'string') normalized.name = message.name;
    messages.push(normalized);
  }
  return { messages, ...(model ? { model } : {}), notes: [] };
}

const CONTROL_EXPRESSION = /^(?:[#/^>!&]|else\b|role\s|media\s|history\b|section\s|json\b)/;
const SINGLE_BRACE_VARIABLE = /[A-Za-z_][\w.]*\}/y;
const MAX_EXPRESSION = 500;

/**
 * Removes template syntax in one left-to-right pass: Jinja comments and statements, Handlebars comments and
 * block helpers count nothing; `{{var}}`, `{{{var}}}`, `{{ var | filter }}` and `{var}` are reported to
 * `onVariable`. A scanner rather than one big regex: hostile input (a megabyte of `{{`) stays linear.
 */
export function stripTemplate(text: string, onVariable: (name: string) => void): string {
  const nextCloser = new Map<string, number>();
  // The first closer at or after `from`; remembered, because a later search can only find the same one or none.
  const find = (closer: string, from: number): number => {
    const known = nextCloser.get(closer);
    if (known !== undefined && (known === -1 || known >= from)) return known;
    const found = text.indexOf(closer, from);
    nextCloser.set(closer, found);
    return found;
  };
  let output = '';
  let index = 0;
  while (index < text.length) {
    const open = text.indexOf('{', index);
    if (open === -1) {
      output += text.slice(index);
      break;
    }
    output += text.slice(index, open);
    const second = text[open + 1];
    let skipTo = -1;
    if (second === '#' || second === '%') {
      const close = find(`${second}}`, open + 2);
      if (close !== -1) skipTo = close + 2;
    } else if (second === '{') {
      const triple = text[open + 2] === '{';
      const longComment = text.startsWith('{{!--', open);
      const closer = triple ? '}}}' : longComment ? '--}}' : '}}';
      const start = open + (triple ? 3 : 2);
      const close = find(closer, start);
      if (
        close !== -1 &&
        (longComment || (close - start <= MAX_EXPRESSION && !text.slice(start, close).includes('{')))
      ) {
        if (!longComment) {
          const inner = text.slice(start, close).replace(/^-/, '').replace(/-$/, '').trim();
          const name = CONTROL_EXPRESSION.test(inner) ? undefined : /^[A-Za-z_$@][\w$.[\]@-]*/.exec(inner)?.[0];
          if (name) onVariable(name);
        }
        skipTo = close + closer.length;
      }
    } else if (text[open - 1] !== '$' && text[open - 1] !== '/') {
      // `${x}` is a JavaScript template and `/notes/{id}` a URL path, not a prompt variable.
      SINGLE_BRACE_VARIABLE.lastIndex = open + 1;
      const match = SINGLE_BRACE_VARIABLE.exec(text);
      const end = open + 1 + (match?.[0].length ?? 0);
      if (match && match[0].length <= 101 && text[end] !== '}') {
        onVariable(match[0].slice(0, -1));
        skipTo = end;
      }
    }
    if (skipTo === -1) {
      output += '{';
      index = open + 1;
    } else {
      index = skipTo;
    }
  }
  return output;
}

class PlaceholderCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly options: ParsePromptOptions) {}

  record(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  /** Removes template syntax from `text`, remembering each variable occurrence. */
  strip(text: string): string {
    return stripTemplate(text, (name) => this.counts.set(name, (this.counts.get(name) ?? 0) + 1));
  }

  stripMessage(message: ChatMessage): ChatMessage {
    const copy: ChatMessage = { ...message };
    if (typeof message.content === 'string') copy.content = this.strip(message.content);
    else if (Array.isArray(message.content)) {
      copy.content = message.content.map((part) =>
        part.type === 'text' && typeof part.text === 'string' ? { ...part, text: this.strip(part.text) } : part,
      ) as ChatMessage['content'];
    }
    return copy;
  }

  uses(): PromptVariableUse[] {
    const estimates = this.options.variables ?? {};
    return [...this.counts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, occurrences]) => {
        const root = name.split(/[.[]/)[0] ?? name;
        const estimate = Object.hasOwn(estimates, name)
          ? estimates[name]
          : Object.hasOwn(estimates, root)
            ? estimates[root]
            : undefined;
        return {
          name,
          occurrences,
          tokensEach: estimate ?? this.options.defaultVariableTokens ?? 0,
          configured: estimate !== undefined,
        };
      });
  }
}
