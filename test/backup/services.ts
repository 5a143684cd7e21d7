/**
 * The real services `npm run test:backup` runs the backup and restore scripts
 * against: moto's S3 server and the AWS CLI from the venv that
 * test/backup/install-tools.sh builds outside the repo, PostgreSQL 15 from
 * test/sql/postgres.ts, shellcheck from apt.
 *
 * toolsMissing() says what is not installed. Under CI=true a missing tool is
 * a failure (.ci/run installs them); elsewhere the suite is skipped and says
 * why. The scripts run exactly as the pod would run them: the rendered
 * container's command and args, with its env, where each secretKeyRef is
 * filled from the tenant's composed `<name>-secret`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports.js';
import { PG_BIN } from '../sql/postgres.js';

/** Set by vitest.backup.config.ts: `npm test` sees this suite as skipped, `npm run test:backup` runs it. */
export const BACKUP_SUITE = process.env.TENANTDB_BACKUP === '1';

/** The venv's bin folder (install-tools.sh prints it). */
export const TOOLS_BIN = process.env.TENANTDB_BACKUP_BIN ??
  join(process.env.TENANTDB_BACKUP_TOOLS ?? join(homedir(), '.cache/tenantdb-backup'), 'venv/bin');

export const AWS = join(TOOLS_BIN, 'aws');
const MOTO = join(TOOLS_BIN, 'moto_server');

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** What is missing for the suite, empty when it can run. */
export function toolsMissing(): string[] {
  const missing: string[] = [];
  for (const bin of ['postgres', 'initdb', 'pg_ctl', 'psql', 'pg_dump', 'pg_restore']) {
    if (!existsSync(join(PG_BIN, bin))) missing.push(join(PG_BIN, bin));
  }
  if (!existsSync(AWS)) missing.push(AWS);
  if (!existsSync(MOTO)) missing.push(MOTO);
  if (!which('shellcheck')) missing.push('shellcheck');
  return missing;
}

/** True when the suite can run; throws under CI=true when it cannot; otherwise warns (the caller skips). */
export function backupToolsAvailable(): boolean {
  if (!BACKUP_SUITE) return false;
  const missing = toolsMissing();
  if (missing.length === 0) return true;
  const message =
    `the backup suite needs real PostgreSQL 15, moto's S3 server, the AWS CLI and shellcheck; missing: ${missing.join(', ')} ` +
    '(run: bash test/backup/install-tools.sh)';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPED: ${message}`);
  return false;
}

/** Credentials moto accepts (it accepts any); never real ones. */
export const AWS_TEST_ENV = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_EC2_METADATA_DISABLED: 'true',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** moto's S3 server on a free loopback port, in its own process group. */
export class MotoServer {
  private exited = false;
  /** Credentials for aws(): moto's test ones, or an IAM user's once IAM is enforced. */
  credentials: { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string } = AWS_TEST_ENV;
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
  ) {
    child.once('exit', () => {
      this.exited = true;
    });
  }

  /**
   * `unauthenticatedCalls`: enforce IAM (moto's INITIAL_NO_AUTH_ACTION_COUNT)
   * after that many calls, which set up the users and their policies.
   */
  static async start(unauthenticatedCalls?: number): Promise<MotoServer> {
    const port = await freePort();
    const env = { ...process.env, ...(unauthenticatedCalls !== undefined ? { INITIAL_NO_AUTH_ACTION_COUNT: String(unauthenticatedCalls) } : {}) };
    const child = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env });
    let log = '';
    child.stderr?.on('data', (d) => {
      log = (log + String(d)).slice(-4000);
    });
    const server = new MotoServer(`http://127.0.0.1:${port}`, child);
    process.once('exit', () => server.stop());
    // A detached shell ends the server should this process die without running its exit handlers.
    spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; kill -TERM -${child.pid} 2>/dev/null`], {
      detached: true,
      stdio: 'ignore',
    }).unref();
    for (let i = 0; i < 150; i++) {
      if (server.exited) throw new Error(`moto_server exited: ${log}`);
      try {
        const r = await fetch(`${server.url}/moto-api/`);
        if (r.status < 500) return server;
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    server.stop();
    throw new Error(`moto_server did not answer on ${server.url}: ${log}`);
  }

  stop(): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }

  /** Run the AWS CLI against this server; throws on failure. */
  aws(args: string[], input?: string): string {
    const r = spawnSync(AWS, ['--endpoint-url', this.url, ...args], {
      encoding: 'utf8',
      input,
      env: { ...process.env, ...AWS_TEST_ENV, ...this.credentials, AWS_DEFAULT_REGION: 'eu-west-1', HOME: process.env.HOME ?? '/tmp' },
    });
    if (r.status !== 0) throw new Error(`aws ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  /** Every key under a prefix, sorted. */
  keys(bucket: string, prefix: string): string[] {
    const out = this.aws(['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', prefix, '--query', 'Contents[].Key', '--output', 'json']);
    const keys = JSON.parse(out || 'null') as string[] | null;
    return (keys ?? []).sort();
  }

  /** An IAM user with an inline policy, and its access key (moto keeps them in memory). */
  user(name: string, policy: object): { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string } {
    this.aws(['iam', 'create-user', '--user-name', name]);
    this.aws(['iam', 'put-user-policy', '--user-name', name, '--policy-name', 'tenantdb-backup', '--policy-document', JSON.stringify(policy)]);
    const key = JSON.parse(this.aws(['iam', 'create-access-key', '--user-name', name])).AccessKey;
    return { AWS_ACCESS_KEY_ID: key.AccessKeyId, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey };
  }

  put(bucket: string, key: string, body: string): void {
    this.aws(['s3', 'cp', '-', `s3://${bucket}/${key}`], body);
  }
}

type Obj = Record<string, any>;

/** The first container of a rendered CronJob or Job. */
export function containerOf(object: Obj): Obj {
  const spec = object.kind === 'CronJob' ? object.spec.jobTemplate.spec : object.spec;
  return spec.template.spec.containers[0];
}

/**
 * The environment the pod would have: each env entry's value, or the
 * referenced key of the tenant Secret (decoded), as the kubelet fills it.
 */
export function podEnv(container: Obj, secret: Record<string, string>, secretName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env as Obj[]) {
    if (typeof e.value === 'string') env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      if (ref.name !== secretName) throw new Error(`env ${e.name} reads Secret ${ref.name}, not ${secretName}`);
      const value = secret[ref.key];
      if (value === undefined) throw new Error(`env ${e.name}: Secret ${secretName} has no key ${ref.key}`);
      env[e.name] = value;
    } else throw new Error(`env ${e.name}: neither value nor secretKeyRef`);
  }
  return env;
}

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a rendered container's command and args (`/bin/sh -c <script> <name>`)
 * with its pod environment, plus the tools on PATH, moto's test credentials
 * and `extra` (e.g. TERMINATION_LOG). Asynchronous, so that moto (a child of
 * this process) keeps being served while the script runs.
 */
export function runContainer(container: Obj, env: Record<string, string>, extra: Record<string, string> = {}): Promise<ScriptRun> {
  const [cmd, ...args] = [...(container.command as string[]), ...(container.args as string[])];
  const sh = cmd === '/bin/sh' && !existsSync('/bin/sh') ? 'sh' : cmd!;
  return new Promise((resolveRun, reject) => {
    const child = spawn(sh, args, {
      env: { PATH: `${TOOLS_BIN}:${PG_BIN}:/usr/bin:/bin`, LANG: 'C.UTF-8', ...AWS_TEST_ENV, ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.once('error', reject);
    child.once('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}
