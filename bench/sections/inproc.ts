/**
 * Section `inproc`: compose() in this process on SDK-decoded requests, the
 * typical claim, the second reconcile and claims with long lists (up to the
 * refused ones), and the growth per list item.
 */
import { Severity, type RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../../function/compose.js';
import { secondReconcile, typical, wire, withLists } from '../requests.js';
import { log, results, round } from '../results.js';
import { QUICK } from '../settings.js';
import { breakdownOf, GRPC_REQUESTS } from '../targets.js';
import { timeIt } from '../timing.js';

export interface InprocRow {
  case: string;
  items: number;
  resources: number;
  fatal?: string;
  iterations: number;
  medianMs: number;
  p99Ms: number;
  cpuMedianMs: number;
  cpuP99Ms: number;
}

export function inproc(): void {
  log('in-process compose');
  const budget = QUICK ? 300 : 1000;
  const cases: { name: string; items: number; req: RunFunctionRequest; fatal?: boolean }[] = [
    { name: 'typical claim (b)', items: 1, req: typical() },
    { name: 'second reconcile (c)', items: 1, req: secondReconcile() },
    ...[10, 100, 256].map((n) => ({ name: `extensions x${n}`, items: n, req: withLists(n, 0) })),
    ...[10, 100, 256].map((n) => ({ name: `schemas x${n}`, items: n, req: withLists(0, n) })),
    { name: 'extensions+schemas x256', items: 512, req: withLists(256, 256) },
    { name: 'extensions x1000 (refused)', items: 1000, req: withLists(1000, 0), fatal: true },
    { name: 'schemas x1000 (refused)', items: 1000, req: withLists(0, 1000), fatal: true },
  ];
  const rows: InprocRow[] = [];
  for (const c of cases) {
    const { req } = wire(c.req);
    const once = compose(req, Date.now());
    const fatal = once.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
    if (Boolean(fatal) !== Boolean(c.fatal)) throw new Error(`${c.name}: ${fatal ? `unexpected Fatal: ${fatal}` : 'expected a Fatal result'}`);
    const t = timeIt(() => compose(req, Date.now()), budget);
    rows.push({
      case: c.name,
      items: c.items,
      resources: Object.keys(once.desired?.resources ?? {}).length,
      ...(fatal ? { fatal } : {}),
      iterations: t.iterations,
      medianMs: round(t.wall.p50, 4),
      p99Ms: round(t.wall.p99, 4),
      cpuMedianMs: round(t.cpu.p50, 4),
      cpuP99Ms: round(t.cpu.p99, 4),
    });
  }

  // Growth per list item, from the medians: linear if the slope does not depend on the range.
  const med = (name: string) => rows.find((r) => r.case === name)!.medianMs;
  const slope = (kind: string, a: number, b: number) => round(((med(`${kind} x${b}`) - med(`${kind} x${a}`)) / (b - a)) * 1000, 2);
  const growth = Object.fromEntries(
    ['extensions', 'schemas'].map((kind) => [kind, { usPerItem10to100: slope(kind, 10, 100), usPerItem100to256: slope(kind, 100, 256) }]),
  );

  const breakdown = GRPC_REQUESTS.map((r) => breakdownOf(r.key));
  results.inproc = { rows, growth, breakdown };
}
