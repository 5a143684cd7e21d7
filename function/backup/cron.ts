/**
 * Cron schedules for backups: 5 fields (minute hour day-of-month month
 * day-of-week), UTC, checked here with a message a person can act on, rather
 * than left for the API server (which only says "unparseable schedule") or
 * the CronJob controller.
 *
 * What the CronJob controller (robfig/cron v3, standard parser) accepts, less
 * three things on purpose: no `@daily`-style descriptors and no `TZ=` prefix
 * (the CronJob's timeZone is Etc/UTC; one notation to read), and the minute
 * field must name one minute, so that a tenant is backed up at most once an
 * hour: every run is a pod and a full pg_dump against the shared cluster.
 *
 * The platform's default schedule may also use `H` and `H(a-b)` in the minute
 * and hour fields (as Jenkins does): a value picked from a hash of the
 * tenant's namespace and name, stable across reconciles, so that hundreds of
 * tenants on one Aurora cluster do not all start pg_dump in the same minute.
 */
import { createHash } from 'node:crypto';

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

export const CRON_HINT = '5 fields (minute hour day-of-month month day-of-week) in UTC, e.g. "30 2 * * *"';

/**
 * The shape the API server is given as a pattern (the precise check is
 * cronProblem): five fields of cron characters.
 */
export const CRON_PATTERN = '^[0-9A-Za-z*?,/-]+( +[0-9A-Za-z*?,/-]+){4}$';

function value(text: string, field: Field): number | undefined {
  if (/^[0-9]{1,2}$/.test(text)) return Number(text);
  const i = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (i < 0) return undefined;
  return field.min + i;
}

/** The problem with one field, or undefined. */
function fieldProblem(text: string, field: Field): string | undefined {
  for (const item of text.split(',')) {
    const [range, step, ...rest] = item.split('/');
    if (rest.length || range === undefined || range === '') return `"${item}" in the ${field.name} field is not a cron item`;
    if (step !== undefined && (!/^[0-9]{1,2}$/.test(step) || Number(step) < 1 || Number(step) > field.max - field.min + 1)) {
      return `the step "/${step}" in the ${field.name} field must be between 1 and ${field.max - field.min + 1}`;
    }
    if (range === '*' || range === '?') continue;
    const [from, to, ...more] = range.split('-');
    const a = value(from ?? '', field);
    const b = to === undefined ? a : value(to, field);
    if (more.length || a === undefined || b === undefined) return `"${item}" in the ${field.name} field is not a number${field.names ? ' or name' : ''}`;
    for (const v of [a, b]) {
      if (v < field.min || v > field.max) return `${v} is out of range for the ${field.name} field (${field.min}-${field.max})`;
    }
    if (a > b) return `the range "${range}" in the ${field.name} field runs backwards`;
  }
  return undefined;
}

/**
 * What is wrong with a 5-field cron expression, as a sentence, or undefined
 * when the CronJob controller will take it and it runs at most once an hour.
 */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (expression.trim().startsWith('@') || /^(CRON_)?TZ=/.test(expression.trim())) {
    return `must be ${CRON_HINT}; descriptors such as @daily and TZ= prefixes are not supported (backups run in UTC)`;
  }
  if (fields.length !== 5) return `must be ${CRON_HINT}; got ${fields.length} field${fields.length === 1 ? '' : 's'}`;
  for (const [i, field] of FIELDS.entries()) {
    const problem = fieldProblem(fields[i]!, field);
    if (problem) return `${problem}; a schedule is ${CRON_HINT}`;
  }
  if (!/^[0-9]{1,2}$/.test(fields[0]!)) {
    return `the minute field must be a single minute such as 30 (got "${fields[0]}"): backups run at most once an hour`;
  }
  return undefined;
}

function hashed(namespace: string, name: string, field: number, size: number): number {
  // NUL cannot occur in a Kubernetes name, so the join is unambiguous.
  const digest = createHash('sha256').update(`${namespace}\0${name}\0${field}`).digest();
  return digest.readUInt32BE(0) % size;
}

/**
 * The platform's default schedule for one tenant: `H` in the minute or hour
 * field becomes a value from the tenant's hash, `H(a-b)` one within a..b.
 * Returns the cron expression, or a problem (for input validation).
 */
export function spreadSchedule(template: string, namespace: string, name: string): { cron: string } | { problem: string } {
  const fields = template.trim().split(/\s+/);
  const out: string[] = [];
  for (const [i, text] of fields.entries()) {
    const m = /^H(?:\(([0-9]{1,2})-([0-9]{1,2})\))?$/.exec(text);
    if (!m) {
      if (text.includes('H')) return { problem: `"${text}": H stands alone or as H(a-b), e.g. "H H(1-5) * * *"` };
      out.push(text);
      continue;
    }
    const field = FIELDS[i];
    if (!field || i > 1) return { problem: `H may appear only in the minute and hour fields (got "${text}" in field ${i + 1})` };
    const lo = m[1] === undefined ? field.min : Number(m[1]);
    const hi = m[2] === undefined ? field.max : Number(m[2]);
    if (lo < field.min || hi > field.max || lo > hi) return { problem: `"${text}" is out of range for the ${field.name} field (${field.min}-${field.max})` };
    out.push(String(lo + hashed(namespace, name, i, hi - lo + 1)));
  }
  const cron = out.join(' ');
  const problem = cronProblem(cron);
  return problem ? { problem } : { cron };
}

/** The values one field of a valid expression stands for, and whether it was `*` / `?` (robfig/cron's star bit). */
function fieldValues(text: string, field: Field): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let from: number;
    let to: number;
    if (range === '*' || range === '?') {
      [from, to] = [field.min, field.max];
      if (step === 1) star = true;
    } else {
      const [a, b] = range.split('-');
      from = value(a ?? '', field)!;
      // "N/step" means N-max/step, as in robfig/cron.
      to = b !== undefined ? value(b, field)! : stepText !== undefined ? field.max : from;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return { values, star };
}

const DAY = 86_400;
/** 28 years repeat the calendar of days of the week and leap years (within one century). */
const WINDOW_DAYS = 28 * 365 + 7;
const gaps = new Map<string, number | undefined>();

/**
 * The longest time, in seconds, between two consecutive runs of a valid
 * schedule (daily: 86400; weekly: 604800; "on the 31st": up to 62 days), over
 * a 28-year window; undefined when it never runs (e.g. 30 February). What
 * staleness is measured against: a weekly backup is not late on day 3.
 * Day of month and day of week combine as the CronJob controller combines them
 * (robfig/cron: either matches when both are restricted, both must otherwise).
 */
export function longestGapSeconds(expression: string): number | undefined {
  if (gaps.has(expression)) return gaps.get(expression);
  const parts = expression.trim().split(/\s+/);
  const [minute, hour, dom, month, dow] = FIELDS.map((f, i) => fieldValues(parts[i]!, f));
  const times: number[] = [...hour!.values].sort((a, b) => a - b).flatMap((h) => [...minute!.values].sort((a, b) => a - b).map((m) => h * 3600 + m * 60));
  const start = Date.UTC(2001, 0, 1) / 1000 / DAY;
  let previous: number | undefined;
  let longest: number | undefined;
  for (let day = start; day < start + WINDOW_DAYS; day++) {
    const date = new Date(day * DAY * 1000);
    if (!month!.values.has(date.getUTCMonth() + 1)) continue;
    const domMatch = dom!.values.has(date.getUTCDate());
    const dowMatch = dow!.values.has(date.getUTCDay());
    if (!(dom!.star || dow!.star ? domMatch && dowMatch : domMatch || dowMatch)) continue;
    for (const t of times) {
      const at = day * DAY + t;
      if (previous !== undefined) longest = Math.max(longest ?? 0, at - previous);
      previous = at;
    }
  }
  gaps.set(expression, longest);
  return longest;
}
