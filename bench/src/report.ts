/** What each benchmark hands back to `run.ts`: a Markdown section and its targets. */
export interface TargetResult {
  name: string;
  target: string;
  measured: string;
  /** `undefined` when the benchmark could not measure it. */
  met: boolean | undefined;
}

export interface BenchSection {
  title: string;
  markdown: string;
  targets: TargetResult[];
}

export function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map((cell) => String(cell)).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function verdict(met: boolean | undefined): string {
  return met === undefined ? 'not measured' : met ? 'met' : '**missed**';
}

export function log(message: string): void {
  process.stdout.write(`${message}\n`);
}
