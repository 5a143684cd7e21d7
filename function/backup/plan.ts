/**
 * The resolved backup plan of one tenant: every decision about its backups
 * and its restore, made once by settings.ts resolveBackup() from the claim and
 * the function input, and only read by the renderers in resources.ts. Like the
 * main plan (function/plan.ts), it holds no secret: the password reaches the
 * pods by secretKeyRef only.
 */

export type SseAlgorithm = 'AES256' | 'aws:kms';

export type AwsCredentials =
  /** IAM Roles for Service Accounts: the role ARN goes on the ServiceAccount's eks.amazonaws.com/role-arn annotation. */
  | { mode: 'IRSA'; roleArn: string }
  /** EKS Pod Identity: a plain ServiceAccount; the platform associates it with a role in EKS. */
  | { mode: 'PodIdentity' };

export interface ResourceQuantities {
  cpu?: string;
  memory?: string;
}

export interface BackupPlan {
  /** The app team's view of the tenant: the claim's (or namespaced XR's) namespace and name. */
  namespace: string;
  name: string;
  /** Kubernetes object names, all in the tenant's namespace. */
  objects: {
    serviceAccount: string;
    cronJob: string;
    restoreJob: string;
    /** `<name>-secret`: where PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE come from. */
    credentialsSecret: string;
  };
  /** PGSSLMODE for the pods: the platform's input.sql.sslMode, as in the tenant's connection strings. */
  sslMode: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  bucket: string;
  region: string;
  /** An S3-compatible endpoint instead of AWS's (AWS_ENDPOINT_URL). */
  endpointUrl?: string;
  /** This tenant's key prefix, ending in '/': `<prefix>/<namespace>/<name>/`. */
  tenantPrefix: string;
  /** `s3://<bucket>/<tenantPrefix>`. */
  location: string;
  encryption: { algorithm: SseAlgorithm; kmsKeyId?: string };
  credentials: AwsCredentials;
  resources: { requests: ResourceQuantities; limits: ResourceQuantities };
  /** Seconds a run may take before Kubernetes stops it (Job activeDeadlineSeconds). */
  activeDeadlineSeconds: number;
  /** Seconds after its time a missed run may still start (CronJob startingDeadlineSeconds). */
  startingDeadlineSeconds: number;
  /** Scheduled backups; absent when this tenant has none (off by the claim or the platform). */
  schedule?: {
    /** 5-field cron, UTC (the CronJob's timeZone is Etc/UTC). */
    cron: string;
    retentionDays: number;
    /**
     * When this TenantDatabase was created (its XR's creationTimestamp) as a
     * backup stamp, YYYYMMDDTHHMMSSZ. A claim deleted and created again under
     * the same name writes to the same folder: every dump stamped earlier is an
     * earlier TenantDatabase's, which retention never touches (they are the way
     * back after a delete). Absent when unknown: retention then treats every
     * dump in the folder as its own, as before.
     */
    ownSince?: string;
    /**
     * True while a restore into this tenant has not succeeded: a backup of the still empty
     * database would become the source tenant's "latest" when restoring a tenant onto its own
     * name, and its retention could remove the very backups being restored.
     */
    suspended: boolean;
  };
  /** A restore to run once into the new, empty database; absent when none is asked for or it is done. */
  restore?: RestorePlan;
}

export interface RestorePlan {
  /** `latest`, or a backup's name `YYYYMMDDTHHMMSSZ.dump`. */
  backup: string;
  /** The tenant the backup came from: always the same namespace as the target. */
  source: { namespace: string; name: string };
  /** The source tenant's key prefix, ending in '/'. */
  sourcePrefix: string;
  /** `s3://<bucket>/<sourcePrefix>`. */
  sourceLocation: string;
}
