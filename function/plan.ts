/**
 * The plan: every decision about one tenant, made once, from the admitted
 * request and the observed facts, before any object is rendered — names,
 * policies, which objects are composed and in which order, whose credentials
 * are handed out and which wait, what is asked of Crossplane, whether the
 * tenant is protected. Renderers (resources/*.ts) only read it.
 *
 * A plan that could only be carried out by dropping something that exists (a
 * Secret whose password is lost, a rotation back to an old secret) is not
 * made: the step refuses, by throwing a ComposeError.
 */
import { awsSecretName } from './aws-secret-name.js';
import type { Admitted } from './admit.js';
import { kubeTime, plannedAlternation, type Alternation, type AlternationStatus } from './alternation.js';
import type { BackupPlan } from './backup/plan.js';
import { COMPOSED, credentialKeys, isUsageKey, LOGIN_NAMES, LOGIN_OWNERS, LOGIN_SLOTS, slot, type LoginOwner, type LoginSlot, type NameParts, type ObjectType, type Slot, type UsageTarget as UsageTargetKey } from './composed.js';
import { rdsSecretJson, type Credentials } from './credentials.js';
import { SQL_VERSION, type Tenant, type UsageTarget } from './flavour.js';
import type { FunctionInput } from './input.js';
import { fillTemplate, isIdentifier, readOnlyRoleName, readOnlySchemaRoleName, tenantIdentifier } from './naming.js';
import type { Facts, FoundCredentials } from './observe.js';
import type { LoginPasswordFacts } from './passwords.js';
import { inOrder } from './order.js';
import {
  decidePassword,
  INITIAL_ROTATION,
  keyWaitReason,
  passwordKey,
  wantedRotation,
  type PasswordDecision,
  type PasswordKey,
} from './passwords.js';
import { readiness } from './readiness.js';
import { fail } from './refusal.js';
import type { DeletionPolicy, ExtensionSpec, TenantDatabaseSpec } from './spec.js';

type PasswordKeyRef = FunctionInput['passwords']['keySecretRef'];

/**
 * A PostgreSQL login role and everything that carries its credentials: the
 * role's own connection secret (written by provider-sql), the Secret apps
 * read, and the AWS copy. The tenant's role and the read-only role are both
 * Logins, rendered by the same code; `owner` says whose it is.
 */
export interface Login {
  owner: LoginOwner;
  /** PostgreSQL role name. */
  role: string;
  /** Whether the role may log in; false keeps a retired reader composed but locked out. */
  canLogin: boolean;
  /** The Role's connection secret: the name an existing Role has, else LOGIN_NAMES.roleConnectionSecret. */
  roleConnectionSecret: string;
  /** The Secret holding the role's password (its passwordSecretRef), and its namespace. */
  passwordSecret: string;
  passwordSecretNamespace: string;
  /** The password the role is to have, and its rotation (passwords.ts). */
  password: PasswordDecision;
  /**
   * The rotation of the password Secret as observed, when it holds a password: only then does
   * the Role refer to it (provider-sql fails on a missing one, and generates a password for an
   * empty one), and it is annotated with it, so that a new password wakes provider-sql at once.
   */
  observedRotation?: string;
  /** The Secret apps read. */
  secretName: string;
  /** The name of the AWS Secrets Manager secret. */
  awsSecretName: string;
  /** Object names of the AWS copy, which the SecretVersion refers to. */
  awsSecret: string;
  awsSecretString: string;
  /** The credentials found for it, best source first (observe.ts); undefined while none are known. */
  credentials?: Credentials;
}

/** The reader's role for one schema it reads (naming.ts, readOnlySchemaRoleName, says why it exists). */
export interface ReaderSchema {
  schema: string;
  /** PostgreSQL name of the schema role. */
  role: string;
}

/**
 * The read-only role: absent (never asked for), active, or retired (asked for
 * once, now switched off). A retired reader stays composed, unable to log in:
 * its grants outlive their managed resources in PostgreSQL (orphaned, or never
 * revoked), so only a role that cannot log in really ends its access. Schema
 * roles once created stay composed in every state but absent (`kept`): they
 * hold privileges in the tenant's database, so with a Delete policy they could
 * not be dropped before the database, and would be left stuck deleting.
 */
export type Reader =
  | { state: 'absent' }
  | { state: 'active'; login: Login; schemas: ReaderSchema[]; kept: ReaderSchema[] }
  | { state: 'retired'; login: Login; kept: ReaderSchema[] };

/** One composed object: its row in the table (composed.ts), its slot, and what its renderer needs. */
export type Composed = { slot: Slot } & (
  | { row: 'database' }
  | { row: 'role'; login: Login }
  | { row: 'loginMembership'; login: Login }
  | { row: 'password'; login: Login; password?: string; rotation: string }
  | { row: 'grant' }
  | { row: 'extension'; extension: ExtensionSpec }
  | { row: 'schema'; schema: string }
  | { row: 'secret'; login: Login; credentials: Credentials }
  | { row: 'awsSecret'; login: Login; region: string }
  | { row: 'awsSecretString'; login: Login; json: string }
  | { row: 'awsSecretVersion'; login: Login; region: string; json: string }
  | { row: 'readerGrant'; reader: Login }
  | { row: 'readerSchemaRole'; schemaRole: ReaderSchema }
  | { row: 'readerMembership'; reader: Login; schemaRole: ReaderSchema }
  | { row: 'readerSchemaGrant'; schemaRole: ReaderSchema }
  | { row: 'readerDefaultPrivileges'; schemaRole: ReaderSchema; objectType: ObjectType }
  | { row: 'usage'; of: UsageTarget; what: string }
  | { row: 'backupServiceAccount'; backup: BackupPlan }
  | { row: 'backupCronJob'; backup: BackupPlan }
  | { row: 'restoreJob'; backup: BackupPlan }
);

/** A Role's connection secret the function asks Crossplane for (requirements). */
export interface Requirement {
  key: string;
  name: string;
  namespace: string;
}

export interface Plan {
  tenant: Tenant;
  spec: TenantDatabaseSpec;
  input: FunctionInput;
  /** PostgreSQL identifiers. */
  database: string;
  role: string;
  /** Whether the AWS Secrets Manager copies are composed (the claim's choice, else the platform's). */
  secretsManager: boolean;
  tenantLogin: Login;
  reader: Reader;
  /** Alternating password rotation (spec.passwordRotation.mode), when on. */
  alternation?: Alternation;
  /** Backups and the restore (backup/plan.ts); undefined where the platform has backups off. */
  backup?: BackupPlan;
  policies: {
    database: DeletionPolicy;
    role: DeletionPolicy;
    grant: DeletionPolicy;
    /**
     * Objects that live inside the tenant's database (the reader's schema grants and default
     * privileges) are never revoked one by one: they go with the database when it is dropped, and
     * are kept with it otherwise. Revoking them after the database is gone would fail forever
     * (provider-sql connects to that database first) and leave them stuck deleting.
     */
    inDatabase: 'Orphan';
    awsSecret: DeletionPolicy;
  };
  /** Everything composed, in the order the XR's status lists what is not ready. */
  composed: Composed[];
  /** Objects not composed yet, and why: held back by the order of creation (order.ts), then Secrets waiting for credentials (the XR's status lists them after `composed`). */
  waiting: string[];
  /** The rotation asked for by spec.passwordRotationTrigger, and whether some login is not at it yet; in alternating mode, the alternation's state. */
  passwordRotation?: { trigger?: string; pending: boolean } & Partial<AlternationStatus>;
  requirements: Requirement[];
  /** Protected now, as the API server sees it (see `isProtected`). */
  protected: boolean;
}

export function makePlan(admitted: Admitted, facts: Facts, nowMs: number): Plan {
  const { tenant, spec, input, adopted } = admitted;
  const { namespace, name } = tenant;
  const n: NameParts = tenant;
  const database = pick(facts.resources.get(COMPOSED.database.key())?.externalName, adopted.database) ?? tenantIdentifier(input.naming.databaseTemplate, namespace, name);
  const role = pick(facts.resources.get(COMPOSED.role.key('tenant'))?.externalName, adopted.role) ?? tenantIdentifier(input.naming.roleTemplate, namespace, name);
  const keyRef = input.passwords.keySecretRef;
  const key = passwordKey(facts.passwordKey, keyRef);
  const wanted = wantedRotation(spec.passwordRotationTrigger, LOGIN_OWNERS.map((o) => facts.passwords[o]));
  // An adopted role's first password is the one the migration handed over, if any (passwords.ts (b')).
  const readsAdopted = adoptsPassword(admitted, facts);
  // `rotationWanted`: the rotation this login is to be at; null: the one it is at (no trigger applies to it).
  const login = (owner: LoginOwner, pgRole: string, canLogin: boolean, rotationWanted: string | null | undefined = wanted): Login => {
    const found = canLogin ? chosenCredentials(facts.credentials[owner]) : undefined;
    const f: LoginPasswordFacts =
      owner === 'tenant' && readsAdopted ? { ...facts.passwords[owner], adopted: facts.passwords[owner].adopted ?? { asked: false } } : facts.passwords[owner];
    // A reader that may not log in keeps what it has: nothing is derived for it. An alternating
    // login is created before it is handed out (and idle in between), so it always has a password.
    const password: PasswordDecision = canLogin || owner === 'login-a' || owner === 'login-b'
      ? decidePassword(pgRole, rotationWanted ?? undefined, f, found?.password, key, keyRef)
      : { rotation: f.secret?.rotation ?? INITIAL_ROTATION, ...(f.secret?.password ? { password: f.secret.password } : {}), source: 'secret' };
    return {
      owner,
      role: pgRole,
      canLogin,
      roleConnectionSecret: f.connectionSecretName ?? LOGIN_NAMES.roleConnectionSecret(n, owner),
      passwordSecret: COMPOSED.password.name(n, owner),
      passwordSecretNamespace: tenant.flavour.connectionSecretNamespace(input.sql.connectionSecretNamespace),
      password,
      ...(f.secret?.password ? { observedRotation: f.secret.rotation ?? INITIAL_ROTATION } : {}),
      secretName: COMPOSED.secret.name(n, owner),
      awsSecretName: awsSecretName(fillTemplate(input.secretsManager.nameTemplate, namespace, name), owner, facts.awsSecretNames, admitted.uid),
      awsSecret: COMPOSED.awsSecret.name(n, owner),
      awsSecretString: COMPOSED.awsSecretString.name(n, owner),
      ...(found ? { credentials: { ...found, username: found.username || pgRole } } : {}),
    };
  };
  const loginRolesObserved = LOGIN_SLOTS.some((s) => facts.resources.has(COMPOSED.role.key(s)) || facts.resources.has(COMPOSED.password.key(s)));
  if (spec.passwordRotation.mode === 'Single' && (facts.alternation || loginRolesObserved)) {
    // Dropping the login roles (Crossplane deletes what is not desired) while <name>-secret names one, or
    // once they exist at all, would lock an app out or leave roles half-made: once created, they stay.
    const why = facts.alternation
      ? `<name>-secret still holds the credentials of ${facts.alternation.activeLogin}`
      : 'its login roles already exist';
    fail('InvalidSpec', `spec.passwordRotation.mode: switching back from Alternating to Single is not supported; ${why} (set mode back to Alternating)`);
  }
  const alternation = spec.passwordRotation.mode === 'Alternating' ? plannedAlternation(spec, facts, role, wanted, nowMs, login) : undefined;
  // In alternating mode the tenant role's own password never follows the trigger (apps may still use
  // it, during the first switch's grace period), and its login ends with that grace period.
  const tenantLogin = alternation ? login('tenant', role, alternation.tenantCanLogin, null) : login('tenant', role, true);
  const reader = plannedReader(spec, facts, role, login);
  const orphanedData = spec.dbDeletionPolicy === 'Orphan' || spec.roleDeletionPolicy === 'Orphan';
  const base = {
    tenant,
    spec,
    input,
    database,
    role,
    secretsManager: spec.secretsManager.enabled ?? input.secretsManager.enabled,
    tenantLogin,
    reader,
    ...(alternation ? { alternation } : {}),
    ...(admitted.backup ? { backup: admitted.backup } : {}),
    policies: {
      database: spec.dbDeletionPolicy,
      role: spec.roleDeletionPolicy,
      // Deleting a Grant revokes it: an orphaned database or role must keep its grants.
      grant: orphanedData ? 'Orphan' : 'Delete',
      inDatabase: 'Orphan',
      awsSecret: spec.secretsManager.deletionPolicy ?? spec.roleDeletionPolicy,
    } as const,
  };
  const all = composedObjects(base, facts);
  // Creation in order (order.ts): what is not observed yet waits for what it needs.
  const ordered = inOrder(base, all, facts);
  const logins = loginsOf(tenantLogin, reader);
  const slots = alternation?.slots ?? [];
  // Alternating: the tenant's own password is not rotated; whether the rotation is done is the alternation's to say.
  const rotation = rotationState(spec, alternation ? logins.filter((l) => l.owner !== 'tenant') : logins, alternation);
  return {
    ...base,
    composed: ordered.composed,
    waiting: [...ordered.waiting, ...waiting(logins, all, key, keyRef), ...waiting(slots, all, key, keyRef), ...rotation.waiting],
    ...(rotation.status ? { passwordRotation: rotation.status } : {}),
    requirements: [
      ...requirements(base, [...logins, ...slots], facts),
      ...keyRequirement([...logins, ...slots], keyRef),
      ...(readsAdopted ? [{ key: LOGIN_NAMES.adoptedPasswordRequirement, name: LOGIN_NAMES.adoptedPasswordSecret(tenant), namespace: tenant.namespace }] : []),
    ],
    protected: isProtected(spec, all, facts),
  };
}

type PlanBase = Omit<Plan, 'composed' | 'waiting' | 'requirements' | 'protected' | 'passwordRotation'>;

/**
 * Whether to look for the password `npm run migrate` handed over for an adopted role: only until the
 * role has a password Secret or a Role MR (from then on, what they hold is the password).
 */
function adoptsPassword(admitted: Admitted, facts: Facts): boolean {
  return admitted.adopted.role !== undefined && !facts.passwords.tenant.secret && !facts.resources.has(COMPOSED.role.key('tenant'));
}

/** Observed external names win: a database, once created, is never renamed. */
function pick(observed: string | undefined, adopted: string | undefined): string | undefined {
  return isIdentifier(observed) ? observed : adopted;
}

/** The published connection details first, then the Role's connection secret, then the Secret rendered before. */
function chosenCredentials(found: FoundCredentials): Credentials | undefined {
  return found.published ?? found.required ?? found.rendered;
}

function plannedReader(
  spec: TenantDatabaseSpec,
  facts: Facts,
  role: string,
  login: (owner: LoginOwner, pgRole: string, canLogin: boolean) => Login,
): Reader {
  const observedRole = facts.resources.get(COMPOSED.role.key('reader'));
  // Asked for once: anything of the reader's observed (its Role, its password Secret, a schema role) stays composed.
  const everAsked = observedRole !== undefined || facts.readerSchemaRoles.size > 0 || facts.resources.has(COMPOSED.password.key('reader'));
  if (!spec.readOnlyRole && !everAsked) return { state: 'absent' };
  const readerRole = isIdentifier(observedRole?.externalName) ? observedRole.externalName : readOnlyRoleName(role);
  const schemaRole = (schema: string): ReaderSchema => {
    const kept = facts.readerSchemaRoles.get(schema)?.externalName;
    return { schema, role: isIdentifier(kept) ? kept : readOnlySchemaRoleName(readerRole, schema) };
  };
  const schemas = spec.readOnlyRole ? ['public', ...spec.schemas] : [];
  const kept = [...facts.readerSchemaRoles.keys()].filter((s) => isIdentifier(s) && !schemas.includes(s)).map(schemaRole);
  if (!spec.readOnlyRole) return { state: 'retired', login: login('reader', readerRole, false), kept };
  return { state: 'active', login: login('reader', readerRole, true), schemas: schemas.map(schemaRole), kept };
}

/** The tenant's login, then the reader's when there is one (active or retired). */
export function loginsOf(tenantLogin: Login, reader: Reader): Login[] {
  return reader.state === 'absent' ? [tenantLogin] : [tenantLogin, reader.login];
}

/** Every composed object, in order: the tenant's, its credentials, the reader's, its credentials, protection. */
function composedObjects(plan: PlanBase, facts: Facts): Composed[] {
  const { tenant: n, spec, reader } = plan;
  const out: Composed[] = [
    { row: 'database', slot: slot(COMPOSED.database, n) },
    ...loginRoleObjects(plan, plan.tenantLogin, facts),
    { row: 'grant', slot: slot(COMPOSED.grant, n) },
    ...spec.extensions.map((extension): Composed => ({ row: 'extension', slot: slot(COMPOSED.extension, n, extension.name), extension })),
    ...spec.schemas.map((schema): Composed => ({ row: 'schema', slot: slot(COMPOSED.schema, n, schema), schema })),
  ];
  // On first creation, the app gets its credentials only once the reader's default privileges are in
  // place: a table the tenant created before them would stay unreadable to the reader. Credentials
  // already handed out are never withheld (that would delete them).
  const handedOut = credentialKeys('tenant').some((key) => facts.resources.has(key));
  const waitForReader =
    reader.state === 'active' &&
    !handedOut &&
    reader.schemas.some(({ schema }) =>
      (['table', 'sequence'] as const).some((type) => !readiness('DefaultPrivileges', facts.resources.get(COMPOSED.readerDefaultPrivileges.key(schema, type))).ready),
    );
  // Alternating: <name>-secret holds the active login's credentials once there is one.
  const alternation = plan.alternation;
  out.push(...credentialObjects(plan, plan.tenantLogin, facts, waitForReader, alternation?.active ? alternation.handedOut : plan.tenantLogin.credentials));
  for (const slotLogin of alternation?.slots ?? []) {
    out.push(...loginRoleObjects(plan, slotLogin, facts));
    out.push({ row: 'loginMembership', slot: slot(COMPOSED.loginMembership, n, slotLogin.owner), login: slotLogin });
  }

  if (reader.state !== 'absent') {
    out.push(...loginRoleObjects(plan, reader.login, facts));
    if (reader.state === 'active') {
      out.push({ row: 'readerGrant', slot: slot(COMPOSED.readerGrant, n), reader: reader.login });
      for (const schemaRole of reader.schemas) {
        const { schema } = schemaRole;
        out.push(
          { row: 'readerSchemaRole', slot: slot(COMPOSED.readerSchemaRole, n, schema), schemaRole },
          { row: 'readerMembership', slot: slot(COMPOSED.readerMembership, n, schema), reader: reader.login, schemaRole },
          { row: 'readerSchemaGrant', slot: slot(COMPOSED.readerSchemaGrant, n, schema), schemaRole },
          { row: 'readerDefaultPrivileges', slot: slot(COMPOSED.readerDefaultPrivileges, n, schema, 'table'), schemaRole, objectType: 'table' },
          { row: 'readerDefaultPrivileges', slot: slot(COMPOSED.readerDefaultPrivileges, n, schema, 'sequence'), schemaRole, objectType: 'sequence' },
        );
      }
    }
    for (const schemaRole of reader.kept) out.push({ row: 'readerSchemaRole', slot: slot(COMPOSED.readerSchemaRole, n, schemaRole.schema), schemaRole });
    if (reader.state === 'active') out.push(...credentialObjects(plan, reader.login, facts, false));
  }
  out.push(...backups(plan));
  if (spec.deletionProtection) out.push(...usages(plan, out));
  return out;
}

/**
 * The tenant's backup objects (backup/resources.ts): the ServiceAccount the
 * pods run as, the CronJob while backups are on, and the restore Job until the
 * restore has succeeded (admit.ts leaves it out of the plan from then on).
 */
function backups(plan: PlanBase): Composed[] {
  const { backup, tenant: n } = plan;
  if (!backup || (!backup.schedule && !backup.restore)) return [];
  return [
    { row: 'backupServiceAccount', slot: slot(COMPOSED.backupServiceAccount, n), backup },
    ...(backup.schedule ? [{ row: 'backupCronJob', slot: slot(COMPOSED.backupCronJob, n), backup } as const] : []),
    ...(backup.restore ? [{ row: 'restoreJob', slot: slot(COMPOSED.restoreJob, n), backup } as const] : []),
  ];
}

/**
 * A login's password Secret, then its Role. The password Secret is composed
 * once its password is known, and kept as observed while it is not (a new
 * rotation waiting for the platform key): an observed object is never
 * dropped. The Role is composed once its password Secret exists with a
 * password (so provider-sql creates it with that password), and always once
 * it exists.
 */
function loginRoleObjects(plan: PlanBase, login: Login, facts: Facts): Composed[] {
  const n = plan.tenant;
  const out: Composed[] = [];
  const secret = slot(COMPOSED.password, n, login.owner);
  const observed = facts.passwords[login.owner].secret;
  const { password, rotation } = login.password.password !== undefined ? login.password : { password: observed?.password, rotation: observed?.rotation ?? INITIAL_ROTATION };
  if (password !== undefined || observed) out.push({ row: 'password', slot: secret, login, ...(password !== undefined ? { password } : {}), rotation });
  const role = slot(COMPOSED.role, n, login.owner);
  if (facts.resources.has(role.key) || login.observedRotation !== undefined) out.push({ row: 'role', slot: role, login });
  return out;
}

/**
 * The Secret and AWS copy of one login, or nothing while its password is not
 * known yet (or, `withhold`, not to be handed out yet). A Secret or AWS
 * version that exists is never dropped for want of a password: that is a
 * refusal.
 */
function credentialObjects(plan: PlanBase, login: Login, facts: Facts, withhold: boolean, c: Credentials | undefined = login.credentials): Composed[] {
  const { tenant: n } = plan;
  const out: Composed[] = [];
  const secret = slot(COMPOSED.secret, n, login.owner);
  if (c && !withhold) out.push({ row: 'secret', slot: secret, login, credentials: c });
  else if (!c && facts.resources.has(secret.key)) {
    fail(
      'CredentialsUnavailable',
      `observed.resources["${secret.key}"]: Secret ${login.secretName} holds no password and the Role published none; ` +
        'refusing to drop it (set spec.passwordRotationTrigger to a later time to have a new password generated)',
    );
  }
  const region = plan.input.secretsManager.region;
  if (!plan.secretsManager || !region) return out;
  out.push({ row: 'awsSecret', slot: slot(COMPOSED.awsSecret, n, login.owner), login, region });
  const version = slot(COMPOSED.awsSecretVersion, n, login.owner);
  const string = slot(COMPOSED.awsSecretString, n, login.owner);
  if (c && !withhold) {
    const json = rdsSecretJson(c, plan.database);
    out.push({ row: 'awsSecretString', slot: string, login, json }, { row: 'awsSecretVersion', slot: version, login, region, json });
  } else if (!c && (facts.resources.has(version.key) || facts.resources.has(string.key))) {
    fail(
      'CredentialsUnavailable',
      `observed.resources["${version.key}"]: credentials are not available, yet the AWS secret version exists; ` +
        "refusing to drop it (check the Role's connection secret)",
    );
  }
  return out;
}

/**
 * Deletion protection: Usages that make the API server refuse to delete the
 * Database, the Roles, the XR and (claim flavour) the claim, while
 * spec.deletionProtection is true.
 */
function usages(plan: PlanBase, composed: Composed[]): Composed[] {
  const { tenant, reader } = plan;
  const { flavour, xrApiVersion, xrKind, xrName } = tenant;
  const inFlavour = (apiVersion: string, kind: string, name: string): UsageTarget => ({
    apiVersion,
    kind,
    name,
    usageKind: flavour.usageKind,
    ...(flavour.mrNamespace ? { usageNamespace: flavour.mrNamespace } : {}),
  });
  const sqlApiVersion = `${flavour.sqlGroup}/${SQL_VERSION}`;
  const out: Composed[] = [
    { row: 'usage', slot: slot(COMPOSED.usage, tenant, 'database'), of: inFlavour(sqlApiVersion, 'Database', COMPOSED.database.name(tenant)), what: `Database ${plan.database}` },
  ];
  // Every role an app logs in as: the tenant's, the reader's, and the alternating logins.
  const usageTargets: Record<LoginOwner, UsageTargetKey> = { tenant: 'role', reader: 'readonly-role', 'login-a': 'login-a-role', 'login-b': 'login-b-role' };
  for (const login of [...loginsOf(plan.tenantLogin, reader), ...(plan.alternation?.slots ?? [])]) {
    // A Role not composed yet (waiting for its password Secret) is protected once it is.
    if (!composed.some((c) => c.row === 'role' && c.login === login)) continue;
    const target = usageTargets[login.owner];
    out.push({ row: 'usage', slot: slot(COMPOSED.usage, tenant, target), of: inFlavour(sqlApiVersion, 'Role', COMPOSED.role.name(tenant, login.owner)), what: `Role ${login.role}` });
  }
  out.push({ row: 'usage', slot: slot(COMPOSED.usage, tenant, 'xr'), of: inFlavour(xrApiVersion, xrKind, xrName), what: `${xrKind} ${xrName}` });
  const claim = flavour.claimUsageTarget(tenant);
  if (claim) out.push({ row: 'usage', slot: slot(COMPOSED.usage, tenant, 'claim'), of: claim, what: `Claim ${tenant.namespace}/${tenant.name}` });
  return out;
}

/** Why each login that may log in has no Secret yet (or no Role, or no password Secret). */
function waiting(logins: Login[], composed: Composed[], key: PasswordKey, keyRef: PasswordKeyRef): string[] {
  const out: string[] = [];
  for (const login of logins) {
    if (!login.canLogin) continue;
    const what = login.owner === 'tenant' ? 'Role' : login.owner === 'reader' ? 'read-only Role' : 'login Role';
    if (login.password.source === 'waiting') {
      out.push(`Secret ${login.passwordSecretNamespace}/${login.passwordSecret} (the ${what}'s password; waiting for ${keyWaitReason(key, keyRef)})`);
    }
    if (login.password.source === 'unknown') {
      out.push(`Secret ${login.passwordSecretNamespace}/${login.passwordSecret} (waiting for the password the ${what} has, from its connection secret)`);
    }
    if (!composed.some((c) => c.row === 'role' && c.login === login)) {
      out.push(`Role ${login.role} (waiting for its password Secret ${login.passwordSecretNamespace}/${login.passwordSecret})`);
    }
    if (composed.some((c) => c.row === 'secret' && c.login === login) || LOGIN_SLOTS.includes(login.owner as LoginSlot)) continue;
    const why = login.credentials ? "waiting for the read-only role's default privileges" : `waiting for the ${what}'s password`;
    out.push(`Secret ${login.secretName} (${why})`);
  }
  return out;
}

/**
 * Ask Crossplane for a Role's connection secret only where the observed Role
 * came without connection details: Crossplane calls the function a second
 * time in every reconcile that has requirements, and in v2.2.4 the details
 * are there in both flavours once provider-sql has published them. A Role not
 * created yet has no secret either, so nothing is asked for then.
 */
function requirements(plan: PlanBase, logins: Login[], facts: Facts): Requirement[] {
  const namespace = plan.tenant.flavour.connectionSecretNamespace(plan.input.sql.connectionSecretNamespace);
  return logins
    .filter((l) => l.canLogin && facts.resources.has(COMPOSED.role.key(l.owner)) && !facts.credentials[l.owner].published)
    .map((l) => ({ key: LOGIN_NAMES.connectionRequirement(l.owner), name: l.roleConnectionSecret, namespace }));
}

/** The platform key is asked for while a password waits for it, and in the call that derives one (so the ask repeats and the loop ends). */
function keyRequirement(logins: Login[], keyRef: PasswordKeyRef): Requirement[] {
  const needed = logins.some((l) => l.canLogin && (l.password.source === 'waiting' || l.password.source === 'derived'));
  return needed ? [{ key: LOGIN_NAMES.passwordKeyRequirement, name: keyRef.name, namespace: keyRef.namespace }] : [];
}

/**
 * Whether every login that may log in has the password planned for it: the
 * credentials in hand (published by provider-sql, else the ones handed out)
 * are the planned ones. A login not handed out yet has nothing to rotate.
 */
function rotationState(
  spec: TenantDatabaseSpec,
  logins: Login[],
  alternation: Alternation | undefined,
): { waiting: string[]; status?: Plan['passwordRotation'] } {
  const trigger = spec.passwordRotationTrigger;
  const behind = logins.filter((l) => l.canLogin && l.credentials && l.credentials.password !== l.password.password);
  const waiting = behind.map((l) =>
    trigger
      ? `password rotation to ${trigger} not applied yet (role ${l.role})`
      : `password of role ${l.role} not applied yet (Secret ${l.passwordSecretNamespace}/${l.passwordSecret})`,
  );
  if (alternation?.waitsForGrace) {
    const { untilMs, role } = alternation.waitsForGrace;
    waiting.push(`password rotation to ${trigger ?? 'a new password'} waits until ${kubeTime(untilMs)}, when the grace period of the previous login (role ${role}) ends`);
  } else if (alternation?.pending) {
    const target = alternation.slots.find((l) => l.owner === alternation.target)!;
    waiting.push(
      trigger
        ? `password rotation to ${trigger} not applied yet (login role ${target.role}; the Secret switches to it once it works)`
        : `login role ${target.role} not ready to be handed out yet`,
    );
  }
  const pending = behind.length > 0 || (alternation?.pending ?? false);
  if (!trigger && !alternation) return { waiting };
  return { waiting, status: { ...(trigger ? { trigger } : {}), pending, ...(alternation?.status ?? {}) } };
}

/**
 * Protected now, as the API server sees it: with protection on, every Usage
 * exists and is ready; with it off, a Usage that still exists (being deleted)
 * still refuses a delete.
 */
function isProtected(spec: TenantDatabaseSpec, composed: Composed[], facts: Facts): boolean {
  if (!spec.deletionProtection) return [...facts.resources.keys()].some(isUsageKey);
  return composed.filter((c) => c.row === 'usage').every((c) => readiness(c.slot.kind, facts.resources.get(c.slot.key)).ready);
}
