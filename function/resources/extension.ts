/** One PostgreSQL extension in the tenant's database; it lives and dies with the database. */
import type { Composed, Plan } from '../plan.js';
import { sqlManaged, type KubeObject } from './managed.js';

export function extension(plan: Plan, { slot, extension: ext }: Composed & { row: 'extension' }): KubeObject {
  const forProvider: Record<string, unknown> = { extension: ext.name, database: plan.database };
  if (ext.version) forProvider.version = ext.version;
  return sqlManaged(plan, {
    kind: 'Extension',
    name: slot.name,
    forProvider,
    policy: plan.policies.database,
  });
}
