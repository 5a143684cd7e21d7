/**
 * The tenant's own access model, in a real PostgreSQL 15: what the function
 * renders for a claim, applied the way provider-sql v0.16.0 applies it,
 * gives the tenant's role a database it can log in to with the password in
 * `<name>-secret`, create tables in (public and its listed schemas), and that
 * no other tenant can enter. Run by `npm run test:sql`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { describeWithPostgres, example, Tenant, throwawayServer, type FlavourName } from './control-plane.js';
import type { Login, PostgresServer } from './postgres.js';
import type { ProviderSql } from './provider-sql.js';

describeWithPostgres('a tenant in PostgreSQL 15', () => {
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
    let login: Login;
    beforeAll(() => {
      tenant = new Tenant(provider, example(flavour, namespace, name, { schemas: ['reporting'] }));
      other = new Tenant(provider, example(flavour, `${namespace}-other`, 'billing-db'));
      tenant.converge();
      other.converge();
      login = tenant.login();
    });

    it('the Secret names this server and a password PostgreSQL accepts for the tenant role', () => {
      const data = tenant.secretData('secret');
      expect({ endpoint: data.endpoint, port: data.port }).toEqual({ endpoint: server.host, port: String(server.port) });
      expect(server.must(login, 'SELECT current_user, current_database()')).toEqual([[login.user, login.database]]);
    });

    it('a wrong password is refused (password authentication is really in force)', () => {
      expect(server.psql({ ...login, password: `${login.password}x` }, 'SELECT 1').error).toMatch(/password authentication failed/);
    });

    it('the tenant role creates a table in schema public at once, writes and reads it (PostgreSQL 15: it owns the database)', () => {
      const rows = server.must(login, `
        CREATE TABLE public.orders (id serial PRIMARY KEY, item text NOT NULL);
        INSERT INTO public.orders (item) VALUES ('tea'), ('cake');
        UPDATE public.orders SET item = 'green tea' WHERE item = 'tea';
        SELECT item FROM public.orders ORDER BY id;`);
      expect(rows).toEqual([['green tea'], ['cake']]);
    });

    it('the tenant role creates, writes and reads tables in a schema listed in spec.schemas', () => {
      const rows = server.must(login, `
        CREATE TABLE reporting.daily (day date PRIMARY KEY, total int);
        INSERT INTO reporting.daily VALUES ('2026-01-01', 3);
        SELECT total FROM reporting.daily;`);
      expect(rows).toEqual([['3']]);
    });

    it('every extension the function renders is installed in the tenant database', () => {
      const wanted = tenant.ofKind('Extension').map((e) => e.spec.forProvider.extension as string).sort();
      const installed = server.must(login, 'SELECT extname FROM pg_extension').map(([e]) => e!);
      expect(installed).toEqual(expect.arrayContaining(wanted));
    });

    it('the tenant role can log in and has no elevated attribute', () => {
      const [row] = server.must(server.asAdmin(),
        `SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit FROM pg_roles WHERE rolname = '${login.user}'`);
      // The connection limit is the rendered one (the namespaced example asks for 20).
      const limit = tenant.composed.role!.spec.forProvider.connectionLimit ?? -1;
      expect(row).toEqual(['t', 'f', 'f', 'f', 'f', 'f', String(limit)]);
    });

    it('another tenant cannot connect to this database, nor this tenant to the other one (revokePublicOnDb)', () => {
      const theirs = other.login();
      expect(server.psql({ ...theirs, database: login.database }, 'SELECT 1').error).toMatch(/permission denied for database .*\n?.*User does not have CONNECT privilege/);
      expect(server.psql({ ...login, database: theirs.database }, 'SELECT 1').error).toMatch(/permission denied for database .*\n?.*User does not have CONNECT privilege/);
      expect(server.must(theirs, 'SELECT current_database()')).toEqual([[theirs.database]]);
    });

    it("provider-sql's periodic reconcile issues no GRANT, REVOKE or CREATE again; its only statement is the Role's ALTER ROLE ... CONNECTION LIMIT", () => {
      const before = provider.log.length;
      tenant.reconcile();
      tenant.poll();
      // Grants, schemas, extensions and the database are observed as they are; the Role's Observe compares by pointer (provider-sql.ts).
      const limit = tenant.composed.role!.spec.forProvider.connectionLimit;
      expect(provider.log.slice(before)).toEqual([`[postgres] ALTER ROLE "${login.user}" CONNECTION LIMIT ${limit}`]);
    });
  });

  it('a claim with an encoding and a locale other than the server default gets a database created with them (from template0)', () => {
    const custom = new Tenant(provider, example('claim', 'texts', 'text-db', { encoding: 'UTF8', lcCollate: 'C.UTF-8', lcCType: 'C.UTF-8' }));
    custom.converge();
    expect(server.must(custom.login(), 'SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = current_database()'))
      .toEqual([['UTF8', 'C.UTF-8', 'C.UTF-8']]);
  });
});
