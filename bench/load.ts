/**
 * One client implementation for every target: a grpc-js client built from the
 * SDK's FunctionRunnerServiceService definition, with a pass-through codec.
 * Requests are encoded once (with the SDK's codec) and responses are checked
 * by size, then decoded only when a phase is verified, so the load generator,
 * which shares this 2-core machine with the server, spends its CPU on the
 * transport and not on protobuf. Both targets get exactly the same bytes
 * through exactly the same client.
 */
import * as grpc from '@grpc/grpc-js';
import { FunctionRunnerServiceService, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';

/** The SDK's service with the request and response left as bytes: encoded once, checked by size. */
export const RAW_SERVICE = {
  runFunction: {
    ...FunctionRunnerServiceService.runFunction,
    requestSerialize: (value: Buffer) => value,
    responseDeserialize: (value: Buffer) => value,
  },
};
const RawClientCtor = grpc.makeGenericClientConstructor(RAW_SERVICE, 'FunctionRunnerService');

type Callback = (err: grpc.ServiceError | null, rsp: Buffer) => void;

export interface RawClient {
  // Properties, not methods: callers pass client.run on as a function (it does not use `this`).
  call: (payload: Buffer, cb: Callback) => void;
  run: (payload: Buffer) => Promise<Buffer>;
  close: () => void;
}

export function rawClient(address: string): RawClient {
  const client = new RawClientCtor(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    runFunction(req: Buffer, cb: Callback): void;
  };
  const call = (payload: Buffer, cb: Callback) => client.runFunction(payload, cb);
  return {
    call,
    run: (payload) => new Promise((resolve, reject) => call(payload, (err, rsp) => (err ? reject(err) : resolve(rsp)))),
    close: () => client.close(),
  };
}

/** Decode a response and describe it; throws on a Fatal result when one is not expected. */
export function verify(rsp: Buffer, expectFatal = false): { resources: number; fatal?: string } {
  const decoded = RunFunctionResponse.decode(rsp);
  const fatal = decoded.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
  if (fatal && !expectFatal) throw new Error(`unexpected Fatal result: ${fatal}`);
  return { resources: Object.keys(decoded.desired?.resources ?? {}).length, fatal };
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Percentiles (ms) of latencies given in nanoseconds. */
export function percentiles(ns: Float64Array | number[]): Percentiles {
  const sorted = Float64Array.from(ns).sort();
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! / 1e6 : NaN);
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) };
}

const now = () => Number(process.hrtime.bigint());

export interface OpenLoopResult extends Percentiles {
  rate: number;
  seconds: number;
  sent: number;
  completed: number;
  errors: number;
  /** Calls per second actually answered. */
  achieved: number;
  /** p99 of how late the client sent a call after its scheduled time (ms): the generator's own jitter. */
  sendLagP99: number;
  /** Every answered call's latency (ns), to merge rounds. */
  samples: Float64Array;
  lagSamples: Float64Array;
}

/**
 * Open loop: calls are scheduled at fixed intervals (rate per second) for
 * `seconds`, whether or not earlier calls have been answered, and each call's
 * latency is measured from its send to its answer. A timer wakes the sender at
 * most every millisecond and sends every call that is due.
 */
export function openLoop(client: RawClient, payload: Buffer, rate: number, seconds: number): Promise<OpenLoopResult> {
  const total = Math.round(rate * seconds);
  const interval = 1e9 / rate;
  const latency = new Float64Array(total);
  const lag = new Float64Array(total);
  let sent = 0;
  let completed = 0;
  let errors = 0;
  let lastAnswer = 0;
  const start = now();
  return new Promise((resolve) => {
    const finish = () => {
      const elapsed = (lastAnswer - start) / 1e9;
      resolve({
        rate,
        seconds,
        sent,
        completed,
        errors,
        achieved: completed / elapsed,
        sendLagP99: percentiles(lag).p99,
        ...percentiles(latency.subarray(0, completed)),
        samples: latency.subarray(0, completed),
        lagSamples: lag,
      });
    };
    const tick = () => {
      const t = now();
      const due = Math.min(total, Math.floor((t - start) / interval) + 1);
      while (sent < due) {
        const i = sent++;
        const t0 = now();
        lag[i] = t0 - (start + i * interval);
        client.call(payload, (err) => {
          const t1 = now();
          lastAnswer = t1;
          if (err) errors++;
          else latency[completed++] = t1 - t0;
          if (completed + errors === total) finish();
        });
      }
      if (sent < total) {
        const next = start + sent * interval;
        setTimeout(tick, Math.max(0, (next - now()) / 1e6));
      }
    };
    tick();
  });
}

export interface ClosedLoopResult extends Percentiles {
  concurrency: number;
  seconds: number;
  completed: number;
  errors: number;
  /** Calls per second. */
  throughput: number;
  samples: Float64Array;
}

/**
 * Closed loop: `concurrency` calls in flight at all times on the one client
 * (each answer sends the next) until `seconds` have passed or `calls` calls
 * were answered. `checkpoints` are called when the count of answered calls
 * reaches each given number (the loop pauses while the checkpoint runs).
 */
export function closedLoop(
  client: RawClient,
  payload: Buffer,
  concurrency: number,
  until: { seconds: number } | { calls: number },
  checkpoints: Record<number, () => Promise<void>> = {},
): Promise<ClosedLoopResult> {
  const limitNs = 'seconds' in until ? until.seconds * 1e9 : Infinity;
  const limitCalls = 'calls' in until ? until.calls : Infinity;
  const latencies: number[] = [];
  let completed = 0;
  let errors = 0;
  let inFlight = 0;
  let paused = false;
  let pausedNs = 0;
  const start = now();
  return new Promise((resolve) => {
    const done = () => {
      const elapsed = (now() - start - pausedNs) / 1e9;
      resolve({
        concurrency,
        seconds: elapsed,
        completed,
        errors,
        throughput: completed / elapsed,
        ...percentiles(latencies),
        samples: Float64Array.from(latencies),
      });
    };
    const more = () => !paused && now() - start - pausedNs < limitNs && completed + errors + inFlight < limitCalls;
    const send = () => {
      inFlight++;
      const t0 = now();
      client.call(payload, (err) => {
        const t1 = now();
        inFlight--;
        if (err) errors++;
        else {
          completed++;
          latencies.push(t1 - t0);
        }
        const checkpoint = checkpoints[completed];
        if (checkpoint && !err) {
          paused = true;
          const wait = () => {
            if (inFlight > 0) return setImmediate(wait);
            const p0 = now();
            void checkpoint().then(() => {
              pausedNs += now() - p0;
              paused = false;
              for (let i = 0; i < concurrency && more(); i++) send();
              if (inFlight === 0) done();
            });
          };
          wait();
          return;
        }
        if (more()) send();
        else if (inFlight === 0 && !paused) done();
      });
    };
    for (let i = 0; i < concurrency && more(); i++) send();
  });
}
