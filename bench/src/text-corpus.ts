import { seeded } from './stats';

const WORDS = (
  'the of and to in is you that it he was for on are as with his they at be this have from or one had by word but ' +
  'not what all were we when your can said there use an each which she do how their if will up other about out ' +
  'many then them these so some her would make like him into time has look two more write go see number no way ' +
  'could people my than first water been call who oil its now find long down day did get come made may part ' +
  'invoice budget token model prompt request customer refund shipping account password latency error retry cache ' +
  'assistant summary translate paragraph function argument response stream billing monthly estimate forecast ' +
  'café naïve résumé Zürich Ångström São Paulo'
).split(' ');
const EXTRAS = [
  '42',
  '3.14',
  '2026-11-27',
  '$19.99',
  '#4411',
  'e-mail',
  "don't",
  "it's",
  'GPT-4o',
  '🙂',
  '東京',
  'naïveté',
];
const PUNCTUATION = ['.', '.', '.', '?', '!', ',', ';', ':'];

/** Deterministic English-like text with numbers, punctuation, accents, an emoji and a little CJK. */
export function corpus(characters: number, seed = 7): string {
  const random = seeded(seed);
  const parts: string[] = [];
  let length = 0;
  while (length < characters) {
    const sentenceWords = 6 + Math.floor(random() * 14);
    let sentence = '';
    for (let index = 0; index < sentenceWords; index++) {
      const word =
        random() < 0.06
          ? (EXTRAS[Math.floor(random() * EXTRAS.length)] as string)
          : (WORDS[Math.floor(random() * WORDS.length)] as string);
      sentence += index === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : ` ${word}`;
      if (index < sentenceWords - 1 && random() < 0.08) sentence += ',';
    }
    sentence += PUNCTUATION[Math.floor(random() * PUNCTUATION.length)] as string;
    sentence += random() < 0.15 ? '\n\n' : ' ';
    parts.push(sentence);
    length += sentence.length;
  }
  return parts.join('').slice(0, characters);
}

/** `count` distinct strings of about `length` characters cut at spaces from a corpus. */
export function shortStrings(count: number, length: number, seed = 11): string[] {
  const text = corpus(count * (length + 20) + 1000, seed);
  const result: string[] = [];
  let start = 0;
  while (result.length < count && start < text.length - length) {
    result.push(text.slice(start, start + length));
    start += length + 7;
  }
  return result;
}
