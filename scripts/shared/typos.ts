/**
 * "Did you mean …?" for the names people type into claims and values files:
 * a misspelt field is silently dropped by the API server, or refused by
 * `npm run migrate`, and the nearest right name is the fastest fix.
 */

/** The candidate a misspelt name most likely meant: the same letters in another case, else the fewest edits, at most `maxEdits`. */
export function closest(name: string, candidates: readonly string[], maxEdits: number): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === name.toLowerCase() ? 0 : editDistance(candidate, name);
    if (distance <= maxEdits && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Edit distance counting insertions, deletions, substitutions and swaps of neighbours (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
