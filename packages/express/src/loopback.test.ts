import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, loopbackOnly } from './loopback';

describe('isLoopbackAddress', () => {
  it('accepts every loopback spelling Node reports', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::ffff:127.9.9.9']) {
      expect(isLoopbackAddress(address), address).toBe(true);
    }
  });

  it('refuses other peers and look-alikes', () => {
    for (const address of [
      undefined,
      '',
      '10.0.0.1',
      '::ffff:10.0.0.1',
      '::2',
      '1270.0.0.1',
      '127.0.0.1.evil',
      'fe80::1',
    ]) {
      expect(isLoopbackAddress(address), String(address)).toBe(false);
    }
  });
});

describe('loopbackOnly', () => {
  async function serve(host: string): Promise<{ url: string; close: () => Promise<void> }> {
    const app = express();
    app.get('/', (req, res) => {
      res.json({ local: loopbackOnly(req), ip: req.ip });
    });
    const server = app.listen(0, host);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }

  // Express listening on `::` (its default) sees IPv4 clients as `::ffff:127.0.0.1`: the check the README
  // used to show (`req.ip === '127.0.0.1'`) never matched there.
  it('is true for a direct local call to a server listening on ::, where req.ip is IPv4-mapped', async () => {
    const server = await serve('::');
    try {
      const answer = (await (await fetch(server.url)).json()) as { local: boolean; ip: string };
      expect(answer.ip).toBe('::ffff:127.0.0.1');
      expect(answer.local).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('is false for a call that says it was forwarded, even from loopback', async () => {
    const server = await serve('127.0.0.1');
    try {
      const forwarders: Record<string, string>[] = [
        { 'x-forwarded-for': '203.0.113.9' },
        { forwarded: 'for=203.0.113.9' },
        { 'x-real-ip': '203.0.113.9' },
      ];
      for (const headers of forwarders) {
        const answer = (await (await fetch(server.url, { headers })).json()) as { local: boolean };
        expect(answer.local, JSON.stringify(headers)).toBe(false);
      }
    } finally {
      await server.close();
    }
  });
});
