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

/**
 * Issue 24: the promises over time, sequence by sequence. Each starts from a
 * tenant already switched once (tenant role -> login-a) with the tenant role's
 * grace period over, so the logins in play are login-a and login-b.
 */
describe.each(['claim', 'namespaced'] as const)('alternating rotation over time (%s flavour)', (flavour) => {
  function settled(): { c: Cluster; rsp: RunFunctionResponse; tenant: string } {
    const c = cluster(flavour);
    step(c, 8);
    c.now += (GRACE + 1) * 1000;
    const rsp = step(c, 2);
    return { c, rsp, tenant: externalName(rsp, 'role') };
  }
  /** A settled tenant rotated once more: login-b handed out, login-a (the pods' previous credentials) in its grace period. */
  function rotatedToB(): { c: Cluster; rsp: RunFunctionResponse; onA: { username: string; password: string }; onB: { username: string; password: string } } {
    const { c } = settled();
    c.xr.spec.passwordRotationTrigger = '2026-12-05T10:00:00Z';
    const rsp = step(c, 4);
    const onB = handedOut(rsp);
    const username = onB.username.replace(/_lb$/, '_la');
    return { c, rsp, onB, onA: { username, password: c.passwords.get(username)! } };
  }
  const loginOf = (rsp: RunFunctionResponse, key: string) => resource(rsp, key)!.spec.forProvider.privileges.login as boolean;
  const passwordSecret = (rsp: RunFunctionResponse, slot: 'a' | 'b') => ({
    password: secretValue(rsp, `login-${slot}-password`, 'password'),
    rotation: resource(rsp, `login-${slot}-password`)!.metadata.annotations['tenantdb.platform.io/password-rotation'] as string,
  });

  it('a second rotation asked for inside the grace period waits for it: the login in its grace period keeps its password and LOGIN until the grace period ends, then the rotation goes ahead (reason: issue 24, two rotations in one grace period)', () => {
    const s = settled();
    const { c } = s;
    let { rsp } = s;
    c.xr.spec.passwordRotationTrigger = '2026-12-05T10:00:00Z';
    rsp = step(c, 4);
    const onA = { username: '', password: '' };
    const first = handedOut(rsp);
    expect(rotation(rsp)).toMatchObject({ activeLogin: 'login-b', previousLogin: 'login-a', pending: false });
    // The pods still reading the old Secret use login-a; its grace period has begun.
    Object.assign(onA, { username: first.username.replace(/_lb$/, '_la') });
    onA.password = c.passwords.get(onA.username)!;
    const aBefore = passwordSecret(rsp, 'a');

    c.now += 60_000;
    c.xr.spec.passwordRotationTrigger = '2026-12-05T11:00:00Z';
    rsp = step(c, 4);
    expect(c.logsIn(onA.username, onA.password), 'login-a, in its grace period, still logs in with the password the pods hold').toBe(true);
    expect(passwordSecret(rsp, 'a'), "login-a's password Secret is not rotated during its grace period").toEqual(aBefore);
    expect(loginOf(rsp, 'login-a-role')).toBe(true);
    expect(handedOut(rsp), '<name>-secret keeps login-b').toEqual(first);
    expect(rotation(rsp)).toMatchObject({ trigger: '2026-12-05T11:00:00Z', activeLogin: 'login-b', previousLogin: 'login-a', pending: true });
    const condition = rsp.conditions.find((x) => x.type === 'Provisioned')!;
    expect(condition.message, 'the wait is reported with its reason and its end').toMatch(/password rotation to 2026-12-05T11:00:00Z waits until \S+Z, when the grace period of the previous login \(role \S+_la\) ends/);
    expect(rsp.meta!.ttl!.seconds, 'the tenant is woken when the grace period ends').toBeLessThanOrEqual(GRACE - 60);

    c.now += GRACE * 1000;
    rsp = step(c, 6);
    const after = handedOut(rsp);
    expect(after.username, 'after the grace period the rotation switches to login-a').toBe(onA.username);
    expect(after.password).not.toBe(onA.password);
    expect(c.logsIn(first.username, first.password), 'login-b, handed out until now, starts its own grace period').toBe(true);
    expect(rotation(rsp)).toMatchObject({ activeLogin: 'login-a', previousLogin: 'login-b', rotation: '20261205t110000z', pending: false });
  });

  it('a lost XR status (a control plane restored without status) changes nothing: <name>-secret keeps its login, the login in its grace period keeps LOGIN, and the record comes back from the Secret (reason: issue 24, state rebuilt from what is observed)', () => {
    const rotated = rotatedToB();
    const { c, onA, onB } = rotated;
    let { rsp } = rotated;
    const recorded = rotation(rsp);
    expect(recorded).toMatchObject({ activeLogin: 'login-b', previousLogin: 'login-a' });
    const annotations = resource(rsp, 'secret')!.metadata.annotations;

    c.now += 60_000;
    c.xr = { ...c.xr, status: {} };
    rsp = step(c, 3);
    expect(handedOut(rsp), '<name>-secret still hands out login-b').toEqual(onB);
    expect(c.logsIn(onA.username, onA.password), 'login-a keeps its grace period').toBe(true);
    expect(loginOf(rsp, 'login-b-role')).toBe(true);
    expect(rotation(rsp)).toMatchObject({ activeLogin: 'login-b', previousLogin: 'login-a', switchedAt: recorded.switchedAt, rotation: '20261205t100000z', pending: false });
    c.now += GRACE * 1000;
    rsp = step(c, 2);
    expect(c.logsIn(onA.username, onA.password), 'and loses LOGIN once it is over').toBe(false);
    expect(c.logsIn(onB.username, onB.password)).toBe(true);
    // Where the record survived: on the Secret that hands the login out.
    expect(annotations).toEqual({
      'tenantdb.platform.io/active-login': 'login-b',
      'tenantdb.platform.io/previous-login': 'login-a',
      'tenantdb.platform.io/password-rotation': '20261205t100000z',
      'tenantdb.platform.io/switched-at': recorded.switchedAt,
    });
  });

  it('a lost XR status with a <name>-secret written by an earlier version (no record on it) is read from the Secret and the Roles: nobody is locked out, and the grace period starts again rather than being cut short (reason: issue 24, upgrade path)', () => {
    const rotated = rotatedToB();
    const { c, onA, onB } = rotated;
    let { rsp } = rotated;
    // What an earlier version left: the Secret without the record, then the status lost.
    delete c.observed.secret!.metadata.annotations;
    c.xr = { ...c.xr, status: {} };
    c.now += (GRACE - 10) * 1000;
    rsp = step(c, 2);
    expect(handedOut(rsp)).toEqual(onB);
    expect(c.logsIn(onA.username, onA.password), 'login-a: the grace period starts again, it is not cut short').toBe(true);
    expect(rotation(rsp)).toMatchObject({ activeLogin: 'login-b', previousLogin: 'login-a', switchedAt: new Date(Math.floor(c.now / 1000) * 1000).toISOString().replace('.000Z', 'Z') });
    expect(resource(rsp, 'secret')!.metadata.annotations['tenantdb.platform.io/active-login'], 'the record is written back onto the Secret').toBe('login-b');
  });

  it('every role an app logs in as is protected while deletionProtection is true: login-a and login-b too (reason: issue 24)', () => {
    const { rsp } = settled();
    for (const s of ['a', 'b']) {
      const usage = resource(rsp, `usage-login-${s}-role`)!;
      expect(usage.spec.of).toMatchObject({ kind: 'Role', resourceRef: { name: resource(rsp, `login-${s}-role`)!.metadata.name } });
      expect(usage.spec.reason).toMatch(new RegExp(`_l${s}`));
    }
  });

  it('one connection limit for the tenant: the database carries spec.connectionLimit, and no login role holds a limit of its own (reason: issue 24, _la, _lb and the tenant role would otherwise each get it)', () => {
    const c = cluster(flavour, { connectionLimit: 20 });
    const rsp = step(c, 8);
    expect(resource(rsp, 'database')!.spec.forProvider.connectionLimit).toBe(20);
    for (const key of ['role', 'login-a-role', 'login-b-role']) expect(resource(rsp, key)!.spec.forProvider.connectionLimit, key).toBe(-1);
  });
});
