/**
 * Why a fair-floor target is missed, in words, from measured parts only:
 * latency and throughput against the fair floor, the server's profiled split,
 * and whether the machine sustained the rate at all.
 */
import { results } from '../results.js';
import { signed } from './format.js';
import { PARTS, type Attribution } from '../sections/attribution.js';

/** Other processes' share of the CPU during a section (from the report's load figures), for the explanations. */
export function othersPct(section: string): number | undefined {
  return (results.loadAverage as Record<string, { othersPct: number }> | undefined)?.[section]?.othersPct;
}

/** An open-loop phase (load "N/s") answered at less than 95 % of its rate: its latencies are queueing, whatever the function does. */
export function unsustained(load: string, callsPerSecond: number): boolean {
  const rate = Number.parseFloat(load);
  return load.endsWith('/s') && Number.isFinite(rate) && callsPerSecond < 0.95 * rate;
}

export function saturated(p: Attribution['phases'][number]): string {
  const short = [
    unsustained(p.load, p.oursCallsPerSecond) ? `ours answered ${p.oursCallsPerSecond.toFixed(0)}/s` : '',
    unsustained(p.load, p.floorCallsPerSecond) ? `the floor ${p.floorCallsPerSecond.toFixed(0)}/s` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return short ? ` The machine did not sustain ${p.load} here (${short}): these latencies are mostly queueing.` : '';
}

export const noise = () => {
  const pct = othersPct('grpc');
  return pct === undefined ? '' : ` Other processes used ${pct}% of the cores during the gRPC section.`;
};

/** Why a p50 ratio against the fair floor is over target, from measured parts only. */
export function explainLatency(pair: string, rate: string, ratio: number, a: Attribution): string {
  const p = a.phases.find((x) => x.load === rate)!;
  const ms = (x: number) => `${x.toFixed(3)} ms`;
  const us = (x: number) => `${x.toFixed(0)} us`;
  return (
    `${pair} p50 @${rate} = ${ratio.toFixed(2)}: ours answers in ${ms(p.oursP50Ms)}, the fair floor in ${ms(p.floorP50Ms)} ` +
    `(+${ms(p.oursP50Ms - p.floorP50Ms)}). compose() costs ${us(a.inproc.composeMs * 1000)} in-process and ours used ` +
    `${us(p.oursCpuUs - p.floorCpuUs)} more server CPU per call at this load; both sides spend SDK decode ${us(a.inproc.decodeRequestMs * 1000)}, ` +
    `SDK encode ${us(a.inproc.encodeResponseMs * 1000)} and ${us(p.floorCpuUs - a.inproc.decodeRequestMs * 1000 - a.inproc.encodeResponseMs * 1000)} ` +
    `of other server CPU (grpc-js, HTTP/2, the SDK runner, GC) per call.${serverSplit(a)}${saturated(p)}${noise()}`
  );
}

/** The profiled split of ours minus the fair floor, per call, in the server itself. */
export function serverSplit(a: Attribution): string {
  if (!a.server) return '';
  const { ours, floor } = a.server;
  const diff = PARTS.map((x) => `${x.part.replace(/ \(.*$/, '')} ${signed(ours.parts[x.part]! - floor.parts[x.part]!)}`).join(', ');
  return (
    ` Profiled in the server (${ours.calls} calls, 32 in flight), ours minus the floor per call: ${diff} us ` +
    `(main thread ${signed(ours.profiledUsPerCall - floor.profiledUsPerCall)} us; all threads from /proc ${signed(ours.serverCpuUsPerCall - floor.serverCpuUsPerCall)} us); ` +
    `compose() itself takes ${ours.parts[PARTS[0]!.part]!.toFixed(0)} us per call there against ${(a.inproc.composeMs * 1000).toFixed(0)} us in a warm loop of its own.`
  );
}

/** Why a throughput ratio against the fair floor is under target: calls/s follow CPU per call when the cores are saturated. */
export function explainThroughput(pair: string, load: string, ratio: number, a: Attribution): string {
  const p = a.phases.find((x) => x.load === load)!;
  const extra = p.oursCpuUs - p.floorCpuUs;
  // The same comparison where both answered the same number of calls per second: CPU per call is not fixed, it falls as the rate rises.
  const equal = a.phases.find((x) => x.load.endsWith('/s') && !unsustained(x.load, x.oursCallsPerSecond) && !unsustained(x.load, x.floorCallsPerSecond));
  return (
    `${pair} max throughput ${load} = ${ratio.toFixed(2)}: ours ${p.oursCallsPerSecond.toFixed(0)} calls/s using ${p.oursCpuUs.toFixed(0)} us ` +
    `server CPU per call, the fair floor ${p.floorCallsPerSecond.toFixed(0)} calls/s using ${p.floorCpuUs.toFixed(0)} us ` +
    `(CPU ratio floor/ours ${(p.floorCpuUs / p.oursCpuUs).toFixed(2)}, difference ${extra.toFixed(0)} us). compose() is the only code ours runs ` +
    `and the floor does not; it takes ${(a.inproc.composeMs * 1000).toFixed(0)} us in a warm loop of its own.${serverSplit(a)}` +
    (equal
      ? ` At the same rate (${equal.load}, both sustained) the difference is ${(equal.oursCpuUs - equal.floorCpuUs).toFixed(0)} us ` +
        `(ours ${equal.oursCpuUs.toFixed(0)}, floor ${equal.floorCpuUs.toFixed(0)} us/call); the floor's CPU per call falls as its rate rises ` +
        `(${equal.floorCpuUs.toFixed(0)} us at ${equal.load}, ${p.floorCpuUs.toFixed(0)} us at ${load}, ours ${equal.oursCpuUs.toFixed(0)} -> ${p.oursCpuUs.toFixed(0)}): ` +
        "the transport's cost per call is not fixed, so part of the gap at full load follows from the gap in rate itself."
      : '') +
    noise()
  );
}
