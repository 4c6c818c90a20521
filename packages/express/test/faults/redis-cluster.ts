import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LocalCluster {
  nodes: { host: string; port: number }[];
  /** `host:port,host:port,…` */
  spec: string;
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A random port whose cluster bus port (port + 10000) is free too. */
async function freePort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) {
      taken.add(port);
      taken.add(port + 10_000);
      return port;
    }
  }
  throw new Error('no free port pair for a cluster node');
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} not reached in ${timeoutMs} ms`);
}

/**
 * Starts a Redis Cluster of `primaries` primaries (no replicas) on random loopback ports, in a temporary
 * directory, without persistence. The shared Redis on 6379 is never touched; `stop()` kills the nodes.
 */
export async function startLocalCluster(primaries = 3): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmeter-cluster-'));
  const taken = new Set<number>();
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let index = 0; index < primaries; index++) {
      const port = await freePort(taken);
      ports.push(port);
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
    }
    for (const port of ports)
      await until(`node ${port} answering`, async () => (await cli(port, 'PING')).includes('PONG'));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports) {
      await until(`cluster_state:ok on ${port}`, async () =>
        (await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  return { nodes, spec: ports.map((port) => `127.0.0.1:${port}`).join(','), stop };
}

/** Every key of every node under a prefix, per node port (KEYS runs on one node only). */
export async function keysPerNode(cluster: LocalCluster, prefix: string): Promise<Map<number, string[]>> {
  const result = new Map<number, string[]>();
  for (const { port } of cluster.nodes) {
    const out = await cli(port, '--raw', 'KEYS', `${prefix}*`);
    result.set(
      port,
      out
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== ''),
    );
  }
  return result;
}
