import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** tsx's loader, resolved from the workspace root like every other dev dependency. */
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * Runs a TypeScript file in a Node process of its own: `node --import tsx`, not the `tsx` command. The
 * command is a wrapper that starts Node as *its* child, so a SIGKILL meant for the script kills only the
 * wrapper and leaves the script running (writing to the database a crash test then reads, holding its port
 * after the test run). Here the child is the script: signals reach it.
 */
export function spawnTypeScript(file: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, ['--import', tsxLoader, '--conditions=source', file, ...args], options);
}
