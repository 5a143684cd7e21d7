/**
 * What makes the read-only role read everything the tenant creates: default
 * privileges (ALTER DEFAULT PRIVILEGES FOR ROLE <tenant> IN SCHEMA <s> GRANT
 * SELECT ON TABLES / SEQUENCES TO <grantee>), per schema and object type.
 *
 * The grantee is the reader's role for that schema (role.ts), not the reader:
 * provider-sql v0.16.0 observes a DefaultPrivileges by grantee and object type
 * only (crossplane-contrib/provider-sql#458), so a second one for the same
 * grantee would be reported Ready without ever being applied; and its CRD
 * requires a schema, so one for the whole database cannot be written (both
 * proven: test/sql/ and the API server in test/e2e/).
 *
 * provider-sql's Grant names tables one by one, so grants cannot cover tables
 * created later; default privileges do, for every table and sequence the
 * tenant role creates from then on. Tables that existed before need one GRANT
 * ... ON ALL TABLES IN SCHEMA (README). SELECT on a sequence reads its value;
 * USAGE would allow nextval(), which writes.
 */
import type { Composed, Plan } from '../plan.js';
import { sqlManaged, type KubeObject } from './managed.js';

export function readerDefaultPrivileges(plan: Plan, item: Composed & { row: 'readerDefaultPrivileges' }): KubeObject {
  return sqlManaged(plan, {
    kind: 'DefaultPrivileges',
    name: item.slot.name,
    forProvider: {
      role: item.schemaRole.role,
      targetRole: plan.role,
      database: plan.database,
      schema: item.schemaRole.schema,
      objectType: item.objectType,
      privileges: ['SELECT'],
    },
    policy: plan.policies.inDatabase,
  });
}
