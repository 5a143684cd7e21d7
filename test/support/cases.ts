/**
 * Table-driven cases in YAML (test/cases/*.yaml): a request built from the
 * real examples and Compositions, plus patches, and the expected result as a
 * partial match. One file, one behaviour, each with a `reason`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { buildRequest, compositionInput, loadYaml, observedResources, xrFor, type Obj } from '../../scripts/request.js';
import { compose } from '../../function/compose.js';
import { NOW, repoPath } from './shared.js';

const READY = [
  { type: 'Ready', status: 'True', reason: 'Available' },
  { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' },
];

export interface Case {
  file: string;
  reason: string;
  flavour: 'claim' | 'namespaced';
  xr: string;
  patch?: Obj;
  /** Patch applied to the XR after Crossplane built it from the claim. */
  xrPatch?: Obj;
  input?: Obj;
  observed?: string;
  /**
   * Secrets the observed resources write (the Role's connection secret): real
   * Crossplane passes their data as the observed resources' connection details.
   */
  connectionSecrets?: string;
  /** Resources Crossplane fetched because the function required them, by requirement name. */
  required?: Record<string, Obj[]>;
  /** Patches applied to observed composed resources, by composition resource name. */
  observedPatch?: Obj;
  /**
   * Composed resources that already exist and are Ready, created by earlier
   * reconciles, in the order they were created: each is what the function
   * desires for it once the ones before it are observed (ordered creation,
   * function/order.ts, holds an object back until what it needs is ready).
   */
  observedReady?: string[];
  expect: {
    fatal?: string;
    /** The class of a refusal: the reason of its Warning result and Provisioned condition. */
    refusal?: string;
    resources?: Obj;
    /**
     * Every composed-resource key the response must hold, and no other: an
     * unexpected extra object (or one gone missing) fails the case. Required
     * unless the case is a refusal.
     */
    keys?: string[];
    absent?: string[];
    status?: Obj;
    condition?: Obj;
    requirements?: Obj;
  };
}

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

/** Paths where `actual` differs from the partial `expected`; empty when it matches. */
export function mismatches(expected: unknown, actual: unknown, path = ''): string[] {
  if (expected === null) return actual === undefined || actual === null ? [] : [`${path}: expected absent, got ${JSON.stringify(actual)}`];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
    }
    return expected.flatMap((e, i) => mismatches(e, actual[i], `${path}[${i}]`));
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null) return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    return Object.entries(expected as Obj).flatMap(([k, v]) => mismatches(v, (actual as Obj)[k], `${path}.${k}`));
  }
  return expected === actual ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

export function loadCases(dir = repoPath('test/cases')): Case[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ flavour: 'claim', ...parse(readFileSync(join(dir, file), 'utf8')), file }) as Case);
}

/**
 * The examples' second reconcile as real Crossplane v2.2.4 sends it: every
 * composed object of the first reconcile observed, the Role carrying its
 * connection details (read from the Role's connection secret).
 */
export const SECOND_RECONCILE = {
  claim: { observed: 'examples/claim/observed.yaml', connectionSecrets: 'examples/claim/required.yaml' },
  namespaced: { observed: 'examples/namespaced/observed.yaml', connectionSecrets: 'examples/namespaced/required.yaml' },
} as const;

type RequestParts = 'flavour' | 'xr' | 'patch' | 'xrPatch' | 'input' | 'observed' | 'connectionSecrets' | 'observedPatch' | 'observedReady' | 'required';

export function requestFor(c: Pick<Case, RequestParts>): RunFunctionRequest {
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
  for (const key of c.observedReady ?? []) {
    const desired = compose(buildRequest(xr, input, observed), NOW).desired?.resources?.[key]?.resource;
    if (!desired) throw new Error(`observedReady: ${key} is not desired once ${Object.keys(observed).join(', ') || 'nothing'} is observed`);
    observed[key] = { resource: { ...structuredClone(desired), status: { conditions: READY } }, connectionDetails: {}, ready: 0 };
  }
  const req = buildRequest(xr, input, observed);
  for (const [key, items] of Object.entries(c.required ?? {})) {
    req.requiredResources[key] = { items: items.map((resource) => ({ resource, connectionDetails: {}, ready: 0 })) };
  }
  return req;
}
