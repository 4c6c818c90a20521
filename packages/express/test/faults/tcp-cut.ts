import net from 'node:net';

/**
 * A TCP pass-through to Redis that a test can cut and restore, so an outage is simulated without touching
 * the machine's shared Redis server. While cut, open connections are destroyed and new ones are closed
 * as soon as they arrive (what a client sees of a stopped server, minus the RST).
 */
export interface TcpCut {
  url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpCut(targetPort = 6379, targetHost = '127.0.0.1'): Promise<TcpCut> {
  let down = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      down = false;
    },
    close: async () => {
      down = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
