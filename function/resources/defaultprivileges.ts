/**
 * What makes the read-only role read everything the tenant creates: default
 * privileges (ALTER DEFAULT PRIVILEGES FOR ROLE <tenant> IN SCHEMA <s> GRANT
 * SELECT ON TABLES / SEQUENCES TO <reader>), one per schema and object type.
 *
 * provider-sql v0.16.0's Grant names tables one by one, so grants cannot cover
 * tables created later; default privileges do, for every table and sequence
 * the tenant role creates from then on. Tables that existed before (an adopted
 * database) need one GRANT ... ON ALL TABLES IN SCHEMA, documented in the
 * README. SELECT on a sequence reads its value; USAGE would allow nextval(),
 * which writes, so the reader does not get it.
 */
import type { Plan } from '../plan.js';
import { sqlManaged, type KubeObject } from './managed.js';

export function readerDefaultPrivileges(plan: Plan, reader: string, schema: string, objectType: 'table' | 'sequence'): KubeObject {
  return sqlManaged(plan, {
    kind: 'DefaultPrivileges',
    name: plan.objects.readerDefaultPrivileges(schema, objectType),
    forProvider: {
      role: reader,
      targetRole: plan.role,
      database: plan.database,
      schema,
      objectType,
      privileges: ['SELECT'],
    },
    policy: plan.policies.grant,
  });
}
