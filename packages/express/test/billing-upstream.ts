import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { countWithEncoding } from '@tokenmeter/core';

/**
 * A fake provider that bills what the real one would: the true input tokens of each request (tiktoken for
 * OpenAI models, a documented deterministic count for Claude) and the largest output the request allows
 * (its cap, or the model's documented maximum, times `n`), as if every model talked until it was cut off.
 * Routes exactly `POST /v1/chat/completions`, `/v1/responses` and, for Anthropic, `/anthropic/v1/messages`
 * (the proxy's `anthropicUpstream` is `<url>/anthropic`, a base with a path); anything else is a 404.
 * Images carry their true size (a PNG header in a data URL, or `?w=&h=` on a URL the fake "downloads"),
 * which the proxy does not read: the reservation must bound them without it.
 */
export interface BillingUpstream {
  url: string;
  /** Requests billed, in arrival order. */
  billed: Array<{ path: string; input: number; output: number; tier: string }>;
  /** Bill this service tier whatever the request asks (a project whose default tier is priority). */
  forceTier: string | undefined;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/**
 * Maximum output per model, from the providers' model pages (https://platform.openai.com/docs/models/gpt-4o,
 * /gpt-4o-mini, /gpt-4.1, /gpt-5-mini).
 */
const MAX_OUTPUT: Record<string, number> = {
  'gpt-4o': 16_384,
  'gpt-4o-mini': 16_384,
  'gpt-4.1': 32_768,
  'gpt-5-mini': 128_000,
};

const openaiTokens = (text: string, model: string) =>
  countWithEncoding(text, model.startsWith('gpt-3.5') || model === 'gpt-4' ? 'cl100k_base' : 'o200k_base').tokens;

/**
 * Claude's tokenizer is not public. This fake bills 1.2 × the cl100k_base count of each text: a real BPE, so
 * dense text (code, ids, CJK, emoji, random characters) costs more per character than prose, scaled so
 * English prose comes out near Anthropic's rule of thumb of about 3.5 characters per token
 * (https://docs.anthropic.com/en/docs/about-claude/pricing#faq); never more than the text's UTF-8 bytes,
 * which no byte-level tokenizer can exceed.
 */
export const claudeTokens = (text: string) =>
  Math.min(Buffer.byteLength(text, 'utf8'), Math.ceil(countWithEncoding(text, 'cl100k_base').tokens * 1.2));

/** Width and height of a PNG from its IHDR chunk (bytes 16–23), or a URL's `?w=&h=`. */
export function imageSize(url: string): { width: number; height: number } {
  if (url.startsWith('data:')) {
    const bytes = Buffer.from(url.slice(url.indexOf(',') + 1, url.indexOf(',') + 1 + 44), 'base64');
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  const query = new URL(url).searchParams;
  return { width: Number(query.get('w')), height: Number(query.get('h')) };
}

/** A data URL holding a PNG header of the given size (enough for any decoder to read the dimensions). */
export function pngDataUrl(width: number, height: number): string {
  const header = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header, 0);
  header.writeUInt32BE(13, 8);
  header.write('IHDR', 12, 'latin1');
  header.writeUInt32BE(width, 16);
  header.writeUInt32BE(height, 20);
  header[24] = 8;
  header[25] = 6;
  return `data:image/png;base64,${header.toString('base64')}`;
}

/** A minimal PDF with `pages` page objects. */
export function pdfBase64(pages: number): string {
  const kids = Array.from({ length: pages }, (_, index) => `${index + 3} 0 R`).join(' ');
  let text = `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [${kids}] /Count ${pages} >> endobj\n`;
  for (let index = 0; index < pages; index++) text += `${index + 3} 0 obj << /Type /Page /Parent 2 0 R >> endobj\n`;
  return Buffer.from(`${text}%%EOF\n`, 'latin1').toString('base64');
}

/**
 * OpenAI image tokens (https://platform.openai.com/docs/guides/images-vision#calculating-costs): `low` is the
 * base; otherwise fit in 2048×2048, scale the shortest side down to 768, and pay per 512-px tile. Patch
 * models (gpt-4.1-mini, gpt-5-mini: ×1.62) pay per 32-px patch, at most 1,536 patches.
 */
function openaiImageTokens(model: string, url: string, detail: unknown): number {
  const { width, height } = imageSize(url);
  if (model === 'gpt-5-mini') {
    let w = width;
    let h = height;
    const patches = () => Math.ceil(w / 32) * Math.ceil(h / 32);
    if (patches() > 1_536) {
      const shrink = Math.sqrt((1_536 * 32 * 32) / (w * h));
      w = Math.floor(w * shrink);
      h = Math.floor(h * shrink);
    }
    return Math.ceil(Math.min(1_536, patches()) * 1.62);
  }
  const { base, tile } = model === 'gpt-4o-mini' ? { base: 2_833, tile: 5_667 } : { base: 85, tile: 170 };
  if (detail === 'low') return base;
  let w = width;
  let h = height;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shrink = Math.min(1, 768 / Math.min(w, h));
  w *= shrink;
  h *= shrink;
  return base + tile * Math.ceil(w / 512) * Math.ceil(h / 512);
}

/**
 * Anthropic image tokens (https://docs.anthropic.com/en/docs/build-with-claude/vision#evaluate-image-size):
 * width × height / 750, after scaling the long edge to at most 1,568 px and the image to at most ~1,600 tokens.
 */
function claudeImageTokens(url: string): number {
  const { width, height } = imageSize(url);
  const long = Math.max(width, height);
  const scale = Math.min(1, 1568 / long);
  return Math.min(1_600, Math.ceil((width * scale * height * scale) / 750));
}

// OpenAI cookbook `num_tokens_for_tools` (o200k models): 7 per function, 3 if it has properties, 3 per
// property (nested schemas as their JSON text), enums −3 then 3 + tokens per item, 12 at the end.
function openaiToolTokens(functions: Json[], model: string): number {
  if (functions.length === 0) return 0;
  let total = 12;
  for (const fn of functions) {
    const description = String(fn.description ?? '').replace(/\.$/, '');
    total += 7 + openaiTokens(`${String(fn.name)}:${description}`, model);
    const properties = isObject(fn.parameters) && isObject(fn.parameters.properties) ? fn.parameters.properties : {};
    if (Object.keys(properties).length === 0) continue;
    total += 3;
    for (const [key, raw] of Object.entries(properties)) {
      const property = isObject(raw) ? raw : {};
      total += 3;
      if (Array.isArray(property.enum)) {
        total -= 3;
        for (const item of property.enum) total += 3 + openaiTokens(String(item), model);
      }
      const nested = 'properties' in property || 'items' in property ? JSON.stringify(property) : '';
      total += openaiTokens(`${key}:${String(property.type)}:${String(property.description ?? '')}${nested}`, model);
    }
  }
  return total;
}

function openaiPartTokens(part: unknown, model: string): number {
  if (typeof part === 'string') return openaiTokens(part, model);
  if (!isObject(part)) return 0;
  if ((part.type === 'text' || part.type === 'input_text') && typeof part.text === 'string')
    return openaiTokens(part.text, model);
  if (part.type === 'image_url' && isObject(part.image_url))
    return openaiImageTokens(model, String(part.image_url.url), part.image_url.detail);
  if (part.type === 'input_image') return openaiImageTokens(model, String(part.image_url), part.detail);
  return openaiTokens(JSON.stringify(part), model);
}

// OpenAI cookbook `num_tokens_from_messages`: 3 per message + every value + 1 per name, 3 reply priming.
function chatInput(body: Json, model: string): number {
  let total = 3;
  for (const message of list(body.messages)) {
    if (!isObject(message)) continue;
    total += 3;
    for (const [key, value] of Object.entries(message)) {
      if (typeof value === 'string') total += openaiTokens(value, model) + (key === 'name' ? 1 : 0);
      else if (key === 'content') for (const part of list(value)) total += openaiPartTokens(part, model);
      else if (key === 'tool_calls')
        for (const call of list(value)) {
          const fn = isObject(call) && isObject(call.function) ? call.function : {};
          total += 3 + openaiTokens(String(fn.name ?? ''), model) + openaiTokens(String(fn.arguments ?? ''), model);
        }
    }
  }
  const tools = list(body.tools).flatMap((tool) => (isObject(tool) && isObject(tool.function) ? [tool.function] : []));
  total += openaiToolTokens(tools, model);
  // Structured outputs: the schema is given to the model as its JSON text inside a short system template.
  const format = isObject(body.response_format) ? body.response_format : undefined;
  if (format?.type === 'json_schema') total += 10 + openaiTokens(JSON.stringify(format.json_schema), model);
  return total;
}

function responsesInput(body: Json, model: string): number {
  let total = 3;
  if (typeof body.instructions === 'string') total += 3 + openaiTokens(body.instructions, model);
  if (typeof body.input === 'string') total += 3 + openaiTokens(body.input, model);
  for (const item of list(body.input)) {
    if (!isObject(item)) continue;
    total += 3;
    if (typeof item.content === 'string') total += openaiTokens(item.content, model);
    for (const part of list(item.content)) total += openaiPartTokens(part, model);
    if (item.type === 'function_call')
      total += openaiTokens(String(item.name), model) + openaiTokens(String(item.arguments), model);
    if (item.type === 'function_call_output') total += openaiTokens(String(item.output), model);
  }
  const tools = list(body.tools).flatMap((tool) => (isObject(tool) && tool.type === 'function' ? [tool] : []));
  total += openaiToolTokens(tools, model);
  const format = isObject(body.text) && isObject(body.text.format) ? body.text.format : undefined;
  if (format?.type === 'json_schema')
    total += 10 + openaiTokens(`${String(format.name)}${JSON.stringify(format.schema)}`, model);
  return total;
}

function claudeBlockTokens(block: unknown): number {
  if (typeof block === 'string') return claudeTokens(block);
  if (!isObject(block)) return 0;
  switch (block.type) {
    case 'text':
      return claudeTokens(String(block.text));
    case 'image': {
      const source = isObject(block.source) ? block.source : {};
      const url = source.type === 'base64' ? `data:image/png;base64,${String(source.data)}` : String(source.url);
      return claudeImageTokens(url);
    }
    case 'document': {
      // PDFs (https://docs.anthropic.com/en/docs/build-with-claude/pdf-support#estimate-your-costs): each page's
      // text, 1,500–3,000 tokens (billed here at the top of that range), plus the page as an image.
      const source = isObject(block.source) ? block.source : {};
      const text = Buffer.from(String(source.data), 'base64').toString('latin1');
      const pages = text.match(/\/Type \/Page\b(?!s)/g)?.length ?? 0;
      return pages * (3_000 + 1_600);
    }
    case 'tool_use':
      return 3 + claudeTokens(String(block.name)) + claudeTokens(JSON.stringify(block.input));
    case 'tool_result':
      return 3 + (typeof block.content === 'string' ? claudeTokens(block.content) : claudeBlocks(block.content));
    default:
      return claudeTokens(JSON.stringify(block));
  }
}

function claudeBlocks(content: unknown): number {
  if (typeof content === 'string') return claudeTokens(content);
  let total = 0;
  for (const block of list(content)) total += claudeBlockTokens(block);
  return total;
}

/**
 * Claude input: 3 per message and the blocks; tools add Anthropic's tool-use system prompt (346 tokens on
 * Claude 4 models) and each definition as text, a versioned client tool its documented size (computer use:
 * 735 + a 499-token system prompt) (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/overview#pricing).
 */
function messagesInput(body: Json): number {
  let total = 3 + claudeBlocks(body.system);
  for (const message of list(body.messages)) if (isObject(message)) total += 3 + claudeBlocks(message.content);
  const tools = list(body.tools).filter(isObject);
  if (tools.length > 0) total += 346;
  for (const tool of tools) {
    if (typeof tool.type === 'string' && /_\d{8}$/.test(tool.type)) total += 735 + 499;
    else
      total += claudeTokens(
        `${String(tool.name)}${String(tool.description ?? '')}${JSON.stringify(tool.input_schema ?? {})}`,
      );
  }
  return total;
}

function hasCacheControl(value: unknown): 'none' | '5m' | '1h' {
  let found: 'none' | '5m' | '1h' = 'none';
  const visit = (node: unknown) => {
    if (Array.isArray(node)) for (const item of node) visit(item);
    else if (isObject(node)) {
      if (isObject(node.cache_control)) found = node.cache_control.ttl === '1h' || found === '1h' ? '1h' : '5m';
      for (const inner of Object.values(node)) visit(inner);
    }
  };
  visit(value);
  return found;
}

export async function startBillingUpstream(): Promise<BillingUpstream> {
  const billed: BillingUpstream['billed'] = [];
  const state: BillingUpstream = { url: '', billed, forceTier: undefined, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (
        req.method !== 'POST' ||
        !['/v1/chat/completions', '/v1/responses', '/anthropic/v1/messages'].includes(req.url ?? '')
      ) {
        send(404, { error: { type: 'not_found', message: `no route ${req.method} ${req.url}` } });
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      const model = String(body.model);
      const asked = body.service_tier === 'priority' || body.service_tier === 'flex' ? body.service_tier : 'default';
      const tier = state.forceTier ?? asked;
      const n = typeof body.n === 'number' ? body.n : 1;
      if (req.url === '/v1/chat/completions') {
        const input = chatInput(body, model);
        const cap = Number(body.max_completion_tokens ?? body.max_tokens ?? MAX_OUTPUT[model]);
        const output = cap * n;
        billed.push({ path: req.url, input, output, tier });
        // Shape: https://platform.openai.com/docs/api-reference/chat/object
        send(200, {
          id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
          object: 'chat.completion',
          created: 1741569952,
          model,
          choices: Array.from({ length: n }, (_, index) => ({
            index,
            message: { role: 'assistant', content: 'Hello.', refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: 'length',
          })),
          usage: {
            prompt_tokens: input,
            completion_tokens: output,
            total_tokens: input + output,
            prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
            completion_tokens_details: {
              reasoning_tokens: 0,
              audio_tokens: 0,
              accepted_prediction_tokens: 0,
              rejected_prediction_tokens: 0,
            },
          },
          service_tier: tier,
        });
        return;
      }
      if (req.url === '/v1/responses') {
        const input = responsesInput(body, model);
        const output = Number(body.max_output_tokens ?? MAX_OUTPUT[model]);
        billed.push({ path: req.url, input, output, tier });
        // Shape: https://platform.openai.com/docs/api-reference/responses/object
        send(200, {
          id: 'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b',
          object: 'response',
          created_at: 1741476542,
          status: 'incomplete',
          incomplete_details: { reason: 'max_output_tokens' },
          model,
          output: [
            {
              type: 'message',
              id: 'msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b',
              status: 'incomplete',
              role: 'assistant',
              content: [{ type: 'output_text', text: 'Hello.', annotations: [] }],
            },
          ],
          service_tier: tier,
          usage: {
            input_tokens: input,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: output,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: input + output,
          },
        });
        return;
      }
      const input = messagesInput(body);
      const output = Number(body.max_tokens);
      const cache = hasCacheControl(body);
      billed.push({ path: req.url ?? '', input, output, tier: 'standard' });
      // Shape: https://docs.anthropic.com/en/api/messages (response example); a cached prompt is billed as a
      // cache write (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#pricing).
      send(200, {
        id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF',
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text: 'Hello.' }],
        stop_reason: 'max_tokens',
        stop_sequence: null,
        usage: {
          input_tokens: cache === 'none' ? input : 0,
          cache_creation_input_tokens: cache === 'none' ? 0 : input,
          cache_read_input_tokens: 0,
          cache_creation: {
            ephemeral_5m_input_tokens: cache === '5m' ? input : 0,
            ephemeral_1h_input_tokens: cache === '1h' ? input : 0,
          },
          output_tokens: output,
          service_tier: 'standard',
        },
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
