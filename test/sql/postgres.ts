/**
 * A throwaway PostgreSQL 15 server for the SQL tests, and the psql client they
 * talk to it with.
 *
 * The tests must log in with the passwords provider-sql generates, so the
 * server asks every TCP connection for a password (scram-sha-256, as on
 * Aurora/RDS) and listens on a free loopback port only. Its one superuser,
 * `admin`, plays the provider-sql ProviderConfig's user. All state lives in a
 * temporary folder that `stop()` removes; PostgreSQL refuses to run as root,
 * so when the tests run as root (CI) the server runs as the `postgres` system
 * user. A watchdog stops it should the test process die without cleaning up.
 *
 * Statements go through the `psql` command line (no npm client library):
 * `-v ON_ERROR_STOP=1`, the password in PGPASSWORD for that one call.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports.js';

/** Where Debian's postgresql-15 package installs the server binaries. */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** The server's own psql: /usr/bin/psql is Debian's Perl wrapper, which costs ~70 ms a call. */
const PSQL = existsSync(join(PG_BIN, 'psql')) ? join(PG_BIN, 'psql') : 'psql';

/** Set by vitest.sql.config.ts: `npm test` sees the SQL suites as skipped, `npm run test:sql` runs them. */
export const SQL_SUITE = process.env.TENANTDB_SQL === '1';

/**
 * Why the SQL tests cannot run here, or undefined when they can. Under
 * `npm test` they are not meant to (`npm run test:sql` runs them, with a
 * server of their own). Under `npm run test:sql` with CI=true a missing
 * server or psql is a failure (CI installs them: .ci/run); elsewhere the
 * suite is skipped with the reason.
 */
export function whyNoPostgres(): string | undefined {
  if (!SQL_SUITE) return 'npm run test:sql runs the SQL suites against a real PostgreSQL 15; npm test does not';
  const missing = [join(PG_BIN, 'postgres'), join(PG_BIN, 'initdb'), join(PG_BIN, 'pg_ctl')].filter((p) => !existsSync(p));
  const psql = spawnSync(PSQL, ['--version'], { encoding: 'utf8' });
  if (psql.status !== 0) missing.push('psql');
  if (missing.length === 0) return undefined;
  const message =
    `PostgreSQL 15 is not installed (${missing.join(', ')} missing): the SQL tests need a real server ` +
    '(apt-get install postgresql-15, or set PG_BIN)';
  if (process.env.CI === 'true') throw new Error(message);
  return message;
}

export interface Login {
  user: string;
  password: string;
  database: string;
}

/** What one psql call did: rows (fields split), or the error PostgreSQL gave. */
export interface SqlResult {
  ok: boolean;
  rows: string[][];
  /** psql's stderr without its `psql:<stdin>:N:` prefixes, e.g. `ERROR:  permission denied for table t`. */
  error: string;
}

/** psql prints fields separated by this (unit separator), rows by newlines. */
const FIELD = '\x1f';

/** PostgreSQL will not run as root: then run its tools as the `postgres` system user. */
function asServerUser(): { wrap: (cmd: string[]) => string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { wrap: (cmd) => cmd };
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { wrap: (cmd) => ['runuser', '-u', 'postgres', '--', ...cmd], uid, gid };
}

function run(cmd: string[], what: string): void {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${r.stderr || r.stdout || r.error?.message}`);
}

export class PostgresServer {
  readonly host = '127.0.0.1';
  readonly adminUser = 'admin';
  readonly adminPassword = randomBytes(18).toString('base64url');
  private stopped = false;
  private readonly onExit = () => this.stop();

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly wrap: (cmd: string[]) => string[],
  ) {}

  /** initdb into a temporary folder and start the server on a free loopback port. */
  static async start(): Promise<PostgresServer> {
    const { wrap, uid, gid } = asServerUser();
    const dir = mkdtempSync(join(tmpdir(), 'tenantdb-pg-'));
    if (uid !== undefined && gid !== undefined) chownSync(dir, uid, gid);
    const server = new PostgresServer(await freePort(), dir, wrap);
    process.once('exit', server.onExit);
    try {
      const pwfile = join(dir, 'admin-password');
      writeFileSync(pwfile, server.adminPassword);
      chmodSync(pwfile, 0o600);
      if (uid !== undefined && gid !== undefined) chownSync(pwfile, uid, gid);
      run(
        wrap([join(PG_BIN, 'initdb'), '-D', join(dir, 'data'), '-U', server.adminUser, `--pwfile=${pwfile}`,
          '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']),
        'initdb',
      );
      rmSync(pwfile);
      // fsync off: nothing here outlives the test run, and CREATE DATABASE gets much faster.
      const options = `-p ${server.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c full_page_writes=off`;
      run(wrap([join(PG_BIN, 'pg_ctl'), '-D', join(dir, 'data'), '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start']), 'pg_ctl start');
      server.watchdog();
    } catch (error) {
      const log = existsSync(join(dir, 'server.log')) ? `\n${readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000)}` : '';
      server.stop();
      throw new Error(`${(error as Error).message}${log}`);
    }
    return server;
  }

  /**
   * pg_ctl detaches the server, so a test worker killed without running its
   * exit handlers would leave it running: a detached shell polls for this
   * process and, once it is gone, stops the server and removes its folder.
   */
  private watchdog(): void {
    const stop = this.wrap([join(PG_BIN, 'pg_ctl'), '-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']).map((a) => `'${a}'`).join(' ');
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; ` +
      `if [ -f '${this.dir}/data/postmaster.pid' ]; then ${stop} >/dev/null 2>&1; fi; rm -rf '${this.dir}'`;
    spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
  }

  /** Stop the server and remove its folder; safe to call twice. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    process.removeListener('exit', this.onExit);
    if (existsSync(join(this.dir, 'data', 'postmaster.pid'))) {
      const [cmd, ...args] = this.wrap([join(PG_BIN, 'pg_ctl'), '-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
      spawnSync(cmd!, args, { encoding: 'utf8' });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Run SQL as `login` over TCP. Statements run one after another and stop at
   * the first error; with `transaction` they run as one transaction (psql -1),
   * as provider-sql's ExecTx does.
   */
  psql(login: Login, sql: string, options: { transaction?: boolean } = {}): SqlResult {
    const args = ['-X', '-q', '-A', '-t', '-F', FIELD, '-v', 'ON_ERROR_STOP=1', '-h', this.host, '-p', String(this.port),
      '-U', login.user, '-d', login.database, '-f', '-'];
    if (options.transaction) args.push('-1');
    const r = spawnSync(PSQL, args, {
      input: sql,
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: login.password, PGCONNECT_TIMEOUT: '10', PGSSLMODE: 'disable', PGAPPNAME: 'tenantdb-sql-test' },
    });
    const error = (r.stderr ?? '').split('\n').map((l) => l.replace(/^psql:<stdin>:\d+: /, '')).filter((l) => l.trim() !== '').join('\n');
    if (r.status !== 0) return { ok: false, rows: [], error: error || r.error?.message || `psql exited ${r.status}` };
    const rows = (r.stdout ?? '').split('\n').filter((l) => l !== '').map((l) => l.split(FIELD));
    return { ok: true, rows, error };
  }

  /** Like psql(), but in the background: a session held open while `sql` runs (pg_sleep). Resolves with psql's exit status. */
  background(login: Login, sql: string): Promise<number | null> {
    const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', this.host, '-p', String(this.port), '-U', login.user, '-d', login.database, '-c', sql];
    const child = spawn(PSQL, args, {
      stdio: 'ignore',
      env: { ...process.env, PGPASSWORD: login.password, PGCONNECT_TIMEOUT: '10', PGSSLMODE: 'disable', PGAPPNAME: 'tenantdb-sql-test' },
    });
    return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Like psql(), but a failure throws with PostgreSQL's message. */
  must(login: Login, sql: string, options: { transaction?: boolean } = {}): string[][] {
    const r = this.psql(login, sql, options);
    if (!r.ok) throw new Error(`as ${login.user} on ${login.database}: ${r.error}\n  in: ${sql.trim().slice(0, 300)}`);
    return r.rows;
  }

  /** The superuser, on a database. */
  asAdmin(database = 'postgres'): Login {
    return { user: this.adminUser, password: this.adminPassword, database };
  }
}
