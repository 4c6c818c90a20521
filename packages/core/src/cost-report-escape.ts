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

function cleanLine(text: string): string {
  // Control characters and line breaks would end a table row or a list item.
  const single = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ');
  return single.length > MAX_SHOWN ? `${single.slice(0, MAX_SHOWN)}…` : single;
}
