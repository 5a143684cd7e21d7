/**
 * CONNECT, CREATE and TEMPORARY on the tenant's database, with the PUBLIC
 * grants revoked so that no other tenant's role can even connect to it.
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
