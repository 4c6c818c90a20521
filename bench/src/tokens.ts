/**
 * Token counting: tokenmeter (`countTokens`, `countChatTokens`, `countTokensAsync`) against raw tiktoken
 * (`encode`, `encode_ordinary`) and gpt-tokenizer, on a 1 MB text, 100-character strings and a chat workload
 * whose system prompts and history repeat. Counts must agree exactly; the benchmark throws if they do not.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { clearTokenCountMemo, countChatTokens, countTokens, countTokensAsync, warmUpEncoders } from '@tokenmeter/core';
import * as gptTokenizer from 'gpt-tokenizer/encoding/o200k_base';
import { get_encoding } from 'tiktoken';
import { startChild } from './child-process';
import { type BenchSection, log, type TargetResult, table } from './report';
import { fixed, integer, median, seeded } from './stats';
import { corpus, shortStrings } from './text-corpus';

const MODEL = 'gpt-4o';
const ONE_MB = 1024 * 1024;
const LARGE_REPEATS = 3;
const SHORT_COUNT = 2000;
const SHORT_BUDGET_MS = 3000;

type Message = { role: string; content: string };

function assertEqual(what: string, counts: Record<string, number>): void {
  const values = Object.values(counts);
  if (values.some((value) => value !== values[0])) {
    throw new Error(`token counts disagree on ${what}: ${JSON.stringify(counts)}`);
  }
}

function timeMedian(repeats: number, before: () => void, body: () => number): { ms: number; result: number } {
  const times: number[] = [];
  let result = 0;
  for (let index = 0; index < repeats; index++) {
    before();
    const started = performance.now();
    result = body();
    times.push(performance.now() - started);
  }
  return { ms: median(times), result };
}

/** Per-call µs over `strings`, looping through them at most once and within the time budget. */
function perCall(strings: string[], body: (text: string) => number): { micros: number; total: number } {
  let total = 0;
  let index = 0;
  const started = performance.now();
  for (; index < strings.length; index++) {
    total += body(strings[index] as string);
    if ((index & 63) === 63 && performance.now() - started > SHORT_BUDGET_MS) break;
  }
  const elapsed = performance.now() - started;
  return { micros: (elapsed * 1000) / (index === strings.length ? index : index + 1), total };
}

/** Conversations that share a few system prompts and resend their history on every turn. */
function chatWorkload(): Message[][] {
  const random = seeded(5);
  const systems = [corpus(2000, 101), corpus(1500, 102), corpus(2500, 103)];
  const conversations = 60;
  const turns = 8;
  const histories: Message[][] = Array.from({ length: conversations }, (_, index) => [
    { role: 'system', content: systems[index % systems.length] as string },
  ]);
  const requests: Message[][] = [];
  let seed = 1000;
  for (let turn = 0; turn < turns; turn++) {
    for (const history of histories) {
      history.push({ role: 'user', content: corpus(150 + Math.floor(random() * 300), seed++) });
      requests.push([...history]);
      // The model's answer becomes history for the next turn.
      history.push({ role: 'assistant', content: corpus(300 + Math.floor(random() * 600), seed++) });
    }
  }
  return requests;
}

/** The cookbook's `num_tokens_from_messages` with a plain count function. */
function cookbookChatTokens(messages: Message[], count: (text: string) => number): number {
  let tokens = 3;
  for (const message of messages) tokens += 3 + count(message.role) + count(message.content);
  return tokens;
}

async function coldStart(library: string): Promise<Record<string, number>> {
  const child = startChild('./token-cold-start.ts', [library]);
  const result = (await child.ready) as Record<string, number>;
  await child.stop();
  return result;
}

/**
 * The longest stretch the event loop could not run: wall-clock gaps between 1 ms ticks, and — because a
 * shared machine also deschedules the whole process — the CPU time this process burned between two ticks,
 * which only our own synchronous work can account for.
 */
async function longestBlock(
  text: string,
): Promise<{ maxDelayMs: number; maxGapMs: number; maxCpuGapMs: number; ms: number; tokens: number }> {
  clearTokenCountMemo();
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let maxGap = 0;
  let maxCpuGap = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    maxGap = Math.max(maxGap, now - last);
    maxCpuGap = Math.max(maxCpuGap, cpu.user / 1000);
    last = now;
    lastCpu = process.cpuUsage();
  }, 1);
  histogram.enable();
  await new Promise((resolve) => setTimeout(resolve, 20));
  last = performance.now();
  lastCpu = process.cpuUsage();
  maxGap = 0;
  maxCpuGap = 0;
  const started = performance.now();
  const counted = await countTokensAsync(text, MODEL);
  const ms = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 5));
  histogram.disable();
  clearInterval(probe);
  return { maxDelayMs: histogram.max / 1e6, maxGapMs: maxGap, maxCpuGapMs: maxCpuGap, ms, tokens: counted.tokens };
}

export async function tokensBenchmark(): Promise<BenchSection> {
  log('tokens: cold start (fresh process per library)');
  const cold = {
    tokenmeter: await coldStart('tokenmeter'),
    tiktoken: await coldStart('tiktoken'),
    gptTokenizer: await coldStart('gpt-tokenizer'),
  };

  warmUpEncoders(['o200k_base']);
  const raw = get_encoding('o200k_base');
  const large = corpus(ONE_MB);

  log('tokens: 1 MB text');
  const noop = () => {};
  const largeRaw = timeMedian(LARGE_REPEATS, noop, () => raw.encode_ordinary(large).length);
  const largeRawEncode = timeMedian(LARGE_REPEATS, noop, () => raw.encode(large).length);
  const largeMeter = timeMedian(LARGE_REPEATS, clearTokenCountMemo, () => countTokens(large, MODEL).tokens);
  const largeGpt = timeMedian(LARGE_REPEATS, gptTokenizer.clearMergeCache, () => gptTokenizer.countTokens(large));
  assertEqual('1 MB text', {
    tokenmeter: largeMeter.result,
    encode_ordinary: largeRaw.result,
    encode: largeRawEncode.result,
    gptTokenizer: largeGpt.result,
  });
  const memoHit = timeMedian(LARGE_REPEATS, noop, () => countTokens(large, MODEL).tokens);

  log('tokens: 100-character strings');
  const strings = shortStrings(SHORT_COUNT, 100);
  clearTokenCountMemo();
  gptTokenizer.clearMergeCache();
  const shortRaw = perCall(strings, (text) => raw.encode_ordinary(text).length);
  const shortRawEncode = perCall(strings, (text) => raw.encode(text).length);
  const shortMeter = perCall(strings, (text) => countTokens(text, MODEL).tokens);
  const shortMeterRepeat = perCall(strings, (text) => countTokens(text, MODEL).tokens);
  const shortGpt = perCall(strings, (text) => gptTokenizer.countTokens(text));
  // Totals are compared only when every loop saw every string (the time budget can cut a loop short).
  const allCounted = [shortRaw, shortRawEncode, shortMeter, shortGpt].every((run) => run.micros > 0);
  if (allCounted) {
    const expected = strings.reduce((total, text) => total + raw.encode_ordinary(text).length, 0);
    const meterTotal = strings.reduce((total, text) => total + countTokens(text, MODEL).tokens, 0);
    const gptTotal = strings.reduce((total, text) => total + gptTokenizer.countTokens(text), 0);
    assertEqual('100-character strings', { tokenmeter: meterTotal, tiktoken: expected, gptTokenizer: gptTotal });
  }

  log('tokens: chat workload');
  const requests = chatWorkload();
  const messagesCounted = requests.reduce((total, request) => total + request.length, 0);
  const charactersCounted = requests.reduce(
    (total, request) => total + request.reduce((inner, message) => inner + message.content.length, 0),
    0,
  );
  const chatTimes = { tokenmeter: [] as number[], gptTokenizer: [] as number[], tiktoken: [] as number[] };
  let meterCounts: number[] = [];
  let gptCounts: number[] = [];
  let rawCounts: number[] = [];
  for (let round = 0; round < 3; round++) {
    clearTokenCountMemo();
    let started = performance.now();
    meterCounts = requests.map((messages) => countChatTokens(messages, MODEL).tokens);
    chatTimes.tokenmeter.push(performance.now() - started);
    gptTokenizer.clearMergeCache();
    started = performance.now();
    gptCounts = requests.map((messages) => cookbookChatTokens(messages, (text) => gptTokenizer.countTokens(text)));
    chatTimes.gptTokenizer.push(performance.now() - started);
    started = performance.now();
    rawCounts = requests.map((messages) => cookbookChatTokens(messages, (text) => raw.encode_ordinary(text).length));
    chatTimes.tiktoken.push(performance.now() - started);
  }
  for (let index = 0; index < requests.length; index++) {
    assertEqual(`chat request ${index}`, {
      tokenmeter: meterCounts[index] as number,
      gptTokenizer: gptCounts[index] as number,
      tiktoken: rawCounts[index] as number,
    });
  }
  const chatMeter = median(chatTimes.tokenmeter);
  const chatGpt = median(chatTimes.gptTokenizer);
  const chatRaw = median(chatTimes.tiktoken);

  log('tokens: event-loop block of countTokensAsync on 1 MB');
  const block = await longestBlock(corpus(ONE_MB, 99));
  const syncCheck = countTokens(corpus(ONE_MB, 99), MODEL).tokens;
  if (syncCheck !== block.tokens) throw new Error(`countTokensAsync ${block.tokens} ≠ countTokens ${syncCheck}`);
  raw.free();

  const ratioLarge = largeMeter.ms / largeRaw.ms;
  const markdown = [
    `Text: deterministic English-like prose with numbers, punctuation, accents, an emoji and a little CJK (bench/src/text-corpus.ts), encoding o200k_base (\`${MODEL}\`). tokenmeter's memo is cleared before each timed run unless a row says otherwise; gpt-tokenizer's merge cache likewise.`,
    '',
    `**(a) 1 MB text** (${integer(largeRaw.result)} tokens, all four counts equal; median of ${LARGE_REPEATS}):`,
    '',
    table(
      ['counter', 'ms', 'vs raw encode_ordinary'],
      [
        ['tiktoken `encode_ordinary` (raw)', fixed(largeRaw.ms, 0), '1.00×'],
        ['tiktoken `encode` (raw)', fixed(largeRawEncode.ms, 0), `${fixed(largeRawEncode.ms / largeRaw.ms)}×`],
        ['tokenmeter `countTokens`', fixed(largeMeter.ms, 0), `${fixed(ratioLarge)}×`],
        ['gpt-tokenizer `countTokens`', fixed(largeGpt.ms, 0), `${fixed(largeGpt.ms / largeRaw.ms)}×`],
        [
          'tokenmeter `countTokens`, same text again (memo hit)',
          fixed(memoHit.ms, 3),
          `${fixed(memoHit.ms / largeRaw.ms, 4)}×`,
        ],
      ],
    ),
    '',
    `**(b) 100-character strings** (${integer(strings.length)} distinct strings, µs per call; totals equal: ${allCounted ? 'yes' : 'not checked (time budget)'}):`,
    '',
    table(
      ['counter', 'µs per call'],
      [
        ['tiktoken `encode_ordinary` (raw)', fixed(shortRaw.micros, 1)],
        ['tiktoken `encode` (raw)', fixed(shortRawEncode.micros, 1)],
        ['tokenmeter `countTokens` (each string new)', fixed(shortMeter.micros, 1)],
        ['tokenmeter `countTokens` (strings seen before: memo)', fixed(shortMeterRepeat.micros, 1)],
        ['gpt-tokenizer `countTokens`', fixed(shortGpt.micros, 1)],
      ],
    ),
    '',
    `**(c) chat workload**: 60 conversations × 8 turns over 3 shared system prompts, each request resends its history (${integer(requests.length)} requests, ${integer(messagesCounted)} messages, ${integer(charactersCounted)} characters; per-request counts equal across the three; median of 3, memo cleared first):`,
    '',
    table(
      ['counter', 'ms total', 'µs per request', 'vs gpt-tokenizer'],
      [
        [
          'tokenmeter `countChatTokens`',
          fixed(chatMeter, 1),
          fixed((chatMeter * 1000) / requests.length, 1),
          `${fixed(chatMeter / chatGpt)}×`,
        ],
        ['gpt-tokenizer, cookbook formula', fixed(chatGpt, 1), fixed((chatGpt * 1000) / requests.length, 1), '1.00×'],
        [
          'tiktoken `encode_ordinary`, cookbook formula',
          fixed(chatRaw, 1),
          fixed((chatRaw * 1000) / requests.length, 1),
          `${fixed(chatRaw / chatGpt)}×`,
        ],
      ],
    ),
    '',
    '**Cold start** (fresh process each; ms): module import, then the first count with each encoding (loads its rank table).',
    '',
    table(
      ['library', 'import', 'first o200k_base count', 'first cl100k_base count'],
      [
        [
          'tokenmeter (lazy encoders)',
          fixed(cold.tokenmeter.import ?? NaN, 0),
          fixed(cold.tokenmeter.o200k_base ?? NaN, 0),
          fixed(cold.tokenmeter.cl100k_base ?? NaN, 0),
        ],
        [
          'tiktoken',
          fixed(cold.tiktoken.import ?? NaN, 0),
          fixed(cold.tiktoken.o200k_base ?? NaN, 0),
          fixed(cold.tiktoken.cl100k_base ?? NaN, 0),
        ],
        [
          'gpt-tokenizer (import included)',
          '—',
          fixed(cold.gptTokenizer.o200k_base ?? NaN, 0),
          fixed(cold.gptTokenizer.cl100k_base ?? NaN, 0),
        ],
      ],
    ),
    '',
    `**Event loop**: \`countTokensAsync\` on a new 1 MB text took ${fixed(block.ms, 0)} ms in all; the longest the event loop was blocked meanwhile: ${fixed(block.maxCpuGapMs, 1)} ms of this process's user CPU time between two ticks of a 1 ms \`setInterval\` probe (the work that blocks the loop); wall clock, which also counts the OS descheduling the process on a shared machine: ${fixed(block.maxGapMs, 1)} ms largest probe gap, ${fixed(block.maxDelayMs, 1)} ms \`monitorEventLoopDelay\` max. The synchronous \`countTokens\` blocks for its whole duration (${fixed(largeMeter.ms, 0)} ms).`,
  ].join('\n');

  const blocked = block.maxCpuGapMs;
  const targets: TargetResult[] = [
    {
      name: 'counts agree exactly (1 MB, short strings, chat)',
      target: 'equal',
      measured: allCounted ? 'equal' : 'equal (1 MB, chat)',
      met: true,
    },
    {
      name: '1 MB text vs raw encode_ordinary',
      target: '≤ 1.1×',
      measured: `${fixed(ratioLarge)}×`,
      met: ratioLarge <= 1.1,
    },
    {
      name: 'chat workload vs gpt-tokenizer',
      target: '≤ 1.0× (as fast or faster)',
      measured: `${fixed(chatMeter / chatGpt)}×`,
      met: chatMeter <= chatGpt,
    },
    {
      name: 'longest event-loop block, countTokensAsync 1 MB',
      target: '≤ 50 ms',
      measured: `${fixed(blocked, 1)} ms CPU (wall, with descheduling: ${fixed(block.maxGapMs, 1)} ms)`,
      met: blocked <= 50,
    },
  ];
  return { title: 'Token counting', markdown, targets };
}
