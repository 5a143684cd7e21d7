/**
 * The example files for a second reconcile stay what the function really
 * renders for their XR: an observed example with another role name, object
 * name or owner would show users (and `crossplane render`) a reconcile that
 * can never happen. Checked against compose() itself, so they cannot drift.
 */
import { describe, expect, it } from 'vitest';
import { compose } from '../function/compose.js';
import { buildRequest, claimToXr, COMPOSITE_LABEL, compositionInput, loadYaml, observedResources, xrFor, type Obj } from '../scripts/request.js';
import { Cluster } from './support/cluster.js';
import { NOW, repoPath } from './support/shared.js';

const EXAMPLES = [
  { flavour: 'claim', xr: 'examples/claim/production.yaml', observed: 'examples/claim/observed.yaml', required: 'examples/claim/required.yaml' },
  {
    flavour: 'namespaced',
    xr: 'examples/namespaced/tenantdatabase.yaml',
    observed: 'examples/namespaced/observed.yaml',
    required: 'examples/namespaced/required.yaml',
  },
] as const;

const EXTERNAL_NAME = 'crossplane.io/external-name';
/** forProvider fields that name the tenant's database or role. */
const NAMING_FIELDS = ['database', 'role', 'owner'];

function example(flavour: 'claim' | 'namespaced', file: string): { xr: Obj; input: Obj } {
  return {
    xr: xrFor(loadYaml(repoPath(file))[0]!, flavour),
    input: compositionInput(loadYaml(repoPath(`compositions/${flavour}.yaml`))[0]!),
  };
}

/**
 * What the function renders for the example once everything it composes exists: starting from
 * nothing observed, each reconcile's objects become observed and ready, until nothing new is
 * composed (objects are created in order: function/order.ts).
 */
function firstReconcile(flavour: 'claim' | 'namespaced', file: string) {
  const { xr, input } = example(flavour, file);
  const cluster = new Cluster(xr, input);
  let rsp = compose(buildRequest(xr, input), NOW);
  expect(rsp.results, 'the example renders without a Fatal result').toEqual([]);
  for (let step = 0; step < 10; step++) {
    const before = Object.keys(cluster.observed).length;
    const r = cluster.reconcile();
    expect(r.fatal).toBeUndefined();
    rsp = r.response;
    if (Object.keys(cluster.observed).length === before) break;
  }
  return { xr, rsp };
}

describe('second-reconcile examples match what the function renders', () => {
  for (const e of EXAMPLES) {
    it(`${e.observed}: every object has the identity, external name and SQL names the function renders for ${e.xr} (reason: examples drifted before)`, () => {
      const { xr, rsp } = firstReconcile(e.flavour, e.xr);
      const desired = rsp.desired!.resources;
      const status = rsp.desired!.composite!.resource!.status as Obj;
      const observed = loadYaml(repoPath(e.observed));
      expect(observed.length).toBeGreaterThan(0);
      for (const o of observed) {
        const key = o.metadata.annotations['crossplane.io/composition-resource-name'];
        const d = desired[key]?.resource as Obj | undefined;
        expect(d, `${key} is rendered by the function`).toBeDefined();
        expect({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace }, key).toEqual({
          apiVersion: d!.apiVersion,
          kind: d!.kind,
          name: d!.metadata.name,
          namespace: d!.metadata.namespace ?? (e.flavour === 'namespaced' ? xr.metadata.namespace : undefined),
        });
        expect(o.metadata.annotations[EXTERNAL_NAME], `${key} external name`).toBe(d!.metadata.annotations?.[EXTERNAL_NAME]);
        for (const field of NAMING_FIELDS) expect(o.spec?.forProvider?.[field], `${key} forProvider.${field}`).toBe(d!.spec?.forProvider?.[field]);
        // Provider messages quoting a role must quote the role the function renders.
        for (const c of o.status?.conditions ?? []) {
          for (const [, quoted] of String(c.message ?? '').matchAll(/role "([^"]+)"/g)) expect(quoted, `${key} condition message`).toBe(status.role);
        }
        // Crossplane's labels on what this XR composes.
        expect(o.metadata.labels?.[COMPOSITE_LABEL], `${key} ${COMPOSITE_LABEL}`).toBe(xr.metadata.name);
        for (const label of ['crossplane.io/claim-name', 'crossplane.io/claim-namespace']) {
          expect(o.metadata.labels?.[label], `${key} ${label}`).toBe(xr.metadata.labels?.[label]);
        }
      }
    });

    it(`${e.required}: the Role's connection secret, exactly as the function requires it under crossplane render (reason: render serves requirements from this file by apiVersion, kind and name)`, () => {
      const { xr, input } = example(e.flavour, e.xr);
      // crossplane render passes observed resources without connection details, so the function must ask for the Secret.
      const rsp = compose(buildRequest(xr, input, observedResources(loadYaml(repoPath(e.observed)))), NOW);
      expect(rsp.results).toEqual([]);
      const requirement = rsp.requirements?.resources?.['role-connection-secret'];
      expect(requirement, 'the function requires the Role connection secret').toBeDefined();
      const ref = (rsp.desired!.resources.role!.resource as Obj).spec.writeConnectionSecretToRef;
      const [secret, ...more] = loadYaml(repoPath(e.required));
      expect(more).toEqual([]);
      expect({ apiVersion: secret!.apiVersion, kind: secret!.kind, name: secret!.metadata.name, namespace: secret!.metadata.namespace }).toEqual({
        apiVersion: requirement!.apiVersion,
        kind: requirement!.kind,
        name: requirement!.matchName,
        namespace: requirement!.namespace,
      });
      expect(secret!.metadata.name).toBe(ref.name);
      for (const key of ['username', 'password', 'endpoint', 'port']) expect(secret!.data?.[key], key).toEqual(expect.any(String));
    });
  }

  it('examples/claim/xr.yaml is the XR Crossplane creates for examples/claim/production.yaml (reason: crossplane render takes the XR, and it must stand for the claim)', () => {
    const [xr] = loadYaml(repoPath('examples/claim/xr.yaml'));
    expect(xr).toEqual(claimToXr(loadYaml(repoPath('examples/claim/production.yaml'))[0]!));
    // And it is rendered as it is, not converted again.
    expect(xrFor(xr!, 'claim')).toBe(xr);
  });
});
