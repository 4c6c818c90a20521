import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { spawnTypeScript } from '../spawn-typescript';

const fixture = resolve(import.meta.dirname, 'proxy-instance.ts');

export interface Instance {
  child: ChildProcess;
  url: string;
  /** Event ids the instance acknowledged as committed (SQLite). */
  acknowledged: string[];
  stop(): Promise<void>;
}

/** Starts `proxy-instance.ts` in its own Node process and waits until it listens. */
export function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawnTypeScript(fixture, [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acknowledged: string[] = [];
  let buffered = '';
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error('the instance did not start in 60 s')), 60_000);
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`the instance exited early (${code ?? signal})`)));
    child.stdout?.on('data', (data: Buffer) => {
      buffered += data.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('ack ')) acknowledged.push(...line.slice(4).split(','));
        const port = /^port (\d+)$/.exec(line)?.[1];
        if (port) {
          clearTimeout(timer);
          done({
            child,
            url: `http://127.0.0.1:${port}`,
            acknowledged,
            stop: () =>
              new Promise<void>((stopped) => {
                if (child.exitCode !== null || child.signalCode !== null) {
                  stopped();
                  return;
                }
                child.removeAllListeners('exit');
                child.once('exit', () => stopped());
                child.kill('SIGTERM');
                setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
              }),
          });
        }
      }
    });
  });
}
