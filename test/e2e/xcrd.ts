/**
 * The CRDs Crossplane would generate from our XRDs, approximated: Crossplane
 * itself cannot run here, so we build them the way its xcrd package does in
 * outline. The user-facing part (spec and status from the XRD's
 * openAPIV3Schema, with its defaults, enums and CEL rules) is taken as is;
 * the fields Crossplane adds (compositionRef, claimRef, resourceRefs,
 * spec.crossplane, status.conditions, ...) are left open
 * (x-kubernetes-preserve-unknown-fields), since the function never writes
 * them and their exact shape is Crossplane's business.
 *
 * That is enough to check, in a real API server, that the examples are valid
 * claims/XRs and that the XR status the function returns survives the
 * status subresource (Crossplane writes it; a field not in the XRD's status
 * schema would be pruned).
 */
import type { Obj } from './apiserver.js';
import { CLAIM_SPEC, CROSSPLANE_STATUS as STATUS, LEGACY_XR_SPEC, V2_XR_SPEC } from '../../scripts/render/crossplane-fields.js';

function withFields(schema: Obj | undefined, extra: Obj): Obj {
  const s = structuredClone(schema ?? { type: 'object' });
  s.type ??= 'object';
  s.properties = { ...(s.properties ?? {}), ...structuredClone(extra) };
  return s;
}

function crd(xrd: Obj, names: Obj, scope: 'Cluster' | 'Namespaced', specExtra: Obj): Obj {
  const versions = (xrd.spec.versions as Obj[]).map((v, i) => {
    const root = v.schema?.openAPIV3Schema ?? {};
    return {
      name: v.name,
      served: v.served,
      storage: i === 0,
      additionalPrinterColumns: v.additionalPrinterColumns,
      subresources: { status: {} },
      schema: {
        openAPIV3Schema: {
          ...structuredClone(root),
          type: 'object',
          required: ['spec'],
          properties: {
            ...(structuredClone(root.properties ?? {}) as Obj),
            apiVersion: { type: 'string' },
            kind: { type: 'string' },
            metadata: { type: 'object' },
            spec: withFields(root.properties?.spec, specExtra),
            status: withFields(root.properties?.status, STATUS),
          },
        },
      },
    };
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${xrd.spec.group}` },
    spec: { group: xrd.spec.group, names: { ...names, listKind: `${names.kind}List`, singular: names.kind.toLowerCase() }, scope, versions },
  };
}

/** The CRDs an XRD makes Crossplane install: the XR's, and the claim's when the XRD offers one. */
export function crdsForXrd(xrd: Obj): Obj[] {
  const scope = xrd.spec.scope ?? (xrd.apiVersion === 'apiextensions.crossplane.io/v1' ? 'LegacyCluster' : 'Cluster');
  const legacy = scope === 'LegacyCluster';
  const out = [crd(xrd, xrd.spec.names, scope === 'Namespaced' ? 'Namespaced' : 'Cluster', legacy ? LEGACY_XR_SPEC : V2_XR_SPEC)];
  if (xrd.spec.claimNames) out.push(crd(xrd, xrd.spec.claimNames, 'Namespaced', CLAIM_SPEC));
  return out;
}
