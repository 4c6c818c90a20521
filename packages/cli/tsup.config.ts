import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.ts';

// A normal package: @tokenmeter/core and @tokenmeter/express stay dependencies (external), never bundled in,
// so each command loads only what it imports. The bin awaits at top level, which CommonJS cannot: ESM only.
// The two builds run at once, so neither cleans dist/ (the build script empties it first).
export default defineConfig([
  packageBuild({ clean: false }),
  packageBuild({ entry: ['src/bin.ts'], format: ['esm'], dts: false, clean: false }),
]);
