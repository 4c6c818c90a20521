import { describe, expect, it } from 'vitest';
import { MissingPeerDependencyError, requirePeer } from './peer';

describe('requirePeer', () => {
  it('names the missing package and the entry that needs it', () => {
    let caught: unknown;
    try {
      requirePeer('tokenmeter-no-such-peer', '@tokenmeter/express/sqlite');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MissingPeerDependencyError);
    expect((caught as Error).message).toBe(
      '@tokenmeter/express/sqlite needs the package tokenmeter-no-such-peer: install it beside @tokenmeter/express (npm install tokenmeter-no-such-peer)',
    );
    expect((caught as MissingPeerDependencyError).code).toBe('TOKENMETER_MISSING_PEER');
  });

  it('loads a peer that is installed', () => {
    const { Registry } = requirePeer<typeof import('prom-client')>('prom-client', '@tokenmeter/express/metrics');
    expect(typeof Registry).toBe('function');
  });
});
