/**
 * The YAML that ships: generated XRDs and input CRD are up to date, both
 * flavours define the same spec, every XRD, Composition and package metadata
 * file is valid against Crossplane's own CRDs, every example is valid against
 * the XRD, and every Composition's input is accepted by the function.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CROSSPLANE_COLUMNS, generatedFiles } from '../scripts/generate/manifests.js';
import { compositionInput, loadYaml } from '../scripts/shared/request.js';
import { parseInput } from '../function/input.js';
import { closed, CrdValidator, newAjv } from './support/crds.js';
import { CRDS, repoPath, requireShared } from './support/shared.js';

const haveCrds = requireShared(CRDS);
const read = (path: string) => readFileSync(repoPath(path), 'utf8');
const xrds = { claim: parse(read('xrds/claim/definition.yaml')), namespaced: parse(read('xrds/namespaced/definition.yaml')) };
const xrSchema = (xrd: any) => xrd.spec.versions[0].schema.openAPIV3Schema;

describe('generated manifests', () => {
  for (const [path, content] of Object.entries(generatedFiles())) {
    it(`${path} is what npm run generate writes (reason: the API and the function share one schema)`, () => {
      expect(read(path), `run npm run generate`).toBe(content);
    });
  }

  it('both flavours define exactly the same TenantDatabase schema and printer columns', () => {
    expect(xrSchema(xrds.namespaced)).toEqual(xrSchema(xrds.claim));
    expect(xrds.namespaced.spec.versions[0].additionalPrinterColumns).toEqual(xrds.claim.spec.versions[0].additionalPrinterColumns);
    expect(xrds.claim.spec.scope).toBe('LegacyCluster');
    expect(xrds.namespaced.spec.scope).toBe('Namespaced');
  });

  it('declares no printer column Crossplane already appends, and PROTECTED reads the observed status (reason: no column twice; PROTECTED must mean protected now)', () => {
    for (const xrd of [xrds.claim, xrds.namespaced]) {
      const columns = xrd.spec.versions[0].additionalPrinterColumns as { name: string; jsonPath: string }[];
      expect(columns.map((c) => c.name).filter((n) => CROSSPLANE_COLUMNS.includes(n))).toEqual([]);
      expect(columns.find((c) => c.name === 'PROTECTED')?.jsonPath).toBe('.status.protected');
      for (const column of columns) {
        const field = column.jsonPath.replace(/^\.status\./, '');
        expect(xrSchema(xrd).properties.status.properties, `${column.name} reads a status field the XRD defines`).toHaveProperty(field);
      }
    }
  });

  it('keeps the three fixed fields with their names and defaults', () => {
    const props = xrSchema(xrds.claim).properties.spec.properties;
    expect(props.deletionProtection).toMatchObject({ type: 'boolean', default: true });
    expect(props.roleDeletionPolicy).toMatchObject({ enum: ['Orphan', 'Delete'], default: 'Orphan' });
    expect(props.dbDeletionPolicy).toMatchObject({ enum: ['Orphan', 'Delete'], default: 'Orphan' });
  });
});

describe.skipIf(!haveCrds)('against Crossplane CRDs', () => {
  const crossplane = haveCrds ? new CrdValidator([join(CRDS, 'crossplane')]) : undefined;
  const files = [
    'xrds/claim/definition.yaml',
    'xrds/namespaced/definition.yaml',
    'compositions/claim.yaml',
    'compositions/namespaced.yaml',
    'crossplane.yaml',
    'package-namespaced/crossplane.yaml',
    'package/crossplane.yaml',
    'examples/functions.yaml',
  ];
  for (const file of files) {
    it(`${file} is valid`, () => {
      for (const doc of loadYaml(repoPath(file))) expect(crossplane!.errors(doc)).toEqual([]);
    });
  }

  it('examples/providerconfigs/provider-sql.yaml holds valid provider-sql provider configs', () => {
    const sql = new CrdValidator([join(CRDS, 'provider-sql')]);
    const docs = loadYaml(repoPath('examples/providerconfigs/provider-sql.yaml'));
    expect(docs.map((d) => d.kind)).toEqual(['Secret', 'ProviderConfig', 'ClusterProviderConfig']);
    for (const doc of docs) expect(sql.errors(doc)).toEqual([]);
    // The names the Compositions use.
    const names = ['claim', 'namespaced'].map((f) => compositionInput(loadYaml(repoPath(`compositions/${f}.yaml`))[0]!).sql.providerConfigRef.name);
    expect(new Set(names)).toEqual(new Set([docs[1]!.metadata.name, docs[2]!.metadata.name]));
  });

  it('the validator itself refuses a misspelt field (reason: a check that cannot fail proves nothing)', () => {
    const [composition] = loadYaml(repoPath('compositions/claim.yaml'));
    composition!.spec.compositeTypeRefs = composition!.spec.compositeTypeRef;
    expect(crossplane!.errors(composition!).join()).toContain('must NOT have additional properties');
  });
});

describe('examples against the XRD', () => {
  const ajv = newAjv();
  const validate = ajv.compile(closed(xrSchema(xrds.claim)));
  const examples = ['examples/claim/production.yaml', 'examples/claim/test.yaml', 'examples/namespaced/tenantdatabase.yaml'];
  for (const file of examples) {
    it(`${file} is a valid TenantDatabase`, () => {
      const [doc] = loadYaml(repoPath(file));
      expect(doc!.apiVersion).toBe('tenantdb.platform.io/v1alpha1');
      expect(doc!.kind).toBe('TenantDatabase');
      const ok = validate({ spec: doc!.spec });
      expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
      expect(ok).toBe(true);
    });
  }

  it('production examples carry the Argo CD annotations that stop deletion and pruning', () => {
    for (const file of ['examples/claim/production.yaml', 'examples/namespaced/tenantdatabase.yaml']) {
      const [doc] = loadYaml(repoPath(file));
      expect(doc!.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Delete=false,Prune=false');
    }
  });

  it('an invalid example is refused (reason: the schema check can fail)', () => {
    expect(validate({ spec: { roleDeletionPolicy: 'Sometimes' } })).toBe(false);
    expect(validate({ spec: { deletionProtecton: true } })).toBe(false);
  });

  for (const flavour of ['claim', 'namespaced']) {
    it(`compositions/${flavour}.yaml input is accepted by the function and its CRD`, () => {
      const [composition] = loadYaml(repoPath(`compositions/${flavour}.yaml`));
      const input = compositionInput(composition!);
      expect(parseInput(input)).toHaveProperty('input');
      const crd = parse(read('package/input/tenantdb.fn.platform.io_inputs.yaml'));
      const check = newAjv().compile(closed(crd.spec.versions[0].schema.openAPIV3Schema));
      expect(check(input), JSON.stringify(check.errors)).toBe(true);
    });
  }
});
