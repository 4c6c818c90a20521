import type * as IORedis from 'ioredis';
import { requirePeer } from './peer';

const ioredis = requirePeer<typeof IORedis>('ioredis', '@tokenmeter/express/redis');
// One declarator per statement: the declaration bundler cannot split `const { a, b } = …`.
export const Redis = ioredis.Redis;
export const Cluster = ioredis.Cluster;
export type Redis = IORedis.Redis;
export type Cluster = IORedis.Cluster;
export type { RedisOptions } from 'ioredis';
