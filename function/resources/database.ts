/**
 * The tenant's PostgreSQL database, owned by the tenant role.
 *
 * Ownership is the PostgreSQL 15 answer: since 15, PUBLIC may no longer create
 * in schema public, and grants on the database do not change that ("permission
 * denied for schema public"). Schema public belongs to pg_database_owner, so
 * the owner of the database can create tables there at once, on 15 and on
 * older servers alike.
 *
 * spec.connectionLimit is the database's CONNECTION LIMIT: one limit for the
 * tenant, whichever login a session uses (the tenant role, Alternating
 * rotation's two logins, the reader), so a tenant never holds more sessions
 * on the shared server than it asked for. Superusers are not counted.
 */
import type { Composed, Plan } from '../plan.js';
import { sqlManaged, type KubeObject } from './managed.js';

export function database(plan: Plan, item: Composed & { row: 'database' }): KubeObject {
  const { spec } = plan;
  const forProvider: Record<string, unknown> = { owner: plan.role, connectionLimit: spec.connectionLimit };
  if (spec.encoding) forProvider.encoding = spec.encoding;
  if (spec.lcCollate) forProvider.lcCollate = spec.lcCollate;
  if (spec.lcCType) forProvider.lcCType = spec.lcCType;
  // template1 may carry another encoding or locale; template0 accepts any.
  if (spec.encoding || spec.lcCollate || spec.lcCType) forProvider.template = 'template0';
  return sqlManaged(plan, {
    kind: 'Database',
    name: item.slot.name,
    externalName: plan.database,
    forProvider,
    policy: plan.policies.database,
  });
}
