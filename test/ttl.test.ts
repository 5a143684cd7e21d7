/**
 * The response TTL follows the tenant's state (function/ttl.ts): short while
 * anything is pending, growing with how long it has been waiting, capped; long
 * once everything is ready; a minute for refusals. The clock is an argument.
 */
import { describe, expect, it } from 'vitest';
import { compose } from '../function/compose.js';
import { parseInput } from '../function/input.js';
import type { Case } from './support/cases.js';
import { requestFor } from '../scripts/shared/examples.js';
import { NOW } from './support/shared.js';
import { ROTATION_ANNOTATION } from '../function/passwords.js';

type Obj = Record<string, any>;
const CLAIM = { flavour: 'claim' as const, xr: 'examples/claim/production.yaml' };
const SETTLED = { ...CLAIM, observed: 'examples/claim/observed.yaml', connectionSecrets: 'examples/claim/required.yaml' };
function passwordSecret(base64Password: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'my-app-db-48be6-password', namespace: 'crossplane-system', annotations: { [ROTATION_ANNOTATION]: 'initial' } },
    data: { password: base64Password },
  };
}
/** Every composed resource observed and ready, the Role's password published: nothing pending. */
const ALL_READY: Pick<Case, 'flavour' | 'xr' | 'observed' | 'connectionSecrets' | 'observedPatch'> = {
  ...SETTLED,
  observedPatch: {
    secret: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'my-app-db-secret' } },
    'aws-secret-string': { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'my-app-db-secretsmanager' } },
    'aws-secret-version': { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    // The Role's password Secret (function/passwords.ts), holding the password the Role published.
    password: passwordSecret('ZXhhbXBsZS1nZW5lcmF0ZWQtcEBzcy93b3Jk'),
  },
};

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
/** The XR as Crossplane wrote it: Provisioned with the given status since `since`. */
const provisioned = (status: 'True' | 'False', since: number) => ({
  status: { conditions: [{ type: 'Provisioned', status, reason: status === 'True' ? 'Available' : 'Waiting', lastTransitionTime: iso(since) }] },
});
const ttl = (rsp: ReturnType<typeof compose>) => rsp.meta?.ttl;
const seconds = (s: number) => ({ seconds: s, nanos: 0 });

describe('response TTL (defaults: pending 5 s to 60 s, ready 600 s)', () => {
  // reason: a new claim must be looked at again within seconds, even when the watch events that would wake it are dropped.
  it('first request: the shortest pending TTL', () => {
    expect(ttl(compose(requestFor(CLAIM), NOW))).toEqual(seconds(5));
  });

  // reason: a tenant stuck for hours must not cost a call every few seconds; one that progresses keeps a short TTL.
  it('pending: a quarter of the time waited in the current state, between the bounds', () => {
    for (const [waited, expected] of [
      [0, 5],
      [10, 5],
      [20, 5],
      [40, 10],
      [120, 30],
      [240, 60],
      [3 * 3600, 60],
    ] as const) {
      const rsp = compose(requestFor({ ...CLAIM, xrPatch: provisioned('False', NOW - waited * 1000) }), NOW);
      expect(ttl(rsp), `pending for ${waited} s`).toEqual(seconds(expected));
    }
  });

  it('pending, but the XR says Provisioned True (it has only now turned pending), or its time is in the future: the shortest', () => {
    expect(ttl(compose(requestFor({ ...CLAIM, xrPatch: provisioned('True', NOW - 3600_000) }), NOW))).toEqual(seconds(5));
    expect(ttl(compose(requestFor({ ...CLAIM, xrPatch: provisioned('False', NOW + 3600_000) }), NOW))).toEqual(seconds(5));
  });

  // reason: once settled, Crossplane's watches report real changes; the function is asked again at most every readySeconds.
  it('all ready: the long TTL, however long ago it became ready', () => {
    const rsp = compose(requestFor({ ...ALL_READY, xrPatch: provisioned('True', NOW - 10_000) }), NOW);
    expect(rsp.desired!.composite!.resource!.status.notReady).toEqual([]);
    expect(ttl(rsp)).toEqual(seconds(600));
    expect(ttl(compose(requestFor(ALL_READY), NOW))).toEqual(seconds(600));
  });

  it('credentials not observed yet (the Role published none, nothing fetched: only the Secret rendered before has them): pending, although every object is ready', () => {
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    const data = { username: b64('u'), password: b64('p'), endpoint: b64('h'), port: b64('5432') };
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'my-app-db-secret' }, data };
    const rsp = compose(requestFor({ ...ALL_READY, connectionSecrets: undefined, observedPatch: { ...ALL_READY.observedPatch, secret, password: passwordSecret(b64('p')) } }), NOW);
    expect(rsp.results).toEqual([]);
    expect(rsp.requirements?.resources, 'the function asks for the Role connection secret').toHaveProperty('role-connection-secret');
    expect(rsp.desired!.composite!.resource!.status.notReady).toEqual([]);
    expect(ttl(rsp)).toEqual(seconds(5));
  });

  // reason: a rotation asked for is pending until the Role points at the new connection secret and provider-sql has published it.
  it('rotation pending: short, and growing while it waits', () => {
    const rotate = { spec: { passwordRotationTrigger: '2026-12-04T11:00:00Z' } };
    expect(ttl(compose(requestFor({ ...ALL_READY, patch: rotate }), NOW))).toEqual(seconds(5));
    expect(ttl(compose(requestFor({ ...ALL_READY, patch: rotate, xrPatch: provisioned('False', NOW - 120_000) }), NOW))).toEqual(seconds(30));
  });

  it('refused: a minute, whatever the state', () => {
    const rsp = compose(requestFor({ ...CLAIM, patch: { spec: { extensions: [{ name: 'plv8' }] } }, xrPatch: provisioned('False', NOW - 3600_000) }), NOW);
    expect(rsp.results.length).toBeGreaterThan(0);
    expect(ttl(rsp)).toEqual(seconds(60));
  });

  it('bounds from the function input', () => {
    const input = { ttl: { pendingMinSeconds: 2, pendingMaxSeconds: 20, readySeconds: 3600 } };
    expect(ttl(compose(requestFor({ ...CLAIM, input }), NOW))).toEqual(seconds(2));
    expect(ttl(compose(requestFor({ ...CLAIM, input, xrPatch: provisioned('False', NOW - 3600_000) }), NOW))).toEqual(seconds(20));
    expect(ttl(compose(requestFor({ ...ALL_READY, input }), NOW))).toEqual(seconds(3600));
  });

  // reason: the function is deterministic given the request and the clock.
  it('same request, same clock: same bytes; another clock changes the TTL only', () => {
    const req = () => requestFor({ ...CLAIM, xrPatch: provisioned('False', NOW - 120_000) });
    expect(JSON.stringify(compose(req(), NOW))).toBe(JSON.stringify(compose(req(), NOW)));
    const later = compose(req(), NOW + 600_000);
    const now = compose(req(), NOW);
    expect(ttl(later)).toEqual(seconds(60));
    expect(JSON.stringify({ ...later, meta: undefined })).toBe(JSON.stringify({ ...now, meta: undefined }));
  });
});

describe('ttl input validation', () => {
  const base = { apiVersion: 'tenantdb.fn.platform.io/v1beta1', kind: 'Input', secretsManager: { region: 'eu-west-1' } };
  it('defaults', () => {
    const parsed = parseInput(base) as { input: Obj };
    expect(parsed.input.ttl).toEqual({ pendingMinSeconds: 5, pendingMaxSeconds: 60, readySeconds: 600 });
  });
  it('refuses a minimum above the maximum, naming both fields', () => {
    const parsed = parseInput({ ...base, ttl: { pendingMinSeconds: 30, pendingMaxSeconds: 10 } }) as { error: string };
    expect(parsed.error).toContain('input.ttl.pendingMinSeconds: 30 is greater than input.ttl.pendingMaxSeconds (10)');
  });
  it('refuses values out of range and unknown fields', () => {
    for (const ttl of [{ pendingMinSeconds: 0 }, { pendingMaxSeconds: 7200 }, { readySeconds: 10 }, { readySeconds: 1.5 }, { jitter: 1 }]) {
      expect((parseInput({ ...base, ttl }) as { error?: string }).error, JSON.stringify(ttl)).toMatch(/ttl/);
    }
  });
});
