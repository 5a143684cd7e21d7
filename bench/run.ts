#!/usr/bin/env node
/**
 * `npm run bench`: what one RunFunction call costs, in-process and over gRPC,
 * against two floors on the same SDK (a no-op function, and a server answering
 * our own precomputed response: the fair floor); how many calls one reconcile
 * makes in Crossplane's requirements loop; identical answers under long
 * concurrent load; memory over 100k calls; cold start; the size of the runtime
 * image contents. Prints a table with the targets of issues #5 and #12 and
 * writes bench/results.json.
 *
 *   node dist/bench/run.js [--quick] [--only inproc,grpc,reconcile,load,memory,cold,image] [--out bench/results.json]
 *                          [--candidate other/main.js] [--node-arg=--max-semi-space-size=8 ...]
 *
 * See bench/README.md for what each section measures.
 *
 * Timings are reported, never asserted: a busy CI runner must not fail a build.
 * Correctness is: an error or a differing answer in the load section,
 * requirements that never settle in the reconcile section, or a fair floor
 * that does not answer our bytes print FAIL and exit 1.
 *
 * Each section is a module of its own (bench/sections/), the report that
 * prints their figures another (bench/report/); this file runs the sections
 * asked for and writes the results.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { clkTck, machineBusyTicks, ownTicks } from './cpu.js';
import { report } from './report/report.js';
import { secondReconcile, typical, wire } from './requests.js';
import { failures, log, results, round } from './results.js';
import { coldSection } from './sections/cold.js';
import { grpcSection, type Payloads } from './sections/grpc.js';
import { imageSection } from './sections/image.js';
import { inproc } from './sections/inproc.js';
import { loadSection } from './sections/load.js';
import { memorySection } from './sections/memory.js';
import { reconcileSection } from './sections/reconcile.js';
import { OUT, SECTIONS } from './settings.js';
import { GRPC_REQUESTS, RECORDED_FILE } from './targets.js';
import { now } from './timing.js';

async function main(): Promise<void> {
  const t0 = now();
  const recorded = GRPC_REQUESTS.find((r) => r.key === 'd');
  const payloads: Payloads = {
    typical: wire(typical()).bytes,
    observed: wire(secondReconcile()).bytes,
    ...(recorded ? { recorded: wire(recorded.build()).bytes } : {}),
  };
  if (!recorded) log(`NOTE: ${RECORDED_FILE} is missing: no gRPC targets with a recorded Crossplane request`);
  const load: Record<string, { before: number; after: number; othersPct: number }> = {};
  const section = async (name: string, run: () => unknown) => {
    if (!SECTIONS.has(name)) return;
    const before = os.loadavg()[0]!;
    const m0 = machineBusyTicks();
    const o0 = ownTicks();
    const w0 = now();
    await run();
    const seconds = (now() - w0) / 1e9;
    const others = machineBusyTicks() - m0 - (ownTicks() - o0);
    load[name] = {
      before: round(before, 2),
      after: round(os.loadavg()[0]!, 2),
      othersPct: round(Math.max(0, (100 * others) / (seconds * clkTck * os.availableParallelism())), 0),
    };
  };
  await section('inproc', inproc);
  await section('grpc', () => grpcSection(payloads));
  await section('reconcile', reconcileSection);
  await section('load', () => loadSection(payloads));
  await section('memory', () => memorySection(payloads));
  await section('cold', () => coldSection(payloads));
  await section('image', imageSection);
  results.loadAverage = load;
  results.totalSeconds = round((now() - t0) / 1e9, 1);
  const text = report();
  results.failures = failures;
  writeFileSync(OUT, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${text}\n\nwrote ${OUT} (${results.totalSeconds as number} s)\n`);
  if (failures.length) {
    process.stdout.write(`\n${failures.map((f) => `FAIL: ${f}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`FAIL: bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

