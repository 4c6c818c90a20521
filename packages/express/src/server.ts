// `@tokenmeter/express/server`: the standalone proxy picks its store from a spec, so it may load every backend.
export { keyStoreFromSpec } from './key-store-spec';
export type { RunningProxy, StartProxyOptions } from './proxy-server';
export { startProxy, storeFromSpec } from './proxy-server';
