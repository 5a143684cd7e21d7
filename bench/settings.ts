/**
 * What one `npm run bench` run measures and how long: the command-line flags
 * (read once, when the run starts), the servers it starts, and the sizes of
 * every phase (smaller with --quick).
 */
import { parseArgs } from 'node:util';
import { at } from './requests.js';

export const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    /** Extra flags for node when it runs ours (e.g. --max-semi-space-size=8), to try what the image's entrypoint could pass. */
    'node-arg': { type: 'string', multiple: true },
    /** Another build of the server (a main.js) measured beside ours in the same run, e.g. a proposed fix. */
    candidate: { type: 'string' },
  },
});
export const QUICK = flags.quick === true;
export const ALL_SECTIONS = ['inproc', 'grpc', 'reconcile', 'load', 'memory', 'cold', 'image'];
export const SECTIONS = new Set((flags.only ?? ALL_SECTIONS.join(',')).split(','));
for (const s of SECTIONS) if (!ALL_SECTIONS.includes(s)) throw new Error(`--only: unknown section "${s}" (sections: ${ALL_SECTIONS.join(', ')})`);
export const OUT = flags.out ?? at('bench/results.json');

export const OURS = at('dist/function/main.js');
export const FLOOR = at('dist/bench/noop.js');
/** The fair floor: our own precomputed answer, encoded by the SDK on every call. */
export const FAIR_FLOOR = at('dist/bench/replay.js');
/** Metrics off: two servers of ours run side by side, and the no-op floors serve none either. */
export const OURS_ARGS = ['--insecure', '--metrics-address='];
/** Ours runs as the Dockerfile's ENTRYPOINT runs it, unless --node-arg says otherwise. */
export const OURS_NODE_ARGS = flags['node-arg'] ?? ['--max-semi-space-size=8'];
export const CANDIDATE = flags.candidate;
/**
 * Node flags per server script: ours, the candidate and the fair floor get
 * --node-arg (so that the fair floor differs from ours by compose() alone);
 * the no-op floor never does.
 */
export const nodeArgsFor = (script: string) => (script === OURS || script === CANDIDATE || script === FAIR_FLOOR ? OURS_NODE_ARGS : []);

export const RATES = [500, 2000];
export const CONCURRENCY = [8, 32];
/** Each gRPC phase runs ROUNDS times per target, interleaved with the other targets. */
export const ROUNDS = QUICK ? 1 : 2;
export const RATE_SECONDS = QUICK ? 2 : 3;
export const THROUGHPUT_SECONDS = QUICK ? 2 : 3;
export const WARMUP_CALLS = QUICK ? 1000 : 3000;
export const MEMORY_CALLS = QUICK ? 20_000 : 100_000;
export const MEMORY_CHECKPOINT = 10_000;
export const COLD_RUNS = 5;
/** Calls per server in the profiled run of the fair pairs (closed loop, 32 in flight). */
export const PROFILED_CALLS = QUICK ? 3000 : 10_000;
export const GC_METER = at('dist/bench/gc-meter.js');
/** The long identical-answers run: `npm test` runs the same check with 50 calls per client. */
export const LOAD_CLIENTS = 64;
export const LOAD_CALLS = QUICK ? 200 : 2000;
