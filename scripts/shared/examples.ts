/**
 * Requests built from the repository's own examples and Compositions, as
 * Crossplane would send them: the one place where tests and the benchmark
 * get a request for "the example claim", optionally patched, with what a
 * second reconcile observes. Built on request.ts, which turns files into a
 * RunFunctionRequest the way Crossplane does.
 */
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { repoPath } from './paths.js';
import { buildRequest, compositionInput, loadYaml, observedResources, xrFor, type Obj } from './request.js';

export type Flavour = 'claim' | 'namespaced';

/** Each flavour's example: the object an app team writes, its Composition, and what the cluster holds at the second reconcile. */
export const EXAMPLES: Record<Flavour, { xr: string; composition: string; observed: string; connectionSecrets: string }> = {
  claim: {
    xr: 'examples/claim/production.yaml',
    composition: 'compositions/claim.yaml',
    observed: 'examples/claim/observed.yaml',
    connectionSecrets: 'examples/claim/required.yaml',
  },
  namespaced: {
    xr: 'examples/namespaced/tenantdatabase.yaml',
    composition: 'compositions/namespaced.yaml',
    observed: 'examples/namespaced/observed.yaml',
    connectionSecrets: 'examples/namespaced/required.yaml',
  },
};

/**
 * The examples' second reconcile as real Crossplane v2.2.4 sends it: every
 * composed object of the first reconcile observed, the Role carrying its
 * connection details (read from the Role's connection secret).
 */
export const SECOND_RECONCILE = {
  claim: { observed: EXAMPLES.claim.observed, connectionSecrets: EXAMPLES.claim.connectionSecrets },
  namespaced: { observed: EXAMPLES.namespaced.observed, connectionSecrets: EXAMPLES.namespaced.connectionSecrets },
} as const;

/** Objects merge key by key, arrays and scalars replace, null removes. */
export function merge(base: unknown, patch: unknown): unknown {
  if (patch === null) return undefined;
  if (typeof patch !== 'object' || Array.isArray(patch) || typeof base !== 'object' || base === null || Array.isArray(base)) {
    return structuredClone(patch);
  }
  const out: Obj = { ...(base as Obj) };
  for (const [k, v] of Object.entries(patch as Obj)) {
    const merged = merge(out[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  return out;
}

/** What a request is made of: repository-relative files, and patches on top of them. */
export interface RequestParts {
  flavour: Flavour;
  /** The claim or XR file. */
  xr: string;
  /** Patch applied to the file's object (a claim is patched before Crossplane builds its XR). */
  patch?: Obj;
  /** Patch applied to the XR after Crossplane built it from the claim. */
  xrPatch?: Obj;
  /** Patch applied to the Composition's function input. */
  input?: Obj;
  /** Observed composed resources. */
  observed?: string;
  /**
   * Secrets the observed resources write (the Role's connection secret): real
   * Crossplane passes their data as the observed resources' connection details.
   */
  connectionSecrets?: string;
  /** Patches applied to observed composed resources, by composition resource name (null removes one). */
  observedPatch?: Obj;
  /** Resources Crossplane fetched because the function required them, by requirement name. */
  required?: Record<string, Obj[]>;
}

/** A fresh request (no objects shared with an earlier one) from files and patches. */
export function requestFor(c: RequestParts): RunFunctionRequest {
  const [doc] = loadYaml(repoPath(c.xr));
  const patched = merge(doc, c.patch ?? {}) as Obj;
  const [composition] = loadYaml(repoPath(`compositions/${c.flavour}.yaml`));
  const input = merge(compositionInput(composition!), c.input ?? {}) as Obj;
  const secrets = c.connectionSecrets ? loadYaml(repoPath(c.connectionSecrets)) : [];
  const observed = c.observed ? observedResources(loadYaml(repoPath(c.observed)), secrets) : {};
  for (const [key, patch] of Object.entries(c.observedPatch ?? {})) {
    if (patch === null) delete observed[key];
    else observed[key] = { resource: merge(observed[key]?.resource ?? {}, patch) as Obj, connectionDetails: observed[key]?.connectionDetails ?? {}, ready: 0 };
  }
  const xr = merge(xrFor(patched, c.flavour), c.xrPatch ?? {}) as Obj;
  const req = buildRequest(xr, input, observed);
  for (const [key, items] of Object.entries(c.required ?? {})) {
    req.requiredResources[key] = { items: items.map((resource) => ({ resource, connectionDetails: {}, ready: 0 })) };
  }
  return req;
}

/**
 * A flavour's example, first reconcile (nothing observed) or second (its observed.yaml, the Role
 * carrying its connection secret's data as connection details, as Crossplane v2.2.4 passes them).
 */
export function example(flavour: Flavour, observed: boolean, patch?: Omit<RequestParts, 'flavour' | 'xr' | 'observed' | 'connectionSecrets'>): RunFunctionRequest {
  return requestFor({ flavour, xr: EXAMPLES[flavour].xr, ...(observed ? SECOND_RECONCILE[flavour] : {}), ...patch });
}

/** What the cluster holds at the second reconcile: the composed objects and the Role's connection secret. */
export function exampleCluster(flavour: Flavour): Obj[] {
  return [...loadYaml(repoPath(EXAMPLES[flavour].observed)), ...loadYaml(repoPath(EXAMPLES[flavour].connectionSecrets))];
}
