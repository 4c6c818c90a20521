import { describe, expect, it } from 'vitest';
import { BufferedResponse } from './buffered-response';

const TEXT = '{"id":"chatcmpl-1","choices":[{"message":{"content":"Grüße 👋"}}]}';

function answer(): BufferedResponse {
  const bytes = new TextEncoder().encode(TEXT);
  return new BufferedResponse(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    { status: 200, statusText: 'OK', headers: { 'content-type': 'application/json', 'x-request-id': 'req_1' } },
    'https://api.example.test/v1/chat/completions',
  );
}

describe('BufferedResponse', () => {
  it('is a Response with the status, headers and url of the answer', () => {
    const response = answer();
    expect(response).toBeInstanceOf(Response);
    expect([response.status, response.statusText, response.ok]).toEqual([200, 'OK', true]);
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(response.url).toBe('https://api.example.test/v1/chat/completions');
    expect(response.bodyUsed).toBe(false);
  });

  it('reads as JSON, text, bytes or a blob, once', async () => {
    const json = answer();
    expect(await json.json()).toEqual(JSON.parse(TEXT));
    expect(json.bodyUsed).toBe(true);
    await expect(json.text()).rejects.toThrow(TypeError);
    expect(await answer().text()).toBe(TEXT);
    expect(new TextDecoder().decode(await answer().arrayBuffer())).toBe(TEXT);
    const blob = await answer().blob();
    expect([blob.type, await blob.text()]).toEqual(['application/json', TEXT]);
  });

  it('streams its body to callers that read the stream, and only then counts as used', async () => {
    const response = answer();
    const body = response.body;
    expect(body).toBe(response.body);
    expect(response.bodyUsed).toBe(false);
    expect(await new Response(body).text()).toBe(TEXT);
    expect(response.bodyUsed).toBe(true);
    await expect(response.json()).rejects.toThrow(TypeError);
  });

  it('hands json() the object its reader already parsed, once, and parses for a clone', async () => {
    const bytes = new TextEncoder().encode(TEXT).buffer as ArrayBuffer;
    const parsed = { value: JSON.parse(TEXT) };
    const response = new BufferedResponse(bytes, { status: 200 }, 'https://api.example.test/', parsed);
    const copy = response.clone();
    expect(await response.json()).toBe(parsed.value);
    await expect(response.json()).rejects.toThrow(TypeError);
    const cloned = await copy.json();
    expect(cloned).toEqual(parsed.value);
    expect(cloned).not.toBe(parsed.value);
  });

  it('clones an unread answer into an independent one, and refuses to clone a read one', async () => {
    const response = answer();
    const copy = response.clone();
    expect(await copy.json()).toEqual(JSON.parse(TEXT));
    expect(await response.text()).toBe(TEXT);
    expect(() => response.clone()).toThrow(TypeError);
  });
});
