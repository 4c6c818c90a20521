/**
 * Child process: cold start of one tokenizer library, in a fresh process (module import, then the first
 * count per encoding, which loads and parses the encoding's rank table).
 */
const library = process.argv[2];
const text = 'Cold start: how long until the first count of a short prompt?';

async function measure(): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  let started = performance.now();
  if (library === 'tokenmeter') {
    const core = await import('@tokenmeter/core');
    result.import = performance.now() - started;
    started = performance.now();
    core.countTokens(text, 'gpt-4o');
    result.o200k_base = performance.now() - started;
    started = performance.now();
    core.countTokens(text, 'gpt-4');
    result.cl100k_base = performance.now() - started;
  } else if (library === 'tiktoken') {
    const tiktoken = await import('tiktoken');
    result.import = performance.now() - started;
    started = performance.now();
    tiktoken.get_encoding('o200k_base').encode_ordinary(text);
    result.o200k_base = performance.now() - started;
    started = performance.now();
    tiktoken.get_encoding('cl100k_base').encode_ordinary(text);
    result.cl100k_base = performance.now() - started;
  } else if (library === 'gpt-tokenizer') {
    started = performance.now();
    const o200k = await import('gpt-tokenizer/encoding/o200k_base');
    result.import = 0;
    o200k.countTokens(text);
    result.o200k_base = performance.now() - started;
    started = performance.now();
    const cl100k = await import('gpt-tokenizer/encoding/cl100k_base');
    cl100k.countTokens(text);
    result.cl100k_base = performance.now() - started;
  } else {
    throw new Error(`unknown library ${library}`);
  }
  return result;
}

process.send?.(await measure());

export {};
