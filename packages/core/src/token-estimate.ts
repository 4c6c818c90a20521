import { PriceCatalog } from './price-catalog';

/**
 * Character-based token estimates for models whose providers publish no offline tokenizer (Claude, Gemini,
 * Mistral, Llama, Grok, DeepSeek, …). The providers offer count-tokens endpoints; offline, this is a
 * documented guess, always reported with `estimated: true`.
 *
 * - Latin-script text: ≈ 3.5 characters per token (Anthropic's rule of thumb; also used for the other
 *   vendors), ≈ 4 for Gemini (Google documents "about 4 characters" per token).
 * - Han, kana and Hangul characters: 1 token each (these scripts run at about one token per character or
 *   more in every current tokenizer, so dividing them by 3.5 would undercount badly).
 * Rounded up, so an estimate leans toward more tokens: a budget reservation should not come up short.
 */
export interface EstimateRule {
  family: string;
  pattern: RegExp;
  charactersPerToken: number;
}

export const ESTIMATE_RULES: readonly EstimateRule[] = [
  { family: 'gemini', pattern: /gemini|gemma|palm|bison|learnlm/i, charactersPerToken: 4 },
  { family: 'claude', pattern: /claude|anthropic/i, charactersPerToken: 3.5 },
  {
    family: 'other',
    pattern:
      /mistral|mixtral|codestral|pixtral|ministral|magistral|devstral|llama|grok|deepseek|command|cohere|qwen|kimi|moonshot|glm|nova|titan|jamba|phi-|sonar|yi-|ernie|minimax/i,
    charactersPerToken: 3.5,
  },
];

const OPENAI_PROVIDERS = new Set(['openai', 'azure']);

/**
 * The estimate rule for a model without a public tokenizer, or undefined when the model looks like an
 * OpenAI model (or is unknown): those are counted with o200k_base and flagged estimated instead.
 */
export function estimateRuleFor(model: string): EstimateRule | undefined {
  for (const rule of ESTIMATE_RULES) if (rule.pattern.test(model)) return rule;
  let provider: string | undefined;
  try {
    provider = PriceCatalog.default().tryResolve(model)?.entry.provider;
  } catch {
    provider = undefined;
  }
  if (provider === undefined || OPENAI_PROVIDERS.has(provider)) return undefined;
  return provider === 'google' || provider === 'vertex' ? ESTIMATE_RULES[0] : ESTIMATE_RULES[2];
}

function isDenseScript(code: number): boolean {
  return (
    (code >= 0x3040 && code <= 0x30ff) || // hiragana, katakana
    (code >= 0x3400 && code <= 0x4dbf) || // CJK extension A
    (code >= 0x4e00 && code <= 0x9fff) || // CJK unified ideographs
    (code >= 0xac00 && code <= 0xd7af) || // Hangul syllables
    (code >= 0xf900 && code <= 0xfaff) // CJK compatibility ideographs
  );
}

/** Estimated tokens of a text under a rule (see `ESTIMATE_RULES`). */
export function estimateTokens(text: string, rule: EstimateRule): number {
  if (text.length === 0) return 0;
  let dense = 0;
  for (let index = 0; index < text.length; index++) {
    if (isDenseScript(text.charCodeAt(index))) dense++;
  }
  const rest = text.length - dense;
  return dense + Math.ceil(rest / rule.charactersPerToken);
}
