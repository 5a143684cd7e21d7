/**
 * What makes the read-only role read everything the tenant creates: default
 * privileges, one per object type, for the whole database
 * (ALTER DEFAULT PRIVILEGES FOR ROLE <tenant> GRANT SELECT ON TABLES /
 * SEQUENCES TO <reader>). USAGE on a schema (grant.ts) decides which schemas
 * the reader can reach: public and the listed ones.
 *
 * Not one per schema, though PostgreSQL would allow it: provider-sql v0.16.0
 * observes a DefaultPrivileges by grantee and object type only
 * (crossplane-contrib/provider-sql#458), so a second one for the same reader
 * is reported Ready without ever being applied (proven in PostgreSQL by
 * test/sql/). provider-sql's Grant names tables one by one, so grants cannot
 * cover tables created later; default privileges do, for every table and
 * sequence the tenant role creates from then on. Tables that existed before
 * need one GRANT ... ON ALL TABLES IN SCHEMA (README). SELECT on a sequence
 * reads its value; USAGE would allow nextval(), which writes.
 */
import type { Plan } from '../plan.js';
import { sqlManaged, type KubeObject } from './managed.js';

export function readerDefaultPrivileges(plan: Plan, reader: string, objectType: 'table' | 'sequence'): KubeObject {
  return sqlManaged(plan, {
    kind: 'DefaultPrivileges',
    name: plan.objects.readerDefaultPrivileges(objectType),
    forProvider: {
      role: reader,
      targetRole: plan.role,
      database: plan.database,
      objectType,
      privileges: ['SELECT'],
    },
    policy: plan.policies.inDatabase,
  });
}
