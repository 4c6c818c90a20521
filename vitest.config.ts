import { defineConfig } from 'vitest/config';

// One project per package: `pnpm vitest` at the root runs them all, `pnpm test` runs each through turbo.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'bench'],
  },
});
