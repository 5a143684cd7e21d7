/**
 * The plan: every decision about one tenant, made once, before any object is
 * rendered. Resource renderers only read it, so the naming and policy rules
 * live in exactly one place and every renderer sees the same answers.
 */
import type { FunctionInput } from './input.js';
import type { Tenant } from './flavour.js';
import type { DeletionPolicy, TenantDatabaseSpec } from './spec.js';
import { childName, fillTemplate, isIdentifier, objectSuffix, tenantIdentifier } from './naming.js';
import type { Credentials } from './credentials.js';

export const EXTERNAL_NAME = 'crossplane.io/external-name';

export interface Plan {
  tenant: Tenant;
  spec: TenantDatabaseSpec;
  input: FunctionInput;
  /** PostgreSQL identifiers. */
  database: string;
  role: string;
  /** Kubernetes object names of everything composed. */
  objects: {
    database: string;
    role: string;
    grant: string;
    extension(name: string): string;
    schema(name: string): string;
    roleConnectionSecret: string;
    /** Namespace of the Role's connection secret. */
    roleConnectionSecretNamespace: string;
    secret: string;
    awsSecret: string;
    awsSecretString: string;
    awsSecretVersion: string;
    usage(of: string): string;
  };
  awsSecretName: string;
  policies: {
    database: DeletionPolicy;
    role: DeletionPolicy;
    grant: DeletionPolicy;
    awsSecret: DeletionPolicy;
  };
  /** Filled in once the names are known: the Role's name is the fallback username. */
  credentials?: Credentials;
}

/** Observed external names win: a database, once created, is never renamed. */
export interface ObservedNames {
  database?: string;
  role?: string;
}

export function makePlan(
  tenant: Tenant,
  spec: TenantDatabaseSpec,
  input: FunctionInput,
  observed: ObservedNames,
): Plan {
  const { namespace, name, xrName, flavour } = tenant;
  const database = isIdentifier(observed.database)
    ? observed.database
    : tenantIdentifier(input.naming.databaseTemplate, namespace, name);
  const role = isIdentifier(observed.role) ? observed.role : tenantIdentifier(input.naming.roleTemplate, namespace, name);
  const orphanedData = spec.dbDeletionPolicy === 'Orphan' || spec.roleDeletionPolicy === 'Orphan';
  return {
    tenant,
    spec,
    input,
    database,
    role,
    objects: {
      database: childName(xrName, 'database'),
      role: childName(xrName, 'role'),
      grant: childName(xrName, 'grant-database'),
      extension: (ext) => childName(xrName, `ext-${objectSuffix(ext)}`),
      schema: (schema) => childName(xrName, `schema-${objectSuffix(schema)}`),
      roleConnectionSecret: childName(xrName, 'role-connection'),
      roleConnectionSecretNamespace: flavour.mrNamespace ?? input.sql.connectionSecretNamespace,
      secret: `${name}-secret`,
      awsSecret: childName(xrName, 'aws-secret'),
      awsSecretString: `${name}-secretsmanager`,
      awsSecretVersion: childName(xrName, 'aws-secret-version'),
      usage: (of) => childName(xrName, `protect-${of}`),
    },
    awsSecretName: fillTemplate(input.secretsManager.nameTemplate, namespace, name),
    policies: {
      database: spec.dbDeletionPolicy,
      role: spec.roleDeletionPolicy,
      // Deleting a Grant revokes it: an orphaned database or role must keep its grants.
      grant: orphanedData ? 'Orphan' : 'Delete',
      awsSecret: spec.secretsManager.deletionPolicy ?? spec.roleDeletionPolicy,
    },
  };
}
