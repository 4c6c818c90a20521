import { Command, CommanderError } from 'commander';
import { reportError } from './output';

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
];

export async function createProgram(): Promise<Command> {
  const program = new Command('tokenmeter')
    .description('See, control and forecast what your AI API calls cost.')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
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
  }
}
