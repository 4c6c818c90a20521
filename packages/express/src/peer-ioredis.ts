import type * as IORedis from 'ioredis';
import { requirePeer } from './peer';

export const { Redis } = requirePeer<typeof IORedis>('ioredis', '@tokenmeter/express/redis');
export type Redis = IORedis.Redis;
export type { RedisOptions } from 'ioredis';
