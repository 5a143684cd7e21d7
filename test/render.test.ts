/**
 * `npm run render` as a user runs it: the compiled script (dist/scripts/
 * render/main.js, built by `pretest`) spawned as a process, which starts the real
 * function and talks gRPC to it. Each case checks stdout, stderr and the exit
 * status, and says why. Refusals exit before the function starts, so most
 * cases are quick; the first-run case builds a fresh copy with npm itself.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { loadYaml, type Obj } from '../scripts/shared/request.js';
import { repoPath } from './support/shared.js';

const RENDER = repoPath('dist/scripts/render/main.js');
const TMP = mkdtempSync(join(tmpdir(), 'tenantdb-render-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to its end; npm's own variables are dropped so that a nested npm sets them afresh. */
function run(command: string, args: string[], cwd = repoPath('.')): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|INIT_CWD$)/i.test(k)));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const render = (...args: string[]) => run(process.execPath, [RENDER, ...args]);
const docs = (stdout: string): Obj[] => parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
const byAnnotation = (out: Obj[], name: string) => out.find((d) => d.metadata?.annotations?.['crossplane.io/composition-resource-name'] === name);

/** A file in the test's temporary directory. */
function tempFile(name: string, content: string | Obj[]): string {
  const path = join(TMP, name);
  writeFileSync(path, typeof content === 'string' ? content : content.map((d) => `---\n${stringify(d)}`).join(''));
  return path;
}

const CLAIM_SECOND = ['--observed', 'examples/claim/observed.yaml', '--required', 'examples/claim/required.yaml'];
const NAMESPACED_SECOND = ['--observed', 'examples/namespaced/observed.yaml', '--required', 'examples/namespaced/required.yaml'];
const PASSWORD_B64 = loadYaml(repoPath('examples/claim/required.yaml'))[0]!.data.password;

describe.concurrent('npm run render renders as crossplane render prints', () => {
  it('first reconcile of a claim: the XR with conditions as "True"/"False" strings, Ready naming unready resources (reason: crossplane render prints conditions this way, not as protobuf enum names)', async () => {
    const r = await render('examples/claim/production.yaml');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^---\napiVersion: tenantdb\.platform\.io\/v1alpha1\nkind: XTenantDatabase\n/);
    expect(r.stdout).toContain('    status: "False"\n');
    expect(r.stdout).not.toMatch(/STATUS_CONDITION/);
    const [xr, ...composed] = docs(r.stdout);
    expect(xr!.metadata).toEqual({ name: 'my-app-db-48be6' });
    expect(xr!.status.conditions).toEqual([
      {
        type: 'Ready',
        status: 'False',
        reason: 'Creating',
        lastTransitionTime: '2024-01-01T00:00:00Z',
        // Created in order (function/order.ts): the first reconcile composes what needs nothing else; without
        // the platform key (no --required here) there is no password Secret yet, so no Role either.
        message: 'Unready resources: aws-secret, usage-claim, and usage-xr',
      },
      expect.objectContaining({ type: 'Provisioned', status: 'False', reason: 'Waiting', lastTransitionTime: '2024-01-01T00:00:00Z' }),
    ]);
    // Composed resources in composition-resource-name order, with the metadata Crossplane adds.
    const names = composed.map((d) => d.metadata.annotations['crossplane.io/composition-resource-name']);
    expect(names).toEqual([...names].sort());
    // No Role yet: it waits for its password Secret, whose password waits for the platform key (not passed here).
    expect(byAnnotation(composed, 'role')).toBeUndefined();
    expect(r.stderr).toContain('called the function 2 times: it required password-key');
    expect(byAnnotation(composed, 'aws-secret')!.metadata).toMatchObject({
      labels: { 'crossplane.io/composite': 'my-app-db-48be6', 'crossplane.io/claim-name': 'my-app-db', 'crossplane.io/claim-namespace': 'my-namespace' },
      ownerReferences: [{ apiVersion: 'tenantdb.platform.io/v1alpha1', kind: 'XTenantDatabase', name: 'my-app-db-48be6', controller: true, blockOwnerDeletion: true, uid: '' }],
    });
    expect(r.stderr).toContain('TenantDatabase my-namespace/my-app-db read as a claim (the default; --flavour namespaced reads it as a namespaced XR)');
  });

  it('second reconcile: the claim and its XR (examples/claim/xr.yaml, what crossplane render takes) print the same, the password served from --required (reason: observed resources carry no connection details under crossplane render, so the function requires the Secret)', async () => {
    const [fromClaim, fromXr] = await Promise.all([
      render('examples/claim/production.yaml', ...CLAIM_SECOND),
      render('examples/claim/xr.yaml', ...CLAIM_SECOND),
    ]);
    expect(fromClaim.code).toBe(0);
    expect(fromXr.code).toBe(0);
    expect(fromXr.stdout).toBe(fromClaim.stdout);
    expect(fromXr.stderr).toContain('XTenantDatabase my-app-db-48be6 is the XR of a claim (XTenantDatabase exists only in the claim flavour); rendering it as it is');
    expect(fromXr.stderr).toContain('called the function 2 times: it required role-connection-secret');
    const out = docs(fromXr.stdout);
    expect(byAnnotation(out, 'secret')).toMatchObject({ kind: 'Secret', metadata: { name: 'my-app-db-secret', namespace: 'my-namespace' }, data: { password: PASSWORD_B64 } });
    expect(out[0]!.status).toMatchObject({ secretName: 'my-app-db-secret', awsSecretArn: expect.stringMatching(/^arn:aws:secretsmanager:/) });
  });

  it('second reconcile without --required: rendered, with the unmet requirement named on stderr (reason: a missing Secret must not pass unnoticed)', async () => {
    const r = await render('examples/claim/production.yaml', '--observed', 'examples/claim/observed.yaml');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the function required role-connection-secret (v1 Secret crossplane-system/my-app-db-48be6-role-connection): pass it with --required <file>');
    expect(docs(r.stdout)[0]!.status.notReady).toContain("Secret my-app-db-secret (waiting for the Role's password)");
  });

  it('namespaced flavour by --flavour or by the Composition: the same output, and stderr says how to pick the other (reason: the kind alone cannot tell a namespaced XR from a claim)', async () => {
    const [byFlag, byComposition] = await Promise.all([
      render('examples/namespaced/tenantdatabase.yaml', '--flavour', 'namespaced', ...NAMESPACED_SECOND),
      render('examples/namespaced/tenantdatabase.yaml', '--composition', 'compositions/namespaced.yaml', ...NAMESPACED_SECOND),
    ]);
    expect(byFlag.code).toBe(0);
    expect(byComposition.stdout).toBe(byFlag.stdout);
    expect(byFlag.stderr).toContain('read as a namespaced XR (--flavour namespaced; without it, it is read as a claim)');
    expect(byComposition.stderr).toContain(
      'read as a namespaced XR (compositions/namespaced.yaml composes TenantDatabase; a Composition of XTenantDatabase reads it as a claim)',
    );
    const [xr, ...composed] = docs(byFlag.stdout);
    expect(xr!.metadata).toEqual({ name: 'my-app-db', namespace: 'my-namespace' });
    expect(byAnnotation(composed, 'role')).toMatchObject({ apiVersion: 'postgresql.sql.m.crossplane.io/v1alpha1', metadata: { namespace: 'my-namespace' } });
    expect(byAnnotation(composed, 'secret')!.data.password).toBe(PASSWORD_B64);
  });

  it('a Fatal result: exit 1, nothing on stdout, and the Crossplane CLI\'s own error text on stderr (reason: users compare it with crossplane render)', async () => {
    const file = tempFile('fatal.yaml', [
      { apiVersion: 'tenantdb.platform.io/v1alpha1', kind: 'TenantDatabase', metadata: { name: 'a', namespace: 'b' }, spec: { extensions: [{ name: 'plv8' }] } },
    ]);
    const r = await render(file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'render: error: cannot render composite resource: pipeline step "tenantdatabase" returned a fatal result: spec.extensions[0].name: extension "plv8" is not allowed on this platform',
    );
    // The Warning the function adds for the claim's events repeats the message: said once.
    expect(r.stderr.match(/is not allowed/g)).toHaveLength(1);
  });

  it('spec fields the XRD does not define: a warning each, nested too, with the likely name (reason: the API server prunes them silently; deletionProtecion: false keeps protection on)', async () => {
    const file = tempFile('typos.yaml', [
      {
        apiVersion: 'tenantdb.platform.io/v1alpha1',
        kind: 'TenantDatabase',
        metadata: { name: 'a', namespace: 'b' },
        spec: { deletionProtecion: false, secretsManager: { enabld: false }, compositionRef: { name: 'tenantdatabase-claim' } },
      },
    ]);
    const r = await render(file);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
    expect(warnings).toEqual([
      `render: warning: ${file}: spec.deletionProtecion is not in the XRD's schema; the API server drops it without a word, so it has no effect (did you mean spec.deletionProtection?)`,
      `render: warning: ${file}: spec.secretsManager.enabld is not in the XRD's schema; the API server drops it without a word, so it has no effect (did you mean spec.secretsManager.enabled?)`,
    ]);
    // What the typo means: protection stays on.
    expect(docs(r.stdout)[0]!.status.deletionProtection).toBe(true);

    // A CI gate asks for --strict: the same render, and exit status 1 because of the warnings.
    const strict = await render(file, '--strict');
    expect(strict.stdout).toBe(r.stdout);
    expect(strict.stderr).toContain('render: error: --strict: 2 warning(s) above; exit status 1');
    expect(strict.code).toBe(1);
  });

  it('--strict passes a claim without warnings (reason: a CI gate must not fail a correct claim)', async () => {
    const r = await render('examples/claim/production.yaml', '--strict');
    expect(r.stderr).not.toContain('warning');
    expect(r.code).toBe(0);
  });

  it('a misspelt field of the function input: the function refuses it and render names the field meant (reason: "unknown field" alone leaves the platform engineer guessing)', async () => {
    const composition = readFileSync(repoPath('compositions/claim.yaml'), 'utf8').replace('allowedExtensions:', 'allowedExtension:');
    expect(composition).toContain('allowedExtension:');
    const file = tempFile('input-typo-composition.yaml', composition);
    const r = await render('examples/claim/production.yaml', '--composition', file);
    expect(r.stderr).toContain(
      `render: warning: ${file}: pipeline step "tenantdatabase": input.allowedExtension is not a field of the function input; the function refuses the input (did you mean input.allowedExtensions?)`,
    );
    expect(r.stderr).toContain('input: unknown field "allowedExtension"');
    expect(r.code).toBe(1);
  });

  it('reads a claim as kubectl does, YAML 1.1: deletionProtection: off is false, not the string "off" (reason: kubectl applies it as false, so render must too)', async () => {
    const file = tempFile(
      'yaml11.yaml',
      'apiVersion: tenantdb.platform.io/v1alpha1\nkind: TenantDatabase\nmetadata: {name: a, namespace: b}\nspec:\n  deletionProtection: off\n  dbDeletionPolicy: Delete\n',
    );
    const r = await render(file, '--strict');
    expect(r.stderr).not.toContain('warning');
    expect(r.code).toBe(0);
    const [xr, ...composed] = docs(r.stdout);
    expect(xr!.status.deletionProtection).toBe(false);
    expect(xr!.status.dbDeletionPolicy).toBe('Delete');
    // With protection off, no Usage is composed (the first reconcile composes what needs nothing else: function/order.ts).
    expect(composed.map((d) => d.kind)).not.toContain('ClusterUsage');
    expect(composed.length).toBeGreaterThan(0);
  });

  it('takes the XR name of a claim from the observed resources (reason: a render against what a cluster holds must use the real XR, not a made-up name)', async () => {
    const real = loadYaml(repoPath('examples/claim/observed.yaml')).map((o) => ({
      ...o,
      metadata: { ...o.metadata, labels: { ...o.metadata.labels, 'crossplane.io/composite': 'my-app-db-x7k2p' } },
    }));
    const r = await render('examples/claim/production.yaml', '--observed', tempFile('real-xr.yaml', real));
    expect(r.code).toBe(0);
    const [xr, ...composed] = docs(r.stdout);
    expect(xr!.metadata.name).toBe('my-app-db-x7k2p');
    // An observed resource keeps its name, as in crossplane render.
    expect(byAnnotation(composed, 'role')!.metadata).toMatchObject({ name: 'my-app-db-48be6-role', labels: { 'crossplane.io/composite': 'my-app-db-x7k2p' } });
  });
});

describe.concurrent('npm run render refuses, in one line naming the problem', () => {
  const namespacedElsewhere = () =>
    tempFile('elsewhere.yaml', loadYaml(repoPath('examples/namespaced/observed.yaml')).map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'other' } })));
  const cases: { reason: string; args: () => string[]; code: number; stderr: string }[] = [
    {
      reason: 'a file of several documents is refused rather than rendering only the first, as crossplane render silently does',
      args: () => ['examples/claim/observed.yaml'],
      code: 1,
      stderr: 'render: error: examples/claim/observed.yaml: holds 9 YAML documents; render takes one TenantDatabase or XTenantDatabase per run',
    },
    {
      reason: 'an object that is no TenantDatabase or XTenantDatabase cannot be rendered',
      args: () => ['examples/functions.yaml'],
      code: 1,
      stderr: 'render: error: examples/functions.yaml: pkg.crossplane.io/v1 Function platform-function-tenantdatabase is not a tenantdb.platform.io/v1alpha1 TenantDatabase or XTenantDatabase',
    },
    {
      reason: 'observed resources of another claim (their claim labels) would render a wrong second reconcile',
      args: () => ['examples/claim/test.yaml', '--observed', 'examples/claim/observed.yaml'],
      code: 1,
      stderr: 'belongs to claim my-namespace/my-app-db (claim labels), not to test-namespace/my-test-db',
    },
    {
      reason: 'observed resources of an XR no claim owns (no claim labels) do not belong to a claim',
      args: () => ['examples/claim/production.yaml', '--observed', 'examples/namespaced/observed.yaml'],
      code: 1,
      stderr: 'belongs to XR my-app-db, which no claim owns (no claim labels), not to the XR of claim my-namespace/my-app-db',
    },
    {
      reason: 'observed resources of another XR (crossplane.io/composite) do not belong to this one',
      args: () => ['examples/claim/xr.yaml', '--observed', tempFile('other-xr.yaml', loadYaml(repoPath('examples/claim/observed.yaml')).slice(0, 1).map((o) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, 'crossplane.io/composite': 'other-xr' } } })))],
      code: 1,
      stderr: 'belongs to XR other-xr (label crossplane.io/composite), not to my-app-db-48be6',
    },
    {
      reason: 'a namespaced XR composes nothing outside its namespace',
      args: () => ['examples/namespaced/tenantdatabase.yaml', '--flavour', 'namespaced', '--observed', namespacedElsewhere()],
      code: 1,
      stderr: 'is in namespace other; the namespaced XR my-namespace/my-app-db composes only into its own namespace',
    },
    {
      reason: 'a Secret in --observed is no composed resource: crossplane render would key it under an empty name',
      args: () => ['examples/claim/production.yaml', '--observed', 'examples/claim/required.yaml'],
      code: 1,
      stderr: 'has no crossplane.io/composition-resource-name annotation, so it is not a composed resource (a connection Secret belongs in --required)',
    },
    { reason: 'no file is a usage error', args: () => [], code: 2, stderr: 'render: error: give exactly one file to render, got 0' },
    { reason: 'an unknown flag is a usage error', args: () => ['examples/claim/production.yaml', '--flavor', 'claim'], code: 2, stderr: "render: error: Unknown option '--flavor'" },
    { reason: 'only two flavours exist', args: () => ['examples/claim/production.yaml', '--flavour', 'cluster'], code: 2, stderr: 'render: error: --flavour must be claim or namespaced, got "cluster"' },
    {
      reason: 'an XTenantDatabase exists only in the claim flavour',
      args: () => ['examples/claim/xr.yaml', '--flavour', 'namespaced'],
      code: 2,
      stderr: 'render: error: --flavour namespaced: XTenantDatabase exists only in the claim flavour',
    },
    {
      reason: 'a --flavour that contradicts the Composition cannot both hold',
      args: () => ['examples/claim/production.yaml', '--flavour', 'claim', '--composition', 'compositions/namespaced.yaml'],
      code: 2,
      stderr: 'render: error: --flavour claim contradicts compositions/namespaced.yaml, which composes TenantDatabase (the namespaced flavour)',
    },
    {
      reason: 'a Composition of another kind of XR, in crossplane render\'s words',
      args: () => ['examples/claim/xr.yaml', '--composition', 'compositions/namespaced.yaml'],
      code: 2,
      stderr: "compositions/namespaced.yaml: composition's compositeTypeRef.kind (TenantDatabase) does not match XR's kind (XTenantDatabase)",
    },
  ];
  for (const c of cases) {
    it(`${c.reason} (exit ${c.code})`, async () => {
      const r = await render(...c.args());
      expect(r.stderr).toContain(c.stderr);
      expect(r.stdout).toBe('');
      expect(r.code).toBe(c.code);
    });
  }

  it('--help documents every flag and the exit statuses (reason: the usage text is the reference)', async () => {
    const r = await render('--help');
    expect(r.code).toBe(0);
    for (const word of ['--flavour claim|namespaced', '--composition <file>', '--observed <file|dir>', '--required <file|dir>', 'Exit status: 0 rendered; 1', '2 usage error']) {
      expect(r.stdout).toContain(word);
    }
  });
});

describe.concurrent('a fresh checkout, where dist/ does not exist until built', () => {
  /** The parts of the repository a user's checkout needs to build and render, in a directory of its own. */
  function freshCheckout(name: string): string {
    const copy = join(TMP, name);
    for (const part of ['package.json', 'tsconfig.json', 'function', 'scripts', 'compositions', 'examples']) cpSync(repoPath(part), join(copy, part), { recursive: true });
    symlinkSync(repoPath('node_modules'), join(copy, 'node_modules'), 'dir');
    return copy;
  }

  it('npm start builds before it starts (reason: a stack trace about a missing dist/ is no way to greet a new user)', async () => {
    const copy = freshCheckout('start');
    const started = await run('npm', ['start', '--', '--help'], copy);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(started.stdout).toContain('--insecure');
    expect(readFileSync(join(copy, 'dist/function/main.js'), 'utf8')).toContain('function-tenantdatabase');
  }, 120_000);

  it('the documented `npm run -s render -- db.yaml > out.yaml` builds, reads files relative to where it is run, and leaves nothing but YAML in out.yaml (reason: npm runs scripts from the package root, and its banner on stdout made the file unparsable)', async () => {
    const copy = freshCheckout('render');
    mkdirSync(join(copy, 'claims'));
    cpSync(repoPath('examples/claim/production.yaml'), join(copy, 'claims/db.yaml'));
    // Exactly the command the documentation gives, through a shell, as a user types it.
    const rendered = await run('sh', ['-c', 'npm run -s render -- db.yaml > out.yaml'], join(copy, 'claims'));
    expect(rendered.stderr).toContain('TenantDatabase my-namespace/my-app-db read as a claim');
    expect(rendered.code).toBe(0);
    const out = readFileSync(join(copy, 'claims/out.yaml'), 'utf8');
    expect(out.startsWith('---\n'), 'the first line is the first document, not npm talking').toBe(true);
    const parsed = parseAllDocuments(out);
    expect(parsed.flatMap((d) => d.errors)).toEqual([]);
    expect(parsed.map((d) => (d.toJS() as Obj).kind)[0]).toBe('XTenantDatabase');
    // The XR and what a first reconcile composes (function/order.ts): the AWS secret and the Usages of XR and claim.
    expect(parsed.length).toBeGreaterThan(3);
  }, 120_000);
});
