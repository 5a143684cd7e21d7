/**
 * A tenant's life from its first request to all-ready, replayed as Crossplane
 * v2.2.4 and provider-sql v0.16.0 would play it (../shared/SPEC.md), starting
 * from the first request real Crossplane sent
 * (../shared/fixtures/crossplane-v2.2.4/<flavour>/01-orders-observed0.json):
 *
 * - each step, what the function desired last step is observed;
 * - an object is Ready once what it needs (the table below, written from what
 *   PostgreSQL and the providers need, independently of function/order.ts)
 *   was ready when it was created; created too early, it is observed failing;
 * - the Role publishes its connection details once Ready;
 * - Crossplane writes the function's Provisioned condition onto the XR, moving
 *   its lastTransitionTime only when status, reason or message change.
 *
 * Checked: no step desires an object before what it needs is observed ready;
 * the walkthrough ends all ready; and how many distinct contents it desires
 * for each composed resource and for the XR's status, held as a budget, so a
 * later change cannot quietly add churn (each distinct content is a write,
 * and a watch event the XR's circuit breaker counts).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Status, type RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../function/compose.js';
import { FIXTURES, fixtureRequest } from '../scripts/shared/fixtures.js';
import { loadYaml, observedResources } from '../scripts/shared/request.js';
import { platformKeySecret, requestFor } from '../scripts/shared/examples.js';
import { NOW, repoPath, requireShared } from './support/shared.js';

type Obj = Record<string, any>;
type Flavour = 'claim' | 'namespaced';

/** What each composed object needs to exist and be ready before its create can succeed. */
function needsOf(key: string): string[] {
  if (key === 'role') return ['password']; // CREATE ROLE … PASSWORD from its password Secret (passwordSecretRef)
  if (key === 'database') return ['role']; // CREATE DATABASE … OWNER <role>
  if (key === 'grant-database') return ['database', 'role'];
  if (key.startsWith('extension-') || key.startsWith('schema-')) return ['database'];
  if (key === 'secret' || key === 'aws-secret-string') return ['role', 'database']; // the password, and something to log in to
  if (key === 'aws-secret-version') return ['aws-secret', 'aws-secret-string'];
  if (key === 'usage-database') return ['database'];
  if (key === 'usage-role') return ['role'];
  return [];
}

const ENDPOINT = 'aurora.example.internal';
const STEP_MS = 3_000;

interface Step {
  response: RunFunctionResponse;
  /** Keys desired for the first time in this step. */
  created: string[];
}

/** A tenant on a simulated cluster: what exists, what is ready, and the XR as Crossplane last wrote it. */
class Tenant {
  observed: Record<string, Obj> = {};
  ready = new Set<string>();
  xrStatus: Obj = {};
  clock = NOW;

  constructor(private readonly first: RunFunctionRequest) {}

  request(): RunFunctionRequest {
    const req = structuredClone(this.first);
    const xr = req.observed!.composite!.resource as Obj;
    if (Object.keys(this.xrStatus).length) xr.status = structuredClone(this.xrStatus);
    const resources: Obj = {};
    for (const [key, object] of Object.entries(this.observed)) {
      const ready = this.ready.has(key);
      const resource = structuredClone(object);
      if (resource.kind !== 'Secret' || resource.apiVersion !== 'v1') {
        resource.status = {
          conditions: ready
            ? [{ type: 'Ready', status: 'True', reason: 'Available' }, { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' }]
            : [{ type: 'Ready', status: 'False', reason: 'Creating' }, { type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'create failed' }],
        };
      }
      // provider-sql publishes the password it set: the one in the Role's password Secret.
      const published = key === 'role' && ready;
      const password = Buffer.from(String(this.observed.password?.data?.password ?? ''), 'base64').toString();
      const details = published ? { username: resource.metadata.annotations['crossplane.io/external-name'], password, endpoint: ENDPOINT, port: '5432' } : {};
      resources[key] = { resource, connectionDetails: Object.fromEntries(Object.entries(details).map(([k, v]) => [k, Buffer.from(v)])), ready: 0 };
    }
    (req.observed as Obj).resources = resources;
    // The platform key, as Crossplane's requirements loop hands it over when the function asks for it.
    req.requiredResources = { ...req.requiredResources, 'password-key': { items: [{ resource: platformKeySecret(), connectionDetails: {}, ready: 0 }] } };
    return req;
  }

  step(): Step {
    const response = compose(this.request(), this.clock);
    expect(response.results.map((r) => r.message)).toEqual([]);
    const desired = response.desired!.resources;
    const created = Object.keys(desired).filter((k) => !(k in this.observed));
    // Crossplane applies what is desired; providers create what was applied (Ready if what it needs was ready).
    const readyBefore = new Set(this.ready);
    const next: Record<string, Obj> = {};
    for (const [key, r] of Object.entries(desired)) next[key] = structuredClone(r.resource as Obj);
    this.ready = new Set(Object.keys(next).filter((k) => this.ready.has(k) || needsOf(k).every((n) => readyBefore.has(n))));
    this.observed = next;
    // Crossplane writes the desired status and the condition (lastTransitionTime moves only on a change).
    const status = structuredClone(response.desired!.composite!.resource!.status as Obj);
    const c = response.conditions[0]!;
    const prior = (this.xrStatus.conditions ?? []).find((x: Obj) => x.type === 'Provisioned');
    const condition = {
      type: c.type,
      status: c.status === Status.STATUS_CONDITION_TRUE ? 'True' : c.status === Status.STATUS_CONDITION_FALSE ? 'False' : 'Unknown',
      reason: c.reason,
      message: c.message,
    };
    const same = prior && prior.status === condition.status && prior.reason === condition.reason && prior.message === condition.message;
    const stamp = new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.xrStatus = { ...status, conditions: [{ ...condition, lastTransitionTime: same ? prior.lastTransitionTime : stamp }] };
    this.clock += STEP_MS;
    return { response, created };
  }
}

const allReady = (r: RunFunctionResponse) => r.conditions[0]?.status === Status.STATUS_CONDITION_TRUE;

/** Distinct desired contents over a walkthrough, per composed key and for the XR's status. */
function churn(steps: Step[]): Record<string, number> {
  const seen: Record<string, Set<string>> = {};
  const add = (key: string, value: unknown) => (seen[key] ??= new Set()).add(JSON.stringify(value));
  for (const { response } of steps) {
    for (const [key, r] of Object.entries(response.desired!.resources)) add(key, r.resource);
    const c = response.conditions[0]!;
    add('XR status', { status: response.desired!.composite!.resource!.status, condition: [c.status, c.reason, c.message] });
  }
  return Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v.size]).sort(([a], [b]) => String(a).localeCompare(String(b))));
}

/**
 * The budget, first request to all ready (six reconciles: the Role's password Secret, AWS secret and
 * XR/claim Usages; the Role; the Database; the Grant and the Database's Usage and the Secrets; the AWS SecretVersion; all
 * ready): every composed resource is desired with one content only (created once, never
 * rewritten), and the XR's status changes once per step, each time because something it names
 * changed.
 */
const ONCE_EACH = { password: 1, 'aws-secret': 1, 'aws-secret-string': 1, 'aws-secret-version': 1, database: 1, 'grant-database': 1, role: 1, secret: 1, 'usage-database': 1, 'usage-role': 1, 'usage-xr': 1 };
const BUDGET: Record<Flavour, { steps: number; churn: Record<string, number> }> = {
  claim: { steps: 6, churn: { 'XR status': 6, ...ONCE_EACH, 'usage-claim': 1 } },
  namespaced: { steps: 6, churn: { 'XR status': 6, ...ONCE_EACH } },
};

describe('walkthrough: first request to all ready, as Crossplane v2.2.4 would send it', () => {
  const present = requireShared(FIXTURES);
  for (const flavour of ['claim', 'namespaced'] as const) {
    it.runIf(present)(`${flavour}: creates nothing before what it needs is ready, ends all ready, within its churn budget`, () => {
      const tenant = new Tenant(fixtureRequest(join(FIXTURES, flavour, '01-orders-observed0.json')));
      const steps: Step[] = [];
      for (let i = 0; i < 12 && !(steps.length && allReady(steps[steps.length - 1]!.response)); i++) {
        const readyBefore = new Set(tenant.ready);
        const step = tenant.step();
        for (const key of step.created) {
          for (const need of needsOf(key)) expect(readyBefore.has(need), `step ${i + 1}: ${key} created before ${need} was ready`).toBe(true);
        }
        // Pending: the shortest TTL.
        if (!allReady(step.response)) expect(step.response.meta?.ttl?.seconds, `step ${i + 1}: ttl while pending`).toBe(5);
        steps.push(step);
      }
      const last = steps[steps.length - 1]!.response;
      expect(allReady(last), last.conditions[0]?.message).toBe(true);
      expect(last.meta?.ttl?.seconds, 'all ready: the long TTL').toBe(600);
      expect([...tenant.ready].sort(), 'every object ready').toEqual(Object.keys(tenant.observed).sort());

      // Settled: two more reconciles learn nothing and return the same bytes (quiet writes).
      const settledA = tenant.step().response;
      const settledB = tenant.step().response;
      expect(JSON.stringify(settledB.desired)).toBe(JSON.stringify(settledA.desired));
      expect(JSON.stringify(settledA.desired)).toBe(JSON.stringify(last.desired));
      expect(settledB.conditions).toEqual(last.conditions);

      expect({ steps: steps.length, churn: churn(steps) }).toEqual(BUDGET[flavour]);
    });
  }
});

describe('ordering applies to creation only', () => {
  // reason: leaving an observed object out of the desired state makes Crossplane delete it.
  it('an observed Database whose Role is momentarily not ready stays desired, unchanged', () => {
    const base = { flavour: 'claim' as const, xr: 'examples/claim/production.yaml', observed: 'examples/claim/observed.yaml', connectionSecrets: 'examples/claim/required.yaml' };
    const ready = compose(requestFor(base), NOW);
    const unready = compose(
      requestFor({ ...base, observedPatch: { role: { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ReconcileError' }, { type: 'Synced', status: 'False', reason: 'ReconcileError', message: 'connection refused' }] } } } }),
      NOW,
    );
    expect(Object.keys(unready.desired!.resources)).toEqual(Object.keys(ready.desired!.resources));
    for (const key of ['database', 'grant-database', 'extension-pgcrypto', 'usage-database', 'secret']) {
      expect(unready.desired!.resources[key]?.resource, key).toEqual(ready.desired!.resources[key]!.resource);
    }
    expect(unready.desired!.composite!.resource!.status.notReady).toEqual(
      expect.arrayContaining(['Role my-app-db-48be6-role (ReconcileError: connection refused)']),
    );
  });
});

describe('upgrade safety', () => {
  /** What today's version (before ordered creation) composed for the examples once the password was published. */
  const TODAY: Record<Flavour, { xr: string; keys: string[] }> = {
    claim: {
      xr: 'examples/claim/production.yaml',
      keys: ['aws-secret', 'aws-secret-string', 'aws-secret-version', 'database', 'extension-pgcrypto', 'grant-database', 'role', 'secret', 'usage-claim', 'usage-database', 'usage-role', 'usage-xr'],
    },
    namespaced: {
      xr: 'examples/namespaced/tenantdatabase.yaml',
      keys: ['aws-secret', 'aws-secret-string', 'aws-secret-version', 'database', 'grant-database', 'role', 'schema-reporting', 'secret', 'usage-database', 'usage-role', 'usage-xr'],
    },
  };
  for (const flavour of ['claim', 'namespaced'] as const) {
    // reason: a tenant created before ordered creation must not lose (or rename) anything on upgrade.
    it(`${flavour}: a tenant created by today's version keeps exactly its composed set and names, none withheld`, () => {
      const secrets = loadYaml(repoPath(`examples/${flavour}/required.yaml`));
      const observed = observedResources(loadYaml(repoPath(`examples/${flavour}/observed.yaml`)), secrets);
      // The credential copies today's version rendered too, whatever their state.
      const rendered = compose(requestFor({ flavour, xr: TODAY[flavour].xr, observed: `examples/${flavour}/observed.yaml`, connectionSecrets: `examples/${flavour}/required.yaml`, observedReady: ['aws-secret-string'] }), NOW);
      for (const key of ['secret', 'aws-secret-string', 'aws-secret-version']) {
        observed[key] = { resource: { ...(rendered.desired!.resources[key]!.resource as Obj) }, connectionDetails: {}, ready: 0 };
      }
      // And nothing is ready right now (a database server restart, say): still nothing is withheld.
      for (const o of Object.values(observed)) (o.resource).status = { conditions: [{ type: 'Ready', status: 'False', reason: 'Unavailable' }] };
      expect(Object.keys(observed).sort()).toEqual(TODAY[flavour].keys);
      const rsp = compose(requestFor({ flavour, xr: TODAY[flavour].xr, observed: `examples/${flavour}/observed.yaml`, connectionSecrets: `examples/${flavour}/required.yaml`, observedPatch: Object.fromEntries(Object.entries(observed).map(([k, o]) => [k, o.resource])) }), NOW);
      expect(rsp.results).toEqual([]);
      const desired = rsp.desired!.resources;
      // Plus the Role's password Secret, pinned to the password the Role has (function/passwords.ts); nothing for
      // backups, which stay off until the platform turns them on.
      expect(Object.keys(desired).sort()).toEqual([...TODAY[flavour].keys, 'password'].sort());
      // reason: backups are the platform's opt-in; turned on, they add their two objects and nothing else.
      const withBackups = compose(requestFor({ flavour, xr: TODAY[flavour].xr, backups: true, observed: `examples/${flavour}/observed.yaml`, connectionSecrets: `examples/${flavour}/required.yaml`, observedPatch: Object.fromEntries(Object.entries(observed).map(([k, o]) => [k, o.resource])) }), NOW);
      expect(Object.keys(withBackups.desired!.resources).sort()).toEqual([...TODAY[flavour].keys, 'password', 'backup-serviceaccount', 'backup-cronjob'].sort());
      for (const [key, o] of Object.entries(observed)) {
        const d = desired[key]!.resource as Obj;
        const r = o.resource;
        expect({ kind: d.kind, name: d.metadata.name, external: d.metadata.annotations?.['crossplane.io/external-name'] }, key).toEqual({
          kind: r.kind,
          name: r.metadata.name,
          external: r.metadata.annotations?.['crossplane.io/external-name'],
        });
      }
      expect(rsp.desired!.composite!.resource!.status.notReady.some((s: string) => s.includes('waiting for')), 'nothing is held back').toBe(false);
    });
  }
});
