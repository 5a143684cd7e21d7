/**
 * Backup and restore settings: the JSON-schema fragments for the claim
 * (spec.backup, spec.restoreFrom), the function input (backup) and the XR
 * status (status.backup, status.restoredFrom), and resolveBackup(), which
 * turns a tenant, its claim and the platform's input into a BackupPlan or a
 * refusal that names the field, in the style of spec.ts, input.ts and
 * compose.ts (secretsManager.enabled).
 *
 * The fragments are plain JSON Schema, written into the XRDs and the input
 * CRD by the lead's generator and checked by the function with the same
 * objects; the rules ajv cannot express (cron, cross-field) are in
 * backupInputProblem() and resolveBackup(), with the same messages.
 *
 * Isolation: the key prefix is `<prefix>/<namespace>/<name>/`, built here
 * from the tenant's own namespace and name, never from claim text; a restore
 * names only a tenant *name* and must stay in its own namespace, so a claim
 * can never point a Job at another namespace's backups.
 */
import { createHash } from 'node:crypto';
import type { RefusalReason } from '../refusal.js';
import { compileSchema } from '../validation.js';
import { CRON_HINT, CRON_PATTERN, cronProblem, spreadSchedule } from './cron.js';
import type { BackupPlan, ResourceQuantities, SseAlgorithm } from './plan.js';

export type { BackupPlan, RestorePlan } from './plan.js';

// ------------------------------------------------------------------ the claim

export interface BackupSpec {
  /** Absent: the platform's default (input backup.defaultEnabled). */
  enabled?: boolean;
  schedule?: string;
  retentionDays?: number;
}

export interface RestoreFromSpec {
  /** `latest` or `YYYYMMDDTHHMMSSZ.dump` (the `.dump` may be left out). */
  backup: string;
  /** Must be the tenant's own namespace; defaults to it. */
  namespace?: string;
  name: string;
}

/** The parts of a validated spec this module reads. */
export interface BackupClaim {
  backup?: BackupSpec;
  restoreFrom?: RestoreFromSpec;
}

const NAMESPACE = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const OBJECT_NAME = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';
export const BACKUP_NAME_PATTERN = '^(latest|[0-9]{8}T[0-9]{6}Z(\\.dump)?)$';
/** Upper bound of any retention, platform or claim: ten years. */
const MAX_RETENTION_DAYS = 3650;

/** `spec.backup` of the claim (both flavours). */
export const backupSpecSchema = {
  type: 'object',
  description:
    "Scheduled pg_dump backups of this database to the platform's S3 bucket. Every field follows the platform's " +
    'default when omitted.',
  properties: {
    enabled: {
      type: 'boolean',
      description:
        "Take scheduled backups. Follows the platform's default when omitted; true is refused on a platform without " +
        'backups. Backups already taken are kept when this is switched off or the TenantDatabase is deleted.',
    },
    schedule: {
      type: 'string',
      maxLength: 100,
      pattern: CRON_PATTERN,
      description: `When to back up: ${CRON_HINT}. The minute field names one minute (at most one backup an hour).`,
    },
    retentionDays: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_RETENTION_DAYS,
      description: 'Days a backup is kept; each run deletes older ones, but never the newest.',
    },
  },
} as const;

/** `spec.restoreFrom` of the claim (both flavours). */
export const restoreFromSpecSchema = {
  type: 'object',
  required: ['backup', 'name'],
  description:
    'Fill this new database from a backup, once, before the app uses it. Only into an empty database, only from a ' +
    'tenant in this namespace. Can be set only when the TenantDatabase is created, and not changed afterwards; ' +
    'remove it once status.restoredFrom is set, or leave it.',
  properties: {
    backup: {
      type: 'string',
      pattern: BACKUP_NAME_PATTERN,
      description: 'latest, or the name of one backup, e.g. 20261204T020000Z.dump (see status.backup.location).',
    },
    namespace: {
      type: 'string',
      pattern: NAMESPACE,
      description: "The source tenant's namespace: this TenantDatabase's own (the default); no other is allowed.",
    },
    name: {
      type: 'string',
      maxLength: 253,
      pattern: OBJECT_NAME,
      description: 'The name of the TenantDatabase the backup was taken of (this one\'s own name after a deletion).',
    },
  },
  'x-kubernetes-validations': [
    { rule: 'self == oldSelf', message: 'spec.restoreFrom is immutable: a restore runs once, when the TenantDatabase is created' },
  ],
} as const;

/**
 * Rules for the spec object itself (append to its x-kubernetes-validations):
 * restoreFrom can be added only at creation, so that a slip on a tenant with
 * data never starts a restore (which would refuse, and pause its backups).
 */
export const backupSpecValidations = [
  {
    rule: 'has(oldSelf.restoreFrom) || !has(self.restoreFrom)',
    message: 'spec.restoreFrom can be set only when the TenantDatabase is created',
  },
] as const;

// ------------------------------------------------------------------ the function input

export type CredentialsMode = 'IRSA' | 'PodIdentity';

export interface BackupInput {
  /** False: no backup kinds are ever composed; claims asking for backups or a restore are refused. */
  enabled: boolean;
  defaultEnabled: boolean;
  image?: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  bucket?: string;
  region?: string;
  prefix: string;
  endpointUrl?: string;
  serverSideEncryption: { algorithm: SseAlgorithm; kmsKeyId?: string };
  schedule: string;
  retentionDays: number;
  maxRetentionDays: number;
  credentials: { mode?: CredentialsMode; roleArnTemplate?: string };
  resources: { requests: ResourceQuantities; limits: ResourceQuantities };
  activeDeadlineSeconds: number;
  startingDeadlineSeconds: number;
}

const QUANTITY = '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$';
/** registry/path:tag or @sha256:digest; no spaces, no shell or YAML specials. */
const IMAGE = '^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$';
/** S3 bucket names (no dots-adjacent checks: AWS refuses those itself). */
const BUCKET = '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$';
/** Key prefix: path segments of S3-safe characters, no leading, trailing or double slash; may be empty. */
const PREFIX = '^([A-Za-z0-9!_.*\'()-]+(/[A-Za-z0-9!_.*\'()-]+)*)?$';
const ROLE_ARN_TEMPLATE = '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/{}-]{1,512}$';

const quantities = (defaults: { cpu?: string; memory?: string }) => ({
  type: 'object',
  default: {},
  additionalProperties: false,
  properties: {
    cpu: { type: 'string', pattern: QUANTITY, ...(defaults.cpu ? { default: defaults.cpu } : {}) },
    memory: { type: 'string', pattern: QUANTITY, ...(defaults.memory ? { default: defaults.memory } : {}) },
  },
});

/** `backup` in the function input (input.ts inputSchema.properties.backup). */
export const backupInputSchema = {
  type: 'object',
  default: {},
  additionalProperties: false,
  description:
    'Per-tenant pg_dump backups to S3 (CronJob, restore Job and ServiceAccount in the tenant namespace). Crossplane ' +
    'needs RBAC for those kinds (examples/rbac/crossplane-backups.yaml). See docs/backups.md.',
  properties: {
    enabled: {
      type: 'boolean',
      default: false,
      description:
        'Offer backups. When false nothing is composed for them, and a claim setting spec.backup.enabled: true or ' +
        'spec.restoreFrom is refused.',
    },
    defaultEnabled: { type: 'boolean', default: true, description: 'Whether a claim that does not set spec.backup.enabled is backed up.' },
    image: {
      type: 'string',
      maxLength: 512,
      pattern: IMAGE,
      description: 'Image with sh, pg_dump, pg_restore, psql and the AWS CLI, built from backup/Dockerfile and pushed to a registry the platform owns; its PostgreSQL client must be at least as new as the server (17 dumps every older one).',
    },
    imagePullPolicy: { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'], default: 'IfNotPresent' },
    bucket: { type: 'string', pattern: BUCKET, description: 'S3 bucket for every tenant\'s backups.' },
    region: { type: 'string', pattern: '^[a-z]{2}(-[a-z]+)+-\\d$', description: 'AWS region of the bucket, e.g. eu-west-1.' },
    prefix: {
      type: 'string',
      default: 'tenantdb',
      maxLength: 256,
      pattern: PREFIX,
      description: 'Key prefix; a tenant\'s backups are <prefix>/<namespace>/<name>/<YYYYMMDDTHHMMSSZ>.dump.',
    },
    endpointUrl: {
      type: 'string',
      maxLength: 512,
      pattern: '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$',
      description: 'An S3-compatible endpoint instead of AWS (sets AWS_ENDPOINT_URL in the pods).',
    },
    serverSideEncryption: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        algorithm: { type: 'string', enum: ['AES256', 'aws:kms'], default: 'AES256' },
        kmsKeyId: {
          type: 'string',
          maxLength: 2048,
          pattern: '^[A-Za-z0-9:/_-]+$',
          description: 'KMS key ARN, ID or alias (aws:kms only); the bucket\'s default key when omitted.',
        },
      },
    },
    schedule: {
      type: 'string',
      default: 'H H(1-5) * * *',
      maxLength: 100,
      description:
        `Default schedule: ${CRON_HINT}. H in the minute or hour field (or H(a-b)) is a value picked per tenant from ` +
        'a hash of its namespace and name, so that tenants do not all dump at once.',
    },
    retentionDays: { type: 'integer', default: 14, minimum: 1, maximum: MAX_RETENTION_DAYS, description: 'Default retention.' },
    maxRetentionDays: {
      type: 'integer',
      default: 365,
      minimum: 1,
      maximum: MAX_RETENTION_DAYS,
      description: 'The longest retention a claim may ask for.',
    },
    credentials: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description: 'How the backup pods get AWS credentials: through their ServiceAccount, <name>-backup.',
      properties: {
        mode: {
          type: 'string',
          enum: ['IRSA', 'PodIdentity'],
          description:
            'IRSA: the ServiceAccount carries eks.amazonaws.com/role-arn (roleArnTemplate). PodIdentity: a plain ' +
            'ServiceAccount, associated with a role by an EKS Pod Identity association.',
        },
        roleArnTemplate: {
          type: 'string',
          pattern: ROLE_ARN_TEMPLATE,
          description:
            'IRSA only: the role ARN, with {namespace} (required: one role per namespace keeps namespaces apart) and ' +
            'optionally {name} replaced, e.g. arn:aws:iam::<your account>:role/tenantdb-backup-{namespace}.',
        },
      },
    },
    resources: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        requests: quantities({ cpu: '100m', memory: '256Mi' }),
        limits: quantities({ cpu: '1', memory: '1Gi' }),
      },
    },
    activeDeadlineSeconds: {
      type: 'integer',
      default: 21600,
      minimum: 60,
      maximum: 604800,
      description: 'Seconds a backup or restore may run before Kubernetes stops it.',
    },
    startingDeadlineSeconds: {
      type: 'integer',
      default: 3600,
      minimum: 10,
      maximum: 86400,
      description: 'Seconds after its time a missed backup may still start.',
    },
  },
} as const;

/**
 * What ajv cannot check in the backup input: what is required once backups
 * are on, and fields that only make sense together. A sentence naming the
 * field (`input.backup.bucket: ...`), or undefined.
 */
export function backupInputProblem(input: BackupInput): string | undefined {
  const where = 'input.backup';
  if (input.serverSideEncryption.kmsKeyId !== undefined && input.serverSideEncryption.algorithm !== 'aws:kms') {
    return `${where}.serverSideEncryption.kmsKeyId: is used only with algorithm aws:kms`;
  }
  if (input.retentionDays > input.maxRetentionDays) {
    return `${where}.retentionDays: ${input.retentionDays} is more than maxRetentionDays (${input.maxRetentionDays})`;
  }
  const spread = spreadSchedule(input.schedule, 'namespace', 'name');
  if ('problem' in spread) return `${where}.schedule: ${spread.problem}`;
  const { mode, roleArnTemplate } = input.credentials;
  if (roleArnTemplate !== undefined) {
    if (mode !== 'IRSA') return `${where}.credentials.roleArnTemplate: is used only with mode IRSA`;
    const unknown = (roleArnTemplate.match(/\{[^}]*\}?/g) ?? []).find((p) => p !== '{namespace}' && p !== '{name}');
    if (unknown) return `${where}.credentials.roleArnTemplate: unknown placeholder ${unknown}; use {namespace} and {name}`;
    if (!roleArnTemplate.includes('{namespace}')) {
      return `${where}.credentials.roleArnTemplate: must contain {namespace}: one role for every namespace would let any tenant read every other tenant's backups`;
    }
  }
  if (!input.enabled) return undefined;
  for (const field of ['image', 'bucket', 'region'] as const) {
    if (input[field] === undefined) return `${where}.${field}: is required while backups are on (${where}.enabled: true)`;
  }
  if (mode === undefined) return `${where}.credentials.mode: is required while backups are on: IRSA or PodIdentity`;
  if (mode === 'IRSA' && roleArnTemplate === undefined) return `${where}.credentials.roleArnTemplate: is required with mode IRSA`;
  return undefined;
}

const validateBackupInput = compileSchema<BackupInput>(backupInputSchema, 'input.backup', 'reject');

/**
 * Validate and default `input.backup` on its own (for tests, and for the lead
 * until inputSchema embeds backupInputSchema): the schema, then
 * backupInputProblem(). Never throws.
 */
export function parseBackupInput(raw: unknown): { input: BackupInput } | { error: string } {
  const result = validateBackupInput(raw ?? {});
  if ('error' in result) return result;
  const problem = backupInputProblem(result.value);
  return problem ? { error: problem } : { input: result.value };
}

// ------------------------------------------------------------------ the XR status

export interface BackupStatus {
  enabled: boolean;
  schedule?: string;
  retentionDays?: number;
  /** The longest time between two runs of the schedule, in seconds: how late a backup may be before it is stale. */
  intervalSeconds?: number;
  location?: string;
  /** When backups started for this tenant (its CronJob's creation): the first run is due within intervalSeconds. */
  since?: string;
  /** True while a restore into this tenant has not succeeded. */
  suspended?: boolean;
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
}

export interface RestoredFromStatus {
  /** What spec.restoreFrom.backup asked for: latest or a name. */
  backup: string;
  namespace: string;
  name: string;
  /** The source tenant's location, s3://bucket/prefix/namespace/name/. */
  location: string;
  /** The backup actually restored (what latest resolved to), when the pod reported it. */
  key?: string;
  completionTime?: string;
}

/** `status.backup` and `status.restoredFrom` (merge into spec.ts statusSchema.properties). */
export const backupStatusSchema = {
  backup: {
    type: 'object',
    description: 'Backups of this database, as the function and Kubernetes (the CronJob) report them.',
    properties: {
      enabled: { type: 'boolean', description: 'Whether scheduled backups are on.' },
      schedule: { type: 'string', description: 'The schedule in force (UTC).' },
      retentionDays: { type: 'integer', description: 'The retention in force, in days.' },
      intervalSeconds: {
        type: 'integer',
        description: 'The longest time between two scheduled backups, in seconds (daily: 86400, weekly: 604800): how old the last success may be before alerts call it stale.',
      },
      since: { type: 'string', description: 'When scheduled backups started for this database (the CronJob was created): the first one is due within intervalSeconds.' },
      location: { type: 'string', description: 'Where the backups are: s3://<bucket>/<prefix>/<namespace>/<name>/.' },
      suspended: { type: 'boolean', description: 'True while backups wait for the restore (spec.restoreFrom) to succeed.' },
      lastScheduleTime: { type: 'string', description: 'When the CronJob last started a backup.' },
      lastSuccessfulTime: { type: 'string', description: 'When a backup last succeeded.' },
    },
  },
  restoredFrom: {
    type: 'object',
    description: 'The backup this database was filled from (spec.restoreFrom), once the restore has succeeded.',
    properties: {
      backup: { type: 'string', description: 'What spec.restoreFrom.backup asked for.' },
      key: { type: 'string', description: 'The backup restored (what latest resolved to), when known.' },
      namespace: { type: 'string' },
      name: { type: 'string' },
      location: { type: 'string' },
      completionTime: { type: 'string' },
    },
  },
} as const;

// ------------------------------------------------------------------ resolution

export interface BackupRefusal {
  reason: RefusalReason;
  /** Names the field, e.g. `spec.backup.enabled: ...`. */
  message: string;
}

/**
 * `plan` undefined: nothing to compose for backups (the platform has them off).
 * With a plan, resources.ts renders what it holds (possibly nothing, when the
 * claim has switched backups off and asks for no restore).
 */
export type BackupResolution = { plan: BackupPlan | undefined } | { refusal: BackupRefusal };

export interface BackupTenant {
  /** The claim's (or namespaced XR's) namespace and name: what the app team wrote. */
  namespace: string;
  name: string;
}

/** Suffix of the app Secret the pods read (the same `<name>-secret` the function composes). */
export const CREDENTIALS_SECRET_SUFFIX = '-secret';

/**
 * `<name>-<suffix>` when it fits in `max` characters, else the name cut short
 * plus a hash of the whole name: deterministic, and distinct for distinct names.
 * CronJob names must leave 11 characters for the Jobs the controller names
 * after them (52); Job names become a pod label value (63).
 */
export function kubeName(name: string, suffix: string, max: number): string {
  const full = `${name}-${suffix}`;
  if (full.length <= max) return full;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  const keep = max - suffix.length - hash.length - 2;
  return `${name.slice(0, keep).replace(/[-.]+$/, '')}-${hash}-${suffix}`;
}

/**
 * The backup objects' names, in the tenant's namespace: named after the claim
 * (not the XR), and the CronJob's cut to 52 characters to leave room for the
 * Jobs the controller names after it. One spelling for the plan and for the
 * table of composed resources (composed.ts).
 */
export function backupObjectNames(name: string): { serviceAccount: string; cronJob: string; restoreJob: string } {
  return { serviceAccount: kubeName(name, 'backup', 63), cronJob: kubeName(name, 'backup', 52), restoreJob: kubeName(name, 'restore', 63) };
}

/** `<prefix>/<namespace>/<name>/` (no leading slash when the prefix is empty). */
export function tenantKeyPrefix(prefix: string, namespace: string, name: string): string {
  return `${prefix ? `${prefix}/` : ''}${namespace}/${name}/`;
}

function sameRestore(a: RestoredFromStatus | undefined, namespace: string, r: RestoreFromSpec): boolean {
  return !!a && a.backup === r.backup && a.namespace === namespace && a.name === r.name;
}

/** What resolveBackup needs besides the tenant, the claim and the backup input. */
export interface BackupContext {
  /** The platform's input.sql.sslMode (PGSSLMODE in the pods); `require` when omitted. */
  sslMode?: string;
  /**
   * The observed XR's status.restoredFrom: once it records the restore that
   * spec.restoreFrom asks for, the restore is done and the plan holds none (the
   * Job is no longer composed: were it deleted and created again, it would run
   * again and refuse, since the database has data now).
   */
  observedRestoredFrom?: RestoredFromStatus;
  /** The XR's metadata.creationTimestamp: what tells this TenantDatabase's dumps from an earlier one's of the same name. */
  createdAt?: string;
}

/** A Kubernetes time (RFC 3339, UTC, whole seconds or not) as a backup stamp, YYYYMMDDTHHMMSSZ; undefined otherwise. */
export function backupStamp(time: string | undefined): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/.exec(time ?? '');
  return m ? `${m[1]}${m[2]}${m[3]}T${m[4]}${m[5]}${m[6]}Z` : undefined;
}

function ownSince(createdAt: string | undefined): { ownSince?: string } {
  const stamp = backupStamp(createdAt);
  return stamp ? { ownSince: stamp } : {};
}

/** The backup plan of one tenant, or a refusal naming the field. Pure: same arguments, same answer. */
export function resolveBackup(
  tenant: BackupTenant,
  claim: BackupClaim,
  input: BackupInput,
  context: BackupContext = {},
): BackupResolution {
  const { observedRestoredFrom } = context;
  const refuse = (reason: RefusalReason, message: string): BackupResolution => ({ refusal: { reason, message } });
  const asked = claim.backup ?? {};
  const restoreFrom = claim.restoreFrom;

  if (!input.enabled) {
    const off = "this platform takes no backups (function input backup.enabled is false)";
    if (asked.enabled === true) return refuse('NotAllowed', `spec.backup.enabled: ${off}; remove the field or set it to false`);
    if (asked.enabled === undefined) {
      for (const field of ['schedule', 'retentionDays'] as const) {
        if (asked[field] !== undefined) return refuse('NotAllowed', `spec.backup.${field}: ${off}; remove spec.backup`);
      }
    }
    if (restoreFrom) return refuse('NotAllowed', `spec.restoreFrom: ${off}, so there is nothing to restore from; remove the field`);
    return { plan: undefined };
  }
  const problem = backupInputProblem(input);
  if (problem) return refuse('InvalidFunctionInput', problem);

  const enabled = asked.enabled ?? input.defaultEnabled;
  let cron: string;
  if (asked.schedule !== undefined) {
    const wrong = cronProblem(asked.schedule);
    if (wrong) return refuse('InvalidSpec', `spec.backup.schedule: ${wrong}`);
    cron = asked.schedule.trim().split(/\s+/).join(' ');
  } else {
    const spread = spreadSchedule(input.schedule, tenant.namespace, tenant.name);
    if ('problem' in spread) return refuse('InvalidFunctionInput', `input.backup.schedule: ${spread.problem}`);
    cron = spread.cron;
  }
  const retentionDays = asked.retentionDays ?? input.retentionDays;
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    return refuse('InvalidSpec', 'spec.backup.retentionDays: must be a whole number of days, at least 1');
  }
  if (retentionDays > input.maxRetentionDays) {
    return refuse(
      'NotAllowed',
      `spec.backup.retentionDays: ${retentionDays} is more than this platform keeps backups (at most ${input.maxRetentionDays} days)`,
    );
  }

  const bucket = input.bucket!;
  const tenantPrefix = tenantKeyPrefix(input.prefix, tenant.namespace, tenant.name);
  let restore: BackupPlan['restore'];
  let restorePending = false;
  if (restoreFrom) {
    const namespace = restoreFrom.namespace ?? tenant.namespace;
    if (namespace !== tenant.namespace) {
      return refuse(
        'NotAllowed',
        `spec.restoreFrom.namespace: a TenantDatabase may restore only from backups of a tenant in its own namespace ` +
          `(${tenant.namespace}); remove the field or set it to ${tenant.namespace}`,
      );
    }
    if (!new RegExp(OBJECT_NAME).test(restoreFrom.name) || restoreFrom.name.length > 253) {
      return refuse('InvalidSpec', 'spec.restoreFrom.name: must be the name of a TenantDatabase (lower case letters, digits, - and .)');
    }
    if (!new RegExp(BACKUP_NAME_PATTERN).test(restoreFrom.backup)) {
      return refuse('InvalidSpec', 'spec.restoreFrom.backup: must be latest or a backup name such as 20261204T020000Z.dump');
    }
    if (!sameRestore(observedRestoredFrom, namespace, restoreFrom)) {
      restorePending = true;
      const sourcePrefix = tenantKeyPrefix(input.prefix, namespace, restoreFrom.name);
      restore = {
        backup: restoreFrom.backup,
        source: { namespace, name: restoreFrom.name },
        sourcePrefix,
        sourceLocation: `s3://${bucket}/${sourcePrefix}`,
      };
    }
  }

  const credentials: BackupPlan['credentials'] =
    input.credentials.mode === 'IRSA'
      ? {
          mode: 'IRSA',
          roleArn: input.credentials.roleArnTemplate!.replaceAll('{namespace}', tenant.namespace).replaceAll('{name}', tenant.name),
        }
      : { mode: 'PodIdentity' };

  const plan: BackupPlan = {
    namespace: tenant.namespace,
    name: tenant.name,
    objects: {
      ...backupObjectNames(tenant.name),
      credentialsSecret: `${tenant.name}${CREDENTIALS_SECRET_SUFFIX}`,
    },
    sslMode: context.sslMode ?? 'require',
    image: input.image!,
    imagePullPolicy: input.imagePullPolicy,
    bucket,
    region: input.region!,
    ...(input.endpointUrl ? { endpointUrl: input.endpointUrl } : {}),
    tenantPrefix,
    location: `s3://${bucket}/${tenantPrefix}`,
    encryption: {
      algorithm: input.serverSideEncryption.algorithm,
      ...(input.serverSideEncryption.kmsKeyId ? { kmsKeyId: input.serverSideEncryption.kmsKeyId } : {}),
    },
    credentials,
    resources: { requests: { ...input.resources.requests }, limits: { ...input.resources.limits } },
    activeDeadlineSeconds: input.activeDeadlineSeconds,
    startingDeadlineSeconds: input.startingDeadlineSeconds,
    ...(enabled ? { schedule: { cron, retentionDays, ...ownSince(context.createdAt), suspended: restorePending } } : {}),
    ...(restore ? { restore } : {}),
  };
  return { plan };
}
