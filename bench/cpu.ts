/**
 * CPU and memory as Linux counts them (/proc): the machine's busy ticks, this
 * process's and a server's CPU time, and a server's RSS, so that a section can
 * tell its own cost from what other processes took.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { now } from './timing.js';

export let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* Linux default */
}

/** Busy CPU ticks of the whole machine (all cores) so far, from /proc/stat. */
export function machineBusyTicks(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = fields.map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  return n[0]! + n[1]! + n[2]! + n[5]! + n[6]! + n[7]!;
}

/** CPU ticks of this process and of its exited children (the servers, npm), from /proc/self/stat. */
export function ownTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

/** CPU time (ms, user + system, every thread) a process has used so far. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clkTck;
}

export interface CpuShare {
  /** Server CPU time per answered call (us): what a call costs the function's process, however busy the machine. */
  serverCpuUsPerCall: number;
  /** Server CPU use during the phase, % of one core. */
  serverCpuPct: number;
  /** This process (the client) during the phase, % of one core. */
  clientCpuPct: number;
}

export async function withCpu<T extends { completed: number }>(pid: number, run: () => Promise<T>): Promise<{ result: T; cpu: CpuShare & { wallMs: number; serverMs: number; clientMs: number } }> {
  const s0 = processCpuMs(pid);
  const c0 = process.cpuUsage();
  const w0 = now();
  const result = await run();
  const wallMs = (now() - w0) / 1e6;
  const serverMs = processCpuMs(pid) - s0;
  const c = process.cpuUsage(c0);
  const clientMs = (c.user + c.system) / 1000;
  return {
    result,
    cpu: {
      wallMs,
      serverMs,
      clientMs,
      serverCpuUsPerCall: (serverMs * 1000) / Math.max(1, result.completed),
      serverCpuPct: (100 * serverMs) / wallMs,
      clientCpuPct: (100 * clientMs) / wallMs,
    },
  };
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : NaN;
}
