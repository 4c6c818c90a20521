// `@tokenmeter/express/redis`: the one entry that loads ioredis (an optional peer dependency).
export type { RedisKeyStoreOptions } from './key-store-redis';
export { createRedisKeyStore } from './key-store-redis';
export type { RedisStore, RedisStoreOptions } from './store-redis';
export { createRedisStore } from './store-redis';
