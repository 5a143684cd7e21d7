/**
 * Kubernetes times, as the claim's passwordRotationTrigger takes them.
 *
 * provider-sql's own trigger field is a metav1.Time, so the API server and
 * provider-sql accept RFC 3339 and nothing else. The function goes one step
 * further and takes whole seconds only (what metav1.Time keeps), so that two
 * triggers that differ are always two different instants to the second, and
 * each instant names one rotation (see rotationStamp).
 */

/** RFC 3339 to the second, upper-case T and Z as Go's time.RFC3339 parses them. */
export const KUBERNETES_TIME = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$';
const SHAPE = new RegExp(KUBERNETES_TIME);

/** What a person should write, for error messages. */
export const KUBERNETES_TIME_HINT = 'an RFC 3339 time to the second, such as 2026-12-02T21:00:00Z';

/** Milliseconds since the epoch, or undefined when the text is not a valid Kubernetes time (e.g. 2026-02-30). */
export function parseKubernetesTime(text: string): number | undefined {
  if (!SHAPE.test(text)) return undefined;
  const [date, rest] = [text.slice(0, 10), text.slice(11)];
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const [hour, minute, second] = rest.slice(0, 8).split(':').map(Number) as [number, number, number];
  const zone = rest.slice(8);
  const offsetMinutes = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59)) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
}

export function isKubernetesTime(text: unknown): boolean {
  return typeof text === 'string' && parseKubernetesTime(text) !== undefined;
}

/**
 * The instant of a trigger in UTC as a fixed-width, DNS-safe stamp
 * (20261202t210000z), which sorts as the instants do. Two spellings of one
 * instant (21:00:00Z, 22:00:00+01:00) give the same stamp: they are one rotation.
 */
export function rotationStamp(trigger: string): string | undefined {
  const ms = parseKubernetesTime(trigger);
  if (ms === undefined) return undefined;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'z').replace(/[-:]/g, '').replace('T', 't');
}

/** The stamp back as an RFC 3339 time, for messages. */
export function stampToTime(stamp: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})z$/.exec(stamp);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : stamp;
}
