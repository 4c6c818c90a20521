// jsdom's own types pull in the DOM library, which changes fetch's types for every Node test in the package:
// the part of its API the dashboard test reads, declared here instead.
declare module 'jsdom' {
  interface Element {
    textContent: string | null;
    hidden: boolean;
    dataset: Record<string, string | undefined>;
    lastElementChild: Element | null;
    closest(selector: string): Element | null;
    querySelector(selector: string): Element | null;
    querySelectorAll(selector: string): Iterable<Element>;
  }
  interface Document {
    body: Element;
    getElementById(id: string): Element | null;
    querySelector(selector: string): Element | null;
    querySelectorAll(selector: string): Iterable<Element>;
  }
  interface DOMWindow {
    document: Document;
    eval(script: string): unknown;
    close(): void;
  }
  export class JSDOM {
    constructor(html: string, options?: { url?: string; runScripts?: 'dangerously' | 'outside-only' });
    readonly window: DOMWindow;
  }
}
