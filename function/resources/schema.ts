/**
 * An extra schema in the tenant's database, owned by the tenant role (so it
 * can create in it), with PUBLIC's usage revoked. Schemas hold tables, so they
 * follow the database's deletion policy, and a Delete never cascades.
 */
import type { Composed, Plan } from '../plan.js';
import { sqlManaged, type KubeObject } from './managed.js';

export function schema(plan: Plan, item: Composed & { row: 'schema' }): KubeObject {
  return sqlManaged(plan, {
    kind: 'Schema',
    name: item.slot.name,
    externalName: item.schema,
    forProvider: { database: plan.database, role: plan.role, revokePublicOnSchema: true, dropBehavior: 'RESTRICT' },
    policy: plan.policies.database,
  });
}
