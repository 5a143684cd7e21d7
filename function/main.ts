#!/usr/bin/env node
/**
 * Serve the function: the SDK's standard flags (--address, --insecure,
 * --tls-server-certs-dir, --debug) plus --metrics-address (flags.ts), mutual
 * TLS, Prometheus metrics on plain HTTP (metrics.ts), one clear line and a
 * non-zero exit when either cannot start, and a graceful stop on SIGTERM that
 * lets every in-flight call finish.
 */
import { format } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { helpText, parseArgs, type Args } from './flags.js';
import { FunctionMetrics, MetricsListenError, serveMetrics } from './metrics.js';
import { shutdown, startServer, StartupError } from './server.js';

const NAME = 'function-tenantdatabase';
/** Kubernetes waits 30 s by default between SIGTERM and SIGKILL. */
const SHUTDOWN_DEADLINE_MS = 25_000;

function die(message: string, code: number): never {
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    die(`${(error as Error).message}\nTry '${NAME} --help' for the available flags.`, 2);
  }
  if (args.help) {
    process.stdout.write(`${helpText(NAME)}\n`);
    return;
  }
  // Crossplane's package runtime names the certificate directory in this variable.
  const tlsServerCertsDir = args.tlsServerCertsDirGiven ? args.tlsServerCertsDir : (process.env.TLS_SERVER_CERTS_DIR ?? args.tlsServerCertsDir);

  const logger = pino({
    level: args.debug ? 'debug' : 'info',
    base: undefined,
    formatters: { level: (label) => ({ severity: label.toUpperCase() }) },
  });
  // grpc-js writes its own diagnostics to stderr as bare "E ..." lines (a failed bind
  // adds one before our message); keep them as structured log lines on stdout, so
  // stderr holds only the one line an operator needs.
  grpc.setLogger({
    error: (...parts: unknown[]) => logger.warn({ source: 'grpc-js' }, format(...parts)),
    info: (...parts: unknown[]) => logger.info({ source: 'grpc-js' }, format(...parts)),
    debug: (...parts: unknown[]) => logger.debug({ source: 'grpc-js' }, format(...parts)),
  });
  const address = args.address;
  // Metrics first: a function that cannot serve them fails before it takes any call,
  // rather than running unobserved. Off (no listener, nothing counted) with an empty address.
  const metrics = args.metricsAddress ? new FunctionMetrics() : undefined;
  const metricsServer = metrics ? await serveMetrics(args.metricsAddress, metrics.registry) : undefined;
  const { server, port } = await startServer({ address, insecure: args.insecure, tlsServerCertsDir }, logger, metrics);
  // One line naming both ports ("port" is the gRPC one: scripts and tests read it from here).
  logger.info(
    { address, port, tls: !args.insecure, metricsAddress: args.metricsAddress || undefined, metricsPort: metricsServer?.port },
    'listening',
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Metrics stay up until gRPC has drained, so the last calls are still scraped if Prometheus is quick.
    void shutdown(server, SHUTDOWN_DEADLINE_MS).then(() => {
      metricsServer?.server.closeAllConnections();
      metricsServer?.server.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof StartupError || error instanceof MetricsListenError) die(error.message, 1);
  die(`unexpected error: ${(error as Error)?.message ?? String(error)}`, 1);
});
