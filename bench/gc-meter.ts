/**
 * Preloaded into a server process (`node --import .../gc-meter.js script.js`)
 * so the benchmark can measure its garbage-collection pauses without changing
 * the server: every SIGUSR2 writes one line to stderr with the total pause
 * time and count of GCs so far. The difference between two lines taken around
 * a run of calls is what those calls cost in GC pauses (main thread; work on
 * V8's helper threads is in the process CPU time, not here).
 */
import { writeSync } from 'node:fs';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

let pauseMs = 0;
let count = 0;
const add = (entries: PerformanceEntry[]) => {
  for (const e of entries) {
    pauseMs += e.duration;
    count++;
  }
};
const observer = new PerformanceObserver((list) => add(list.getEntries()));
observer.observe({ entryTypes: ['gc'] });

process.on('SIGUSR2', () => {
  // Entries still buffered in the observer count too.
  add(observer.takeRecords());
  writeSync(2, `${JSON.stringify({ gcMeter: { pauseMs, count } })}\n`);
});
