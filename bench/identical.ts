/**
 * Identical answers under concurrent load: many clients, each on a connection
 * of its own (as separate Crossplane workers would be), call the function with
 * the same request and every answer must be byte for byte the answer to a
 * single call made first. Shared by `npm test` (a short run) and
 * `npm run bench` (the long one), so both check exactly the same thing.
 *
 * Responses are compared as the raw protobuf bytes off the wire: stricter than
 * comparing decoded objects (the function promises byte-identical output), and
 * cheap for a client that shares the machine with the server.
 */
import * as grpc from '@grpc/grpc-js';
import { RAW_SERVICE } from './load.js';

const RawClient = grpc.makeGenericClientConstructor(RAW_SERVICE, 'FunctionRunnerService');
type Client = grpc.Client & {
  runFunction(req: Buffer, metadata: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, rsp: Buffer) => void): void;
};

export interface IdenticalLoadOptions {
  address: string;
  /** The encoded RunFunctionRequest every call sends. */
  payload: Buffer;
  clients: number;
  callsPerClient: number;
  /** Deadline of each call, so that a stuck server fails the run instead of hanging it. */
  deadlineMs?: number;
}

export interface IdenticalLoadResult {
  clients: number;
  callsPerClient: number;
  /** Calls that were made (clients x callsPerClient unless a client gave up after too many errors). */
  calls: number;
  errors: number;
  /** Answers byte-identical to the reference answer. */
  identical: number;
  /** Answers that differ from it. */
  different: number;
  referenceBytes: number;
  /** The first few errors and the first difference, to say what went wrong. */
  problems: string[];
  seconds: number;
  callsPerSecond: number;
}

/** Stop a client after this many errors: one broken server must not produce 128,000 error lines. */
const MAX_ERRORS_PER_CLIENT = 10;

function dial(address: string): { run: (payload: Buffer, deadlineMs: number) => Promise<Buffer>; close: () => void } {
  // A local subchannel pool gives each client its own TCP connection; grpc-js would otherwise share one.
  const client = new RawClient(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as Client;
  return {
    run: (payload, deadlineMs) =>
      new Promise((resolve, reject) =>
        client.runFunction(payload, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, rsp) => (err ? reject(err) : resolve(rsp))),
      ),
    close: () => client.close(),
  };
}

/** The reference answer: one call on a connection of its own, before any load. */
export async function referenceAnswer(address: string, payload: Buffer, deadlineMs = 10_000): Promise<Buffer> {
  const client = dial(address);
  try {
    return await client.run(payload, deadlineMs);
  } finally {
    client.close();
  }
}

/** Every client sends its calls one after the other; all clients run at once. */
export async function identicalUnderLoad(opts: IdenticalLoadOptions, reference: Buffer): Promise<IdenticalLoadResult> {
  const deadlineMs = opts.deadlineMs ?? 60_000;
  const clients = Array.from({ length: opts.clients }, () => dial(opts.address));
  const problems: string[] = [];
  let calls = 0;
  let errors = 0;
  let identical = 0;
  let different = 0;
  const started = performance.now();
  try {
    await Promise.all(
      clients.map(async (client, n) => {
        let clientErrors = 0;
        for (let i = 0; i < opts.callsPerClient && clientErrors < MAX_ERRORS_PER_CLIENT; i++) {
          calls++;
          try {
            const answer = await client.run(opts.payload, deadlineMs);
            if (answer.equals(reference)) identical++;
            else {
              if (different++ === 0) problems.push(`client ${n} call ${i}: ${answer.length} bytes differ from the ${reference.length}-byte reference answer`);
            }
          } catch (error) {
            errors++;
            clientErrors++;
            if (problems.length < 10) problems.push(`client ${n} call ${i}: ${(error as Error).message}`);
          }
        }
      }),
    );
  } finally {
    for (const c of clients) c.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    clients: opts.clients,
    callsPerClient: opts.callsPerClient,
    calls,
    errors,
    identical,
    different,
    referenceBytes: reference.length,
    problems,
    seconds,
    callsPerSecond: (identical + different) / seconds,
  };
}

/** True when every call of the planned run was made, answered and identical. */
export function allIdentical(r: IdenticalLoadResult): boolean {
  return r.errors === 0 && r.different === 0 && r.identical === r.clients * r.callsPerClient;
}

/** One line with the figures, starting with PASS or FAIL. */
export function describeLoad(r: IdenticalLoadResult): string {
  return (
    `${allIdentical(r) ? 'PASS' : 'FAIL'} identical answers under load: ${r.clients} clients x ${r.callsPerClient} calls = ` +
    `${r.clients * r.callsPerClient} planned, ${r.calls} made, ${r.errors} errors, ${r.identical} identical to the ` +
    `${r.referenceBytes}-byte reference, ${r.different} different; ${r.seconds.toFixed(1)} s, ${Math.round(r.callsPerSecond)} calls/s`
  );
}
