/**
 * A login role: the tenant's own, or its read-only reader. Every elevated
 * attribute is set to false explicitly, so that nothing (a provider default, a
 * manual ALTER ROLE that provider-sql reconciles away) can leave a tenant with
 * more than LOGIN.
 *
 * There is no passwordSecretRef: provider-sql generates the password and
 * publishes it, with username, endpoint and port, to the connection secret.
 * That secret is named after the rotation trigger; a name provider-sql has not
 * written yet is a missing secret, which provider-sql v0.16.0 answers with a
 * new password (SPEC, measured) — its own passwordRotationTrigger does nothing
 * for a role created with a generated password, and is not used.
 */
import type { Composed, Plan } from '../plan.js';
import { sqlManaged, type KubeObject } from './managed.js';

/** LOGIN as given, and every elevated attribute false, spelt out. */
function privileges(login: boolean): Record<string, boolean> {
  return { login, inherit: true, superUser: false, createDb: false, createRole: false, replication: false, bypassRls: false };
}

export function role(plan: Plan, { slot, login }: Composed & { row: 'role' }): KubeObject {
  const { spec, tenant, input } = plan;
  const forProvider: Record<string, unknown> = {
    privileges: privileges(login.canLogin),
  };
  // The tenant's limit is for the tenant's connections; readers (BI tools) are not counted against it.
  if (login.owner === 'tenant') forProvider.connectionLimit = spec.connectionLimit;
  return sqlManaged(plan, {
    kind: 'Role',
    name: slot.name,
    externalName: login.role,
    forProvider,
    policy: plan.policies.role,
    extraSpec: { writeConnectionSecretToRef: tenant.flavour.connectionSecretRef(login.roleConnectionSecret, input.sql.connectionSecretNamespace) },
  });
}

/**
 * The reader's role for one schema: it cannot log in and holds only USAGE on
 * the schema and the default privileges there (defaultprivileges.ts says why
 * it exists). It follows the role deletion policy; it is dropped with the
 * database's objects gone, or kept.
 */
export function readerSchemaRole(plan: Plan, item: Composed & { row: 'readerSchemaRole' }): KubeObject {
  return sqlManaged(plan, {
    kind: 'Role',
    name: item.slot.name,
    externalName: item.schemaRole.role,
    forProvider: { privileges: privileges(false) },
    policy: plan.policies.role,
  });
}
