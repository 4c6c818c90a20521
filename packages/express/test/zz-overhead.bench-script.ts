import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { meteredProxy } from '../src/metered-proxy';
import { startFakeUpstream } from './fake-upstream';

const upstream = await startFakeUpstream();
const proxy = meteredProxy({ upstream: `${upstream.url}/v1`, onEvent: () => {} });
const app = express();
app.use('/v1', proxy);
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const port = (server.address() as AddressInfo).port;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi there, how are you doing today?' }] });
function one(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(body);
  });
}
async function run(path: string, n: number) {
  const start = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < n; i += 8) await Promise.all(Array.from({ length: 8 }, () => one(path)));
  const cpu = process.cpuUsage(start);
  return { cpuPerRequestUs: (cpu.user + cpu.system) / n, wallMs: performance.now() - t };
}
await run('/v1/chat/completions', 2000);
await run('/v1/raw/chat/completions', 2000);
for (let round = 0; round < 3; round++) {
  const metered = await run('/v1/chat/completions', 5000);
  const bare = await run('/v1/raw/chat/completions', 5000);
  console.log(JSON.stringify({ metered, bare, addedCpuUs: metered.cpuPerRequestUs - bare.cpuPerRequestUs }));
}
await proxy.close(); server.close(); agent.destroy(); await upstream.close();
