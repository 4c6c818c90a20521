import { createRequire } from 'node:module';

/**
 * better-sqlite3, ioredis and prom-client are optional peers: only the entry that needs one loads it, and a
 * missing one says what to install instead of Node's bare "Cannot find package".
 */
export class MissingPeerDependencyError extends Error {
  override readonly name = 'MissingPeerDependencyError';
  readonly code = 'TOKENMETER_MISSING_PEER';
  constructor(
    readonly packageName: string,
    readonly entry: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${entry} needs the package ${packageName}: install it beside @tokenmeter/express (npm install ${packageName})`,
      options,
    );
  }
}

// import.meta.url is shimmed by tsup in the CommonJS build.
const load = createRequire(import.meta.url);

export function requirePeer<T>(packageName: string, entry: string): T {
  try {
    return load(packageName) as T;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : '';
    // Only the peer itself missing is the user's to fix; a peer whose own dependency is missing rethrows as is.
    if (code === 'MODULE_NOT_FOUND' && message.includes(`'${packageName}'`)) {
      throw new MissingPeerDependencyError(packageName, entry, { cause: error });
    }
    throw error;
  }
}
