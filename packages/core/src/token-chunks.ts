/**
 * Splitting text for BPE without changing the count.
 *
 * tiktoken first cuts text into pieces with a regex, then runs BPE on each piece, so the count of a text
 * is the sum of the counts of its pieces. Cutting the text where the regex would cut anyway therefore
 * keeps the count exact, and lets us encode in chunks: to yield between them, and to keep a single huge
 * piece (a 20,000-letter run, a long CJK run: BPE is superlinear in the piece length) from taking seconds.
 *
 * A position p is a safe cut for both o200k_base and cl100k_base when the piece holding the character
 * before p cannot extend past p. Neither regex looks behind, so the piece starting at p is then the same
 * as if the text started at p. The rules, from the two patterns:
 *  - after a letter, before anything but a letter, a combining mark or an apostrophe (letter pieces are
 *    letters and marks, plus an optional `'s`/`'t`/… suffix);
 *  - after a digit, before anything but a digit (digit pieces are 1–3 digits and never absorb anything);
 *  - after `\r`/`\n`, before a letter, digit or punctuation other than `/` (o200k lets punctuation pieces
 *    swallow trailing newlines and `/`; whitespace pieces only whitespace);
 *  - after punctuation or a mark, before a plain space or tab.
 * Whitespace runs are never cut (their pieces depend on what follows). A run with no safe cut longer than
 * `RUN_LIMIT` code units is cut anyway, and the count of that text is then marked estimated: off by at
 * most a couple of tokens per cut, in text nobody writes by hand.
 */

/** Longest stretch without a safe cut that is encoded in one piece; beyond it, counts are estimates. */
export const RUN_LIMIT = 1000;

const LETTER = 1;
const MARK = 2;
const DIGIT = 3;
const SPACE = 4;
const NEWLINE = 5;
const APOSTROPHE = 6;
const SLASH = 7;
const PUNCTUATION = 8;
/** Characters the two regex engines may classify differently (U+0085, U+FEFF): never cut next to them. */
const OTHER = 9;

const IS_LETTER = /^\p{L}$/u;
const IS_MARK = /^\p{M}$/u;
const IS_DIGIT = /^\p{N}$/u;
const IS_SPACE = /^\s$/u;

const bmpClasses = new Uint8Array(0x10000);
const astralClasses = new Map<number, number>();

function classify(codePoint: number): number {
  if (codePoint === 0x0a || codePoint === 0x0d) return NEWLINE;
  if (codePoint === 0x27) return APOSTROPHE;
  if (codePoint === 0x2f) return SLASH;
  if (codePoint === 0x85 || codePoint === 0xfeff) return OTHER;
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return OTHER;
  const char = String.fromCodePoint(codePoint);
  if (IS_LETTER.test(char)) return LETTER;
  if (IS_MARK.test(char)) return MARK;
  if (IS_DIGIT.test(char)) return DIGIT;
  // JavaScript's \s and Unicode White_Space agree apart from U+0085 and U+FEFF, handled above.
  if (IS_SPACE.test(char)) return SPACE;
  return PUNCTUATION;
}

function classOf(codePoint: number): number {
  if (codePoint < 0x10000) {
    let value = bmpClasses[codePoint] ?? 0;
    if (value === 0) {
      value = classify(codePoint);
      bmpClasses[codePoint] = value;
    }
    return value;
  }
  let value = astralClasses.get(codePoint);
  if (value === undefined) {
    value = classify(codePoint);
    if (astralClasses.size < 10_000) astralClasses.set(codePoint, value);
  }
  return value;
}

function isSafeCut(before: number, after: number): boolean {
  switch (before) {
    case LETTER:
      return after !== LETTER && after !== MARK && after !== APOSTROPHE;
    case DIGIT:
      return after !== DIGIT;
    case NEWLINE:
      return after === LETTER || after === DIGIT || after === PUNCTUATION || after === APOSTROPHE;
    case PUNCTUATION:
    case APOSTROPHE:
    case SLASH:
    case MARK:
      return after === SPACE;
    default:
      return false;
  }
}

export interface ChunkEnd {
  end: number;
  /** True when the cut is not a piece boundary (a run longer than `RUN_LIMIT`): the count is approximate. */
  forced: boolean;
}

/** Distance between probes for a safe cut: most text has one within a few characters of any position. */
const PROBE_STRIDE = 256;

/**
 * The first safe cut in (from, to), or -1. `from` may sit on the second half of a surrogate pair: its class
 * is then "other", which is never a safe side, and the scan continues on code-point boundaries.
 */
function findSafeCut(text: string, from: number, to: number): number {
  let before = classAt(text, from);
  let position = from + (isHighSurrogate(text.charCodeAt(from)) ? 2 : 1);
  while (position < to) {
    const code = text.charCodeAt(position);
    const astral = isHighSurrogate(code) && position + 1 < text.length;
    const after = classOf(astral ? (text.codePointAt(position) ?? code) : code);
    if (isSafeCut(before, after)) return position;
    before = after;
    position += astral ? 2 : 1;
  }
  return -1;
}

/**
 * The end of the chunk that starts at `start`: a safe cut at or before `start + size` (the text's end if it
 * is nearer), or a forced cut inside a stretch of more than `RUN_LIMIT` code units without a safe cut.
 *
 * Rather than test every character, it probes every `PROBE_STRIDE` characters for the next safe cut, so a
 * megabyte of prose costs a few thousand character tests. A stretch without safe cuts can therefore reach
 * RUN_LIMIT + PROBE_STRIDE before it is noticed: still a bounded piece.
 */
export function nextChunkEnd(text: string, start: number, size: number): ChunkEnd {
  const length = text.length;
  const limit = Math.max(size, 1);
  if (length - start <= Math.min(limit, RUN_LIMIT)) return { end: length, forced: false };
  let lastSafe = start;
  let probe = start;
  for (;;) {
    const scanEnd = Math.min(length, probe + RUN_LIMIT + 1);
    const cut = findSafeCut(text, probe, scanEnd);
    if (cut === -1) {
      if (scanEnd === length) {
        // The tail is shorter than a run: take it whole if it fits, else stop at the last cut.
        if (length - start <= limit || lastSafe === start) return { end: length, forced: false };
        return { end: lastSafe, forced: false };
      }
      if (lastSafe > start) return { end: lastSafe, forced: false };
      let end = start + RUN_LIMIT;
      if (isHighSurrogate(text.charCodeAt(end - 1))) end++;
      return { end, forced: true };
    }
    if (cut - start > limit) return { end: lastSafe > start ? lastSafe : cut, forced: false };
    lastSafe = cut;
    if (length - start <= limit && length - cut <= RUN_LIMIT) return { end: length, forced: false };
    probe = Math.max(cut, Math.min(cut + PROBE_STRIDE, start + limit));
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function classAt(text: string, index: number): number {
  const codePoint = text.codePointAt(index);
  return codePoint === undefined ? OTHER : classOf(codePoint);
}

/** Splits text into chunks of about `size` code units at safe cuts; `forced` if any cut was not safe. */
export function splitForEncoding(text: string, size: number): { chunks: string[]; forced: boolean } {
  const chunks: string[] = [];
  let forced = false;
  let start = 0;
  while (start < text.length) {
    const next = nextChunkEnd(text, start, size);
    chunks.push(text.slice(start, next.end));
    forced ||= next.forced;
    start = next.end;
  }
  return { chunks, forced };
}
