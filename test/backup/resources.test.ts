/**
 * The rendered backup objects (CronJob, restore Job, ServiceAccount) and
 * what the function reads back from observed ones (status.backup, the
 * restore's outcome, readiness). Every hardening setting is asserted, and no
 * rendered object may hold a password.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/shared.js';
import {
  BACKUP_CRONJOB_KEY,
  BACKUP_SERVICEACCOUNT_KEY,
  backupCronJob,
  renderBackupResources,
  RESTORE_JOB_KEY,
  restoreJob,
  restorePodSelector,
} from '../../function/backup/resources.js';
import { BACKUP_SCRIPT, EXIT_CODE_MEANINGS, EXIT_CODES, NON_RETRYABLE_EXIT_CODES, RESTORE_SCRIPT } from '../../function/backup/scripts.js';
import { parseBackupInput, resolveBackup, type BackupPlan } from '../../function/backup/settings.js';
import { backupReadiness, backupStatus, restoreOutcome } from '../../function/backup/status.js';

function plan(platform: Record<string, unknown> = {}, claim: Record<string, unknown> = {}): BackupPlan {
  const parsed = parseBackupInput({
    enabled: true,
    image: 'ghcr.io/platform/tenantdb-backup:1.0.0',
    bucket: 'tenantdb-backups',
    region: 'eu-west-1',
    credentials: { mode: 'PodIdentity' },
    ...platform,
  });
  if ('error' in parsed) throw new Error(parsed.error);
  const r = resolveBackup({ namespace: 'shop', name: 'orders-db' }, claim, parsed.input);
  if (!('plan' in r) || !r.plan) throw new Error('no plan');
  return r.plan;
}

const RESTORE = { restoreFrom: { backup: 'latest', name: 'orders-db' } };
/** The tenant role the restore Job hands everything to (RESTORE_OWNER_ROLE). */
const OWNER = 'shop_orders_db_0123abcd';
type Obj = Record<string, any>;
const podSpec = (o: Obj) => (o.kind === 'CronJob' ? o.spec.jobTemplate.spec : o.spec).template.spec;

describe('renderBackupResources', () => {
  it('composes the ServiceAccount and the CronJob; the Job only for a restore; nothing when backups are off and no restore', () => {
    expect(Object.keys(renderBackupResources(plan(), OWNER))).toEqual([BACKUP_SERVICEACCOUNT_KEY, BACKUP_CRONJOB_KEY]);
    expect(Object.keys(renderBackupResources(plan({}, RESTORE), OWNER))).toEqual([BACKUP_SERVICEACCOUNT_KEY, BACKUP_CRONJOB_KEY, RESTORE_JOB_KEY]);
    expect(Object.keys(renderBackupResources(plan({}, { ...RESTORE, backup: { enabled: false } }), OWNER))).toEqual([BACKUP_SERVICEACCOUNT_KEY, RESTORE_JOB_KEY]);
    expect(renderBackupResources(plan({}, { backup: { enabled: false } }), OWNER)).toEqual({});
    expect(renderBackupResources(undefined, OWNER)).toEqual({});
  });

  it('is deterministic, byte for byte', () => {
    expect(JSON.stringify(renderBackupResources(plan({}, RESTORE), OWNER))).toBe(JSON.stringify(renderBackupResources(plan({}, RESTORE), OWNER)));
  });

  it('the CronJob: UTC schedule, Forbid, deadlines, history limits, suspended while a restore is pending', () => {
    const cronJob = backupCronJob(plan({ schedule: '30 2 * * *' }))!;
    expect(cronJob).toMatchObject({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'orders-db-backup', namespace: 'shop' },
      spec: {
        schedule: '30 2 * * *',
        timeZone: 'Etc/UTC',
        suspend: false,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: { spec: { backoffLimit: 2, activeDeadlineSeconds: 21600 } },
      },
    });
    expect((backupCronJob(plan({}, RESTORE)) as Obj).spec.suspend).toBe(true);
  });

  it.each<{ reason: string; object: () => Obj; container: string; script: string }>([
    { reason: 'backup CronJob', object: () => backupCronJob(plan())!, container: 'backup', script: BACKUP_SCRIPT },
    { reason: 'restore Job', object: () => restoreJob(plan({}, RESTORE), OWNER)!, container: 'restore', script: RESTORE_SCRIPT },
  ])('the $reason runs its inline script hardened, with the database settings only by secretKeyRef', ({ object, container, script }) => {
    const spec = podSpec(object());
    expect(spec).toMatchObject({
      serviceAccountName: 'orders-db-backup',
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
    });
    const [c, ...more] = spec.containers;
    expect(more).toEqual([]);
    expect(c).toMatchObject({
      name: container,
      image: 'ghcr.io/platform/tenantdb-backup:1.0.0',
      command: ['/bin/sh', '-c'],
      args: [script, `tenantdb-${container}`],
      resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      securityContext: { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    });
    const fromSecret = Object.fromEntries(c.env.filter((e: Obj) => e.valueFrom).map((e: Obj) => [e.name, e.valueFrom.secretKeyRef]));
    expect(fromSecret).toEqual({
      PGHOST: { name: 'orders-db-secret', key: 'endpoint' },
      PGPORT: { name: 'orders-db-secret', key: 'port' },
      PGUSER: { name: 'orders-db-secret', key: 'username' },
      PGPASSWORD: { name: 'orders-db-secret', key: 'password' },
      PGDATABASE: { name: 'orders-db-secret', key: 'database' },
    });
    expect(c.env.find((e: Obj) => e.name === 'PGPASSWORD').value).toBeUndefined();
  });

  it('the Job fails at once on exit codes no retry can fix, and ignores disruptions', () => {
    const policy = (restoreJob(plan({}, RESTORE), OWNER) as Obj).spec.podFailurePolicy;
    expect(policy.rules[0]).toEqual({ action: 'FailJob', onExitCodes: { containerName: 'restore', operator: 'In', values: NON_RETRYABLE_EXIT_CODES } });
    expect(NON_RETRYABLE_EXIT_CODES).toEqual(expect.arrayContaining([EXIT_CODES.TARGET_NOT_EMPTY, EXIT_CODES.BACKUP_NOT_FOUND, EXIT_CODES.CONFIG]));
    expect(NON_RETRYABLE_EXIT_CODES).not.toContain(EXIT_CODES.DATABASE_UNREACHABLE);
    expect(policy.rules[1]).toEqual({ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] });
    expect((restoreJob(plan({}, RESTORE), OWNER) as Obj).spec.ttlSecondsAfterFinished).toBeUndefined();
  });

  it.each<{ reason: string; platform: Record<string, unknown>; env: Record<string, string>; absent: string[] }>([
    {
      reason: 'AES256 by default, AWS endpoints',
      platform: {},
      env: { BACKUP_BUCKET: 'tenantdb-backups', BACKUP_PREFIX: 'tenantdb/shop/orders-db/', BACKUP_SSE: 'AES256', AWS_REGION: 'eu-west-1', PGSSLMODE: 'require' },
      absent: ['BACKUP_SSE_KMS_KEY_ID', 'AWS_ENDPOINT_URL'],
    },
    {
      reason: 'KMS with a key, an S3-compatible endpoint',
      platform: { serverSideEncryption: { algorithm: 'aws:kms', kmsKeyId: 'alias/backups' }, endpointUrl: 'http://minio:9000' },
      env: { BACKUP_SSE: 'aws:kms', BACKUP_SSE_KMS_KEY_ID: 'alias/backups', AWS_ENDPOINT_URL: 'http://minio:9000' },
      absent: [],
    },
  ])('backup settings reach the script as env: $reason', ({ platform, env, absent }) => {
    const c = podSpec(backupCronJob(plan(platform))!).containers[0];
    const values = Object.fromEntries(c.env.filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]));
    expect(values).toMatchObject(env);
    for (const name of absent) expect(values).not.toHaveProperty(name);
  });

  it('the restore reads the source tenant\'s prefix and the backup asked for', () => {
    const c = podSpec(restoreJob(plan({}, { restoreFrom: { backup: '20261204T020000Z.dump', name: 'old-db' } }), OWNER)!).containers[0];
    const values = Object.fromEntries(c.env.filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]));
    expect(values).toMatchObject({ RESTORE_BUCKET: 'tenantdb-backups', RESTORE_PREFIX: 'tenantdb/shop/old-db/', RESTORE_BACKUP: '20261204T020000Z.dump' });
  });

  it.each<{ reason: string; credentials: Record<string, unknown>; annotations?: Record<string, string> }>([
    {
      reason: 'IRSA: the role ARN of the tenant\'s namespace on the ServiceAccount',
      credentials: { mode: 'IRSA', roleArnTemplate: 'arn:aws:iam::123456789012:role/tenantdb-backup-{namespace}' },
      annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/tenantdb-backup-shop' },
    },
    { reason: 'Pod Identity: a plain ServiceAccount (the association lives in EKS)', credentials: { mode: 'PodIdentity' } },
  ])('$reason', ({ credentials, annotations }) => {
    const sa = renderBackupResources(plan({ credentials }), OWNER)[BACKUP_SERVICEACCOUNT_KEY]!;
    expect(sa).toMatchObject({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'orders-db-backup', namespace: 'shop' }, automountServiceAccountToken: false });
    expect((sa.metadata as Obj).annotations).toEqual(annotations);
  });

  it('asks for the restore pods by the Job controller\'s label', () => {
    expect(restorePodSelector(plan({}, RESTORE))).toEqual({ namespace: 'shop', matchLabels: { 'batch.kubernetes.io/job-name': 'orders-db-restore' } });
  });
});

describe('status from observed objects', () => {
  it('status.backup carries the settings and the CronJob\'s times, and ignores what is not a time', () => {
    const p = plan({ schedule: '0 3 * * *' });
    expect(backupStatus(p, { status: { lastScheduleTime: '2026-12-05T03:00:00Z', lastSuccessfulTime: '2026-12-05T03:02:11Z' } })).toEqual({
      enabled: true,
      schedule: '0 3 * * *',
      retentionDays: 14,
      location: 's3://tenantdb-backups/tenantdb/shop/orders-db/',
      lastScheduleTime: '2026-12-05T03:00:00Z',
      lastSuccessfulTime: '2026-12-05T03:02:11Z',
    });
    expect(backupStatus(p, { status: { lastScheduleTime: 42, lastSuccessfulTime: 'yesterday' } })).not.toHaveProperty('lastScheduleTime');
    expect(backupStatus(undefined)).toEqual({ enabled: false });
    expect(backupStatus(plan({}, { backup: { enabled: false } }))).toEqual({ enabled: false, location: 's3://tenantdb-backups/tenantdb/shop/orders-db/' });
    expect(backupStatus(plan({}, RESTORE))).toMatchObject({ suspended: true });
  });

  const job = (conditions: Obj[], extra: Obj = {}) => ({ status: { conditions, ...extra } });
  const failedWith = (code: number) =>
    job([{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy', message: `Container restore for pod shop/orders-db-restore-x1 failed with exit code ${code} matching FailJob rule at index 0` }]);

  it.each<{ reason: string; observed?: Obj; pods?: Obj[]; state: string; expect: Obj }>([
    { reason: 'no Job yet', state: 'Pending', expect: { message: expect.stringMatching(/waiting for the restore Job orders-db-restore/) } },
    { reason: 'running', observed: job([]), state: 'Running', expect: {} },
    {
      reason: 'complete: restoredFrom, with the key latest resolved to from the pod',
      observed: job([{ type: 'Complete', status: 'True' }], { completionTime: '2026-12-05T10:00:00Z' }),
      pods: [{ status: { containerStatuses: [{ name: 'restore', state: { terminated: { exitCode: 0, message: 'restored=tenantdb/shop/orders-db/20261204T020000Z.dump\n' } } }] } }],
      state: 'Succeeded',
      expect: {
        restoredFrom: {
          backup: 'latest',
          namespace: 'shop',
          name: 'orders-db',
          location: 's3://tenantdb-backups/tenantdb/shop/orders-db/',
          key: '20261204T020000Z.dump',
          completionTime: '2026-12-05T10:00:00Z',
        },
      },
    },
    { reason: 'refused: the target has data', observed: failedWith(21), state: 'Failed', expect: { reason: 'TargetNotEmpty', exitCode: 21, message: expect.stringMatching(/already holds data.*exit code 21.*kubectl -n shop logs job\/orders-db-restore/) } },
    { reason: 'no such backup', observed: failedWith(20), state: 'Failed', expect: { reason: 'BackupNotFound', exitCode: 20 } },
    {
      reason: 'retried until the backoff limit: the exit code from the pods',
      observed: job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }]),
      pods: [{ status: { containerStatuses: [{ name: 'restore', state: { terminated: { exitCode: 11 } } }] } }],
      state: 'Failed',
      expect: { reason: 'DatabaseUnreachable', exitCode: 11 },
    },
    {
      reason: 'deadline',
      observed: job([{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }]),
      state: 'Failed',
      expect: { reason: 'RestoreDeadlineExceeded', message: expect.stringMatching(/did not finish within 21600 seconds/) },
    },
  ])('restore outcome: $reason', ({ observed, pods, state, expect: want }) => {
    const outcome = restoreOutcome(plan({}, RESTORE), observed, pods);
    expect(outcome).toMatchObject({ state, ...want });
  });

  it('no restore, no outcome; readiness: the Job is ready once complete, the others once they exist', () => {
    expect(restoreOutcome(plan(), {})).toBeUndefined();
    const p = plan({}, RESTORE);
    expect(backupReadiness(BACKUP_CRONJOB_KEY, p, { status: {} })).toEqual({ ready: true });
    expect(backupReadiness(BACKUP_SERVICEACCOUNT_KEY, p, undefined).ready).toBe(false);
    expect(backupReadiness(RESTORE_JOB_KEY, p, job([]))).toMatchObject({ ready: false, message: expect.stringMatching(/running/) });
    expect(backupReadiness(RESTORE_JOB_KEY, p, job([{ type: 'Complete', status: 'True' }]))).toEqual({ ready: true });
  });
});

describe('no secret anywhere', () => {
  it('no rendered object carries a password, a secret value or a PGPASSWORD value', () => {
    const text = JSON.stringify(renderBackupResources(plan({}, RESTORE), OWNER));
    expect(text).not.toMatch(/"PGPASSWORD","value"/);
    expect(text).not.toMatch(/password=|PGPASSWORD=/);
  });

  it('the scripts never trace (set -x) and never print PGPASSWORD', () => {
    for (const script of [BACKUP_SCRIPT, RESTORE_SCRIPT]) {
      expect(script).not.toMatch(/set -[a-z]*x/);
      expect(script).not.toMatch(/\$\{?PGPASSWORD\}?[^:]/);
    }
  });
});

describe('docs/backups.md', () => {
  it('lists every exit code with its name and whether it is retried (reason: app teams read the table, not the code)', () => {
    const doc = readFileSync(repoPath('docs/backups.md'), 'utf8');
    for (const [code, { name, retry }] of Object.entries(EXIT_CODE_MEANINGS)) {
      expect(doc).toMatch(new RegExp(`\\| ${code} \\| ${name} \\| [^|]+ \\| ${retry ? 'yes' : 'no'} \\|`));
    }
  });
});
