import { Command, CommanderError } from 'commander';
import { resetActiveCatalog, useActiveCatalog } from './command-prices';
import { reportError } from './output';

type CommandModule = { register(program: Command): void };

// One file per command, each a thin shell over @tokenmeter/core (or @tokenmeter/express for `proxy`).
const commands: Array<() => Promise<CommandModule>> = [
  () => import('./command-models'),
  () => import('./command-price'),
  () => import('./command-cost'),
  () => import('./command-count'),
  () => import('./command-proxy'),
  () => import('./command-project'),
  () => import('./command-compare'),
  () => import('./command-diff'),
  () => import('./command-prices'),
];

export async function createProgram(): Promise<Command> {
  const program = new Command('tokenmeter')
    .description('See, control and forecast what your AI API calls cost.')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .option(
      '--prices <file|url>',
      'your own prices (negotiated, private models) over the catalog: a price file or feed, path or URL; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    );
  program.hook('preAction', async (_program, command) => {
    const inPrices = command.parent?.name() === 'prices';
    // An update must work even when the catalog in use cannot be loaded (a broken --prices file).
    if (inPrices && command.name() === 'update') return;
    // With --json, stderr carries only a JSON error; `prices status --json` reports staleness to machines.
    const json = command.opts<{ json?: boolean }>().json === true;
    await useActiveCatalog(program.opts<{ prices: string[] }>().prices, { warn: !inPrices && !json });
  });
  for (const load of commands) (await load()).register(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  try {
    const program = await createProgram();
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    return reportError(error, argv);
  } finally {
    resetActiveCatalog();
  }
}
