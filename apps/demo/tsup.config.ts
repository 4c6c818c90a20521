import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.ts';

// One runnable file: workspace packages are bundled so `pnpm demo` needs no publish; npm dependencies (the
// native better-sqlite3, tiktoken's WASM) stay external and load from node_modules.
export default defineConfig(
  packageBuild({
    entry: ['src/main.ts'],
    // An app, not a library: the base config's CommonJS twin is of no use here.
    format: ['esm'],
    dts: false,
    noExternal: [/^@tokenmeter\//],
    external: ['better-sqlite3', 'tiktoken'],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  }),
);
