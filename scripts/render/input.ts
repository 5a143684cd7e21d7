/**
 * What `npm run render` is given, checked before anything runs: one
 * TenantDatabase or XTenantDatabase, the flavour it is read in, and observed
 * resources that really belong to it. Each refusal names the file and the
 * object, so a wrong file never renders into a plausible-looking answer.
 */
import {
  API_VERSION,
  CLAIM_KIND,
  CLAIM_NAME_LABEL,
  CLAIM_NAMESPACE_LABEL,
  XR_KIND_CLAIM_FLAVOUR,
  XR_KIND_NAMESPACED,
} from '../../function/flavour.js';
import { COMPOSITE_LABEL, COMPOSITION_RESOURCE_NAME, describe, loadYaml, type Obj } from '../shared/request.js';

export type Flavour = 'claim' | 'namespaced';

/** The command line is wrong (exit status 2). */
export class UsageError extends Error {}
/** An input file is refused (exit status 1). */
export class InputError extends Error {}

/** The objects of a file or directory; unreadable or invalid YAML is an InputError naming it. */
export function readObjects(path: string, shown: string): Obj[] {
  try {
    return loadYaml(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message;
    throw new InputError(`${shown}: ${reason.replace(`${path}: `, '')}`);
  }
}

/** The one object of the file to render: a claim or XR of tenantdb.platform.io. */
export function readTenantDatabase(path: string, shown: string): Obj {
  const docs = readObjects(path, shown);
  if (docs.length === 0) throw new InputError(`${shown}: holds no YAML object`);
  if (docs.length > 1) {
    throw new InputError(
      `${shown}: holds ${docs.length} YAML documents; render takes one TenantDatabase or XTenantDatabase per run (as crossplane render takes one XR): split the file`,
    );
  }
  const doc = docs[0]!;
  const kinds = [CLAIM_KIND, XR_KIND_CLAIM_FLAVOUR];
  if (doc.apiVersion !== API_VERSION || !kinds.includes(doc.kind)) {
    throw new InputError(`${shown}: ${describe(doc)} is not a ${API_VERSION} ${CLAIM_KIND} or ${XR_KIND_CLAIM_FLAVOUR}`);
  }
  if (doc.kind === CLAIM_KIND && !doc.metadata?.namespace) {
    throw new InputError(`${shown}: ${describe(doc)} has no metadata.namespace; a ${CLAIM_KIND} lives in the application's namespace`);
  }
  return doc;
}

/**
 * The flavour to read the object in. XTenantDatabase exists only in the claim
 * flavour. TenantDatabase is a claim there and the XR itself in the
 * namespaced flavour: the Composition decides when one is given (it composes
 * XTenantDatabase or TenantDatabase), else --flavour, else the claim flavour.
 */
export function chooseFlavour(kind: string, flag: string | undefined, composition: { kind: unknown; shown: string } | undefined): { flavour: Flavour; because: string } {
  if (flag !== undefined && flag !== 'claim' && flag !== 'namespaced') throw new UsageError(`--flavour must be claim or namespaced, got "${flag}"`);
  const byComposition = composition && compositionFlavour(composition.kind, composition.shown);
  if (kind === XR_KIND_CLAIM_FLAVOUR) {
    if (flag === 'namespaced') throw new UsageError(`--flavour namespaced: ${XR_KIND_CLAIM_FLAVOUR} exists only in the claim flavour`);
    if (byComposition === 'namespaced') throw mismatch(composition!, kind);
    return { flavour: 'claim', because: `${XR_KIND_CLAIM_FLAVOUR} exists only in the claim flavour` };
  }
  if (byComposition) {
    if (flag && flag !== byComposition) throw new UsageError(`--flavour ${flag} contradicts ${composition.shown}, which composes ${String(composition.kind)} (the ${byComposition} flavour)`);
    const other = byComposition === 'claim' ? `a Composition of ${XR_KIND_NAMESPACED} reads it as a namespaced XR` : `a Composition of ${XR_KIND_CLAIM_FLAVOUR} reads it as a claim`;
    return { flavour: byComposition, because: `${composition.shown} composes ${String(composition.kind)}; ${other}` };
  }
  if (flag === 'namespaced') return { flavour: flag, because: '--flavour namespaced; without it, it is read as a claim' };
  if (flag === 'claim') return { flavour: flag, because: '--flavour claim; --flavour namespaced reads it as a namespaced XR' };
  return { flavour: 'claim', because: 'the default; --flavour namespaced reads it as a namespaced XR' };
}

function compositionFlavour(kind: unknown, shown: string): Flavour {
  if (kind === XR_KIND_CLAIM_FLAVOUR) return 'claim';
  if (kind === XR_KIND_NAMESPACED) return 'namespaced';
  throw new InputError(`${shown}: compositeTypeRef.kind is ${JSON.stringify(kind)}, not ${XR_KIND_CLAIM_FLAVOUR} or ${XR_KIND_NAMESPACED}`);
}

/** crossplane render's own words for a Composition of another kind of XR. */
function mismatch(composition: { kind: unknown; shown: string }, kind: string): UsageError {
  return new UsageError(`${composition.shown}: composition's compositeTypeRef.kind (${String(composition.kind)}) does not match XR's kind (${kind})`);
}

/** Who composed resources must belong to. */
export interface Owner {
  /** The value of the crossplane.io/composite label on everything this XR composes. */
  xrName: string;
  /** The claim, for a claim's XR. */
  claim?: { name: string; namespace: string };
  /** The namespace of a namespaced XR: it composes nothing outside it. */
  namespace?: string;
}

/** The owner of what an XR composes, read from the XR. */
export function ownerOfXr(xr: Obj, flavour: Flavour): Owner {
  const labels = xr.metadata?.labels ?? {};
  const claimName = labels[CLAIM_NAME_LABEL];
  const claimNamespace = labels[CLAIM_NAMESPACE_LABEL];
  return {
    xrName: labels[COMPOSITE_LABEL] || xr.metadata?.name,
    ...(claimName && claimNamespace ? { claim: { name: claimName, namespace: claimNamespace } } : {}),
    ...(flavour === 'namespaced' ? { namespace: xr.metadata?.namespace } : {}),
  };
}

/**
 * The name of the claim's XR as the observed resources know it (their
 * crossplane.io/composite label), so that a render against what a cluster
 * holds uses the XR's real name rather than a made-up one.
 */
export function xrNameOfObserved(observed: Obj[], shown: string): string | undefined {
  const names = [...new Set(observed.map((o) => o?.metadata?.labels?.[COMPOSITE_LABEL]).filter((n): n is string => typeof n === 'string'))];
  if (names.length > 1) throw new InputError(`${shown}: the observed resources belong to ${names.length} XRs (${COMPOSITE_LABEL}: ${names.join(', ')}); give those of one XR`);
  return names[0];
}

/**
 * Refuse observed resources that are not composed resources of this owner:
 * no composition-resource-name annotation (not a composed resource at all),
 * the same one twice, a crossplane.io/composite or claim label naming another
 * XR or claim, or a namespace a namespaced XR cannot compose into. Returns how
 * many carry no crossplane.io/composite label, whose owner cannot be checked.
 */
export function checkObserved(observed: Obj[], owner: Owner, shown: string): { unlabelled: number } {
  const seen = new Set<string>();
  let unlabelled = 0;
  for (const o of observed) {
    const what = `${shown}: ${describe(o)}`;
    const key = o?.metadata?.annotations?.[COMPOSITION_RESOURCE_NAME];
    if (typeof key !== 'string' || key === '') {
      throw new InputError(
        `${what} has no ${COMPOSITION_RESOURCE_NAME} annotation, so it is not a composed resource ` +
          '(a connection Secret belongs in --required)',
      );
    }
    if (seen.has(key)) throw new InputError(`${what}: ${COMPOSITION_RESOURCE_NAME} "${key}" is given twice`);
    seen.add(key);
    const labels = o.metadata.labels ?? {};
    const composite = labels[COMPOSITE_LABEL];
    if (composite === undefined) unlabelled++;
    else if (composite !== owner.xrName) {
      throw new InputError(`${what} belongs to XR ${composite} (label ${COMPOSITE_LABEL}), not to ${owner.xrName}`);
    }
    const claimName = labels[CLAIM_NAME_LABEL];
    const claimNamespace = labels[CLAIM_NAMESPACE_LABEL];
    if (owner.claim && composite !== undefined && claimName === undefined && claimNamespace === undefined) {
      // Crossplane labels everything a claim's XR composes with the claim.
      throw new InputError(`${what} belongs to XR ${composite}, which no claim owns (no claim labels), not to the XR of claim ${owner.claim.namespace}/${owner.claim.name}`);
    }
    if (claimName !== undefined || claimNamespace !== undefined) {
      const theirs = `${claimNamespace}/${claimName}`;
      if (!owner.claim) throw new InputError(`${what} belongs to claim ${theirs} (claim labels), but ${owner.xrName} is no claim's XR`);
      const ours = `${owner.claim.namespace}/${owner.claim.name}`;
      if (theirs !== ours) throw new InputError(`${what} belongs to claim ${theirs} (claim labels), not to ${ours}`);
    }
    const namespace = o.metadata.namespace;
    if (owner.namespace && namespace && namespace !== owner.namespace) {
      throw new InputError(`${what} is in namespace ${namespace}; the namespaced XR ${owner.namespace}/${owner.xrName} composes only into its own namespace`);
    }
  }
  return { unlabelled };
}

/** Required resources must at least say what they are, or no requirement can match them. */
export function checkRequired(required: Obj[], shown: string): void {
  for (const o of required) {
    if (typeof o?.apiVersion !== 'string' || typeof o?.kind !== 'string' || typeof o?.metadata?.name !== 'string') {
      throw new InputError(`${shown}: ${describe(o)} needs apiVersion, kind and metadata.name to be matched against a requirement`);
    }
  }
}
