/**
 * Passwords that hold (issue 16), in a real PostgreSQL 15, with provider-sql
 * v0.16.0's password rules translated in provider-sql.ts (getPassword,
 * shouldResetPassword, lastPasswordChange): every rotation works, the tenth
 * as well as the first, for the tenant and the reader, in every copy of the
 * credentials; a recreated Role MR keeps the password the tenant's Secret
 * holds; a claim deleted right after its protection was switched off leaves
 * an orphaned role whose password someone holds; a trigger in the future
 * rotates once. The first block shows the same rules breaking the approach of
 * the version before (a generated password, rotated by renaming the Role's
 * connection secret). Run by `npm run test:sql`.
 */
import { describe, expect, it } from 'vitest';
import { describeWithPostgres, example, Tenant, throwawayServer, type FlavourName } from './control-plane.js';
import type { Login, PostgresServer } from './postgres.js';
import type { Obj, ProviderSql } from './provider-sql.js';


describeWithPostgres('passwords in PostgreSQL 15', () => {
  let server: PostgresServer;
  let provider: ProviderSql;
  throwawayServer((started, admin) => {
    server = started;
    provider = admin;
  });

  const works = (login: Login) => server.psql(login, 'SELECT 1').ok;
  const refused = (login: Login) => /password authentication failed/.test(server.psql(login, 'SELECT 1').error ?? '');
  const passwordStatements = (role: string) => provider.log.filter((l) => l.includes(`ALTER ROLE "${role}" PASSWORD`)).length;

  describe('the version before, under the same provider-sql rules (evidence for issue 16)', () => {
    /** A Role as the version before rendered it: a generated password, the connection secret named after the rotation. */
    const legacyRole = (name: string, connection: string): Obj => ({
      apiVersion: 'postgresql.sql.crossplane.io/v1alpha1',
      kind: 'Role',
      metadata: { name: `${name}-role`, annotations: { 'crossplane.io/external-name': name } },
      spec: {
        forProvider: { privileges: { login: true } },
        writeConnectionSecretToRef: { name: connection, namespace: 'crossplane-system' },
        deletionPolicy: 'Orphan',
      },
    });
    const published = (connection: string) => provider.connectionSecrets.get(`crossplane-system/${connection}`)?.password;
    const login = (user: string, password: string | undefined): Login => ({ user, password: password ?? '', database: 'postgres' });

    it('renaming the connection secret rotates once; the second rename changes nothing, and nothing says so', () => {
      const mr = legacyRole('legacy_rename', 'legacy-rename-connection');
      provider.reconcile(mr);
      const first = published('legacy-rename-connection');
      mr.spec.writeConnectionSecretToRef.name = 'legacy-rename-connection-20261202t210000z';
      provider.reconcile(mr);
      const second = published('legacy-rename-connection-20261202t210000z');
      expect(second).not.toBe(first);
      expect(mr.status.atProvider.lastPasswordChange).toBeDefined();
      expect(works(login('legacy_rename', second))).toBe(true);

      mr.spec.writeConnectionSecretToRef.name = 'legacy-rename-connection-20261204t151310z';
      provider.reconcile(mr);
      expect(published('legacy-rename-connection-20261204t151310z'), 'no new secret is written').toBeUndefined();
      expect(works(login('legacy_rename', second)), 'PostgreSQL keeps the first rotation').toBe(true);
    });

    it('a Role MR recreated without its connection secret (Orphan delete, then applied again) gets a password nobody holds', () => {
      const mr = legacyRole('legacy_recreated', 'legacy-recreated-connection');
      provider.reconcile(mr);
      const held = published('legacy-recreated-connection');
      // Deleted with Orphan: the MR and its connection secret go; applied again, fresh, without status.
      provider.connectionSecrets.delete('crossplane-system/legacy-recreated-connection');
      provider.reconcile(legacyRole('legacy_recreated', 'legacy-recreated-connection'));
      expect(refused(login('legacy_recreated', held))).toBe(true);
    });

    it("provider-sql's own trigger in the future resets the password on every reconcile", () => {
      const mr = legacyRole('legacy_future', 'legacy-future-connection');
      provider.reconcile(mr);
      mr.spec.forProvider.passwordRotationTrigger = '2099-01-01T00:00:00Z';
      for (let i = 0; i < 3; i++) provider.reconcile(mr);
      expect(passwordStatements('legacy_future')).toBe(3);
    });
  });

  describe.each<[FlavourName, string, number]>([
    ['claim', 'c', 10],
    ['namespaced', 'n', 3],
  ])('%s flavour', (flavour, prefix, rotations) => {
    it(`${rotations} rotations in a row: each gives the tenant and the reader a new password that works, in <name>-secret (every key) and the AWS copy; the old one stops working`, () => {
      const tenant = new Tenant(provider, example(flavour, `${prefix}-rotate`, 'app-db', { readOnlyRole: true }));
      tenant.converge();
      let owner = tenant.login();
      let reader = tenant.login('readonly-secret');
      const fixed = { username: owner.user, database: owner.database, endpoint: tenant.secretData('secret').endpoint, port: tenant.secretData('secret').port };
      for (let i = 1; i <= rotations; i++) {
        const trigger = `2027-01-${String(i).padStart(2, '0')}T08:00:00Z`;
        tenant.patch({ spec: { passwordRotationTrigger: trigger } });
        const done = tenant.converge();
        const status = done.desired!.composite!.resource!.status as Obj;
        expect(status.passwordRotation, `rotation ${i}`).toEqual({ trigger, pending: false });

        const data = tenant.secretData('secret');
        const next = tenant.login();
        expect(next.password, `rotation ${i}: a new password`).not.toBe(owner.password);
        expect(works(next), `rotation ${i}: the new password logs in`).toBe(true);
        expect(refused(owner), `rotation ${i}: the old one no longer does`).toBe(true);
        expect({ username: data.username, database: data.database, endpoint: data.endpoint, port: data.port }).toEqual(fixed);
        expect(data.uri).toContain(`:${encodeURIComponent(next.password)}@`);
        expect(data.jdbcUrl).toContain(`password=${encodeURIComponent(next.password)}&`);
        expect(JSON.parse(tenant.secretData('aws-secret-string').secretString!).password, `rotation ${i}: the AWS copy`).toBe(next.password);

        const nextReader = tenant.login('readonly-secret');
        expect(nextReader.password).not.toBe(reader.password);
        expect(works(nextReader), `rotation ${i}: the reader's new password`).toBe(true);
        expect(refused(reader)).toBe(true);
        expect(JSON.parse(tenant.secretData('readonly-aws-secret-string').secretString!).password).toBe(nextReader.password);
        owner = next;
        reader = nextReader;
      }
      // Settled: provider-sql's periodic reconcile sets no password again.
      const before = passwordStatements(owner.user);
      tenant.reconcile();
      tenant.poll();
      expect(passwordStatements(owner.user)).toBe(before);
    });

    it('a Role MR deleted (Orphan) and recreated keeps the password the Secret holds, after rotations too', () => {
      const tenant = new Tenant(provider, example(flavour, `${prefix}-recreate`, 'app-db', { deletionProtection: false, readOnlyRole: true }));
      tenant.converge();
      tenant.patch({ spec: { passwordRotationTrigger: '2027-02-01T00:00:00Z' } });
      tenant.converge();
      const owner = tenant.login();
      const reader = tenant.login('readonly-secret');
      // kubectl delete of both Role MRs: the roles stay (Orphan), their connection secrets go with the MRs.
      expect(tenant.deleteComposed(['role', 'readonly-role'])).toEqual({});
      expect(tenant.composed.role).toBeUndefined();
      tenant.converge();
      expect(tenant.composed.role).toBeDefined();
      expect(tenant.login()).toEqual(owner);
      expect(tenant.login('readonly-secret')).toEqual(reader);
      expect(works(owner) && works(reader)).toBe(true);
    });

    it('a claim deleted right after protection is switched off (Orphan), with a reconcile in flight that applies the Role again: the orphaned role still accepts the last Secret\'s password', () => {
      const tenant = new Tenant(provider, example(flavour, `${prefix}-race`, 'app-db', { readOnlyRole: true }));
      tenant.converge();
      tenant.patch({ spec: { passwordRotationTrigger: '2027-03-01T00:00:00Z' } });
      tenant.converge();
      const owner = tenant.login();
      tenant.patch({ spec: { deletionProtection: false } });
      const inFlight = tenant.reconcile();
      expect(tenant.deleteClaim()).toEqual({});
      // The in-flight reconcile applies the Role again, first without its password Secret (provider-sql
      // cannot get it: nothing changes), then with it (the same password is set again).
      tenant.reapply(inFlight, ['role']);
      expect(works(owner)).toBe(true);
      tenant.reapply(inFlight, ['password']);
      tenant.poll();
      expect(works(owner)).toBe(true);
      // Crossplane deletes them again: Orphan.
      expect(tenant.deleteClaim()).toEqual({});
      expect(works(owner), 'the orphaned tenant logs in with the password its Secret last held').toBe(true);
    });

    it('a trigger in the future rotates once, not on every reconcile', () => {
      const tenant = new Tenant(provider, example(flavour, `${prefix}-future`, 'app-db'));
      tenant.converge();
      const before = tenant.login();
      tenant.patch({ spec: { passwordRotationTrigger: '2099-01-01T00:00:00Z' } });
      tenant.converge();
      const after = tenant.login();
      expect(after.password).not.toBe(before.password);
      const statements = passwordStatements(after.user);
      for (let i = 0; i < 5; i++) {
        tenant.reconcile();
        tenant.poll();
      }
      expect(passwordStatements(after.user)).toBe(statements);
      expect(tenant.login()).toEqual(after);
      expect(works(after)).toBe(true);
    });
  });
});
