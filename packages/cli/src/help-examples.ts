/**
 * Examples shown at the end of each command's `--help`: the quickest way to learn a command is a line that works.
 * Kept apart from the commands so every help page has them in the same place and shape.
 */
export const HELP_EXAMPLES: Record<string, readonly string[]> = {
  models: ['tokenmeter models --provider anthropic', 'tokenmeter models --json | jq length'],
  price: ['tokenmeter price gpt-4o', 'tokenmeter price us.anthropic.claude-sonnet-4-5-20250929-v1:0 --json'],
  cost: [
    'tokenmeter cost --model gpt-4o --input 1000000 --cached-input 400000 --output 100000',
    'curl … | tokenmeter cost --model gpt-4o --usage -',
    'tokenmeter cost --model claude-sonnet-4-5 --input 250000 --output 2000 --tier batch --json',
  ],
  count: [
    'tokenmeter count --model gpt-4o prompt.txt',
    'tokenmeter count --model gpt-4o --messages request.json --tools tools.json --json',
  ],
  proxy: [
    'tokenmeter proxy --store postgres://app@127.0.0.1/app --admin-token "$TOKENMETER_ADMIN_TOKEN" --budget user:5/day',
    'tokenmeter proxy --port 8787 --store sqlite:tokenmeter.db --budget 5/day',
    'OPENAI_BASE_URL=http://localhost:8787/v1 python my_app.py',
  ],
  project: [
    'tokenmeter project --requests-per-day 500 --input 300 --output 400 --model gpt-4o',
    'tokenmeter project --tokens-per-month 10500000 --price-per-million 2',
  ],
  compare: [
    'tokenmeter compare --requests-per-day 500 --input 300 --output 400 --model gpt-4o --flat 25',
    'tokenmeter compare --series usage.csv --model gpt-4o-mini --plans plans.yaml --budget 50',
  ],
  keys: [
    'tokenmeter keys create --store sqlite:tokenmeter.db --user alice --budget 5/day --model gpt-4o-mini',
    'tokenmeter keys list --store sqlite:tokenmeter.db --json',
  ],
  prices: [
    'tokenmeter prices status',
    'tokenmeter prices update --from litellm',
    'tokenmeter prices update --from ./negotiated.json',
  ],
  diff: [
    'tokenmeter diff --base origin/main --format text',
    'tokenmeter diff --base main --working-tree --max-increase-usd 50',
  ],
};

/** The help text block for one command, or undefined when it has no examples. */
export function examplesFor(command: string): string | undefined {
  const lines = HELP_EXAMPLES[command];
  if (lines === undefined || lines.length === 0) return undefined;
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}
