/**
 * The requests the benchmark sends: the repository's examples
 * (scripts/shared/examples.ts), claims with long lists, and the requests real
 * Crossplane v2.2.4 sent (scripts/shared/fixtures.ts). Every request is
 * round-tripped through the SDK's protobuf codec (wire()), so in-process
 * timings see exactly the objects the server hands compose() after decoding
 * a call.
 */
import { join } from 'node:path';
import { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { example } from '../scripts/shared/examples.js';
import { FIXTURES, fixtureRequest } from '../scripts/shared/fixtures.js';
import { repoPath } from '../scripts/shared/paths.js';

/** A repository-relative path made absolute (the benchmark runs from dist/bench). */
export const at = repoPath;

/** What the server sees: encode with the SDK codec, decode again. */
export function wire(req: RunFunctionRequest): { req: RunFunctionRequest; bytes: Buffer } {
  const bytes = Buffer.from(RunFunctionRequest.encode(req).finish());
  return { req: RunFunctionRequest.decode(bytes), bytes };
}

/** (b) the typical claim, first reconcile. */
export function typical(): RunFunctionRequest {
  return example('claim', false);
}

/** (c) the same claim, second reconcile: observed composed resources and the Role's connection details. */
export function secondReconcile(): RunFunctionRequest {
  return example('claim', true);
}

/**
 * A claim with `extensions` extensions (ext_0..) and `schemas` schemas (s_0..);
 * the generated extension names are added to the input's allowedExtensions
 * (its own maxItems is 512, so the list is capped there).
 */
export function withLists(extensions: number, schemas: number): RunFunctionRequest {
  const req = typical();
  const xr = req.observed!.composite!.resource!;
  const input = req.input!;
  const names = Array.from({ length: extensions }, (_, i) => `ext_${i}`);
  (xr.spec as Record<string, unknown>).extensions = names.map((name) => ({ name }));
  (xr.spec as Record<string, unknown>).schemas = Array.from({ length: schemas }, (_, i) => `s_${i}`);
  input.allowedExtensions = [...(input.allowedExtensions as string[]), ...names].slice(0, 512);
  return req;
}

/** The same request with the observed Role's connection details taken away (connection-detail propagation missing). */
export function withoutRoleConnectionDetails(req: RunFunctionRequest): RunFunctionRequest {
  const role = req.observed?.resources?.role;
  if (!role) throw new Error('the request observes no Role');
  return {
    ...req,
    observed: { ...req.observed!, resources: { ...req.observed!.resources, role: { ...role, connectionDetails: {} } } },
  };
}

/** Names the observed Role's connection detail keys, or says there is no Role yet. */
export function roleConnectionDetails(req: RunFunctionRequest): string {
  const role = req.observed?.resources?.role;
  if (!role) return 'no Role observed';
  const keys = Object.keys(role.connectionDetails ?? {});
  return keys.length ? `Role has ${keys.sort().join(', ')}` : 'Role has none';
}

/** Requests by name, for server scripts that must build the same request as the client (bench/replay.ts). */
export function namedRequest(name: string): RunFunctionRequest {
  if (name === 'typical') return typical();
  if (name === 'observed') return secondReconcile();
  if (name.startsWith('fixture:')) return fixtureRequest(join(FIXTURES, name.slice('fixture:'.length)));
  throw new Error(`unknown request "${name}": use typical, observed or fixture:<file under ${FIXTURES}>`);
}
