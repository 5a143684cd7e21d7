/**
 * The two flavours of the same TenantDatabase API, and everything that
 * differs between them: API groups, where things live, and how "keep this
 * when the claim goes away" is expressed.
 *
 * - claim: a namespaced TenantDatabase claim binds a cluster-scoped
 *   XTenantDatabase (XRD v1, scope LegacyCluster). Composed MRs are
 *   cluster-scoped and carry spec.deletionPolicy.
 * - namespaced: the TenantDatabase XR itself lives in the app namespace
 *   (XRD v2, scope Namespaced). Composed MRs are namespaced and have no
 *   deletionPolicy: orphaning means managementPolicies without Delete.
 *
 * The function tells them apart from the observed XR alone, so one function
 * binary serves both packages.
 */
import type { DeletionPolicy } from './spec.js';
import type { ProviderConfigRef } from './input.js';
import { isNamespace, isObjectName } from './naming.js';

export const GROUP = 'tenantdb.platform.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const CLAIM_KIND = 'TenantDatabase';
export const XR_KIND_CLAIM_FLAVOUR = 'XTenantDatabase';
export const XR_KIND_NAMESPACED = 'TenantDatabase';

/** The API version of every provider-sql PostgreSQL kind, in both groups. */
export const SQL_VERSION = 'v1alpha1';

/** Crossplane's labels on a claim-bound XR. */
export const CLAIM_NAME_LABEL = 'crossplane.io/claim-name';
export const CLAIM_NAMESPACE_LABEL = 'crossplane.io/claim-namespace';

/** Every policy but Delete: Crossplane creates, updates and observes, and never deletes the external object. */
const ORPHAN_MANAGEMENT_POLICIES = ['Observe', 'Create', 'Update', 'LateInitialize'];

export interface Flavour {
  name: 'claim' | 'namespaced';
  sqlGroup: string;
  awsGroup: string;
  usageKind: 'ClusterUsage' | 'Usage';
  /** Namespace for namespaced composed objects; undefined for cluster-scoped MRs. */
  mrNamespace?: string;
  /** Spec fields that make a managed resource keep (Orphan) or drop (Delete) its external object. */
  deletion(policy: DeletionPolicy): Record<string, unknown>;
  /** providerConfigRef as the MR's group spells it. */
  providerConfigRef(ref: ProviderConfigRef): Record<string, string>;
  /** A reference to a Kubernetes Secret key, as the MR's group spells it. */
  secretKeyRef(name: string, key: string, namespace: string): Record<string, string>;
  /**
   * Where a Role writes its connection secret: the platform's namespace for
   * cluster-scoped MRs (`configured`, from the function input), the MR's own
   * namespace for namespaced ones.
   */
  connectionSecretNamespace(configured: string): string;
  /** writeConnectionSecretToRef as the MR's group spells it (namespaced MRs take no namespace). */
  connectionSecretRef(name: string, configured: string): Record<string, string>;
  /**
   * The claim, when there is one to protect apart from the XR: deleting a claim
   * (kubectl, an Argo CD prune) must be refused at once rather than leave it
   * stuck terminating. Namespaced XRs have no claim.
   */
  claimUsageTarget(tenant: Tenant): UsageTarget | undefined;
}

/** What a Usage protects, and where the Usage itself lives. */
export interface UsageTarget {
  apiVersion: string;
  kind: string;
  name: string;
  /** The Usage's kind and namespace: a claim is protected by a namespaced Usage beside it. */
  usageKind: 'ClusterUsage' | 'Usage';
  usageNamespace?: string;
}

/** Who the tenant is: the Kubernetes namespace and name the app team wrote. */
export interface Tenant {
  namespace: string;
  name: string;
  /** The XR's own name (differs from name for claims: Crossplane adds a suffix). */
  xrName: string;
  xrApiVersion: string;
  xrKind: string;
  flavour: Flavour;
}

const claimFlavour: Flavour = {
  name: 'claim',
  sqlGroup: 'postgresql.sql.crossplane.io',
  awsGroup: 'secretsmanager.aws.upbound.io',
  usageKind: 'ClusterUsage',
  deletion: (policy) => ({ deletionPolicy: policy }),
  providerConfigRef: (ref) => ({ name: ref.name }),
  secretKeyRef: (name, key, namespace) => ({ key, name, namespace }),
  connectionSecretNamespace: (configured) => configured,
  connectionSecretRef: (name, configured) => ({ name, namespace: configured }),
  claimUsageTarget: (tenant) => ({
    apiVersion: tenant.xrApiVersion,
    kind: CLAIM_KIND,
    name: tenant.name,
    usageKind: 'Usage',
    usageNamespace: tenant.namespace,
  }),
};

function namespacedFlavour(namespace: string): Flavour {
  return {
    name: 'namespaced',
    sqlGroup: 'postgresql.sql.m.crossplane.io',
    awsGroup: 'secretsmanager.aws.m.upbound.io',
    usageKind: 'Usage',
    mrNamespace: namespace,
    deletion: (policy) => (policy === 'Orphan' ? { managementPolicies: [...ORPHAN_MANAGEMENT_POLICIES] } : { managementPolicies: ['*'] }),
    providerConfigRef: (ref) => ({ kind: ref.kind, name: ref.name }),
    secretKeyRef: (name, key) => ({ key, name }),
    connectionSecretNamespace: () => namespace,
    connectionSecretRef: (name) => ({ name }),
    claimUsageTarget: () => undefined,
  };
}

/**
 * Identify flavour and tenant from the observed XR, or say precisely why the
 * XR cannot be served. Everything used later as a name is validated here.
 */
export function identifyTenant(xr: Record<string, unknown> | undefined): { tenant: Tenant } | { error: string } {
  if (!xr || typeof xr !== 'object') return { error: 'observed composite resource: is missing' };
  const apiVersion = xr.apiVersion;
  const kind = xr.kind;
  if (apiVersion !== API_VERSION) {
    return { error: `observed composite resource: apiVersion must be ${API_VERSION}` };
  }
  const metadata = (xr.metadata ?? {}) as Record<string, unknown>;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) return { error: 'metadata: must be an object' };
  const xrName = metadata.name;
  if (!isObjectName(xrName)) return { error: 'metadata.name: must be a Kubernetes object name (RFC 1123 subdomain)' };

  if (kind === XR_KIND_CLAIM_FLAVOUR) {
    const labels = (metadata.labels ?? {}) as Record<string, unknown>;
    const namespace = labels[CLAIM_NAMESPACE_LABEL];
    const name = labels[CLAIM_NAME_LABEL];
    if (namespace === undefined || name === undefined) {
      return {
        error: `${XR_KIND_CLAIM_FLAVOUR} ${xrName}: create it through a ${CLAIM_KIND} claim; ` +
          `the claim's namespace decides where the credentials Secret goes`,
      };
    }
    if (!isNamespace(namespace)) return { error: `metadata.labels["${CLAIM_NAMESPACE_LABEL}"]: must be a namespace name` };
    if (!isObjectName(name)) return { error: `metadata.labels["${CLAIM_NAME_LABEL}"]: must be a Kubernetes object name` };
    return { tenant: { namespace, name, xrName, xrApiVersion: apiVersion, xrKind: kind, flavour: claimFlavour } };
  }
  if (kind === XR_KIND_NAMESPACED) {
    const namespace = metadata.namespace;
    if (!isNamespace(namespace)) return { error: 'metadata.namespace: must be a namespace name' };
    return {
      tenant: { namespace, name: xrName, xrName, xrApiVersion: apiVersion, xrKind: kind, flavour: namespacedFlavour(namespace) },
    };
  }
  return { error: `observed composite resource: kind must be ${XR_KIND_CLAIM_FLAVOUR} or ${XR_KIND_NAMESPACED}` };
}
