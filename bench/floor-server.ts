/**
 * The wiring both floors share with ours: the SDK's FunctionRunner and
 * getServer, a pino logger at info level (the same line format as ours),
 * insecure, loopback. A floor only says how it answers; the cost of
 * everything else is then the same as ours. Logs {"port":N} once listening
 * (bench/spawn.ts waits for it).
 */
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { FunctionRunner, getServer, type RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';

export function serveFloor(name: string, address: string, answer: (req: RunFunctionRequest) => RunFunctionResponse): void {
  const logger = pino({
    level: 'info',
    base: undefined,
    formatters: { level: (label) => ({ severity: label.toUpperCase() }) },
  });
  const runner = new FunctionRunner(
    {
      // The SDK's handler returns a promise; a floor has its answer at once.
      RunFunction(req: RunFunctionRequest) {
        return Promise.resolve(answer(req));
      },
    },
    logger,
  );
  const server = getServer(runner, logger);
  server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) {
      process.stderr.write(`${name}: cannot listen on ${address}: ${error.message}\n`);
      process.exit(1);
    }
    logger.info({ address, port }, 'listening');
  });
  const stop = () => server.tryShutdown(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
