#!/usr/bin/env node
/**
 * Serve the function: the SDK's standard flags (--address, --insecure,
 * --tls-server-certs-dir, --debug), mutual TLS, one clear line and a non-zero
 * exit when it cannot start, and a graceful stop on SIGTERM that lets every
 * in-flight call finish.
 */
import { format } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { helpText, parseArgs } from '@crossplane-org/function-sdk-typescript';
import { pino } from 'pino';
import { shutdown, startServer, StartupError } from './server.js';

const NAME = 'function-tenantdatabase';
/** Kubernetes waits 30 s by default between SIGTERM and SIGKILL. */
const SHUTDOWN_DEADLINE_MS = 25_000;

function die(message: string, code: number): never {
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  let args: ReturnType<typeof parseArgs>;
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
  const flagGiven = argv.some((a) => a === '--tls-server-certs-dir' || a.startsWith('--tls-server-certs-dir='));
  const tlsServerCertsDir = (flagGiven ? args.tlsServerCertsDir : process.env.TLS_SERVER_CERTS_DIR ?? args.tlsServerCertsDir) ?? '';

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
  const address = args.address ?? '0.0.0.0:9443';
  const { server, port } = await startServer({ address, insecure: args.insecure === true, tlsServerCertsDir }, logger);
  logger.info({ address, port, tls: !args.insecure }, 'listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    void shutdown(server, SHUTDOWN_DEADLINE_MS).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof StartupError) die(error.message, 1);
  die(`unexpected error: ${(error as Error)?.message ?? String(error)}`, 1);
});
