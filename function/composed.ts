/**
 * The table of composed resources: for every kind of object the function
 * composes, the key Crossplane knows it by, the Kubernetes name it gets, and
 * its kind. Each key and each name is spelt here and nowhere else.
 *
 * Keys are live on clusters: Crossplane tells composed resources apart by key
 * alone, so a renamed key makes it delete the old object and create a new one
 * (with Delete policies, that drops a schema, an extension or a role). Keys
 * never change. Some keys disagree with their object names for historical
 * reasons (`extension-` / `ext-`, `readonly-schema-role-` / `readonly-role-`,
 * `readonly-grant-schema-` / `readonly-usage-`, `readonly-default-tables-` /
 * `readonly-tables-`); the rows below keep both as they are, side by side.
 */
import { BACKUP_CRONJOB_KEY, BACKUP_SERVICEACCOUNT_KEY, RESTORE_JOB_KEY } from './backup/resources.js';
import { backupObjectNames } from './backup/settings.js';
import { childName, objectSuffix } from './naming.js';

/**
 * Whose login a role is: the tenant's own, its read-only reader, or one of the two login roles of
 * alternating rotation, which act as the tenant (plan.ts, alternation).
 */
export type LoginOwner = 'tenant' | 'reader' | LoginSlot;
export type LoginSlot = 'login-a' | 'login-b';
export const LOGIN_SLOTS: readonly LoginSlot[] = ['login-a', 'login-b'];
export const LOGIN_OWNERS: readonly LoginOwner[] = ['tenant', 'reader', ...LOGIN_SLOTS];

/** The kinds the function composes; `Secret` is a Kubernetes Secret, `AwsSecret` the Secrets Manager one. */
export type ComposedKind =
  | 'Database'
  | 'Role'
  | 'Grant'
  | 'Extension'
  | 'Schema'
  | 'DefaultPrivileges'
  | 'Secret'
  | 'AwsSecret'
  | 'SecretVersion'
  | 'Usage'
  | 'ServiceAccount'
  | 'CronJob'
  | 'Job';

/** One composed resource of one tenant: how Crossplane knows it and what it is called. */
export interface Slot {
  key: string;
  /** metadata.name of the composed object. */
  name: string;
  kind: ComposedKind;
}

/** What object names are built from: the XR's name, and the claim's (or namespaced XR's) own name. */
export interface NameParts {
  xrName: string;
  name: string;
}

/** Prefix of a login's keys and object names. */
const LOGIN_PREFIX: Record<LoginOwner, string> = { tenant: '', reader: 'readonly-', 'login-a': 'login-a-', 'login-b': 'login-b-' };
/** Suffix of a login's Secret names in the tenant's namespace (the alternating logins have none: they hand theirs out as the tenant's). */
const SECRET_SUFFIX: Record<LoginOwner, string> = { tenant: '', reader: '-readonly', 'login-a': '-login-a', 'login-b': '-login-b' };

/** The reader's default privileges, one per object type. */
export type ObjectType = 'table' | 'sequence';
const OBJECT_TYPE_KEY: Record<ObjectType, string> = { table: 'tables', sequence: 'sequences' };

/** What a Usage protects; also the tail of its key and name. */
export type UsageTarget = 'database' | 'role' | 'readonly-role' | 'login-a-role' | 'login-b-role' | 'xr' | 'claim';

/** One row of the table: a kind, how its key is spelt, and how its object is named. */
export interface Row<A extends unknown[]> {
  kind: ComposedKind;
  key(...args: A): string;
  name(n: NameParts, ...args: A): string;
}

const row = <A extends unknown[]>(kind: ComposedKind, key: (...args: A) => string, name: (n: NameParts, ...args: A) => string): Row<A> => ({
  kind,
  key,
  name,
});

/** Key and object name of a login's object: `<prefix><what>` and `<xr>-<prefix><what>`. */
const loginRow = (kind: ComposedKind, what: string) =>
  row(
    kind,
    (owner: LoginOwner) => `${LOGIN_PREFIX[owner]}${what}`,
    (n, owner) => childName(n.xrName, `${LOGIN_PREFIX[owner]}${what}`),
  );

export const COMPOSED = {
  database: row('Database', () => 'database', (n) => childName(n.xrName, 'database')),
  grant: row('Grant', () => 'grant-database', (n) => childName(n.xrName, 'grant-database')),
  /** Key `extension-<name>`, object `<xr>-ext-<name>`: they disagree, and both stay. */
  extension: row('Extension', (extension: string) => `extension-${extension}`, (n, extension) => childName(n.xrName, `ext-${objectSuffix(extension)}`)),
  schema: row('Schema', (schema: string) => `schema-${schema}`, (n, schema) => childName(n.xrName, `schema-${objectSuffix(schema)}`)),

  role: loginRow('Role', 'role'),
  /** Alternating rotation: a login role's membership in the tenant role (`login-a-member`, `<xr>-login-a-member`). */
  loginMembership: loginRow('Grant', 'member'),
  /**
   * The Secret holding a login Role's password (its passwordSecretRef), beside the Role's connection
   * secret: `<xr>-password`, `<xr>-readonly-password` (function/passwords.ts).
   */
  password: loginRow('Secret', 'password'),
  /** The Secret apps read, in the tenant's namespace: `<name>-secret`, `<name>-readonly-secret`. */
  secret: row('Secret', (owner: LoginOwner) => `${LOGIN_PREFIX[owner]}secret`, (n, owner) => `${n.name}${SECRET_SUFFIX[owner]}-secret`),
  awsSecret: loginRow('AwsSecret', 'aws-secret'),
  /** The Kubernetes Secret the AWS SecretVersion reads its value from: `<name>-secretsmanager`. */
  awsSecretString: row(
    'Secret',
    (owner: LoginOwner) => `${LOGIN_PREFIX[owner]}aws-secret-string`,
    (n, owner) => `${n.name}${SECRET_SUFFIX[owner]}-secretsmanager`,
  ),
  awsSecretVersion: loginRow('SecretVersion', 'aws-secret-version'),

  readerGrant: row('Grant', () => 'readonly-grant-database', (n) => childName(n.xrName, 'readonly-grant-database')),
  /** Key `readonly-schema-role-<schema>`, object `<xr>-readonly-role-<schema>`: they disagree, and both stay. */
  readerSchemaRole: row(
    'Role',
    (schema: string) => `readonly-schema-role-${schema}`,
    (n, schema) => childName(n.xrName, `readonly-role-${objectSuffix(schema)}`),
  ),
  readerMembership: row(
    'Grant',
    (schema: string) => `readonly-member-${schema}`,
    (n, schema) => childName(n.xrName, `readonly-member-${objectSuffix(schema)}`),
  ),
  /** Key `readonly-grant-schema-<schema>`, object `<xr>-readonly-usage-<schema>`: they disagree, and both stay. */
  readerSchemaGrant: row(
    'Grant',
    (schema: string) => `readonly-grant-schema-${schema}`,
    (n, schema) => childName(n.xrName, `readonly-usage-${objectSuffix(schema)}`),
  ),
  /** Key `readonly-default-<type>s-<schema>`, object `<xr>-readonly-<type>s-<schema>`: they disagree, and both stay. */
  readerDefaultPrivileges: row(
    'DefaultPrivileges',
    (schema: string, objectType: ObjectType) => `readonly-default-${OBJECT_TYPE_KEY[objectType]}-${schema}`,
    (n, schema, objectType) => childName(n.xrName, `readonly-${OBJECT_TYPE_KEY[objectType]}-${objectSuffix(schema)}`),
  ),

  /** Backups (backup/): in the tenant's namespace, named after the claim, not the XR (backupObjectNames). */
  backupServiceAccount: row('ServiceAccount', () => BACKUP_SERVICEACCOUNT_KEY, (n) => backupObjectNames(n.name).serviceAccount),
  backupCronJob: row('CronJob', () => BACKUP_CRONJOB_KEY, (n) => backupObjectNames(n.name).cronJob),
  restoreJob: row('Job', () => RESTORE_JOB_KEY, (n) => backupObjectNames(n.name).restoreJob),

  /** Key `usage-<target>`, object `<xr>-protect-<target>`. */
  usage: row('Usage', (target: UsageTarget) => `usage-${target}`, (n, target) => childName(n.xrName, `protect-${target}`)),
} as const;

/** The slot of one row for one tenant. */
export function slot<A extends unknown[]>(r: Row<A>, n: NameParts, ...args: A): Slot {
  return { key: r.key(...args), name: r.name(n, ...args), kind: r.kind };
}

/** The schema of an observed reader schema role, from its key: such roles stay composed once created. */
export function readerSchemaOfKey(key: string): string | undefined {
  return /^readonly-schema-role-(.+)$/.exec(key)?.[1];
}

/** Whether a key is one of the protection Usages. */
export function isUsageKey(key: string): boolean {
  return key.startsWith('usage-');
}

/** The keys of a login's credential copies: once any exists, credentials have been handed out. */
export function credentialKeys(owner: LoginOwner): string[] {
  return [COMPOSED.secret.key(owner), COMPOSED.awsSecretString.key(owner), COMPOSED.awsSecretVersion.key(owner)];
}

/**
 * Names that are not composed resources but belong to a login: the Role's own
 * connection secret (written by provider-sql), and the requirement under which
 * the function asks Crossplane for it.
 */
export const LOGIN_NAMES = {
  /**
   * A new Role's connection secret. An existing Role keeps the name it has: earlier versions named
   * it after the rotation (`…-role-connection-<stamp>`), which renaming no longer does.
   */
  roleConnectionSecret: (n: NameParts, owner: LoginOwner) => childName(n.xrName, `${LOGIN_PREFIX[owner]}role-connection`),
  connectionRequirement: (owner: LoginOwner) => `${LOGIN_PREFIX[owner]}role-connection-secret`,
  /** The requirement under which the function asks Crossplane for the platform's password key. */
  passwordKeyRequirement: 'password-key',
  /**
   * An adopted role's password, handed over by `npm run migrate` (docs/migration.md): a Secret
   * `<claim name>-password` in the claim's namespace, which the function reads once, before it
   * composes the role's own password Secret. In the namespaced flavour it is that very Secret
   * (same name, same namespace); in the claim flavour the XR's name is chosen by Crossplane, so the
   * Secret cannot be pre-created under the composed name, and this one is read instead.
   */
  adoptedPasswordSecret: (n: Pick<NameParts, 'name'>) => childName(n.name, 'password'),
  adoptedPasswordRequirement: 'adopted-password',
} as const;

/** The rotation stamp in the name of a Role's connection secret, if any. */
export function rotationOfConnectionSecret(name: unknown): string | undefined {
  return typeof name === 'string' ? /-role-connection-(\d{8}t\d{6}z)$/.exec(name)?.[1] : undefined;
}
