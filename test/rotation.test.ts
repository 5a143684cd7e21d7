/**
 * Password rotation end to end, through the reconciles a real cluster goes
 * through (test/support/cluster.ts): a later passwordRotationTrigger renames
 * the Roles' connection secrets, provider-sql answers a secret it has not
 * written with a new password, and the function carries it into the Secrets
 * apps read and the AWS copies — while nothing else changes.
 */
import { describe, expect, it } from 'vitest';
import type { RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { requestFor } from './support/cases.js';
import { Cluster, secretValue } from './support/cluster.js';
import { SECRET_STRING_CHECKSUM } from '../function/resources/secretsmanager.js';

type Obj = Record<string, any>;

function cluster(flavour: 'claim' | 'namespaced', spec: Obj = {}): Cluster {
  const xr = flavour === 'claim' ? 'examples/claim/production.yaml' : 'examples/namespaced/tenantdatabase.yaml';
  const req = requestFor({ flavour, xr, patch: { spec } });
  return new Cluster(req.observed!.composite!.resource as Obj, req.input as Obj);
}

/** Provision fully: reconciles until every object exists (created in order) and the Secrets hold the password. */
function provisioned(c: Cluster): RunFunctionResponse {
  const { response } = c.converge();
  expect(secretValue(response, 'secret', 'password')).toBeDefined();
  return response;
}

const resource = (rsp: RunFunctionResponse, key: string) => rsp.desired!.resources[key]!.resource as Obj;
const awsJson = (rsp: RunFunctionResponse, key = 'aws-secret-string') => JSON.parse(secretValue(rsp, key, 'secretString')!);

/** Everything but what a rotation may change: the Roles' connection secret, the credential Secrets, the version checksum. */
function unchangedPart(rsp: RunFunctionResponse): Obj {
  const out: Obj = {};
  for (const [key, r] of Object.entries(rsp.desired!.resources)) {
    const object = structuredClone(r.resource as Obj);
    if (object.kind === 'Role') delete object.spec.writeConnectionSecretToRef;
    if (object.kind === 'Secret' && object.apiVersion === 'v1') delete object.data;
    delete object.metadata?.annotations?.[SECRET_STRING_CHECKSUM];
    out[key] = object;
  }
  return out;
}

describe.each(['claim', 'namespaced'] as const)('password rotation (%s flavour)', (flavour) => {
  it('a later trigger gives the tenant a new password that logs in, in the Secret and the AWS copy; nothing else changes (reason: issue 10, rotation that rotates)', () => {
    const c = cluster(flavour, { readOnlyRole: true });
    const before = provisioned(c);
    const role = resource(before, 'role').metadata.annotations['crossplane.io/external-name'];
    const oldPassword = secretValue(before, 'secret', 'password')!;
    expect(oldPassword).toBe(c.passwords.get(role));

    c.xr.spec.passwordRotationTrigger = '2026-12-02T21:00:00Z';
    const switched = c.reconcile().response;
    // The Role now names a connection secret provider-sql has not written: it generates a new password.
    expect(resource(switched, 'role').spec.writeConnectionSecretToRef.name).toMatch(/-role-connection-20261202t210000z$/);
    expect(resource(switched, 'readonly-role').spec.writeConnectionSecretToRef.name).toMatch(/-readonly-role-connection-20261202t210000z$/);
    expect(resource(switched, 'role').spec.forProvider.passwordRotationTrigger, "provider-sql's own trigger does nothing for a generated password").toBeUndefined();

    const after = c.reconcile().response;
    const newPassword = secretValue(after, 'secret', 'password')!;
    expect(newPassword).not.toBe(oldPassword);
    expect(newPassword, 'the Secret holds the password the role accepts now').toBe(c.passwords.get(role));
    expect(secretValue(after, 'secret', 'uri')).toContain(encodeURIComponent(newPassword));
    expect(awsJson(after).password, 'the AWS copy follows').toBe(newPassword);
    expect(resource(after, 'aws-secret-version').metadata.annotations[SECRET_STRING_CHECKSUM], 'the SecretVersion changes, so the AWS provider copies it at once').not.toBe(
      resource(before, 'aws-secret-version').metadata.annotations[SECRET_STRING_CHECKSUM],
    );
    const reader = resource(after, 'readonly-role').metadata.annotations['crossplane.io/external-name'];
    expect(secretValue(after, 'readonly-secret', 'password'), 'the read-only role is rotated too').toBe(c.passwords.get(reader));
    expect(secretValue(after, 'readonly-secret', 'password')).not.toBe(secretValue(before, 'readonly-secret', 'password'));

    expect(unchangedPart(after), 'database, roles, grants, names and protection are untouched').toEqual(unchangedPart(before));
    expect(after.desired!.composite!.resource!.status).toMatchObject({ passwordChangedAt: expect.any(String) });

    // Settled: further reconciles change nothing and ask Crossplane for nothing more.
    const again = c.reconcile();
    expect(again.calls).toHaveLength(1);
    expect(JSON.stringify(again.response.desired)).toBe(JSON.stringify(after.desired));
  });

  it('keeps the old, still valid password while provider-sql has not written the new secret, asking Crossplane for it meanwhile (reason: the Secret is never emptied)', () => {
    const c = cluster(flavour);
    const before = provisioned(c);
    c.xr.spec.passwordRotationTrigger = '2026-12-02T21:00:00Z';
    c.reconcile({ providerLag: true });
    // The observed Role names the new secret, which does not exist yet: no connection details.
    const waiting = c.reconcile({ providerLag: true });
    expect(waiting.calls, 'the function asks for the new connection secret').toHaveLength(2);
    expect(Object.values(waiting.calls[0]!.requirements!.resources).map((r) => r.matchName)).toEqual([
      resource(waiting.response, 'role').spec.writeConnectionSecretToRef.name,
    ]);
    expect(secretValue(waiting.response, 'secret', 'password')).toBe(secretValue(before, 'secret', 'password'));
    c.settle();
    const after = c.reconcile().response;
    expect(secretValue(after, 'secret', 'password')).not.toBe(secretValue(before, 'secret', 'password'));
  });

  it('the same instant written in another offset, or removing the trigger, rotates nothing (reason: only a later time is a new rotation)', () => {
    const c = cluster(flavour, { passwordRotationTrigger: '2026-12-02T21:00:00Z' });
    const before = provisioned(c);
    const password = secretValue(before, 'secret', 'password');
    c.xr.spec.passwordRotationTrigger = '2026-12-02T22:00:00+01:00';
    expect(secretValue(c.reconcile().response, 'secret', 'password')).toBe(password);
    delete c.xr.spec.passwordRotationTrigger;
    const removed = c.reconcile().response;
    expect(secretValue(removed, 'secret', 'password')).toBe(password);
    expect(resource(removed, 'role').spec.writeConnectionSecretToRef.name).toMatch(/-20261202t210000z$/);
  });

  it('refuses a trigger earlier than the last rotation, naming the field, and changes nothing (reason: an old secret name would bring back a password that no longer works)', () => {
    const c = cluster(flavour, { passwordRotationTrigger: '2026-12-02T21:00:00Z' });
    provisioned(c);
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
