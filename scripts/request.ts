/**
 * Build RunFunctionRequests the way Crossplane does, from the YAML files a
 * user has: a claim (or namespaced XR), a Composition, and optionally the
 * observed resources of a previous reconcile. Shared by `npm run render` and
 * the tests, so both feed the function exactly what Crossplane would.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { API_VERSION, CLAIM_NAME_LABEL, CLAIM_NAMESPACE_LABEL, XR_KIND_CLAIM_FLAVOUR } from '../function/flavour.js';
import { INPUT_API_VERSION, INPUT_KIND } from '../function/input.js';

export type Obj = Record<string, any>;

/** The annotation `crossplane render` uses to name observed composed resources. */
export const COMPOSITION_RESOURCE_NAME = 'crossplane.io/composition-resource-name';

export function loadYaml(path: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  return docs.map((doc) => {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Obj;
  }).filter((doc) => doc !== null && typeof doc === 'object');
}

/**
 * The XR Crossplane creates for a claim: cluster-scoped, named after the claim
 * plus a suffix (random in Crossplane; derived from the claim here so renders
 * are repeatable), labelled with the claim's name and namespace.
 */
export function claimToXr(claim: Obj): Obj {
  const { name, namespace } = claim.metadata ?? {};
  const suffix = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 5);
  const xrName = `${name}-${suffix}`;
  return {
    apiVersion: API_VERSION,
    kind: XR_KIND_CLAIM_FLAVOUR,
    metadata: {
      name: xrName,
      // Crossplane propagates the claim's annotations to its XR.
      ...(claim.metadata?.annotations ? { annotations: structuredClone(claim.metadata.annotations) } : {}),
      labels: { [CLAIM_NAME_LABEL]: name, [CLAIM_NAMESPACE_LABEL]: namespace, 'crossplane.io/composite': xrName },
    },
    spec: {
      ...structuredClone(claim.spec ?? {}),
      claimRef: { apiVersion: claim.apiVersion, kind: claim.kind, name, namespace },
      compositionRef: { name: 'tenantdatabase-claim' },
    },
  };
}

/**
 * The input of the pipeline step that runs this function, found by its input's
 * apiVersion and kind: the Function's own name depends on where its package was
 * installed from.
 */
export function compositionInput(composition: Obj): Obj {
  const step = composition?.spec?.pipeline?.find(
    (s: Obj) => s?.input?.apiVersion === INPUT_API_VERSION && s?.input?.kind === INPUT_KIND,
  );
  if (!step) throw new Error(`the Composition has no pipeline step with a ${INPUT_API_VERSION} ${INPUT_KIND} input`);
  return step.input;
}

/**
 * Observed composed resources from a YAML stream: objects carrying the
 * composition-resource-name annotation are composed resources; other v1
 * Secrets are connection secrets, handed to the resource whose
 * writeConnectionSecretToRef names them (as Crossplane does).
 */
export type ObservedMap = Record<string, { resource: Obj; connectionDetails: Record<string, Buffer>; ready: number }>;

export function observedResources(docs: Obj[]): ObservedMap {
  const composed = docs.filter((d) => d?.metadata?.annotations?.[COMPOSITION_RESOURCE_NAME]);
  const secrets = docs.filter((d) => d?.apiVersion === 'v1' && d?.kind === 'Secret' && !composed.includes(d));
  const out: ObservedMap = {};
  for (const resource of composed) {
    const key = resource.metadata.annotations[COMPOSITION_RESOURCE_NAME] as string;
    const ref = resource.spec?.writeConnectionSecretToRef;
    const namespace = ref?.namespace ?? resource.metadata.namespace;
    const secret = ref && secrets.find((s) => s.metadata?.name === ref.name && (s.metadata?.namespace ?? namespace) === namespace);
    const connectionDetails: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(secret?.data ?? {})) connectionDetails[k] = Buffer.from(String(v), 'base64');
    for (const [k, v] of Object.entries(secret?.stringData ?? {})) connectionDetails[k] = Buffer.from(String(v), 'utf8');
    out[key] = { resource, connectionDetails, ready: 0 };
  }
  return out;
}

export function buildRequest(xr: Obj, input: Obj, observed: ObservedMap = {}): RunFunctionRequest {
  return {
    meta: { tag: '', capabilities: [] },
    observed: { composite: { resource: xr, connectionDetails: {}, ready: 0 }, resources: observed },
    desired: { composite: undefined, resources: {} },
    input,
    context: undefined,
    extraResources: {},
    credentials: {},
    requiredResources: {},
    requiredSchemas: {},
  } as unknown as RunFunctionRequest;
}

/** The XR for a file holding a claim or a namespaced XR, and which flavour it is. */
export function xrFor(doc: Obj, flavour: 'claim' | 'namespaced'): Obj {
  return flavour === 'claim' ? claimToXr(doc) : doc;
}
