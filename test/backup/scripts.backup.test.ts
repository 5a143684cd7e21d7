/**
 * The backup and restore scripts, run for real (`npm run test:backup`): the
 * rendered CronJob's and Job's container command, with the environment its
 * pod would have (secretKeyRefs filled from the tenant's composed
 * `<name>-secret`), against PostgreSQL 15 tenants built by the function as
 * provider-sql would build them (test/sql/control-plane.ts), moto's S3 server
 * and the real AWS CLI (AWS_ENDPOINT_URL set by the plan's endpointUrl).
 *
 * IAM: a second moto server enforces IAM with per-namespace policies (see the
 * isolation block for what moto does and does not evaluate).
 */
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { example, Tenant, throwawayServer } from '../sql/control-plane.js';
import type { PostgresServer } from '../sql/postgres.js';
import type { ProviderSql } from '../sql/provider-sql.js';
import { parseBackupInput, resolveBackup, type BackupPlan, type RestoredFromStatus } from '../../function/backup/settings.js';
import { backupCronJob, restoreJob } from '../../function/backup/resources.js';
import { BACKUP_SCRIPT, EXIT_CODES, RESTORE_SCRIPT } from '../../function/backup/scripts.js';
import { backupToolsAvailable, containerOf, MotoServer, podEnv, runContainer, type ScriptRun } from './services.js';

const available = backupToolsAvailable();
const BUCKET = 'tenantdb-backups';
const STAMP = /^\d{8}T\d{6}Z$/;

describe.skipIf(!available)('backup and restore scripts against PostgreSQL 15 and S3 (moto)', () => {
  let server: PostgresServer;
  let provider: ProviderSql;
  let s3: MotoServer;
  let dir: string;
  throwawayServer((started, admin) => {
    server = started;
    provider = admin;
  });

  beforeAll(async () => {
    s3 = await MotoServer.start();
    s3.aws(['s3api', 'create-bucket', '--bucket', BUCKET, '--create-bucket-configuration', 'LocationConstraint=eu-west-1']);
    dir = mkdtempSync(join(tmpdir(), 'tenantdb-backup-test-'));
  }, 60_000);
  afterAll(() => {
    s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The tenant's backup plan, from the platform input the Compositions would carry, against moto. */
  function planFor(tenant: Tenant, spec: Record<string, unknown> = {}, restoredFrom?: RestoredFromStatus, endpointUrl = s3.url): BackupPlan {
    const parsed = parseBackupInput({
      enabled: true,
      image: 'ghcr.io/platform/tenantdb-backup:1.0.0',
      bucket: BUCKET,
      region: 'eu-west-1',
      endpointUrl,
      credentials: { mode: 'PodIdentity' },
    });
    if ('error' in parsed) throw new Error(parsed.error);
    const meta = tenant.source.patch!.metadata as { namespace: string; name: string };
    const r = resolveBackup(meta, spec, parsed.input, { sslMode: 'disable', observedRestoredFrom: restoredFrom });
    if ('refusal' in r) throw new Error(r.refusal.message);
    return r.plan!;
  }

  /** Run the plan's CronJob (or restore Job) container as its pod would, with the tenant's Secret. */
  async function run(tenant: Tenant, object: Record<string, any> | undefined, extra: Record<string, string> = {}): Promise<ScriptRun> {
    if (!object) throw new Error('nothing rendered');
    const container = containerOf(object);
    const secretName = container.env.find((e: any) => e.name === 'PGPASSWORD').valueFrom.secretKeyRef.name;
    const r = await runContainer(container, podEnv(container, tenant.secretData('secret'), secretName), extra);
    // Whatever happens, the password never reaches the logs.
    expect(r.stdout + r.stderr).not.toContain(tenant.login().password);
    return r;
  }

  const explain = (r: ScriptRun) => `exit ${r.status}\n${r.stderr}`;
  /** The tenant role (the composed Role's external name), which owns everything restored. */
  const ownerRole = (t: Tenant): string => t.composed.role!.metadata.annotations['crossplane.io/external-name'];

  let source: Tenant;
  let sourcePlan: BackupPlan;
  const fill = `
    CREATE TABLE public.orders (id serial PRIMARY KEY, item text NOT NULL, price numeric(10,2));
    INSERT INTO public.orders (item, price) SELECT 'item ' || i, i * 1.5 FROM generate_series(1, 500) AS i;
    CREATE TABLE reporting.daily (day date PRIMARY KEY, total int);
    INSERT INTO reporting.daily VALUES ('2026-01-01', 3), ('2026-01-02', 5);
    CREATE VIEW public.expensive AS SELECT item FROM public.orders WHERE price > 700;
    CREATE FUNCTION public.order_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.orders';
    SELECT encode(digest('x', 'sha256'), 'hex');`;
  const snapshot = (t: Tenant) =>
    server.must(t.login(), `
      SELECT 'orders', count(*)::text, sum(price)::text FROM public.orders
      UNION ALL SELECT 'daily', count(*)::text, sum(total)::text FROM reporting.daily
      UNION ALL SELECT 'view', count(*)::text, '' FROM public.expensive
      UNION ALL SELECT 'fn', public.order_count()::text, ''
      UNION ALL SELECT 'seq', last_value::text, is_called::text FROM public.orders_id_seq`);

  beforeAll(() => {
    // With a reader: its grants and default privileges are in the dump, and must not follow the data.
    source = new Tenant(provider, example('claim', 'shop', 'orders-db', { schemas: ['reporting'], readOnlyRole: true }));
    source.converge();
    server.must(source.login(), fill);
    sourcePlan = planFor(source);
  }, 120_000);

  it('shellcheck finds nothing in either script (POSIX sh)', () => {
    for (const [name, script] of [['backup', BACKUP_SCRIPT], ['restore', RESTORE_SCRIPT]] as const) {
      const file = join(dir, `${name}.sh`);
      writeFileSync(file, script);
      const r = spawnSync('shellcheck', ['--shell=sh', '--severity=style', file], { encoding: 'utf8' });
      expect(r.stdout + r.stderr, name).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it('a backup streams pg_dump to s3://bucket/tenantdb/<namespace>/<name>/<YYYYMMDDTHHMMSSZ>.dump, encrypted', async () => {
    const before = Date.now();
    const r = await run(source, backupCronJob(sourcePlan));
    expect(r.status, explain(r)).toBe(0);
    const keys = s3.keys(BUCKET, 'tenantdb/shop/orders-db/');
    expect(keys).toHaveLength(1);
    const stamp = keys[0]!.slice('tenantdb/shop/orders-db/'.length, -'.dump'.length);
    expect(stamp).toMatch(STAMP);
    const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13)}`;
    expect(Math.abs(Date.parse(iso) - before)).toBeLessThan(60_000);
    const head = JSON.parse(s3.aws(['s3api', 'head-object', '--bucket', BUCKET, '--key', keys[0]!]));
    expect(head.ServerSideEncryption).toBe('AES256');
    // A pg_dump custom archive starts with PGDMP.
    const body = s3.aws(['s3', 'cp', `s3://${BUCKET}/${keys[0]}`, '-']);
    expect(body.slice(0, 5)).toBe('PGDMP');
  });

  it('aws:kms with a key id: the object is encrypted with that key', async () => {
    const keyId = JSON.parse(s3.aws(['kms', 'create-key'])).KeyMetadata.Arn as string;
    const plan = planFor(source);
    const r = await run(source, backupCronJob({ ...plan, encryption: { algorithm: 'aws:kms', kmsKeyId: keyId } }));
    expect(r.status, explain(r)).toBe(0);
    const key = s3.keys(BUCKET, 'tenantdb/shop/orders-db/').pop()!;
    const head = JSON.parse(s3.aws(['s3api', 'head-object', '--bucket', BUCKET, '--key', key]));
    expect({ sse: head.ServerSideEncryption, key: head.SSEKMSKeyId }).toEqual({ sse: 'aws:kms', key: keyId });
  });

  it('retention deletes this tenant\'s backups older than retentionDays, keeps newer ones and never touches others', async () => {
    const prefix = 'tenantdb/shop/orders-db/';
    s3.put(BUCKET, `${prefix}20200101T000000Z.dump`, 'old');
    s3.put(BUCKET, `${prefix}20200601T120000Z.dump`, 'old');
    s3.put(BUCKET, `${prefix}notes.txt`, 'not a backup: never deleted');
    s3.put(BUCKET, `${prefix}20200101T000000Z.dump.keep/x`, 'deeper key: never deleted');
    s3.put(BUCKET, 'tenantdb/shop/orders-db-2/20200101T000000Z.dump', "another tenant's: never deleted");
    s3.put(BUCKET, 'tenantdb/other/orders-db/20200101T000000Z.dump', "another namespace's: never deleted");
    const before = s3.keys(BUCKET, prefix).filter((k) => /\/2026|\/202[7-9]/.test(k));
    const r = await run(source, backupCronJob(planFor(source, { backup: { retentionDays: 7 } })));
    expect(r.status, explain(r)).toBe(0);
    const after = s3.keys(BUCKET, prefix);
    expect(after).not.toContain(`${prefix}20200101T000000Z.dump`);
    expect(after).not.toContain(`${prefix}20200601T120000Z.dump`);
    expect(after).toEqual(expect.arrayContaining([...before, `${prefix}notes.txt`, `${prefix}20200101T000000Z.dump.keep/x`]));
    expect(after.filter((k) => k.endsWith('.dump'))).toHaveLength(before.length + 1);
    expect(s3.keys(BUCKET, 'tenantdb/shop/orders-db-2/')).toHaveLength(1);
    expect(s3.keys(BUCKET, 'tenantdb/other/')).toHaveLength(1);
    expect(r.stderr).toMatch(/2 old backups removed/);
  });

  it('retention never deletes the newest backup, even one dated after the run (a clock ahead elsewhere)', async () => {
    const prefix = 'tenantdb/shop/orders-db/';
    s3.put(BUCKET, `${prefix}20990101T000000Z.dump`, 'from a pod whose clock was ahead');
    const r = await run(source, backupCronJob(planFor(source, { backup: { retentionDays: 1 } })));
    expect(r.status, explain(r)).toBe(0);
    expect(s3.keys(BUCKET, prefix)).toContain(`${prefix}20990101T000000Z.dump`);
    // Clean up: later tests resolve latest.
    s3.aws(['s3', 'rm', `s3://${BUCKET}/${prefix}20990101T000000Z.dump`]);
  });

  it('a failing pg_dump fails the backup with its exit code and leaves no object behind', async () => {
    // A table the tenant cannot read: pg_dump, as the tenant, fails with "permission denied" half way.
    server.must(server.asAdmin(source.login().database), 'CREATE TABLE public.zz_not_yours (x int); INSERT INTO public.zz_not_yours VALUES (1);');
    const prefix = 'tenantdb/shop/orders-db/';
    const before = s3.keys(BUCKET, prefix);
    const term = join(dir, 'termination-dump');
    writeFileSync(term, '');
    try {
      const r = await run(source, backupCronJob(sourcePlan), { TERMINATION_LOG: term });
      expect(r.status, explain(r)).toBe(EXIT_CODES.DUMP_FAILED);
      expect(r.stderr).toMatch(/permission denied/);
      expect(r.stderr).toMatch(/pg_dump failed .*partial object was removed/);
      expect(s3.keys(BUCKET, prefix)).toEqual(before);
      expect(readFileSync(term, 'utf8')).toMatch(/^exit=12 /);
    } finally {
      server.must(server.asAdmin(source.login().database), 'DROP TABLE public.zz_not_yours;');
    }
  });

  it('a backup with a wrong password fails as DATABASE_UNREACHABLE, before anything is uploaded', async () => {
    const object = backupCronJob(sourcePlan)!;
    const container = containerOf(object);
    const env = podEnv(container, { ...source.secretData('secret'), password: 'wrong' }, 'orders-db-secret');
    const before = s3.keys(BUCKET, 'tenantdb/shop/orders-db/');
    const r = await runContainer(container, env);
    expect(r.status, explain(r)).toBe(EXIT_CODES.DATABASE_UNREACHABLE);
    expect(s3.keys(BUCKET, 'tenantdb/shop/orders-db/')).toEqual(before);
  });

  describe('restore', () => {
    let target: Tenant;
    let targetPlan: BackupPlan;
    beforeAll(() => {
      target = new Tenant(provider, example('claim', 'shop', 'orders-db-copy', { schemas: ['reporting'] }));
      target.converge();
      targetPlan = planFor(target, { restoreFrom: { backup: 'latest', name: 'orders-db' } });
    }, 120_000);

    it('the plan suspends the new tenant\'s backups until the restore has succeeded', () => {
      expect((backupCronJob(targetPlan) as Record<string, any>).spec.suspend).toBe(true);
      expect(restoreJob(targetPlan, ownerRole(target))).toBeDefined();
    });

    it('a named backup that does not exist is refused as BACKUP_NOT_FOUND, and nothing changes', async () => {
      const plan = planFor(target, { restoreFrom: { backup: '20000101T000000Z.dump', name: 'orders-db' } });
      const r = await run(target, restoreJob(plan, ownerRole(target)));
      expect(r.status, explain(r)).toBe(EXIT_CODES.BACKUP_NOT_FOUND);
      expect(server.must(target.login(), "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")).toEqual([['0']]);
    });

    it('latest from a tenant without backups is refused as BACKUP_NOT_FOUND', async () => {
      const plan = planFor(target, { restoreFrom: { backup: 'latest', name: 'never-backed-up' } });
      const r = await run(target, restoreJob(plan, ownerRole(target)));
      expect(r.status, explain(r)).toBe(EXIT_CODES.BACKUP_NOT_FOUND);
    });

    it('latest fills the new, empty tenant database, and the data matches (rows, view, function, sequence)', async () => {
      const term = join(dir, 'termination-restore');
      writeFileSync(term, '');
      const r = await run(target, restoreJob(targetPlan, ownerRole(target)), { TERMINATION_LOG: term });
      expect(r.status, explain(r)).toBe(0);
      expect(snapshot(target)).toEqual(snapshot(source));
      const newest = s3.keys(BUCKET, 'tenantdb/shop/orders-db/').filter((k) => /\d{8}T\d{6}Z\.dump$/.test(k)).pop();
      expect(readFileSync(term, 'utf8').trim()).toBe(`restored=${newest}`);
      // Everything restored belongs to the target's own role, and no grant names the source's roles.
      const owners = server.must(target.login(), "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace IN ('public'::regnamespace, 'reporting'::regnamespace)");
      expect(owners).toEqual([[target.login().user]]);
      const foreign = server.must(target.login(), `
        SELECT count(*) FROM information_schema.role_table_grants
        WHERE grantee = '${source.login().user}' OR grantee LIKE '${source.login().user}\\_%'`);
      expect(foreign).toEqual([['0']]);
      // The target's tenant role can go on writing.
      server.must(target.login(), "INSERT INTO public.orders (item, price) VALUES ('after restore', 1)");
    });

    it('run again (an XR whose status was lost composes the Job again), a restore finds its own data there: done, exit 0, nothing changed (reason: issue 24, a restore writes at most once)', async () => {
      const before = snapshot(target);
      const term = join(dir, 'termination-restore-again');
      writeFileSync(term, '');
      const r = await run(target, restoreJob(targetPlan, ownerRole(target)), { TERMINATION_LOG: term });
      expect(r.status, explain(r)).toBe(0);
      expect(r.stderr).toMatch(/already holds the restore of s3:\/\/\S+: nothing to do/);
      const newest = s3.keys(BUCKET, 'tenantdb/shop/orders-db/').filter((k) => /\d{8}T\d{6}Z\.dump$/.test(k)).pop();
      expect(readFileSync(term, 'utf8').trim()).toBe(`restored=${newest}`);
      expect(snapshot(target)).toEqual(before);
    });

    it('a database with data that another restore (another source, or another named backup) put there is refused as TARGET_NOT_EMPTY, and nothing changes', async () => {
      const before = snapshot(target);
      const named = planFor(target, { restoreFrom: { backup: '20000101T000000Z', name: 'orders-db' } });
      const r = await run(target, restoreJob(named, ownerRole(target)));
      expect(r.status, explain(r)).toBe(EXIT_CODES.TARGET_NOT_EMPTY);
      expect(r.stderr).toMatch(/refusing to restore into a database with data; nothing was changed/);
      expect(snapshot(target)).toEqual(before);
    });

    it('into an Alternating tenant (<name>-secret names <role>_la), everything restored belongs to the tenant role: the app reads and writes it through _la and then _lb, the reader reads it, and a backup afterwards succeeds (reason: issue 24, restored objects belong to the tenant role)', async () => {
      const alt = new Tenant(provider, example('claim', 'shop', 'orders-db-alternating', {
        schemas: ['reporting'], readOnlyRole: true, passwordRotation: { mode: 'Alternating', graceSeconds: 600 },
      }));
      alt.converge();
      const owner = ownerRole(alt);
      expect(alt.login().user, 'the restore runs as the login <name>-secret hands out').toBe(`${owner}_la`);
      const plan = planFor(alt, { restoreFrom: { backup: 'latest', name: 'orders-db' } });
      const r = await run(alt, restoreJob(plan, owner));
      expect(r.status, explain(r)).toBe(0);
      expect(snapshot(alt)).toEqual(snapshot(source));
      const owners = server.must(alt.login(), "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace IN ('public'::regnamespace, 'reporting'::regnamespace)");
      expect(owners).toEqual([[owner]]);
      server.must(alt.login(), "INSERT INTO public.orders (item, price) VALUES ('through _la', 1); UPDATE reporting.daily SET total = total + 1");

      // After the first switch's grace period: a rotation asked for inside it waits (issue 24).
      alt.now += 601_000;
      alt.patch({ spec: { passwordRotationTrigger: '2027-01-01T00:00:00Z' } });
      alt.converge();
      expect(alt.login().user, 'the Secret switches to the other login').toBe(`${owner}_lb`);
      server.must(alt.login(), "INSERT INTO public.orders (item, price) VALUES ('through _lb', 2); DELETE FROM reporting.daily WHERE day = '2026-01-01'");
      expect(server.must(alt.login('readonly-secret'), "SELECT count(*) FROM public.orders WHERE item LIKE 'through%'")).toEqual([['2']]);
      expect(server.psql(alt.login('readonly-secret'), "INSERT INTO public.orders (item) VALUES ('reader')").ok, 'the reader writes nothing').toBe(false);

      const backup = await run(alt, backupCronJob(planFor(alt)));
      expect(backup.status, `a backup as ${alt.login().user} dumps every table: ${explain(backup)}`).toBe(0);
    });

    it('one table alone is data enough to refuse', async () => {
      const other = new Tenant(provider, example('claim', 'shop', 'orders-db-third'));
      other.converge();
      server.must(other.login(), 'CREATE TABLE public.t (x int);');
      const plan = planFor(other, { restoreFrom: { backup: 'latest', name: 'orders-db' } });
      const r = await run(other, restoreJob(plan, ownerRole(other)));
      expect(r.status, explain(r)).toBe(EXIT_CODES.TARGET_NOT_EMPTY);
      expect(server.must(other.login(), 'SELECT count(*) FROM pg_class WHERE relname = \'orders\'')).toEqual([['0']]);
    });

    it('a restore that fails half way rolls back: the database is left empty, as it was', async () => {
      const other = new Tenant(provider, example('claim', 'shop', 'orders-db-fourth'));
      other.converge();
      // This claim lists no schema "reporting", so the archive's CREATE SCHEMA runs; with the database
      // made the admin's and CREATE revoked, it fails inside pg_restore's single transaction.
      const { database, user } = other.login();
      server.must(server.asAdmin(database), `
        ALTER DATABASE ${database} OWNER TO ${server.adminUser};
        REVOKE CREATE ON DATABASE ${database} FROM PUBLIC, ${user};
        GRANT CONNECT ON DATABASE ${database} TO ${user};
        GRANT USAGE, CREATE ON SCHEMA public TO ${user};`);
      const plan = planFor(other, { restoreFrom: { backup: 'latest', name: 'orders-db' } });
      const r = await run(other, restoreJob(plan, ownerRole(other)));
      expect(r.status, explain(r)).toBe(EXIT_CODES.RESTORE_FAILED);
      expect(r.stderr).toMatch(/rolled back/);
      expect(server.must(server.asAdmin(other.login().database), "SELECT count(*) FROM pg_class WHERE relname = 'orders'")).toEqual([['0']]);
    });
  });

  /**
   * moto enforcing IAM: each namespace's credentials are scoped to its own
   * prefix, as the IRSA policy in docs/backups.md scopes them (written out per
   * namespace). moto evaluates resource ARNs of object actions, but not
   * ListBucket's s3:prefix condition nor Pod Identity's ${aws:PrincipalTag/...}
   * variables, so here listing is allowed bucket-wide (listing shows names, never
   * data): proven is that one namespace's credentials can neither read nor write
   * nor delete another's dumps, whatever prefix a tampered Job names.
   */
  describe('isolation, with IAM enforced (moto)', () => {
    let iam: MotoServer;
    let billing: Tenant;
    let victim: Tenant;
    let shopKeys: Record<string, string>;
    let billingKeys: Record<string, string>;
    const policy = (namespace: string) => ({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 's3:List*', Resource: `arn:aws:s3:::${BUCKET}` },
        // s3:* on objects: moto 5.2 refuses HeadObject under s3:GetObject alone (AWS authorizes it as GetObject).
        { Effect: 'Allow', Action: 's3:*', Resource: `arn:aws:s3:::${BUCKET}/tenantdb/${namespace}/*` },
      ],
    });
    const billingPrefix = 'tenantdb/billing/ledger-db/';

    beforeAll(async () => {
      // Set-up calls before IAM is enforced: the bucket, then three users of three calls each.
      iam = await MotoServer.start(10);
      iam.aws(['s3api', 'create-bucket', '--bucket', BUCKET, '--create-bucket-configuration', 'LocationConstraint=eu-west-1']);
      iam.credentials = iam.user('admin', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
      shopKeys = iam.user('shop-backup', policy('shop'));
      billingKeys = iam.user('billing-backup', policy('billing'));
      billing = new Tenant(provider, example('claim', 'billing', 'ledger-db'));
      billing.converge();
      server.must(billing.login(), "CREATE TABLE ledger (id int); INSERT INTO ledger VALUES (42);");
      victim = new Tenant(provider, example('claim', 'shop', 'isolation-db'));
      victim.converge();
    }, 120_000);
    afterAll(() => iam?.stop());

    it('each namespace backs up under its own prefix with its own credentials', async () => {
      const r = await run(billing, backupCronJob(planFor(billing, {}, undefined, iam.url)), billingKeys);
      expect(r.status, explain(r)).toBe(0);
      expect(iam.keys(BUCKET, billingPrefix)).toHaveLength(1);
      const own = await run(source, backupCronJob(planFor(source, {}, undefined, iam.url)), shopKeys);
      expect(own.status, explain(own)).toBe(0);
    });

    it("another namespace's credentials cannot read its dumps: a named backup is not found, latest cannot be downloaded", async () => {
      const [key] = iam.keys(BUCKET, billingPrefix);
      const plan = planFor(victim, { restoreFrom: { backup: 'latest', name: 'isolation-db' } }, undefined, iam.url);
      // A tampered Job: the shop tenant's restore pointed at billing's prefix.
      const tampered = restoreJob({ ...plan, restore: { ...plan.restore!, sourcePrefix: billingPrefix, backup: key!.slice(billingPrefix.length) } }, ownerRole(victim)) as Record<string, any>;
      const container = containerOf(tampered);
      container.env = container.env.map((e: any) => (e.name === 'RESTORE_PREFIX' ? { name: e.name, value: billingPrefix } : e));
      const named = await run(victim, tampered, shopKeys);
      expect(named.status, explain(named)).toBe(EXIT_CODES.BACKUP_NOT_FOUND);
      container.env = container.env.map((e: any) => (e.name === 'RESTORE_BACKUP' ? { name: e.name, value: 'latest' } : e));
      const latest = await run(victim, tampered, shopKeys);
      expect(latest.status, explain(latest)).toBe(EXIT_CODES.DOWNLOAD_FAILED);
      expect(latest.stderr).toMatch(/Forbidden|AccessDenied/);
      expect(server.must(victim.login(), "SELECT count(*) FROM pg_class WHERE relname = 'ledger'")).toEqual([['0']]);
    });

    it("another namespace's credentials can neither write nor prune there", async () => {
      const before = iam.keys(BUCKET, billingPrefix);
      const plan = planFor(source, { backup: { retentionDays: 1 } }, undefined, iam.url);
      const tampered = backupCronJob(plan) as Record<string, any>;
      const container = containerOf(tampered);
      container.env = container.env.map((e: any) => (e.name === 'BACKUP_PREFIX' ? { name: e.name, value: billingPrefix } : e));
      const r = await run(source, tampered, shopKeys);
      expect(r.status, explain(r)).toBe(EXIT_CODES.UPLOAD_FAILED);
      expect(iam.keys(BUCKET, billingPrefix)).toEqual(before);
    });
  });
});
