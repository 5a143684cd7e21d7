/**
 * `npm run migrate`: Helm chart values (tenantDatabases:) to TenantDatabase
 * claims. Every case runs the compiled CLI (dist/scripts/migrate/main.js, built by
 * `pretest`) in a fresh temporary directory, as a platform engineer would,
 * and every claim it produces must be valid against the XRD schema. One case
 * runs the real `npm run migrate` from outside the package.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { closed, newAjv } from './support/crds.js';
import { repoPath } from './support/shared.js';

const CLI = repoPath('dist/scripts/migrate/main.js');
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
/** The only keys an entry may have without --keep-names, in the order messages list them. */
const ALLOWED = 'name, namespace, deletionProtection, roleDeletionPolicy, dbDeletionPolicy';
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
  /** Substrings stdout must contain (a run that writes files reports on stdout). */
  stdoutText?: string[];
  /** Substrings stderr must contain. */
  stderr?: string[];
  /** Exactly the problems reported (the lines below "refused, nothing written:"), in order. */
  problems?: string[];
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
    stdoutText: ['migrate: wrote 2 claim file(s) to claims: 2 new\n'],
    stderr: ['without --keep-names'],
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
    reason: 'the message about an unknown key lists only the keys allowed in this run: databaseName/roleName are not allowed without --keep-names',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns, deletionProtecion: false}\n' },
    args: ['values.yaml'],
    code: 1,
    problems: [`values.yaml: tenantDatabases[0].deletionProtecion: unknown key (did you mean deletionProtection?); allowed: ${ALLOWED}`],
    writesNothing: true,
  },
  {
    reason: 'with --keep-names the adoption keys are allowed, so the message lists them too',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns, DatabaseName: legacy}\n' },
    args: ['--keep-names', 'values.yaml'],
    code: 1,
    problems: [`values.yaml: tenantDatabases[0].DatabaseName: unknown key (did you mean databaseName?); allowed: ${ALLOWED}, databaseName, roleName`],
    writesNothing: true,
  },
  {
    reason: 'readOnlyRole is a claim field the Helm chart never had: in values it is an unknown key, not silently dropped or passed on',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns, readOnlyRole: true}\n' },
    args: ['values.yaml'],
    code: 1,
    problems: [`values.yaml: tenantDatabases[0].readOnlyRole: unknown key; allowed: ${ALLOWED}`],
    writesNothing: true,
  },
  {
    reason: 'every problem of a file is reported in one run, per entry: a bad key does not hide the same entry\'s duplicate, a duplicate YAML key is named with its lines',
    files: {
      'values.yaml': `tenantDatabases:
  - {name: a, namespace: ns, deletionProtecion: false}
  - name: b
    namespace: ns
    name: c
  - {name: a, namespace: ns, dbDeletionPolicy: Retain}
  - {name: d, namespace: -bad-}
`,
    },
    args: ['values.yaml', 'missing/values.yaml'],
    code: 1,
    problems: [
      'missing/values.yaml: no such file or directory',
      `values.yaml: tenantDatabases[0].deletionProtecion: unknown key (did you mean deletionProtection?); allowed: ${ALLOWED}`,
      'values.yaml: tenantDatabases[1].name: given 2 times (line 3, column 5; line 5, column 5); keep one',
      'values.yaml: tenantDatabases[2].dbDeletionPolicy: must be one of Orphan, Delete; got "Retain"',
      'values.yaml: tenantDatabases[3].namespace: "-bad-" is not a Kubernetes namespace name (RFC 1123 label: lowercase letters, digits and \'-\', starting and ending with a letter or digit, at most 63 characters)',
      'values.yaml: tenantDatabases[2]: duplicate TenantDatabase ns/a, already declared at values.yaml: tenantDatabases[0]',
    ],
    writesNothing: true,
  },
  {
    reason: 'with --keep-names, an adoption conflict is reported together with the other problems of the entries involved',
    files: {
      'values.yaml': 'tenantDatabases:\n  - {name: app-db, namespace: a, dbDeletionPolicy: Retain}\n  - {name: app-db, namespace: b, roleName: Bad}\n',
    },
    args: ['--keep-names', 'values.yaml'],
    code: 1,
    problems: [
      'values.yaml: tenantDatabases[0].dbDeletionPolicy: must be one of Orphan, Delete; got "Retain"',
      'values.yaml: tenantDatabases[1].roleName: "Bad" is not a PostgreSQL identifier the platform accepts (^[a-z_][a-z0-9_]{0,62}$)',
      'values.yaml: tenantDatabases[1].databaseName: database "app_db" is already adopted by values.yaml: tenantDatabases[0] (a/app-db); two claims must never share it',
    ],
    writesNothing: true,
  },
  {
    reason: 'a claim file that would be overwritten is reported with the problems of the values, so one run shows everything to fix',
    files: {
      'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns}\n  - {name: b, namespace: ns, roleDeletionPolicy: delete}\n',
      'claims/ns/a.yaml': '# edited by hand\n',
    },
    args: ['values.yaml'],
    code: 1,
    problems: [
      'values.yaml: tenantDatabases[1].roleDeletionPolicy: must be one of Orphan, Delete; got "delete"',
      'claims/ns/a.yaml: exists with different content; not overwritten (remove it, choose another --out, or pass --force)',
    ],
    writesNothing: true,
  },
  {
    reason: 'invalid YAML is refused with its line and column, and the other files are still checked',
    files: { 'a/values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns\n', 'b/values.yaml': 'tenantDatabases:\n  - {name: b}\n' },
    args: ['a', 'b'],
    code: 1,
    stderr: ['a/values.yaml: invalid YAML at line 3, column 1: ', 'b/values.yaml: tenantDatabases[0].namespace: is required'],
    writesNothing: true,
  },
  {
    reason: '--force overwrites a claim file with other content, and says so',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns}\n', 'claims/ns/a.yaml': '# edited by hand\n' },
    args: ['--force', 'values.yaml'],
    code: 0,
    written: { 'claims/ns/a.yaml': claim('ns', 'a', PROD_SPEC, PROTECTED) },
    stdoutText: ['migrate: wrote 1 claim file(s) to claims: 1 overwritten (--force)\n'],
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
    reason: '--keep-names refuses what the function would refuse to adopt (reserved names, read-only role shapes), given or derived: such a claim would only fail on the cluster',
    files: { 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns, databaseName: rdsadmin, roleName: app_ro}\n  - {name: postgres, namespace: ns}\n' },
    args: ['--keep-names', 'values.yaml'],
    code: 1,
    problems: [
      'values.yaml: tenantDatabases[0].databaseName: "rdsadmin" is reserved (the server\'s own databases and the cloud provider\'s roles) and cannot be adopted',
      'values.yaml: tenantDatabases[0].roleName: "app_ro" ends like the names of read-only roles (_ro, or _s and 8 hex characters) or of the login roles of alternating rotation (_la, _lb), which cannot be adopted',
      'values.yaml: tenantDatabases[1].databaseName: is not set and the name the Helm chart derived from name: "postgres" is reserved (the server\'s own databases and the cloud provider\'s roles) and cannot be adopted',
      'values.yaml: tenantDatabases[1].roleName: is not set and the name the Helm chart derived from name: "postgres" is reserved (the server\'s own databases and the cloud provider\'s roles) and cannot be adopted',
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

/** The environment of a shell: without what an outer npm process (e.g. `npm test`) passes down. */
function shellEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of Object.keys(env)) if (key.startsWith('npm_') && !(key in extra)) delete env[key];
  if (!('INIT_CWD' in extra)) delete env.INIT_CWD;
  return env;
}

function run(cwd: string, args: string[], env = shellEnv()) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The lines below "refused, nothing written:". */
function reportedProblems(stderr: string): string[] {
  const lines = stderr.split('\n');
  const start = lines.indexOf('migrate: refused, nothing written:');
  return start < 0 ? [] : lines.slice(start + 1).filter((l) => l.startsWith('  ')).map((l) => l.slice(2));
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
  for (const v of Object.values(annotations ?? {})) if (typeof v !== 'string') errors.push(`annotation value ${JSON.stringify(v)} is not a string`);
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
      for (const s of c.stdoutText ?? []) expect(r.stdout).toContain(s);
      if (c.problems) expect(reportedProblems(r.stderr)).toEqual(c.problems);
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

  it('a rerun that would write the same files says "nothing changed" on stdout and does not touch them (reason: a no-op must be recognisable, and git or Argo CD must see no change)', () => {
    const root = workdir({ 'values.yaml': EXAMPLE });
    const first = run(root, ['values.yaml']);
    expect(first.stdout).toBe('migrate: wrote 2 claim file(s) to claims: 2 new\n');
    const old = new Date('2001-01-01T00:00:00Z');
    const claimFile = join(root, 'claims/my-namespace/my-app-db.yaml');
    utimesSync(claimFile, old, old);

    const again = run(root, ['values.yaml']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('migrate: nothing changed: all 2 claim file(s) in claims are already up to date\n');
    expect(statSync(claimFile).mtime.toISOString(), 'an identical file is not rewritten').toBe(old.toISOString());

    rmSync(join(root, 'claims/test-namespace'), { recursive: true });
    const partly = run(root, ['values.yaml']);
    expect(partly.stdout).toBe('migrate: wrote 1 claim file(s) to claims: 1 new, 1 already up to date, left alone\n');
    expect(statSync(claimFile).mtime.toISOString()).toBe(old.toISOString());
  });

  it('never writes readOnlyRole: the Helm chart had no such setting, so the claim keeps the platform default (reason: migrated claims must carry only what the chart said)', () => {
    const root = workdir({ 'values.yaml': EXAMPLE });
    for (const args of [['--dry-run'], ['--dry-run', '--keep-names'], ['--dry-run', '--flavour', 'namespaced']]) {
      const r = run(root, [...args, 'values.yaml']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain('readOnlyRole');
      const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
      expect(docs).toHaveLength(2);
      for (const doc of docs) {
        expect(doc.spec).not.toHaveProperty('readOnlyRole');
        expect(Object.keys(doc.spec).sort()).toEqual(['dbDeletionPolicy', 'deletionProtection', 'roleDeletionPolicy']);
      }
    }
  });

  it('the real `npm run migrate`, run from another directory, reads and writes relative to that directory, not the package root (reason: npm starts scripts in the package root)', () => {
    const root = workdir({ 'apps/values.yaml': 'tenantDatabases:\n  - {name: from-elsewhere, namespace: init-cwd-test}\n' });
    const cwd = join(root, 'apps');
    // --ignore-scripts skips only `premigrate` (the build, done by pretest); the migrate script itself runs.
    const r = spawnSync('npm', ['--prefix', repoPath('.'), 'run', '--silent', '--ignore-scripts', 'migrate', '--', 'values.yaml', '--out', '../out'], {
      cwd,
      encoding: 'utf8',
      env: shellEnv(),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('migrate: wrote 1 claim file(s) to ../out: 1 new\n');
    expect(parse(readFileSync(join(root, 'out/init-cwd-test/from-elsewhere.yaml'), 'utf8'))).toEqual(
      claim('init-cwd-test', 'from-elsewhere', PROD_SPEC, PROTECTED),
    );
    expect(existsSync(repoPath('out/init-cwd-test'))).toBe(false);

    const missing = spawnSync('npm', ['--prefix', repoPath('.'), 'run', '--silent', '--ignore-scripts', 'migrate', '--', 'nope.yaml'], { cwd, encoding: 'utf8', env: shellEnv() });
    expect(missing.status).toBe(1);
    expect(reportedProblems(missing.stderr), 'the path is named as the user gave it').toEqual(['nope.yaml: no such file or directory']);
  });

  it('INIT_CWD left by another npm script is ignored: the working directory counts (reason: npm passes INIT_CWD down to everything it starts, e.g. under npm test)', () => {
    const root = workdir({ 'values.yaml': 'tenantDatabases:\n  - {name: a, namespace: ns}\n' });
    const elsewhere = workdir({});
    const r = run(root, ['values.yaml'], shellEnv({ INIT_CWD: elsewhere, npm_lifecycle_event: 'test' }));
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(root, 'claims/ns/a.yaml'))).toBe(true);
    expect(listFiles(elsewhere)).toEqual({});
    // The same INIT_CWD is honoured when npm started the migrate script itself: the input is then looked for there.
    const fromNpm = run(root, ['values.yaml'], shellEnv({ INIT_CWD: elsewhere, npm_lifecycle_event: 'migrate' }));
    expect(reportedProblems(fromNpm.stderr)).toEqual(['values.yaml: no such file or directory']);
  });

  it('the schema check refuses a bad claim (reason: a check that cannot fail proves nothing)', () => {
    expect(claimErrors(claim('ns', 'a', { ...PROD_SPEC, dbDeletionPolicy: 'Retain' })).join()).toContain('allowed values');
    expect(claimErrors(claim('ns', 'a', { ...PROD_SPEC, deletionProtecion: true })).join()).toContain('additional properties');
  });
});

describe('npm run migrate --keep-names --passwords (issue 16: an adopted role keeps the chart\'s password)', () => {
  const VALUES = `tenantDatabases:
  - name: my-app-db
    namespace: my-namespace
  - name: other-db
    namespace: other-namespace
`;
  /** As `kubectl get secret -o yaml` prints the chart's Secrets: a List. */
  const CHART_SECRETS = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Secret
    metadata: {name: my-app-db-secret, namespace: my-namespace}
    data:
      username: ${Buffer.from('my_app_db').toString('base64')}
      password: ${Buffer.from('chart-p@ss/1').toString('base64')}
      endpoint: ${Buffer.from('db.example').toString('base64')}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: unrelated, namespace: my-namespace}
`;

  it('writes <name>-password.yaml (mode 0600) beside the claim of each role whose password it found, and the function keeps that password (reason: an adopted app must not be locked out)', async () => {
    const root = workdir({ 'values.yaml': VALUES, 'secrets.yaml': CHART_SECRETS });
    const r = run(root, ['--keep-names', '--passwords', 'secrets.yaml', 'values.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('chart-p@ss/1');
    expect(r.stderr).not.toContain('chart-p@ss/1');
    expect(r.stdout).toContain('migrate: wrote 1 password Secret file(s) to claims: 1 new');
    // The entry without a Secret in the file: said plainly, on stderr.
    expect(r.stderr).toContain('no password for other-namespace/other-db');
    expect(r.stderr).toContain('role other_db gets a NEW password');
    const files = Object.keys(listFiles(root)).filter((p) => p.startsWith('claims/'));
    expect(files).toEqual(['claims/my-namespace/my-app-db-password.yaml', 'claims/my-namespace/my-app-db.yaml', 'claims/other-namespace/other-db.yaml']);
    const path = join(root, 'claims/my-namespace/my-app-db-password.yaml');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const secret = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'my-app-db-password', namespace: 'my-namespace', annotations: { 'tenantdb.platform.io/password-rotation': 'initial' } },
      type: 'Opaque',
      data: { password: Buffer.from('chart-p@ss/1').toString('base64') },
    });

    // The written claim and Secret, through the function as Crossplane calls it: the composed
    // password Secret (which the Role's passwordSecretRef names) holds the chart's password.
    const { requestFor } = await import('../scripts/shared/examples.js');
    const { compose } = await import('../function/compose.js');
    const written = parse(readFileSync(join(root, 'claims/my-namespace/my-app-db.yaml'), 'utf8')) as { metadata: { annotations: Record<string, string> } };
    const req = requestFor({
      flavour: 'claim',
      xr: 'examples/claim/production.yaml',
      patch: { metadata: { annotations: written.metadata.annotations } },
      input: { adoption: { enabled: true } },
      passwordKey: true,
      required: { 'adopted-password': [secret] },
    });
    const rsp = compose(req, 0);
    const composed = rsp.desired?.resources?.password?.resource as { data: { password: string } } | undefined;
    expect(composed?.data.password).toBe(Buffer.from('chart-p@ss/1').toString('base64'));
  });

  it('--dry-run never prints a password; a Secret for another role is refused; --passwords needs --keep-names (reason: passwords stay out of terminals and CI logs, and a wrong hand-over would lock the app out)', () => {
    const root = workdir({ 'values.yaml': VALUES, 'secrets.yaml': CHART_SECRETS });
    const dry = run(root, ['--keep-names', '--passwords', 'secrets.yaml', '--dry-run', 'values.yaml']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).not.toContain(Buffer.from('chart-p@ss/1').toString('base64'));
    expect(dry.stdout).not.toContain('chart-p@ss/1');
    expect(dry.stderr).toContain('are not printed');
    expect(parseAllDocuments(dry.stdout).map((d) => (d.toJS() as { kind: string }).kind)).toEqual(['TenantDatabase', 'TenantDatabase']);

    const other = workdir({ 'values.yaml': VALUES.replace('namespace: my-namespace', 'namespace: my-namespace\n    roleName: someone_else'), 'secrets.yaml': CHART_SECRETS });
    const refused = run(other, ['--keep-names', '--passwords', 'secrets.yaml', 'values.yaml']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Secret my-namespace/my-app-db-secret is for role "my_app_db"');
    expect(refused.stderr).not.toContain('chart-p@ss/1');
    expect(existsSync(join(other, 'claims'))).toBe(false);

    const usage = run(root, ['--passwords', 'secrets.yaml', 'values.yaml']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--passwords hands over the passwords of adopted roles: it needs --keep-names');
  });
});
