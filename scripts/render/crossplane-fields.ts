/**
 * The spec fields Crossplane itself adds to claims and XRs, beside the ones
 * our XRD defines: how a Composition is chosen, connection secrets, the
 * claim/XR binding. They are not in function/spec.ts (the function never reads
 * them), yet a claim or XR may carry them, so whoever checks a spec against
 * the XRD (`npm run render`) or builds the CRD Crossplane would generate
 * (test/e2e/xcrd.ts) needs them. Their inner shape is Crossplane's business:
 * they are left open.
 */

const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } as const;
const openArray = { type: 'array', items: open } as const;

/** Spec fields Crossplane adds to both claims and v1 XRs: how a Composition is chosen, and connection secrets. */
const COMPOSITION_SPEC = {
  compositionRef: open,
  compositionSelector: open,
  compositionRevisionRef: open,
  compositionRevisionSelector: open,
  compositionUpdatePolicy: { type: 'string' },
  publishConnectionDetailsTo: open,
  writeConnectionSecretToRef: open,
} as const;

/** Spec fields Crossplane adds to a v1 (LegacyCluster) XR. */
export const LEGACY_XR_SPEC = {
  ...COMPOSITION_SPEC,
  claimRef: open,
  environmentConfigRefs: openArray,
  resourceRefs: openArray,
} as const;

/** Spec fields Crossplane adds to a claim. */
export const CLAIM_SPEC = {
  ...COMPOSITION_SPEC,
  compositeDeletePolicy: { type: 'string' },
  resourceRef: open,
} as const;

/** Spec fields Crossplane adds to a v2 (Namespaced / Cluster) XR. */
export const V2_XR_SPEC = { crossplane: open } as const;

/** Status fields Crossplane adds to every claim and XR. */
export const CROSSPLANE_STATUS = {
  conditions: openArray,
  connectionDetails: open,
  claimConditionTypes: { type: 'array', items: { type: 'string' } },
} as const;
