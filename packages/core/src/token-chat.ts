import { countWithEncoding } from './token-count';
import { encodingForModel } from './token-encoding';
import { estimateRuleFor, estimateTokens } from './token-estimate';
import type { ChatMessage, TokenCount, TokenEncodingName, ToolDefinition } from './types';

/**
 * Image input tokens by OpenAI's tile rule: `low` detail is the base cost; `high` scales the image to fit
 * 2048×2048, then its shortest side to 768 px, and costs `tile` per 512-px tile plus the base.
 * Per-family base/tile values are OpenAI's published ones; families not listed (gpt-5, gpt-4.1-mini/nano,
 * o4-mini: patch-based) are counted with the gpt-4o values and flagged estimated.
 */
const IMAGE_COSTS: ReadonlyArray<{ pattern: RegExp; base: number; tile: number }> = [
  { pattern: /(^|[/.])gpt-4o-mini/, base: 2833, tile: 5667 },
  {
    pattern: /(^|[/.])(gpt-4o|chatgpt-4o|gpt-4\.5|gpt-4-turbo|gpt-4-vision|gpt-4\.1(?!-mini|-nano))/,
    base: 85,
    tile: 170,
  },
  { pattern: /(^|[/.])(o1|o3)(?!-mini)([-.@:]|$)/, base: 75, tile: 150 },
  { pattern: /(^|[/.])computer-use-preview/, base: 65, tile: 129 },
];

/** Image size assumed when a high/auto-detail image comes without its dimensions: 1024×1024 (765 tokens on gpt-4o). */
export const ASSUMED_IMAGE_SIZE = { width: 1024, height: 1024 } as const;

export interface ImageInput {
  detail?: 'low' | 'high' | 'auto' | string;
  width?: number;
  height?: number;
}

/** Tokens of one image for a model, and whether that is an estimate (unknown size or family). */
export function imageTokens(image: ImageInput, model: string): { tokens: number; estimated: boolean } {
  const name = model.toLowerCase();
  const family = IMAGE_COSTS.find((entry) => entry.pattern.test(name));
  const { base, tile } = family ?? { base: 85, tile: 170 };
  let estimated = family === undefined;
  if (image.detail === 'low') return { tokens: base, estimated };
  let { width, height } = image;
  const known = isDimension(width) && isDimension(height);
  if (!known) {
    // Without the size (it is inside the image bytes or behind a URL) assume a common one, and say so.
    width = ASSUMED_IMAGE_SIZE.width;
    height = ASSUMED_IMAGE_SIZE.height;
    estimated = true;
  }
  return { tokens: base + tile * tileCount(width as number, height as number), estimated };
}

function isDimension(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** 512-px tiles after fitting into 2048×2048 and scaling the shortest side down to 768. */
export function tileCount(width: number, height: number): number {
  let w = width;
  let h = height;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shrink = Math.min(1, 768 / Math.min(w, h));
  w *= shrink;
  h *= shrink;
  // A hair of tolerance so 768.0000000001 from float scaling does not add a tile.
  return Math.ceil(w / 512 - 1e-9) * Math.ceil(h / 512 - 1e-9);
}

function overheads(model: string): { perMessage: number; perName: number } {
  // gpt-3.5-turbo-0301 wrapped messages differently (cookbook `num_tokens_from_messages`).
  return /gpt-3\.5-turbo-0301/.test(model) ? { perMessage: 4, perName: -1 } : { perMessage: 3, perName: 1 };
}

/**
 * Prompt tokens of a Chat Completions request, following OpenAI's cookbook (`num_tokens_from_messages`,
 * `num_tokens_for_tools`): 3 per message + the tokens of every value + 1 per name + 3 reply-priming; tools
 * by the cookbook's per-function and per-property constants; images by the tile rule. Parts with no
 * published rule (tool calls, audio, files, nested tool schemas) are counted from their text and flag the
 * result estimated. Models without a public tokenizer get a character estimate of the same layout.
 */
export function countChatTokens(
  messages: ChatMessage[],
  model: string,
  options: { tools?: ToolDefinition[] } = {},
): TokenCount {
  if (!Array.isArray(messages)) throw new TypeError('countChatTokens: messages must be an array');
  let encoding: TokenEncodingName | 'estimate' = encodingForModel(model) ?? 'o200k_base';
  let estimated = encodingForModel(model) === undefined;
  const rule = estimated ? estimateRuleFor(model) : undefined;
  if (rule !== undefined) encoding = 'estimate';

  const count = (text: string): number => {
    if (rule !== undefined) return estimateTokens(text, rule);
    const counted = countWithEncoding(text, encoding as TokenEncodingName);
    if (counted.approximate) estimated = true;
    return counted.tokens;
  };

  const { perMessage, perName } = overheads(model);
  let tokens = 0;
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) {
      throw new TypeError('countChatTokens: every message must be an object with a role');
    }
    tokens += perMessage;
    for (const [key, value] of Object.entries(message)) {
      if (value === undefined || value === null) continue;
      if (typeof value === 'string') {
        tokens += count(value);
        if (key === 'name') tokens += perName;
      } else if (key === 'content' && Array.isArray(value)) {
        for (const part of value) tokens += contentPartTokens(part);
      } else if (key === 'tool_calls' && Array.isArray(value)) {
        estimated = true;
        for (const call of value) tokens += toolCallTokens(call);
      } else {
        estimated = true;
        tokens += count(JSON.stringify(value) ?? '');
      }
    }
  }
  tokens += 3; // every reply is primed with <|start|>assistant<|message|>

  const tools = options.tools ?? [];
  if (tools.length > 0) tokens += toolTokens(tools);
  return { tokens, encoding, estimated };

  function contentPartTokens(part: unknown): number {
    if (typeof part === 'string') return count(part);
    if (typeof part !== 'object' || part === null) return 0;
    const record = part as Record<string, unknown>;
    if (record.type === 'text' && typeof record.text === 'string') return count(record.text);
    if (record.type === 'image_url' && typeof record.image_url === 'object' && record.image_url !== null) {
      const image = imageTokens(record.image_url as ImageInput, model);
      if (image.estimated || rule !== undefined) estimated = true;
      return image.tokens;
    }
    estimated = true;
    return count(JSON.stringify(part));
  }

  function toolCallTokens(call: unknown): number {
    if (typeof call !== 'object' || call === null) return 0;
    const fn = (call as { function?: { name?: unknown; arguments?: unknown } }).function;
    if (fn === undefined) return count(JSON.stringify(call));
    return count(String(fn.name ?? '')) + count(String(fn.arguments ?? ''));
  }

  function toolTokens(definitions: ToolDefinition[]): number {
    // Cookbook constants: 7 per function on o200k models, 10 on cl100k; 3 if it has properties, 3 per
    // property, enums −3 then 3 per item; 12 once at the end.
    const functionInit = encoding === 'cl100k_base' ? 10 : 7;
    let total = 0;
    for (const definition of definitions) {
      const fn = definition?.function;
      if (typeof fn !== 'object' || fn === null || typeof fn.name !== 'string') {
        throw new TypeError('countChatTokens: every tool needs function.name');
      }
      total += functionInit;
      total += count(`${fn.name}:${dropFinalPeriod(fn.description ?? '')}`);
      const properties = (fn.parameters as { properties?: Record<string, unknown> } | undefined)?.properties;
      if (properties === undefined || properties === null || Object.keys(properties).length === 0) continue;
      total += 3;
      for (const [key, raw] of Object.entries(properties)) {
        total += 3;
        const property = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        if (Array.isArray(property.enum)) {
          total -= 3;
          for (const item of property.enum) total += 3 + count(String(item));
        }
        const type = property.type;
        if (typeof type !== 'string' || 'properties' in property || 'items' in property || 'anyOf' in property) {
          // Nested schemas and union types are outside the cookbook's rule.
          estimated = true;
        }
        const description = typeof property.description === 'string' ? property.description : '';
        total += count(
          `${key}:${Array.isArray(type) ? type.join('|') : String(type ?? '')}:${dropFinalPeriod(description)}`,
        );
      }
    }
    return total + 12;
  }
}

function dropFinalPeriod(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}
