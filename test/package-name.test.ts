/**
 * The names Crossplane gives the package objects it installs (scripts/package-name.ts),
 * and the places that must use them: every Composition's functionRef.name, the
 * Function crossplane render runs, and the Provider that carries the AWS
 * provider's IRSA role.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installedPackageName, parsePackageReference, toDnsLabel } from '../scripts/package/package-name.js';
import { dependenciesOf } from '../scripts/package/staging.js';
import { loadYaml, type Obj } from '../scripts/shared/request.js';
import { CrdValidator } from './support/crds.js';
import { repoPath, requireShared, SHARED } from './support/shared.js';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

/** Crossplane's xpkg.ToDNSLabel on its own. */
const LABELS: { input: string; label: string; reason: string }[] = [
  { input: 'platform/function-tenantdatabase', label: 'platform-function-tenantdatabase', reason: 'the repository path of this function: "/" becomes "-"' },
  { input: 'Platform/Function-TenantDatabase', label: 'latform-unction-enantatabase', reason: 'uppercase letters are dropped, not lowercased' },
  { input: 'a.b:c/d-e', label: 'a-b-c-d-e', reason: '".", ":", "/" and "-" all become "-"' },
  { input: 'a//b', label: 'a--b', reason: 'separators are never collapsed' },
  { input: 'my_team/fn', label: 'myteam-fn', reason: '"_" is not a separator: it is dropped' },
  { input: '/abc', label: 'abc', reason: 'a separator at index 0 is not written' },
  { input: 'abc/', label: 'abc', reason: 'a separator at the last index is not written' },
  { input: 'a'.repeat(70), label: 'a'.repeat(63), reason: 'cut after index 62: at most 63 characters' },
  { input: `${'a'.repeat(62)}-b`, label: 'a'.repeat(62), reason: 'a separator at index 62 is not written, and the loop ends there' },
  { input: `${'a'.repeat(61)}.-b`, label: 'a'.repeat(61), reason: 'a "-" written at index 61 becomes trailing once the cut at 62 drops the rest, and is trimmed' },
  { input: 'bücher', label: 'bcher', reason: 'bytes outside [a-z0-9] are dropped' },
  {
    input: `${'a'.repeat(61)}é${'b'.repeat(10)}`,
    label: `${'a'.repeat(61)}${'b'.repeat(10)}`,
    reason: 'Go ranges over runes: "é" spans bytes 61-62, so index 62 is never visited and nothing is cut (unreachable for real references, whose paths are ASCII)',
  },
  { input: '', label: '', reason: 'nothing in, nothing out' },
];

/** Package references, parsed as go-containerregistry v0.21 does before ToDNSLabel. */
const REFERENCES: { ref: string; repository: string; name: string; reason: string }[] = [
  {
    ref: 'xpkg.crossplane.io/platform/function-tenantdatabase',
    repository: 'platform/function-tenantdatabase',
    name: 'platform-function-tenantdatabase',
    reason: 'this repository\'s function: the registry host is not part of the name',
  },
  { ref: 'xpkg.crossplane.io/platform/function-tenantdatabase:v0.1.0', repository: 'platform/function-tenantdatabase', name: 'platform-function-tenantdatabase', reason: 'the tag is not part of the name' },
  { ref: `xpkg.crossplane.io/platform/function-tenantdatabase@${DIGEST}`, repository: 'platform/function-tenantdatabase', name: 'platform-function-tenantdatabase', reason: 'nor is a digest' },
  { ref: `xpkg.crossplane.io/platform/function-tenantdatabase:v0.1.0@${DIGEST}`, repository: 'platform/function-tenantdatabase', name: 'platform-function-tenantdatabase', reason: 'nor a tag and a digest together' },
  { ref: 'registry.example.com:5000/team/function-tenantdatabase:v1', repository: 'team/function-tenantdatabase', name: 'team-function-tenantdatabase', reason: 'a registry with a port: its ":" is the registry\'s, the last ":" after the last "/" is the tag\'s' },
  { ref: 'localhost:5000/function-tenantdatabase', repository: 'function-tenantdatabase', name: 'function-tenantdatabase', reason: 'localhost with a port is a registry ("." or ":" in the first component)' },
  { ref: 'localhost/team/fn', repository: 'localhost/team/fn', name: 'localhost-team-fn', reason: 'a bare "localhost" is not a registry to go-containerregistry v0.21: it stays in the path on Docker Hub' },
  { ref: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform/function-tenantdatabase', repository: 'platform/function-tenantdatabase', name: 'platform-function-tenantdatabase', reason: 'ECR: the same repository path anywhere gives the same name' },
  { ref: 'ghcr.io/my_org/function.tenantdatabase', repository: 'my_org/function.tenantdatabase', name: 'myorg-function-tenantdatabase', reason: '"_" is dropped and "." becomes "-"' },
  { ref: 'team/fn', repository: 'team/fn', name: 'team-fn', reason: 'no registry host: Docker Hub, path as written' },
  { ref: 'fn', repository: 'library/fn', name: 'library-fn', reason: 'a one-component Docker Hub path gains "library/"' },
  { ref: 'docker.io/fn:v1', repository: 'library/fn', name: 'library-fn', reason: 'docker.io is Docker Hub too' },
  { ref: 'index.docker.io/team/fn', repository: 'team/fn', name: 'team-fn', reason: 'Docker Hub named explicitly: a two-component path as written' },
  {
    ref: 'registry.example.com/platform-engineering/databases/postgresql/function-tenantdatabase',
    repository: 'platform-engineering/databases/postgresql/function-tenantdatabase',
    name: 'platform-engineering-databases-postgresql-function-tenantdataba',
    reason: 'a long path is cut to 63 characters',
  },
  { ref: 'xpkg.upbound.io/upbound/provider-aws-secretsmanager', repository: 'upbound/provider-aws-secretsmanager', name: 'upbound-provider-aws-secretsmanager', reason: 'the AWS Secrets Manager provider this configuration depends on' },
  { ref: 'xpkg.crossplane.io/crossplane-contrib/provider-sql', repository: 'crossplane-contrib/provider-sql', name: 'crossplane-contrib-provider-sql', reason: 'provider-sql' },
];

const REFUSED: { ref: string; error: RegExp; reason: string }[] = [
  { ref: 'ghcr.io/Platform/fn', error: /may only contain \[a-z0-9_.\/-\]/, reason: 'uppercase in the path: go-containerregistry refuses the reference, so no name is derived' },
  { ref: 'ghcr.io/platform/fn:', error: /the tag "" must be 1 to 128/, reason: 'an empty tag' },
  { ref: 'ghcr.io/platform/fn@sha256:abc', error: /sha256: followed by 64/, reason: 'a short digest' },
  { ref: 'ghcr.io/platform/fn@a@b', error: /more than one "@"/, reason: 'two digests' },
  { ref: 'ghcr.io:https/platform/fn', error: /is not a registry host\[:port\]/, reason: 'a registry port must be digits' },
  { ref: 'https://ghcr.io/platform/fn', error: /no URL scheme/, reason: 'a URL, not a reference (go-containerregistry v0.21 would misread "https:" as a registry; refused here)' },
  { ref: '', error: /must not be empty/, reason: 'nothing to name' },
];

describe('xpkg.ToDNSLabel', () => {
  for (const c of LABELS) {
    it(`${JSON.stringify(c.input.length > 40 ? `${c.input.slice(0, 20)}…(${c.input.length})` : c.input)} → ${c.label || '""'} (reason: ${c.reason})`, () => {
      expect(toDnsLabel(c.input)).toBe(c.label);
    });
  }
});

describe('installed package names', () => {
  for (const c of REFERENCES) {
    it(`${c.ref} → ${c.name} (reason: ${c.reason})`, () => {
      expect(parsePackageReference(c.ref).repository).toBe(c.repository);
      expect(installedPackageName(c.ref)).toBe(c.name);
    });
  }
  for (const c of REFUSED) {
    it(`refuses ${JSON.stringify(c.ref)} (reason: ${c.reason})`, () => {
      expect(() => installedPackageName(c.ref)).toThrow(c.error);
    });
  }
});

/** The configuration packages and the Composition each one ships. */
const CONFIGURATIONS = [
  { meta: 'crossplane.yaml', composition: 'compositions/claim.yaml' },
  { meta: 'package-namespaced/crossplane.yaml', composition: 'compositions/namespaced.yaml' },
];
const functionName = (meta: string) => {
  const functions = dependenciesOf(meta, loadYaml(repoPath(meta))[0]).filter((d) => d.kind === 'Function');
  expect(functions, `${meta} depends on exactly one Function`).toHaveLength(1);
  return functions[0]!.name;
};
const functionRefs = (file: string): string[] =>
  loadYaml(repoPath(file)).flatMap((c) => (c.spec?.pipeline ?? []).map((s: Obj) => s.functionRef?.name));

describe('every place that names the installed Function agrees with dependsOn', () => {
  it('every Composition is shipped by one of the configurations (reason: a new Composition must not escape the checks below)', () => {
    const all = readdirSync(repoPath('compositions')).filter((f) => f.endsWith('.yaml')).map((f) => `compositions/${f}`);
    expect(all.sort()).toEqual(CONFIGURATIONS.map((c) => c.composition).sort());
  });

  for (const { meta, composition } of CONFIGURATIONS) {
    it(`${composition} calls the Function by the name ${meta}'s dependsOn installs it under (reason: otherwise every claim fails with "cannot get Function")`, () => {
      const refs = functionRefs(composition);
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect(ref).toBe(functionName(meta));
    });
  }

  it('both configurations depend on the same function package (reason: one Function serves both flavours)', () => {
    expect(functionName('package-namespaced/crossplane.yaml')).toBe(functionName('crossplane.yaml'));
  });

  it('examples/functions.yaml runs the Function under that name (reason: crossplane render looks it up by functionRef.name)', () => {
    const [fn] = loadYaml(repoPath('examples/functions.yaml'));
    expect(fn!.metadata.name).toBe(functionName('crossplane.yaml'));
    expect(installedPackageName(fn!.spec.package)).toBe(fn!.metadata.name);
  });
});

const STACK_CRDS = resolve(SHARED, 'stack-crds/crossplane');
const haveStackCrds = requireShared(STACK_CRDS);

/** `>=vX.Y.Z`, the only constraint form the configurations use. */
function satisfiesMinimum(constraint: string, version: string): boolean {
  const min = /^>=\s*v?(\d+)\.(\d+)\.(\d+)$/.exec(constraint.trim());
  const ver = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!min || !ver) throw new Error(`cannot compare ${version} with ${constraint}: extend this check`);
  const [a, b] = [min.slice(1).map(Number), ver.slice(1).map(Number)];
  for (let i = 0; i < 3; i++) if (b[i] !== a[i]) return b[i]! > a[i]!;
  return true;
}

describe.skipIf(!haveStackCrds)('examples/providerconfigs/aws-runtime.yaml: the AWS provider with its IRSA role', () => {
  const validator = haveStackCrds ? new CrdValidator([STACK_CRDS]) : undefined;
  const docs = loadYaml(repoPath('examples/providerconfigs/aws-runtime.yaml'));
  const runtime = docs.find((d) => d.kind === 'DeploymentRuntimeConfig')!;
  const provider = docs.find((d) => d.kind === 'Provider')!;

  it('holds a DeploymentRuntimeConfig and a Provider, valid against Crossplane\'s CRDs', () => {
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual(['pkg.crossplane.io/v1beta1 DeploymentRuntimeConfig', 'pkg.crossplane.io/v1 Provider']);
    for (const doc of docs) expect(validator!.errors(doc)).toEqual([]);
  });

  it('annotates the provider\'s service account with the IAM role and attaches the runtime config to the Provider', () => {
    expect(runtime.spec.serviceAccountTemplate.metadata.annotations['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\/.+$/);
    expect(provider.spec.runtimeConfigRef).toEqual({ apiVersion: 'pkg.crossplane.io/v1beta1', kind: 'DeploymentRuntimeConfig', name: runtime.metadata.name });
  });

  it('does not pin the service account name (reason: each ProviderRevision must own its own account; a shared pinned one blocks upgrades)', () => {
    expect(runtime.spec.serviceAccountTemplate.metadata.name).toBeUndefined();
  });

  for (const { meta } of CONFIGURATIONS) {
    it(`names the Provider as ${meta}'s dependsOn does, for the same package (reason: applied before or after the configuration, it is the same object)`, () => {
      const ref = parsePackageReference(provider.spec.package);
      expect(ref.tag, 'spec.package needs a version tag').toBeDefined();
      const source = provider.spec.package.slice(0, -(ref.tag!.length + 1));
      const dependency = dependenciesOf(meta, loadYaml(repoPath(meta))[0]).find((d) => d.kind === 'Provider' && d.package === source);
      expect(dependency, `${meta} depends on ${source}`).toBeDefined();
      expect(provider.metadata.name).toBe(installedPackageName(provider.spec.package));
      expect(provider.metadata.name).toBe(dependency!.name);
      const constraint = loadYaml(repoPath(meta))[0]!.spec.dependsOn.find((d: Obj) => d.package === source).version;
      expect(satisfiesMinimum(constraint, ref.tag!), `${ref.tag} satisfies ${constraint}`).toBe(true);
    });
  }

  it('the validator refuses a misspelt field (reason: a check that cannot fail proves nothing)', () => {
    const wrong = structuredClone(runtime);
    wrong.spec.serviceAccountTemplate.metadata.annotation = wrong.spec.serviceAccountTemplate.metadata.annotations;
    delete wrong.spec.serviceAccountTemplate.metadata.annotations;
    expect(validator!.errors(wrong).join()).toContain('must NOT have additional properties');
  });
});

