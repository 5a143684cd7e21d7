/**
 * Section `load`: many clients, a connection each, send the second-reconcile
 * request at once; every answer must be byte-identical to the first and none
 * may fail (a FAIL, not a timing).
 */
import { allIdentical, describeLoad, identicalUnderLoad, referenceAnswer, type IdenticalLoadResult } from '../identical.js';
import { verify } from '../load.js';
import { failures, log, results } from '../results.js';
import { LOAD_CALLS, LOAD_CLIENTS, nodeArgsFor, OURS, OURS_ARGS } from '../settings.js';
import { spawnServer } from '../spawn.js';
import type { Payloads } from './grpc.js';

export async function loadSection(payloads: Payloads): Promise<void> {
  log(`identical answers under load: ${LOAD_CLIENTS} clients x ${LOAD_CALLS} calls, second-reconcile request`);
  const server = await spawnServer(OURS, { args: OURS_ARGS, nodeArgs: nodeArgsFor(OURS) });
  let result: IdenticalLoadResult;
  let serverAlive: boolean;
  try {
    const reference = await referenceAnswer(server.address, payloads.observed);
    verify(reference);
    result = await identicalUnderLoad({ address: server.address, payload: payloads.observed, clients: LOAD_CLIENTS, callsPerClient: LOAD_CALLS }, reference);
    serverAlive = server.process.exitCode === null && server.process.signalCode === null;
  } finally {
    await server.stop();
  }
  if (!allIdentical(result)) failures.push([describeLoad(result), ...result.problems.map((p) => `  ${p}`)].join('\n'));
  if (!serverAlive) failures.push(`identical answers under load: the server exited during the run\n${server.output().slice(-2000)}`);
  results.load = { ...result, serverAlive, line: describeLoad(result) };
}
