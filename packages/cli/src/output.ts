import { readFile } from 'node:fs/promises';
import { TokenmeterError } from '@tokenmeter/core';

/** Exit codes: 0 success, 1 a failed check (threshold exceeded), 2 bad usage or input, 3 a bug of ours. */
export const EXIT_FAILED_CHECK = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

/** Prints a value as JSON on stdout: money is already a decimal string via `Money.toJSON`. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** Renders rows as an aligned plain-text table; numeric-looking cells are right-aligned. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const numeric = headers.map(
    (_, column) =>
      rows.length > 0 && rows.every((row) => /^[-+]?[$]?[\d,.]+%?$|^[-+]?\$[\d,.]+$|^—$/.test(row[column] ?? '')),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((width) => '─'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** Reads a file argument, `-` meaning standard input. */
export async function readInput(path: string): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new CliInputError(`Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Parses JSON from a named source, with an error that says which source and where. */
export function parseJsonInput(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliInputError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Parses a non-negative whole number option (`1,000` and `1_000` accepted). */
export function parseCount(value: string, option: string): number {
  const cleaned = value.replace(/[,_]/g, '');
  const parsed = Number(cleaned);
  if (!/^\d+$/.test(cleaned) || !Number.isSafeInteger(parsed)) {
    throw new CliInputError(`${option} must be a whole number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/** Bad arguments or input: exit code 2 with the message, no stack trace. */
export class CliInputError extends TokenmeterError {
  constructor(message: string) {
    super('CLI_INPUT', message);
  }
}

/**
 * Prints an error for a person on stderr and returns the exit code. With `--json` the same error is also printed as
 * `{"error":{code,message,…}}` on stdout, so a script reading stdout gets JSON whatever happened.
 */
export function reportError(error: unknown, argv: readonly string[] = process.argv): number {
  const json = argv.includes('--json');
  if (error instanceof TokenmeterError) {
    const details = 'suggestions' in error ? { suggestions: (error as { suggestions: unknown }).suggestions } : {};
    if (json) printJson({ error: { code: error.code, message: error.message, ...details } });
    process.stderr.write(`tokenmeter: ${error.message}\n`);
    return EXIT_BAD_INPUT;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (json) printJson({ error: { code: 'INTERNAL', message } });
  process.stderr.write(`tokenmeter: unexpected error: ${message}\n`);
  return EXIT_INTERNAL;
}

/** A command-line the parser refused (unknown command or option, missing argument): exit 2, like bad input. */
export function reportUsageError(code: string, message: string, argv: readonly string[]): number {
  if (argv.includes('--json')) {
    printJson({ error: { code: 'CLI_USAGE', reason: code, message: message.replace(/^error: /, '') } });
  }
  return EXIT_BAD_INPUT;
}
