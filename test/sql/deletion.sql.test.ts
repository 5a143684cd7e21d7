/**
 * Deletion policies, in a real PostgreSQL 15: when a claim goes away,
 * Crossplane deletes every composed resource and provider-sql v0.16.0 drops
 * or revokes the PostgreSQL objects whose policy says Delete (deletionPolicy
 * on cluster-scoped MRs, managementPolicies on namespaced ones) and leaves the
 * others. The default Orphan keeps database, role, grants and data; Delete
 * drops them. Run by `npm run test:sql`.
 */
import { describe, expect, it } from 'vitest';
import { describeWithPostgres, example, Tenant, throwawayServer, type FlavourName } from './control-plane.js';
import type { Login, PostgresServer } from './postgres.js';
import type { ProviderSql } from './provider-sql.js';

describeWithPostgres('deleting a claim in PostgreSQL 15', () => {
  let server: PostgresServer;
  let provider: ProviderSql;
  throwawayServer((started, admin) => {
    server = started;
    provider = admin;
  });

  const exists = (catalog: 'pg_database' | 'pg_roles', name: string) => {
    const column = catalog === 'pg_database' ? 'datname' : 'rolname';
    return server.must(server.asAdmin(), `SELECT count(*) FROM ${catalog} WHERE ${column} = '${name}'`)[0]![0] === '1';
  };

  /** A provisioned tenant with tables of data (in each listed schema too), its protection off so that the claim can be deleted. */
  function provisioned(flavour: FlavourName, namespace: string, spec: Record<string, unknown>): { tenant: Tenant; owner: Login; reader?: string } {
    const tenant = new Tenant(provider, example(flavour, namespace, 'app-db', { deletionProtection: false, ...spec }));
    tenant.converge();
    const owner = tenant.login();
    const schemas = tenant.ofKind('Schema').map((o) => o.metadata.annotations['crossplane.io/external-name'] as string);
    server.must(owner, `CREATE TABLE public.kept (v text); INSERT INTO public.kept VALUES ('data'); ${schemas.map((s) => `CREATE TABLE ${s}.kept (v int);`).join(' ')}`);
    const reader = spec.readOnlyRole ? tenant.login('readonly-secret').user : undefined;
    return { tenant, owner, reader };
  }

  describe.each<[FlavourName, string]>([
    ['claim', 'c'],
    ['namespaced', 'n'],
  ])('%s flavour', (flavour, prefix) => {
    it('with the default Orphan policies, the database, the role, its grants and the data stay', () => {
      const { tenant, owner } = provisioned(flavour, `${prefix}-orphan`, {});
      expect(tenant.deleteClaim()).toEqual({});
      expect(tenant.composed).toEqual({});
      // The tenant still logs in with its password (role kept), connects (grant kept) and reads its data.
      expect(server.must(owner, 'SELECT v FROM public.kept')).toEqual([['data']]);
    });

    it('with dbDeletionPolicy and roleDeletionPolicy Delete, the database, the role and the reader are dropped', () => {
      const { tenant, owner, reader } = provisioned(flavour, `${prefix}-delete`, {
        dbDeletionPolicy: 'Delete', roleDeletionPolicy: 'Delete', readOnlyRole: true, schemas: ['reporting'],
      });
      expect(tenant.deleteClaim()).toEqual({});
      expect({ database: exists('pg_database', owner.database), role: exists('pg_roles', owner.user), reader: exists('pg_roles', reader!) })
        .toEqual({ database: false, role: false, reader: false });
    });

    it('with dbDeletionPolicy Delete and roleDeletionPolicy Orphan, the database is dropped and the role stays', () => {
      const { tenant, owner } = provisioned(flavour, `${prefix}-dbonly`, { dbDeletionPolicy: 'Delete' });
      expect(tenant.deleteClaim()).toEqual({});
      expect({ database: exists('pg_database', owner.database), role: exists('pg_roles', owner.user) }).toEqual({ database: false, role: true });
    });

    it('with roleDeletionPolicy Delete and dbDeletionPolicy Orphan, PostgreSQL refuses to drop the roles: the tenant role owns the kept database', () => {
      const { tenant, owner, reader } = provisioned(flavour, `${prefix}-roleonly`, { roleDeletionPolicy: 'Delete', readOnlyRole: true });
      const schemaRoles = Object.keys(tenant.composed).filter((k) => k.startsWith('readonly-schema-role-'));
      expect(schemaRoles.length, 'a schema role for public, and one per listed schema').toBe(1 + tenant.ofKind('Schema').length);
      const stuck = tenant.deleteClaim();
      // The Role MRs stay (Terminating, ReconcileError) with PostgreSQL's reason; the database and data stay.
      expect(Object.keys(stuck).sort()).toEqual(['readonly-role', ...schemaRoles, 'role'].sort());
      expect(stuck.role).toMatch(new RegExp(`role "${owner.user}" cannot be dropped because some objects depend on it\\n.*owner of database ${owner.database}`));
      expect(stuck['readonly-role']).toMatch(new RegExp(`role "${reader}" cannot be dropped because some objects depend on it\\n.*privileges for database ${owner.database}`));
      for (const key of schemaRoles) expect(stuck[key]).toMatch(/cannot be dropped because some objects depend on it/);
      expect(server.must(owner, 'SELECT v FROM public.kept')).toEqual([['data']]);
    });
  });
});
