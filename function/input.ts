/**
 * The function input: the platform engineer's settings, written once in the
 * Composition's pipeline step. App teams cannot change any of these; that is
 * what lets the platform decide which provider configs, AWS region, KMS key,
 * naming scheme and extensions are in use, without forking the function.
 *
 * Like the spec, the schema here is the single source of truth: the input CRD
 * in package/input/ is generated from it.
 */
import { backupInputSchema, type BackupInput } from './backup/settings.js';
import { compileSchema } from './validation.js';

export const INPUT_API_VERSION = 'tenantdb.fn.platform.io/v1beta1';
export const INPUT_KIND = 'Input';

export interface ProviderConfigRef {
  name: string;
  kind: 'ClusterProviderConfig' | 'ProviderConfig';
}

export interface FunctionInput {
  apiVersion: string;
  kind: string;
  sql: {
    providerConfigRef: ProviderConfigRef;
    /** Namespace for the Role's generated connection secret (claim flavour only). */
    connectionSecretNamespace: string;
    /** sslmode written into the uri and jdbcUrl connection strings. */
    sslMode: string;
  };
  naming: {
    databaseTemplate: string;
    roleTemplate: string;
  };
  allowedExtensions: string[];
  adoption: { enabled: boolean };
  passwords: {
    /** The platform's key for deriving passwords (function/passwords.ts); required from Crossplane only when a password is derived. */
    keySecretRef: { name: string; namespace: string; key: string };
  };
  secretsManager: {
    /** False on a platform without the AWS provider: its kinds cannot be composed at all there. */
    enabled: boolean;
    providerConfigRef: ProviderConfigRef;
    region?: string;
    nameTemplate: string;
    kmsKeyId?: string;
    recoveryWindowInDays: number;
    tags: Record<string, string>;
  };
  /** Per-tenant backups and restores (backup/settings.ts). */
  backup: BackupInput;
  /** meta.ttl bounds, in seconds (ttl.ts). */
  ttl: {
    pendingMinSeconds: number;
    pendingMaxSeconds: number;
    readySeconds: number;
  };
}

const TEMPLATE = '^[a-z0-9_{}]{1,128}$';

const providerConfigRef = (description: string) => ({
  type: 'object',
  default: {},
  additionalProperties: false,
  description,
  properties: {
    name: { type: 'string', default: 'default', pattern: '^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$' },
    kind: {
      type: 'string',
      enum: ['ClusterProviderConfig', 'ProviderConfig'],
      default: 'ClusterProviderConfig',
      description: 'Kind of the provider config; used only by namespaced managed resources.',
    },
  },
});

export const inputSchema = {
  type: 'object',
  required: ['apiVersion', 'kind'],
  additionalProperties: false,
  properties: {
    apiVersion: { type: 'string', enum: [INPUT_API_VERSION] },
    kind: { type: 'string', enum: [INPUT_KIND] },
    metadata: { type: 'object' },
    sql: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        providerConfigRef: providerConfigRef('provider-sql provider config used for every PostgreSQL object.'),
        connectionSecretNamespace: {
          type: 'string',
          default: 'crossplane-system',
          pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
          description:
            'Claim flavour: namespace where the Role writes its generated connection secret (not readable by tenants).',
        },
        sslMode: {
          type: 'string',
          enum: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'],
          default: 'require',
          description: 'sslmode in the uri and jdbcUrl connection strings of the tenant Secret.',
        },
      },
    },
    naming: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description:
        'Templates for PostgreSQL identifiers. {namespace} and {name} are replaced, the result is mapped to ' +
        '[a-z0-9_] and always ends in a hash of namespace and name, within 63 bytes.',
      properties: {
        databaseTemplate: { type: 'string', pattern: TEMPLATE, default: '{namespace}_{name}' },
        roleTemplate: { type: 'string', pattern: TEMPLATE, default: '{namespace}_{name}' },
      },
    },
    allowedExtensions: {
      type: 'array',
      default: [],
      maxItems: 512,
      description: 'Extensions tenants may request. Anything else is refused.',
      items: { type: 'string', pattern: '^[a-z0-9_][a-z0-9_-]{0,62}$' },
    },
    adoption: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description:
        'Adopting existing databases (migration from the Helm chart): claims may name them with the annotations ' +
        'tenantdb.platform.io/database-name and tenantdb.platform.io/role-name. Any tenant could then name any ' +
        'database: enable it only while migrating, or where only platform engineers create claims.',
      properties: {
        enabled: { type: 'boolean', default: false },
      },
    },
    passwords: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description:
        'Role passwords are derived (HMAC-SHA256) from a platform key, the role name and the rotation, so that a ' +
        'recreated Role gets the same password and a new passwordRotationTrigger a new one. The key is a Kubernetes ' +
        'Secret the function reads through Crossplane only when it derives a password (a new tenant, a new rotation).',
      properties: {
        keySecretRef: {
          type: 'object',
          default: {},
          additionalProperties: false,
          description:
            'The Secret holding the platform key (at least 32 bytes), e.g. kubectl -n crossplane-system create secret ' +
            'generic tenantdb-password-key --from-literal=key="$(openssl rand -base64 48)". Keep it: a lost key changes ' +
            'nothing that exists, but the next rotation of every tenant derives from the new one.',
          properties: {
            name: { type: 'string', default: 'tenantdb-password-key', pattern: '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$' },
            namespace: { type: 'string', default: 'crossplane-system', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
            key: { type: 'string', default: 'key', pattern: '^[-._a-zA-Z0-9]{1,253}$' },
          },
        },
      },
    },
    secretsManager: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        enabled: {
          type: 'boolean',
          default: true,
          description:
            'Offer the AWS Secrets Manager copy. Set false on a cluster without the AWS provider: Crossplane composes ' +
            'nothing at all for a claim whose render includes a kind the cluster does not have. Claims then get no AWS ' +
            'copy, and a claim that sets spec.secretsManager.enabled: true is refused.',
        },
        providerConfigRef: providerConfigRef('AWS provider config for Secrets Manager.'),
        region: { type: 'string', pattern: '^[a-z]{2}(-[a-z]+)+-\\d$', description: 'AWS region, e.g. eu-west-1.' },
        nameTemplate: {
          type: 'string',
          default: 'tenantdb/{namespace}/{name}',
          pattern: '^[A-Za-z0-9/_+=.@{}-]{1,256}$',
          description: 'Name of the AWS secret; {namespace} and {name} are replaced, then - and the first 8 hex digits of the XR uid are appended, so that a claim created again under a deleted one\'s name does not collide with the secret that one left (secrets that exist keep their name).',
        },
        kmsKeyId: { type: 'string', pattern: '^[A-Za-z0-9:/_-]+$', maxLength: 2048, description: 'KMS key ARN, ID or alias.' },
        recoveryWindowInDays: {
          type: 'integer',
          default: 30,
          minimum: 7,
          maximum: 30,
          description: 'Days AWS keeps a deleted secret recoverable.',
        },
        tags: {
          type: 'object',
          default: {},
          maxProperties: 40,
          propertyNames: { pattern: '^[A-Za-z0-9 _.:/=+@-]{1,128}$' },
          additionalProperties: { type: 'string', maxLength: 256 },
        },
      },
    },
    backup: backupInputSchema,
    ttl: {
      type: 'object',
      default: {},
      additionalProperties: false,
      description:
        'How long Crossplane may wait before calling the function again for a tenant (the response TTL). While ' +
        'anything the tenant needs is pending: a quarter of the time it has been waiting in its current state, ' +
        'between pendingMinSeconds and pendingMaxSeconds; once everything is ready: readySeconds.',
      properties: {
        pendingMinSeconds: {
          type: 'integer',
          default: 5,
          minimum: 1,
          maximum: 3600,
          description: 'TTL of a tenant that has just started waiting (a new claim, a step forward).',
        },
        pendingMaxSeconds: {
          type: 'integer',
          default: 60,
          minimum: 1,
          maximum: 3600,
          description: 'Longest TTL while pending, however long the tenant has been waiting; at least pendingMinSeconds.',
        },
        readySeconds: {
          type: 'integer',
          default: 600,
          minimum: 60,
          maximum: 86400,
          description: "TTL once everything is ready: Crossplane's watches report real changes before it ends.",
        },
      },
    },
  },
} as const;

const validateInput = compileSchema<FunctionInput>(inputSchema, 'input', 'reject');

type Parsed = { input: FunctionInput } | { error: string };

/**
 * Every call of one Composition carries the same input, so its parse is
 * remembered (frozen, so no caller can change what the next one gets). The
 * cache holds a few Compositions' worth and is simply emptied when full; the
 * function stays stateless in every way that matters: a restart loses nothing.
 */
const parsedInputs = new Map<string, Parsed>();
const MAX_CACHED_INPUTS = 64;
/** A real input is a few hundred bytes; anything huge is parsed (and refused) without being kept. */
const MAX_CACHED_INPUT_LENGTH = 64 * 1024;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Validate and default the function input; a missing input is an error, not a guess. */
export function parseInput(raw: unknown): Parsed {
  let key: string;
  try {
    key = JSON.stringify(raw) ?? 'undefined';
  } catch {
    return uncachedParse(raw);
  }
  if (key.length > MAX_CACHED_INPUT_LENGTH) return uncachedParse(raw);
  let parsed = parsedInputs.get(key);
  if (!parsed) {
    parsed = deepFreeze(uncachedParse(raw));
    if (parsedInputs.size >= MAX_CACHED_INPUTS) parsedInputs.clear();
    parsedInputs.set(key, parsed);
  }
  return parsed;
}

function uncachedParse(raw: unknown): Parsed {
  if (raw === undefined || raw === null) {
    return { error: `input: is required (apiVersion ${INPUT_API_VERSION}, kind ${INPUT_KIND})` };
  }
  const result = validateInput(raw);
  if ('error' in result) return result;
  const input = result.value;
  for (const [field, template] of [
    ['input.naming.databaseTemplate', input.naming.databaseTemplate],
    ['input.naming.roleTemplate', input.naming.roleTemplate],
    ['input.secretsManager.nameTemplate', input.secretsManager.nameTemplate],
  ] as const) {
    const problem = templateProblem(template);
    if (problem) return { error: `${field}: ${problem}` };
  }
  if (input.ttl.pendingMinSeconds > input.ttl.pendingMaxSeconds) {
    return {
      error:
        `input.ttl.pendingMinSeconds: ${input.ttl.pendingMinSeconds} is greater than ` +
        `input.ttl.pendingMaxSeconds (${input.ttl.pendingMaxSeconds}); the minimum must not exceed the maximum`,
    };
  }
  return { input };
}

/**
 * A template must name both the namespace and the name, or two tenants could
 * share one database; and only the two known placeholders may appear.
 */
function templateProblem(template: string): string | undefined {
  const placeholders = template.match(/\{[^}]*\}?/g) ?? [];
  const unknown = placeholders.find((p) => p !== '{namespace}' && p !== '{name}');
  if (unknown) return `unknown placeholder ${unknown}; use {namespace} and {name}`;
  if (!template.includes('{namespace}') || !template.includes('{name}')) {
    return 'must contain both {namespace} and {name}, so that tenants in different namespaces never share a name';
  }
  return undefined;
}
