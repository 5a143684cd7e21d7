/**
 * The requests real Crossplane v2.2.4 sent, recorded beside the repository
 * (../shared/fixtures/crossplane-v2.2.4/, see its README.md), read back as
 * SDK requests and grouped into reconciles. The tests replay them and the
 * benchmark times them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import type { Flavour } from './examples.js';
import { repoPath } from './paths.js';
import type { Obj } from './request.js';

/** What Crossplane v2.2.4 sent, recorded beside the repository. */
export const FIXTURES = repoPath('../shared/fixtures/crossplane-v2.2.4');

/** The fixture used for the recorded-request gRPC targets: a steady-state reconcile of the claim, first call. */
export const RECORDED_STEADY_STATE = 'claim/20-orders-observed11.json';

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
      for (const item of resources?.items ?? []) if (item.resource) current.cluster.push(item.resource);
    }
  }
  return out.map(({ id: _id, ...r }) => r);
}
