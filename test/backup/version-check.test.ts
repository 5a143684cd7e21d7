/**
 * The backup script's check of the server's PostgreSQL version against its
 * pg_dump's, run with sh and stand-ins for psql, pg_dump and aws that print
 * what the real ones print (npm run test:backup runs the script against a
 * real PostgreSQL 15 and S3). The stand-ins record whether anything was
 * dumped or uploaded.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKUP_SCRIPT, EXIT_CODE_MEANINGS, EXIT_CODES, NON_RETRYABLE_EXIT_CODES } from '../../function/backup/scripts.js';

const dir = mkdtempSync(join(tmpdir(), 'tenantdb-version-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stub(bin: string, name: string, body: string): void {
  writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

/** Run the backup script with a server of `serverNum` (server_version_num) and a pg_dump printing `client`. */
function backup(serverNum: string, client: string) {
  const bin = mkdtempSync(join(dir, 'bin-'));
  const dumped = join(bin, 'dumped');
  stub(bin, 'psql', `echo "8123456 ${serverNum}"`);
  stub(bin, 'pg_dump', `if [ "$1" = --version ]; then echo '${client}'; exit 0; fi\ntouch '${dumped}'; echo PGDMP`);
  // The upload reads the stream and fails, so that nothing further runs: the check comes before it.
  stub(bin, 'aws', 'cat >/dev/null; exit 1');
  const r = spawnSync('sh', ['-c', BACKUP_SCRIPT, 'tenantdb-backup'], {
    encoding: 'utf8',
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      PGHOST: 'aurora.example.internal', PGPORT: '5432', PGUSER: 'tenant', PGPASSWORD: 'not-a-real-one', PGDATABASE: 'db',
      BACKUP_BUCKET: 'b', BACKUP_PREFIX: 'tenantdb/shop/orders-db/', BACKUP_RETENTION_DAYS: '7',
    },
  });
  return { status: r.status, stderr: r.stderr, dumped: existsSync(dumped) };
}

describe('the backup script names a server newer than its pg_dump as its own error', () => {
  it('server 17, pg_dump 15: SERVER_NEWER_THAN_CLIENT, with the fix, before pg_dump runs', () => {
    const r = backup('170002', 'pg_dump (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)');
    expect(r.status).toBe(EXIT_CODES.SERVER_NEWER_THAN_CLIENT);
    expect(r.stderr).toMatch(/runs PostgreSQL 17, newer than this image's pg_dump 15, which cannot dump it; nothing was uploaded\. Fix: build the backup image with PG_MAJOR=17 or later/);
    expect(r.dumped).toBe(false);
  });

  it('server 16, pg_dump 17: no version error (a newer client dumps every older server); it goes on to dump', () => {
    const r = backup('160004', 'pg_dump (PostgreSQL) 17.2 (Debian 17.2-1.pgdg120+1)');
    expect(r.status).toBe(EXIT_CODES.UPLOAD_FAILED);
    expect(r.dumped).toBe(true);
    expect(r.stderr).toMatch(/PostgreSQL 16, pg_dump 17/);
  });

  it('server 15, pg_dump 15: the same major version is fine', () => {
    expect(backup('150010', 'pg_dump (PostgreSQL) 15.10').status).toBe(EXIT_CODES.UPLOAD_FAILED);
  });

  it('a pg_dump whose version cannot be read is a CONFIG error of the image, not a dump failure', () => {
    expect(backup('150010', 'something else').status).toBe(EXIT_CODES.CONFIG);
  });

  it('its code is documented and fails the Job at once (no retry builds a new image)', () => {
    expect(EXIT_CODE_MEANINGS[EXIT_CODES.SERVER_NEWER_THAN_CLIENT]).toMatchObject({ name: 'SERVER_NEWER_THAN_CLIENT', retry: false });
    expect(NON_RETRYABLE_EXIT_CODES).toContain(EXIT_CODES.SERVER_NEWER_THAN_CLIENT);
  });
});
