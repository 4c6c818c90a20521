import type * as PromClient from 'prom-client';
import { requirePeer } from './peer';

// One declaration per statement: the declaration bundler does not take `const { a, b } = …`.
const promClient = requirePeer<typeof PromClient>('prom-client', '@tokenmeter/express/metrics');
export const Counter = promClient.Counter;
export const Histogram = promClient.Histogram;
export const Registry = promClient.Registry;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export type Registry = PromClient.Registry;
