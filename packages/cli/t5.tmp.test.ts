import { it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { main } from './src/program';
it('times', async () => {
  writeFileSync('/tmp/tm-series.json', '[1,2,3]');
  writeFileSync('/tmp/tm-big.json', '['.repeat(10000));
  const lines: string[] = [];
  for (const args of [['cost','--model','gpt-4o','--usage','/tmp/tm-big.json'],['count','--model','gpt-4o','/tmp/tm-big.json'],['count','--model','gpt-4o','--messages','/tmp/tm-big.json'],['compare','--series','/tmp/tm-big.json','--flat','25'],['compare','--series','/tmp/tm-series.json','--flat','25'],['count','--model','gpt-4o','/tmp/tm-series.json']]) {
    const t = performance.now(); await main(['node','tokenmeter',...args]); lines.push(args.join(' ') + ' ' + (performance.now()-t).toFixed(0));
  }
  writeFileSync('/tmp/tm-times.txt', lines.join('\n'));
});
