/**
 * Requests built from the repository's own examples and Compositions, as
 * Crossplane would send them: the one place where tests and the benchmark
 * get a request for "the example claim", optionally patched, with what a
 * second reconcile observes. Built on request.ts, which turns files into a
 * RunFunctionRequest the way Crossplane does.
 */
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../../function/compose.js';
import { childName } from '../../function/naming.js';
import { ROTATION_ANNOTATION } from '../../function/passwords.js';
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
  /**
   * Backups turned on as a platform turns them on: examples/backups/input.yaml
   * merged into the Composition's function input (the shipped Compositions have
   * them off), before `input`.
   */
  backups?: boolean;
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
  /**
   * Logins whose password Secret is observed (as the function composes it, rotation "initial",
   * password PASSWORD_IN_SECRET): the function then composes their Role (function/passwords.ts).
   */
  passwordSecrets?: ('tenant' | 'reader')[];
  /**
   * Composed resources that already exist and are Ready, created by earlier
   * reconciles, in the order they were created: each is what the function
   * desires for it once the ones before it are observed (ordered creation,
   * function/order.ts, holds an object back until what it needs is ready).
   */
  observedReady?: string[];
  /** The platform's password key Secret, as Crossplane fetches it for the requirement "password-key". */
  passwordKey?: boolean;
}

/** The password in the observed password Secrets of `passwordSecrets`. */
export const PASSWORD_IN_SECRET = 'password-from-the-password-secret';
/** The platform key of `passwordKey` (48 bytes), as in examples/claim/required.yaml. */
export const PLATFORM_KEY = 'example-platform-key-for-tests-only-0123456789ab';

/** The platform key Secret, as Crossplane hands it over. */
export function platformKeySecret(name = 'tenantdb-password-key', namespace = 'crossplane-system', key = 'key', value = PLATFORM_KEY): Obj {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, data: { [key]: Buffer.from(value).toString('base64') } };
}

/** The function input's `backup` block a platform fills in to turn backups on (docs/backups.md). */
export const BACKUP_INPUT = 'examples/backups/input.yaml';

/** examples/backups/input.yaml as a function-input patch: `{backup: {...}}`. */
export function exampleBackupInput(): Obj {
  const [doc] = loadYaml(repoPath(BACKUP_INPUT));
  return { backup: doc!.backup };
}

/** The clock for `observedReady`'s calls: it only sets the answer's TTL, which is not used. */
const CLOCK = Date.UTC(2026, 11, 4);
const READY = [
  { type: 'Ready', status: 'True', reason: 'Available' },
  { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' },
];

/** A login's password Secret as the function composes it (rotation "initial"). */
function observedPasswordSecret(c: RequestParts, input: Obj, xr: Obj, owner: 'tenant' | 'reader'): Obj {
  const prefix = owner === 'reader' ? 'readonly-' : '';
  const namespace = c.flavour === 'claim' ? (input.sql?.connectionSecretNamespace ?? 'crossplane-system') : xr.metadata.namespace;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: childName(xr.metadata.name, `${prefix}password`),
      namespace,
      annotations: { 'crossplane.io/composition-resource-name': `${prefix}password`, [ROTATION_ANNOTATION]: 'initial' },
    },
    type: 'Opaque',
    data: { password: Buffer.from(PASSWORD_IN_SECRET).toString('base64') },
  };
}

/** A fresh request (no objects shared with an earlier one) from files and patches. */
export function requestFor(c: RequestParts): RunFunctionRequest {
  const [doc] = loadYaml(repoPath(c.xr));
  const patched = merge(doc, c.patch ?? {}) as Obj;
  const [composition] = loadYaml(repoPath(`compositions/${c.flavour}.yaml`));
  const input = merge(merge(compositionInput(composition!), c.backups ? exampleBackupInput() : {}), c.input ?? {}) as Obj;
  const secrets = c.connectionSecrets ? loadYaml(repoPath(c.connectionSecrets)) : [];
  const observed = c.observed ? observedResources(loadYaml(repoPath(c.observed)), secrets) : {};
  for (const [key, patch] of Object.entries(c.observedPatch ?? {})) {
    if (patch === null) delete observed[key];
    else observed[key] = { resource: merge(observed[key]?.resource ?? {}, patch) as Obj, connectionDetails: observed[key]?.connectionDetails ?? {}, ready: 0 };
  }
  const xr = merge(xrFor(patched, c.flavour), c.xrPatch ?? {}) as Obj;
  for (const owner of c.passwordSecrets ?? []) {
    observed[`${owner === 'reader' ? 'readonly-' : ''}password`] = { resource: observedPasswordSecret(c, input, xr, owner), connectionDetails: {}, ready: 0 };
  }
  for (const key of c.observedReady ?? []) {
    const desired = compose(buildRequest(xr, input, observed), CLOCK).desired?.resources?.[key]?.resource;
    if (!desired) throw new Error(`observedReady: ${key} is not desired once ${Object.keys(observed).join(', ') || 'nothing'} is observed`);
    observed[key] = { resource: { ...structuredClone(desired), status: { conditions: READY } }, connectionDetails: {}, ready: 0 };
  }
  const req = buildRequest(xr, input, observed);
  if (c.passwordKey) req.requiredResources['password-key'] = { items: [{ resource: platformKeySecret(), connectionDetails: {}, ready: 0 }] };
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
