import {
  type ChatMessage,
  countChatTokens,
  countTokensAsync,
  freeEncoders,
  type TokenCount,
  type ToolDefinition,
} from '@tokenmeter/core';
import type { Command } from 'commander';
import { CliInputError, parseJsonInput, printJson, printLine, readInput } from './output';

interface CountCommandOptions {
  model: string;
  messages?: string;
  tools?: string;
  json?: boolean;
}

function sourceName(path: string): string {
  return path === '-' ? 'standard input' : path;
}

/** A JSON array of chat messages, or a whole request body with `messages` (and maybe `tools`). */
export function parseMessages(value: unknown, source: string): { messages: ChatMessage[]; tools?: ToolDefinition[] } {
  const body = value as { messages?: unknown; tools?: unknown };
  const list = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? body.messages : undefined;
  if (!Array.isArray(list)) {
    throw new CliInputError(`${source} must be a JSON array of chat messages (or a request body with "messages").`);
  }
  list.forEach((message, index) => {
    if (typeof message !== 'object' || message === null || typeof (message as ChatMessage).role !== 'string') {
      throw new CliInputError(`${source}: message ${index} must be an object with a string "role".`);
    }
  });
  const tools = Array.isArray(value) ? undefined : body.tools;
  return { messages: list as ChatMessage[], ...(tools === undefined ? {} : { tools: parseTools(tools, source) }) };
}

export function parseTools(value: unknown, source: string): ToolDefinition[] {
  const list = Array.isArray(value) ? value : (value as { tools?: unknown } | null)?.tools;
  if (!Array.isArray(list)) throw new CliInputError(`${source} must be a JSON array of tool definitions.`);
  list.forEach((tool, index) => {
    const name = (tool as ToolDefinition | null)?.function?.name;
    if (typeof name !== 'string') {
      throw new CliInputError(`${source}: tool ${index} must look like {"type":"function","function":{"name":…}}.`);
    }
  });
  return list as ToolDefinition[];
}

async function action(file: string | undefined, options: CountCommandOptions): Promise<void> {
  let count: TokenCount;
  try {
    if (options.messages !== undefined) {
      if (file !== undefined) throw new CliInputError('Give either a text FILE or --messages FILE, not both.');
      const parsed = parseMessages(
        parseJsonInput(await readInput(options.messages), sourceName(options.messages)),
        sourceName(options.messages),
      );
      let tools = parsed.tools;
      if (options.tools !== undefined) {
        tools = parseTools(
          parseJsonInput(await readInput(options.tools), sourceName(options.tools)),
          sourceName(options.tools),
        );
      }
      count = countChatTokens(parsed.messages, options.model, tools === undefined ? {} : { tools });
    } else {
      if (options.tools !== undefined) throw new CliInputError('--tools only applies with --messages.');
      if (file === undefined)
        throw new CliInputError('Give a text FILE (or - for standard input), or --messages FILE.');
      count = await countTokensAsync(await readInput(file), options.model);
    }
  } finally {
    freeEncoders();
  }
  if (options.json) {
    printJson({ model: options.model, tokens: count.tokens, encoding: count.encoding, estimated: count.estimated });
    return;
  }
  const how = count.encoding === 'estimate' ? 'character estimate: no public tokenizer' : count.encoding;
  printLine(`${count.tokens.toLocaleString('en-US')} tokens (${how}${count.estimated ? ', estimated' : ''})`);
}

export function register(program: Command): void {
  program
    .command('count')
    .description('Count tokens of a text, or of a chat request (messages, tools, images) for a model.')
    .argument('[file]', 'text file to count; "-" reads standard input')
    .requiredOption('--model <model>', 'model whose tokenizer to use (gpt-4o, gpt-4, o3, claude-… is estimated)')
    .option('--messages <file>', 'JSON array of chat messages, or a request body with "messages"')
    .option('--tools <file>', 'JSON array of tool definitions (with --messages)')
    .option('--json', 'print JSON instead of text')
    .action(action);
}
