import { Redis } from 'ioredis';

/** Deletes every key under a test's random prefix (the shared Redis is left as it was found). */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  let removed = 0;
  try {
    let cursor = '0';
    for (let round = 0; round < 10_000; round++) {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) removed += await client.del(...keys);
      if (cursor === '0') break;
    }
  } finally {
    client.disconnect();
  }
  return removed;
}
