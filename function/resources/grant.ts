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
import type { Composed, Plan } from '../plan.js';
import { sqlManaged, type KubeObject } from './managed.js';

export const DATABASE_PRIVILEGES = ['CONNECT', 'CREATE', 'TEMPORARY'];

export function databaseGrant(plan: Plan, item: Composed & { row: 'grant' }): KubeObject {
  return sqlManaged(plan, {
    kind: 'Grant',
    name: item.slot.name,
    forProvider: {
      role: plan.role,
      database: plan.database,
      privileges: [...DATABASE_PRIVILEGES],
      revokePublicOnDb: true,
    },
    policy: plan.policies.grant,
  });
}

export function readerDatabaseGrant(plan: Plan, item: Composed & { row: 'readerGrant' }): KubeObject {
  return sqlManaged(plan, {
    kind: 'Grant',
    name: item.slot.name,
    forProvider: { role: item.reader.role, database: plan.database, privileges: ['CONNECT'] },
    policy: plan.policies.grant,
  });
}

/** The reader joins its role for one schema (GRANT <schema role> TO <reader>) and inherits what it holds. */
export function readerMembership(plan: Plan, item: Composed & { row: 'readerMembership' }): KubeObject {
  return sqlManaged(plan, {
    kind: 'Grant',
    name: item.slot.name,
    forProvider: { role: item.reader.role, memberOf: item.schemaRole.role },
    policy: plan.policies.grant,
  });
}

/**
 * Alternating rotation: a login role's membership in the tenant role, so that its sessions may
 * act as the tenant role (role.ts sets role=<tenant role> for them). It follows the grants' policy:
 * revoked with the tenant's access, kept when that is kept.
 */
export function loginMembership(plan: Plan, item: Composed & { row: 'loginMembership' }): KubeObject {
  return sqlManaged(plan, {
    kind: 'Grant',
    name: item.slot.name,
    forProvider: { role: item.login.role, memberOf: plan.role },
    policy: plan.policies.grant,
  });
}

export function readerSchemaGrant(plan: Plan, item: Composed & { row: 'readerSchemaGrant' }): KubeObject {
  const { role, schema } = item.schemaRole;
  return sqlManaged(plan, {
    kind: 'Grant',
    name: item.slot.name,
    forProvider: { role, database: plan.database, schema, privileges: ['USAGE'] },
    policy: plan.policies.inDatabase,
  });
}
