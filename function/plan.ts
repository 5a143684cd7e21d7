/**
 * The plan: every decision about one tenant, made once, before any object is
 * rendered. Resource renderers only read it, so the naming and policy rules
 * live in exactly one place and every renderer sees the same answers.
 */
import type { FunctionInput } from './input.js';
import type { Tenant } from './flavour.js';
import type { DeletionPolicy, TenantDatabaseSpec } from './spec.js';
import { childName, fillTemplate, isIdentifier, objectSuffix, readOnlyRoleName, tenantIdentifier } from './naming.js';

export const EXTERNAL_NAME = 'crossplane.io/external-name';

/**
 * A PostgreSQL login role and everything that carries its credentials: the
 * role's own connection secret (written by provider-sql), the Secret apps read,
 * and the AWS copy. The tenant's role and the read-only role are both Logins,
 * rendered by the same code.
 */
export interface Login {
  /** Prefix of its composed-resource names: '' for the tenant's role, 'readonly-' for the reader. */
  key: '' | 'readonly-';
  /** PostgreSQL role name. */
  role: string;
  /** Whether the role may log in; false keeps a retired reader composed but locked out. */
  canLogin: boolean;
  objects: {
    role: string;
    /** Named after the rotation trigger: a name provider-sql has not seen makes it generate a new password. */
    roleConnectionSecret: string;
    secret: string;
    awsSecret: string;
    awsSecretString: string;
    awsSecretVersion: string;
  };
  awsSecretName: string;
}

/**
 * The read-only role: absent (never asked for), active, or retired (asked for
 * once, now switched off). A retired reader stays composed, unable to log in:
 * its grants outlive their managed resources in PostgreSQL (orphaned, or never
 * revoked), so only a role that cannot log in really ends its access.
 */
export type ReaderState = 'absent' | 'active' | 'retired';

export interface Plan {
  tenant: Tenant;
  spec: TenantDatabaseSpec;
  input: FunctionInput;
  /** PostgreSQL identifiers. */
  database: string;
  role: string;
  /** The rotation stamp the Roles' connection secrets are named after, or undefined before any rotation. */
  rotation?: string;
  /** Whether the AWS Secrets Manager copies are composed (the claim's choice, else the platform's). */
  secretsManager: boolean;
  tenantLogin: Login;
  reader: ReaderState;
  /** Present unless reader is 'absent'. */
  readerLogin?: Login;
  /** Kubernetes object names of everything composed that is not part of a Login. */
  objects: {
    database: string;
    grant: string;
    extension(name: string): string;
    schema(name: string): string;
    /** Namespace of the roles' connection secrets. */
    roleConnectionSecretNamespace: string;
    usage(of: string): string;
    readerGrant: string;
    readerSchemaRole(schema: string): string;
    readerMembership(schema: string): string;
    readerSchemaGrant(schema: string): string;
    readerDefaultPrivileges(schema: string, objectType: 'table' | 'sequence'): string;
  };
  /** Schemas the reader reads: public and every listed one. */
  readerSchemas: string[];
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
}

/** Observed external names win: a database, once created, is never renamed. */
export interface ObservedNames {
  database?: string;
  role?: string;
  readerRole?: string;
}

export interface ObservedFacts {
  /** The reader Role exists: switching readOnlyRole off retires it instead of dropping it. */
  readerComposed: boolean;
  /** The rotation stamp the Roles' connection secrets are named after (see compose.ts), if any. */
  rotation?: string;
}

function login(
  key: Login['key'],
  role: string,
  canLogin: boolean,
  tenant: Tenant,
  input: FunctionInput,
  rotation: string | undefined,
): Login {
  const { xrName, namespace, name } = tenant;
  const secretSuffix = key === '' ? '' : '-readonly';
  const connection = `${key}role-connection${rotation ? `-${rotation}` : ''}`;
  return {
    key,
    role,
    canLogin,
    objects: {
      role: childName(xrName, `${key}role`),
      roleConnectionSecret: childName(xrName, connection),
      secret: `${name}${secretSuffix}-secret`,
      awsSecret: childName(xrName, `${key}aws-secret`),
      awsSecretString: `${name}${secretSuffix}-secretsmanager`,
      awsSecretVersion: childName(xrName, `${key}aws-secret-version`),
    },
    awsSecretName: `${fillTemplate(input.secretsManager.nameTemplate, namespace, name)}${secretSuffix}`,
  };
}

export function makePlan(
  tenant: Tenant,
  spec: TenantDatabaseSpec,
  input: FunctionInput,
  observed: ObservedNames,
  facts: ObservedFacts = { readerComposed: false },
): Plan {
  const { namespace, name, xrName, flavour } = tenant;
  const database = isIdentifier(observed.database)
    ? observed.database
    : tenantIdentifier(input.naming.databaseTemplate, namespace, name);
  const role = isIdentifier(observed.role) ? observed.role : tenantIdentifier(input.naming.roleTemplate, namespace, name);
  const { rotation } = facts;
  const reader: ReaderState = spec.readOnlyRole ? 'active' : facts.readerComposed ? 'retired' : 'absent';
  const readerRole = isIdentifier(observed.readerRole) ? observed.readerRole : readOnlyRoleName(role);
  const orphanedData = spec.dbDeletionPolicy === 'Orphan' || spec.roleDeletionPolicy === 'Orphan';
  return {
    tenant,
    spec,
    input,
    database,
    role,
    rotation,
    secretsManager: spec.secretsManager.enabled ?? input.secretsManager.enabled,
    tenantLogin: login('', role, true, tenant, input, rotation),
    reader,
    readerLogin: reader === 'absent' ? undefined : login('readonly-', readerRole, reader === 'active', tenant, input, rotation),
    objects: {
      database: childName(xrName, 'database'),
      grant: childName(xrName, 'grant-database'),
      extension: (ext) => childName(xrName, `ext-${objectSuffix(ext)}`),
      schema: (schema) => childName(xrName, `schema-${objectSuffix(schema)}`),
      roleConnectionSecretNamespace: flavour.mrNamespace ?? input.sql.connectionSecretNamespace,
      usage: (of) => childName(xrName, `protect-${of}`),
      readerGrant: childName(xrName, 'readonly-grant-database'),
      readerSchemaRole: (schema) => childName(xrName, `readonly-role-${objectSuffix(schema)}`),
      readerMembership: (schema) => childName(xrName, `readonly-member-${objectSuffix(schema)}`),
      readerSchemaGrant: (schema) => childName(xrName, `readonly-usage-${objectSuffix(schema)}`),
      readerDefaultPrivileges: (schema, objectType) =>
        childName(xrName, `readonly-${objectType === 'table' ? 'tables' : 'sequences'}-${objectSuffix(schema)}`),
    },
    readerSchemas: ['public', ...spec.schemas],
    policies: {
      database: spec.dbDeletionPolicy,
      role: spec.roleDeletionPolicy,
      // Deleting a Grant revokes it: an orphaned database or role must keep its grants.
      grant: orphanedData ? 'Orphan' : 'Delete',
      inDatabase: 'Orphan',
      awsSecret: spec.secretsManager.deletionPolicy ?? spec.roleDeletionPolicy,
    },
  };
}
