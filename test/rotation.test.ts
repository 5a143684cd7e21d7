/**
 * Password rotation end to end, through the reconciles a real cluster goes
 * through (test/support/cluster.ts, with provider-sql v0.16.0's password
 * rules): a later passwordRotationTrigger derives a new password into each
 * login's password Secret, provider-sql sets it because it differs from the
 * one in the Role's connection secret, and the function carries what
 * provider-sql published into the Secrets apps read and the AWS copies —
 * while nothing else changes, any number of times (issue 16).
 */
import { describe, expect, it } from 'vitest';
import type { RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { requestFor } from '../scripts/shared/examples.js';
import { Cluster, PLATFORM_KEY_AT, secretValue } from './support/cluster.js';
import { SECRET_STRING_CHECKSUM } from '../function/resources/secretsmanager.js';
import { ROTATION_ANNOTATION } from '../function/passwords.js';

type Obj = Record<string, any>;

function cluster(flavour: 'claim' | 'namespaced', spec: Obj = {}): Cluster {
  const xr = flavour === 'claim' ? 'examples/claim/production.yaml' : 'examples/namespaced/tenantdatabase.yaml';
  const req = requestFor({ flavour, xr, patch: { spec } });
  return new Cluster(req.observed!.composite!.resource as Obj, req.input as Obj);
}

/** Reconcile until every login's Secret holds the password its role has and no rotation is pending (objects are created in order). */
function settled(c: Cluster): RunFunctionResponse {
  for (let i = 0; i < 12; i++) {
    const { response, fatal } = c.reconcile();
    expect(fatal).toBeUndefined();
    const status = response.desired!.composite!.resource!.status as Obj;
    if (secretValue(response, 'secret', 'password') !== undefined && status.notReady.length === 0) return response;
  }
  throw new Error('not settled after 12 reconciles');
}

const resource = (rsp: RunFunctionResponse, key: string) => rsp.desired!.resources[key]!.resource as Obj;
const awsJson = (rsp: RunFunctionResponse, key = 'aws-secret-string') => JSON.parse(secretValue(rsp, key, 'secretString')!);
const role = (rsp: RunFunctionResponse, key = 'role') => resource(rsp, key).metadata.annotations['crossplane.io/external-name'] as string;

/** Everything but what a rotation may change: the rotation annotations, the Secrets' data, the version checksum. */
function unchangedPart(rsp: RunFunctionResponse): Obj {
  const out: Obj = {};
  for (const [key, r] of Object.entries(rsp.desired!.resources)) {
    const object = structuredClone(r.resource as Obj);
    delete object.metadata?.annotations?.[ROTATION_ANNOTATION];
    if (object.kind === 'Secret' && object.apiVersion === 'v1') delete object.data;
    delete object.metadata?.annotations?.[SECRET_STRING_CHECKSUM];
    out[key] = object;
  }
  return out;
}

describe.each(['claim', 'namespaced'] as const)('password rotation (%s flavour)', (flavour) => {
  it('a new tenant: the password Secret first (its password derived from the platform key), then the Role referring to it, then the Secret apps read (reason: issue 16)', () => {
    const c = cluster(flavour);
    const first = c.reconcile();
    expect(first.calls, 'the platform key is asked for, so Crossplane calls twice').toHaveLength(2);
    expect(first.response.desired!.resources.password).toBeDefined();
    expect(first.response.desired!.resources.role, 'no Role before its password Secret exists').toBeUndefined();
    const second = c.reconcile().response;
    expect(resource(second, 'role').spec.forProvider.passwordSecretRef).toMatchObject({ name: resource(second, 'password').metadata.name, key: 'password' });
    const done = settled(c);
    expect(secretValue(done, 'secret', 'password')).toBe(secretValue(done, 'password', 'password'));
    expect(secretValue(done, 'secret', 'password')).toBe(c.passwords.get(role(done)));
    expect(secretValue(done, 'secret', 'password')).toMatch(/^[A-Za-z0-9]{43}$/);
    expect(c.reconcile().calls, 'steady state: one call per reconcile').toHaveLength(1);
  });

  it('a later trigger gives the tenant a new password that logs in, in the Secret and the AWS copy; nothing else changes (reason: issue 10, rotation that rotates)', () => {
    const c = cluster(flavour, { readOnlyRole: true });
    const before = settled(c);
    const oldPassword = secretValue(before, 'secret', 'password')!;
    expect(oldPassword).toBe(c.passwords.get(role(before)));

    c.xr.spec.passwordRotationTrigger = '2026-12-02T21:00:00Z';
    const switched = c.reconcile();
    expect(switched.calls, 'a new rotation asks for the platform key').toHaveLength(2);
    expect(resource(switched.response, 'password').metadata.annotations[ROTATION_ANNOTATION]).toBe('20261202t210000z');
    expect(resource(switched.response, 'readonly-password').metadata.annotations[ROTATION_ANNOTATION]).toBe('20261202t210000z');
    expect(resource(switched.response, 'role').spec.writeConnectionSecretToRef.name, 'no renaming').toBe(resource(before, 'role').spec.writeConnectionSecretToRef.name);
    expect(resource(switched.response, 'role').spec.forProvider.passwordRotationTrigger, "provider-sql's own trigger is not used").toBeUndefined();
    expect(switched.response.desired!.composite!.resource!.status).toMatchObject({ passwordRotation: { trigger: '2026-12-02T21:00:00Z', pending: true } });

    const after = settled(c);
    const newPassword = secretValue(after, 'secret', 'password')!;
    expect(newPassword).not.toBe(oldPassword);
    expect(newPassword, 'the Secret holds the password the role accepts now').toBe(c.passwords.get(role(after)));
    expect(secretValue(after, 'secret', 'uri')).toContain(encodeURIComponent(newPassword));
    expect(awsJson(after).password, 'the AWS copy follows').toBe(newPassword);
    expect(resource(after, 'aws-secret-version').metadata.annotations[SECRET_STRING_CHECKSUM], 'the SecretVersion changes, so the AWS provider copies it at once').not.toBe(
      resource(before, 'aws-secret-version').metadata.annotations[SECRET_STRING_CHECKSUM],
    );
    expect(secretValue(after, 'readonly-secret', 'password'), 'the read-only role is rotated too').toBe(c.passwords.get(role(after, 'readonly-role')));
    expect(secretValue(after, 'readonly-secret', 'password')).not.toBe(secretValue(before, 'readonly-secret', 'password'));

    expect(unchangedPart(after), 'database, roles, grants, names and protection are untouched').toEqual(unchangedPart(before));
    expect(after.desired!.composite!.resource!.status).toMatchObject({ passwordRotation: { trigger: '2026-12-02T21:00:00Z', pending: false } });

    // Settled: further reconciles change nothing and ask Crossplane for nothing more.
    const again = c.reconcile();
    expect(again.calls).toHaveLength(1);
    expect(JSON.stringify(again.response.desired)).toBe(JSON.stringify(after.desired));
  });

  it('ten rotations in a row each give a new password that the role accepts and the Secret holds (reason: issue 16, the second rotation did nothing)', () => {
    const c = cluster(flavour, { readOnlyRole: true });
    let previous = settled(c);
    const seen = new Set([secretValue(previous, 'secret', 'password')]);
    for (let i = 1; i <= 10; i++) {
      c.xr.spec.passwordRotationTrigger = `2027-01-${String(i).padStart(2, '0')}T00:00:00Z`;
      const now = settled(c);
      const password = secretValue(now, 'secret', 'password')!;
      expect(seen.has(password), `rotation ${i} gives a password not seen before`).toBe(false);
      expect(password).toBe(c.passwords.get(role(now)));
      expect(secretValue(now, 'readonly-secret', 'password')).toBe(c.passwords.get(role(now, 'readonly-role')));
      expect(secretValue(now, 'readonly-secret', 'password')).not.toBe(secretValue(previous, 'readonly-secret', 'password'));
      seen.add(password);
      previous = now;
    }
  });

  it('keeps the old, still valid password while provider-sql has not set the new one, and says the rotation is pending (reason: the Secret is never emptied)', () => {
    const c = cluster(flavour);
    const before = settled(c);
    c.xr.spec.passwordRotationTrigger = '2026-12-02T21:00:00Z';
    c.reconcile({ providerLag: true });
    const waiting = c.reconcile({ providerLag: true }).response;
    expect(secretValue(waiting, 'secret', 'password')).toBe(secretValue(before, 'secret', 'password'));
    const status = waiting.desired!.composite!.resource!.status as Obj;
    expect(status.passwordRotation).toEqual({ trigger: '2026-12-02T21:00:00Z', pending: true });
    expect(status.notReady).toContain(`password rotation to 2026-12-02T21:00:00Z not applied yet (role ${role(waiting)})`);
    expect(waiting.conditions[0]!.message).toContain('password rotation to 2026-12-02T21:00:00Z not applied yet');
    c.settle();
    const after = settled(c);
    expect(secretValue(after, 'secret', 'password')).not.toBe(secretValue(before, 'secret', 'password'));
  });

  it('without the platform key, a new rotation waits, naming the key Secret, and changes nothing that exists (reason: never lock an app out)', () => {
    const c = cluster(flavour);
    const before = settled(c);
    c.secrets.delete(PLATFORM_KEY_AT);
    c.xr.spec.passwordRotationTrigger = '2026-12-02T21:00:00Z';
    const { response, fatal } = c.reconcile();
    expect(fatal).toBeUndefined();
    expect(resource(response, 'password')).toEqual(resource(before, 'password'));
    expect(resource(response, 'role')).toEqual(resource(before, 'role'));
    expect(secretValue(response, 'secret', 'password')).toBe(secretValue(before, 'secret', 'password'));
    expect(response.conditions[0]!.message).toContain('Secret crossplane-system/tenantdb-password-key not found');
    expect(response.desired!.composite!.resource!.status).toMatchObject({ passwordRotation: { pending: true } });
    c.secrets.set(PLATFORM_KEY_AT, { key: 'another-platform-key-of-at-least-32-bytes!!' });
    const after = settled(c);
    expect(secretValue(after, 'secret', 'password')).not.toBe(secretValue(before, 'secret', 'password'));
  });

  it('the same instant written in another offset, or removing the trigger, rotates nothing; a trigger in the future rotates once (reason: only a later time is a new rotation)', () => {
    const c = cluster(flavour, { passwordRotationTrigger: '2099-12-02T21:00:00Z' });
    const before = settled(c);
    const password = secretValue(before, 'secret', 'password');
    c.xr.spec.passwordRotationTrigger = '2099-12-02T22:00:00+01:00';
    expect(secretValue(settled(c), 'secret', 'password')).toBe(password);
    delete c.xr.spec.passwordRotationTrigger;
    const removed = settled(c);
    expect(secretValue(removed, 'secret', 'password')).toBe(password);
    expect(resource(removed, 'password').metadata.annotations[ROTATION_ANNOTATION]).toBe('20991202t210000z');
    for (let i = 0; i < 3; i++) expect(c.reconcile().calls, 'no key asked for: nothing to derive').toHaveLength(1);
    expect(c.passwords.get(role(removed))).toBe(password);
  });

  it('refuses a trigger earlier than the last rotation, naming the field, and changes nothing (reason: it would derive a password that was rotated away)', () => {
    const c = cluster(flavour, { passwordRotationTrigger: '2026-12-02T21:00:00Z' });
    settled(c);
    const observed = structuredClone(c.observed);
    c.xr.spec.passwordRotationTrigger = '2026-06-01T00:00:00Z';
    const { fatal, response } = c.reconcile();
    expect(fatal).toBe(
      'spec.passwordRotationTrigger: 2026-06-01T00:00:00Z is earlier than the last rotation (2026-12-02T21:00:00Z); to rotate again, set a later time',
    );
    expect(response.conditions[0]).toMatchObject({ reason: 'InvalidSpec', message: fatal });
    expect(c.observed).toEqual(observed);
  });
});

describe('passwordRotationTrigger values', () => {
  const refused = (trigger: unknown) => {
    const rsp = cluster('claim').request();
    rsp.observed!.composite!.resource!.spec.passwordRotationTrigger = trigger;
    return new Cluster(rsp.observed!.composite!.resource as Obj, rsp.input as Obj).reconcile().fatal;
  };
  it.each([
    ['2026-12', 'a date without a time is no Kubernetes time'],
    ['2026-12-02 21:00:00Z', 'RFC 3339 needs the T'],
    ['2026-12-02T21:00:00.5Z', 'fractions of a second are refused: each trigger must be one instant to the second'],
    ['2026-02-30T00:00:00Z', 'there is no 30 February'],
    ['2026-12-02T24:00:00Z', 'hour 24 does not exist'],
    ['2026-12-02t21:00:00z', 'Go parses only upper-case T and Z'],
    ['rotate-please', 'free text was accepted by the old schema and refused by the API server'],
  ])('refuses %j (reason: %s)', (trigger) => {
    expect(refused(trigger)).toBe('spec.passwordRotationTrigger: must be an RFC 3339 time to the second, such as 2026-12-02T21:00:00Z (got ' + JSON.stringify(trigger) + ')');
  });
});
