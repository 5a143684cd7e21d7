/**
 * Crossplane's requirements loop, for one pipeline step, as Crossplane v2.2.4
 * runs it (internal/xfn, FetchingFunctionRunner; `crossplane render` of the
 * same release runs the same loop): call the function; while the answer is
 * not Fatal and its `requirements` differ from the previous answer's (none
 * before the first call), fetch what they select, put it in the request with
 * the answer's context, and call again, at most 1 + MAX_REQUIREMENTS_ITERATIONS
 * times. So an answer that asks for anything costs a second call, even when
 * the second answer asks for the same thing (the recorded requests in
 * ../shared/fixtures/crossplane-v2.2.4/ show exactly that pair).
 *
 * The comparison is Go's proto.Equal: an absent `requirements` differs from a
 * present but empty one. Maps compare by content, not by order.
 *
 * One loop for `npm run render` and the benchmark; they differ only in where
 * required resources come from (the user's files, or a simulated cluster).
 */
import {
  ResourceSelector,
  SchemaSelector,
  Severity,
  type Requirements,
  type Resources,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';

type Obj = Record<string, any>;

/** Crossplane's MaxRequirementsIterations: the function is called at most this many times plus one. */
export const MAX_REQUIREMENTS_ITERATIONS = 5;

/** The objects a selector finds, in the order Crossplane hands them over. */
export type Fetch = (selector: ResourceSelector) => Obj[];

export interface LoopResult {
  /** Every request sent and every answer, in order. */
  requests: RunFunctionRequest[];
  responses: RunFunctionResponse[];
  /** stable: the requirements repeated (or both absent); fatal: a Fatal result; limit: never stabilized (Crossplane fails the reconcile). */
  stopped: 'stable' | 'fatal' | 'limit';
}

function sortedJson(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, norm((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(norm(value));
}

/** proto.Equal for two Requirements as decoded by the SDK (undefined: the field was absent). */
export function sameRequirements(a: Requirements | undefined, b: Requirements | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const canonical = (r: Requirements) =>
    sortedJson({
      extraResources: Object.fromEntries(Object.entries(r.extraResources ?? {}).map(([k, s]) => [k, ResourceSelector.toJSON(s)])),
      resources: Object.fromEntries(Object.entries(r.resources ?? {}).map(([k, s]) => [k, ResourceSelector.toJSON(s)])),
      schemas: Object.fromEntries(Object.entries(r.schemas ?? {}).map(([k, s]) => [k, SchemaSelector.toJSON(s)])),
    });
  return canonical(a) === canonical(b);
}

function resources(found: Obj[]): Resources {
  return { items: found.map((resource) => ({ resource, connectionDetails: {}, ready: 0 })) };
}

/** Run one step's calls; `call` sends a request and resolves with the answer. */
export async function runWithRequirements(
  call: (request: RunFunctionRequest) => Promise<RunFunctionResponse>,
  first: RunFunctionRequest,
  fetch: Fetch,
): Promise<LoopResult> {
  const bootstrapResources = { ...(first.requiredResources ?? {}) };
  const bootstrapSchemas = { ...(first.requiredSchemas ?? {}) };
  const requests: RunFunctionRequest[] = [];
  const responses: RunFunctionResponse[] = [];
  let previous: Requirements | undefined;
  let req = first;
  for (let i = 0; i <= MAX_REQUIREMENTS_ITERATIONS; i++) {
    requests.push(req);
    const rsp = await call(req);
    responses.push(rsp);
    if (rsp.results.some((r) => r.severity === Severity.SEVERITY_FATAL)) return { requests, responses, stopped: 'fatal' };
    if (sameRequirements(rsp.requirements, previous)) return { requests, responses, stopped: 'stable' };
    previous = rsp.requirements;
    const wanted = rsp.requirements!;
    req = {
      ...req,
      extraResources: Object.fromEntries(Object.entries(wanted.extraResources ?? {}).map(([k, s]) => [k, resources(fetch(s))])),
      requiredResources: { ...bootstrapResources, ...Object.fromEntries(Object.entries(wanted.resources ?? {}).map(([k, s]) => [k, resources(fetch(s))])) },
      // Schemas come from the API server's CRDs, which neither render nor the benchmark has: sent as not found.
      requiredSchemas: { ...bootstrapSchemas, ...Object.fromEntries(Object.keys(wanted.schemas ?? {}).map((k) => [k, { openapiV3: undefined }])) },
      context: rsp.context,
    };
  }
  return { requests, responses, stopped: 'limit' };
}
