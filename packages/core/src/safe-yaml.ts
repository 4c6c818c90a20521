import { parse as parseYaml } from 'yaml';

const MAX_YAML_NESTING = 64;

/**
 * The yaml package recurses per nesting level: thousands of `[` exhaust the stack (and under some runtimes
 * the process), so deeply nested input is refused before it gets there. Aliases are capped against billion-laughs.
 */
export function safeYaml(text: string): unknown {
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const character = text.charCodeAt(index);
    if (character === 0x5b || character === 0x7b) {
      depth++;
      if (depth > MAX_YAML_NESTING) throw new Error('YAML nested too deeply');
    } else if ((character === 0x5d || character === 0x7d) && depth > 0) depth--;
  }
  return parseYaml(text, { maxAliasCount: 50, prettyErrors: false });
}
