/**
 * Build RunFunctionRequests the way Crossplane does, from the YAML files a
 * user has: a claim (or an XR), a Composition, and optionally the observed
 * resources of a previous reconcile and the resources the function requires.
 * Shared by `npm run render` and the tests, so both feed the function exactly
 * what Crossplane would.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Capability, type RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { API_VERSION, CLAIM_NAME_LABEL, DEFAULT_COMPOSITION, CLAIM_NAMESPACE_LABEL, XR_KIND_CLAIM_FLAVOUR } from '../../function/flavour.js';
import { INPUT_API_VERSION, INPUT_KIND } from '../../function/input.js';

export type Obj = Record<string, any>;

/** The annotation `crossplane render` uses to name observed composed resources. */
export const COMPOSITION_RESOURCE_NAME = 'crossplane.io/composition-resource-name';

/** The label Crossplane puts on an XR and on everything it composes: the (root) XR's name. */
export const COMPOSITE_LABEL = 'crossplane.io/composite';

/**
 * How kubectl reads a manifest: sigs.k8s.io/yaml parses with go-yaml v2, which
 * is YAML 1.1, so `off`, `no`, `y` and friends are booleans there. Read as
 * YAML 1.2 (the yaml package's default), `deletionProtection: off` would be
 * the string "off", refused by the schema, though kubectl applies it as false.
 */
export const KUBECTL_YAML = { version: '1.1' } as const;

/**
 * The objects of a YAML file, or of every .yaml/.yml file directly in a
 * directory in name order (as `crossplane render` reads its file arguments),
 * read as kubectl reads them (KUBECTL_YAML). Empty documents are skipped.
 */
export function loadYaml(path: string): Obj[] {
  if (statSync(path).isDirectory()) {
    return readdirSync(path)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .flatMap((f) => loadYaml(join(path, f)));
  }
  const docs = parseAllDocuments(readFileSync(path, 'utf8'), KUBECTL_YAML);
  return docs.map((doc) => {
    if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Obj;
  }).filter((doc) => doc !== null && typeof doc === 'object');
}

/**
 * The XR Crossplane creates for a claim: cluster-scoped, named after the claim
 * plus a suffix (random in Crossplane; derived from the claim here so renders
 * are repeatable, unless the caller knows the real name), carrying the
 * claim's annotations and labels (but Kubernetes' own), labelled with the
 * claim's name and namespace, bound to the claim by spec.claimRef.
 */
export function claimToXr(claim: Obj, xrName = derivedXrName(claim)): Obj {
  const { name, namespace } = claim.metadata ?? {};
  const annotations = withoutKubernetesKeys(claim.metadata?.annotations);
  return {
    apiVersion: API_VERSION,
    kind: XR_KIND_CLAIM_FLAVOUR,
    metadata: {
      name: xrName,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      labels: {
        ...withoutKubernetesKeys(claim.metadata?.labels),
        [CLAIM_NAME_LABEL]: name,
        [CLAIM_NAMESPACE_LABEL]: namespace,
        [COMPOSITE_LABEL]: xrName,
      },
    },
    spec: {
      ...structuredClone(claim.spec ?? {}),
      claimRef: { apiVersion: claim.apiVersion, kind: claim.kind, name, namespace },
      compositionRef: { name: DEFAULT_COMPOSITION.claim },
    },
  };
}

/** `<claim name>-<5 hex>`: Crossplane's shape, with a suffix derived from the claim instead of random. */
export function derivedXrName(claim: Obj): string {
  const { name, namespace } = claim.metadata ?? {};
  return `${name}-${createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 5)}`;
}

/** Crossplane does not copy *.kubernetes.io / *.k8s.io keys (e.g. kubectl's last-applied-configuration) from a claim to its XR. */
function withoutKubernetesKeys(map: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(map ?? {}).filter(([key]) => !/(^|\.)(kubernetes\.io|k8s\.io)\//.test(key)),
  );
}

/**
 * The pipeline step that runs this function, found by its input's apiVersion
 * and kind: the Function's own name depends on where its package was
 * installed from.
 */
export function functionStep(composition: Obj): { step: string; input: Obj } {
  const step = composition?.spec?.pipeline?.find(
    (s: Obj) => s?.input?.apiVersion === INPUT_API_VERSION && s?.input?.kind === INPUT_KIND,
  );
  if (!step) throw new Error(`the Composition has no pipeline step with a ${INPUT_API_VERSION} ${INPUT_KIND} input`);
  return { step: String(step.step ?? ''), input: step.input };
}

/** The input of the pipeline step that runs this function. */
export function compositionInput(composition: Obj): Obj {
  return functionStep(composition).input;
}

/**
 * Observed composed resources, keyed by their composition-resource-name
 * annotation (as Crossplane and `crossplane render` key them). Every object
 * must carry it: anything else is not a composed resource.
 *
 * Connection details: real Crossplane passes each composed resource's
 * connection details (the Role's username, password, endpoint, port) with it;
 * `crossplane render` passes none. Give the Secrets a resource writes
 * (writeConnectionSecretToRef) as `connectionSecrets` to get what Crossplane
 * does; leave them out to get what `crossplane render` does.
 */
export type ObservedMap = Record<string, { resource: Obj; connectionDetails: Record<string, Buffer>; ready: number }>;

export function observedResources(composed: Obj[], connectionSecrets: Obj[] = []): ObservedMap {
  const out: ObservedMap = {};
  for (const resource of composed) {
    const key = resource?.metadata?.annotations?.[COMPOSITION_RESOURCE_NAME];
    if (typeof key !== 'string' || key === '') {
      throw new Error(`${describe(resource)} has no ${COMPOSITION_RESOURCE_NAME} annotation, so it is not an observed composed resource`);
    }
    if (out[key]) throw new Error(`${describe(resource)}: ${COMPOSITION_RESOURCE_NAME} "${key}" is given twice`);
    const ref = resource.spec?.writeConnectionSecretToRef;
    const namespace = ref?.namespace ?? resource.metadata.namespace;
    const secret = ref && connectionSecrets.find((s) => s?.metadata?.name === ref.name && (s.metadata?.namespace ?? namespace) === namespace);
    const connectionDetails: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(secret?.data ?? {})) connectionDetails[k] = Buffer.from(String(v), 'base64');
    for (const [k, v] of Object.entries(secret?.stringData ?? {})) connectionDetails[k] = Buffer.from(String(v), 'utf8');
    out[key] = { resource, connectionDetails, ready: 0 };
  }
  return out;
}

/** "apiVersion kind namespace/name", to name an object in a message. */
export function describe(o: Obj | undefined): string {
  const meta = o?.metadata ?? {};
  return `${o?.apiVersion ?? '(no apiVersion)'} ${o?.kind ?? '(no kind)'} ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name ?? '(no name)'}`;
}

/**
 * The objects Crossplane hands the function for one requirement: matched by
 * apiVersion, kind and name or labels, and namespace when the selector names
 * one (`crossplane render` v2.2 ignores the namespace; a cluster does not).
 */
export function requiredFor(selector: Obj, available: Obj[]): Obj[] {
  const same = available.filter(
    (o) =>
      o?.apiVersion === selector.apiVersion &&
      o?.kind === selector.kind &&
      (!selector.namespace || !o.metadata?.namespace || o.metadata.namespace === selector.namespace),
  );
  if (selector.matchName) return same.filter((o) => o.metadata?.name === selector.matchName).slice(0, 1);
  const labels: Record<string, string> = selector.matchLabels?.labels ?? {};
  if (!selector.matchLabels) return [];
  return same
    .filter((o) => Object.entries(labels).every(([k, v]) => o.metadata?.labels?.[k] === v))
    .sort((a, b) => byteOrder(String(a.metadata?.name), String(b.metadata?.name)));
}

/** Go's string order (crossplane render sorts with it), not the locale's. */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The capabilities Crossplane v2.2.4 announces in every request (seen in ../shared/fixtures). */
export const CROSSPLANE_CAPABILITIES = [
  Capability.CAPABILITY_CAPABILITIES,
  Capability.CAPABILITY_REQUIRED_RESOURCES,
  Capability.CAPABILITY_CREDENTIALS,
  Capability.CAPABILITY_CONDITIONS,
  Capability.CAPABILITY_REQUIRED_SCHEMAS,
];

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
  };
}

/**
 * The XR Crossplane hands the function for a file's object: a claim (claim
 * flavour) becomes the XR Crossplane creates for it; an XR (XTenantDatabase,
 * or a namespaced TenantDatabase) is used as it is.
 */
export function xrFor(doc: Obj, flavour: 'claim' | 'namespaced'): Obj {
  return flavour === 'claim' && doc.kind !== XR_KIND_CLAIM_FLAVOUR ? claimToXr(doc) : doc;
}
