import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.ts';

// The CLI ships one self-contained bin; workspace packages are bundled so `pnpm tokenmeter` needs no publish.
export default defineConfig(
  packageBuild({
    entry: ['src/bin.ts', 'src/index.ts'],
    noExternal: [/^@tokenmeter\//],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  }),
);
