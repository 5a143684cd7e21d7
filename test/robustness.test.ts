/**
 * Robustness of compose(): malformed requests of every kind get a Fatal
 * result that names the field and no desired resources; random specs and
 * inputs (property-based, fast-check) either render objects valid against the
 * real CRDs or fail cleanly; output is deterministic whatever the key order;
 * data-holding resources and their names survive any sequence of changes;
 * no two tenants share an identifier.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RunFunctionResponse, Severity, type RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../function/compose.js';
import { EXTERNAL_NAME } from '../function/observe.js';
import { specSchema } from '../function/spec.js';
import { tenantIdentifier } from '../function/naming.js';
import { requestFor, SECOND_RECONCILE } from './support/cases.js';
import { CrdValidator } from './support/crds.js';
import { CRDS, NOW, requireShared } from './support/shared.js';

const haveCrds = requireShared(CRDS);
const crds = haveCrds ? new CrdValidator(['provider-sql', 'provider-aws-secretsmanager', 'crossplane'].map((d) => join(CRDS, d))) : undefined;
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

const claimRequest = () => requestFor({ flavour: 'claim', xr: 'examples/claim/production.yaml' });
const namespacedRequest = () => requestFor({ flavour: 'namespaced', xr: 'examples/namespaced/tenantdatabase.yaml' });
const xrOf = (req: RunFunctionRequest) => req.observed!.composite!.resource!;

function fatalOf(rsp: RunFunctionResponse): string | undefined {
  const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
  return fatal.length === 1 ? fatal[0]!.message : undefined;
}

/** The contract for bad input: exactly one Fatal naming the field, and nothing desired. */
function expectRefused(req: RunFunctionRequest, field: string): void {
  const rsp = compose(req, NOW);
  expect(fatalOf(rsp), `a Fatal naming ${field}`).toContain(field);
  expect(Object.keys(rsp.desired?.resources ?? {})).toEqual([]);
  expect(rsp.desired?.composite).toBeUndefined();
}

describe('malformed requests', () => {
  const cases: { reason: string; field: string; mutate: (req: RunFunctionRequest) => void }[] = [
    { reason: 'no observed XR at all', field: 'observed composite resource', mutate: (r) => (r.observed = undefined) },
    { reason: 'an observed XR without a body', field: 'observed composite resource', mutate: (r) => (r.observed!.composite!.resource = undefined) },
    { reason: 'an XR of another API', field: 'apiVersion', mutate: (r) => (xrOf(r).apiVersion = 'example.org/v1') },
    { reason: 'an XR without spec', field: 'spec', mutate: (r) => delete xrOf(r).spec },
    { reason: 'a spec that is a string', field: 'spec', mutate: (r) => (xrOf(r).spec = 'deletionProtection: false') },
    { reason: 'an empty name', field: 'metadata.name', mutate: (r) => (xrOf(r).metadata.name = '') },
    { reason: 'a 300-character name', field: 'metadata.name', mutate: (r) => (xrOf(r).metadata.name = 'a'.repeat(300)) },
    { reason: 'a name with a quote', field: 'metadata.name', mutate: (r) => (xrOf(r).metadata.name = "db'; DROP DATABASE x; --") },
    { reason: 'a name with a semicolon', field: 'metadata.name', mutate: (r) => (xrOf(r).metadata.name = 'a;b') },
    { reason: 'a name with NUL', field: 'metadata.name', mutate: (r) => (xrOf(r).metadata.name = 'a\u0000b') },
    { reason: 'a name with emoji', field: 'metadata.name', mutate: (r) => (xrOf(r).metadata.name = 'db-🐘') },
    { reason: 'a name in mixed scripts', field: 'metadata.name', mutate: (r) => (xrOf(r).metadata.name = 'dаtabase') },
    {
      reason: 'a namespace with upper case',
      field: 'must be a namespace name',
      mutate: (r) => {
        const meta = xrOf(r).metadata;
        if (meta.labels) meta.labels['crossplane.io/claim-namespace'] = 'Team';
        else meta.namespace = 'Team';
      },
    },
    { reason: 'a name that is a number', field: 'metadata.name', mutate: (r) => (xrOf(r).metadata.name = 42) },
    { reason: 'an extension outside the allow-list', field: 'spec.extensions[0].name', mutate: (r) => (xrOf(r).spec.extensions = [{ name: 'adminpack' }]) },
    { reason: 'an extension name with SQL in it', field: 'spec.extensions[0].name', mutate: (r) => (xrOf(r).spec.extensions = [{ name: 'x"; DROP' }]) },
    { reason: 'a schema name with a quote', field: 'spec.schemas[0]', mutate: (r) => (xrOf(r).spec.schemas = ['a"b']) },
    { reason: 'the reserved public schema', field: 'spec.schemas[0]', mutate: (r) => (xrOf(r).spec.schemas = ['public']) },
    { reason: 'an unknown enum value', field: 'spec.dbDeletionPolicy', mutate: (r) => (xrOf(r).spec.dbDeletionPolicy = 'orphan') },
    { reason: 'a 4 MB list', field: 'spec.schemas', mutate: (r) => (xrOf(r).spec.schemas = Array.from({ length: 400_000 }, (_, i) => `s${i}`)) },
    { reason: 'a 4 MB string', field: 'spec.passwordRotationTrigger', mutate: (r) => (xrOf(r).spec.passwordRotationTrigger = 'x'.repeat(4 << 20)) },
    {
      reason: 'a deeply nested struct',
      field: 'spec.secretsManager',
      mutate: (r) => {
        const root: Record<string, unknown> = {};
        let node = root;
        for (let i = 0; i < 50_000; i++) node = (node.x = {}) as Record<string, unknown>;
        xrOf(r).spec.secretsManager = root;
      },
    },
    { reason: 'no function input', field: 'input', mutate: (r) => (r.input = undefined) },
    { reason: 'a function input of another kind', field: 'input.kind', mutate: (r) => (r.input!.kind = 'Other') },
    { reason: 'a function input with a wrong type', field: 'input.allowedExtensions', mutate: (r) => (r.input!.allowedExtensions = 'pgcrypto') },
    { reason: 'a template without the namespace', field: 'input.naming.databaseTemplate', mutate: (r) => (r.input!.naming = { databaseTemplate: '{name}' }) },
    { reason: 'a template with an unknown placeholder', field: 'input.naming.roleTemplate', mutate: (r) => (r.input!.naming = { roleTemplate: '{namespace}_{name}_{uid}' }) },
  ];
  for (const key of Object.keys(specSchema.properties)) {
    const wrong = (specSchema.properties as Record<string, { type: string }>)[key]!.type === 'string' ? 42 : 'not-a-value';
    cases.push({ reason: `a wrong type for spec.${key}`, field: `spec.${key}`, mutate: (r) => (xrOf(r).spec[key] = wrong) });
  }
  for (const c of cases) {
    it(`refuses ${c.reason}`, () => {
      for (const req of [claimRequest(), namespacedRequest()]) {
        c.mutate(req);
        expectRefused(req, c.field);
      }
    });
  }

  it('refuses a pass-through resource nested deeper than it can sort', () => {
    const req = claimRequest();
    let node: Record<string, unknown> = {};
    const root = node;
    for (let i = 0; i < 20_000; i++) node = (node.x = {}) as Record<string, unknown>;
    req.desired!.resources.other = { resource: root, connectionDetails: {}, ready: 0 };
    expectRefused(req, 'desired.resources["other"]');
  });

  it('passes through what earlier pipeline steps desired', () => {
    const req = claimRequest();
    const other = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-an-earlier-step' } };
    req.desired!.resources.other = { resource: other, connectionDetails: {}, ready: 1 };
    const rsp = compose(req, NOW);
    expect(fatalOf(rsp)).toBeUndefined();
    expect(rsp.desired!.resources.other).toEqual({ resource: other, connectionDetails: {}, ready: 1 });
  });
});

/** Arbitrary values for a spec field: mostly plausible ones, sometimes anything at all. */
const anything = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.double(), fc.array(fc.string(), { maxLength: 3 }));
/** Mostly a plausible value, sometimes anything at all: enough valid requests to check renders too. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: anything });
const policy = mostly(fc.constantFrom('Orphan', 'Delete'));
const sqlName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,62}$/);
const specArb = fc.record(
  {
    deletionProtection: mostly(fc.boolean()),
    roleDeletionPolicy: policy,
    dbDeletionPolicy: policy,
    extensions: mostly(
      fc.uniqueArray(fc.record({ name: fc.constantFrom('pgcrypto', 'uuid-ossp', 'pg_trgm', 'citext', 'postgis') }), {
        maxLength: 4,
        selector: (e) => e.name,
      }),
    ),
    schemas: mostly(fc.uniqueArray(sqlName, { maxLength: 4 })),
    connectionLimit: mostly(fc.integer({ min: -5, max: 20_000 })),
    encoding: mostly(fc.constantFrom('UTF8', 'LATIN1', 'SQL_ASCII')),
    passwordRotationTrigger: mostly(
      fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')),
    ),
    readOnlyRole: mostly(fc.boolean()),
    secretsManager: mostly(fc.record({ enabled: mostly(fc.boolean()), deletionPolicy: policy }, { requiredKeys: [] })),
    unknownField: anything,
  },
  { requiredKeys: [] },
);
const inputArb = fc.record(
  {
    allowedExtensions: mostly(fc.constantFrom(['pgcrypto', 'uuid-ossp', 'pg_trgm', 'citext'], ['pgcrypto', 'uuid-ossp', 'pg_trgm', 'citext', 'postgis'])),
    naming: mostly(
      fc.record({ databaseTemplate: fc.constantFrom('{namespace}_{name}', 'db_{name}_{namespace}', '{namespace}{name}', '{name}', 'x{y}') }, { requiredKeys: [] }),
    ),
    secretsManager: mostly(
      fc.record({ region: fc.constantFrom('eu-west-1', 'us-east-2', 'ap-southeast-2', 'mars'), recoveryWindowInDays: fc.integer({ min: 5, max: 32 }) }, { requiredKeys: ['region'] }),
    ),
    sql: mostly(fc.record({ sslMode: fc.constantFrom('require', 'verify-full', 'disable', 'none') }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);
const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const nameArb = fc.oneof({ weight: 4, arbitrary: dnsLabel }, { weight: 1, arbitrary: fc.string({ maxLength: 300 }) });

describe.skipIf(!haveCrds)('fuzzing (property-based)', () => {
  it(`renders valid objects or fails cleanly for ${FUZZ_RUNS} random specs, inputs and names`, () => {
    // The Role and the Database exist already, so that every kind is rendered (objects are created in order: function/order.ts).
    const base = {
      claim: requestFor({ flavour: 'claim', xr: 'examples/claim/production.yaml', observedReady: ['role', 'database'] }),
      namespaced: requestFor({ flavour: 'namespaced', xr: 'examples/namespaced/tenantdatabase.yaml', observedReady: ['role', 'database'] }),
    };
    let rendered = 0;
    fc.assert(
      fc.property(fc.constantFrom('claim', 'namespaced') as fc.Arbitrary<'claim' | 'namespaced'>, specArb, inputArb, nameArb, (flavour, spec, inputPatch, name) => {
        const req = structuredClone(base[flavour]);
        const xr = xrOf(req);
        xr.spec = spec;
        if (flavour === 'namespaced') xr.metadata.name = name;
        else xr.metadata.labels['crossplane.io/claim-name'] = name;
        req.input = { ...req.input, ...inputPatch };
        let rsp: RunFunctionResponse;
        try {
          rsp = compose(req, NOW);
        } catch (error) {
          throw new Error(`compose threw: ${String(error)}`);
        }
        const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
        if (fatal.length) {
          expect(fatal).toHaveLength(1);
          expect(fatal[0]!.message).toMatch(/^(spec|input|metadata|observed)/);
          expect(rsp.results.map((r) => r.severity), 'a Warning for the claim, then the Fatal').toEqual([Severity.SEVERITY_WARNING, Severity.SEVERITY_FATAL]);
          expect(rsp.conditions[0]?.message).toBe(fatal[0]!.message);
          expect(Object.keys(rsp.desired?.resources ?? {})).toEqual([]);
          return;
        }
        rendered += 1;
        const desired = rsp.desired!.resources;
        expect(desired.database && desired.role).toBeTruthy();
        for (const r of Object.values(desired)) expect(crds!.errors(r.resource!)).toEqual([]);
      }),
      { numRuns: FUZZ_RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261125) },
    );
    expect(rendered, 'some random requests must be valid, or the property proves little').toBeGreaterThan(FUZZ_RUNS / 20);
  }, 600_000);
});

/** Shuffle the key order of every object in a value. */
function shuffled<T>(value: T, random: () => number): T {
  if (Array.isArray(value)) return value.map((v) => shuffled(v, random)) as T;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const entries = Object.entries(value as Record<string, unknown>);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffled(v, random)])) as T;
}

describe('determinism', () => {
  it('gives byte-identical responses for the same request, twice and with keys shuffled', () => {
    const requests = [
      requestFor({ flavour: 'claim', xr: 'examples/claim/production.yaml', ...SECOND_RECONCILE.claim }),
      requestFor({ flavour: 'namespaced', xr: 'examples/namespaced/tenantdatabase.yaml', ...SECOND_RECONCILE.namespaced }),
    ];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.integer(), (which, seed) => {
        const req = requests[which]!;
        let state = seed;
        const random = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
        const bytes = (r: RunFunctionRequest) => Buffer.from(RunFunctionResponse.encode(compose(r, NOW)).finish());
        const once = bytes(req);
        expect(bytes(req).equals(once)).toBe(true);
        expect(bytes(shuffled(req, random)).equals(once)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('no data-holding resource ever disappears', () => {
  const validSpec = fc.record({
    deletionProtection: fc.boolean(),
    roleDeletionPolicy: fc.constantFrom('Orphan', 'Delete'),
    dbDeletionPolicy: fc.constantFrom('Orphan', 'Delete'),
    extensions: fc.subarray([{ name: 'pgcrypto' }, { name: 'citext' }, { name: 'pg_trgm' }]),
    schemas: fc.subarray(['reporting', 'audit']),
    secretsManager: fc.record({ enabled: fc.boolean() }),
    connectionLimit: fc.integer({ min: -1, max: 100 }),
  });
  const template = fc.constantFrom('{namespace}_{name}', 'db_{namespace}_{name}', 'tenant_{name}_{namespace}');

  it('keeps the Database, the Role and their names through any sequence of spec and template changes', () => {
    fc.assert(
      fc.property(fc.constantFrom('claim', 'namespaced'), fc.array(fc.tuple(validSpec, template), { minLength: 3, maxLength: 8 }), (flavour, steps) => {
        const base = flavour === 'claim' ? claimRequest() : namespacedRequest();
        let observed: RunFunctionRequest['observed'] = base.observed;
        let names: { database?: string; role?: string } = {};
        for (const [spec, databaseTemplate] of steps) {
          const req = structuredClone(base);
          req.observed = structuredClone(observed);
          req.observed!.composite!.resource!.spec = spec;
          req.input = { ...req.input, naming: { databaseTemplate, roleTemplate: databaseTemplate } };
          const rsp = compose(req, NOW);
          expect(fatalOf(rsp)).toBeUndefined();
          const desired = rsp.desired!.resources;
          // Created in order (function/order.ts); once created, always desired again.
          expect(desired.role, 'role is always desired').toBeDefined();
          for (const key of ['database', 'grant-database']) if (key in observed!.resources) expect(desired[key], `${key} is always desired once it exists`).toBeDefined();
          const now = {
            database: desired.database?.resource!.metadata.annotations[EXTERNAL_NAME] ?? names.database,
            role: desired.role!.resource!.metadata.annotations[EXTERNAL_NAME],
          };
          if (names.role) expect(now.role).toBe(names.role);
          if (names.database) expect(now.database).toBe(names.database);
          names = now;
          // What Crossplane observes next: everything just desired now exists, and is ready.
          const resources: Record<string, any> = {};
          for (const [key, r] of Object.entries(desired)) {
            resources[key] = { resource: { ...r.resource, status: { conditions: [{ type: 'Ready', status: 'True' }] } }, connectionDetails: {}, ready: 0 };
          }
          observed = { composite: req.observed!.composite, resources };
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('isolation between tenants', () => {
  it('never gives two (namespace, name) pairs the same identifier, and keeps every one within 63 bytes of [a-z0-9_]', () => {
    const pairs = fc.sample(fc.tuple(dnsLabel, fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,80}[a-z0-9])?$/)), { numRuns: 20_000, seed: 7 });
    const owner = new Map<string, string>();
    for (const [namespace, name] of pairs) {
      const id = tenantIdentifier('{namespace}_{name}', namespace, name);
      expect(id).toMatch(/^[a-z][a-z0-9_]{0,62}$/);
      const who = `${namespace}/${name}`;
      const prior = owner.get(id);
      if (prior !== undefined) expect(prior, `${who} and ${prior} share ${id}`).toBe(who);
      owner.set(id, who);
    }
    expect(owner.size).toBeGreaterThan(15_000);
  });
});
