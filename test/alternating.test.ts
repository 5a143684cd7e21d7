/**
 * Alternating password rotation (spec.passwordRotation.mode: Alternating,
 * issue 16) through the reconciles a real cluster goes through
 * (test/support/cluster.ts: provider-sql v0.16.0's password rules, LOGIN as
 * the Role says, the XR's status written back as Crossplane does, and a clock
 * the test moves): at every step an app that re-reads `<name>-secret` logs
 * in, the previous credentials keep working for the grace period and lose
 * LOGIN after it, and no step drops a role.
 */
import { describe, expect, it } from 'vitest';
import type { RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { requestFor } from '../scripts/shared/examples.js';
import { Cluster, secretValue } from './support/cluster.js';

type Obj = Record<string, any>;
const GRACE = 600;

function cluster(flavour: 'claim' | 'namespaced', spec: Obj = {}): Cluster {
  const xr = flavour === 'claim' ? 'examples/claim/production.yaml' : 'examples/namespaced/tenantdatabase.yaml';
  const req = requestFor({ flavour, xr, patch: { spec: { passwordRotation: { mode: 'Alternating', graceSeconds: GRACE }, ...spec } } });
  const c = new Cluster(req.observed!.composite!.resource as Obj, req.input as Obj);
  c.writesStatus = true;
  return c;
}

const resource = (rsp: RunFunctionResponse, key: string) => rsp.desired!.resources[key]?.resource;
const externalName = (rsp: RunFunctionResponse, key: string) => resource(rsp, key)!.metadata.annotations['crossplane.io/external-name'] as string;
const handedOut = (rsp: RunFunctionResponse) => ({ username: secretValue(rsp, 'secret', 'username')!, password: secretValue(rsp, 'secret', 'password')! });
const rotation = (rsp: RunFunctionResponse) => (rsp.desired!.composite!.resource!.status as Obj).passwordRotation as Obj;

/** Reconcile `times` times; after each, the app (re-reading the Secret) must log in whenever the Secret exists. */
function step(c: Cluster, times = 1): RunFunctionResponse {
  let last: RunFunctionResponse | undefined;
  for (let i = 0; i < times; i++) {
    const r = c.reconcile();
    expect(r.fatal).toBeUndefined();
    last = r.response;
    const secret = resource(last, 'secret');
    if (secret) {
      const { username, password } = handedOut(last);
      expect(c.logsIn(username, password), `the app logs in as ${username} after reconcile ${i + 1}`).toBe(true);
    }
  }
  return last!;
}

describe.each(['claim', 'namespaced'] as const)('alternating password rotation (%s flavour)', (flavour) => {
  it('three rotations: the Secret switches between <role>_la and <role>_lb once each works, the app never fails, the previous login works for the grace period and then loses LOGIN, roles are never dropped (reason: issue 16, rotation without downtime)', () => {
    const c = cluster(flavour);
    let rsp = step(c, 8);
    const tenant = externalName(rsp, 'role');
    expect(externalName(rsp, 'login-a-role')).toBe(`${tenant}_la`);
    expect(externalName(rsp, 'login-b-role')).toBe(`${tenant}_lb`);
    for (const s of ['a', 'b']) {
      expect(resource(rsp, `login-${s}-role`)!.spec.forProvider.configurationParameters).toEqual([{ name: 'role', value: tenant }]);
      expect(resource(rsp, `login-${s}-member`)!.spec.forProvider).toMatchObject({ role: `${tenant}_l${s}`, memberOf: tenant });
      expect(resource(rsp, `login-${s}-role`)!.spec.forProvider.passwordSecretRef.name).toBe(resource(rsp, `login-${s}-password`)!.metadata.name);
    }
    // First switch: from the tenant role's own login to login-a.
    expect(handedOut(rsp).username).toBe(`${tenant}_la`);
    expect(rotation(rsp)).toMatchObject({ activeLogin: 'login-a', previousLogin: 'tenant', rotation: 'initial', pending: false });
    expect(resource(rsp, 'login-b-role')!.spec.forProvider.privileges.login, 'the idle login cannot log in').toBe(false);
    const tenantPassword = c.passwords.get(tenant)!;
    expect(c.logsIn(tenant, tenantPassword), 'the previous credentials work during the grace period').toBe(true);
    expect(rsp.meta!.ttl!.seconds).toBeLessThanOrEqual(GRACE);

    c.now += (GRACE + 1) * 1000;
    rsp = step(c);
    expect(resource(rsp, 'role')!.spec.forProvider.privileges.login, 'the tenant role loses LOGIN after the grace period').toBe(false);
    expect(c.logsIn(tenant, tenantPassword)).toBe(false);

    const seen = new Set<string>([handedOut(rsp).password]);
    const triggers = ['2026-12-05T10:00:00Z', '2026-12-06T10:00:00Z', '2026-12-07T10:00:00Z'];
    for (const [i, trigger] of triggers.entries()) {
      const before = handedOut(rsp);
      const to = i % 2 === 0 ? 'login-b' : 'login-a';
      c.xr.spec.passwordRotationTrigger = trigger;
      rsp = step(c, 4);
      const after = handedOut(rsp);
      expect(after.username, `rotation ${i + 1} switches to ${to}`).toBe(`${tenant}_l${to.slice(-1)}`);
      expect(seen.has(after.password), 'a new password each rotation').toBe(false);
      seen.add(after.password);
      expect(rotation(rsp)).toMatchObject({ trigger, activeLogin: to, rotation: trigger.replace(/[-:]/g, '').toLowerCase(), pending: false });
      expect(c.logsIn(before.username, before.password), 'the previous credentials keep working during the grace period').toBe(true);
      expect(rsp.meta!.ttl!.seconds, 'the tenant is woken when the grace period ends').toBeLessThanOrEqual(GRACE);
      c.now += (GRACE + 1) * 1000;
      rsp = step(c, 2);
      expect(c.logsIn(before.username, before.password), 'and stop working after it').toBe(false);
      expect(c.logsIn(after.username, after.password)).toBe(true);
      expect(Object.keys(rsp.desired!.resources)).toEqual(expect.arrayContaining(['role', 'login-a-role', 'login-b-role', 'login-a-member', 'login-b-member']));
      expect(externalName(rsp, 'role'), 'the tenant role (the owner of everything) is untouched').toBe(tenant);
    }
  });

  it('an existing tenant switching from Single keeps its role and its password until the switch, and its Secret never stops working (reason: issue 16, existing tenants opt in)', () => {
    const xr = flavour === 'claim' ? 'examples/claim/production.yaml' : 'examples/namespaced/tenantdatabase.yaml';
    const req = requestFor({ flavour, xr });
    const c = new Cluster(req.observed!.composite!.resource as Obj, req.input as Obj);
    c.writesStatus = true;
    let rsp = step(c, 8);
    const tenant = externalName(rsp, 'role');
    const single = handedOut(rsp);
    expect(single.username).toBe(tenant);
    c.xr.spec.passwordRotation = { mode: 'Alternating', graceSeconds: GRACE };
    c.xr.spec.passwordRotationTrigger = '2026-12-05T10:00:00Z';
    rsp = step(c, 6);
    expect(externalName(rsp, 'role')).toBe(tenant);
    expect(c.passwords.get(tenant), "the tenant role's own password does not follow the trigger in alternating mode").toBe(single.password);
    expect(handedOut(rsp).username).toBe(`${tenant}_la`);
    expect(c.logsIn(single.username, single.password)).toBe(true);
  });
});
