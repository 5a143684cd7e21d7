/**
 * Grants. The tenant's role gets CONNECT, CREATE and TEMPORARY on its
 * database, with PUBLIC's grants revoked so that no other tenant's role can
 * even connect to it. The read-only role gets CONNECT on the database and
 * membership in one role per schema it reads (public and the listed ones),
 * which holds USAGE on that schema and the default privileges on what the
 * tenant creates there (defaultprivileges.ts, role.ts). The schema grants live
 * inside the tenant's database and are never revoked one by one (plan.ts,
 * policies.inDatabase).
 */
import type { Plan } from '../plan.js';
import { sqlManaged, type KubeObject } from './managed.js';

export const DATABASE_PRIVILEGES = ['CONNECT', 'CREATE', 'TEMPORARY'];

export function databaseGrant(plan: Plan): KubeObject {
  return sqlManaged(plan, {
    kind: 'Grant',
    name: plan.objects.grant,
    forProvider: {
      role: plan.role,
      database: plan.database,
      privileges: [...DATABASE_PRIVILEGES],
      revokePublicOnDb: true,
    },
    policy: plan.policies.grant,
  });
}

export function readerDatabaseGrant(plan: Plan, reader: string): KubeObject {
  return sqlManaged(plan, {
    kind: 'Grant',
    name: plan.objects.readerGrant,
    forProvider: { role: reader, database: plan.database, privileges: ['CONNECT'] },
    policy: plan.policies.grant,
  });
}

/** The reader joins its role for one schema (GRANT <schema role> TO <reader>) and inherits what it holds. */
export function readerMembership(plan: Plan, reader: string, schemaRole: string, schema: string): KubeObject {
  return sqlManaged(plan, {
    kind: 'Grant',
    name: plan.objects.readerMembership(schema),
    forProvider: { role: reader, memberOf: schemaRole },
    policy: plan.policies.grant,
  });
}

export function readerSchemaGrant(plan: Plan, schemaRole: string, schema: string): KubeObject {
  return sqlManaged(plan, {
    kind: 'Grant',
    name: plan.objects.readerSchemaGrant(schema),
    forProvider: { role: schemaRole, database: plan.database, schema, privileges: ['USAGE'] },
    policy: plan.policies.inDatabase,
  });
}
