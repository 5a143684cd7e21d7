/**
 * The TenantDatabase spec: its OpenAPI schema, its TypeScript shape, and how a
 * raw XR spec becomes a validated, defaulted one.
 *
 * The schema below is the single source of truth for the API. `npm run generate`
 * writes it into both XRDs (claim and namespaced flavour) and the function
 * validates every request against the very same object, so what Kubernetes
 * admits and what the function accepts cannot drift apart. Kubernetes-only
 * keywords (`x-kubernetes-validations`) are ignored by ajv and enforced by the
 * API server; everything the function relies on is also expressed in plain
 * JSON Schema so that it holds even when a request bypasses the API server.
 * Unknown fields are pruned, not refused, exactly as the API server does
 * (structural schemas cannot say additionalProperties: false).
 */
import { backupSpecSchema, backupSpecValidations, backupStatusSchema, restoreFromSpecSchema, type BackupSpec, type RestoreFromSpec } from './backup/settings.js';
import { compileSchema } from './validation.js';
import { KUBERNETES_TIME } from './time.js';

/** What happens to a database or role when its claim goes: kept (the default) or dropped. */
export const DELETION_POLICIES = ['Orphan', 'Delete'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

/** Single: the tenant role's own password changes; Alternating: two login roles take turns (plan.ts, alternation). */
export const PASSWORD_ROTATION_MODES = ['Single', 'Alternating'] as const;
export type PasswordRotationMode = (typeof PASSWORD_ROTATION_MODES)[number];
/** Bounds of spec.passwordRotation.graceSeconds: long enough for every pod to re-read its Secret, short enough to retire a leaked one. */
export const GRACE_SECONDS = { min: 60, max: 7 * 24 * 3600, default: 3600 } as const;

export interface ExtensionSpec {
  name: string;
  version?: string;
}

export interface TenantDatabaseSpec {
  deletionProtection: boolean;
  roleDeletionPolicy: DeletionPolicy;
  dbDeletionPolicy: DeletionPolicy;
  extensions: ExtensionSpec[];
  schemas: string[];
  connectionLimit: number;
  encoding?: string;
  lcCollate?: string;
  lcCType?: string;
  passwordRotationTrigger?: string;
  passwordRotation: {
    mode: PasswordRotationMode;
    graceSeconds: number;
  };
  readOnlyRole: boolean;
  backup?: BackupSpec;
  restoreFrom?: RestoreFromSpec;
  secretsManager: {
    /** Absent: the platform's setting (function input secretsManager.enabled) decides. */
    enabled?: boolean;
    deletionPolicy?: DeletionPolicy;
  };
}

/** A PostgreSQL identifier the tenant may choose (schemas): lower case, no quoting needed. */
const SQL_NAME = '^[a-z_][a-z0-9_]{0,62}$';
/** Encoding and locale names as PostgreSQL spells them (e.g. UTF8, en_US.UTF-8, C). */
const LOCALE = '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$';
const IMMUTABLE = (field: string) => ({
  rule: 'self == oldSelf',
  message: `${field} is immutable: PostgreSQL fixes it when the database is created`,
});

const deletionPolicy = (description: string) => ({
  type: 'string',
  enum: [...DELETION_POLICIES],
  default: 'Orphan',
  description,
});

export const specSchema = {
  type: 'object',
  description: 'A PostgreSQL database, login role and credentials for one application.',
  properties: {
    deletionProtection: {
      type: 'boolean',
      default: true,
      description:
        'Refuse deletion of the database, the role and this resource while true (Crossplane Usages). ' +
        'Switch to false, and wait for it to be applied, before deleting.',
    },
    roleDeletionPolicy: deletionPolicy(
      'Orphan keeps the PostgreSQL role (and its grants and AWS secret) when this resource is deleted; Delete drops it.',
    ),
    dbDeletionPolicy: deletionPolicy(
      'Orphan keeps the PostgreSQL database (and its data) when this resource is deleted; Delete drops it.',
    ),
    extensions: {
      type: 'array',
      maxItems: 256,
      default: [],
      description: 'PostgreSQL extensions to create in the database. Each must be allowed by the platform.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9_][a-z0-9_-]{0,62}$', description: 'Extension name, e.g. pgcrypto.' },
          version: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,32}$', description: 'Extension version; the server default when omitted.' },
        },
      },
    },
    schemas: {
      type: 'array',
      maxItems: 256,
      default: [],
      description: 'Extra schemas to create in the database, owned by the tenant role.',
      'x-kubernetes-list-type': 'set',
      items: { type: 'string', pattern: SQL_NAME, not: { enum: ['public', 'information_schema'] } },
    },
    connectionLimit: {
      type: 'integer',
      minimum: -1,
      maximum: 10000,
      default: -1,
      description: "Maximum concurrent sessions on the tenant's database, whichever of its logins opens them (the database's CONNECTION LIMIT); -1 means no limit.",
    },
    encoding: {
      type: 'string',
      pattern: LOCALE,
      description: 'Database encoding (e.g. UTF8). Immutable after creation.',
      'x-kubernetes-validations': [IMMUTABLE('encoding')],
    },
    lcCollate: {
      type: 'string',
      pattern: LOCALE,
      description: 'LC_COLLATE of the database. Immutable after creation.',
      'x-kubernetes-validations': [IMMUTABLE('lcCollate')],
    },
    lcCType: {
      type: 'string',
      pattern: LOCALE,
      description: 'LC_CTYPE of the database. Immutable after creation.',
      'x-kubernetes-validations': [IMMUTABLE('lcCType')],
    },
    passwordRotationTrigger: {
      type: 'string',
      // The API server checks the format (which would also take fractions of a second); the
      // pattern makes it refuse up front what the function refuses anyway (function/time.ts).
      format: 'date-time',
      pattern: KUBERNETES_TIME,
      description:
        'Set to a later time (RFC 3339, e.g. 2026-12-02T21:00:00Z) to have new passwords set for the role ' +
        '(and the read-only role); the Secrets and the AWS copies follow within a minute or two, and ' +
        'status.passwordRotation.pending says when they have. Each later time rotates once (a time in the future ' +
        'too); an earlier one than the last rotation is refused.',
    },
    passwordRotation: {
      type: 'object',
      default: {},
      description: 'How spec.passwordRotationTrigger rotates the password.',
      properties: {
        mode: {
          type: 'string',
          enum: [...PASSWORD_ROTATION_MODES],
          default: 'Single',
          description:
            "Single: the role's own password changes, and the old one stops working at once. Alternating: apps log in " +
            'through two login roles (<role>_la, <role>_lb) that act as the role (they are members of it and start every ' +
            'session with SET ROLE to it, so everything they create belongs to the role); each rotation gives the idle one ' +
            'a new password, switches <name>-secret to it once it works, and disables the previous one graceSeconds later. ' +
            'Apps that re-read the Secret never see a failed login.',
        },
        graceSeconds: {
          type: 'integer',
          minimum: GRACE_SECONDS.min,
          maximum: GRACE_SECONDS.max,
          default: GRACE_SECONDS.default,
          description: 'Alternating mode: how long the previous credentials keep working after <name>-secret switched away from them.',
        },
      },
    },
    readOnlyRole: {
      type: 'boolean',
      default: false,
      description:
        'Also create a read-only login role that can read every table and sequence the tenant role creates in ' +
        'public and the listed schemas, with its own Secret <name>-readonly-secret (and AWS copy).',
    },
    backup: backupSpecSchema,
    restoreFrom: restoreFromSpecSchema,
    secretsManager: {
      type: 'object',
      default: {},
      description: 'Copy of the credentials in AWS Secrets Manager.',
      properties: {
        enabled: {
          type: 'boolean',
          description:
            "Create the AWS Secrets Manager secret. Follows the platform's setting when omitted (on, unless the " +
            'platform runs without AWS); true is refused on a platform without it.',
        },
        deletionPolicy: {
          type: 'string',
          enum: [...DELETION_POLICIES],
          description: 'What happens to the AWS secret on deletion; follows roleDeletionPolicy when omitted.',
        },
      },
    },
  },
  'x-kubernetes-validations': [
    {
      rule: "!has(oldSelf.encoding) || has(self.encoding)",
      message: 'encoding is immutable: PostgreSQL fixes it when the database is created',
    },
    {
      rule: "!has(oldSelf.lcCollate) || has(self.lcCollate)",
      message: 'lcCollate is immutable: PostgreSQL fixes it when the database is created',
    },
    {
      rule: "!has(oldSelf.lcCType) || has(self.lcCType)",
      message: 'lcCType is immutable: PostgreSQL fixes it when the database is created',
    },
    ...backupSpecValidations,
  ],
} as const;

/** The non-secret facts the function reports back; also written into the XRDs. */
export const statusSchema = {
  type: 'object',
  properties: {
    database: { type: 'string', description: 'PostgreSQL database name.' },
    role: { type: 'string', description: 'PostgreSQL login role name.' },
    secretName: { type: 'string', description: 'Kubernetes Secret holding the credentials, in this namespace.' },
    awsSecretName: { type: 'string', description: 'Name of the AWS Secrets Manager secret.' },
    awsSecretArn: { type: 'string', description: 'ARN of the AWS Secrets Manager secret, once known.' },
    readOnlyRole: { type: 'string', description: 'PostgreSQL read-only login role name, when spec.readOnlyRole is true.' },
    readOnlySecretName: { type: 'string', description: 'Kubernetes Secret holding the read-only credentials, in this namespace.' },
    passwordChangedAt: {
      type: 'string',
      description: "When provider-sql last generated the role's password (roles made before passwords came from a password Secret).",
    },
    passwordRotation: {
      type: 'object',
      description: 'The rotation spec.passwordRotationTrigger asks for, and whether it is still being applied.',
      properties: {
        trigger: { type: 'string', description: 'The spec.passwordRotationTrigger applied.' },
        activeLogin: {
          type: 'string',
          description: 'Alternating mode: the login role whose credentials <name>-secret holds (login-a or login-b).',
        },
        previousLogin: {
          type: 'string',
          description: 'Alternating mode: the login whose credentials <name>-secret held before (tenant, login-a or login-b).',
        },
        rotation: { type: 'string', description: 'Alternating mode: the rotation the active login is at.' },
        switchedAt: {
          type: 'string',
          description: 'Alternating mode: when <name>-secret switched to the active login; the previous one is disabled graceSeconds later.',
        },
        pending: {
          type: 'boolean',
          description: 'True while a role (or the read-only role) does not have the new password yet, or its Secret does not hold it yet.',
        },
      },
    },
    ...backupStatusSchema,
    protected: {
      type: 'boolean',
      description:
        'Whether deletion is refused right now: every Usage protecting this TenantDatabase exists and is ready. ' +
        'Wait for false before deleting.',
    },
    deletionProtection: { type: 'boolean', description: 'The spec.deletionProtection setting applied.' },
    roleDeletionPolicy: { type: 'string', description: 'The role deletion policy applied.' },
    dbDeletionPolicy: { type: 'string', description: 'The database deletion policy applied.' },
    notReady: {
      type: 'array',
      description: 'Composed resources that are not ready yet, with the reason when known.',
      items: { type: 'string' },
    },
  },
} as const;

const validateSpec = compileSchema<TenantDatabaseSpec>(specSchema, 'spec', 'prune');

/**
 * Validate and default a raw XR spec. Returns the spec or a message naming the
 * offending field; never throws. The input is copied, never mutated.
 */
export function parseSpec(raw: unknown): { spec: TenantDatabaseSpec } | { error: string } {
  if (raw === undefined || raw === null) return { error: 'spec: is required' };
  const result = validateSpec(raw);
  if ('error' in result) return result;
  return { spec: result.value };
}
