// `@tokenmeter/express/testing`: the behaviour every Store must share, for people writing their own store.
// It asserts with vitest's `expect`, so it needs vitest (an optional peer dependency) and runs inside a vitest test.
export { checkStoreContract, DAY_UTC, usageEvent } from './store-test-support';
