import type { Options } from 'tsup';

/**
 * The one build configuration every package shares. Packages export `src/index.ts` under the `source`
 * condition inside the repository (tests and typechecking need no build) and `dist/` to everyone else,
 * as ESM (`.js`, `.d.ts`) and CommonJS (`.cjs`, `.d.cts`) so both `import` and `require` work.
 */
export function packageBuild(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    // import.meta.url in the CommonJS build.
    shims: true,
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    ...overrides,
  };
}
