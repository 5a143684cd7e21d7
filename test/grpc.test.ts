/**
 * The shipped server (dist/function/main.js, built by `pretest`) over real
 * gRPC, spoken to by a client generated independently from Crossplane's
 * protocol file (../shared/proto/run_function.proto) with proto-loader: what
 * Crossplane sees on the wire, not what the SDK's own codec believes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { example, EXAMPLES, type Flavour } from '../scripts/shared/examples.js';
import { repoPath } from '../scripts/shared/paths.js';
import { loadYaml, type Obj } from '../scripts/shared/request.js';
import { compose } from '../function/compose.js';
import {
  PROTO_PATH,
  fromWireResponse,
  loadWire,
  protoPresent,
  toWireRequest,
  type PlainResponse,
  type Wire,
  type WireClient,
} from './support/wire.js';

// startFunction() spawns the compiled server, dist/function/main.js (built by `pretest`).
import { startFunction } from '../scripts/shared/client.js';
import { NOW } from './support/shared.js';
type RunningFunction = Awaited<ReturnType<typeof startFunction>>;

const SERVER_TIMEOUT = 20_000;
/**
 * A fresh SDK-form request each call (compose() must not be able to affect a
 * later request through shared objects). Observed: the second reconcile, the
 * Role carrying its connection details as real Crossplane passes them.
 */
function request(flavour: Flavour, opts: { observed?: boolean; xrPatch?: Obj } = {}) {
  return example(flavour, opts.observed ?? false, opts.xrPatch && { xrPatch: opts.xrPatch });
}

/** The generated password, read from the Role's connection secret of the example. */
function observedPassword(flavour: Flavour): string {
  const secret = loadYaml(repoPath(EXAMPLES[flavour].connectionSecrets)).find(
    (d) => d.apiVersion === 'v1' && d.kind === 'Secret' && /-role-connection$/.test(d.metadata?.name ?? ''),
  );
  const encoded = secret?.data?.password;
  if (typeof encoded !== 'string') throw new Error(`${EXAMPLES[flavour].connectionSecrets} has no Role connection secret with a password`);
  return Buffer.from(encoded, 'base64').toString('utf8');
}

const PASSWORD = 'example-generated-p@ss/word';
const decode = (b64: unknown) => Buffer.from(String(b64), 'base64').toString('utf8');

const present = protoPresent();
if (!present) {
  const why = `the gRPC protocol file ${PROTO_PATH} is missing, so the server cannot be tested over the wire`;
  if (process.env.CI === 'true') {
    describe('function over gRPC (prerequisites)', () => {
      // reason: in CI a missing protocol file must be a visible failure, not a silent skip of every wire test.
      it('needs the shared protocol file', () => {
        throw new Error(`${why}; CI=true, so this is a failure rather than a skip`);
      });
    });
  } else {
    console.warn(`[grpc.test] skipping the wire tests: ${why} (set CI=true to make this a failure)`);
  }
}

describe.skipIf(!present)('function over gRPC, independent proto-loader client', () => {
  let wire: Wire;
  let fn: RunningFunction | undefined;
  let client: WireClient | undefined;

  beforeAll(async () => {
    wire = loadWire();
    fn = await startFunction();
    client = wire.connect(fn.address);
  }, SERVER_TIMEOUT);

  afterAll(async () => {
    client?.close();
    await fn?.stop();
  }, SERVER_TIMEOUT);

  /** Send an SDK-form request over the wire; the decoded response as plain JSON, and in-process compose() of the same request in the same shape. */
  async function roundTrip(build: () => ReturnType<typeof request>): Promise<{ wired: PlainResponse; local: PlainResponse }> {
    const wired = fromWireResponse(await client!.run(toWireRequest(build())));
    const local = wire.fromSdkResponse(compose(build(), NOW));
    return { wired, local };
  }

  function expectSameAsInProcess(wired: PlainResponse, local: PlainResponse) {
    expect(Object.keys(wired.desired.resources)).toEqual(Object.keys(local.desired.resources));
    for (const [key, resource] of Object.entries(local.desired.resources)) {
      expect(wired.desired.resources[key], `desired resource ${key}`).toEqual(resource);
    }
    expect(wired.desired.composite).toEqual(local.desired.composite);
    expect(wired.results).toEqual(local.results);
    expect(wired.conditions).toEqual(local.conditions);
  }

  // reason: Crossplane only ever sees what crosses the wire, so the shipped process must render the full claim set exactly as compose() does.
  it('a. first reconcile of the claim renders every object, identical to compose() in-process', async () => {
    const { wired, local } = await roundTrip(() => request('claim'));
    const keys = Object.keys(wired.desired.resources);
    // Created in order (function/order.ts): first what needs nothing else. The Role waits for its password
    // Secret, whose password waits for the platform key asked for here (function/passwords.ts).
    expect(keys.sort()).toEqual(['aws-secret', 'usage-claim', 'usage-xr']);
    expect(Object.keys(wired.requirements?.resources ?? {})).toEqual(['password-key']);
    expectSameAsInProcess(wired, local);
    // Nothing is observed yet, so nothing can be ready.
    for (const [key, r] of Object.entries(wired.desired.resources)) expect(r.ready, `ready of ${key}`).toBe('READY_FALSE');
    expect(wired.results).toEqual([]);
  }, SERVER_TIMEOUT);

  // reason: the tenant's credentials Secret is built from the Role's connection details, which arrive as protobuf bytes; escaping bugs would break every app.
  it('b. second reconcile of the claim publishes the credentials Secret from the observed connection details', async () => {
    expect(observedPassword('claim')).toBe(PASSWORD);
    const { wired, local } = await roundTrip(() => request('claim', { observed: true }));
    expectSameAsInProcess(wired, local);

    const secret = wired.desired.resources.secret;
    expect(secret, 'desired resource "secret"').toBeDefined();
    expect(secret!.resource).toMatchObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'my-app-db-secret', namespace: 'my-namespace' } });
    const data = secret!.resource.data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(['database', 'endpoint', 'jdbcUrl', 'password', 'port', 'uri', 'username']);
    expect(decode(data.password)).toBe(observedPassword('claim'));
    const uri = decode(data.uri);
    expect(uri).toContain(`:${encodeURIComponent(PASSWORD)}@`);
    expect(uri).not.toContain(PASSWORD);
    expect(decode(data.jdbcUrl)).toContain(`password=${encodeURIComponent(PASSWORD)}`);

    expect(wired.desired.resources.database?.ready).toBe('READY_TRUE');
  }, SERVER_TIMEOUT);

  // reason: Crossplane v2 namespaced XRs may only compose namespaced (.m.) managed resources, and Orphan must be expressed with managementPolicies, not deletionPolicy.
  it('c. namespaced flavour: first and second reconcile over the wire', async () => {
    for (const observed of [false, true]) {
      const { wired, local } = await roundTrip(() => request('namespaced', { observed }));
      expectSameAsInProcess(wired, local);
      expect(wired.results).toEqual([]);
      const managed = Object.entries(wired.desired.resources).filter(
        ([, r]) => r.resource.apiVersion !== 'v1' && !String(r.resource.apiVersion).startsWith('protection.crossplane.io/'),
      );
      // Created in order (function/order.ts): the first reconcile composes what needs nothing (the AWS secret; the Role
      // waits for its password Secret); the second, a tenant with everything observed, all of it.
      expect(managed.map(([k]) => k)).toEqual(observed ? expect.arrayContaining(['database', 'role', 'grant-database', 'schema-reporting']) : ['aws-secret']);
      for (const [key, { resource }] of managed) {
        expect(String(resource.apiVersion), `apiVersion of ${key}`).toMatch(/\.m\.crossplane\.io\/v1alpha1$|\.m\.upbound\.io\/v1beta1$/);
        expect(resource.metadata?.namespace, `namespace of ${key}`).toBe('my-namespace');
        expect(resource.spec, `spec of ${key}`).not.toHaveProperty('deletionPolicy');
        expect(Array.isArray(resource.spec?.managementPolicies), `managementPolicies of ${key}`).toBe(true);
        expect(resource.spec.managementPolicies, `managementPolicies of ${key}`).not.toContain('Delete');
        expect(resource.spec.managementPolicies, `managementPolicies of ${key}`).not.toContain('*');
      }
      for (const [key, { resource }] of Object.entries(wired.desired.resources)) {
        expect(resource.metadata?.namespace, `namespace of ${key}`).toBe('my-namespace');
      }
      if (observed) {
        expect(wired.desired.resources.database?.ready).toBe('READY_TRUE');
        expect(decode(wired.desired.resources.secret?.resource.data?.password)).toBe(observedPassword('namespaced'));
      } else {
        expect(wired.desired.resources).not.toHaveProperty('secret');
      }
    }
  }, SERVER_TIMEOUT);

  // reason: Crossplane compares desired state between reconciles; a response that changes without input changes causes endless applies.
  it('d. the same request twice gives byte-identical responses on the wire', async () => {
    const payload = wire.encodeRequest(toWireRequest(request('claim', { observed: true })));
    const first = await client!.runRaw(payload);
    const second = await client!.runRaw(payload);
    expect(first.length).toBeGreaterThan(0);
    expect(second.equals(first)).toBe(true);
    // The typed client sees the same thing: both decoded responses re-encode to the same bytes
    // (not necessarily the server's: proto-loader's defaults: true makes protobufjs write
    // explicit zero values such as tag '' that the server omits), and decode like the raw ones.
    const typed1 = await client!.run(toWireRequest(request('claim', { observed: true })));
    const typed2 = await client!.run(toWireRequest(request('claim', { observed: true })));
    expect(wire.encodeResponse(typed2).equals(wire.encodeResponse(typed1))).toBe(true);
    expect(typed1).toEqual(wire.decodeResponse(first));
  }, SERVER_TIMEOUT);

  // reason: Struct key order is not meaningful, so the same XR with its keys in another order must not change the response bytes either.
  it('d. key order of the request does not change the response bytes', async () => {
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverseKeys)
        : v && typeof v === 'object' && !Buffer.isBuffer(v)
          ? Object.fromEntries(Object.entries(v as Obj).reverse().map(([k, x]) => [k, reverseKeys(x)]))
          : v;
    const normal = request('claim', { observed: true }) as unknown as Obj;
    const reversed = request('claim', { observed: true }) as unknown as Obj;
    reversed.observed.composite.resource = reverseKeys(reversed.observed.composite.resource);
    reversed.input = reverseKeys(reversed.input);
    for (const r of Object.values(reversed.observed.resources as Record<string, Obj>)) r.resource = reverseKeys(r.resource);
    const a = wire.encodeRequest(toWireRequest(normal));
    const b = wire.encodeRequest(toWireRequest(reversed));
    expect(b.equals(a)).toBe(false);
    const [ra, rb] = [await client!.runRaw(a), await client!.runRaw(b)];
    expect(rb.equals(ra)).toBe(true);
  }, SERVER_TIMEOUT);

  // reason: an invalid spec must stop the pipeline with one clear Fatal result and render nothing, so Crossplane cannot apply a partial state;
  // the same message must also reach the claim, as a Warning listed before the Fatal and as the Provisioned condition (Crossplane v2.2.4 drops a lone Fatal there).
  it('e. an invalid spec gets exactly one Fatal result, told to the claim too, and no desired resources', async () => {
    const build = () => request('claim', { xrPatch: { spec: { roleDeletionPolicy: 'Sometimes' } } });
    const { wired, local } = await roundTrip(build);
    expect(wired.results.map((r) => [r.severity, r.target, r.reason])).toEqual([
      ['SEVERITY_WARNING', 'TARGET_COMPOSITE_AND_CLAIM', 'InvalidSpec'],
      ['SEVERITY_FATAL', 'TARGET_COMPOSITE', 'InvalidSpec'],
    ]);
    expect(wired.results[1]!.message).toContain('spec.roleDeletionPolicy');
    expect(wired.results[0]!.message).toBe(wired.results[1]!.message);
    expect(wired.conditions).toEqual([
      { type: 'Provisioned', status: 'STATUS_CONDITION_FALSE', reason: 'InvalidSpec', message: wired.results[1]!.message, target: 'TARGET_COMPOSITE_AND_CLAIM' },
    ]);
    expect(Object.keys(wired.desired.resources)).toHaveLength(0);
    expect(wired.results).toEqual(local.results);
  }, SERVER_TIMEOUT);

  // reason: a corrupt message must be answered with a gRPC error, not hang Crossplane's call or take the server down.
  it('f. malformed protobuf bytes get a gRPC error, and the server keeps serving', async () => {
    const started = Date.now();
    const error = await client!.runRaw(Buffer.from([0xff, 0xff, 0xff]), 5_000).then<undefined, grpc.ServiceError>(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(error, 'a malformed request must fail').toBeDefined();
    expect(error!.code).not.toBe(grpc.status.OK);
    expect(error!.code, `should be answered, not time out (${error!.details})`).not.toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fn!.process.exitCode).toBeNull();

    const after = fromWireResponse(await client!.run(toWireRequest(request('claim'))));
    expect(Object.keys(after.desired.resources)).toContain('aws-secret');
    expect(after.results).toEqual([]);
  }, SERVER_TIMEOUT);

  // reason: the generated password must reach only the tenant's Secret; logs, events (results), conditions and XR status are readable by many more people.
  describe('g. secrets never leak (server started with --debug)', () => {
    let debugFn: RunningFunction | undefined;
    let debugClient: WireClient | undefined;

    beforeAll(async () => {
      debugFn = await startFunction(['--insecure', '--debug']);
      debugClient = wire.connect(debugFn.address);
    }, SERVER_TIMEOUT);

    afterAll(async () => {
      debugClient?.close();
      await debugFn?.stop();
    }, SERVER_TIMEOUT);

    it('the password (raw, base64, URL-escaped) is nowhere but in the desired resources', async () => {
      const forms = [PASSWORD, Buffer.from(PASSWORD).toString('base64'), encodeURIComponent(PASSWORD)];
      expect(observedPassword('claim')).toBe(PASSWORD);
      expect(observedPassword('namespaced')).toBe(PASSWORD);

      const requests = [
        request('claim', { observed: true }),
        request('namespaced', { observed: true }),
        // Invalid, while the observed connection secret is part of the request.
        request('claim', { observed: true, xrPatch: { spec: { roleDeletionPolicy: 'Sometimes' } } }),
      ];
      const responses: PlainResponse[] = [];
      for (const req of requests) responses.push(fromWireResponse(await debugClient!.run(toWireRequest(req))));

      // The requests did carry the secret, and the valid ones did publish it.
      expect(decode(responses[0]!.desired.resources.secret?.resource.data?.password)).toBe(PASSWORD);
      expect(decode(responses[1]!.desired.resources.secret?.resource.data?.password)).toBe(PASSWORD);
      expect(responses[2]!.results.map((r) => r.severity)).toEqual(['SEVERITY_WARNING', 'SEVERITY_FATAL']);

      // Wait until the debug line of every call is in the captured output (pino may write asynchronously).
      const deadline = Date.now() + 5_000;
      while ((debugFn!.output().match(/"msg":"composed"/g) ?? []).length < requests.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const logs = debugFn!.output();
      expect((logs.match(/"msg":"composed"/g) ?? []).length, `debug lines in:\n${logs}`).toBeGreaterThanOrEqual(requests.length);

      for (const [i, rsp] of responses.entries()) {
        const { resources: _resources, ...desiredRest } = rsp.desired;
        const visible = {
          results: rsp.results,
          conditions: rsp.conditions,
          composite: desiredRest.composite,
          status: desiredRest.composite?.resource.status,
          context: rsp.context,
          output: rsp.output,
          meta: rsp.meta,
        };
        const text = JSON.stringify(visible);
        for (const form of forms) {
          expect(text.includes(form), `response ${i} exposes "${form}" outside desired resources: ${text}`).toBe(false);
        }
      }
      for (const form of forms) {
        expect(logs.includes(form), `process output exposes "${form}":\n${logs}`).toBe(false);
      }
    }, SERVER_TIMEOUT);
  });
});
