/**
 * The gRPC targets: the requests ours is timed with (b, c, and d when the
 * recorded requests are there), each fair floor paired with the target of
 * ours that answers the same bytes, and where one call of each goes
 * in-process (SDK decode, compose(), SDK encode), measured once and shared by
 * the in-process and gRPC sections.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RunFunctionRequest, RunFunctionResponse, to } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../function/compose.js';
import { FIXTURES, fixtureRequest, RECORDED_STEADY_STATE } from '../scripts/shared/fixtures.js';
import { secondReconcile, typical, wire } from './requests.js';
import { round } from './results.js';
import { QUICK } from './settings.js';
import { timeIt } from './timing.js';

export interface Target {
  key: string;
  label: string;
  script: string;
  args: string[];
  payload: Buffer;
}

/** Each fair floor and the target of ours that answers the same bytes: [floor, ours]. */
export const FAIR_PAIRS: [string, string][] = [
  ['fb', 'b'],
  ['fc', 'c'],
  ['fd', 'd'],
];


/** The requests of ours' gRPC targets (b, c, and d when the recorded requests are there), by target key. */
export interface GrpcRequest {
  key: 'b' | 'c' | 'd';
  label: string;
  /** What bench/replay.js builds for the fair floor of this target. */
  replayArg: string;
  build: () => RunFunctionRequest;
}
export const RECORDED_FILE = join(FIXTURES, RECORDED_STEADY_STATE);
export const GRPC_REQUESTS: GrpcRequest[] = [
  { key: 'b', label: 'typical claim (b)', replayArg: 'typical', build: typical },
  { key: 'c', label: 'second reconcile (c)', replayArg: 'observed', build: secondReconcile },
  ...(existsSync(RECORDED_FILE)
    ? [{ key: 'd' as const, label: `recorded Crossplane request (d)`, replayArg: `fixture:${RECORDED_STEADY_STATE}`, build: () => fixtureRequest(RECORDED_FILE) }]
    : []),
];

/** bench/replay.js's flags for the fair floor of one of ours' targets. */
export const replayArgs = (key: GrpcRequest['key']) => ['--request', GRPC_REQUESTS.find((r) => r.key === key)!.replayArg];

export interface Breakdown {
  case: string;
  requestBytes: number;
  responseBytes: number;
  decodeRequestMs: number;
  composeMs: number;
  encodeResponseMs: number;
  floorEncodeResponseMs: number;
}
export const breakdowns = new Map<string, Breakdown>();

/**
 * Where a server call's CPU goes, in-process (medians, warm): SDK request
 * decode, compose(), SDK response encode, and the no-op floor's encode.
 * Measured once per request and shared by the in-process and gRPC sections.
 */
export function breakdownOf(key: GrpcRequest['key']): Breakdown {
  const known = breakdowns.get(key);
  if (known) return known;
  const spec = GRPC_REQUESTS.find((r) => r.key === key)!;
  const { req, bytes } = wire(spec.build());
  const oursRsp = compose(req, Date.now());
  const floorRsp = to(RunFunctionRequest.decode(bytes));
  const t = (fn: () => unknown) => round(timeIt(fn, QUICK ? 150 : 500).wall.p50, 4);
  const b: Breakdown = {
    case: spec.label,
    requestBytes: bytes.length,
    responseBytes: RunFunctionResponse.encode(oursRsp).finish().length,
    decodeRequestMs: t(() => RunFunctionRequest.decode(bytes)),
    composeMs: t(() => compose(req, Date.now())),
    encodeResponseMs: t(() => RunFunctionResponse.encode(oursRsp).finish()),
    floorEncodeResponseMs: t(() => RunFunctionResponse.encode(floorRsp).finish()),
  };
  breakdowns.set(key, b);
  return b;
}
