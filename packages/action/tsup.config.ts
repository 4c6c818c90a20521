import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig } from 'tsup';

// tiktoken's Node build reads `tiktoken_bg.wasm` from next to itself (`__dirname`): in the bundle that is dist/.
const require = createRequire(join(import.meta.dirname, '../core/package.json'));
const wasm = join(dirname(require.resolve('tiktoken')), 'tiktoken_bg.wasm');

/**
 * GitHub runs `dist/index.js` straight from the repository: one ESM file with every dependency inside,
 * committed, and byte-for-byte reproducible (no timestamps, no absolute paths), so CI can rebuild and diff.
 */
export default defineConfig((overrides) => {
  const outDir = overrides.outDir ?? 'dist';
  return {
    entry: { index: 'src/index.ts' },
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node24',
    bundle: true,
    noExternal: [/.*/],
    splitting: false,
    sourcemap: false,
    dts: false,
    clean: true,
    minify: false,
    shims: false,
    outExtension: () => ({ js: '.js' }),
    esbuildOptions(options) {
      // Workspace packages resolve to their sources: the bundle does not depend on their dist/ being fresh.
      options.conditions = ['source'];
      options.legalComments = 'none';
      options.charset = 'utf8';
    },
    banner: {
      js: [
        "import { createRequire as __tokenmeterCreateRequire } from 'node:module';",
        "import { dirname as __tokenmeterDirname } from 'node:path';",
        "import { fileURLToPath as __tokenmeterFileUrlToPath } from 'node:url';",
        'const require = __tokenmeterCreateRequire(import.meta.url);',
        'const __filename = __tokenmeterFileUrlToPath(import.meta.url);',
        'const __dirname = __tokenmeterDirname(__filename);',
      ].join('\n'),
    },
    onSuccess: async () => {
      mkdirSync(outDir, { recursive: true });
      copyFileSync(wasm, join(outDir, 'tiktoken_bg.wasm'));
    },
  };
});
