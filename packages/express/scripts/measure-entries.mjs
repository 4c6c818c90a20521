// Import time and resident memory of each entry of the built package, each in a fresh Node process (median of
// RUNS). Usage: pnpm --filter @tokenmeter/express build && node scripts/measure-entries.mjs [runs]
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.argv[2] ?? 5);
const entries = ['', '/sqlite', '/redis', '/metrics', '/server', '/testing'];
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

const probe = (specifier) => `
const rss = process.memoryUsage().rss;
const start = performance.now();
await import(${JSON.stringify(specifier)}).catch((error) => { process.stdout.write('{"error":' + JSON.stringify(error.message) + '}'); process.exit(0); });
process.stdout.write(JSON.stringify({ ms: performance.now() - start, rssMb: (process.memoryUsage().rss - rss) / 2 ** 20 }));`;

console.log('| Entry | import (ms, median) | RSS added (MB, median) |');
console.log('| --- | ---: | ---: |');
for (const entry of entries) {
  const specifier = `@tokenmeter/express${entry}`;
  const samples = [];
  for (let run = 0; run < RUNS; run++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe(specifier)], {
      cwd: root,
      encoding: 'utf8',
    });
    samples.push(JSON.parse(out));
  }
  if (samples[0].error) {
    console.log(`| \`${specifier}\` | ${samples[0].error} | |`);
    continue;
  }
  const ms = median(samples.map((sample) => sample.ms)).toFixed(0);
  const rss = median(samples.map((sample) => sample.rssMb)).toFixed(1);
  console.log(`| \`${specifier}\` | ${ms} | ${rss} |`);
}
