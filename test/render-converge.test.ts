/**
 * `npm run render -- --converge` as a user runs it (the compiled script, which
 * starts the real function and talks gRPC to it): the tenant as it will be once
 * whole, every object checked against the real provider and Crossplane CRDs,
 * and no password but the placeholder anywhere in what it prints.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { PLACEHOLDER_PASSWORD } from '../scripts/render/converge.js';
import type { Obj } from '../scripts/shared/request.js';
import { CrdValidator } from './support/crds.js';
import { CRDS, repoPath, requireShared } from './support/shared.js';

const RENDER = repoPath('dist/scripts/render/main.js');

function render(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RENDER, ...args], { cwd: repoPath('.'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const docs = (stdout: string): Obj[] => parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
const decoded = (secret: Obj): Record<string, string> =>
  Object.fromEntries(Object.entries<string>(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const haveCrds = requireShared(CRDS);

describe.concurrent('npm run render -- --converge', () => {
  const cases = [
    { file: 'examples/claim/production.yaml', args: [], database: 'Database', secret: 'my-app-db-secret' },
    { file: 'examples/namespaced/tenantdatabase.yaml', args: ['--flavour', 'namespaced'], database: 'Database', secret: 'my-app-db-secret' },
  ];
  for (const c of cases) {
    it(`${c.file}: prints the Database, the Role, the Grants and ${c.secret}, all ready, and says on stderr how many reconciles it took (reason: the first reconcile alone shows only what is created first)`, async () => {
      const r = await render('--converge', c.file, ...c.args);
      expect(r.stderr).not.toContain('error');
      expect(r.code).toBe(0);
      const match = /whole after (\d+) reconciles \((\d+) function calls\)/.exec(r.stderr);
      expect(match, r.stderr).not.toBeNull();
      // Created in order: more than one reconcile, and no more than the simulation allows.
      expect(Number(match![1])).toBeGreaterThan(2);
      const [xr, ...composed] = docs(r.stdout);
      expect(xr!.status.conditions.find((x: Obj) => x.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
      expect(xr!.status.notReady).toEqual([]);
      const kinds = composed.map((d) => d.kind as string);
      for (const kind of ['Database', 'Role', 'Grant']) expect(kinds, kind).toContain(kind);
      const secret = composed.find((d) => d.kind === 'Secret' && d.metadata.name === c.secret);
      expect(secret, c.secret).toBeDefined();
      expect(decoded(secret!)).toMatchObject({ password: PLACEHOLDER_PASSWORD });
      expect(decoded(secret!).uri).toContain(`:${PLACEHOLDER_PASSWORD}@`);
      // No password but the placeholder: every v1 Secret's password key, and the Secrets Manager JSON.
      for (const s of composed.filter((d) => d.apiVersion === 'v1' && d.kind === 'Secret')) {
        const data = decoded(s);
        if ('password' in data) expect(data.password, s.metadata.name).toBe(PLACEHOLDER_PASSWORD);
        if (data.secretString !== undefined) expect(JSON.parse(data.secretString).password).toBe(PLACEHOLDER_PASSWORD);
      }
      if (haveCrds) {
        const crds = new CrdValidator(['provider-sql', 'provider-aws-secretsmanager', 'crossplane'].map((d) => join(CRDS, d)));
        // The owner reference is Crossplane's (render adds it as Crossplane would); the rest is the function's.
        const own = (d: Obj): Obj => ({ ...d, metadata: Object.fromEntries(Object.entries<unknown>(d.metadata).filter(([k]) => k !== 'ownerReferences')) });
        expect(composed.flatMap((d) => crds.errors(own(d)))).toEqual([]);
      }
    });
  }

  it('the default stays the one-reconcile render: without --converge no Database is printed yet (reason: exactness for crossplane render comparisons)', async () => {
    const r = await render('examples/claim/production.yaml');
    expect(r.code).toBe(0);
    expect(docs(r.stdout).map((d) => d.kind)).not.toContain('Database');
  });

  it('--converge with --observed is a usage error: it makes its own cluster (exit 2)', async () => {
    const r = await render('--converge', 'examples/claim/production.yaml', '--observed', 'examples/claim/observed.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--converge starts from nothing/);
  });
});
