import { readFileSync } from 'node:fs';
import { Command, CommanderError, Help, type Option } from 'commander';
import { resetActiveCatalog, useActiveCatalog } from './command-prices';
import { examplesFor } from './help-examples';
import { reportError, reportUsageError } from './output';

type CommandModule = { register(program: Command): void };

// One file per command, each a thin shell over @tokenmeter/core (or @tokenmeter/express for `proxy`).
const commands: Array<() => Promise<CommandModule>> = [
  () => import('./command-models'),
  () => import('./command-price'),
  () => import('./command-cost'),
  () => import('./command-count'),
  () => import('./command-proxy'),
  () => import('./command-keys'),
  () => import('./command-project'),
  () => import('./command-compare'),
  () => import('./command-diff'),
  () => import('./command-prices'),
];

/** The package's own version: `package.json` sits one folder up from both `src/` and `dist/`. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/** Repeatable flags start from `[]`; "(default: [])" in their help says nothing, so it is left out. */
class TokenmeterHelp extends Help {
  override optionDescription(option: Option): string {
    const text = super.optionDescription(option);
    return Array.isArray(option.defaultValue) && option.defaultValue.length === 0
      ? text.replace(/ ?\(default: \[\]\)/, '')
      : text;
  }
}

export async function createProgram(): Promise<Command> {
  const program = new Command('tokenmeter')
    .description('See, control and forecast what your AI API calls cost.')
    .version(packageVersion(), '-V, --version', 'print the version')
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
  program.createHelp = () => Object.assign(new TokenmeterHelp(), program.configureHelp());
  for (const load of commands) (await load()).register(program);
  for (const command of program.commands) {
    command.createHelp = program.createHelp;
    const examples = examplesFor(command.name());
    if (examples !== undefined) command.addHelpText('after', examples);
  }
  return program;
}

/** Runs the CLI and resolves to the process exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  try {
    const program = await createProgram();
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    // Help and --version end the parse with code 0; every other parser error is a command line we refused:
    // exit 2, as bad input, so CI can tell it from a failed check (1).
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : reportUsageError(error.code, error.message, argv);
    }
    return reportError(error, argv);
  } finally {
    resetActiveCatalog();
  }
}
