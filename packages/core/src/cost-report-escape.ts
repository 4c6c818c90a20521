/**
 * Escaping for text that came from a pull request (file names, model names, variable names): in a GitHub
 * comment it must render as the characters it is, never as HTML, a link, an image, a mention or math.
 */

const MAX_SHOWN = 300;

/** A code span that holds any text literally, usable inside a GFM table cell. */
export function markdownCode(text: string): string {
  const clean = cleanLine(text).replaceAll('|', '\\|');
  const longestRun = Math.max(0, ...[...clean.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(longestRun + 1);
  // CommonMark strips one space on each side, so the padding also protects names that start or end with a backtick.
  return `${fence} ${clean} ${fence}`;
}

/** Inline prose: every ASCII punctuation character backslash-escaped, mentions and autolinks broken. */
export function markdownText(text: string): string {
  return cleanLine(text)
    .replace(/[\\`*_{}[\]()#+\-.!|~<>&"'=:$%^,;?/]/g, (character) => `\\${character}`)
    .replaceAll('@', '@\u200b');
}

/** Text inside HTML elements (`<summary>`): entities only. */
export function htmlText(text: string): string {
  return cleanLine(text).replace(/[&<>"'`|@$\\*_[\]]/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * Characters that change how the text around them is shown without being seen: bidirectional controls (U+202E
 * makes `evil\u202Etxt.md` display as `evilmd.txt`), zero-width spaces and joiners, invisible fillers and tag
 * characters. A name carrying them could pass for another file; each is replaced by a visible `<U+XXXX>`.
 */
const INVISIBLE_RANGES: [number, number][] = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x061c, 0x061c],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x2064],
  [0x2066, 0x206f],
  [0x3164, 0x3164],
  [0xfeff, 0xfeff],
  [0xffa0, 0xffa0],
  [0xe0000, 0xe007f],
];

function isInvisible(codePoint: number): boolean {
  return INVISIBLE_RANGES.some(([first, last]) => codePoint >= first && codePoint <= last);
}

/** Makes invisible and direction-changing characters visible as `<U+XXXX>`; everything else is left as it is. */
export function neutralizeInvisible(text: string): string {
  // Plain ASCII (almost every file name) has none of them.
  if (!/[^\u0000-\u007f]/.test(text)) return text;
  let result = '';
  for (const character of text) {
    const codePoint = character.codePointAt(0) ?? 0;
    result += isInvisible(codePoint) ? `<U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}>` : character;
  }
  return result;
}

function cleanLine(text: string): string {
  // Control characters and line breaks would end a table row or a list item.
  const single = neutralizeInvisible(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return single.length > MAX_SHOWN ? `${single.slice(0, MAX_SHOWN)}…` : single;
}
