/**
 * Alternating password rotation (spec.passwordRotation.mode: Alternating,
 * issue 16) in a real PostgreSQL 15, through provider-sql v0.16.0's rules as
 * translated in provider-sql.ts (passwordSecretRef, memberOf Grants,
 * configurationParameters): through three rotations an app that logs in
 * with whatever `<name>-secret` holds after every reconcile never fails; the
 * previous credentials work for the grace period and are refused after it;
 * tables created through either login belong to the tenant role, and the
 * reader reads them. Run by `npm run test:sql`.
 */
import { expect, it } from 'vitest';
import { describeWithPostgres, example, Tenant, throwawayServer } from './control-plane.js';
import type { Login, PostgresServer } from './postgres.js';
import { connectionSecretKey, type ProviderSql } from './provider-sql.js';

const GRACE = 600;

describeWithPostgres('alternating password rotation in PostgreSQL 15', () => {
  let server: PostgresServer;
  let provider: ProviderSql;
  throwawayServer((started, admin) => {
    server = started;
    provider = admin;
  });

  const works = (login: Login) => server.psql(login, 'SELECT 1').ok;
  const owner = (login: Login, table: string) => server.psql(login, `SELECT tableowner FROM pg_tables WHERE tablename = '${table}'`).rows[0]?.[0];

  it.each(['claim', 'namespaced'] as const)('%s flavour: three rotations, the app never fails, every table belongs to the tenant role and the reader reads it', (flavour) => {
    const tenant = new Tenant(provider, example(flavour, `${flavour[0]}-alternate`, 'app-db', { readOnlyRole: true, passwordRotation: { mode: 'Alternating', graceSeconds: GRACE } }));
    /** One reconcile, then the app logs in with what the Secret holds (once there is one). */
    const step = (what: string) => {
      tenant.reconcile();
      if (tenant.composed.secret) expect(works(tenant.login()), `${what}: the app logs in as ${tenant.login().user}`).toBe(true);
    };
    for (let i = 0; i < 10; i++) step(`creation, reconcile ${i + 1}`);
    tenant.converge();
    const role = tenant.composed.role!.metadata.annotations['crossplane.io/external-name'] as string;
    let app = tenant.login();
    expect(app.user).toBe(`${role}_la`);

    const createAndRead = (table: string) => {
      const r = server.psql(app, `CREATE TABLE ${table} (x int); INSERT INTO ${table} VALUES (1)`);
      expect(r.ok, r.error).toBe(true);
      expect(owner(app, table), `${table} is owned by the tenant role, not by ${app.user}`).toBe(role);
      // The reader rotates as in Single mode (its own login): read with what its Secret holds now.
      const read = server.psql(tenant.login('readonly-secret'), `SELECT x FROM ${table}`);
      expect(read.ok, read.error).toBe(true);
    };
    createAndRead('t0');
    // A rotation asked for during the first switch's grace period would wait for it (issue 24).
    tenant.now += (GRACE + 1) * 1000;
    tenant.converge();

    const triggers = ['2027-01-01T08:00:00Z', '2027-01-02T08:00:00Z', '2027-01-03T08:00:00Z'];
    for (const [i, trigger] of triggers.entries()) {
      const previous = app;
      tenant.patch({ spec: { passwordRotationTrigger: trigger } });
      for (let r = 0; r < 4; r++) step(`rotation ${i + 1}, reconcile ${r + 1}`);
      tenant.converge();
      app = tenant.login();
      expect(app.user, `rotation ${i + 1} switches login`).toBe(`${role}_l${i % 2 === 0 ? 'b' : 'a'}`);
      expect(app.password).not.toBe(previous.password);
      expect(works(previous), `rotation ${i + 1}: the previous credentials work during the grace period`).toBe(true);
      createAndRead(`t${i + 1}`);
      // The table the previous login created is the tenant role's, so the new login may use it.
      expect(server.psql(app, `INSERT INTO t${i} VALUES (2)`).ok).toBe(true);

      tenant.now += (GRACE + 1) * 1000;
      for (let r = 0; r < 2; r++) step(`rotation ${i + 1}, after the grace period, reconcile ${r + 1}`);
      expect(works(previous), `rotation ${i + 1}: the previous credentials are refused after the grace period`).toBe(false);
      expect(server.psql(previous, 'SELECT 1').error).toMatch(/not permitted to log in/);
    }
    // Never dropped: all three roles still exist.
    const roles = server.psql(app, `SELECT count(*) FROM pg_roles WHERE rolname IN ('${role}', '${role}_la', '${role}_lb')`).rows[0]?.[0];
    expect(roles).toBe('3');
  });

  it('one connection limit per tenant, however many logins it has: with connectionLimit 2, a session as <role>_la and one as the reader fill it, and a third as the tenant role is refused (reason: issue 24, each login had the limit of its own)', async () => {
    const tenant = new Tenant(provider, example('claim', 'limited', 'app-db', { connectionLimit: 2, readOnlyRole: true, passwordRotation: { mode: 'Alternating', graceSeconds: GRACE } }));
    tenant.converge();
    const role = tenant.composed.role!.metadata.annotations['crossplane.io/external-name'] as string;
    const app = tenant.login();
    expect(app.user).toBe(`${role}_la`);
    const asTenant = { user: role, password: provider.connectionSecrets.get(connectionSecretKey(tenant.composed.role!)!)!.password!, database: app.database };
    expect(works(asTenant), 'the tenant role, in its grace period, logs in').toBe(true);
    const limits = server.must(server.asAdmin(), `SELECT datconnlimit FROM pg_database WHERE datname = '${app.database}'
      UNION ALL SELECT rolconnlimit FROM pg_roles WHERE rolname IN ('${role}', '${role}_la', '${role}_lb') ORDER BY 1`);
    expect(limits.map(([l]) => l)).toEqual(['-1', '-1', '-1', '2']);

    const held = [server.background(app, 'SELECT pg_sleep(4)'), server.background(tenant.login('readonly-secret'), 'SELECT pg_sleep(4)')];
    const sessions = () => server.must(server.asAdmin(), `SELECT count(*) FROM pg_stat_activity WHERE datname = '${app.database}'`)[0]![0];
    for (let i = 0; i < 50 && sessions() !== '2'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(sessions()).toBe('2');
    expect(server.psql(asTenant, 'SELECT 1').error).toMatch(/too many connections for database/);
    expect(await Promise.all(held)).toEqual([0, 0]);
    expect(works(asTenant), 'and logs in again once a session has ended').toBe(true);
  });
});
