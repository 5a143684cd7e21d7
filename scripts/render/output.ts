/**
 * What `crossplane render` (Crossplane CLI v2.2) prints for a function's
 * answer, reproduced so that `npm run render` and the real CLI can be compared
 * line by line (cmd/crank/render/render.go and cmd.go):
 *
 * - the XR first: the desired composite the function returned, with the
 *   XR's apiVersion, kind, name (and namespace) put back, and status
 *   conditions: Ready (Available, or Creating naming unready resources), then
 *   every condition the function returned except Crossplane's own types,
 *   each with status "True"/"False"/"Unknown" and the fixed
 *   lastTransitionTime render uses;
 * - then each desired composed resource, sorted by composition resource
 *   name, with the metadata Crossplane adds (annotation, composite and claim
 *   labels, controller reference), keeping an observed resource's name.
 *
 * A Fatal result prints nothing but the CLI's error.
 */
import { stringify } from 'yaml';
import { Ready, Status, type Resource, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { CLAIM_NAME_LABEL, CLAIM_NAMESPACE_LABEL } from '../../function/flavour.js';
import { byteOrder, COMPOSITE_LABEL, COMPOSITION_RESOURCE_NAME, type Obj, type ObservedMap } from '../shared/request.js';

/** render's stand-in for a time: "lastTransitionTime would just be noise". */
export const CONDITION_TIME = '2024-01-01T00:00:00Z';
/** Condition types Crossplane owns; render ignores them when a function returns them. */
const SYSTEM_CONDITIONS = new Set(['Ready', 'Synced', 'Healthy']);
/** How many unready resources the Ready condition names (crossplane-runtime's DefaultFirstN). */
const FIRST_N = 3;

/** The CLI's error for a Fatal result (after "crossplane: error: "). */
export function fatalError(step: string, message: string): string {
  return `cannot render composite resource: pipeline step "${step}" returned a fatal result: ${message}`;
}

const STATUS_TEXT: Record<number, string> = {
  [Status.STATUS_CONDITION_TRUE]: 'True',
  [Status.STATUS_CONDITION_FALSE]: 'False',
};

/** The XR as render prints it. */
export function renderedXr(xr: Obj, rsp: RunFunctionResponse): Obj {
  const out: Obj = structuredClone(rsp.desired?.composite?.resource ?? {});
  out.apiVersion = xr.apiVersion;
  out.kind = xr.kind;
  out.metadata = { ...out.metadata, name: xr.metadata?.name };
  if (xr.metadata?.namespace) out.metadata.namespace = xr.metadata.namespace;
  else delete out.metadata.namespace;

  const conditions: Obj[] = [...(out.status?.conditions ?? [])];
  const set = (c: Obj) => {
    const i = conditions.findIndex((x) => x.type === c.type);
    if (i >= 0) conditions[i] = c;
    else conditions.push(c);
  };
  set(readyCondition(rsp));
  for (const c of rsp.conditions ?? []) {
    if (SYSTEM_CONDITIONS.has(c.type)) continue;
    set({
      type: c.type,
      status: STATUS_TEXT[c.status] ?? 'Unknown',
      lastTransitionTime: CONDITION_TIME,
      reason: c.reason,
      ...(c.message ? { message: c.message } : {}),
    });
  }
  out.status = { ...out.status, conditions };
  return out;
}

function readyCondition(rsp: RunFunctionResponse): Obj {
  const unready = Object.entries(rsp.desired?.resources ?? {})
    .filter(([, r]) => r.ready !== Ready.READY_TRUE)
    .map(([name]) => name);
  const creating = { type: 'Ready', status: 'False', lastTransitionTime: CONDITION_TIME, reason: 'Creating' };
  if (rsp.desired?.composite?.ready === Ready.READY_FALSE) return creating;
  if (rsp.desired?.composite?.ready === Ready.READY_UNSPECIFIED && unready.length > 0) {
    return { ...creating, message: `Unready resources: ${firstNAndSomeMore(unready)}` };
  }
  return { type: 'Ready', status: 'True', lastTransitionTime: CONDITION_TIME, reason: 'Available' };
}

/** crossplane-runtime's StableNAndSomeMore: sorted, the first three, then "and N more". */
function firstNAndSomeMore(names: string[]): string {
  const sorted = [...names].sort(byteOrder);
  if (sorted.length > FIRST_N) return `${sorted.slice(0, FIRST_N).join(', ')}, and ${sorted.length - FIRST_N} more`;
  if (sorted.length === FIRST_N) return `${sorted.slice(0, FIRST_N - 1).join(', ')}, and ${sorted[FIRST_N - 1]}`;
  return sorted.join(', ');
}

/** The desired composed resources as render prints them, in composition resource name order. */
export function renderedComposed(xr: Obj, rsp: RunFunctionResponse, observed: ObservedMap): Obj[] {
  return Object.entries<Resource>(rsp.desired?.resources ?? {})
    .sort(([a], [b]) => byteOrder(a, b))
    .map(([name, r]) => withComposedMetadata(structuredClone(r.resource ?? {}), xr, name, observed[name]?.resource));
}

/**
 * Crossplane's composed resource metadata: an observed resource keeps its
 * name and namespace; a namespaced XR composes into its own namespace; the
 * composition-resource-name annotation, the crossplane.io/composite and claim
 * labels, and the XR as controller.
 */
function withComposedMetadata(cd: Obj, xr: Obj, name: string, observed: Obj | undefined): Obj {
  const meta: Obj = (cd.metadata = { ...cd.metadata });
  if (observed) {
    for (const field of ['namespace', 'name', 'generateName'] as const) {
      if (observed.metadata?.[field]) meta[field] = observed.metadata[field];
      else delete meta[field];
    }
  }
  const xrLabels = xr.metadata?.labels ?? {};
  const prefix = xrLabels[COMPOSITE_LABEL] || xr.metadata?.name;
  if (!meta.name && !meta.generateName) meta.generateName = `${prefix}-`;
  if (xr.metadata?.namespace) meta.namespace = xr.metadata.namespace;
  meta.annotations = { ...meta.annotations, [COMPOSITION_RESOURCE_NAME]: name };
  const claim =
    xrLabels[CLAIM_NAME_LABEL] && xrLabels[CLAIM_NAMESPACE_LABEL]
      ? { [CLAIM_NAMESPACE_LABEL]: xrLabels[CLAIM_NAMESPACE_LABEL], [CLAIM_NAME_LABEL]: xrLabels[CLAIM_NAME_LABEL] }
      : xr.spec?.claimRef
        ? { [CLAIM_NAMESPACE_LABEL]: xr.spec.claimRef.namespace, [CLAIM_NAME_LABEL]: xr.spec.claimRef.name }
        : {};
  meta.labels = { ...meta.labels, [COMPOSITE_LABEL]: prefix, ...claim };
  const controller = { apiVersion: xr.apiVersion, kind: xr.kind, name: xr.metadata?.name, uid: xr.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
  meta.ownerReferences = [...(meta.ownerReferences ?? []).filter((r: Obj) => !r.controller), controller];
  return cd;
}

/** A YAML stream as the Go YAML encoder writes it: keys sorted, sequences not indented. */
export function yamlStream(docs: Obj[]): string {
  return docs.map((d) => `---\n${stringify(d, { lineWidth: 0, sortMapEntries: true, indentSeq: false })}`).join('');
}
