#!/usr/bin/env node
/**
 * The fair floor: the same SDK wiring as ours and as noop.ts (FunctionRunner +
 * getServer, a pino logger at info level, insecure, loopback), answering every
 * call with our own answer to the benchmark's request, computed once at start
 * by compose(). The SDK still decodes every request and encodes that answer
 * every time, so the response on the wire is byte for byte ours (run.ts checks
 * it) and the only thing this server skips is compose() itself. Ours divided
 * by this floor is what the function adds to a call, with nothing the SDK or
 * the size of the answer costs. Prints {"port":N} once listening.
 *
 *   node dist/bench/replay.js --request typical|observed|fixture:<file> [--address 127.0.0.1:0]
 */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { FunctionRunner, getServer, Severity } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../function/compose.js';
import { namedRequest, wire } from './requests.js';

const { values } = parseArgs({ options: { address: { type: 'string', default: '127.0.0.1:0' }, request: { type: 'string' } } });
if (!values.request) {
  process.stderr.write('replay: --request typical|observed|fixture:<file> is required\n');
  process.exit(2);
}
const address = values.address!;

// Decoded from the same bytes the client sends, as the server of ours would see them.
const answer = compose(wire(namedRequest(values.request)).req, Date.now());
const fatal = answer.results.find((r) => r.severity === Severity.SEVERITY_FATAL);
if (fatal) {
  process.stderr.write(`replay: compose() refused the ${values.request} request: ${fatal.message}\n`);
  process.exit(1);
}

const logger = pino({
  level: 'info',
  base: undefined,
  formatters: { level: (label) => ({ severity: label.toUpperCase() }) },
});

const runner = new FunctionRunner(
  {
    async RunFunction() {
      return answer;
    },
  },
  logger,
);
const server = getServer(runner, logger);
server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`replay: cannot listen on ${address}: ${error.message}\n`);
    process.exit(1);
  }
  logger.info({ address, port }, 'listening');
});
const stop = () => server.tryShutdown(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
