/**
 * The outside programs `npm run test:monitoring` runs for real: promtool and
 * kube-state-metrics (built by monitoring/tools/build.sh into a cache outside
 * the repo), postgres_exporter (Debian's prometheus-postgres-exporter), and
 * a small process runner that scrapes an HTTP /metrics endpoint until it
 * holds what a test waits for.
 *
 * Missing tools skip a suite with the reason printed, except under CI=true,
 * where .ci/run installs them and a missing one is a failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../support/shared.js';
import { parseMetrics, type Sample } from './prom-text.js';

export const POSTGRES_EXPORTER = process.env.POSTGRES_EXPORTER ?? '/usr/bin/prometheus-postgres-exporter';

/** Skip (with the reason) or, under CI=true, fail: returns whether the suite can run. */
export function required(what: string, missing: string | undefined): boolean {
  if (!missing) return true;
  const message = `${what}: ${missing}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true, so this is a failure, not a skip)`);
  console.warn(`SKIPPED ${message}`);
  return false;
}

let toolsDir: string | undefined | null;
/**
 * Folder holding promtool and kube-state-metrics: $MONITORING_BIN_DIR, or
 * monitoring/tools/build.sh's (building on a cold cache). undefined when they
 * cannot be had (no Go toolchain).
 */
export function monitoringTools(): { dir?: string; missing?: string } {
  if (toolsDir === undefined) {
    try {
      if (process.env.MONITORING_BIN_DIR) toolsDir = process.env.MONITORING_BIN_DIR;
      else {
        const out = execFileSync('bash', [repoPath('monitoring/tools/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
        toolsDir = out.trim().split('\n').pop() ?? null;
      }
    } catch (error) {
      console.warn(`monitoring/tools/build.sh failed: ${(error as Error).message}`);
      toolsDir = null;
    }
  }
  if (!toolsDir) return { missing: 'promtool and kube-state-metrics could not be built (monitoring/tools/build.sh needs Go >= 1.26 and the Go module proxy)' };
  for (const tool of ['promtool', 'kube-state-metrics']) {
    if (!existsSync(join(toolsDir, tool))) return { missing: `${join(toolsDir, tool)} is missing` };
  }
  return { dir: toolsDir };
}

export interface Running {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Start a program; its stdout and stderr are kept for error messages. stop() sends SIGTERM, then SIGKILL after 5 s. */
export function run(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Running {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.once('exit', () => child.kill('SIGKILL'));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(hard);
    },
  };
}

/**
 * Scrape `url` until `ready(samples)` holds, or fail after `timeoutMs` with
 * the last scrape and the program's output.
 */
export async function scrapeUntil(
  url: string,
  ready: (samples: Sample[]) => boolean,
  proc: Running,
  timeoutMs = 60_000,
): Promise<{ text: string; samples: Sample[] }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`exited with ${proc.child.exitCode} before ready:\n${proc.output()}`);
    try {
      const rsp = await fetch(url);
      last = await rsp.text();
      if (rsp.ok) {
        const samples = parseMetrics(last);
        if (ready(samples)) return { text: last, samples };
      }
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms; last scrape:\n${last.slice(0, 4000)}\noutput:\n${proc.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Metric names a PromQL expression refers to: our own families, the process metrics the dashboard uses. */
export function metricNames(expr: string): string[] {
  const names = expr.match(/\b(?:tenantdb_[a-z0-9_]+|process_[a-z0-9_]+|nodejs_[a-z0-9_]+)\b/g) ?? [];
  return [...new Set(names)];
}
