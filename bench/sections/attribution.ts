/**
 * Part of section `grpc`: where the server's CPU goes per call, ours beside
 * its fair floor, each in a fresh process with --cpu-prof and the gc-meter
 * preloaded; and the per-phase comparison of each fair pair.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { selfTimeByCategory, type CpuProfile } from '../cpu-profile.js';
import { withCpu, type CpuShare } from '../cpu.js';
import { closedLoop, rawClient, verify, type ClosedLoopResult } from '../load.js';
import { log, round } from '../results.js';
import { CONCURRENCY, GC_METER, nodeArgsFor, PROFILED_CALLS, WARMUP_CALLS } from '../settings.js';
import { spawnServer, type Spawned } from '../spawn.js';
import { breakdownOf, FAIR_PAIRS, type Breakdown, type GrpcRequest, type Target } from '../targets.js';
import { sleep } from '../timing.js';
import type { PhaseRow } from './grpc.js';

/** The parts of a server call, from the categories of bench/cpu-profile.ts. */
export const PARTS: { part: string; has: (category: string) => boolean }[] = [
  { part: 'compose() (function/*, ajv)', has: (c) => ['function/*', 'ajv', 'fast-uri', 'json-schema-traverse'].includes(c) },
  { part: 'protobuf decode + encode (SDK codec, @bufbuild/protobuf)', has: (c) => c === 'sdk: protobuf codec' || c === '@bufbuild/protobuf' },
  { part: 'gRPC (grpc-js, node http2/net, native)', has: (c) => c === '@grpc/grpc-js' || c === 'node core' || c === '(native/vm)' },
  { part: 'GC (garbage collector)', has: (c) => c === '(garbage collector)' },
  { part: 'other (V8 (program), SDK runner, pino, ...)', has: () => true },
];

export interface ServerParts {
  key: string;
  calls: number;
  /** Main-thread GC pause time per call (us), from the gc-meter preload. */
  gcPauseUsPerCall: number;
  gcsPer1kCalls: number;
  /** Server CPU per call during the same run (us), every thread, from /proc. */
  serverCpuUsPerCall: number;
  /** Main-thread busy time per call in the CPU profile (us). */
  profiledUsPerCall: number;
  /** Profiled self time per call (us) by part (PARTS) and by raw category. */
  parts: Record<string, number>;
  categories: Record<string, number>;
}

/** Read the gc-meter totals of a server started with --import GC_METER. */
export async function gcMeterReading(server: Spawned): Promise<{ pauseMs: number; count: number }> {
  const from = server.output().length;
  server.process.kill('SIGUSR2');
  for (let waited = 0; waited < 5000; waited += 10) {
    await sleep(10);
    const m = /\{"gcMeter":(\{[^}]*\})\}/.exec(server.output().slice(from));
    if (m) return JSON.parse(m[1]!) as { pauseMs: number; count: number };
  }
  throw new Error(`gc meter: no reading from ${server.pid}\n${server.output().slice(-2000)}`);
}

export const hrUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Where the server's CPU goes per call, ours and its fair floor: each in a
 * fresh process (so none of this is mixed into the timed phases) with
 * `--cpu-prof` and the gc-meter preloaded, warmed up, then PROFILED_CALLS calls
 * with 32 in flight. Only profile samples inside that window count (V8's
 * profile clock and process.hrtime are both CLOCK_MONOTONIC on Linux).
 */
export async function serverParts(targets: Target[]): Promise<ServerParts[]> {
  const out: ServerParts[] = [];
  const keys = FAIR_PAIRS.flatMap(([floor, ours]) => [ours, floor]).filter((k) => targets.some((t) => t.key === k));
  for (const key of keys) {
    const t = targets.find((x) => x.key === key)!;
    log(`  where the CPU goes: ${t.label}, ${PROFILED_CALLS} calls, --cpu-prof`);
    const dir = mkdtempSync(join(os.tmpdir(), 'tenantdb-bench-prof-'));
    try {
      const server = await spawnServer(t.script, { args: t.args, nodeArgs: [...nodeArgsFor(t.script), '--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', GC_METER] });
      const client = rawClient(server.address);
      let window: { from: number; to: number };
      let measured: { result: ClosedLoopResult; cpu: CpuShare };
      let g0: { pauseMs: number; count: number };
      let g1: { pauseMs: number; count: number };
      try {
        verify(await client.run(t.payload));
        await closedLoop(client, t.payload, 8, { calls: WARMUP_CALLS });
        g0 = await gcMeterReading(server);
        const from = hrUs();
        measured = await withCpu(server.pid, () => closedLoop(client, t.payload, CONCURRENCY.at(-1)!, { calls: PROFILED_CALLS }));
        window = { from, to: hrUs() };
        g1 = await gcMeterReading(server);
      } finally {
        client.close();
        await server.stop();
      }
      const { result, cpu } = measured;
      if (result.errors) throw new Error(`${t.label}: ${result.errors} errors`);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) throw new Error(`${t.label}: no CPU profile written\n${server.output().slice(-2000)}`);
      const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
      const { byCategory, samples } = selfTimeByCategory(profile, window.from, window.to);
      if (samples < 100) throw new Error(`${t.label}: ${samples} profile samples in the measured window: the profile's clock does not match process.hrtime here`);
      const perCall = (us: number) => round(us / result.completed, 1);
      const parts: Record<string, number> = Object.fromEntries(PARTS.map((p) => [p.part, 0]));
      for (const [cat, us] of byCategory) {
        const part = PARTS.find((p) => p.has(cat))!.part;
        parts[part] = parts[part]! + us;
      }
      out.push({
        key,
        calls: result.completed,
        gcPauseUsPerCall: perCall((g1.pauseMs - g0.pauseMs) * 1000),
        gcsPer1kCalls: round(((g1.count - g0.count) * 1000) / result.completed, 1),
        serverCpuUsPerCall: round(cpu.serverCpuUsPerCall, 1),
        profiledUsPerCall: perCall([...byCategory.values()].reduce((x, y) => x + y, 0)),
        parts: Object.fromEntries(Object.entries(parts).map(([k, us]) => [k, perCall(us)])),
        categories: Object.fromEntries([...byCategory].sort((x, y) => y[1] - x[1]).map(([k, us]) => [k, perCall(us)])),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

export interface Attribution {
  pair: string;
  /** In-process medians (ms) for the request of this pair. */
  inproc: Breakdown;
  /** Where the server's CPU goes per call, ours and the fair floor (separate profiled runs, 32 in flight). */
  server?: { ours: ServerParts; floor: ServerParts };
  phases: { load: string; oursCpuUs: number; floorCpuUs: number; oursP50Ms: number; floorP50Ms: number; oursCallsPerSecond: number; floorCallsPerSecond: number }[];
}

/**
 * For each fair pair: ours and the fair floor side by side per phase (p50,
 * server CPU per call, calls/s), with the in-process cost of each part of the
 * call for the same request. Both answer the same bytes, so the difference is
 * compose() and what it leaves to the garbage collector.
 */
export function fairFloorAttribution(rowsOf: (key: string) => PhaseRow[] | undefined, server: ServerParts[]): Attribution[] {
  const out: Attribution[] = [];
  for (const [floor, ours] of FAIR_PAIRS) {
    const o = rowsOf(ours);
    const f = rowsOf(floor);
    if (!o || !f) continue;
    const sOurs = server.find((g) => g.key === ours);
    const sFloor = server.find((g) => g.key === floor);
    out.push({
      pair: `${ours}/${floor}`,
      inproc: breakdownOf(ours as GrpcRequest['key']),
      ...(sOurs && sFloor ? { server: { ours: sOurs, floor: sFloor } } : {}),
      phases: o.map((row) => {
        const fr = f.find((x) => x.load === row.load)!;
        return {
          load: row.load,
          oursCpuUs: row.serverCpuUsPerCall,
          floorCpuUs: fr.serverCpuUsPerCall,
          oursP50Ms: row.p50Ms,
          floorP50Ms: fr.p50Ms,
          oursCallsPerSecond: row.callsPerSecond,
          floorCallsPerSecond: fr.callsPerSecond,
        };
      }),
    });
  }
  return out;
}
