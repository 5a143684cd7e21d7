/**
 * The requests the benchmark sends, built from the repository's own examples
 * (scripts/request.ts), plus claims with long lists. Every request is round-
 * tripped through the SDK's protobuf codec, so in-process timings see exactly
 * the objects the server hands compose() after decoding a call.
 */
import { fileURLToPath } from 'node:url';
import { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { buildRequest, compositionInput, loadYaml, observedResources, xrFor, type Obj } from '../scripts/request.js';

/** Repository root, whether this runs from dist/bench or from bench. */
export const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/bench/') ? '../../' : '../', import.meta.url));
export const at = (rel: string) => `${ROOT}${rel}`;

const CLAIM = 'examples/claim/production.yaml';
const COMPOSITION = 'compositions/claim.yaml';
const OBSERVED = 'examples/claim/observed.yaml';
/** The Role's connection secret: Crossplane passes its data as the observed Role's connection details. */
const CONNECTION_SECRETS = 'examples/claim/required.yaml';

function baseXr(): Obj {
  return xrFor(loadYaml(at(CLAIM))[0]!, 'claim');
}
function baseInput(): Obj {
  return compositionInput(loadYaml(at(COMPOSITION))[0]!);
}

/** What the server sees: encode with the SDK codec, decode again. */
export function wire(req: RunFunctionRequest): { req: RunFunctionRequest; bytes: Buffer } {
  const bytes = Buffer.from(RunFunctionRequest.encode(req).finish());
  return { req: RunFunctionRequest.decode(bytes), bytes };
}

/** (b) the typical claim, first reconcile. */
export function typical(): RunFunctionRequest {
  return buildRequest(baseXr(), baseInput());
}

/** (c) the same claim, second reconcile: observed composed resources and the Role's connection details. */
export function secondReconcile(): RunFunctionRequest {
  return buildRequest(baseXr(), baseInput(), observedResources(loadYaml(at(OBSERVED)), loadYaml(at(CONNECTION_SECRETS))));
}

/**
 * A claim with `extensions` extensions (ext_0..) and `schemas` schemas (s_0..);
 * the generated extension names are added to the input's allowedExtensions
 * (its own maxItems is 512, so the list is capped there).
 */
export function withLists(extensions: number, schemas: number): RunFunctionRequest {
  const xr = baseXr();
  const input = baseInput();
  const names = Array.from({ length: extensions }, (_, i) => `ext_${i}`);
  xr.spec.extensions = names.map((name) => ({ name }));
  xr.spec.schemas = Array.from({ length: schemas }, (_, i) => `s_${i}`);
  input.allowedExtensions = [...(input.allowedExtensions as string[]), ...names].slice(0, 512);
  return buildRequest(xr, input);
}
