/** Levenshtein distance with an early exit once every path exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMinimum = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      current.push(value);
      if (value < rowMinimum) rowMinimum = value;
    }
    if (rowMinimum > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function sharedPrefix(a: string, b: string): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length++;
  return length;
}

/**
 * The known ids closest to `name`: by edit distance, with a long shared prefix counting in favour (someone
 * who typed `claude-sonnet-4-9` wants the other `claude-sonnet-4-*` ids, not `claude-3-sonnet`).
 */
export function closestIds(name: string, ids: Iterable<string>, count = 5): string[] {
  const wanted = name.toLowerCase();
  const scored: Array<{ id: string; score: number }> = [];
  for (const id of ids) {
    const candidate = id.toLowerCase();
    const limit = Math.max(3, Math.ceil(Math.max(wanted.length, candidate.length) * 0.5));
    const distance = editDistance(wanted, candidate, limit);
    const prefix = sharedPrefix(wanted, candidate);
    if (distance > limit && prefix < 4) continue;
    scored.push({ id, score: Math.min(distance, limit + 1) - Math.min(prefix, 12) / 4 });
  }
  scored.sort((a, b) => a.score - b.score || a.id.length - b.id.length || (a.id < b.id ? -1 : 1));
  return scored.slice(0, count).map((item) => item.id);
}
