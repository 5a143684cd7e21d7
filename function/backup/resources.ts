/**
 * The Kubernetes objects of a tenant's backups, rendered from a BackupPlan:
 * a ServiceAccount (the AWS identity of the backup pods, and of no other pod),
 * a batch/v1 CronJob that runs scripts.ts BACKUP_SCRIPT, and, for a restore,
 * a batch/v1 Job that runs RESTORE_SCRIPT once. All in the tenant's namespace.
 *
 * Pure and deterministic: the same plan gives the same objects, key order
 * included. The pods get the database settings only by secretKeyRef from
 * `<name>-secret` (the password never appears in the spec), run as non-root
 * with a read-only root filesystem (/tmp an emptyDir), no privilege
 * escalation, no capabilities, the runtime's default seccomp profile, and no
 * Kubernetes API token (they need none; IRSA and Pod Identity mount their own).
 *
 * Exit codes the scripts use for failures no retry can fix fail the Job at
 * once (podFailurePolicy FailJob), which also writes the exit code into the
 * Job's Failed condition, where status.ts restoreOutcome() reads it.
 */
import type { KubeObject } from '../resources/managed.js';
import type { BackupPlan } from './plan.js';
import { BACKUP_ENV, BACKUP_SCRIPT, NON_RETRYABLE_EXIT_CODES, RESTORE_ENV, RESTORE_SCRIPT } from './scripts.js';

export type { BackupPlan, RestorePlan } from './plan.js';

/** Composed-resource keys (names in the function's desired resources). */
export const BACKUP_SERVICEACCOUNT_KEY = 'backup-serviceaccount';
export const BACKUP_CRONJOB_KEY = 'backup-cronjob';
export const RESTORE_JOB_KEY = 'restore-job';

export const BACKUP_CONTAINER = 'backup';
export const RESTORE_CONTAINER = 'restore';

/** The user the pods run as; backup/Dockerfile creates it with this uid and gid. */
export const RUN_AS_USER = 10001;
export const IRSA_ANNOTATION = 'eks.amazonaws.com/role-arn';
/** The label the Job controller puts on a Job's pods (Kubernetes 1.27+), to ask for the restore pods. */
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';

/** Finished backup Jobs (and their pods, with their logs) kept for looking into. */
const SUCCESSFUL_JOBS_HISTORY = 3;
const FAILED_JOBS_HISTORY = 3;
/** Retries of a failure that a retry may fix (a network blip); the others fail at once. */
const BACKOFF_LIMIT = 2;
/** /tmp holds the restore's table of contents and the AWS CLI's cache, never a dump. */
const TMP_SIZE_LIMIT = '64Mi';

function labels(component: 'backup' | 'restore'): Record<string, string> {
  return {
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/managed-by': 'crossplane',
    'app.kubernetes.io/name': 'tenantdb-backup',
    'app.kubernetes.io/part-of': 'tenantdb',
  };
}

const secretEnv = (plan: BackupPlan, name: string, key: string) => ({
  name,
  valueFrom: { secretKeyRef: { name: plan.objects.credentialsSecret, key } },
});
const env = (name: string, value: string) => ({ name, value });

/** What both pods need: libpq's variables (from the Secret), the AWS CLI's, a writable HOME. */
function commonEnv(plan: BackupPlan, component: 'backup' | 'restore'): Record<string, unknown>[] {
  return [
    secretEnv(plan, 'PGHOST', 'endpoint'),
    secretEnv(plan, 'PGPORT', 'port'),
    secretEnv(plan, 'PGUSER', 'username'),
    secretEnv(plan, 'PGPASSWORD', 'password'),
    secretEnv(plan, 'PGDATABASE', 'database'),
    env('PGSSLMODE', plan.sslMode),
    env('PGCONNECT_TIMEOUT', '30'),
    // Shows in pg_stat_activity, so that a DBA sees what is dumping.
    env('PGAPPNAME', `tenantdb-${component}`),
    env('AWS_REGION', plan.region),
    env('AWS_DEFAULT_REGION', plan.region),
    env('AWS_RETRY_MODE', 'standard'),
    env('AWS_MAX_ATTEMPTS', '5'),
    ...(plan.endpointUrl ? [env('AWS_ENDPOINT_URL', plan.endpointUrl)] : []),
    // The root filesystem is read-only: the AWS CLI writes its cache under HOME.
    env('HOME', '/tmp'),
    env('TMPDIR', '/tmp'),
  ];
}

function podFailurePolicy(container: string): Record<string, unknown> {
  return {
    rules: [
      { action: 'FailJob', onExitCodes: { containerName: container, operator: 'In', values: NON_RETRYABLE_EXIT_CODES } },
      // A node drained or a pod preempted is no failure of the backup.
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ],
  };
}

function podTemplate(plan: BackupPlan, component: 'backup' | 'restore', container: string, script: string, extraEnv: Record<string, unknown>[]) {
  const resources: Record<string, Record<string, string>> = {};
  for (const kind of ['requests', 'limits'] as const) {
    const q = plan.resources[kind];
    const out: Record<string, string> = {};
    if (q.cpu) out.cpu = q.cpu;
    if (q.memory) out.memory = q.memory;
    if (Object.keys(out).length) resources[kind] = out;
  }
  return {
    metadata: { labels: labels(component) },
    spec: {
      serviceAccountName: plan.objects.serviceAccount,
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      securityContext: {
        runAsNonRoot: true,
        runAsUser: RUN_AS_USER,
        runAsGroup: RUN_AS_USER,
        // Makes IRSA's and Pod Identity's projected token readable by the non-root user.
        fsGroup: RUN_AS_USER,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: container,
          image: plan.image,
          imagePullPolicy: plan.imagePullPolicy,
          // $0 names the script in its messages; the script itself is the -c argument, not a file in the image.
          command: ['/bin/sh', '-c'],
          args: [script, `tenantdb-${component}`],
          env: [...commonEnv(plan, component), ...extraEnv],
          resources,
          securityContext: {
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            capabilities: { drop: ['ALL'] },
          },
          // The script writes its result (or its error) to the termination message.
          terminationMessagePolicy: 'FallbackToLogsOnError',
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: TMP_SIZE_LIMIT } }],
    },
  };
}

/** The tenant's backup ServiceAccount: IRSA's role annotation, or plain for EKS Pod Identity. */
export function backupServiceAccount(plan: BackupPlan): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name: plan.objects.serviceAccount,
      namespace: plan.namespace,
      labels: labels('backup'),
      ...(plan.credentials.mode === 'IRSA' ? { annotations: { [IRSA_ANNOTATION]: plan.credentials.roleArn } } : {}),
    },
    automountServiceAccountToken: false,
  };
}

/** The scheduled backup; undefined when the plan has no schedule. */
export function backupCronJob(plan: BackupPlan): KubeObject | undefined {
  const schedule = plan.schedule;
  if (!schedule) return undefined;
  const backupEnv = [
    env(BACKUP_ENV.bucket, plan.bucket),
    env(BACKUP_ENV.prefix, plan.tenantPrefix),
    env(BACKUP_ENV.retentionDays, String(schedule.retentionDays)),
    env(BACKUP_ENV.sse, plan.encryption.algorithm),
    ...(plan.encryption.kmsKeyId ? [env(BACKUP_ENV.sseKmsKeyId, plan.encryption.kmsKeyId)] : []),
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: plan.objects.cronJob, namespace: plan.namespace, labels: labels('backup') },
    spec: {
      schedule: schedule.cron,
      timeZone: 'Etc/UTC',
      suspend: schedule.suspended,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: plan.startingDeadlineSeconds,
      successfulJobsHistoryLimit: SUCCESSFUL_JOBS_HISTORY,
      failedJobsHistoryLimit: FAILED_JOBS_HISTORY,
      jobTemplate: {
        metadata: { labels: labels('backup') },
        spec: {
          backoffLimit: BACKOFF_LIMIT,
          activeDeadlineSeconds: plan.activeDeadlineSeconds,
          podFailurePolicy: podFailurePolicy(BACKUP_CONTAINER),
          template: podTemplate(plan, 'backup', BACKUP_CONTAINER, BACKUP_SCRIPT, backupEnv),
        },
      },
    },
  };
}

/**
 * The one-off restore; undefined when the plan holds none. No
 * ttlSecondsAfterFinished on purpose: a finished Job deleted by the TTL
 * controller would be created again by Crossplane and run again (and refuse,
 * the database having data); the function stops composing it once
 * status.restoredFrom records the restore.
 */
export function restoreJob(plan: BackupPlan, ownerRole: string): KubeObject | undefined {
  const restore = plan.restore;
  if (!restore) return undefined;
  const restoreEnv = [
    env(RESTORE_ENV.bucket, plan.bucket),
    env(RESTORE_ENV.prefix, restore.sourcePrefix),
    env(RESTORE_ENV.backup, restore.backup),
    // Everything restored belongs to the tenant role, whichever of its logins <name>-secret names.
    env(RESTORE_ENV.ownerRole, ownerRole),
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: plan.objects.restoreJob, namespace: plan.namespace, labels: labels('restore') },
    spec: {
      backoffLimit: BACKOFF_LIMIT,
      activeDeadlineSeconds: plan.activeDeadlineSeconds,
      podFailurePolicy: podFailurePolicy(RESTORE_CONTAINER),
      template: podTemplate(plan, 'restore', RESTORE_CONTAINER, RESTORE_SCRIPT, restoreEnv),
    },
  };
}

/**
 * Every backup object the plan calls for, by composed-resource key, in a fixed
 * order: the ServiceAccount whenever a CronJob or a Job needs it. An empty map
 * when the claim has backups off and asks for no restore.
 */
export function renderBackupResources(plan: BackupPlan | undefined, ownerRole: string): Record<string, KubeObject> {
  if (!plan) return {};
  const cronJob = backupCronJob(plan);
  const job = restoreJob(plan, ownerRole);
  if (!cronJob && !job) return {};
  return {
    [BACKUP_SERVICEACCOUNT_KEY]: backupServiceAccount(plan),
    ...(cronJob ? { [BACKUP_CRONJOB_KEY]: cronJob } : {}),
    ...(job ? { [RESTORE_JOB_KEY]: job } : {}),
  };
}

/**
 * Label selector for the restore Job's pods, for a function requirement
 * (kind Pod, in the tenant's namespace): their termination message tells which
 * backup `latest` resolved to. Optional: restoreOutcome() works without it.
 */
export function restorePodSelector(plan: BackupPlan): { namespace: string; matchLabels: Record<string, string> } {
  return { namespace: plan.namespace, matchLabels: { [JOB_NAME_LABEL]: plan.objects.restoreJob } };
}
