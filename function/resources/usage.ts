/**
 * Deletion protection: Crossplane Usages with a reason and no `by`, which make
 * the API server refuse to delete what they protect. They exist only while
 * spec.deletionProtection is true; switching it off removes them, and then
 * (replayDeletion) a deletion that was refused earlier goes ahead.
 *
 * Claim flavour: ClusterUsages for the cluster-scoped Database, Role (and
 * read-only Role) and XR, and a namespaced Usage for the claim itself, so that
 * deleting the claim (kubectl, an Argo CD prune) is refused at once instead of
 * leaving the claim stuck terminating. Namespaced flavour: Usages in the XR's
 * namespace. Which targets exist is the plan's decision (plan.ts).
 */
import type { Composed, Plan } from '../plan.js';
import type { KubeObject } from './managed.js';

export const PROTECTION_API_VERSION = 'protection.crossplane.io/v1beta1';

function reason(plan: Plan, what: string): string {
  const { namespace, name } = plan.tenant;
  return (
    `${what} of TenantDatabase ${namespace}/${name} is protected (spec.deletionProtection: true). ` +
    'To delete it, set spec.deletionProtection to false first.'
  );
}

export function usage(plan: Plan, { slot, of, what }: Composed & { row: 'usage' }): KubeObject {
  const metadata: Record<string, unknown> = { name: slot.name };
  if (of.usageNamespace) metadata.namespace = of.usageNamespace;
  return {
    apiVersion: PROTECTION_API_VERSION,
    kind: of.usageKind,
    metadata,
    spec: {
      of: { apiVersion: of.apiVersion, kind: of.kind, resourceRef: { name: of.name } },
      reason: reason(plan, what),
      replayDeletion: true,
    },
  };
}
