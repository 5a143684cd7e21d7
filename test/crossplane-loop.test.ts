/**
 * The requirements loop `npm run render` runs and `npm run bench` uses to count
 * calls per reconcile (scripts/requirements-loop.ts, bench/crossplane-loop.ts) must call a function as Crossplane v2.2.4 does,
 * or its counts say nothing. Checked over real gRPC against a server that
 * answers with scripted responses: the answers this function gave real
 * Crossplane (../shared/fixtures/crossplane-v2.2.4/), replayed in order, must
 * draw exactly the calls Crossplane made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { FunctionRunner, getServer, RunFunctionResponse, type RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { reconcile } from '../bench/crossplane-loop.js';
import { MAX_REQUIREMENTS_ITERATIONS, sameRequirements } from '../scripts/shared/requirements-loop.js';
import { rawClient, type RawClient } from '../bench/load.js';
import { example } from '../scripts/shared/examples.js';
import { fixtureRequest, FIXTURES, recordedReconciles } from '../scripts/shared/fixtures.js';
import { requireShared } from './support/shared.js';

/** A function server whose answers the test sets; it keeps every request it received. */
let answers: RunFunctionResponse[] = [];
let received: RunFunctionRequest[] = [];
let server: grpc.Server;
let client: RawClient;

beforeAll(async () => {
  const logger = pino({ level: 'silent' });
  server = getServer(
    new FunctionRunner(
      {
        // The SDK's handler returns a promise; a scripted answer is there at once.
        RunFunction(req: RunFunctionRequest) {
          received.push(req);
          const next = answers.shift();
          return next ? Promise.resolve(next) : Promise.reject(new Error('no scripted answer left'));
        },
      },
      logger,
    ),
    logger,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  client = rawClient(`127.0.0.1:${port}`);
});

afterAll(() => {
  client?.close();
  server?.forceShutdown();
});

function script(list: RunFunctionResponse[]) {
  answers = [...list];
  received = [];
}

const answer = (requirements: RunFunctionResponse['requirements']): RunFunctionResponse =>
  RunFunctionResponse.fromPartial({ meta: { tag: '' }, requirements });

const selector = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', matchName: name, namespace: 'crossplane-system' });

describe('the recorded reconciles, replayed', () => {
  const present = requireShared(FIXTURES);
  const reconciles = present ? (['claim', 'namespaced'] as const).flatMap((f) => recordedReconciles(f)) : [];

  // reason: the bench compares its call counts with these recordings; the loop must reproduce them when the function answers as it did then.
  it.runIf(present)('make the calls Crossplane made, carrying the required resources it sent', async () => {
    expect(reconciles.length).toBeGreaterThanOrEqual(8);
    for (const rec of reconciles) {
      const paths = rec.files.map((f) => join(FIXTURES, rec.flavour, f));
      script(paths.map((p) => RunFunctionResponse.fromJSON((JSON.parse(readFileSync(p, 'utf8')) as { response: unknown }).response)));
      const result = await reconcile(client.run, rec.first, rec.cluster);
      const where = `${rec.flavour}: ${rec.files.join(' + ')}`;
      expect(result.calls.length, where).toBe(rec.files.length);
      expect(answers, `${where}: scripted answers left over`).toEqual([]);
      paths.forEach((p, i) => {
        expect(received[i]!.requiredResources, `${where}: call ${i + 1}`).toEqual(fixtureRequest(p).requiredResources);
      });
    }
  });
});

describe("the loop's stopping rule (Go proto.Equal on the answers' requirements)", () => {
  const first = () => example('claim', false);

  // reason: a function that asks for nothing must cost one call per reconcile.
  it('no requirements: one call', async () => {
    script([answer(undefined)]);
    const r = await reconcile(client.run, first(), []);
    expect(r.calls.length).toBe(1);
    expect(r.stopped).toBe('stable');
  });

  // reason: an empty `requirements` is still a field that is set; proto.Equal tells it from an absent one, so Crossplane calls again.
  it('an empty requirements message: two calls, as for a real requirement', async () => {
    script([answer({ extraResources: {}, resources: {}, schemas: {} }), answer({ extraResources: {}, resources: {}, schemas: {} })]);
    const r = await reconcile(client.run, first(), []);
    expect(r.calls.length).toBe(2);
    expect(r.stopped).toBe('stable');
    expect(sameRequirements(undefined, { extraResources: {}, resources: {}, schemas: {} })).toBe(false);
  });

  // reason: the second call carries what the first answer asked for, found or not, and the loop stops when the ask repeats.
  it('a requirement: the second call carries the fetched object, or an empty list when it does not exist', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'crossplane-system' }, data: {} };
    const asks = { extraResources: {}, resources: { found: selector('a'), missing: selector('b') }, schemas: {} };
    script([answer(asks), answer(asks)]);
    const r = await reconcile(client.run, first(), [secret]);
    expect(r.calls.map((c) => c.sent)).toEqual([{}, { found: 1, missing: 0 }]);
    expect(received[1]!.requiredResources.found!.items[0]!.resource).toEqual(secret);
  });

  // reason: requirements that never settle make Crossplane give up after 1 + MaxRequirementsIterations calls; the bench reports that as a failure.
  it('requirements that keep changing: Crossplane gives up', async () => {
    const calls = MAX_REQUIREMENTS_ITERATIONS + 1;
    script(Array.from({ length: calls }, (_, i) => answer({ extraResources: {}, resources: { [`r${i}`]: selector(`s${i}`) }, schemas: {} })));
    const r = await reconcile(client.run, first(), []);
    expect(r.calls.length).toBe(calls);
    expect(r.stopped).toBe('limit');
  });
});
