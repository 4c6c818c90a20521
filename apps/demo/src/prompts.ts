import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The system prompt of each route, read from `apps/demo/prompts/*.md` (the files the Action watches). */
export interface DemoPrompts {
  chat: string;
  summarize: string;
  codeHelper: string;
}

/** `apps/demo/`, from `src/` in tests and from `dist/` when built. */
export const DEMO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function loadPrompts(directory = join(DEMO_ROOT, 'prompts')): DemoPrompts {
  const read = (name: string) => readFileSync(join(directory, name), 'utf8').trim();
  return { chat: read('chat.md'), summarize: read('summarize.md'), codeHelper: read('code-helper.md') };
}
