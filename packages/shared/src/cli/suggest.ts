/** "Did you mean" for mistyped commands and flags. */

/** Edit distance (insertions, deletions, substitutions and swaps of neighbours count 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidates close to `word`, closest first: within a third of the word's length (at least 1, at most 3), or
 * starting with it (a prefix of 3 letters or more).
 */
export function closeMatches(word: string, candidates: readonly string[], max = 3): string[] {
  const w = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  return candidates
    .map((c) => ({ c, d: editDistance(w, c.toLowerCase()), prefix: w.length >= 3 && c.toLowerCase().startsWith(w) }))
    .filter((x) => x.d <= limit || x.prefix)
    .sort((x, y) => x.d - y.d || (x.c < y.c ? -1 : 1))
    .slice(0, max)
    .map((x) => x.c);
}
