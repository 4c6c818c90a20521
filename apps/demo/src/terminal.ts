/** Terminal output for the demo: a progress bar and tables, plain when the output is not a terminal or in CI. */

export interface Style {
  fancy: boolean;
  bold(text: string): string;
  dim(text: string): string;
}

export function styleFor(stream: NodeJS.WriteStream): Style {
  const fancy = Boolean(stream.isTTY) && !process.env.CI && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
  return {
    fancy,
    bold: (text) => (fancy ? `\x1b[1m${text}\x1b[22m` : text),
    dim: (text) => (fancy ? `\x1b[2m${text}\x1b[22m` : text),
  };
}

/**
 * A progress bar on stderr redrawn in place on a terminal; elsewhere one plain line at each quarter, so
 * CI logs stay readable.
 */
export function progressBar(stream: NodeJS.WriteStream, label: string) {
  const style = styleFor(stream);
  const started = Date.now();
  let lastQuarter = -1;
  return {
    update(done: number, total: number) {
      const share = total === 0 ? 1 : done / total;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (style.fancy) {
        const width = 28;
        const filled = Math.round(share * width);
        stream.write(
          `\r${label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total} requests  ${seconds} s `,
        );
        if (done === total) stream.write('\n');
        return;
      }
      const quarter = Math.floor(share * 4);
      if (quarter !== lastQuarter) {
        lastQuarter = quarter;
        stream.write(`${label}: ${done}/${total} requests (${Math.round(share * 100)} %)\n`);
      }
    },
  };
}

/** Left-aligned first column, right-aligned numbers. */
export function renderTable(headers: string[], rows: string[][], style: Style): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
      .join('  ');
  return [style.bold(line(headers)), line(widths.map((width) => '─'.repeat(width))), ...rows.map(line)].join('\n');
}
