/**
 * Start the real function process and talk to it over gRPC, as Crossplane
 * does. Used by `npm run render` and by tests and benchmarks that need the
 * shipped server rather than compose() in-process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import {
  FunctionRunnerServiceService,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { FUNCTION_MAIN } from './paths.js';

/** The compiled server (dist/function/main.js), whichever way this module runs. */
export const MAIN = FUNCTION_MAIN;

export interface RunningFunction {
  process: ChildProcess;
  address: string;
  output: () => string;
  stop: () => Promise<number | null>;
}

/**
 * Spawn dist/function/main.js on a free loopback port and wait until it listens.
 * Its metrics endpoint is off (an empty --metrics-address) unless `extraArgs`
 * names one: the default :8080 would clash with anything else on this machine.
 */
export function startFunction(extraArgs: string[] = ['--insecure']): Promise<RunningFunction> {
  const child = spawn(process.execPath, [MAIN, '--address', '127.0.0.1:0', '--metrics-address=', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+)/.exec(output);
      if (match) {
        child.stdout.off('data', onData);
        child.stdout.on('data', (c: Buffer) => (output += c.toString()));
        resolve({
          process: child,
          address: `127.0.0.1:${match[1]}`,
          output: () => output,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done(child.exitCode);
              child.once('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => reject(new Error(`function exited with ${code} before listening:\n${output}`)));
  });
}

const Client = grpc.makeGenericClientConstructor(FunctionRunnerServiceService, 'FunctionRunnerService');

export function connect(address: string, credentials = grpc.credentials.createInsecure()) {
  const client = new Client(address, credentials) as unknown as grpc.Client & {
    runFunction(req: RunFunctionRequest, cb: (err: grpc.ServiceError | null, rsp: RunFunctionResponse) => void): void;
  };
  return {
    run: (req: RunFunctionRequest) =>
      new Promise<RunFunctionResponse>((resolve, reject) =>
        client.runFunction(req, (err, rsp) => (err ? reject(err) : resolve(rsp))),
      ),
    close: () => client.close(),
  };
}
