/**
 * Grants. The tenant's role gets CONNECT, CREATE and TEMPORARY on its
 * database, with PUBLIC's grants revoked so that no other tenant's role can
 * even connect to it. The read-only role gets CONNECT on the database and
 * USAGE on each schema it reads (public and the listed ones); what it may read
 * there comes from default privileges (defaultprivileges.ts).
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

export function readerSchemaGrant(plan: Plan, reader: string, schema: string): KubeObject {
  return sqlManaged(plan, {
    kind: 'Grant',
    name: plan.objects.readerSchemaGrant(schema),
    forProvider: { role: reader, database: plan.database, schema, privileges: ['USAGE'] },
    policy: plan.policies.grant,
  });
}
