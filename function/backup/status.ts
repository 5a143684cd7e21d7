/**
 * What the observed backup objects say, turned into XR status and readiness:
 *
 * - backupStatus(): status.backup from the plan and the observed CronJob
 *   (Kubernetes' status.lastScheduleTime / lastSuccessfulTime);
 * - restoreOutcome(): the restore's state from the observed Job (conditions
 *   Complete / Failed; the exit code from the Failed condition's message,
 *   which the Job's podFailurePolicy writes for the script's non-retryable
 *   codes, or from the pods when the lead asks for them), as status.restoredFrom
 *   on success and a reason + message for the claim on failure;
 * - backupReadiness(): whether each composed object counts as ready.
 *
 * Observed objects come from the cluster and are read defensively: a field
 * of the wrong type is ignored, never trusted or thrown on. Nothing here
 * reads or returns a secret.
 */
import { isKubernetesTime } from '../time.js';
import { longestGapSeconds } from './cron.js';
import type { BackupPlan } from './plan.js';
import { EXIT_CODE_MEANINGS } from './scripts.js';
import type { BackupStatus, RestoredFromStatus } from './settings.js';
import { BACKUP_CRONJOB_KEY, BACKUP_SERVICEACCOUNT_KEY, RESTORE_CONTAINER, RESTORE_JOB_KEY } from './resources.js';

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : undefined;
}

function time(value: unknown): string | undefined {
  return isKubernetesTime(value) ? (value as string) : undefined;
}

/** status.backup: the plan's settings plus what the observed CronJob reports. `plan` undefined: the platform has backups off. */
export function backupStatus(plan: BackupPlan | undefined, observedCronJob?: unknown): BackupStatus {
  if (!plan?.schedule) return plan ? { enabled: false, location: plan.location } : { enabled: false };
  const status = obj(obj(observedCronJob)?.status);
  const lastScheduleTime = time(status?.lastScheduleTime);
  const lastSuccessfulTime = time(status?.lastSuccessfulTime);
  // When the CronJob was created: the first run is due at most one interval later (alerts on a backup that never succeeded).
  const since = time(obj(obj(observedCronJob)?.metadata)?.creationTimestamp);
  const intervalSeconds = longestGapSeconds(plan.schedule.cron);
  return {
    enabled: true,
    schedule: plan.schedule.cron,
    retentionDays: plan.schedule.retentionDays,
    ...(intervalSeconds !== undefined ? { intervalSeconds } : {}),
    location: plan.location,
    ...(since ? { since } : {}),
    ...(plan.schedule.suspended ? { suspended: true } : {}),
    ...(lastScheduleTime ? { lastScheduleTime } : {}),
    ...(lastSuccessfulTime ? { lastSuccessfulTime } : {}),
  };
}

export type RestoreOutcome =
  /** No Job observed yet (not composed yet, or not created yet). */
  | { state: 'Pending'; message: string }
  | { state: 'Running'; message: string }
  | { state: 'Succeeded'; restoredFrom: RestoredFromStatus }
  /** `reason` is CamelCase, for a condition or event; `message` names the backup, the cause and how to see the logs. */
  | { state: 'Failed'; reason: string; message: string; exitCode?: number };

/** CamelCase condition reasons for the scripts' exit codes. */
const EXIT_REASONS: Record<string, string> = {
  CONFIG: 'RestoreMisconfigured',
  DATABASE_UNREACHABLE: 'DatabaseUnreachable',
  DUMP_FAILED: 'DumpFailed',
  UPLOAD_FAILED: 'UploadFailed',
  RETENTION_FAILED: 'RetentionFailed',
  BACKUP_NOT_FOUND: 'BackupNotFound',
  TARGET_NOT_EMPTY: 'TargetNotEmpty',
  DOWNLOAD_FAILED: 'DownloadFailed',
  RESTORE_FAILED: 'RestoreFailed',
  SERVER_NEWER_THAN_CLIENT: 'ServerNewerThanClient',
};

function condition(job: Obj | undefined, type: string): Obj | undefined {
  const conditions = obj(job?.status)?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return conditions.map(obj).find((c) => c?.type === type && c?.status === 'True');
}

/** The restore container's terminated state in the observed pods (newest first by name order is not needed: any failed one tells). */
function terminated(pods: unknown[] | undefined, want: 'success' | 'failure'): Obj | undefined {
  for (const pod of pods ?? []) {
    const statuses = obj(obj(pod)?.status)?.containerStatuses;
    if (!Array.isArray(statuses)) continue;
    for (const s of statuses.map(obj)) {
      if (s?.name !== RESTORE_CONTAINER) continue;
      const t = obj(obj(s.state)?.terminated);
      if (!t || typeof t.exitCode !== 'number') continue;
      if ((want === 'success') === (t.exitCode === 0)) return t;
    }
  }
  return undefined;
}

const SHORT = (text: unknown, max = 300): string | undefined =>
  typeof text === 'string' ? text.replace(/[^\x20-\x7e]/g, '?').slice(0, max) : undefined;

/**
 * The restore's state, from the observed restore Job and, optionally, its
 * pods (a required resource selected by RESTORE_POD_SELECTOR: only they know
 * what `latest` resolved to, and exit codes of retried failures). Undefined
 * when the plan holds no restore.
 */
export function restoreOutcome(plan: BackupPlan | undefined, observedJob?: unknown, observedPods?: unknown[]): RestoreOutcome | undefined {
  const restore = plan?.restore;
  if (!plan || !restore) return undefined;
  const what = `restore of backup ${restore.backup} of ${restore.source.namespace}/${restore.source.name} (${restore.sourceLocation})`;
  const logs = `kubectl -n ${plan.namespace} logs job/${plan.objects.restoreJob}`;
  const job = obj(observedJob);
  if (!job) return { state: 'Pending', message: `${what}: waiting for the restore Job ${plan.objects.restoreJob}` };

  const complete = condition(job, 'Complete') ?? condition(job, 'SuccessCriteriaMet');
  if (complete) {
    // The script's last word: "restored=<key>". Only a key of the exact backup shape under the source prefix is taken.
    const report = terminated(observedPods, 'success')?.message;
    const key = typeof report === 'string' ? /^restored=(\S+)$/.exec(report.trim())?.[1] : undefined;
    const tail = key?.startsWith(restore.sourcePrefix) ? key.slice(restore.sourcePrefix.length) : undefined;
    const file = tail && /^[0-9]{8}T[0-9]{6}Z\.dump$/.test(tail) ? tail : undefined;
    const completionTime = time(obj(job.status)?.completionTime);
    return {
      state: 'Succeeded',
      restoredFrom: {
        backup: restore.backup,
        namespace: restore.source.namespace,
        name: restore.source.name,
        location: restore.sourceLocation,
        ...(file ? { key: file } : {}),
        ...(completionTime ? { completionTime } : {}),
      },
    };
  }

  const failed = condition(job, 'Failed') ?? condition(job, 'FailureTarget');
  if (failed) {
    // podFailurePolicy's FailJob writes "Container restore for pod ns/x failed with exit code 21 matching FailJob rule ...".
    const fromCondition = /exit code (\d+)/.exec(typeof failed.message === 'string' ? failed.message : '')?.[1];
    const fromPod = terminated(observedPods, 'failure')?.exitCode as number | undefined;
    const exitCode = fromCondition !== undefined ? Number(fromCondition) : fromPod;
    const known = exitCode !== undefined ? EXIT_CODE_MEANINGS[exitCode] : undefined;
    if (known) {
      return {
        state: 'Failed',
        reason: EXIT_REASONS[known.name] ?? 'RestoreFailed',
        exitCode,
        message: `${what} failed: ${known.meaning} (exit code ${exitCode}); see ${logs}`,
      };
    }
    const reason = typeof failed.reason === 'string' && /^[A-Za-z]{1,64}$/.test(failed.reason) ? failed.reason : 'RestoreFailed';
    const detail = reason === 'DeadlineExceeded'
      ? `it did not finish within ${plan.activeDeadlineSeconds} seconds`
      : SHORT(failed.message) ?? 'the Job failed';
    return {
      state: 'Failed',
      reason: reason === 'DeadlineExceeded' || reason === 'BackoffLimitExceeded' ? `Restore${reason}` : 'RestoreFailed',
      ...(exitCode !== undefined ? { exitCode } : {}),
      message: `${what} failed: ${detail}${exitCode !== undefined ? ` (exit code ${exitCode})` : ''}; see ${logs}`,
    };
  }
  return { state: 'Running', message: `${what}: running (Job ${plan.objects.restoreJob})` };
}

/**
 * Whether a composed backup object is ready. None of these kinds has a Ready
 * condition: a ServiceAccount and a CronJob are ready once they exist; the
 * restore Job once it has completed, so that the XR (and Argo CD) stay
 * not-ready, with the reason, until the data is back.
 */
export function backupReadiness(key: string, plan: BackupPlan | undefined, observed: unknown): { ready: boolean; message?: string } {
  if (obj(observed) === undefined) return { ready: false, message: `${key}: not created yet` };
  if (key === BACKUP_SERVICEACCOUNT_KEY || key === BACKUP_CRONJOB_KEY) return { ready: true };
  if (key === RESTORE_JOB_KEY) {
    const outcome = restoreOutcome(plan, observed);
    if (!outcome || outcome.state === 'Succeeded') return { ready: true };
    return { ready: false, message: outcome.message };
  }
  return { ready: true };
}
