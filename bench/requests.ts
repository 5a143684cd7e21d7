/**
 * The requests the benchmark sends, built from the repository's own examples
 * (scripts/request.ts), plus claims with long lists, plus the requests real
 * Crossplane v2.2.4 sent (../shared/fixtures/crossplane-v2.2.4/). Every
 * request is round-tripped through the SDK's protobuf codec, so in-process
 * timings see exactly the objects the server hands compose() after decoding
 * a call.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { buildRequest, compositionInput, loadYaml, observedResources, xrFor, type Obj } from '../scripts/request.js';

/** Repository root, whether this runs from dist/bench or from bench. */
export const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/bench/') ? '../../' : '../', import.meta.url));
export const at = (rel: string) => `${ROOT}${rel}`;

/** What Crossplane v2.2.4 sent, recorded beside the repository (see its README.md). */
export const FIXTURES = resolve(ROOT, '../shared/fixtures/crossplane-v2.2.4');

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

export type Flavour = 'claim' | 'namespaced';

const EXAMPLES: Record<Flavour, { xr: string; composition: string; observed: string; connectionSecrets: string }> = {
  claim: { xr: CLAIM, composition: COMPOSITION, observed: OBSERVED, connectionSecrets: CONNECTION_SECRETS },
  namespaced: {
    xr: 'examples/namespaced/tenantdatabase.yaml',
    composition: 'compositions/namespaced.yaml',
    observed: 'examples/namespaced/observed.yaml',
    connectionSecrets: 'examples/namespaced/required.yaml',
  },
};

/**
 * A flavour's example, first reconcile (nothing observed) or second (its observed.yaml, the Role
 * carrying its connection secret's data as connection details, as Crossplane v2.2.4 passes them).
 */
export function example(flavour: Flavour, observed: boolean): RunFunctionRequest {
  const e = EXAMPLES[flavour];
  const xr = xrFor(loadYaml(at(e.xr))[0]!, flavour);
  const input = compositionInput(loadYaml(at(e.composition))[0]!);
  return buildRequest(xr, input, observed ? observedResources(loadYaml(at(e.observed)), loadYaml(at(e.connectionSecrets))) : {});
}

/** What the cluster holds at the second reconcile: the composed objects and the Role's connection secret. */
export function exampleCluster(flavour: Flavour): Obj[] {
  return [...loadYaml(at(EXAMPLES[flavour].observed)), ...loadYaml(at(EXAMPLES[flavour].connectionSecrets))];
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

/** One recorded call: Crossplane's request (proto JSON) and this function's answer at the time. */
export function fixtureRequest(file: string): RunFunctionRequest {
  const recorded = JSON.parse(readFileSync(file, 'utf8')) as { request: unknown };
  // The SDK's fromJSON reads proto field names, enum names and base64 bytes, as recorded.
  return RunFunctionRequest.fromJSON(recorded.request);
}

export interface RecordedReconcile {
  flavour: Flavour;
  /** The files of one reconcile: the first call, then the call(s) with required resources. */
  files: string[];
  /** The first request of the reconcile. */
  first: RunFunctionRequest;
  /** What Crossplane fetched for the later calls: the cluster as far as this function could see it. */
  cluster: Obj[];
}

/** "NN-<claim>-observedK[-with-required][-fatal].json", as the fixtures' README names them. */
const FIXTURE_NAME = /^(\d+)-(.+)-observed(\d+)(-with-required)?(-fatal)?\.json$/;

/**
 * The recorded calls grouped into reconciles: a file without "-with-required"
 * starts one; a "-with-required" file belongs to the latest one of the same
 * claim with the same number of observed resources (the calls of two claims
 * interleave). Empty when the fixtures are not there (the caller says so).
 */
export function recordedReconciles(flavour: Flavour): RecordedReconcile[] {
  const dir = join(FIXTURES, flavour);
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const out: (RecordedReconcile & { id: string })[] = [];
  for (const f of files) {
    const path = join(dir, f);
    const name = FIXTURE_NAME.exec(f);
    if (!name) throw new Error(`${path}: not named NN-<claim>-observedK[-with-required][-fatal].json`);
    const id = `${name[2]}/${name[3]}`;
    if (!name[4]) {
      out.push({ id, flavour, files: [f], first: fixtureRequest(path), cluster: [] });
      continue;
    }
    const current = [...out].reverse().find((r) => r.id === id);
    if (!current) throw new Error(`${path}: a call with required resources without a first call of ${id} before it`);
    current.files.push(f);
    for (const resources of Object.values(fixtureRequest(path).requiredResources ?? {})) {
      for (const item of resources?.items ?? []) if (item.resource) current.cluster.push(item.resource as Obj);
    }
  }
  return out.map(({ id: _id, ...r }) => r);
}

/** The fixture used for the recorded-request gRPC targets: a steady-state reconcile of the claim, first call. */
export const RECORDED_STEADY_STATE = 'claim/20-orders-observed11.json';

/** Requests by name, for server scripts that must build the same request as the client (bench/replay.ts). */
export function namedRequest(name: string): RunFunctionRequest {
  if (name === 'typical') return typical();
  if (name === 'observed') return secondReconcile();
  if (name.startsWith('fixture:')) return fixtureRequest(join(FIXTURES, name.slice('fixture:'.length)));
  throw new Error(`unknown request "${name}": use typical, observed or fixture:<file under ${FIXTURES}>`);
}
