/**
 * The real control plane for `npm run test:cluster` and `npm run bench:cluster`:
 * ../shared/stack/ (beside the repository) starts PostgreSQL 15, etcd,
 * kube-apiserver, provider-sql v0.16.0, kube-controller-manager and Crossplane
 * v2.2.4 on loopback; this module starts THIS repository's built function
 * (dist/function/main.js) against it over mutual TLS, registers it under the
 * Compositions' functionRef name, and installs one flavour's XRD and a copy of
 * its Composition adapted to the stack (see adaptComposition).
 *
 * Only one flavour per stack: both XRDs define the CRD
 * tenantdatabases.tenantdb.platform.io. Everything is stopped by stop(), and
 * by a watchdog should this process die without running it (a killed vitest
 * worker must not leave a control plane running).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export type Obj = Record<string, any>;
export type Flavour = 'claim' | 'namespaced';

/** The repository (this file is test/cluster/stack.ts, or dist/test/cluster/stack.js when the bench runs it). */
export const REPO = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();
export const STACK = resolve(REPO, '../shared/stack');
export const FUNCTION_NAME = 'platform-function-tenantdatabase';
const PSQL = '/usr/lib/postgresql/15/bin/psql';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds the stack's binaries (cached in ~/.cache after the first, ~20 min cold build on 2 cores).
 * Returns why the stack cannot run, or undefined when it can.
 */
export function whyNoStack(): string | undefined {
  if (!existsSync(join(STACK, 'up.sh'))) return `${STACK} is missing: the stack scripts are read from ../shared beside the repository`;
  if (!existsSync(join(REPO, 'dist/function/main.js'))) return 'dist/function/main.js is missing: run npm run build first';
  // Crossplane and provider-sql first, by ../upstream/build.sh read to its end: stack/build.sh reads only
  // its first line (`| head -1` under pipefail), which now and then kills it with SIGPIPE (exit 141) once
  // everything is built; given $XP_TOOLS, stack/build.sh (and up.sh, which runs it) takes the tools from there.
  if (!process.env.XP_TOOLS) {
    const upstream = spawnSync('bash', [resolve(STACK, '../upstream/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 60 * 60_000 });
    if (upstream.status !== 0) return `../shared/upstream/build.sh failed (exit ${upstream.status ?? upstream.signal}): see its output above`;
    const first = upstream.stdout.trim().split('\n')[0];
    if (!first) return '../shared/upstream/build.sh printed no path';
    process.env.XP_TOOLS = dirname(first);
  }
  const r = spawnSync('bash', [join(STACK, 'build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 60 * 60_000 });
  if (r.status !== 0) return `../shared/stack/build.sh failed (exit ${r.status ?? r.signal}): see its output above`;
  const missing = r.stdout.trim().split('\n').filter((p) => !existsSync(p));
  if (missing.length > 0) return `../shared/stack/build.sh printed paths that do not exist: ${missing.join(', ')}`;
  return undefined;
}

/**
 * The shipped Composition of a flavour, changed only where the stack differs from a
 * production platform: provider-sql's config is the stack's `default` (the shipped one
 * names the platform's, e.g. aurora-shared), PostgreSQL runs without TLS, and no AWS
 * provider or backup bucket exists, so Secrets Manager (whose objects would never become
 * Ready, SPEC) and backups are off for every claim through the function input.
 */
export function adaptComposition(flavour: Flavour): Obj {
  const composition = parse(readFileSync(join(REPO, 'compositions', `${flavour}.yaml`), 'utf8')) as Obj;
  const step = (composition.spec.pipeline as Obj[]).find((s) => s.functionRef?.name === FUNCTION_NAME);
  if (!step) throw new Error(`compositions/${flavour}.yaml has no step calling ${FUNCTION_NAME}`);
  const input = step.input as Obj;
  input.sql = { ...input.sql, providerConfigRef: { ...input.sql.providerConfigRef, name: 'default' }, sslMode: 'disable' };
  input.secretsManager = { ...input.secretsManager, enabled: false };
  input.backup = { ...input.backup, enabled: false };
  return composition;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FunctionProcess {
  child: ChildProcess;
  port: number;
  metricsPort?: number;
}

export class Stack {
  readonly env: Record<string, string>;
  readonly fn: FunctionProcess;
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly flavour: Flavour,
    env: Record<string, string>,
    fn: FunctionProcess,
  ) {
    this.env = env;
    this.fn = fn;
  }

  /** Starts a fresh stack in a temporary folder with the function and one flavour installed. */
  static async start(flavour: Flavour, opts: { functionMetrics?: boolean } = {}): Promise<Stack> {
    const dir = mkdtempSync(join(tmpdir(), `tenantdb-cluster-${flavour}-`));
    watchdog(dir);
    const up = spawnSync('bash', [join(STACK, 'up.sh'), dir, '--crossplane'], { encoding: 'utf8', timeout: 10 * 60_000 });
    if (up.status !== 0) {
      spawnSync('bash', [join(STACK, 'down.sh'), dir]);
      throw new Error(`up.sh failed (exit ${up.status ?? up.signal}):\n${up.stderr}\n${tailOf(join(dir, 'crossplane.log'))}`);
    }
    const env = parseEnv(readFileSync(join(dir, 'env'), 'utf8'));
    let fn: FunctionProcess | undefined;
    try {
      fn = await startFunction(dir, opts.functionMetrics === true);
      const stack = new Stack(dir, flavour, env, fn);
      stack.install();
      return stack;
    } catch (error) {
      fn?.child.kill('SIGKILL');
      spawnSync('bash', [join(STACK, 'down.sh'), dir]);
      throw error;
    }
  }

  private install(): void {
    run('bash', [join(STACK, 'function.sh'), this.dir, FUNCTION_NAME, `127.0.0.1:${this.fn.port}`], this.env);
    // The platform's password key (docs/platform-engineers.md, Install): 48 random bytes, base64.
    this.kubectl(['-n', 'crossplane-system', 'create', 'secret', 'generic', 'tenantdb-password-key', `--from-literal=key=${randomBytes(48).toString('base64')}`]);
    this.kubectl(['apply', '-f', join(REPO, 'xrds', this.flavour)]);
    const composition = join(this.dir, `composition-${this.flavour}.yaml`);
    writeFileSync(composition, stringify(adaptComposition(this.flavour)));
    this.kubectl(['apply', '-f', composition]);
    const xrd = this.flavour === 'claim' ? 'xtenantdatabases.tenantdb.platform.io' : 'tenantdatabases.tenantdb.platform.io';
    this.kubectl(['wait', '--for=condition=Established', '--timeout=120s', `compositeresourcedefinition/${xrd}`]);
    this.kubectl(['wait', '--for=condition=Established', '--timeout=120s', 'crd/tenantdatabases.tenantdb.platform.io']);
  }

  /** kubectl against this stack; throws with stderr on a non-zero exit. */
  kubectl(args: string[], input?: string): string {
    const r = this.kubectlResult(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  kubectlResult(args: string[], input?: string): KubectlResult {
    const r = spawnSync('kubectl', args, { encoding: 'utf8', env: { ...process.env, ...this.env }, input, timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
  }

  apply(objects: Obj[]): void {
    this.kubectl(['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  }

  getJson(args: string[]): Obj | undefined {
    const r = this.kubectlResult(['get', ...args, '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
  }

  /** A Secret's data, decoded; undefined when it does not exist. */
  secret(namespace: string, name: string): Record<string, string> | undefined {
    const s = this.getJson(['-n', namespace, 'secret', name]);
    if (!s) return undefined;
    return Object.fromEntries(Object.entries((s.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  }

  /** psql as the stack's superuser (PGHOST/PGPORT/PGUSER/PGPASSWORD from DIR/env). */
  psqlAdmin(database: string, sql: string): KubectlResult {
    return psql({ host: this.env.PGHOST!, port: this.env.PGPORT!, user: this.env.PGUSER!, password: this.env.PGPASSWORD!, database }, sql);
  }

  /** Process ids of the stack's processes, for CPU accounting (/proc/PID/stat). */
  pids(): Record<string, number> {
    const pids = this.stackPids();
    const pgdata = readFileSync(join(this.dir, 'pgdata'), 'utf8').trim();
    // postmaster.pid's first line is the postmaster; its backends are its children.
    pids.postgres = Number(readFileSync(join(pgdata, 'data/postmaster.pid'), 'utf8').split('\n')[0]);
    if (this.fn.child.pid !== undefined) pids.function = this.fn.child.pid;
    return pids;
  }

  /** What up.sh started and recorded in DIR/*.pid (PostgreSQL aside: pg_ctl stops it). */
  private stackPids(): Record<string, number> {
    const pids: Record<string, number> = {};
    for (const name of ['crossplane', 'provider-sql', 'kube-apiserver', 'etcd', 'kube-controller-manager', 'registry']) {
      const file = join(this.dir, `${name}.pid`);
      if (existsSync(file)) pids[name] = Number(readFileSync(file, 'utf8').trim());
    }
    return pids;
  }

  /** Crossplane's Prometheus port: the --metrics-port up.sh picked, read from its command line. */
  crossplaneMetricsPort(): number {
    const pid = readFileSync(join(this.dir, 'crossplane.pid'), 'utf8').trim();
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const flag = args.find((a) => a.startsWith('--metrics-port='));
    if (!flag) throw new Error(`crossplane (pid ${pid}) runs without --metrics-port`);
    return Number(flag.slice('--metrics-port='.length));
  }

  /** What to read when a case fails: the processes' log tails, claims/XRs and recent events. */
  diagnostics(): string {
    const parts: string[] = [];
    for (const log of ['crossplane.log', 'provider-sql.log', 'function.log']) parts.push(`--- ${log} (tail)\n${tailOf(join(this.dir, log))}`);
    const kind = 'tenantdatabases.tenantdb.platform.io';
    parts.push(`--- ${kind}\n${this.kubectlResult(['get', kind, '-A', '-o', 'yaml']).stdout.slice(-12_000)}`);
    if (this.flavour === 'claim') parts.push(`--- XRs\n${this.kubectlResult(['get', 'xtenantdatabases.tenantdb.platform.io', '-o', 'yaml']).stdout.slice(-12_000)}`);
    parts.push(`--- events\n${this.kubectlResult(['get', 'events', '-A', '--sort-by=.lastTimestamp']).stdout.split('\n').slice(-40).join('\n')}`);
    return parts.join('\n');
  }

  /** Stops the function and everything up.sh started (down.sh), then removes the folder; safe to call twice. */
  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const exited = new Promise<void>((r) => (this.fn.child.exitCode !== null ? r() : this.fn.child.once('exit', () => r())));
    this.fn.child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (this.fn.child.exitCode === null) this.fn.child.kill('SIGKILL');
    // down.sh sends one SIGTERM each; kube-apiserver, whose etcd goes at the same moment, was seen
    // still running a minute later. Whatever of ours outlives down.sh by 20 s is killed: the same pid
    // with the same start time (so never a process that reused the number).
    const started = Object.values(this.stackPids()).map((pid) => [pid, startTime(pid)] as const);
    spawnSync('bash', [join(STACK, 'down.sh'), this.dir], { timeout: 120_000 });
    const ours = () => started.filter(([pid, t]) => t !== undefined && startTime(pid) === t);
    for (let i = 0; i < 40 && ours().length > 0; i++) await sleep(500);
    for (const [pid] of ours()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    writeFileSync(join(this.dir, '.stopped'), '');
    if (!opts.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

export function psql(login: { host: string; port: string; user: string; password: string; database: string }, sql: string): KubectlResult {
  const r = spawnSync(PSQL, ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-h', login.host, '-p', login.port, '-U', login.user, '-d', login.database, '-c', sql], {
    encoding: 'utf8',
    env: { ...process.env, PGPASSWORD: login.password, PGCONNECT_TIMEOUT: '10' },
    timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: (r.stdout ?? '').trim(), stderr: r.stderr ?? '' };
}

/** Logs in with a `<name>-secret`'s keys and runs sql. */
export function psqlAs(secret: Record<string, string>, sql: string, password = secret.password ?? ''): KubectlResult {
  return psql({ host: secret.endpoint ?? '', port: secret.port ?? '', user: secret.username ?? '', password, database: secret.database ?? '' }, sql);
}

/** Polls check() until it returns a value, or fails after timeoutMs naming what it waited for. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => T | undefined | false, everyMs = 1_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    for (const m of line.replace(/^export\s+/, '').matchAll(/([A-Z_]+)=(\S+)/g)) env[m[1]!] = m[2]!;
  }
  for (const k of ['KUBECONFIG', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD']) if (!env[k]) throw new Error(`up.sh wrote no ${k}`);
  return env;
}

function run(cmd: string, args: string[], env: Record<string, string>): string {
  return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
}

export function tailOf(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Runs the built function on free loopback ports (port 0; it logs the ports it got on its
 * "listening" line) with the stack's server certificate and CA, so that only Crossplane's
 * client certificate gets in (mutual TLS, as in production).
 */
async function startFunction(dir: string, metrics: boolean): Promise<FunctionProcess> {
  const log = join(dir, 'function.log');
  const child = spawn(
    process.execPath,
    [join(REPO, 'dist/function/main.js'), '--tls-server-certs-dir', join(dir, 'tls/function'), '--address', '127.0.0.1:0', '--metrics-address', metrics ? '127.0.0.1:0' : ''],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // The whole output goes to the log; only what comes before the "listening" line is kept in memory.
  let head = '';
  const onData = (d: Buffer) => {
    appendFileSync(log, d);
    if (head.length < 64 * 1024) head += d.toString();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const listening = await waitFor('the function to listen', 30_000, () => {
    if (child.exitCode !== null) throw new Error(`the function exited (${child.exitCode}): ${head}`);
    const line = head.split('\n').find((l) => l.includes('"listening"'));
    return line ? (JSON.parse(line) as { port: number; metricsPort?: number }) : undefined;
  }, 100);
  return { child, port: listening.port, metricsPort: listening.metricsPort };
}

/**
 * Runs down.sh for DIR if this process goes away without stop() (a killed worker):
 * a detached shell polls this process and, once it is gone, stops the stack.
 */
function watchdog(dir: string): void {
  const quoted = `'${dir.replace(/'/g, `'\\''`)}'`;
  const w = spawn(
    'sh',
    [
      '-c',
      `live() { [ -d ${quoted} ] && [ ! -f ${quoted}/.stopped ]; }; ` +
        `while kill -0 ${process.pid} 2>/dev/null && live; do sleep 2; done; ` +
        `live && bash '${join(STACK, 'down.sh')}' ${quoted} >/dev/null 2>&1 && rm -rf ${quoted}; exit 0`,
    ],
    { detached: true, stdio: 'ignore' },
  );
  w.unref();
}

/** Prometheus text format: the sum of one metric's samples whose labels include `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labelText = m[2] ?? '';
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue;
    sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

export async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return r.text();
}

/** A process's start time (field 22 of /proc/PID/stat), undefined once it is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
