/**
 * The gRPC server around compose(), with the two things the SDK's own
 * runtime does not do and Crossplane needs:
 *
 * - with TLS, client certificates are *required* and verified against ca.crt
 *   (mutual TLS); the SDK's default leaves them optional;
 * - failing to listen is an error the caller sees (the SDK only logs it), so
 *   the process can exit non-zero with one clear line.
 *
 * It also counts every call for the Prometheus endpoint (metrics.ts): the
 * outcome and refusal reason read from the response compose() returned, the
 * time compose() took, and the wire size of requests and answers.
 *
 * Used by main.ts, the render command, the tests and the benchmark, so all of
 * them exercise exactly the server that ships.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { FunctionRunner, FunctionRunnerServiceService, Severity, type Logger, type RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { compose } from './compose.js';
import { FunctionMetrics } from './metrics.js';

export interface ServerOptions {
  address: string;
  insecure: boolean;
  tlsServerCertsDir: string;
  /** The clock compose() is given; Date.now unless a test runs the server at a time it controls. */
  clock?: () => number;
}

/** An error meant for the operator: one line, no stack trace. */
export class StartupError extends Error {}

function readTlsFile(dir: string, file: string): Buffer {
  const path = join(dir, file);
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new StartupError(`cannot read TLS file ${path} (${code}); pass --insecure for local development`);
  }
}

export function serverCredentials(opts: ServerOptions): grpc.ServerCredentials {
  if (opts.insecure) return grpc.ServerCredentials.createInsecure();
  if (!opts.tlsServerCertsDir) throw new StartupError('--tls-server-certs-dir is empty; pass it, or --insecure');
  const ca = readTlsFile(opts.tlsServerCertsDir, 'ca.crt');
  const cert = readTlsFile(opts.tlsServerCertsDir, 'tls.crt');
  const key = readTlsFile(opts.tlsServerCertsDir, 'tls.key');
  validateTlsMaterial(opts.tlsServerCertsDir, ca, cert, key);
  // true: refuse any client that does not present a certificate signed by ca.crt.
  return grpc.ServerCredentials.createSsl(ca, [{ private_key: key, cert_chain: cert }], true);
}

/**
 * grpc-js only parses the PEM files when it binds (so junk surfaced as a
 * misleading "cannot listen on ..."), and Node silently ignores a ca.crt that
 * holds no certificate (so the server would start and refuse every client).
 * Check each file up front and name the one that is wrong.
 */
function validateTlsMaterial(dir: string, ca: Buffer, cert: Buffer, key: Buffer): void {
  const check = (file: string, parse: () => unknown) => {
    try {
      parse();
    } catch (error) {
      throw new StartupError(`invalid TLS file ${join(dir, file)}: ${(error as Error).message}`);
    }
  };
  check('ca.crt', () => new X509Certificate(ca));
  check('tls.crt', () => new X509Certificate(cert));
  check('tls.key', () => createPrivateKey(key));
  try {
    createSecureContext({ ca, cert, key });
  } catch (error) {
    throw new StartupError(`invalid TLS material in ${dir} (tls.crt and tls.key): ${(error as Error).message}`);
  }
}

/**
 * The FunctionHandler: compose(), measured, plus a debug line that carries no secret.
 * The clock is read here, at the edge, and nowhere else (`clock` for tests).
 */
export function handler(logger: Logger, clock: () => number = Date.now, metrics?: FunctionMetrics) {
  return {
    RunFunction(req: RunFunctionRequest) {
      metrics?.inFlight.inc();
      const started = process.hrtime.bigint();
      let rsp: RunFunctionResponse | undefined;
      try {
        rsp = compose(req, clock());
      } finally {
        // compose() answers every error with a refusal; were it ever to throw, the
        // SDK's runner turns that into a Fatal without a reason, counted as Unknown.
        metrics?.inFlight.dec();
        metrics?.observeCall(req, rsp, Number(process.hrtime.bigint() - started) / 1e9);
      }
      if (logger.isLevelEnabled('debug')) {
        const xr = req.observed?.composite?.resource?.metadata?.name;
        const fatal = rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL);
        logger.debug(
          { xr: typeof xr === 'string' ? xr : undefined, desired: Object.keys(rsp.desired?.resources ?? {}).length, fatal: fatal?.message },
          'composed',
        );
      }
      return Promise.resolve(rsp);
    },
  };
}

/**
 * Build, bind and start the server; resolves with the bound port. The service
 * is registered here rather than with the SDK's getServer() so that its
 * (de)serializers can be wrapped to measure message sizes; the implementation
 * is the SDK's: its FunctionRunner, answering through the callback.
 */
export async function startServer(
  opts: ServerOptions,
  logger: Logger,
  metrics?: FunctionMetrics,
): Promise<{ server: grpc.Server; port: number }> {
  const credentials = serverCredentials(opts);
  const runner = new FunctionRunner(handler(logger, opts.clock ?? Date.now, metrics), logger);
  const server = new grpc.Server();
  const implementation: grpc.UntypedServiceImplementation = {
    runFunction: (call: grpc.ServerUnaryCall<RunFunctionRequest, RunFunctionResponse>, callback: grpc.sendUnaryData<RunFunctionResponse>) => {
      runner.RunFunction(call.request, logger).then(
        (response) => callback(null, response),
        (error: unknown) => callback(error as grpc.ServiceError),
      );
    },
  };
  server.addService(metrics ? metrics.service() : FunctionRunnerServiceService, implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.address, credentials, (error, boundPort) => {
      if (error) reject(new StartupError(`cannot listen on ${opts.address}: ${error.message}`));
      else resolve(boundPort);
    });
  });
  return { server, port };
}

/** Stop accepting calls, let in-flight calls finish, then force after a deadline. */
export function shutdown(server: grpc.Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, deadlineMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
