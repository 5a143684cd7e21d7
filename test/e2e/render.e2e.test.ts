/**
 * End to end against a real Kubernetes API server (issue #7): everything the
 * function renders, and every manifest we ship, is accepted by kube-apiserver
 * with the real CRDs of Crossplane v2.2.4, provider-sql v0.16.0 and
 * provider-upjet-aws (Secrets Manager) installed, and reads back unchanged.
 *
 * For each example of both flavours, first and second reconcile, the real
 * function (in-process `compose`) renders the desired state; then every
 * composed resource is
 *   1. created with dryRun=All and fieldValidation=Strict (unknown or
 *      duplicate fields are errors, not silently pruned), when it does not
 *      exist yet,
 *   2. server-side applied, dry-run and then for real, Strict (as Crossplane
 *      v2 applies composed resources; the second reconcile applies over the
 *      first, so CEL transition rules run too),
 *   3. read back: everything the function set must be there with the same
 *      value (sent ⊆ stored), i.e. nothing pruned, converted or defaulted
 *      differently.
 * No response may carry a warning. The XR status the function returns is
 * applied to the XR's status subresource (CRD approximated from the XRD, see
 * xcrd.ts) and read back the same way.
 *
 * Runs only under vitest.e2e.config.ts (`npm run test:e2e`), which sets
 * TENANTDB_E2E=1; `npm test` sees this file as skipped.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Severity, type Resource } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../../function/compose.js';
import { compositionInput, loadYaml, xrFor } from '../../scripts/shared/request.js';
import { merge, requestFor, SECOND_RECONCILE } from '../../scripts/shared/examples.js';
import { mismatches } from '../support/cases.js';
import { Cluster } from '../support/cluster.js';
import { NOW, requireShared } from '../support/shared.js';
import { ApiError, repoRoot, startControlPlane, type ControlPlane, type KubeClient, type Obj, type Response } from './apiserver.js';
import { crdsForXrd } from './xcrd.js';

const E2E = process.env.TENANTDB_E2E === '1';
const STACK_CRDS = resolve(repoRoot, '../shared/stack-crds');
const REF_CRDS = resolve(repoRoot, '../shared/crds');
const run = E2E && requireShared(STACK_CRDS) && requireShared(REF_CRDS);

const NAMESPACES = ['my-namespace', 'test-namespace', 'crossplane-system'];

type Flavour = 'claim' | 'namespaced';
interface Scenario {
  name: string;
  flavour: Flavour;
  xr: string;
  /** Also render the second reconcile: the example's observed resources, as Crossplane passes them (SECOND_RECONCILE). */
  secondReconcile?: boolean;
  /** Patch applied to the example before anything else. */
  patch?: Obj;
  /** Instead of `secondReconcile`: this many reconciles in a simulated cluster (test/support/cluster.ts), each render applied. */
  reconciles?: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'claim production', flavour: 'claim', xr: 'examples/claim/production.yaml', secondReconcile: true },
  { name: 'claim test', flavour: 'claim', xr: 'examples/claim/test.yaml' },
  { name: 'namespaced', flavour: 'namespaced', xr: 'examples/namespaced/tenantdatabase.yaml', secondReconcile: true },
  // Every optional object: the read-only role with a listed schema, after a password rotation.
  ...(['claim', 'namespaced'] as const).map((flavour): Scenario => ({
    name: `${flavour} with read-only role, schema and rotation`,
    flavour,
    xr: flavour === 'claim' ? 'examples/claim/production.yaml' : 'examples/namespaced/tenantdatabase.yaml',
    patch: { spec: { readOnlyRole: true, schemas: ['reporting'], passwordRotationTrigger: '2026-12-02T21:00:00Z' } },
    reconciles: 3,
  })),
];

/** The renders of a scenario, in order: first reconcile, then the second (observed example) or each simulated one. */
function renders(s: Scenario): { title: string; response: () => ReturnType<typeof compose> }[] {
  if (s.reconciles) {
    let cached: ReturnType<typeof compose>[] | undefined;
    const all = () => {
      if (!cached) {
        const req = requestFor({ flavour: s.flavour, xr: s.xr, patch: s.patch });
        const cluster = new Cluster(req.observed!.composite!.resource as Obj, req.input as Obj);
        cached = Array.from({ length: s.reconciles! }, () => cluster.reconcile().response);
      }
      return cached;
    };
    return Array.from({ length: s.reconciles }, (_, i) => ({ title: `simulated reconcile ${i + 1}`, response: () => all()[i]! }));
  }
  const second = SECOND_RECONCILE[s.flavour];
  // The first reconcile as Crossplane runs it: the function asks for the platform key and is called again with it
  // (requirements loop), so the answer applied holds the password Secret too; for a tenant with nothing else to
  // create first (no protection, no AWS copy, backups off as shipped) that Secret is all there is.
  const reconciles = s.secondReconcile ? [{ passwordKey: true }, second] : [{ passwordKey: true }];
  return reconciles.map((observed, i) => ({
    title: i === 0 ? 'first reconcile (nothing observed)' : `second reconcile (observed: ${second.observed})`,
    response: () => compose(requestFor({ flavour: s.flavour, xr: s.xr, ...observed, patch: s.patch }), NOW),
  }));
}

/**
 * Warnings that are expected, each with why. Any other warning is a failure.
 */
const EXPECTED_WARNINGS: { pattern: RegExp; why: string }[] = [
  {
    pattern: /^CompositeResourceDefinition v1 is deprecated/,
    why: 'claims (scope LegacyCluster with claimNames) exist only in XRD v1; the namespaced flavour is the v2 way',
  },
];

const verbose = process.env.E2E_VERBOSE === '1';

const yamlIn = (dir: string) => readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => resolve(dir, f));

/**
 * The CRDs to install: the complete Crossplane core and provider-sql sets,
 * the Secrets Manager (and KMS) CRDs of provider-upjet-aws, which only the
 * reference set has, and the Usage/ClusterUsage CRDs from the reference set
 * should the complete set lack them.
 */
function stackCrds(): { crd: Obj; file: string }[] {
  const out: { crd: Obj; file: string }[] = [];
  const add = (file: string, onlyIfMissing = false) => {
    for (const crd of loadYaml(file)) {
      if (crd.kind !== 'CustomResourceDefinition') continue;
      if (onlyIfMissing && out.some((o) => o.crd.metadata.name === crd.metadata.name)) continue;
      out.push({ crd, file });
    }
  };
  for (const f of yamlIn(resolve(STACK_CRDS, 'crossplane'))) add(f);
  for (const f of yamlIn(resolve(STACK_CRDS, 'provider-sql'))) add(f);
  for (const f of yamlIn(resolve(REF_CRDS, 'provider-aws-secretsmanager'))) add(f);
  for (const f of yamlIn(resolve(REF_CRDS, 'crossplane')).filter((f) => /protection\.crossplane\.io_/.test(f))) add(f, true);
  return out;
}

/** Run `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/**
 * What must read back: the object as sent, except that a Secret's write-only
 * stringData comes back base64-encoded in data.
 */
function expectedStored(sent: Obj): Obj {
  const out = structuredClone(sent);
  if (out.apiVersion === 'v1' && out.kind === 'Secret' && out.stringData) {
    out.data = { ...(out.data ?? {}) };
    for (const [k, v] of Object.entries(out.stringData as Record<string, string>)) out.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    delete out.stringData;
  }
  return out;
}

const describeObj = (o: Obj) => `${o.apiVersion} ${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    const details = (e.body as Obj)?.details?.causes as Obj[] | undefined;
    const causes = details?.length ? ` [causes: ${details.map((c) => `${c.field ?? ''}: ${c.message}`).join('; ')}]` : '';
    return `${e.message}${causes}`;
  }
  return (e as Error)?.message ?? String(e);
}

describe.skipIf(!run)('kube-apiserver accepts everything function-tenantdatabase renders', () => {
  let cp: ControlPlane | undefined;
  let k: KubeClient;

  beforeAll(async () => {
    cp = await startControlPlane();
    k = cp.client;
    for (const ns of NAMESPACES) await k.ensureNamespace(ns);
    const crds = stackCrds();
    await pool(crds, 4, async ({ crd, file }) => {
      try {
        await k.applyCRD(crd);
      } catch (e) {
        throw new Error(`installing ${file}: ${errorText(e)}`);
      }
    });
  });

  afterAll(async () => {
    await cp?.stop();
  });

  /**
   * Send `obj` the ways Crossplane would, read it back, and return every
   * problem found (empty: accepted and stored as sent). Remembers what it
   * created in `created`.
   */
  async function roundTrip(obj: Obj, created: Obj[], opts: { subresource?: 'status' } = {}): Promise<string[]> {
    const what = describeObj(obj);
    const problems: string[] = [];
    const warn = (step: string, rsp: Response) => {
      for (const w of rsp.warnings) {
        if (!EXPECTED_WARNINGS.some((e) => e.pattern.test(w))) problems.push(`${what}: ${step}: warning: ${w}`);
      }
    };
    if (verbose) console.info(`checking ${what}${opts.subresource ? ` (${opts.subresource})` : ''}`);
    try {
      if (opts.subresource === 'status') {
        warn('status apply (dry run)', await k.applyStatus(obj, { dryRun: true }));
        warn('status apply', await k.applyStatus(obj));
      } else {
        if (!(await k.exists(obj))) {
          warn('create (dry run)', await k.create(obj, { dryRun: true }));
          created.push(obj);
        }
        warn('apply (dry run)', await k.apply(obj, { dryRun: true }));
        warn('apply', await k.apply(obj));
      }
    } catch (e) {
      return [...problems, `${what}: rejected: ${errorText(e)}`];
    }
    const stored = await k.get(obj);
    const want = opts.subresource === 'status' ? { status: obj.status } : expectedStored(obj);
    for (const m of mismatches(want, stored)) problems.push(`${what}: read back differs at ${m}`);
    return problems;
  }

  async function cleanUp(objs: Obj[]): Promise<void> {
    for (const o of [...objs].reverse()) await k.delete(o);
    objs.length = 0;
  }

  it('rejects unknown fields and schema violations under Strict (so the checks below mean something)', async () => {
    const role = {
      apiVersion: 'postgresql.sql.crossplane.io/v1alpha1',
      kind: 'Role',
      metadata: { name: 'e2e-negative-control' },
      spec: { forProvider: { privileges: { login: true } }, deletionPolicy: 'Orphan' },
    };
    await expect(k.create(role, { dryRun: true })).resolves.toMatchObject({ status: 201, warnings: [] });
    const unknown = structuredClone(role) as Obj;
    unknown.spec.forProvider.privileges.superuser = false; // the field is superUser
    await expect(k.create(unknown, { dryRun: true })).rejects.toThrow(/unknown field "spec\.forProvider\.privileges\.superuser"/);
    await expect(k.apply(unknown, { dryRun: true })).rejects.toThrow(/superuser/);
    const invalid = structuredClone(role) as Obj;
    invalid.spec.deletionPolicy = 'Keep';
    await expect(k.create(invalid, { dryRun: true })).rejects.toThrow(/Unsupported value: "Keep"/);
    // The same unknown field without Strict is dropped with only a warning: what Crossplane would silently lose.
    const lenient = await k.create(unknown, { dryRun: true, fieldValidation: 'Warn' });
    expect(lenient.warnings.join('\n')).toMatch(/unknown field "spec\.forProvider\.privileges\.superuser"/);
    expect(lenient.body.spec.forProvider.privileges.superuser).toBeUndefined();
  });

  describe('shipped manifests', () => {
    const created: Obj[] = [];
    afterAll(async () => {
      if (k) await cleanUp(created);
    });

    for (const file of ['xrds/claim/definition.yaml', 'xrds/namespaced/definition.yaml']) {
      it(`${file} is a valid CompositeResourceDefinition (Crossplane's CRD and CEL rules)`, async () => {
        const [xrd] = loadYaml(resolve(repoRoot, file));
        expect(await roundTrip(xrd!, created)).toEqual([]);
        // Both XRDs end up defining tenantdatabases.tenantdb.platform.io in
        // Crossplane; as plain objects (no Crossplane here) they can coexist,
        // but keep the cluster as one flavour would leave it.
        await cleanUp(created);
      });
    }

    for (const file of ['compositions/claim.yaml', 'compositions/namespaced.yaml']) {
      it(`${file} is a valid Composition (Crossplane's CRD and CEL rules)`, async () => {
        const [composition] = loadYaml(resolve(repoRoot, file));
        expect(await roundTrip(composition!, created)).toEqual([]);
      });
    }

    // This once found that the generated input CRD used `propertyNames` (not in
    // Kubernetes' OpenAPI subset) and a {1,2048} repeat (Go's regexp stops at 1000).
    it('package/input/tenantdb.fn.platform.io_inputs.yaml is an installable CRD', async () => {
      const [inputCrd] = loadYaml(resolve(repoRoot, 'package/input/tenantdb.fn.platform.io_inputs.yaml'));
      const rsp = await k.raw('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions?dryRun=All&fieldValidation=Strict', inputCrd);
      expect(rsp.body.message, 'Strict').toBeUndefined();
      const lenient = await k.raw('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions?dryRun=All&fieldValidation=Warn', inputCrd);
      expect(lenient.body.message, 'Warn').toBeUndefined();
      expect(lenient.warnings).toEqual([]);
    });

    it('each Composition\'s function input is a valid Input of package/input (the input CRD the function package ships)', async () => {
      const [inputCrd] = loadYaml(resolve(repoRoot, 'package/input/tenantdb.fn.platform.io_inputs.yaml'));
      await k.applyCRD(inputCrd!);
      const problems: string[] = [];
      for (const flavour of ['claim', 'namespaced']) {
        const [composition] = loadYaml(resolve(repoRoot, `compositions/${flavour}.yaml`));
        const input = structuredClone(compositionInput(composition!));
        // An input in a Composition has no metadata; as an object it needs a name.
        input.metadata = { name: `composition-${flavour}`, namespace: 'crossplane-system' };
        problems.push(...(await roundTrip(input, created)));
      }
      expect(problems).toEqual([]);
    });

    it.skip('package metadata (crossplane.yaml, package/crossplane.yaml, package-namespaced/crossplane.yaml): meta.pkg.crossplane.io CRDs are documentation only; Crossplane never installs them, so no API server serves that group', () => {});
  });

  for (const flavour of ['claim', 'namespaced'] as Flavour[]) {
    describe(`${flavour} flavour`, () => {
      const xrd = () => loadYaml(resolve(repoRoot, `xrds/${flavour}/definition.yaml`))[0]!;
      const xrCrds: Obj[] = [];

      beforeAll(async () => {
        // Both flavours define tenantdatabases.tenantdb.platform.io: only one can be installed at a time.
        xrCrds.push(...crdsForXrd(xrd()));
        for (const crd of xrCrds) {
          const existing = await k.raw('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
          if (existing.status === 200 && existing.body.spec.scope !== crd.spec.scope) await k.deleteCRD(crd.metadata.name);
          await k.applyCRD(crd);
        }
      });

      afterAll(async () => {
        if (!k) return;
        for (const crd of xrCrds) await k.deleteCRD(crd.metadata.name);
      });

      it('the API server refuses a passwordRotationTrigger that is not a Kubernetes time, as the function does (reason: provider-sql takes only RFC 3339)', async () => {
        const claim = (passwordRotationTrigger: string) => ({
          apiVersion: 'tenantdb.platform.io/v1alpha1',
          kind: 'TenantDatabase',
          metadata: { name: 'e2e-rotation', namespace: 'test-namespace' },
          spec: { passwordRotationTrigger },
        });
        await expect(k.apply(claim('2026-12-02T21:00:00Z'), { dryRun: true })).resolves.toMatchObject({ status: expect.any(Number) });
        await expect(k.apply(claim('2026-12-02T22:00:00+01:00'), { dryRun: true })).resolves.toMatchObject({ status: expect.any(Number) });
        for (const bad of ['2026-12', 'rotate-please', '2026-12-02T21:00:00.5Z', '2026-12-02 21:00:00Z']) {
          await expect(k.apply(claim(bad), { dryRun: true }), bad).rejects.toThrow(/passwordRotationTrigger/);
        }
      });

      it('the XRD\'s CEL rules hold in a real API server: encoding, lcCollate and lcCType are immutable', async () => {
        const created: Obj[] = [];
        const base = {
          apiVersion: 'tenantdb.platform.io/v1alpha1',
          kind: 'TenantDatabase',
          metadata: { name: 'e2e-immutable', namespace: 'test-namespace' },
          spec: { encoding: 'UTF8', lcCollate: 'C', lcCType: 'C' },
        };
        try {
          expect(await roundTrip(base, created)).toEqual([]);
          const changed = (spec: Obj) => ({ ...base, spec });
          // Other fields stay mutable.
          await expect(k.apply(changed({ ...base.spec, connectionLimit: 5 }), { dryRun: true })).resolves.toMatchObject({ status: 200 });
          for (const field of ['encoding', 'lcCollate', 'lcCType'] as const) {
            const other = { ...base.spec, [field]: 'LATIN1' };
            await expect(k.apply(changed(other), { dryRun: true }), `changing ${field}`).rejects.toThrow(new RegExp(`${field} is immutable`));
            const { [field]: _dropped, ...without } = base.spec;
            await expect(k.apply(changed(without), { dryRun: true }), `removing ${field}`).rejects.toThrow(new RegExp(`${field} is immutable`));
          }
        } finally {
          await cleanUp(created);
        }
      });

      for (const s of SCENARIOS.filter((x) => x.flavour === flavour)) {
        describe(s.name, () => {
          const created: Obj[] = [];
          let xr: Obj;
          let xrNamespace: string | undefined;

          afterAll(async () => {
            if (k) await cleanUp(created);
          });

          it(`${s.xr} is a valid ${flavour === 'claim' ? 'claim (and its XR)' : 'XR'} of the XRD`, async () => {
            const doc = merge(loadYaml(resolve(repoRoot, s.xr))[0], s.patch ?? {}) as Obj;
            const problems = await roundTrip(doc, created);
            xr = xrFor(doc, flavour);
            if (flavour === 'claim') problems.push(...(await roundTrip(xr, created)));
            xrNamespace = xr.metadata?.namespace;
            expect(problems).toEqual([]);
          });

          for (const { title, response } of renders(s)) {
            it(`${title}: every composed resource is accepted under Strict validation and reads back as rendered`, async () => {
              expect(xr, 'the example must have been created first').toBeDefined();
              const rsp = response();
              const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL).map((r) => r.message);
              expect(fatal).toEqual([]);
              const desired = Object.entries<Resource>(rsp.desired?.resources ?? {});
              expect(desired.length).toBeGreaterThan(0);
              if (verbose) console.info(`${s.name}, ${title}: ${desired.map(([n]) => n).join(', ')}`);

              const problems: string[] = [];
              for (const [name, res] of desired) {
                const obj = structuredClone<Obj>(res.resource ?? {});
                const what = `${name} (${describeObj(obj)})`;
                let namespaced: boolean;
                try {
                  namespaced = await k.isNamespaced(obj);
                } catch (e) {
                  problems.push(`${what}: ${errorText(e)}`);
                  continue;
                }
                // Where Crossplane puts it: a namespaced XR composes only
                // namespaced resources, in its own namespace; a cluster-scoped
                // XR must name the namespace of any namespaced resource.
                if (flavour === 'namespaced') {
                  if (!namespaced) {
                    problems.push(`${what}: cluster-scoped, but a namespaced XR can only compose namespaced resources`);
                    continue;
                  }
                  if (obj.metadata?.namespace && obj.metadata.namespace !== xrNamespace) {
                    problems.push(`${what}: namespace ${obj.metadata.namespace} is not the XR's (${xrNamespace})`);
                    continue;
                  }
                  obj.metadata = { ...obj.metadata, namespace: xrNamespace };
                } else if (namespaced && !obj.metadata?.namespace) {
                  problems.push(`${what}: namespaced, but a cluster-scoped XR must set its namespace`);
                  continue;
                } else if (!namespaced && obj.metadata?.namespace) {
                  problems.push(`${what}: cluster-scoped, but sets metadata.namespace`);
                  continue;
                }
                problems.push(...(await roundTrip(obj, created)));
              }

              // The XR status the function returns, written as Crossplane writes it (status subresource).
              const status = rsp.desired?.composite?.resource?.status as Obj | undefined;
              if (status && Object.keys(status).length) {
                const meta = { name: xr.metadata.name, ...(xr.metadata.namespace ? { namespace: xr.metadata.namespace } : {}) };
                problems.push(...(await roundTrip({ apiVersion: xr.apiVersion, kind: xr.kind, metadata: meta, status }, created, { subresource: 'status' })));
                if (flavour === 'claim') {
                  // Crossplane copies the XR's status to the claim.
                  const claim = loadYaml(resolve(repoRoot, s.xr))[0]!;
                  const claimMeta = { name: claim.metadata.name, namespace: claim.metadata.namespace };
                  problems.push(...(await roundTrip({ apiVersion: claim.apiVersion, kind: claim.kind, metadata: claimMeta, status }, created, { subresource: 'status' })));
                }
              }
              expect(problems).toEqual([]);
            });
          }
        });
      }
    });
  }
});
