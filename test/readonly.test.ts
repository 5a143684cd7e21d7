/**
 * The read-only role (spec.readOnlyRole), through its whole life: asked for,
 * provisioned, published, switched off (retired, locked out) and on again,
 * in both flavours, every object checked against the real CRDs. What it may
 * do in PostgreSQL itself is proven by the SQL suite (test/sql/).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../function/compose.js';
import { isReadOnlyRoleShape, MAX_IDENTIFIER_BYTES, readOnlyRoleName, readOnlySchemaRoleName, tenantIdentifier } from '../function/naming.js';
import { requestFor } from './support/cases.js';
import { Cluster, secretValue } from './support/cluster.js';
import { CrdValidator } from './support/crds.js';
import { CRDS, NOW, requireShared } from './support/shared.js';

type Obj = Record<string, any>;

const haveCrds = requireShared(CRDS);
const crds = haveCrds ? new CrdValidator(['provider-sql', 'provider-aws-secretsmanager', 'crossplane'].map((d) => join(CRDS, d))) : undefined;
const XR = { claim: 'examples/claim/production.yaml', namespaced: 'examples/namespaced/tenantdatabase.yaml' } as const;

function cluster(flavour: 'claim' | 'namespaced', spec: Obj = {}): Cluster {
  const req = requestFor({ flavour, xr: XR[flavour], patch: { spec } });
  return new Cluster(req.observed!.composite!.resource as Obj, req.input as Obj);
}
const resource = (rsp: RunFunctionResponse, key: string) => rsp.desired!.resources[key]?.resource as Obj | undefined;
const keys = (rsp: RunFunctionResponse) => Object.keys(rsp.desired!.resources);
const readerKeys = (rsp: RunFunctionResponse) => keys(rsp).filter((k) => k.includes('readonly'));
const external = (o: Obj | undefined) => o?.metadata?.annotations?.['crossplane.io/external-name'];
/** Every desired object but the reader's (and its protection): what switching the reader must never change. */
const tenantPart = (rsp: RunFunctionResponse) =>
  Object.fromEntries(Object.entries(rsp.desired!.resources).filter(([k]) => !k.includes('readonly')).map(([k, r]) => [k, r.resource]));

describe.each(['claim', 'namespaced'] as const)('read-only role (%s flavour)', (flavour) => {
  const group = flavour === 'claim' ? 'postgresql.sql.crossplane.io' : 'postgresql.sql.m.crossplane.io';

  it('renders a LOGIN role without elevated attributes, CONNECT, USAGE on public and every listed schema, and default SELECT on the tables and sequences the tenant creates (reason: issue 11)', () => {
    const c = cluster(flavour, { readOnlyRole: true, schemas: ['reporting'] });
    const rsp = c.converge().response; // created in order (function/order.ts), everything observed
    const tenantRole = external(resource(rsp, 'role'));
    const db = external(resource(rsp, 'database'));
    const reader = resource(rsp, 'readonly-role')!;
    expect(reader.apiVersion).toBe(`${group}/v1alpha1`);
    expect(external(reader)).toBe(`${tenantRole}_ro`);
    expect(reader.spec.forProvider).toEqual({
      privileges: { login: true, inherit: true, superUser: false, createDb: false, createRole: false, replication: false, bypassRls: false },
    });
    expect(reader.spec.forProvider.passwordSecretRef, 'provider-sql generates the password').toBeUndefined();
    expect(resource(rsp, 'readonly-grant-database')!.spec.forProvider).toEqual({ role: `${tenantRole}_ro`, database: db, privileges: ['CONNECT'] });
    const ORPHAN = flavour === 'claim' ? 'Orphan' : ['Observe', 'Create', 'Update', 'LateInitialize'];
    const deletion = (o: Obj) => o.spec.deletionPolicy ?? o.spec.managementPolicies;
    const schemaRoles = new Set<string>();
    for (const schema of ['public', 'reporting']) {
      // One NOLOGIN role per schema holds the reader's access there: provider-sql v0.16.0 tells DefaultPrivileges
      // apart by grantee and object type only (crossplane-contrib/provider-sql#458), so each schema needs its own grantee.
      const schemaRole = resource(rsp, `readonly-schema-role-${schema}`)!;
      const name = external(schemaRole);
      schemaRoles.add(name);
      expect(name).toMatch(new RegExp(`^${tenantRole}_ro_s[0-9a-f]{8}$`));
      expect(schemaRole.spec.forProvider.privileges).toEqual({ login: false, inherit: true, superUser: false, createDb: false, createRole: false, replication: false, bypassRls: false });
      expect(schemaRole.spec.writeConnectionSecretToRef, 'nobody logs in as it').toBeUndefined();
      expect(resource(rsp, `readonly-member-${schema}`)!.spec.forProvider).toEqual({ role: `${tenantRole}_ro`, memberOf: name });
      const usage = resource(rsp, `readonly-grant-schema-${schema}`)!;
      expect(usage.spec.forProvider).toEqual({ role: name, database: db, schema, privileges: ['USAGE'] });
      expect(deletion(usage), 'inside the database: kept with it, gone with it').toEqual(ORPHAN);
      for (const [key, objectType] of [['tables', 'table'], ['sequences', 'sequence']]) {
        const dp = resource(rsp, `readonly-default-${key}-${schema}`)!;
        expect(dp.kind).toBe('DefaultPrivileges');
        expect(dp.spec.forProvider).toEqual({ role: name, targetRole: tenantRole, database: db, schema, objectType, privileges: ['SELECT'] });
        expect(deletion(dp)).toEqual(ORPHAN);
      }
    }
    expect(schemaRoles.size, 'a grantee per schema').toBe(2);
    expect(resource(rsp, 'usage-readonly-role')!.spec.of).toMatchObject({ kind: 'Role', resourceRef: { name: reader.metadata.name } });
    for (const r of Object.values(rsp.desired!.resources)) expect(crds!.errors(r.resource!)).toEqual([]);
  });

  it('publishes <name>-readonly-secret with the seven keys and an AWS copy <awsSecretName>-readonly, and reports both in the status (reason: issue 11)', () => {
    const c = cluster(flavour, { readOnlyRole: true });
    const rsp = c.converge().response; // created in order, the Secrets once provider-sql has published the passwords
    const reader = external(resource(rsp, 'readonly-role'));
    const secret = resource(rsp, 'readonly-secret')!;
    expect(secret.metadata).toMatchObject({ name: 'my-app-db-readonly-secret', namespace: 'my-namespace' });
    expect(Object.keys(secret.data).sort()).toEqual(['database', 'endpoint', 'jdbcUrl', 'password', 'port', 'uri', 'username']);
    expect(secretValue(rsp, 'readonly-secret', 'username')).toBe(reader);
    expect(secretValue(rsp, 'readonly-secret', 'password')).toBe(c.passwords.get(reader));
    expect(secretValue(rsp, 'readonly-secret', 'password')).not.toBe(secretValue(rsp, 'secret', 'password'));
    expect(resource(rsp, 'readonly-aws-secret')!.spec.forProvider.name).toBe('tenantdb/my-namespace/my-app-db-readonly');
    expect(JSON.parse(secretValue(rsp, 'readonly-aws-secret-string', 'secretString')!)).toMatchObject({ username: reader, engine: 'postgres' });
    expect(resource(rsp, 'readonly-aws-secret-version')!.spec.forProvider.secretIdRef.name).toBe(resource(rsp, 'readonly-aws-secret')!.metadata.name);
    expect(rsp.desired!.composite!.resource!.status).toMatchObject({ readOnlyRole: reader, readOnlySecretName: 'my-app-db-readonly-secret', notReady: [] });
    for (const r of Object.values(rsp.desired!.resources)) expect(crds!.errors(r.resource!)).toEqual([]);
  });

  it('withholds the tenant\'s first Secret until the reader\'s default privileges are ready, and never once it exists (reason: a table created before them would stay unreadable)', () => {
    const c = cluster(flavour, { readOnlyRole: true });
    while (!c.observed['readonly-default-tables-public']) c.reconcile();
    c.observed['readonly-default-tables-public']!.status.conditions = [{ type: 'Ready', status: 'False', reason: 'Creating' }];
    const waiting = compose(c.request(), NOW);
    expect(resource(waiting, 'secret')).toBeUndefined();
    expect(resource(waiting, 'aws-secret-string')).toBeUndefined();
    expect(resource(waiting, 'readonly-secret'), "the reader's own Secret does not wait").toBeDefined();
    expect(waiting.desired!.composite!.resource!.status.notReady).toContain("Secret my-app-db-secret (waiting for the read-only role's default privileges)");

    const ready = cluster(flavour, { readOnlyRole: true });
    ready.converge();
    ready.observed['readonly-default-tables-public']!.status.conditions = [{ type: 'Ready', status: 'False', reason: 'ReconcileError' }];
    expect(resource(compose(ready.request(), NOW), 'secret'), 'an existing Secret is never withheld').toBeDefined();
    delete ready.observed.secret;
    expect(resource(compose(ready.request(), NOW), 'aws-secret-version'), 'nor an existing AWS copy').toBeDefined();
  });

  it('switched off, the reader is kept but cannot log in, its Secrets and grants go, and nothing of the tenant changes; switched on again, it is back (reason: orphaned grants stay in PostgreSQL, so only NOLOGIN ends access)', () => {
    const c = cluster(flavour, { readOnlyRole: true, schemas: ['reporting'] });
    const on = c.converge().response;
    const password = secretValue(on, 'readonly-secret', 'password');

    c.xr.spec.readOnlyRole = false;
    const off = c.reconcile().response;
    // The schema roles stay too: they hold privileges in the database, so they could not be dropped before it.
    expect(readerKeys(off).sort()).toEqual(['readonly-role', 'readonly-schema-role-public', 'readonly-schema-role-reporting', 'usage-readonly-role']);
    expect(resource(off, 'readonly-schema-role-reporting')).toEqual(resource(on, 'readonly-schema-role-reporting'));
    const retired = resource(off, 'readonly-role')!;
    expect(retired.spec.forProvider.privileges.login).toBe(false);
    expect(external(retired)).toBe(external(resource(on, 'readonly-role')));
    expect(tenantPart(off)).toEqual(tenantPart(on));
    expect(off.desired!.composite!.resource!.status.readOnlyRole).toBeUndefined();
    expect(off.desired!.composite!.resource!.status.readOnlySecretName).toBeUndefined();
    expect(off.requirements, 'nothing to ask for a role that cannot log in').toBeUndefined();

    c.xr.spec.readOnlyRole = true;
    const back = c.converge().response;
    expect(resource(back, 'readonly-role')!.spec.forProvider.privileges.login).toBe(true);
    expect(readerKeys(back).sort()).toEqual(readerKeys(on).sort());
    expect(secretValue(back, 'readonly-secret', 'password'), 'its connection secret was kept, so the password is too').toBe(password);
  });

  it('a claim that never asked for it composes nothing of it (reason: off by default)', () => {
    const rsp = cluster(flavour).reconcile().response;
    expect(readerKeys(rsp)).toEqual([]);
    expect(rsp.desired!.composite!.resource!.status.readOnlyRole).toBeUndefined();
  });
});

describe('read-only role names', () => {
  it('are the tenant role plus _ro, within 63 bytes with a hash when longer, never equal to a tenant role (reason: role names are global to the server)', () => {
    expect(readOnlyRoleName('shop_orders_273b481b0b')).toBe('shop_orders_273b481b0b_ro');
    const seen = new Set<string>();
    const parts = ['a', 'a-b', 'team-a', 'x'.repeat(63)];
    for (const ns of parts) {
      for (const name of [...parts, 'y'.repeat(200)]) {
        const role = tenantIdentifier('{namespace}_{name}', ns, name);
        const reader = readOnlyRoleName(role);
        expect(Buffer.byteLength(reader)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
        expect(reader).toMatch(/^[a-z_][a-z0-9_]*_ro$/);
        expect(seen.has(role) || seen.has(reader), `${ns}/${name}`).toBe(false);
        seen.add(role).add(reader);
      }
    }
    const long = 'r'.repeat(63);
    expect(readOnlyRoleName(long)).not.toBe(readOnlyRoleName(`${'r'.repeat(62)}s`));
  });

  it('schema roles are distinct per schema and per reader, within 63 bytes, and of a shape no tenant role or reader has (reason: role names are global to the server)', () => {
    const seen = new Set<string>();
    for (const reader of ['a_ro', readOnlyRoleName('r'.repeat(63)), readOnlyRoleName(tenantIdentifier('{namespace}_{name}', 'team-a', 'orders'))]) {
      for (const schema of ['public', 'reporting', 's'.repeat(63), '_x']) {
        const name = readOnlySchemaRoleName(reader, schema);
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
        expect(name).toMatch(/^[a-z_][a-z0-9_]*_s[0-9a-f]{8}$/);
        expect(isReadOnlyRoleShape(name)).toBe(true);
        expect(seen.has(name)).toBe(false);
        seen.add(name);
      }
    }
    expect(isReadOnlyRoleShape(tenantIdentifier('{namespace}_{name}', 'team-a', 'orders')), 'a tenant role').toBe(false);
  });

  it('a 63-character schema name still gives valid object names for every reader object (reason: Kubernetes names are shorter than the suffixes)', () => {
    const rsp = compose(requestFor({ flavour: 'namespaced', xr: XR.namespaced, patch: { spec: { readOnlyRole: true, schemas: ['s'.repeat(63)] } } }), NOW);
    expect(rsp.results).toEqual([]);
    const names = Object.values(rsp.desired!.resources).map((r) => (r.resource as Obj).metadata.name as string);
    for (const name of names) expect(name.length, name).toBeLessThanOrEqual(63);
    expect(new Set(names).size).toBe(names.length);
    for (const r of Object.values(rsp.desired!.resources)) expect(crds!.errors(r.resource!)).toEqual([]);
  });

  it('adopting a role named like a read-only role is refused (reason: those shapes belong to readers and their schema roles)', () => {
    const req0 = { flavour: 'claim' as const, xr: XR.claim, input: { adoption: { enabled: true } } };
    const req = requestFor({ ...req0, patch: { metadata: { annotations: { 'tenantdb.platform.io/role-name': 'legacy_ro' } } } });
    const rsp = compose(req, NOW);
    expect(rsp.conditions[0]).toMatchObject({ reason: 'NotAllowed', message: expect.stringContaining('"legacy_ro" ends like the names of read-only roles') });
    const schemaShaped = compose(
      requestFor({ ...req0, patch: { metadata: { annotations: { 'tenantdb.platform.io/role-name': 'legacy_s0123abcd' } } } }),
      NOW,
    );
    expect(schemaShaped.conditions[0]).toMatchObject({ reason: 'NotAllowed' });
  });

  it('a name longer than 63 characters is refused in both flavours, with or without the reader (reason: Crossplane writes it into label values, capped at 63)', () => {
    for (const [flavour, xr, label] of [
      ['namespaced', XR.namespaced, 'crossplane.io/composite'],
      ['claim', XR.claim, 'crossplane.io/claim-name'],
    ] as const) {
      for (const readOnlyRole of [false, true]) {
        const fits = compose(requestFor({ flavour, xr, patch: { metadata: { name: 'n'.repeat(63) }, spec: { readOnlyRole } } }), NOW);
        expect(fits.results, `${flavour}: 63 characters fit`).toEqual([]);
        const refused = compose(requestFor({ flavour, xr, patch: { metadata: { name: 'n'.repeat(64) }, spec: { readOnlyRole } } }), NOW);
        expect(refused.conditions[0]).toMatchObject({
          reason: 'InvalidResource',
          message: `metadata.name: must be at most 63 characters (this one has 64): Crossplane writes it into the label ${label}, and Kubernetes caps label values at 63`,
        });
      }
    }
  });
});
