import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { startDemo } from '../src/demo';
import { driveTraffic } from '../src/traffic';
it('debug', async () => {
  const events: any[] = [];
  const demo = await startDemo({ port: 0, databasePath: join(mkdtempSync(join(tmpdir(), 'x-')), 'u.db'), history: false, chunkDelayMs: 1, env: {}, onEvent: (e) => events.push(e) });
  const r = await driveTraffic(demo.url, { thinkMs: 0 });
  await new Promise((res) => setTimeout(res, 500));
  console.log(JSON.stringify(r));
  for (const e of events) console.log(e.user, e.route, e.model, e.status, e.rejected ?? '', e.estimated, e.error ?? '', e.inputTokens, e.cachedInputTokens, e.outputTokens, e.reasoningTokens, e.cost);
  await demo.close();
}, 60000);
