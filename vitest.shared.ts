import { defineConfig } from 'vitest/config';
import { SkipReasons } from './vitest.skip-reasons.ts';

/** Workspace packages resolve to their TypeScript sources, so tests never need a build. */
export function packageProject(name: string, overrides: { testTimeout?: number; setupFiles?: string[] } = {}) {
  // defineConfig, not defineProject: each package's run is a root run (turbo), where reporters are allowed.
  return defineConfig({
    resolve: { conditions: ['source'] },
    ssr: { resolve: { conditions: ['source'] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      // Timeouts only catch hangs (no test asserts on wall time): generous, so a loaded machine is not a failure.
      testTimeout: overrides.testTimeout ?? 60_000,
      hookTimeout: 60_000,
      setupFiles: overrides.setupFiles ?? [],
      reporters: ['default', new SkipReasons()],
    },
  });
}
