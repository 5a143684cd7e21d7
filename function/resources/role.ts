/**
 * A login role: the tenant's own, or its read-only reader. Every elevated
 * attribute is set to false explicitly, so that nothing (a provider default, a
 * manual ALTER ROLE that provider-sql reconciles away) can leave a tenant with
 * more than LOGIN.
 *
 * The password comes from the login's password Secret (passwordSecretRef,
 * function/passwords.ts), once that Secret exists: provider-sql v0.16.0 sets
 * it at CREATE ROLE, and whenever it differs from the password in the Role's
 * connection secret (a rotation, a lost connection secret) runs ALTER ROLE and
 * publishes username, password, endpoint and port again. The Role carries the
 * password Secret's rotation as an annotation: a changed object is reconciled
 * at once, where a changed Secret alone waits for provider-sql's poll.
 * provider-sql's own passwordRotationTrigger is not used (it plays no part
 * with passwordSecretRef). A Role made by an earlier version without a
 * password Secret keeps its generated password until the Secret exists.
 */
import type { Composed, Plan } from '../plan.js';
import { ROTATION_ANNOTATION } from '../passwords.js';
import { sqlManaged, type KubeObject } from './managed.js';

/** LOGIN as given, and every elevated attribute false, spelt out. */
function privileges(login: boolean): Record<string, boolean> {
  return { login, inherit: true, superUser: false, createDb: false, createRole: false, replication: false, bypassRls: false };
}

export function role(plan: Plan, { slot, login }: Composed & { row: 'role' }): KubeObject {
  const { tenant, input } = plan;
  const forProvider: Record<string, unknown> = {
    privileges: privileges(login.canLogin),
  };
  // The tenant's limit is the database's (database.ts), however many logins share it; an app's login
  // roles say -1 explicitly, so a limit set by an earlier version is lifted rather than kept per role.
  if (login.owner === 'tenant' || login.owner === 'login-a' || login.owner === 'login-b') forProvider.connectionLimit = -1;
  // Alternating rotation's login roles start every session as the tenant role (SET ROLE), so what
  // they create belongs to it and its default privileges for the reader cover it; they own nothing.
  if (login.owner === 'login-a' || login.owner === 'login-b') forProvider.configurationParameters = [{ name: 'role', value: plan.role }];
  const rotation = login.observedRotation;
  if (rotation !== undefined) {
    forProvider.passwordSecretRef = tenant.flavour.secretKeyRef(login.passwordSecret, 'password', login.passwordSecretNamespace);
  }
  return sqlManaged(plan, {
    kind: 'Role',
    name: slot.name,
    externalName: login.role,
    ...(rotation !== undefined ? { annotations: { [ROTATION_ANNOTATION]: rotation } } : {}),
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
