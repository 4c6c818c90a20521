import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

/** A benchmark child: its own process and event loop, so the load generator never shares one with the server. */
export interface BenchChild {
  process: ChildProcess;
  /** The first message the child sent (its port, or its result). */
  ready: Promise<unknown>;
  /** Sends a request and resolves with the child's next answer of that type. */
  ask<T>(type: string, payload?: unknown): Promise<T>;
  stop(): Promise<void>;
}

let sequence = 0;

/** Forks `file` (a TypeScript module in bench/src) under tsx, with an IPC channel. */
export function startChild(
  file: string,
  args: string[] = [],
  env: Record<string, string> = {},
  nodeOptions: string[] = [],
  execPath: string = process.execPath,
): BenchChild {
  const path = fileURLToPath(new URL(file, import.meta.url));
  const child = fork(path, args, {
    execPath,
    execArgv: ['--import', 'tsx', ...nodeOptions],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, (value: unknown) => void>();
  const ready = new Promise<unknown>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${file} exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
  child.on('message', (message: unknown) => {
    const answer = message as { replyTo?: number; value?: unknown };
    if (typeof answer.replyTo !== 'number') return;
    waiting.get(answer.replyTo)?.(answer.value);
    waiting.delete(answer.replyTo);
  });
  return {
    process: child,
    ready,
    ask<T>(type: string, payload?: unknown): Promise<T> {
      const id = ++sequence;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${file}: no answer to ${type} in 120 s`)), 120_000);
        waiting.set(id, (value) => {
          clearTimeout(timer);
          resolve(value as T);
        });
        child.send({ id, type, payload });
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Child side: answers `ask()` requests with `handlers[type](payload)`. */
export function serveParent(handlers: Record<string, (payload: unknown) => unknown>): void {
  process.on('message', (message: unknown) => {
    const request = message as { id: number; type: string; payload: unknown };
    const handler = handlers[request.type];
    Promise.resolve(handler ? handler(request.payload) : { error: `unknown request ${request.type}` }).then(
      (value) => process.send?.({ replyTo: request.id, value }),
      (error: unknown) => process.send?.({ replyTo: request.id, value: { error: String(error) } }),
    );
  });
}

/**
 * Pins a process (every thread, present and future) to the given CPUs with `taskset`. Returns false where
 * that is not possible (no taskset, a single CPU, not Linux): the caller then says the run was unpinned.
 */
export function pinToCpus(pid: number | undefined, cpus: number[]): boolean {
  // os.cpus(), not availableParallelism(): the latter follows this process's own affinity once it is pinned.
  if (pid === undefined || os.platform() !== 'linux' || os.cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus.join(','), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
