#!/usr/bin/env node
/**
 * The floor: a function that does nothing, on the same SDK, wired the same way
 * as ours (FunctionRunner + getServer, a pino logger at info level, insecure,
 * loopback). Its handler returns the SDK's own `to(req)`, so every cost left is
 * the SDK's and grpc-js's: request decode (protobuf + Struct unwrap), the
 * runner, response encode. Prints {"port":N} once listening.
 *
 *   node dist/bench/noop.js [--address 127.0.0.1:0]
 */
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { FunctionRunner, getServer, to, type RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';

const argv = process.argv.slice(2);
const at = argv.indexOf('--address');
const address = at >= 0 && argv[at + 1] ? argv[at + 1]! : '127.0.0.1:0';

const logger = pino({
  level: 'info',
  base: undefined,
  formatters: { level: (label) => ({ severity: label.toUpperCase() }) },
});

const runner = new FunctionRunner(
  {
    // The SDK's handler returns a promise; the floor has its answer at once.
    RunFunction(req: RunFunctionRequest) {
      return Promise.resolve(to(req));
    },
  },
  logger,
);
const server = getServer(runner, logger);
server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`noop: cannot listen on ${address}: ${error.message}\n`);
    process.exit(1);
  }
  logger.info({ address, port }, 'listening');
});
const stop = () => server.tryShutdown(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
