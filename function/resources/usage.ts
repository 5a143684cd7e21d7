/**
 * Deletion protection: Crossplane Usages with a reason and no `by`, which make
 * the API server refuse to delete what they protect. They exist only while
 * spec.deletionProtection is true; switching it off removes them, and then
 * (replayDeletion) a deletion that was refused earlier goes ahead.
 *
 * Claim flavour: ClusterUsages for the cluster-scoped Database, Role (and
 * read-only Role) and XR, and a namespaced Usage for the claim itself, so that deleting the claim
 * (kubectl, an Argo CD prune) is refused at once instead of leaving the claim
 * stuck terminating. Namespaced flavour: Usages in the XR's namespace.
 */
import type { Plan } from '../plan.js';
import { CLAIM_KIND } from '../flavour.js';
import { SQL_VERSION, type KubeObject } from './managed.js';

export const PROTECTION_API_VERSION = 'protection.crossplane.io/v1beta1';

interface Target {
  key: string;
  apiVersion: string;
  kind: string;
  name: string;
}

function reason(plan: Plan, what: string): string {
  const { namespace, name } = plan.tenant;
  return (
    `${what} of TenantDatabase ${namespace}/${name} is protected (spec.deletionProtection: true). ` +
    'To delete it, set spec.deletionProtection to false first.'
  );
}

function usage(plan: Plan, kind: 'Usage' | 'ClusterUsage', namespace: string | undefined, target: Target, what: string): KubeObject {
  const metadata: Record<string, unknown> = { name: plan.objects.usage(target.key) };
  if (namespace) metadata.namespace = namespace;
  return {
    apiVersion: PROTECTION_API_VERSION,
    kind,
    metadata,
    spec: {
      of: { apiVersion: target.apiVersion, kind: target.kind, resourceRef: { name: target.name } },
      reason: reason(plan, what),
      replayDeletion: true,
    },
  };
}

/** The protection objects, keyed by their composed-resource name. */
export function usages(plan: Plan): Record<string, KubeObject> {
  const { flavour, xrApiVersion, xrKind, xrName, namespace, name } = plan.tenant;
  const ns = flavour.mrNamespace;
  const sqlApiVersion = `${flavour.sqlGroup}/${SQL_VERSION}`;
  const targets: [Target, string][] = [
    [{ key: 'database', apiVersion: sqlApiVersion, kind: 'Database', name: plan.objects.database }, `Database ${plan.database}`],
  ];
  for (const login of [plan.tenantLogin, plan.readerLogin]) {
    if (login) targets.push([{ key: `${login.key}role`, apiVersion: sqlApiVersion, kind: 'Role', name: login.objects.role }, `Role ${login.role}`]);
  }
  targets.push([{ key: 'xr', apiVersion: xrApiVersion, kind: xrKind, name: xrName }, `${xrKind} ${xrName}`]);
  const out: Record<string, KubeObject> = {};
  for (const [target, what] of targets) {
    out[`usage-${target.key}`] = usage(plan, flavour.usageKind, ns, target, what);
  }
  if (flavour.name === 'claim') {
    const claim: Target = { key: 'claim', apiVersion: xrApiVersion, kind: CLAIM_KIND, name };
    out['usage-claim'] = usage(plan, 'Usage', namespace, claim, `Claim ${namespace}/${name}`);
  }
  return out;
}
