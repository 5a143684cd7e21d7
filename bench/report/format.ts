/**
 * Plain-text tables and numbers for the report: aligned columns, fixed
 * decimals, PASS/MISS marks.
 */

export type Mark = 'PASS' | 'MISS' | 'FAIL' | 'info';
export const mark = (ok: boolean): Mark => (ok ? 'PASS' : 'MISS');

export function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
export function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}
export function table(headers: string[], rows: (string | number)[][], right = new Set<number>()): string {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (right.has(i) ? lpad(c, widths[i]!) : pad(c, widths[i]!))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
export const f = (n: number, d = 3) => (Number.isFinite(n) ? n.toFixed(d) : String(n));

/** A whole number with its sign, for differences. */
export const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(0)}`;
