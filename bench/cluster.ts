/**
 * `npm run bench:cluster -- --flavour claim|namespaced --claims N [--settle S] [--timeout S]`
 *
 * N claims of one flavour applied at once (one kubectl apply, each in its own namespace,
 * deletionProtection on, Secrets Manager off through the function input) to a fresh real
 * control plane (test/cluster/stack.ts: ../shared/stack with this repository's function), then:
 * - time to first login per claim: from the apply until `<name>-secret` exists AND its
 *   username/password/endpoint/port log in to PostgreSQL (median, p90, slowest);
 * - failed creates: the `count` of Kubernetes events with reason CannotCreateExternalResource
 *   (provider-sql's managed reconciler records one per failed Create);
 * - Crossplane's watch circuit breaker: circuit_breaker_events_total (all results) and
 *   circuit_breaker_opens_total for the composite controller, from its --metrics-port, and the
 *   XRs with Responsive=False (WatchCircuitOpen), counted from the apply until every XR is Ready (the
 *   burst; function calls and CPU too);
 * - function calls: tenantdb_function_calls_total from the function's own --metrics-address;
 * - CPU seconds per process over the burst (/proc/PID/stat utime+stime; PostgreSQL includes its
 *   backends, live and reaped);
 * - once every XR is Ready, a settle window (default 300 s): function calls, and rewrites =
 *   resourceVersion changes of composed objects (and of the XRs), sampled every 5 s (two writes
 *   to one object within a sample count once: a lower bound).
 * Prints a table and one JSON line (`BENCH_CLUSTER {...}`). Not part of `npm test`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { metricSum, psqlAs, REPO, scrape, Stack, whyNoStack, type Flavour, type Obj } from '../test/cluster/stack.js';

interface Options {
  flavour: Flavour;
  claims: number;
  settleSeconds: number;
  timeoutSeconds: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { flavour: 'claim', claims: 1, settleSeconds: 300, timeoutSeconds: 900 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i] ?? '';
    const positive = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} takes a whole number, not ${v}`);
      return n;
    };
    if (flag === '--flavour') {
      const v = value();
      if (v !== 'claim' && v !== 'namespaced') throw new Error(`--flavour is claim or namespaced, not ${v}`);
      o.flavour = v;
    } else if (flag === '--claims') o.claims = Math.max(1, positive(value()));
    else if (flag === '--settle') o.settleSeconds = positive(value());
    else if (flag === '--timeout') o.timeoutSeconds = Math.max(1, positive(value()));
    else throw new Error(`unknown flag ${flag}; usage: --flavour claim|namespaced --claims N [--settle S] [--timeout S]`);
  }
  return o;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime+stime (+ the reaped children's when asked) of a process, in seconds; 0 when it is gone. */
function cpuOf(pid: number, withReaped: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after the name start at field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17
    const n = (field: number) => Number(f[field - 3]);
    return (n(14) + n(15) + (withReaped ? n(16) + n(17) : 0)) / TICKS;
  } catch {
    return 0;
  }
}

/** Live children of a process (PostgreSQL's backends and workers). */
function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

function cpuSnapshot(pids: Record<string, number>): Record<string, number> {
  const cpu: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    cpu[name] = name === 'postgres' ? cpuOf(pid, true) + childrenOf(pid).reduce((sum, c) => sum + cpuOf(c, false), 0) : cpuOf(pid, false);
  }
  return cpu;
}

interface Counters {
  breakerEvents: number;
  breakerOpens: number;
  breakerMetric: boolean;
  functionCalls: number;
  failedCreates: number;
  cpu: Record<string, number>;
  at: number;
}

async function counters(stack: Stack, xpPort: number, pids: Record<string, number>): Promise<Counters> {
  const xp = await scrape(xpPort);
  const fn = await scrape(stack.fn.metricsPort!);
  const events = stack.getJson(['events', '-A', '--field-selector', 'reason=CannotCreateExternalResource']);
  const controller = { controller: stack.flavour === 'claim' ? 'composite/xtenantdatabases.tenantdb.platform.io' : 'composite/tenantdatabases.tenantdb.platform.io' };
  return {
    // Crossplane v2.2.4 exports these once the controller has seen its first event: absent before means 0.
    breakerEvents: metricSum(xp, 'circuit_breaker_events_total', controller) ?? 0,
    breakerOpens: metricSum(xp, 'circuit_breaker_opens_total', controller) ?? 0,
    breakerMetric: xp.includes('circuit_breaker_events_total'),
    functionCalls: metricSum(fn, 'tenantdb_function_calls_total') ?? Number.NaN,
    failedCreates: ((events?.items ?? []) as Obj[]).reduce((sum, e) => sum + Number(e.count ?? 1), 0),
    cpu: cpuSnapshot(pids),
    at: Date.now(),
  };
}

const quantile = (sorted: number[], q: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
const s1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');

/** resourceVersion of every object Crossplane composed for a tenant (label crossplane.io/composite), and of the XRs. */
function versions(stack: Stack, xrKind: string): Map<string, string> {
  const out = new Map<string, string>();
  const list = stack.getJson(['managed,usages.protection.crossplane.io,clusterusages.protection.crossplane.io,secrets', '-A', '-l', 'crossplane.io/composite']);
  const xrs = stack.getJson([xrKind, '-A']);
  for (const o of [...((list?.items ?? []) as Obj[]), ...((xrs?.items ?? []) as Obj[])]) {
    out.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, String(o.metadata.resourceVersion));
  }
  return out;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  // The commit measured: read before the run, which takes minutes during which the checkout may move.
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  const why = whyNoStack();
  if (why) throw new Error(why);
  console.error(`bench:cluster: ${o.flavour} flavour, ${o.claims} claim(s) at once, settle ${o.settleSeconds} s`);
  const stack = await Stack.start(o.flavour, { functionMetrics: true });
  const stopOnSignal = () => void stack.stop().then(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const xpPort = stack.crossplaneMetricsPort();
    const pids = stack.pids();
    const names = Array.from({ length: o.claims }, (_, i) => `bench-${String(i + 1).padStart(3, '0')}`);
    const docs: Obj[] = [];
    for (const ns of names) {
      docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
    stack.apply(docs);
    const claims = names.map((ns) => ({ apiVersion: 'tenantdb.platform.io/v1alpha1', kind: 'TenantDatabase', metadata: { name: 'db', namespace: ns }, spec: { deletionProtection: true } }));

    const before = await counters(stack, xpPort, pids);
    const t0 = Date.now();
    stack.apply(claims);
    const login = new Map<string, number>();
    const deadline = t0 + o.timeoutSeconds * 1000;
    while (login.size < names.length && Date.now() < deadline) {
      const secrets = stack.getJson(['secrets', '-A', '--field-selector', 'metadata.name=db-secret']);
      for (const item of (secrets?.items ?? []) as Obj[]) {
        const ns = item.metadata.namespace as string;
        if (login.has(ns)) continue;
        const data = Object.fromEntries(Object.entries((item.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
        if (data.password && psqlAs(data, 'select 1').code === 0) login.set(ns, (Date.now() - t0) / 1000);
      }
      if (login.size < names.length) await sleep(1_000);
    }
    // The burst ends when every XR is Ready (bounded): what a new tenant costs includes what follows its first login.
    const xrKind = o.flavour === 'claim' ? 'xtenantdatabases.tenantdb.platform.io' : 'tenantdatabases.tenantdb.platform.io';
    const withCondition = (type: string, status: string) =>
      ((stack.getJson([xrKind, '-A'])?.items ?? []) as Obj[]).filter((x) => ((x.status?.conditions ?? []) as Obj[]).some((c) => c.type === type && c.status === status)).length;
    const readyBy = Date.now() + 600_000;
    while (withCondition('Ready', 'True') < names.length && Date.now() < readyBy) await sleep(2_000);
    const burst = await counters(stack, xpPort, pids);
    const readyXRs = withCondition('Ready', 'True');
    const responsiveFalse = withCondition('Responsive', 'False');

    // Settled: a quiet window once every XR is Ready.
    let settled: Obj | undefined;
    if (o.settleSeconds > 0 && readyXRs === names.length) {
      const start = burst;
      let last = versions(stack, xrKind);
      const changed = new Map<string, number>();
      const end = Date.now() + o.settleSeconds * 1000;
      while (Date.now() < end) {
        await sleep(Math.min(5_000, Math.max(0, end - Date.now())));
        const now = versions(stack, xrKind);
        for (const [key, rv] of now) if (last.get(key) !== undefined && last.get(key) !== rv) changed.set(key, (changed.get(key) ?? 0) + 1);
        last = now;
      }
      const stop = await counters(stack, xpPort, pids);
      const byKind: Record<string, number> = {};
      for (const [key, n] of changed) byKind[key.split('/')[0]!] = (byKind[key.split('/')[0]!] ?? 0) + n;
      const perFiveMinutes = 300 / o.settleSeconds;
      settled = {
        seconds: o.settleSeconds,
        readyXRs: withCondition('Ready', 'True'),
        calls: stop.functionCalls - start.functionCalls,
        callsPerTenantPer5Min: ((stop.functionCalls - start.functionCalls) / names.length) * perFiveMinutes,
        rewrites: [...changed.values()].reduce((a, b) => a + b, 0),
        rewritesPerTenantPer5Min: ([...changed.values()].reduce((a, b) => a + b, 0) / names.length) * perFiveMinutes,
        rewritesByKind: byKind,
        breakerEvents: stop.breakerEvents - start.breakerEvents,
      };
    }

    const times = [...login.values()].sort((a, b) => a - b);
    const cpu = Object.fromEntries(Object.keys(burst.cpu).map((k) => [k, Number((burst.cpu[k]! - before.cpu[k]!).toFixed(2))]));
    const cpuTotal = Object.values(cpu).reduce((a, b) => a + b, 0);
    const result = {
      date: new Date().toISOString(),
      commit,
      flavour: o.flavour,
      claims: names.length,
      loggedIn: times.length,
      loginSeconds: { median: quantile(times, 0.5), p90: quantile(times, 0.9), slowest: times[times.length - 1] ?? Number.NaN, first: times[0] ?? Number.NaN },
      readyXRs,
      failedCreates: burst.failedCreates - before.failedCreates,
      failedCreatesSource: 'events reason=CannotCreateExternalResource (sum of count)',
      breakerMetric: burst.breakerMetric ? 'circuit_breaker_events_total' : 'absent',
      breakerEvents: burst.breakerEvents - before.breakerEvents,
      breakerEventsPerClaim: (burst.breakerEvents - before.breakerEvents) / names.length,
      breakersOpened: burst.breakerOpens - before.breakerOpens,
      responsiveFalseXRs: responsiveFalse,
      functionCalls: burst.functionCalls - before.functionCalls,
      burstSeconds: (burst.at - t0) / 1000,
      cpuSeconds: cpu,
      functionCpuShare: cpuTotal > 0 ? (cpu.function ?? 0) / cpuTotal : Number.NaN,
      settled,
    };

    const rows: [string, string][] = [
      ['flavour / claims at once', `${o.flavour} / ${names.length}`],
      ['logged in', `${times.length} of ${names.length}${times.length < names.length ? ` (timeout ${o.timeoutSeconds} s)` : ''}`],
      ['first login: median / p90 / slowest (s)', `${s1(result.loginSeconds.median)} / ${s1(result.loginSeconds.p90)} / ${s1(result.loginSeconds.slowest)}`],
      ['failed creates (CannotCreateExternalResource events)', String(result.failedCreates)],
      ['breaker events (total / per claim)', `${result.breakerEvents} / ${s1(result.breakerEventsPerClaim)}`],
      ['breakers opened / XRs Responsive=False when all Ready', `${result.breakersOpened} / ${responsiveFalse}`],
      ['XRs Ready / burst (apply to all Ready, s)', `${readyXRs} / ${s1(result.burstSeconds)}`],
      ['function calls during the burst', String(result.functionCalls)],
      ['CPU seconds during the burst', Object.entries(cpu).map(([k, v]) => `${k} ${v}`).join(', ')],
      ['function share of that CPU', `${(result.functionCpuShare * 100).toFixed(1)} %`],
    ];
    if (settled) {
      rows.push([`settled ${o.settleSeconds} s: calls (per tenant per 5 min)`, `${settled.calls} (${(settled.callsPerTenantPer5Min as number).toFixed(2)})`]);
      rows.push([`settled ${o.settleSeconds} s: rewrites (per tenant per 5 min)`, `${settled.rewrites} (${(settled.rewritesPerTenantPer5Min as number).toFixed(2)}) ${JSON.stringify(settled.rewritesByKind)}`]);
    }
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    console.log(`BENCH_CLUSTER ${JSON.stringify(result)}`);
    if (times.length < names.length) {
      console.error(stack.diagnostics());
      process.exitCode = 1;
    }
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:cluster: ${(error as Error).message}`);
  process.exit(1);
});
