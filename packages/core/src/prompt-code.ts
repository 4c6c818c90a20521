import { parse as parseJavaScript } from '@babel/parser';
import { parser as pythonParser } from '@lezer/python';

/**
 * One LLM call found in source code: the prompt text it sends (literals, templates and the constants they name)
 * and the model it names. Template holes (`${conversation}`, f-string `{conversation}`) are listed in `holes`
 * and priced with the config's `variables:` estimates.
 */
export interface CodeCallSite {
  /** 1-based line of the call. */
  line: number;
  /** The called function as written, e.g. `openai.chat.completions.create` or `generateText`. */
  callee: string;
  /** Name of the enclosing function, method or variable; undefined at module level. */
  functionName?: string;
  /** What a reviewer reads: `system prompt of triage`. */
  label: string;
  /** Identity of the call site across base and head (line numbers move, function names and order rarely do). */
  key: string;
  /** The literal `model` argument; undefined when it is not a literal the extractor can resolve. */
  model?: string;
  messages: CodeMessage[];
  /** Arguments that were neither literals nor constants in the same file: counted as holes, with a note. */
  notes: string[];
}

export interface CodeMessage {
  role: string;
  /** The literal text with holes removed. */
  content: string;
  /** Template holes in order of appearance (`conversation`, `user.name`, `expression` when not a name). */
  holes: string[];
}

export type CodeLanguage = 'javascript' | 'typescript' | 'python';

/** The language of a source file by extension, or undefined when the extractor does not read it. */
export function codeLanguage(path: string): CodeLanguage | undefined {
  const lower = path.toLowerCase();
  if (/\.(ts|mts|cts|tsx)$/.test(lower)) return 'typescript';
  if (/\.(js|mjs|cjs|jsx)$/.test(lower)) return 'javascript';
  if (/\.(py|pyi)$/.test(lower)) return 'python';
  return undefined;
}

/**
 * Finds the OpenAI, Anthropic and Vercel AI SDK calls of a TypeScript/JavaScript or Python file. Never throws on
 * file content: a file that does not parse yields what error recovery could read, plus a note.
 */
export function extractCodePrompts(path: string, text: string): { calls: CodeCallSite[]; notes: string[] } {
  const language = codeLanguage(path);
  if (!language) return { calls: [], notes: [`${path}: not a TypeScript, JavaScript or Python file`] };
  try {
    return language === 'python' ? extractPython(text) : extractJavaScript(text, path.toLowerCase());
  } catch (error) {
    // The readers recurse over the syntax tree: hostile nesting must cost a note, not the whole check.
    if (error instanceof RangeError) return { calls: [], notes: ['nested too deeply to read: no calls counted'] };
    throw error;
  }
}

/** Calls whose first object argument (or keyword arguments) carries the prompt. */
const SDK_METHODS = [
  'chat.completions.create',
  'chat.completions.parse',
  'chat.completions.stream',
  'beta.chat.completions.parse',
  'responses.create',
  'responses.parse',
  'responses.stream',
  'messages.create',
  'messages.stream',
  'messages.count_tokens',
  'messages.countTokens',
  'completions.create',
];
const VERCEL_FUNCTIONS = new Set(['generateText', 'streamText', 'generateObject', 'streamObject']);
const _PROMPT_KEYS = ['system', 'instructions', 'messages', 'input', 'prompt'] as const;

function isPromptCall(callee: string): boolean {
  if (VERCEL_FUNCTIONS.has(callee)) return true;
  return SDK_METHODS.some((method) => callee === method || callee.endsWith(`.${method}`));
}

type Piece = { text: string } | { hole: string };

/** The arguments of one call, read into a language-neutral shape. */
interface RawCall {
  line: number;
  callee: string;
  functionName?: string;
  model?: string;
  modelUnresolved?: string;
  system: Piece[][];
  instructions?: Piece[];
  messages: { role: string; pieces: Piece[] }[];
  prompt?: Piece[];
  notes: string[];
}

function finishCalls(raw: RawCall[]): CodeCallSite[] {
  const ordinals = new Map<string, number>();
  return raw.map((call) => {
    const scope = `${call.functionName ?? '<module>'}#${call.callee}`;
    const ordinal = ordinals.get(scope) ?? 0;
    ordinals.set(scope, ordinal + 1);
    const messages: CodeMessage[] = [];
    const push = (role: string, pieces: Piece[]) => {
      let content = '';
      const holes: string[] = [];
      for (const piece of pieces) {
        if ('text' in piece) content += piece.text;
        else holes.push(piece.hole);
      }
      messages.push({ role, content, holes });
    };
    for (const pieces of call.system) push('system', pieces);
    if (call.instructions) push('system', call.instructions);
    for (const message of call.messages) push(message.role, message.pieces);
    if (call.prompt) push('user', call.prompt);
    const main = messages.find((message) => message.role === 'system' || message.role === 'developer') ?? messages[0];
    const what = main ? `${main.role === 'developer' ? 'system' : main.role} prompt` : 'call';
    const notes = [...call.notes];
    if (call.modelUnresolved)
      notes.push(`model is \`${call.modelUnresolved}\`, not a literal: the config model is used`);
    return {
      line: call.line,
      callee: call.callee,
      ...(call.functionName ? { functionName: call.functionName } : {}),
      label: call.functionName ? `${what} of ${call.functionName}` : what,
      key: `${scope}#${ordinal}`,
      ...(call.model ? { model: call.model } : {}),
      messages,
      notes,
    };
  });
}

// ---------------------------------------------------------------- TypeScript / JavaScript (Babel)

// biome-ignore lint/suspicious/noExplicitAny: Babel's AST is walked generically.
type JsNode = any;

const SKIP_KEYS = new Set([
  'loc',
  'start',
  'end',
  'range',
  'extra',
  'leadingComments',
  'trailingComments',
  'innerComments',
]);

function extractJavaScript(text: string, lowerPath: string): { calls: CodeCallSite[]; notes: string[] } {
  const typescript = /\.(ts|mts|cts|tsx)$/.test(lowerPath);
  const jsx = /\.(tsx|jsx|js|mjs|cjs)$/.test(lowerPath);
  const plugins: ('typescript' | 'jsx')[] = [];
  if (typescript) plugins.push('typescript');
  if (jsx) plugins.push('jsx');
  let ast: JsNode;
  try {
    ast = parseJavaScript(text, { sourceType: 'unambiguous', errorRecovery: true, plugins });
  } catch (error) {
    return { calls: [], notes: [`does not parse (${(error as Error).message.split('\n')[0]})`] };
  }
  const notes: string[] = (ast.errors ?? []).length > 0 ? ['has syntax errors: read what could be parsed'] : [];
  const constants = new Map<string, JsNode>();
  const calls: { node: JsNode; functionName?: string }[] = [];

  const walk = (node: JsNode, functionName: string | undefined): void => {
    if (!node || typeof node.type !== 'string') return;
    let scopeName = functionName;
    if (node.type === 'VariableDeclarator' && node.id?.type === 'Identifier' && node.init) {
      constants.set(node.id.name, node.init);
      const init = unwrapJs(node.init);
      if (init.type === 'ArrowFunctionExpression' || init.type === 'FunctionExpression') scopeName = node.id.name;
    }
    if (node.type === 'FunctionDeclaration' && node.id) scopeName = node.id.name;
    if ((node.type === 'ClassMethod' || node.type === 'ObjectMethod') && node.key?.type === 'Identifier') {
      scopeName = node.key.name;
    }
    if (
      node.type === 'ObjectProperty' &&
      node.key?.type === 'Identifier' &&
      ['ArrowFunctionExpression', 'FunctionExpression'].includes(node.value?.type)
    ) {
      scopeName = node.key.name;
    }
    if (node.type === 'CallExpression' || node.type === 'OptionalCallExpression') {
      const callee = jsCalleeName(node.callee);
      if (callee && isPromptCall(callee)) calls.push({ node, ...(scopeName ? { functionName: scopeName } : {}) });
    }
    for (const key of Object.keys(node)) {
      if (SKIP_KEYS.has(key)) continue;
      const value = node[key];
      if (Array.isArray(value)) for (const child of value) walk(child, scopeName);
      else if (value && typeof value === 'object' && typeof value.type === 'string') walk(value, scopeName);
    }
  };
  walk(ast.program, undefined);

  const raw = calls.map(({ node, functionName }): RawCall => {
    const reader = new JsReader(text, constants);
    const call: RawCall = {
      line: node.loc?.start.line ?? 0,
      callee: jsCalleeName(node.callee) ?? '',
      ...(functionName ? { functionName } : {}),
      system: [],
      messages: [],
      notes: reader.notes,
    };
    const options = node.arguments?.[0] ? unwrapJs(reader.resolve(node.arguments[0])) : undefined;
    if (options?.type !== 'ObjectExpression') {
      reader.notes.push('the call options are not an object literal: nothing counted');
      return call;
    }
    for (const property of options.properties) {
      if (property.type !== 'ObjectProperty') continue;
      const key = property.computed ? undefined : jsKeyName(property.key);
      const value = property.shorthand ? property.key : property.value;
      if (key === 'model') readJsModel(reader, value, call);
      else if (key === 'system') call.system.push(...reader.systemBlocks(value));
      else if (key === 'instructions') call.instructions = reader.text(value);
      else if (key === 'messages') call.messages.push(...reader.messages(value));
      else if (key === 'input') {
        const input = unwrapJs(reader.resolve(value));
        if (input.type === 'ArrayExpression') call.messages.push(...reader.messages(input));
        else call.messages.push({ role: 'user', pieces: reader.text(input) });
      } else if (key === 'prompt') call.prompt = reader.text(value);
    }
    return call;
  });
  return { calls: finishCalls(raw), notes };
}

function readJsModel(reader: JsReader, value: JsNode, call: RawCall): void {
  let node = unwrapJs(reader.resolve(value));
  // Vercel AI SDK: `model: openai('gpt-4o')`, `anthropic('claude-…')`, `openai.chat('gpt-4o')`.
  if (node.type === 'CallExpression' && node.arguments?.[0]) node = unwrapJs(reader.resolve(node.arguments[0]));
  const literal = jsStaticString(node);
  if (literal !== undefined) call.model = literal;
  else call.modelUnresolved = reader.source(value);
}

class JsReader {
  readonly notes: string[] = [];
  constructor(
    private readonly sourceText: string,
    private readonly constants: Map<string, JsNode>,
  ) {}

  source(node: JsNode): string {
    const source = this.sourceText.slice(node.start, node.end);
    return source.length > 60 ? `${source.slice(0, 57)}…` : source;
  }

  /** Follows an identifier to the constant it names in this file (a few steps, so cycles end). */
  resolve(node: JsNode): JsNode {
    let current = unwrapJs(node);
    for (let step = 0; step < 8 && current.type === 'Identifier'; step++) {
      const target = this.constants.get(current.name);
      if (!target) break;
      current = unwrapJs(target);
    }
    return current;
  }

  text(node: JsNode, depth = 0): Piece[] {
    const value = this.resolve(node);
    if (value.type === 'StringLiteral') return [{ text: value.value }];
    if (value.type === 'TemplateLiteral') {
      const pieces: Piece[] = [];
      value.quasis.forEach((quasi: JsNode, index: number) => {
        pieces.push({ text: quasi.value.cooked ?? quasi.value.raw });
        const expression = value.expressions[index];
        if (expression) {
          const resolved = this.resolve(expression);
          if (depth < 8 && (resolved.type === 'StringLiteral' || resolved.type === 'TemplateLiteral')) {
            pieces.push(...this.text(resolved, depth + 1));
          } else pieces.push({ hole: holeName(this.source(expression)) });
        }
      });
      return pieces;
    }
    if (value.type === 'BinaryExpression' && value.operator === '+' && depth < 32) {
      return [...this.text(value.left, depth + 1), ...this.text(value.right, depth + 1)];
    }
    if (value.type === 'ArrayExpression') {
      // Content parts: `[{ type: 'text', text: '…' }, { type: 'image_url', … }]`: only text is counted here.
      return value.elements.flatMap((element: JsNode) => {
        const part = element ? this.resolve(element) : undefined;
        if (part?.type !== 'ObjectExpression') return [];
        const textProperty = jsProperty(part, 'text');
        return textProperty ? this.text(textProperty, depth + 1) : [];
      });
    }
    const name = holeName(this.source(node));
    this.notes.push(`\`${name}\` is not a literal in this file: counted as a template variable`);
    return [{ hole: name }];
  }

  systemBlocks(node: JsNode): Piece[][] {
    const value = this.resolve(node);
    if (value.type === 'ArrayExpression') {
      // Anthropic `system: [{ type: 'text', text, cache_control }]`: one system prompt of several blocks.
      return [this.text(value)];
    }
    return [this.text(value)];
  }

  messages(node: JsNode): { role: string; pieces: Piece[] }[] {
    const list = this.resolve(node);
    if (list.type !== 'ArrayExpression') {
      const name = holeName(this.source(node));
      this.notes.push(`messages \`${name}\` are built at run time: counted as a template variable`);
      return [{ role: 'user', pieces: [{ hole: name }] }];
    }
    const messages: { role: string; pieces: Piece[] }[] = [];
    for (const element of list.elements) {
      if (!element) continue;
      const message = this.resolve(element);
      if (message.type !== 'ObjectExpression') {
        const name = holeName(this.source(element));
        messages.push({ role: 'user', pieces: [{ hole: name }] });
        this.notes.push(`message \`${name}\` is built at run time: counted as a template variable`);
        continue;
      }
      const roleNode = jsProperty(message, 'role');
      const role = (roleNode && jsStaticString(this.resolve(roleNode))) ?? 'user';
      const content = jsProperty(message, 'content');
      messages.push({ role, pieces: content ? this.text(content) : [] });
    }
    return messages;
  }
}

function unwrapJs(node: JsNode): JsNode {
  let current = node;
  while (
    current &&
    [
      'TSAsExpression',
      'TSSatisfiesExpression',
      'TSNonNullExpression',
      'ParenthesizedExpression',
      'AwaitExpression',
    ].includes(current.type)
  ) {
    current = current.expression ?? current.argument;
  }
  return current;
}

function jsStaticString(node: JsNode): string | undefined {
  if (node?.type === 'StringLiteral') return node.value;
  if (node?.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value.cooked;
  return undefined;
}

function jsKeyName(key: JsNode): string | undefined {
  if (key?.type === 'Identifier') return key.name;
  if (key?.type === 'StringLiteral') return key.value;
  return undefined;
}

function jsProperty(object: JsNode, name: string): JsNode | undefined {
  for (const property of object.properties) {
    if (property.type === 'ObjectProperty' && !property.computed && jsKeyName(property.key) === name) {
      return property.shorthand ? property.key : property.value;
    }
  }
  return undefined;
}

function jsCalleeName(node: JsNode): string | undefined {
  const current = unwrapJs(node);
  if (current?.type === 'Identifier') return current.name;
  if (current?.type === 'ThisExpression') return 'this';
  if ((current?.type === 'MemberExpression' || current?.type === 'OptionalMemberExpression') && !current.computed) {
    const object = jsCalleeName(current.object);
    const property = current.property?.type === 'Identifier' ? current.property.name : undefined;
    if (object && property) return `${object}.${property}`;
  }
  return undefined;
}

/** A hole's name as the `variables:` config keys it: `conversation`, `user.name`; anything else is `expression`. */
function holeName(source: string): string {
  const trimmed = source.trim().replace(/^this\./, '');
  return /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/.test(trimmed) ? trimmed : 'expression';
}

// ---------------------------------------------------------------- Python (Lezer)

interface PyNode {
  name: string;
  from: number;
  to: number;
  children: PyNode[];
}

function extractPython(text: string): { calls: CodeCallSite[]; notes: string[] } {
  const tree = pythonParser.parse(text);
  const notes: string[] = [];
  // The Lezer tree is compact and cursor-based; one plain copy keeps the readers below simple.
  const cursor = tree.cursor();
  let sawError = false;
  const build = (): PyNode => {
    const node: PyNode = { name: cursor.name, from: cursor.from, to: cursor.to, children: [] };
    if (cursor.type.isError) sawError = true;
    if (cursor.firstChild()) {
      do node.children.push(build());
      while (cursor.nextSibling());
      cursor.parent();
    }
    return node;
  };
  const root = build();
  if (sawError) notes.push('has syntax errors: read what could be parsed');

  const lineStarts = [0];
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) lineStarts.push(index + 1);
  const lineOf = (offset: number): number => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((lineStarts[middle] ?? 0) <= offset) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  };
  const source = (node: PyNode) => text.slice(node.from, node.to);
  const significant = (node: PyNode) => node.children.filter((child) => !/^[(){}[\],:.=]$/.test(child.name));

  const constants = new Map<string, PyNode>();
  const found: { node: PyNode; functionName?: string }[] = [];
  const walk = (node: PyNode, functionName: string | undefined): void => {
    let scopeName = functionName;
    if (node.name === 'AssignStatement') {
      // `NAME = value`, `NAME: str = value`, `A = B = value`: every plain name before an `=` gets the last value.
      const value = node.children.at(-1);
      const parts = node.children.filter((child) => child.name !== 'TypeDef');
      if (value && parts.every((child, index) => (index % 2 === 1 ? child.name === 'AssignOp' : true))) {
        for (let index = 0; index + 1 < parts.length; index += 2) {
          const target = parts[index] as PyNode;
          if (target.name === 'VariableName') constants.set(source(target), value);
        }
      }
    }
    if (node.name === 'FunctionDefinition') {
      const name = node.children.find((child) => child.name === 'VariableName');
      if (name) scopeName = source(name);
    }
    if (node.name === 'CallExpression') {
      const callee = node.children[0];
      const calleeName = callee ? pyDottedName(callee, source) : undefined;
      if (calleeName && isPromptCall(calleeName))
        found.push({ node, ...(scopeName ? { functionName: scopeName } : {}) });
    }
    for (const child of node.children) walk(child, scopeName);
  };
  walk(root, undefined);

  const raw = found.map(({ node, functionName }): RawCall => {
    const callNotes: string[] = [];
    const resolve = (value: PyNode): PyNode => {
      let current = value;
      for (let step = 0; step < 8 && current.name === 'VariableName'; step++) {
        const target = constants.get(source(current));
        if (!target) break;
        current = target;
      }
      while (current.name === 'ParenthesizedExpression' && significant(current).length === 1) {
        current = significant(current)[0] as PyNode;
      }
      return current;
    };
    const hole = (value: PyNode, what: string): Piece => {
      const name = holeName(source(value));
      callNotes.push(`${what}\`${name}\` is not a literal in this file: counted as a template variable`);
      return { hole: name };
    };
    const readText = (value: PyNode, depth = 0): Piece[] => {
      const resolved = resolve(value);
      if (resolved.name === 'String') return [{ text: pyStringValue(source(resolved)) }];
      if (resolved.name === 'ContinuedString') return resolved.children.flatMap((part) => readText(part, depth + 1));
      if (resolved.name === 'FormatString') return readFormatString(resolved);
      if (resolved.name === 'BinaryExpression' && depth < 32) {
        const [left, op, right] = resolved.children;
        if (left && right && op && source(op) === '+')
          return [...readText(left, depth + 1), ...readText(right, depth + 1)];
      }
      if (resolved.name === 'ArrayExpression') {
        return significant(resolved).flatMap((part) => {
          const entry = pyDictEntry(resolve(part), 'text', source);
          return entry ? readText(entry, depth + 1) : [];
        });
      }
      return [hole(value, '')];
    };
    const readFormatString = (node: PyNode): Piece[] => {
      const pieces: Piece[] = [];
      const raw = source(node);
      const prefix = /^[A-Za-z]*/.exec(raw)?.[0].length ?? 0;
      const quote = raw.startsWith('"""', prefix) || raw.startsWith("'''", prefix) ? 3 : 1;
      let at = node.from + prefix + quote;
      const end = node.to - quote;
      for (const child of node.children) {
        if (child.name !== 'FormatReplacement') continue;
        pieces.push({ text: pyUnescape(text.slice(at, child.from).replace(/\{\{/g, '{').replace(/\}\}/g, '}')) });
        const expression = child.children.find((part) => !/^[{}]$/.test(part.name) && !part.name.startsWith('Format'));
        pieces.push({ hole: holeName(expression ? source(expression) : 'expression') });
        at = child.to;
      }
      pieces.push({ text: pyUnescape(text.slice(at, end).replace(/\{\{/g, '{').replace(/\}\}/g, '}')) });
      return pieces;
    };
    const readMessages = (value: PyNode): { role: string; pieces: Piece[] }[] => {
      const list = resolve(value);
      if (list.name !== 'ArrayExpression') return [{ role: 'user', pieces: [hole(value, 'messages ')] }];
      return significant(list).map((element) => {
        const message = resolve(element);
        if (message.name !== 'DictionaryExpression') return { role: 'user', pieces: [hole(element, 'message ')] };
        const roleNode = pyDictEntry(message, 'role', source);
        const role =
          roleNode && resolve(roleNode).name === 'String' ? pyStringValue(source(resolve(roleNode))) : 'user';
        const content = pyDictEntry(message, 'content', source);
        return { role, pieces: content ? readText(content) : [] };
      });
    };

    const call: RawCall = {
      line: lineOf(node.from),
      callee: pyDottedName(node.children[0] as PyNode, source) ?? '',
      ...(functionName ? { functionName } : {}),
      system: [],
      messages: [],
      notes: callNotes,
    };
    const argList = node.children.find((child) => child.name === 'ArgList');
    const args = argList?.children ?? [];
    for (let index = 0; index + 2 < args.length; index++) {
      const [name, op, value] = [args[index], args[index + 1], args[index + 2]] as [PyNode, PyNode, PyNode];
      if (name.name !== 'VariableName' || op.name !== 'AssignOp') continue;
      const key = source(name);
      if (key === 'model') {
        const model = resolve(value);
        if (model.name === 'String') call.model = pyStringValue(source(model));
        else call.modelUnresolved = source(value);
      } else if (key === 'system') call.system.push(readText(value));
      else if (key === 'instructions') call.instructions = readText(value);
      else if (key === 'messages') call.messages.push(...readMessages(value));
      else if (key === 'input') {
        const input = resolve(value);
        if (input.name === 'ArrayExpression') call.messages.push(...readMessages(input));
        else call.messages.push({ role: 'user', pieces: readText(input) });
      } else if (key === 'prompt') call.prompt = readText(value);
    }
    return call;
  });
  return { calls: finishCalls(raw), notes };
}

function pyDottedName(node: PyNode, source: (node: PyNode) => string): string | undefined {
  if (node.name === 'VariableName') return source(node);
  if (node.name === 'MemberExpression') {
    const [object, dot, property] = node.children;
    if (object && dot?.name === '.' && property?.name === 'PropertyName') {
      const left = pyDottedName(object, source);
      return left ? `${left}.${source(property)}` : undefined;
    }
  }
  return undefined;
}

function pyDictEntry(dict: PyNode, key: string, source: (node: PyNode) => string): PyNode | undefined {
  const parts = dict.children;
  for (let index = 0; index + 2 < parts.length; index++) {
    const [name, colon, value] = [parts[index], parts[index + 1], parts[index + 2]] as [PyNode, PyNode, PyNode];
    if (colon.name === ':' && name.name === 'String' && pyStringValue(source(name)) === key) return value;
  }
  return undefined;
}

/** The value of a Python string literal: prefixes, single/triple quotes, the common escapes. */
function pyStringValue(literal: string): string {
  const prefix = /^[A-Za-z]*/.exec(literal)?.[0] ?? '';
  const body = literal.slice(prefix.length);
  const quote = body.startsWith('"""') || body.startsWith("'''") ? 3 : 1;
  const inner = body.slice(quote, body.length - quote);
  return /r/i.test(prefix) ? inner : pyUnescape(inner);
}

const PY_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '\n': '' };

function pyUnescape(text: string): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[\s\S])/g, (whole, sequence: string) => {
    if (sequence.length > 1) return String.fromCharCode(Number.parseInt(sequence.slice(1), 16));
    return PY_ESCAPES[sequence] ?? whole;
  });
}
