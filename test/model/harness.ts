/**
 * The function under test for the model-based test: the shipped gRPC server
 * (startServer from function/server.ts, insecure, on a free loopback port) at
 * a clock the test sets, spoken to by the independent proto-loader client of
 * test/support/wire.ts. Every call goes over the wire, so what the model sees
 * is what Crossplane would see.
 *
 * The decoded answer is turned back into the SDK's RunFunctionResponse shape
 * (enums by name), which is what test/support/cluster.ts applies.
 */
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { Ready, Severity, Status, Target, type RunFunctionRequest, type RunFunctionResponse, type Resource } from '@crossplane-org/function-sdk-typescript';
import { startServer } from '../../function/server.js';
import { fromWireResponse, loadWire, toWireRequest, type Obj, type PlainResource, type PlainResponse, type WireClient } from '../support/wire.js';

/** One call as it crossed the wire: the request and the response bytes, and the response decoded. */
export interface WireCall {
  request: RunFunctionRequest;
  requestBytes: Buffer;
  responseBytes: Buffer;
  response: RunFunctionResponse;
  /** The response bytes of the same request sent a second time at the same clock, when determinism was checked. */
  again?: Buffer;
}

export interface FunctionUnderTest {
  /** RunFunction at the instant `now`; with `twice`, the same bytes are sent again and the second answer kept in `again`. */
  call(request: RunFunctionRequest, now: number, twice: boolean): Promise<WireCall>;
  close(): Promise<void>;
}

function enumValue<E extends Record<string, string | number>>(e: E, name: string | undefined, what: string): E[keyof E] {
  if (name === undefined) return undefined as unknown as E[keyof E];
  const value = e[name as keyof E];
  if (typeof value !== 'number') throw new Error(`unknown ${what} ${name} in a response`);
  return value;
}

function sdkResource(r: PlainResource): Resource {
  return { resource: r.resource, connectionDetails: r.connectionDetails, ready: enumValue(Ready, r.ready, 'Ready') };
}

/** A response decoded by the independent client, in the SDK's shape. */
export function sdkResponse(plain: PlainResponse): RunFunctionResponse {
  const wanted = (plain.requirements?.resources ?? {}) as Record<string, Obj>;
  return {
    meta: { tag: plain.meta.tag, ...(plain.meta.ttl ? { ttl: { seconds: Number(plain.meta.ttl.seconds), nanos: plain.meta.ttl.nanos } } : {}) },
    desired: {
      composite: plain.desired.composite ? sdkResource(plain.desired.composite) : undefined,
      resources: Object.fromEntries(Object.entries(plain.desired.resources).map(([k, r]) => [k, sdkResource(r)])),
    },
    results: plain.results.map((r) => ({
      severity: enumValue(Severity, r.severity as string, 'Severity'),
      message: String(r.message ?? ''),
      ...(r.reason !== undefined ? { reason: String(r.reason) } : {}),
      ...(r.target !== undefined ? { target: enumValue(Target, r.target as string, 'Target') } : {}),
    })),
    conditions: plain.conditions.map((c) => ({
      type: String(c.type),
      status: enumValue(Status, c.status as string, 'Status'),
      reason: String(c.reason ?? ''),
      ...(c.message !== undefined ? { message: String(c.message) } : {}),
      ...(c.target !== undefined ? { target: enumValue(Target, c.target as string, 'Target') } : {}),
    })),
    requirements: {
      extraResources: {},
      schemas: {},
      resources: Object.fromEntries(
        Object.entries(wanted).map(([k, s]) => [
          k,
          { apiVersion: String(s.apiVersion ?? ''), kind: String(s.kind ?? ''), ...(s.matchName ? { matchName: String(s.matchName) } : {}), ...(s.namespace ? { namespace: String(s.namespace) } : {}) },
        ]),
      ),
    },
  };
}

/** Start the real server on 127.0.0.1:0 with a clock each call sets. */
export async function startFunctionUnderTest(): Promise<FunctionUnderTest> {
  let now = 0;
  const { server, port } = await startServer({ address: '127.0.0.1:0', insecure: true, tlsServerCertsDir: '', clock: () => now }, pino({ level: 'silent' }));
  const wire = loadWire();
  const client: WireClient = wire.connect(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    async call(request, at, twice) {
      now = at;
      const requestBytes = wire.encodeRequest(toWireRequest(request));
      const responseBytes = await client.runRaw(requestBytes);
      const again = twice ? await client.runRaw(requestBytes) : undefined;
      const response = sdkResponse(fromWireResponse(wire.decodeResponse(responseBytes)));
      return { request, requestBytes, responseBytes, response, ...(again ? { again } : {}) };
    },
    async close() {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
