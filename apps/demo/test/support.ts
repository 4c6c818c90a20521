import type { UsageEvent } from '@tokenmeter/express';
import type { RunningDemo } from '../src/demo';

/** Waits until the store answers with every event the meter reported (the SQLite store batches writes). */
export async function settled(demo: RunningDemo, events: UsageEvent[], from = 0): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const report = await demo.store.query({ from });
    if (report.totals.requests >= events.length) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
