/**
 * `npm run migrate`: Helm chart values (tenantDatabases:) to TenantDatabase
 * claims. Every case runs the compiled CLI (dist/scripts/migrate.js, built by
 * `pretest`) in a fresh temporary directory, as a platform engineer would,
 * and every claim it produces must be valid against the XRD schema.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { closed, newAjv } from './support/crds.js';
import { repoPath } from './support/shared.js';

const CLI = repoPath('dist/scripts/migrate.js');
const PROTECTED = { 'argocd.argoproj.io/sync-options': 'Delete=false,Prune=false' };

/** The example from the Helm chart's documentation. */
const EXAMPLE = `tenantDatabases:
  - name: my-app-db
    namespace: my-namespace
    # deletionProtection: true (default) / roleDeletionPolicy: Orphan / dbDeletionPolicy: Orphan
  - name: my-test-db
    namespace: test-namespace
    deletionProtection: false
    roleDeletionPolicy: Delete
    dbDeletionPolicy: Delete
`;

const claim = (namespace: string, name: string, spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
  apiVersion: 'tenantdb.platform.io/v1alpha1',
  kind: 'TenantDatabase',
  metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
  spec,
});
const PROD_SPEC = { deletionProtection: true, roleDeletionPolicy: 'Orphan', dbDeletionPolicy: 'Orphan' };
const TEST_SPEC = { deletionProtection: false, roleDeletionPolicy: 'Delete', dbDeletionPolicy: 'Delete' };

interface Case {
  reason: string;
  /** Files to create in the temporary working directory. */
  files: Record<string, string>;
  args: string[];
  code: number;
  /** Files expected below the working directory after the run (parsed YAML), exactly these under claims/ or --out. */
  written?: Record<string, unknown>;
  outDir?: string;
  /** Claims expected on stdout (parsed YAML stream), in order. */
  stdout?: unknown[];
  /** Substrings stderr must contain. */
  stderr?: string[];
  /** When true, the run must leave the working directory exactly as it was. */
  writesNothing?: boolean;
}

const cases: Case[] = [
  {
    reason: 'the documented example becomes two claims: a protected production one with the Argo CD annotation, a test one without',
    files: { 'values.yaml': EXAMPLE },
    args: ['values.yaml'],
    code: 0,
    written: {
      'claims/my-namespace/my-app-db.yaml': claim('my-namespace', 'my-app-db', PROD_SPEC, PROTECTED),
      'claims/test-namespace/my-test-db.yaml': claim('test-namespace', 'my-test-db', TEST_SPEC),
    },
    stderr: ['wrote 2 claim file(s) to claims', 'without --keep-names'],
  },
  {
    reason: 'absent settings are written out with the chart defaults (true/Orphan/Orphan), each one independently',
    files: {
      'values.yaml': `tenantDatabases:
  - {name: a, namespace: ns}
  - {name: b, namespace: ns, deletionProtection: false}
  - {name: c, namespace: ns, roleDeletionPolicy: Delete}
  - {name: d, namespace: ns, dbDeletionPolicy: Delete}
`,
    },
    args: ['values.yaml'],
    code: 0,
    written: {
      'claims/ns/a.yaml': claim('ns', 'a', PROD_SPEC, PROTECTED),
      'claims/ns/b.yaml': claim('ns', 'b', { ...PROD_SPEC, deletionProtection: false }),
      'claims/ns/c.yaml': claim('ns', 'c', { ...PROD_SPEC, roleDeletionPolicy: 'Delete' }, PROTECTED),
      'claims/ns/d.yaml': claim('ns', 'd', { ...PROD_SPEC, dbDeletionPolicy: 'Delete' }, PROTECTED),
    },
  },
  {
    reason: 'values are read as YAML 1.1, as Helm reads them: "no" is false for the chart, so it is false in the claim',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns, deletionProtection: no}\n' },
    args: ['values.yaml'],
    code: 0,
    written: { 'claims/ns/a.yaml': claim('ns', 'a', { ...PROD_SPEC, deletionProtection: false }) },
  },
  {
    reason: '--dry-run prints the YAML stream, sorted by namespace then name, and writes nothing',
    files: {
      'values.yaml': `tenantDatabases:
  - {name: zeta, namespace: b-ns}
  - {name: beta, namespace: a-ns}
  - {name: alpha, namespace: b-ns}
`,
    },
    args: ['--dry-run', 'values.yaml'],
    code: 0,
    stdout: [claim('a-ns', 'beta', PROD_SPEC, PROTECTED), claim('b-ns', 'alpha', PROD_SPEC, PROTECTED), claim('b-ns', 'zeta', PROD_SPEC, PROTECTED)],
    writesNothing: true,
  },
  {
    reason: 'a directory is searched for apps/<namespace>/<app>/values.yaml; --out chooses where claims go',
    files: {
      'repo/apps/team-b/api/values.yaml': 'tenantDatabases:\n  - {name: api-db, namespace: team-b}\n',
      'repo/apps/team-a/web/values.yaml': 'tenantDatabases:\n  - {name: web-db, namespace: team-a}\n',
      'repo/apps/team-a/web/README.md': 'not values\n',
      'repo/apps/team-a/worker/values.yaml': 'tenantDatabases: []\n',
    },
    args: ['--out', 'out', 'repo'],
    code: 0,
    outDir: 'out',
    written: {
      'out/team-a/web-db.yaml': claim('team-a', 'web-db', PROD_SPEC, PROTECTED),
      'out/team-b/api-db.yaml': claim('team-b', 'api-db', PROD_SPEC, PROTECTED),
    },
  },
  {
    reason: 'an unknown key in an entry is refused, naming file, entry index and key (a typo must not silently become a default)',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns}\n  - {name: b, namespace: ns, deletionProtecion: false}\n' },
    args: ['values.yaml'],
    code: 1,
    stderr: ['values.yaml: tenantDatabases[1].deletionProtecion: unknown key'],
    writesNothing: true,
  },
  {
    reason: 'an unknown top-level key is refused: the file may hold settings this migration would drop',
    files: { 'values.yaml': 'global: {}\ntenantDatabases:\n  - {name: a, namespace: ns}\n' },
    args: ['values.yaml'],
    code: 1,
    stderr: ['values.yaml: unknown top-level key "global"'],
    writesNothing: true,
  },
  {
    reason: 'the same (namespace, name) in two files is refused, naming both places, and nothing is written',
    files: {
      'one/values.yaml': 'tenantDatabases:\n  - {name: x, namespace: other}\n  - {name: shared-db, namespace: ns}\n',
      'two/values.yaml': 'tenantDatabases:\n  - {name: shared-db, namespace: ns}\n',
    },
    args: ['one/values.yaml', 'two/values.yaml'],
    code: 1,
    stderr: ['two/values.yaml: tenantDatabases[0]: duplicate TenantDatabase ns/shared-db, already declared at one/values.yaml: tenantDatabases[1]'],
    writesNothing: true,
  },
  {
    reason: 'a deletion policy outside Orphan|Delete is refused with the allowed values',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns, dbDeletionPolicy: Retain}\n' },
    args: ['values.yaml'],
    code: 1,
    stderr: ['values.yaml: tenantDatabases[0].dbDeletionPolicy: must be one of Orphan, Delete; got "Retain"'],
    writesNothing: true,
  },
  {
    reason: 'wrong types are refused: a quoted "false" would have been truthy in the chart template, so it is ambiguous',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns, deletionProtection: "false"}\n' },
    args: ['values.yaml'],
    code: 1,
    stderr: ['values.yaml: tenantDatabases[0].deletionProtection: must be a boolean'],
    writesNothing: true,
  },
  {
    reason: 'a name YAML 1.1 reads as a boolean (as Helm did) is refused with a hint to quote it',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: on, namespace: ns}\n' },
    args: ['values.yaml'],
    code: 1,
    stderr: ['values.yaml: tenantDatabases[0].name: must be a string, got boolean true (YAML 1.1', 'quote it'],
    writesNothing: true,
  },
  {
    reason: 'names and namespaces that are not Kubernetes names are refused, each one reported',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: My_App, namespace: ns}\n  - {name: ok, namespace: -bad-}\n  - {namespace: ns}\n' },
    args: ['values.yaml'],
    code: 1,
    stderr: [
      'values.yaml: tenantDatabases[0].name: "My_App" is not a Kubernetes name',
      'values.yaml: tenantDatabases[1].namespace: "-bad-" is not a Kubernetes namespace name',
      'values.yaml: tenantDatabases[2].name: is required',
    ],
    writesNothing: true,
  },
  {
    reason: 'databaseName/roleName without --keep-names are refused: they would be silently ignored',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns, databaseName: legacy}\n' },
    args: ['values.yaml'],
    code: 1,
    stderr: ['values.yaml: tenantDatabases[0].databaseName: is only valid with --keep-names'],
    writesNothing: true,
  },
  {
    reason: '--keep-names annotates the names the Helm chart used: explicit databaseName/roleName, else name with - mapped to _',
    files: {
      'values.yaml': `tenantDatabases:
  - name: my-app-db
    namespace: my-namespace
  - name: legacy
    namespace: my-namespace
    databaseName: orders
    roleName: orders_owner
    deletionProtection: false
`,
    },
    args: ['--keep-names', 'values.yaml'],
    code: 0,
    written: {
      'claims/my-namespace/legacy.yaml': claim('my-namespace', 'legacy', { ...PROD_SPEC, deletionProtection: false }, {
        'tenantdb.platform.io/database-name': 'orders',
        'tenantdb.platform.io/role-name': 'orders_owner',
      }),
      'claims/my-namespace/my-app-db.yaml': claim('my-namespace', 'my-app-db', PROD_SPEC, {
        ...PROTECTED,
        'tenantdb.platform.io/database-name': 'my_app_db',
        'tenantdb.platform.io/role-name': 'my_app_db',
      }),
    },
  },
  {
    reason: '--keep-names refuses names that are not PostgreSQL identifiers, given or derived',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns, databaseName: Orders}\n  - {name: 1st-db, namespace: ns}\n' },
    args: ['--keep-names', 'values.yaml'],
    code: 1,
    stderr: [
      'values.yaml: tenantDatabases[0].databaseName: "Orders" is not a PostgreSQL identifier',
      'values.yaml: tenantDatabases[1].databaseName: is not set and the name the Helm chart derived from name, "1st_db"',
    ],
    writesNothing: true,
  },
  {
    reason: '--keep-names refuses two claims adopting the same database (one tenant would get another one\'s data)',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: app-db, namespace: a}\n  - {name: app-db, namespace: b}\n' },
    args: ['--keep-names', 'values.yaml'],
    code: 1,
    stderr: ['values.yaml: tenantDatabases[1].databaseName: database "app_db" is already adopted by values.yaml: tenantDatabases[0] (a/app-db)'],
    writesNothing: true,
  },
  {
    reason: 'an existing claim file with other content is not overwritten (it may carry hand-made changes)',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns}\n', 'claims/ns/a.yaml': '# edited by hand\n' },
    args: ['values.yaml'],
    code: 1,
    stderr: ['claims/ns/a.yaml: exists with different content'],
    writesNothing: true,
  },
  {
    reason: 'the namespaced flavour writes the same TenantDatabase (same API, group and spec)',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns}\n' },
    args: ['--flavour', 'namespaced', 'values.yaml'],
    code: 0,
    written: { 'claims/ns/a.yaml': claim('ns', 'a', PROD_SPEC, PROTECTED) },
  },
  {
    reason: 'an unknown flavour is a usage error',
    files: { 'values.yaml': EXAMPLE },
    args: ['--flavour', 'cluster', 'values.yaml'],
    code: 2,
    stderr: ['--flavour must be claim or namespaced'],
    writesNothing: true,
  },
];

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function workdir(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'migrate-test-'));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

function listFiles(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return out;
}

function run(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const xrd = parse(readFileSync(repoPath('xrds/claim/definition.yaml'), 'utf8'));
const validateSpec = newAjv().compile(closed(xrd.spec.versions[0].schema.openAPIV3Schema));

/** What a claim must be: the XRD schema accepts its spec, and the envelope is what the API server requires. */
function claimErrors(doc: any): string[] {
  const errors: string[] = [];
  if (!validateSpec({ spec: doc.spec })) errors.push(JSON.stringify(validateSpec.errors));
  if (doc.apiVersion !== 'tenantdb.platform.io/v1alpha1' || doc.kind !== 'TenantDatabase') errors.push(`wrong type ${doc.apiVersion} ${doc.kind}`);
  const { name, namespace, annotations, ...rest } = doc.metadata ?? {};
  if (!/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(name)) errors.push(`bad name ${name}`);
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) errors.push(`bad namespace ${namespace}`);
  if (Object.keys(rest).length) errors.push(`unexpected metadata ${Object.keys(rest).join()}`);
  for (const v of Object.values(annotations ?? {})) if (typeof v !== 'string') errors.push(`annotation value ${v} is not a string`);
  if (Object.keys(doc.spec ?? {}).sort().join() !== 'dbDeletionPolicy,deletionProtection,roleDeletionPolicy') errors.push('the three settings must be explicit');
  return errors;
}

describe('npm run migrate', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it in pretest)`);
  });

  for (const c of cases) {
    it(c.reason, () => {
      const root = workdir(c.files);
      const before = listFiles(root);
      const r = run(root, c.args);
      expect(r.code, r.stderr).toBe(c.code);
      for (const s of c.stderr ?? []) expect(r.stderr).toContain(s);
      if (c.code !== 0) expect(r.stdout).toBe('');

      if (c.writesNothing) expect(listFiles(root)).toEqual(before);
      if (c.stdout) {
        const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
        expect(docs).toEqual(c.stdout);
        for (const doc of docs) expect(claimErrors(doc)).toEqual([]);
      }
      if (c.written) {
        const after = listFiles(root);
        const out = c.outDir ?? 'claims';
        const produced = Object.keys(after).filter((p) => p.startsWith(`${out}/`));
        expect(produced).toEqual(Object.keys(c.written).sort());
        for (const [path, expected] of Object.entries(c.written)) {
          const doc = parse(after[path]!);
          expect(doc, path).toEqual(expected);
          expect(claimErrors(doc), path).toEqual([]);
        }
      }
    });
  }

  it('writes exactly this file for the production example (reason: reviewers read the generated YAML)', () => {
    const root = workdir({ 'values.yaml': EXAMPLE });
    expect(run(root, ['values.yaml']).code).toBe(0);
    expect(readFileSync(join(root, 'claims/my-namespace/my-app-db.yaml'), 'utf8')).toBe(`# TenantDatabase claim (claim flavour), migrated from the Helm chart by \`npm run migrate\`.
# Credentials: Secret my-app-db-secret (keys username, password, endpoint, port), as before.
apiVersion: tenantdb.platform.io/v1alpha1
kind: TenantDatabase
metadata:
  name: my-app-db
  namespace: my-namespace
  annotations:
    argocd.argoproj.io/sync-options: Delete=false,Prune=false
spec:
  deletionProtection: true
  roleDeletionPolicy: Orphan
  dbDeletionPolicy: Orphan
`);
  });

  it('is deterministic: input order does not change the output, and a second run changes nothing (reason: claims are committed to git)', () => {
    const files = {
      'a/values.yaml': 'tenantDatabases:\n  - {name: z, namespace: n2}\n  - {name: w, namespace: n1}\n',
      'b/values.yaml': 'tenantDatabases:\n  - {name: x, namespace: n2}\n',
    };
    const root = workdir(files);
    const one = run(root, ['--dry-run', 'a/values.yaml', 'b/values.yaml']);
    const two = run(root, ['--dry-run', 'b/values.yaml', 'a/values.yaml']);
    expect(one.code).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    expect(run(root, ['a', 'b']).code).toBe(0);
    const written = listFiles(root);
    expect(run(root, ['b', 'a']).code, 'rerun over identical files is not a conflict').toBe(0);
    expect(listFiles(root)).toEqual(written);
  });

  it('the schema check refuses a bad claim (reason: a check that cannot fail proves nothing)', () => {
    expect(claimErrors(claim('ns', 'a', { ...PROD_SPEC, dbDeletionPolicy: 'Retain' })).join()).toContain('allowed values');
    expect(claimErrors(claim('ns', 'a', { ...PROD_SPEC, deletionProtecion: true })).join()).toContain('additional properties');
  });
});
