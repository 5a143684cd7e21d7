/**
 * What a run has found so far: the record written to bench/results.json (each
 * section adds its part, the report reads them), the correctness failures
 * that make the run exit 1, and the log every section writes to stderr.
 */
import os from 'node:os';
import { CANDIDATE, OURS_NODE_ARGS, QUICK } from './settings.js';

/** Correctness failures: printed as FAIL lines at the end; the run then exits 1. */
export const failures: string[] = [];

export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
export const round = (n: number, digits = 3) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);

export const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cores: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  quick: QUICK,
  oursNodeArgs: OURS_NODE_ARGS,
  candidate: CANDIDATE,
};
