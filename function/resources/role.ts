/**
 * The tenant's login role. Every elevated attribute is set to false
 * explicitly, so that nothing (a provider default, a manual ALTER ROLE that
 * provider-sql reconciles away) can leave a tenant with more than LOGIN.
 *
 * There is no passwordSecretRef: provider-sql generates the password once and
 * publishes it, with username, endpoint and port, to the connection secret.
 */
import type { Plan } from '../plan.js';
import { sqlManaged, type KubeObject } from './managed.js';

export function role(plan: Plan): KubeObject {
  const { spec, objects, tenant } = plan;
  const forProvider: Record<string, unknown> = {
    privileges: {
      login: true,
      inherit: true,
      superUser: false,
      createDb: false,
      createRole: false,
      replication: false,
      bypassRls: false,
    },
    connectionLimit: spec.connectionLimit,
  };
  if (spec.passwordRotationTrigger) forProvider.passwordRotationTrigger = spec.passwordRotationTrigger;
  const ref: Record<string, string> = { name: objects.roleConnectionSecret };
  if (!tenant.flavour.mrNamespace) ref.namespace = objects.roleConnectionSecretNamespace;
  return sqlManaged(plan, {
    kind: 'Role',
    name: objects.role,
    externalName: plan.role,
    forProvider,
    policy: plan.policies.role,
    extraSpec: { writeConnectionSecretToRef: ref },
  });
}
