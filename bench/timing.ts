/**
 * Clocks for the sections: a nanosecond wall clock, a sleep, a median, and
 * timeIt(), which times a synchronous call by wall clock and by CPU time.
 */
import { percentiles } from './load.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const now = () => Number(process.hrtime.bigint());
export const median = (xs: number[]) => percentiles(xs.map((x) => x * 1e6)).p50;

/**
 * Time fn() after a warm-up: at least minIter calls and budgetMs of calls, at
 * most maxIter. Each call is timed twice: wall clock (hrtime) and this
 * process's CPU time (process.cpuUsage, us resolution, every thread, so GC
 * helpers count): on a shared machine the wall clock also counts the time the
 * OS gave the core to someone else, the CPU time does not.
 */
export function timeIt(fn: () => unknown, budgetMs: number, minIter = 200, maxIter = 50_000) {
  const warmUntil = now() + budgetMs * 0.3e6;
  for (let i = 0; i < 50 || now() < warmUntil; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  const stopAt = now() + budgetMs * 1e6;
  while ((wall.length < minIter || now() < stopAt) && wall.length < maxIter) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    const t1 = process.hrtime.bigint();
    const c1 = process.cpuUsage(c0);
    wall.push(Number(t1 - t0));
    cpu.push((c1.user + c1.system) * 1000);
  }
  return { iterations: wall.length, wall: percentiles(wall), cpu: percentiles(cpu) };
}
