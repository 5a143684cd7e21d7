/**
 * Section `grpc`: every target (ours, the no-op floor, the fair floors, a
 * candidate) in its own server process over loopback gRPC, open loop at fixed
 * rates and closed loop at fixed concurrency, interleaved rounds; the ratios
 * of ours to each floor, and where the CPU goes against the fair floor.
 */
import { closedLoop, openLoop, percentiles, rawClient, verify, type ClosedLoopResult, type OpenLoopResult, type RawClient } from '../load.js';
import { withCpu, type CpuShare } from '../cpu.js';
import { log, results, round } from '../results.js';
import {
  CANDIDATE,
  CONCURRENCY,
  FAIR_FLOOR,
  FLOOR,
  nodeArgsFor,
  OURS,
  OURS_ARGS,
  RATE_SECONDS,
  RATES,
  ROUNDS,
  THROUGHPUT_SECONDS,
  WARMUP_CALLS,
} from '../settings.js';
import { spawnServer, type Spawned } from '../spawn.js';
import { FAIR_PAIRS, replayArgs, type Target } from '../targets.js';
import { RECORDED_STEADY_STATE } from '../../scripts/shared/fixtures.js';
import { sleep } from '../timing.js';
import { fairFloorAttribution, serverParts } from './attribution.js';

export interface PhaseRow {
  load: string;
  rounds: number;
  /** Answered calls per second (open loop: should equal the rate). */
  callsPerSecond: number;
  completed: number;
  errors: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Open loop only: p99 of the client's lateness against the schedule. */
  sendLagP99Ms?: number;
  serverCpuUsPerCall: number;
  serverCpuPct: number;
  clientCpuPct: number;
}

export interface Phase {
  load: string;
  run: (client: RawClient, payload: Buffer) => Promise<OpenLoopResult | ClosedLoopResult>;
}


export type Payloads = { typical: Buffer; observed: Buffer; recorded?: Buffer };

export function merge(load: string, runs: { result: OpenLoopResult | ClosedLoopResult; cpu: CpuShare & { wallMs: number; serverMs: number; clientMs: number } }[]): PhaseRow {
  const all: number[] = [];
  const lag: number[] = [];
  let completed = 0;
  let errors = 0;
  let seconds = 0;
  let serverMs = 0;
  let clientMs = 0;
  let wallMs = 0;
  for (const { result, cpu } of runs) {
    for (const x of result.samples) all.push(x);
    if ('lagSamples' in result) for (const x of result.lagSamples) lag.push(x);
    completed += result.completed;
    errors += result.errors;
    seconds += 'achieved' in result ? result.completed / result.achieved : result.seconds;
    serverMs += cpu.serverMs;
    clientMs += cpu.clientMs;
    wallMs += cpu.wallMs;
  }
  const p = percentiles(all);
  return {
    load,
    rounds: runs.length,
    callsPerSecond: round(completed / seconds, 1),
    completed,
    errors,
    p50Ms: round(p.p50),
    p90Ms: round(p.p90),
    p99Ms: round(p.p99),
    maxMs: round(p.max),
    ...(lag.length ? { sendLagP99Ms: round(percentiles(lag).p99) } : {}),
    serverCpuUsPerCall: round((serverMs * 1000) / Math.max(1, completed), 1),
    serverCpuPct: round((100 * serverMs) / wallMs, 1),
    clientCpuPct: round((100 * clientMs) / wallMs, 1),
  };
}

/**
 * Every target runs in its own process, all started up front; each phase runs
 * for every target in turn, ROUNDS times, the order reversed every other
 * round, so that whatever else the machine is doing falls on all of them
 * alike. Rounds are merged: latencies pooled, throughput over the total time.
 */
export async function grpcSection(payloads: Payloads): Promise<void> {
  const recorded = payloads.recorded;
  const targets: Target[] = [
    { key: 'a', label: '(a) floor: no-op, typical request', script: FLOOR, args: [], payload: payloads.typical },
    { key: 'b', label: '(b) ours: typical claim', script: OURS, args: OURS_ARGS, payload: payloads.typical },
    { key: 'c', label: '(c) ours: second reconcile', script: OURS, args: OURS_ARGS, payload: payloads.observed },
    { key: 'a2', label: "(a') floor: no-op, second-reconcile request", script: FLOOR, args: [], payload: payloads.observed },
    { key: 'fb', label: "(fb) fair floor: (b)'s answer, precomputed", script: FAIR_FLOOR, args: replayArgs('b'), payload: payloads.typical },
    { key: 'fc', label: "(fc) fair floor: (c)'s answer, precomputed", script: FAIR_FLOOR, args: replayArgs('c'), payload: payloads.observed },
    ...(recorded
      ? [
          { key: 'd', label: `(d) ours: recorded Crossplane request (${RECORDED_STEADY_STATE})`, script: OURS, args: OURS_ARGS, payload: recorded },
          { key: 'fd', label: "(fd) fair floor: (d)'s answer, precomputed", script: FAIR_FLOOR, args: replayArgs('d'), payload: recorded },
        ]
      : []),
    ...(CANDIDATE
      ? [
          { key: 'b*', label: '(b*) candidate: typical claim', script: CANDIDATE, args: OURS_ARGS, payload: payloads.typical },
          { key: 'c*', label: '(c*) candidate: second reconcile', script: CANDIDATE, args: OURS_ARGS, payload: payloads.observed },
        ]
      : []),
  ];
  const phases: Phase[] = [
    ...RATES.map((rate) => ({ load: `${rate}/s`, run: (c: RawClient, p: Buffer) => openLoop(c, p, rate, RATE_SECONDS) })),
    ...CONCURRENCY.map((n) => ({ load: `N=${n}`, run: (c: RawClient, p: Buffer) => closedLoop(c, p, n, { seconds: THROUGHPUT_SECONDS }) })),
  ];
  log(`gRPC: ${targets.length} targets x ${phases.length} phases x ${ROUNDS} rounds`);
  const live: { t: Target; server: Spawned; client: RawClient; resources: number; responseBytes: number; rows: PhaseRow[] }[] = [];
  try {
    for (const t of targets) {
      const server = await spawnServer(t.script, { args: t.args, nodeArgs: nodeArgsFor(t.script) });
      const client = rawClient(server.address);
      live.push({ t, server, client, resources: 0, responseBytes: 0, rows: [] });
    }
    const firstAnswers = new Map<string, Buffer>();
    for (const l of live) {
      const first = await l.client.run(l.t.payload);
      l.resources = verify(first).resources;
      l.responseBytes = first.length;
      firstAnswers.set(l.t.key, first);
      await closedLoop(l.client, l.t.payload, 8, { calls: WARMUP_CALLS });
    }
    // The fair floor is only fair if it answers exactly our bytes.
    for (const [floor, ours] of FAIR_PAIRS) {
      const f = firstAnswers.get(floor);
      const o = firstAnswers.get(ours);
      if (!f || !o) continue;
      if (!f.equals(o)) throw new Error(`the fair floor (${floor}) answers ${f.length} bytes that differ from ours (${ours}, ${o.length} bytes): its comparison would be meaningless`);
    }
    for (const phase of phases) {
      const runs = new Map<string, Awaited<ReturnType<typeof withCpu<OpenLoopResult | ClosedLoopResult>>>[]>();
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? live : [...live].reverse();
        for (const l of order) {
          await sleep(200);
          log(`  ${phase.load} round ${r + 1}: ${l.t.label}`);
          const run = await withCpu(l.server.pid, () => phase.run(l.client, l.t.payload));
          runs.set(l.t.key, [...(runs.get(l.t.key) ?? []), run]);
        }
      }
      for (const l of live) l.rows.push(merge(phase.load, runs.get(l.t.key)!));
    }
    for (const l of live) verify(await l.client.run(l.t.payload));
  } finally {
    for (const l of live) {
      l.client.close();
      await l.server.stop();
    }
  }

  const parts = await serverParts(targets);
  const by = (key: string) => live.find((l) => l.t.key === key);
  const ratios: Record<string, Record<string, Record<string, number>>> = {};
  const pairs: [string, string][] = [
    ['b', 'a'],
    ['c', 'a'],
    ['c', 'a2'],
    ...FAIR_PAIRS.map(([floor, ours]) => [ours, floor] as [string, string]),
    ...(CANDIDATE ? ([['b*', 'a'], ['c*', 'a'], ['c*', 'a2'], ['b*', 'fb'], ['c*', 'fc']] as [string, string][]) : []),
  ];
  for (const [ours, floor] of pairs.filter(([o, f]) => live.some((l) => l.t.key === o) && live.some((l) => l.t.key === f))) {
    const o = by(ours)!.rows;
    const f = by(floor)!.rows;
    const pick = (field: keyof PhaseRow, loads: string[]) =>
      Object.fromEntries(loads.map((load) => [load, round((o.find((x) => x.load === load)![field] as number) / (f.find((x) => x.load === load)![field] as number), 2)]));
    const rates = RATES.map((r) => `${r}/s`);
    const ns = CONCURRENCY.map((n) => `N=${n}`);
    ratios[`${ours}/${floor}`] = {
      p50: pick('p50Ms', rates),
      p99: pick('p99Ms', rates),
      throughput: pick('callsPerSecond', ns),
      serverCpuPerCall: pick('serverCpuUsPerCall', [...rates, ...ns]),
    };
  }
  results.grpc = {
    note:
      'one client implementation (grpc-js, the SDK FunctionRunnerServiceService definition, requests pre-encoded once with the SDK codec, ' +
      'responses checked by size and decoded when verified) in this process, one channel per server; open loop: calls scheduled at a fixed ' +
      'rate, latency from send to answer; closed loop: N calls in flight on the channel; server CPU from /proc/<pid>/stat',
    rounds: ROUNDS,
    targets: live.map((l) => ({
      key: l.t.key,
      label: l.t.label,
      requestBytes: l.t.payload.length,
      responseBytes: l.responseBytes,
      desiredResources: l.resources,
      phases: l.rows,
    })),
    ratios,
    fairFloor: fairFloorAttribution((key) => by(key)?.rows, parts),
  };
}
