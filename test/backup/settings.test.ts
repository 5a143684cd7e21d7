/**
 * Backup settings: the platform input (parseBackupInput), the claim's
 * spec.backup / spec.restoreFrom resolved against it (resolveBackup), cron
 * checks and the per-tenant spread of the platform's default schedule. Every
 * refusal names the field the author has to change.
 */
import { describe, expect, it } from 'vitest';
import { cronProblem, spreadSchedule } from '../../function/backup/cron.js';
import {
  backupSpecSchema,
  kubeName,
  parseBackupInput,
  resolveBackup,
  restoreFromSpecSchema,
  type BackupClaim,
  type BackupInput,
} from '../../function/backup/settings.js';
import { compileSchema } from '../../function/validation.js';

const PLATFORM = {
  enabled: true,
  image: 'registry.example.com/platform/tenantdb-backup:1.0.0',
  bucket: 'tenantdb-backups',
  region: 'eu-west-1',
  credentials: { mode: 'IRSA', roleArnTemplate: 'arn:aws:iam::111122223333:role/tenantdb-backup-{namespace}' },
};

function input(patch: Record<string, unknown> = PLATFORM): BackupInput {
  const parsed = parseBackupInput(patch);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.input;
}

const TENANT = { namespace: 'shop', name: 'orders-db' };

describe('parseBackupInput', () => {
  it('defaults: backups off, and nothing else required while off', () => {
    const off = input({});
    expect(off).toMatchObject({
      enabled: false,
      defaultEnabled: true,
      prefix: 'tenantdb',
      schedule: 'H H(1-5) * * *',
      retentionDays: 14,
      serverSideEncryption: { algorithm: 'AES256' },
      resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
    });
  });

  it.each<{ reason: string; patch: Record<string, unknown>; error: RegExp }>([
    { reason: 'backups on need a bucket', patch: { ...PLATFORM, bucket: undefined }, error: /^input\.backup\.bucket: is required while backups are on/ },
    { reason: 'backups on need an image', patch: { ...PLATFORM, image: undefined }, error: /^input\.backup\.image: is required/ },
    { reason: 'backups on need a region', patch: { ...PLATFORM, region: undefined }, error: /^input\.backup\.region: is required/ },
    { reason: 'the credentials mode is a deliberate choice', patch: { ...PLATFORM, credentials: {} }, error: /^input\.backup\.credentials\.mode: is required .*IRSA or PodIdentity/ },
    { reason: 'IRSA needs a role', patch: { ...PLATFORM, credentials: { mode: 'IRSA' } }, error: /roleArnTemplate: is required with mode IRSA/ },
    {
      reason: 'one role for every namespace would let tenants read each other\'s dumps',
      patch: { ...PLATFORM, credentials: { mode: 'IRSA', roleArnTemplate: 'arn:aws:iam::111122223333:role/tenantdb-backup' } },
      error: /roleArnTemplate: must contain \{namespace\}/,
    },
    {
      reason: 'unknown placeholders are typos',
      patch: { ...PLATFORM, credentials: { mode: 'IRSA', roleArnTemplate: 'arn:aws:iam::111122223333:role/b-{namespace}-{tenant}' } },
      error: /unknown placeholder \{tenant\}/,
    },
    {
      reason: 'a role ARN with Pod Identity would be silently ignored',
      patch: { ...PLATFORM, credentials: { mode: 'PodIdentity', roleArnTemplate: 'arn:aws:iam::111122223333:role/x-{namespace}' } },
      error: /roleArnTemplate: is used only with mode IRSA/,
    },
    { reason: 'a KMS key needs aws:kms', patch: { ...PLATFORM, serverSideEncryption: { kmsKeyId: 'alias/backups' } }, error: /kmsKeyId: is used only with algorithm aws:kms/ },
    { reason: 'a typo is refused, not ignored', patch: { ...PLATFORM, buckett: 'x' }, error: /^input\.backup: unknown field "buckett"/ },
    { reason: 'bucket names follow S3', patch: { ...PLATFORM, bucket: 'Tenant_Backups' }, error: /^input\.backup\.bucket: must match/ },
    { reason: 'a prefix never starts or ends with /', patch: { ...PLATFORM, prefix: '/tenantdb/' }, error: /^input\.backup\.prefix: must match/ },
    { reason: 'the default schedule is checked too', patch: { ...PLATFORM, schedule: 'H * * *' }, error: /^input\.backup\.schedule: must be 5 fields/ },
    { reason: 'H only in minute and hour', patch: { ...PLATFORM, schedule: '0 1 H * *' }, error: /H may appear only in the minute and hour fields/ },
    { reason: 'the default retention within the maximum', patch: { ...PLATFORM, retentionDays: 400 }, error: /retentionDays: 400 is more than maxRetentionDays \(365\)/ },
    { reason: 'quantities are Kubernetes quantities', patch: { ...PLATFORM, resources: { limits: { memory: '1 GB' } } }, error: /resources\.limits\.memory: must match/ },
  ])('refuses: $reason', ({ patch, error }) => {
    const parsed = parseBackupInput(patch);
    expect('error' in parsed && parsed.error).toMatch(error);
  });

  it('accepts PodIdentity, aws:kms with a key, an endpoint and an empty prefix', () => {
    expect(
      input({
        ...PLATFORM,
        prefix: '',
        endpointUrl: 'http://minio.backup.svc:9000',
        credentials: { mode: 'PodIdentity' },
        serverSideEncryption: { algorithm: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/abc' },
      }),
    ).toMatchObject({ prefix: '', credentials: { mode: 'PodIdentity' } });
  });
});

describe('cron', () => {
  it.each<{ reason: string; cron: string; problem?: RegExp }>([
    { reason: 'daily at 02:30', cron: '30 2 * * *' },
    { reason: 'lists, ranges, steps and names', cron: '0 */6,23 1-15 JAN-jun mon-fri' },
    { reason: 'day of week 0-6 only (robfig/cron v3)', cron: '0 1 * * 7', problem: /7 is out of range for the day of week field \(0-6\)/ },
    { reason: 'six fields (seconds) are not cron here', cron: '0 0 1 * * *', problem: /must be 5 fields .*got 6 fields/ },
    { reason: 'descriptors are not taken', cron: '@daily', problem: /descriptors such as @daily/ },
    { reason: 'a time zone is fixed to UTC', cron: 'TZ=Europe/Paris 0 1 * * *', problem: /TZ= prefixes/ },
    { reason: 'at most once an hour: every run is a pod and a full pg_dump', cron: '*/5 * * * *', problem: /minute field must be a single minute/ },
    { reason: 'out of range', cron: '60 1 * * *', problem: /60 is out of range for the minute field/ },
    { reason: 'backwards ranges', cron: '0 5-1 * * *', problem: /runs backwards/ },
    { reason: 'zero step', cron: '0 */0 * * *', problem: /step "\/0"/ },
    { reason: 'garbage', cron: '0 1 * * x', problem: /"x" in the day of week field is not a number or name/ },
  ])('$reason: $cron', ({ cron, problem }) => {
    const found = cronProblem(cron);
    if (problem) expect(found).toMatch(problem);
    else expect(found).toBeUndefined();
  });

  it('H spreads tenants over the window, stably, and differs between tenants', () => {
    const a = spreadSchedule('H H(1-5) * * *', 'shop', 'orders-db');
    expect(a).toEqual(spreadSchedule('H H(1-5) * * *', 'shop', 'orders-db'));
    const crons = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const r = spreadSchedule('H H(1-5) * * *', 'ns', `db-${i}`);
      if (!('cron' in r)) throw new Error(r.problem);
      const [m, h] = r.cron.split(' ').map(Number);
      expect(m).toBeGreaterThanOrEqual(0);
      expect(m).toBeLessThanOrEqual(59);
      expect(h).toBeGreaterThanOrEqual(1);
      expect(h).toBeLessThanOrEqual(5);
      crons.add(r.cron);
    }
    expect(crons.size).toBeGreaterThan(100);
  });
});

describe('resolveBackup', () => {
  const on = input();
  const off = input({});

  it.each<{ reason: string; claim: BackupClaim; platform?: BackupInput; kind: string; message: RegExp }>([
    {
      reason: 'asking for backups on a platform without them, like secretsManager.enabled',
      claim: { backup: { enabled: true } },
      platform: off,
      kind: 'NotAllowed',
      message: /^spec\.backup\.enabled: this platform takes no backups \(function input backup\.enabled is false\); remove the field or set it to false$/,
    },
    { reason: 'a schedule is asking for backups too', claim: { backup: { schedule: '0 1 * * *' } }, platform: off, kind: 'NotAllowed', message: /^spec\.backup\.schedule: this platform takes no backups/ },
    { reason: 'nothing to restore from without backups', claim: { restoreFrom: { backup: 'latest', name: 'x' } }, platform: off, kind: 'NotAllowed', message: /^spec\.restoreFrom: this platform takes no backups/ },
    { reason: 'a bad schedule names the field', claim: { backup: { schedule: '0 25 * * *' } }, kind: 'InvalidSpec', message: /^spec\.backup\.schedule: 25 is out of range for the hour field/ },
    { reason: 'a retention past the platform\'s maximum', claim: { backup: { retentionDays: 1000 } }, kind: 'NotAllowed', message: /^spec\.backup\.retentionDays: 1000 is more than this platform keeps backups \(at most 365 days\)/ },
    { reason: 'a retention under a day', claim: { backup: { retentionDays: 0 } }, kind: 'InvalidSpec', message: /^spec\.backup\.retentionDays: must be a whole number/ },
    {
      reason: 'restores only from the own namespace: no tenant reads another namespace\'s dumps',
      claim: { restoreFrom: { backup: 'latest', namespace: 'billing', name: 'orders-db' } },
      kind: 'NotAllowed',
      message: /^spec\.restoreFrom\.namespace: a TenantDatabase may restore only from backups of a tenant in its own namespace \(shop\)/,
    },
    { reason: 'a backup name must be latest or a stamp', claim: { restoreFrom: { backup: '../other/x.dump', name: 'orders-db' } }, kind: 'InvalidSpec', message: /^spec\.restoreFrom\.backup: must be latest or a backup name/ },
    { reason: 'a source name must be a Kubernetes name', claim: { restoreFrom: { backup: 'latest', name: 'Orders/../x' } }, kind: 'InvalidSpec', message: /^spec\.restoreFrom\.name: / },
    {
      reason: 'a broken platform input is the platform\'s problem, not the claim\'s',
      claim: {},
      platform: { ...on, credentials: { mode: 'IRSA' } },
      kind: 'InvalidFunctionInput',
      message: /^input\.backup\.credentials\.roleArnTemplate: is required with mode IRSA/,
    },
  ])('refuses: $reason', ({ claim, platform, kind, message }) => {
    const r = resolveBackup(TENANT, claim, platform ?? on);
    expect('refusal' in r && r.refusal.reason).toBe(kind);
    expect('refusal' in r && r.refusal.message).toMatch(message);
  });

  it('a platform without backups composes nothing for a claim that does not ask, or says no', () => {
    expect(resolveBackup(TENANT, {}, off)).toEqual({ plan: undefined });
    expect(resolveBackup(TENANT, { backup: { enabled: false, schedule: '0 1 * * *' } }, off)).toEqual({ plan: undefined });
  });

  it('the platform\'s defaults, the tenant\'s own prefix and IRSA role', () => {
    const r = resolveBackup(TENANT, {}, on, { sslMode: 'verify-full' });
    if (!('plan' in r) || !r.plan) throw new Error('no plan');
    expect(r.plan).toMatchObject({
      namespace: 'shop',
      name: 'orders-db',
      objects: { serviceAccount: 'orders-db-backup', cronJob: 'orders-db-backup', restoreJob: 'orders-db-restore', credentialsSecret: 'orders-db-secret' },
      sslMode: 'verify-full',
      tenantPrefix: 'tenantdb/shop/orders-db/',
      location: 's3://tenantdb-backups/tenantdb/shop/orders-db/',
      credentials: { mode: 'IRSA', roleArn: 'arn:aws:iam::111122223333:role/tenantdb-backup-shop' },
      schedule: { retentionDays: 14, suspended: false },
    });
    expect(r.plan.schedule!.cron).toMatch(/^\d{1,2} [1-5] \* \* \*$/);
    expect(r.plan.restore).toBeUndefined();
  });

  it('the claim\'s own schedule and retention win; enabled: false leaves no schedule', () => {
    const r = resolveBackup(TENANT, { backup: { schedule: ' 15  3 * * 1 ', retentionDays: 30 } }, on);
    expect('plan' in r && r.plan?.schedule).toEqual({ cron: '15 3 * * 1', retentionDays: 30, suspended: false });
    const none = resolveBackup(TENANT, { backup: { enabled: false } }, on);
    expect('plan' in none && none.plan?.schedule).toBeUndefined();
    const optIn = resolveBackup(TENANT, { backup: { enabled: true } }, { ...on, defaultEnabled: false });
    expect('plan' in optIn && optIn.plan?.schedule).toBeDefined();
  });

  it('an empty prefix puts the tenant at the bucket\'s top', () => {
    const r = resolveBackup(TENANT, {}, { ...on, prefix: '' });
    expect('plan' in r && r.plan?.location).toBe('s3://tenantdb-backups/shop/orders-db/');
  });

  it('a restore is planned from the same namespace and suspends backups until status.restoredFrom records it', () => {
    const claim = { restoreFrom: { backup: 'latest', name: 'orders-db' } };
    const pending = resolveBackup(TENANT, claim, on);
    if (!('plan' in pending) || !pending.plan) throw new Error('no plan');
    expect(pending.plan.restore).toEqual({
      backup: 'latest',
      source: { namespace: 'shop', name: 'orders-db' },
      sourcePrefix: 'tenantdb/shop/orders-db/',
      sourceLocation: 's3://tenantdb-backups/tenantdb/shop/orders-db/',
    });
    expect(pending.plan.schedule?.suspended).toBe(true);
    const done = resolveBackup(TENANT, claim, on, {
      observedRestoredFrom: { backup: 'latest', namespace: 'shop', name: 'orders-db', location: 's3://tenantdb-backups/tenantdb/shop/orders-db/' },
    });
    if (!('plan' in done) || !done.plan) throw new Error('no plan');
    expect(done.plan.restore).toBeUndefined();
    expect(done.plan.schedule?.suspended).toBe(false);
  });

  it('is deterministic: the same arguments give the same plan', () => {
    const claim = { backup: { retentionDays: 3 }, restoreFrom: { backup: '20261204T020000Z.dump', name: 'old-db' } };
    expect(JSON.stringify(resolveBackup(TENANT, claim, on))).toBe(JSON.stringify(resolveBackup(TENANT, claim, on)));
  });

  it('long names are cut with a hash: CronJobs within 52 characters, the rest within 63, all distinct', () => {
    const long = 'a'.repeat(60);
    const r = resolveBackup({ namespace: 'shop', name: long }, {}, on);
    if (!('plan' in r) || !r.plan) throw new Error('no plan');
    expect(r.plan.objects.cronJob.length).toBeLessThanOrEqual(52);
    expect(r.plan.objects.restoreJob.length).toBeLessThanOrEqual(63);
    expect(r.plan.objects.serviceAccount.length).toBeLessThanOrEqual(63);
    expect(kubeName(long, 'backup', 52)).not.toBe(kubeName(`${long}b`, 'backup', 52));
    expect(r.plan.tenantPrefix).toBe(`tenantdb/shop/${long}/`);
  });
});

describe('claim schema fragments', () => {
  const validate = compileSchema<Record<string, unknown>>(
    { type: 'object', properties: { backup: backupSpecSchema, restoreFrom: restoreFromSpecSchema } },
    'spec',
    'prune',
  );
  it.each<{ reason: string; spec: Record<string, unknown>; error?: RegExp }>([
    { reason: 'a full backup block', spec: { backup: { enabled: true, schedule: '0 2 * * *', retentionDays: 7 } } },
    { reason: 'a restore from latest', spec: { restoreFrom: { backup: 'latest', name: 'orders-db' } } },
    { reason: 'retention at least a day', spec: { backup: { retentionDays: 0 } }, error: /^spec\.backup\.retentionDays: must be >= 1/ },
    { reason: 'a restore names its backup', spec: { restoreFrom: { name: 'orders-db' } }, error: /^spec\.restoreFrom\.backup: is required/ },
    { reason: 'a restore names its tenant', spec: { restoreFrom: { backup: 'latest' } }, error: /^spec\.restoreFrom\.name: is required/ },
    { reason: 'no key paths as backup names', spec: { restoreFrom: { backup: 'tenantdb/x/y/20260101T000000Z.dump', name: 'y' } }, error: /^spec\.restoreFrom\.backup: must match/ },
  ])('$reason', ({ spec, error }) => {
    const r = validate(spec);
    if (error) expect('error' in r && r.error).toMatch(error);
    else expect('value' in r).toBe(true);
  });
});
