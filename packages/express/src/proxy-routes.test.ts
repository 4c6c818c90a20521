import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveRoute } from './proxy-routes';

const segment = fc.oneof(
  fc.constantFrom('chat', 'completions', 'responses', 'messages', 'models', 'batches', 'cancel', 'count_tokens'),
  fc.constantFrom('.', '..', '', 'Chat', 'RESPONSES', '%63hat', '%2e', '%2F', '%41', '%7E', 'resp_AbC', '%20x'),
  fc.stringMatching(/^[A-Za-z0-9_~%.-]{0,8}$/),
);
const rawPath = fc.array(segment, { maxLength: 6 }).map((segments) => `/${segments.join('/')}`);
const method = fc.constantFrom('GET', 'POST', 'DELETE', 'PUT');

describe('resolveRoute', () => {
  it('returns a canonical path: no empty or dot segments, no encoded separators, and stable when resolved again', () => {
    fc.assert(
      fc.property(method, rawPath, (verb, path) => {
        const first = resolveRoute(verb, path);
        if (!first.ok) {
          expect(first.code).toBe('invalid_path');
          return;
        }
        expect(first.path).toMatch(/^\//);
        expect(
          first.path
            .slice(1)
            .split('/')
            .every((part) => part !== '.' && part !== '..'),
        ).toBe(true);
        expect(first.path === '/' || !first.path.slice(1).split('/').includes('')).toBe(true);
        expect(first.path).not.toMatch(/%(2f|2e|5c)/i);
        const again = resolveRoute(verb, first.path);
        expect(again).toEqual(first);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives every spelling of an endpoint the same kind and path', () => {
    const spellings: Array<[string, string]> = [
      ['/chat/completions', '/chat/completions'],
      ['//chat//completions//', '/chat/completions'],
      ['/./chat/./completions/.', '/chat/completions'],
      ['/x/../chat/y/z/../../completions', '/chat/completions'],
      ['/CHAT/Completions', '/chat/completions'],
      ['/%63hat/%43ompletions', '/chat/completions'],
      ['/Responses/resp_AbC', '/responses/resp_AbC'],
    ];
    for (const [spelled, canonical] of spellings) {
      const verb = spelled.includes('resp_') ? 'GET' : 'POST';
      expect(resolveRoute(verb, spelled)).toMatchObject({ ok: true, path: canonical });
    }
    expect(resolveRoute('POST', '/chat/completions')).toMatchObject({ kind: 'metered', operation: 'chat' });
    expect(resolveRoute('GET', '/responses/resp_AbC')).toMatchObject({ kind: 'retrieve', id: 'resp_AbC' });
    expect(resolveRoute('POST', '/batches')).toMatchObject({ kind: 'unmetered', label: 'POST /batches' });
    expect(resolveRoute('POST', '/vector_stores/vs_1/files')).toMatchObject({
      kind: 'unmetered',
      label: 'POST /vector_stores',
    });
    expect(resolveRoute('GET', '/models')).toMatchObject({ kind: 'free' });
    expect(resolveRoute('GET', '/chat/completions')).toMatchObject({ kind: 'free' });
  });

  it('refuses encoded separators and climbs above the mount', () => {
    for (const path of [
      '/chat%2Fcompletions',
      '/chat%2fcompletions',
      '/%2e%2e/x',
      '/%2E/chat',
      '/a%5Cb',
      '/a\\b',
      '/..',
    ]) {
      expect(resolveRoute('POST', path)).toMatchObject({ ok: false, code: 'invalid_path' });
    }
  });
});
