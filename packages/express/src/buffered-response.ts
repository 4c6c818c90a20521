/**
 * A `Response` over an answer already read whole, handed back by the instrumented `fetch`.
 *
 * Why not `new Response(bytes)`: in Node 20 that builds a web stream the caller's `json()` then drains, about
 * 15 µs and a dozen objects for every metered call; here `json()`, `text()` and `arrayBuffer()` answer from the
 * bytes (about 2 µs). Callers that read `body` as a stream get one, built on first access. It is a real
 * `Response` (status, headers, `ok`, `instanceof`), and a body still reads once only.
 */
export class BufferedResponse extends Response {
  readonly #bytes: ArrayBuffer;
  readonly #url: string;
  /** The body already parsed as JSON by whoever read it; `json()` hands it over instead of parsing again. */
  readonly #parsed: { value: unknown } | undefined;
  #used = false;
  #stream: ReadableStream<Uint8Array> | undefined;

  constructor(bytes: ArrayBuffer, init: ResponseInit, url: string, parsed?: { value: unknown }) {
    super(null, init);
    this.#bytes = bytes;
    this.#url = url;
    this.#parsed = parsed;
  }

  static {
    // `body`, `bodyUsed` and `url` are accessors of Response.prototype: redefined here, once, not per instance.
    Object.defineProperties(BufferedResponse.prototype, {
      body: {
        get(this: BufferedResponse) {
          // Pulled on the first read only (high-water mark 0): looking at `body` does not use it up.
          this.#stream ??= new ReadableStream<Uint8Array>(
            {
              pull: (controller) => {
                if (this.#used) {
                  controller.error(new TypeError('Body is unusable: Body has already been read'));
                  return;
                }
                this.#used = true;
                controller.enqueue(new Uint8Array(this.#bytes));
                controller.close();
              },
            },
            { highWaterMark: 0 },
          );
          return this.#stream;
        },
      },
      bodyUsed: {
        get(this: BufferedResponse) {
          return this.#used;
        },
      },
      url: {
        get(this: BufferedResponse) {
          return this.#url;
        },
      },
      // The body methods are properties in Node's type of Response, so they are defined here rather than as
      // methods of the class.
      arrayBuffer: {
        async value(this: BufferedResponse): Promise<ArrayBuffer> {
          return this.#take();
        },
      },
      text: {
        async value(this: BufferedResponse): Promise<string> {
          return Buffer.from(this.#take()).toString('utf8');
        },
      },
      json: {
        async value(this: BufferedResponse): Promise<unknown> {
          const bytes = this.#take();
          return this.#parsed ? this.#parsed.value : JSON.parse(Buffer.from(bytes).toString('utf8'));
        },
      },
      blob: {
        async value(this: BufferedResponse): Promise<Blob> {
          return new Blob([this.#take()], { type: this.headers.get('content-type') ?? '' });
        },
      },
      formData: {
        async value(this: BufferedResponse): Promise<FormData> {
          return new Response(this.#take(), { headers: this.headers }).formData();
        },
      },
      clone: {
        value(this: BufferedResponse): BufferedResponse {
          if (this.#used) throw new TypeError('Response.clone: Body has already been consumed.');
          const init = { status: this.status, statusText: this.statusText, headers: new Headers(this.headers) };
          // The copy parses its own: two readers must not share one object.
          return new BufferedResponse(this.#bytes, init, this.#url);
        },
      },
    });
  }

  #take(): ArrayBuffer {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    return this.#bytes;
  }
}
