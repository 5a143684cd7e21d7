/** One PostgreSQL extension in the tenant's database; it lives and dies with the database. */
import type { Plan } from '../plan.js';
import type { ExtensionSpec } from '../spec.js';
import { sqlManaged, type KubeObject } from './managed.js';

export function extension(plan: Plan, ext: ExtensionSpec): KubeObject {
  const forProvider: Record<string, unknown> = { extension: ext.name, database: plan.database };
  if (ext.version) forProvider.version = ext.version;
  return sqlManaged(plan, {
    kind: 'Extension',
    name: plan.objects.extension(ext.name),
    forProvider,
    policy: plan.policies.database,
  });
}
