/**
 * The read-only role (issue 11), in a real PostgreSQL 15: with
 * spec.readOnlyRole the function renders a second login role, its grants and
 * default privileges, and `<name>-readonly-secret`. Applied as provider-sql
 * v0.16.0 applies them, the reader must log in with that Secret, read what the
 * tenant role creates later (in public and the listed schemas), change and
 * create nothing, reach no other tenant's database, and lose its access when
 * readOnlyRole is switched off, without the tenant losing anything. Every
 * privilege here comes from rendered objects; the only hand-written GRANTs
 * are the documented statements for tables that existed before the reader.
 * Run by `npm run test:sql`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { describeWithPostgres, example, Tenant, throwawayServer, type FlavourName } from './control-plane.js';
import type { Login, PostgresServer } from './postgres.js';
import { quoteIdentifier, type ProviderSql } from './provider-sql.js';

describeWithPostgres('the read-only role in PostgreSQL 15', () => {
  let server: PostgresServer;
  let provider: ProviderSql;
  throwawayServer((started, admin) => {
    server = started;
    provider = admin;
  });

  describe.each<[FlavourName, string, string]>([
    ['claim', 'shop', 'orders-db'],
    ['namespaced', 'analytics', 'events-db'],
  ])('%s flavour', (flavour, namespace, name) => {
    let tenant: Tenant;
    let other: Tenant;
    let owner: Login;
    let reader: Login;
    beforeAll(() => {
      tenant = new Tenant(provider, example(flavour, namespace, name, { schemas: ['reporting'], readOnlyRole: true }));
      other = new Tenant(provider, example(flavour, `${namespace}-other`, 'billing-db'));
      tenant.converge();
      other.converge();
      owner = tenant.login();
      reader = tenant.login('readonly-secret');
      // What the app does once it has its credentials: tables (with sequences) in public and a listed schema.
      server.must(owner, `
        CREATE TABLE public.orders (id serial PRIMARY KEY, item text NOT NULL);
        INSERT INTO public.orders (item) VALUES ('tea'), ('cake');
        CREATE TABLE reporting.daily (id serial PRIMARY KEY, total int NOT NULL);
        INSERT INTO reporting.daily (total) VALUES (3);`);
    });

    it('<name>-readonly-secret has the keys of <name>-secret, and the reader logs in with it as <tenant role>_ro', () => {
      expect(Object.keys(tenant.secretData('readonly-secret')).sort()).toEqual(Object.keys(tenant.secretData('secret')).sort());
      expect(reader.user).toBe(`${owner.user}_ro`);
      expect(server.must(reader, 'SELECT current_user, current_database()')).toEqual([[reader.user, owner.database]]);
    });

    it('the reader can log in and has no elevated attribute', () => {
      const [row] = server.must(server.asAdmin(),
        `SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = '${reader.user}'`);
      expect(row).toEqual(['t', 'f', 'f', 'f', 'f', 'f']);
    });

    it('the reader reads rows and sequence values of a table the tenant created in schema public after provisioning', () => {
      expect(server.must(reader, 'SELECT item FROM public.orders ORDER BY id; SELECT last_value FROM public.orders_id_seq;')).toEqual([['tea'], ['cake'], ['2']]);
    });

    it('the reader reads rows and sequence values of a table the tenant created in a listed schema after provisioning', () => {
      const r = server.psql(reader, 'SELECT total FROM reporting.daily; SELECT last_value FROM reporting.daily_id_seq;');
      expect(r.error, defaultPrivilegesReport(tenant, 'reporting')).toBe('');
      expect(r.rows).toEqual([['3'], ['1']]);
    });

    it.each([
      ['INSERT', "INSERT INTO public.orders (item) VALUES ('x')", /permission denied for table orders/],
      ['UPDATE', "UPDATE public.orders SET item = 'x'", /permission denied for table orders/],
      ['DELETE', 'DELETE FROM public.orders', /permission denied for table orders/],
      ['TRUNCATE', 'TRUNCATE public.orders', /permission denied for table orders/],
      ['nextval()', "SELECT nextval('public.orders_id_seq')", /permission denied for sequence orders_id_seq/],
      ['INSERT in a listed schema', 'INSERT INTO reporting.daily (total) VALUES (1)', /permission denied for table daily/],
      ['TRUNCATE in a listed schema', 'TRUNCATE reporting.daily', /permission denied for table daily/],
    ])('the reader is refused %s', (_, sql, error) => {
      expect(server.psql(reader, sql).error).toMatch(error);
    });

    it('after all those attempts the tables hold what the tenant wrote', () => {
      expect(server.must(owner, 'SELECT item FROM public.orders ORDER BY id; SELECT total FROM reporting.daily; SELECT last_value FROM public.orders_id_seq'))
        .toEqual([['tea'], ['cake'], ['3'], ['2']]);
    });

    it.each([
      ['CREATE TABLE in public', 'CREATE TABLE public.mine (id int)', /permission denied for schema public/],
      ['CREATE TABLE in a listed schema', 'CREATE TABLE reporting.mine (id int)', /permission denied for schema reporting/],
      ['CREATE TEMP TABLE', 'CREATE TEMP TABLE mine (id int)', /permission denied to create temporary tables/],
      ['CREATE SCHEMA', 'CREATE SCHEMA mine', /permission denied for database/],
    ])('the reader is refused %s', (_, sql, error) => {
      expect(server.psql(reader, sql).error).toMatch(error);
    });

    it("the reader cannot connect to another tenant's database", () => {
      const theirs = other.login();
      expect(server.psql({ ...reader, database: theirs.database }, 'SELECT 1').error).toMatch(/permission denied for database .*\n?.*User does not have CONNECT privilege/);
    });

    it('a schema added to spec.schemas after provisioning is readable too', () => {
      tenant.patch({ spec: { schemas: ['reporting', 'archive'] } });
      tenant.converge();
      server.must(owner, "CREATE TABLE archive.events (id int); INSERT INTO archive.events VALUES (7);");
      const r = server.psql(reader, 'SELECT id FROM archive.events');
      expect(r.error, defaultPrivilegesReport(tenant, 'archive')).toBe('');
      expect(r.rows).toEqual([['7']]);
    });

    describe('after spec.readOnlyRole is switched off', () => {
      beforeAll(() => {
        tenant.patch({ spec: { readOnlyRole: false } });
        tenant.converge();
      });

      it('the reader can no longer log in', () => {
        expect(server.psql(reader, 'SELECT 1').error).toMatch(/role ".*_ro" is not permitted to log in/);
      });

      it('the function keeps only the reader Role, with LOGIN off, its password Secret and its schema roles; its Secret and grants are no longer composed', () => {
        // The password Secret stays: the Role still refers to it, and provider-sql fails on a missing one.
        expect(Object.keys(tenant.composed).filter((k) => k.startsWith('readonly-') && !k.startsWith('readonly-schema-role-')).sort()).toEqual(['readonly-password', 'readonly-role']);
        for (const [key, role] of Object.entries(tenant.composed).filter(([k]) => k.startsWith('readonly-schema-role-'))) {
          expect(role.spec.forProvider.privileges.login, key).toBe(false);
        }
        expect(tenant.composed['readonly-role']!.spec.forProvider.privileges.login).toBe(false);
      });

      it("the tenant's role, database and data are untouched", () => {
        expect(server.must(owner, 'SELECT count(*) FROM public.orders; SELECT total FROM reporting.daily; SELECT id FROM archive.events')).toEqual([['2'], ['3'], ['7']]);
        expect(server.must(owner, 'CREATE TABLE public.after_reader (id int); DROP TABLE public.after_reader; SELECT 1')).toEqual([['1']]);
      });

      it('the orphaned grants stay in PostgreSQL: it is the missing LOGIN that ends the access', () => {
        const [row] = server.must(server.asAdmin(owner.database),
          `SELECT has_database_privilege('${reader.user}', '${owner.database}', 'CONNECT'), has_table_privilege('${reader.user}', 'public.orders', 'SELECT')`);
        expect(row).toEqual(['t', 't']);
      });

      it('switching it on again restores the login, with the same password', () => {
        tenant.patch({ spec: { readOnlyRole: true } });
        tenant.converge();
        expect(tenant.login('readonly-secret')).toEqual(reader);
        expect(server.must(reader, 'SELECT count(*) FROM public.orders')).toEqual([['2']]);
      });
    });
  });

  describe('switching readOnlyRole on for a tenant that already has tables (as in an adopted database)', () => {
    let tenant: Tenant;
    let owner: Login;
    let reader: Login;
    beforeAll(() => {
      tenant = new Tenant(provider, example('claim', 'legacy', 'crm-db', { schemas: ['reporting'] }));
      tenant.converge();
      owner = tenant.login();
      server.must(owner, `
        CREATE TABLE public.customers (id serial PRIMARY KEY, name text);
        INSERT INTO public.customers (name) VALUES ('Ada');
        CREATE TABLE reporting.totals (n int);
        INSERT INTO reporting.totals VALUES (1);`);
      tenant.patch({ spec: { readOnlyRole: true } });
      tenant.converge();
      reader = tenant.login('readonly-secret');
    });

    it('tables that existed before the reader are not readable: default privileges cover only later tables', () => {
      expect(server.psql(reader, 'SELECT name FROM public.customers').error).toMatch(/permission denied for table customers/);
    });

    it('the documented statement, run once as the tenant role, makes them readable', () => {
      const schemas = ['public', 'reporting'].join(', ');
      server.must(owner, `
        GRANT SELECT ON ALL TABLES IN SCHEMA ${schemas} TO ${quoteIdentifier(reader.user)};
        GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${schemas} TO ${quoteIdentifier(reader.user)};`);
      expect(server.must(reader, 'SELECT name FROM public.customers; SELECT n FROM reporting.totals; SELECT last_value FROM public.customers_id_seq')).toEqual([['Ada'], ['1'], ['1']]);
    });
  });

  /** For a failure: which default privileges PostgreSQL holds for the reader, beside what was rendered. */
  function defaultPrivilegesReport(tenant: Tenant, schema: string): string {
    const reader = tenant.composed['readonly-role']!.metadata.annotations['crossplane.io/external-name'];
    const database = tenant.composed.database!.metadata.annotations['crossplane.io/external-name'];
    const held = server.must(server.asAdmin(database),
      `SELECT coalesce(n.nspname, '(all schemas)'), d.defaclobjtype, array_to_string(d.defaclacl, ' ') FROM pg_default_acl d ` +
      `LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace WHERE array_to_string(d.defaclacl, ' ') LIKE '%${reader}=%' ORDER BY 1, 2`);
    const rendered = tenant.ofKind('DefaultPrivileges').filter((o) => o.spec.forProvider.schema === schema).map((o) => o.metadata.name);
    return `rendered for schema ${schema}: ${rendered.join(', ') || 'nothing'}; pg_default_acl holds for ${reader}: ` +
      `${held.map((r) => r.join(' ')).join('; ') || 'nothing'}`;
  }
});
