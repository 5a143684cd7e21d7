/** Identifiers: within 63 bytes, [a-z0-9_], stable, and never shared by two tenants. */
import { describe, expect, it } from 'vitest';
import { childName, MAX_IDENTIFIER_BYTES, objectSuffix, tenantIdentifier } from '../function/naming.js';

const T = '{namespace}_{name}';

describe('tenantIdentifier', () => {
  it('keeps the readable prefix and appends a hash (reason: mapping - to _ alone is lossy)', () => {
    expect(tenantIdentifier(T, 'my-namespace', 'my-app-db')).toMatch(/^my_namespace_my_app_db_[0-9a-f]{10}$/);
  });

  it('never gives two (namespace, name) pairs that read alike the same identifier', () => {
    const a = tenantIdentifier(T, 'a-b', 'c');
    const b = tenantIdentifier(T, 'a', 'b-c');
    expect(a.slice(0, 5)).toBe(b.slice(0, 5));
    expect(a).not.toBe(b);
  });

  it('gives the same claim name in two namespaces two identifiers', () => {
    expect(tenantIdentifier(T, 'team-a', 'orders')).not.toBe(tenantIdentifier(T, 'team-b', 'orders'));
  });

  it('fits the longest Kubernetes names into 63 bytes, stably', () => {
    const ns = 'n'.repeat(63);
    const name = `x${'-y'.repeat(126)}`;
    const id = tenantIdentifier(T, ns, name);
    expect(Buffer.byteLength(id)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
    expect(id).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(tenantIdentifier(T, ns, name)).toBe(id);
    expect(tenantIdentifier(T, ns, `${name.slice(0, -1)}z`)).not.toBe(id);
  });

  it('maps anything outside [a-z0-9_] (unicode included) and starts with a letter', () => {
    const id = tenantIdentifier('{namespace}_{name}', '9lives', 'bücher');
    expect(id).toMatch(/^t_9lives_b_cher_[0-9a-f]{10}$/);
    expect(Buffer.byteLength(id)).toBe(id.length);
  });

  it('has no collisions and no overlong identifier across many generated tenants', () => {
    const seen = new Map<string, string>();
    const parts = ['a', 'b', 'a-b', 'b-a', 'ab', 'a-b-c', 'team', 'team-a', 'x'.repeat(60)];
    for (const ns of parts) {
      for (const n of [...parts, 'db', 'db-1', 'db.1', `${'y'.repeat(200)}`]) {
        const id = tenantIdentifier(T, ns, n);
        expect(id.length).toBeLessThanOrEqual(63);
        expect(seen.get(id), `${ns}/${n} collides`).toBeUndefined();
        seen.set(id, `${ns}/${n}`);
      }
    }
  });
});

describe('object names', () => {
  it('shortens long child names with a hash and keeps them within 63 characters', () => {
    const long = 'a'.repeat(250);
    expect(childName('short', 'database')).toBe('short-database');
    expect(childName(long, 'database').length).toBeLessThanOrEqual(63);
    expect(childName(long, 'database')).not.toBe(childName(`${long.slice(0, -1)}b`, 'database'));
  });

  it('keeps SQL names that differ only in _ and - apart', () => {
    expect(objectSuffix('uuid-ossp')).toBe('uuid-ossp');
    expect(objectSuffix('uuid_ossp')).not.toBe(objectSuffix('uuid-ossp'));
    expect(objectSuffix('_x_')).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
  });
});

describe('login roles of alternating rotation (issue 16)', () => {
  it('are <role>_la and <role>_lb, within 63 bytes with a hash of the whole role when cut, distinct for roles that share a prefix, and reserved against adoption (reason: a tenant must never adopt another tenant\'s login)', async () => {
    const { loginSlotRoleName, isReadOnlyRoleShape } = await import('../function/naming.js');
    expect(loginSlotRoleName('shop_orders_273b481b0b', 'a')).toBe('shop_orders_273b481b0b_la');
    expect(loginSlotRoleName('shop_orders_273b481b0b', 'b')).toBe('shop_orders_273b481b0b_lb');
    const long = 'r'.repeat(63);
    for (const s of ['a', 'b'] as const) {
      const name = loginSlotRoleName(long, s);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
      expect(name.endsWith(`_l${s}`)).toBe(true);
      expect(isReadOnlyRoleShape(name)).toBe(true);
    }
    expect(loginSlotRoleName(long, 'a')).not.toBe(loginSlotRoleName(`${'r'.repeat(62)}s`, 'a'));
    expect(isReadOnlyRoleShape(tenantIdentifier('{namespace}_{name}', 'team-a', 'orders'))).toBe(false);
  });
});
