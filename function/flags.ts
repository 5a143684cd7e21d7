/**
 * The function's command line: the SDK's standard flags (--address, --debug,
 * --insecure, --tls-server-certs-dir, --help), with the SDK's names and
 * defaults, plus --metrics-address. One table feeds both the parser and
 * --help, so a flag cannot be added to one and forgotten in the other.
 *
 * Why not the SDK's parseArgs: it is strict (rightly: a typo must not start a
 * function with a default nobody asked for) and knows only its own flags, so
 * it refuses --metrics-address.
 */
import { parseArgs as parseNodeArgs } from 'node:util';
import { DEFAULT_ADDRESS, DEFAULT_TLS_SERVER_CERTS_DIR } from '@crossplane-org/function-sdk-typescript';

/** Where Prometheus scrapes by default: the port Crossplane's Go function SDK serves its metrics on. */
export const DEFAULT_METRICS_ADDRESS = ':8080';
/**
 * Used when --metrics-address is not given. Lets a test suite (vitest.config.ts)
 * move every function it starts to a free loopback port, or turn metrics off,
 * without each caller having to pass the flag.
 */
export const METRICS_ADDRESS_ENV = 'FUNCTION_METRICS_ADDRESS';

const flags = {
  address: { type: 'string', default: DEFAULT_ADDRESS },
  debug: { type: 'boolean', short: 'd', default: false },
  insecure: { type: 'boolean', default: false },
  'tls-server-certs-dir': { type: 'string', default: DEFAULT_TLS_SERVER_CERTS_DIR },
  'metrics-address': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const descriptions: Record<keyof typeof flags, string> = {
  address: `Address to listen for gRPC connections. Default ${DEFAULT_ADDRESS}.`,
  debug: 'Emit debug logs.',
  insecure: 'Run without mTLS credentials.',
  'tls-server-certs-dir': `Directory holding tls.key, tls.crt and ca.crt. Default ${DEFAULT_TLS_SERVER_CERTS_DIR}.`,
  'metrics-address': `Address to serve Prometheus metrics on (path /metrics, plain HTTP). Default ${DEFAULT_METRICS_ADDRESS}; empty turns them off.`,
  help: 'Show this help.',
};

export interface Args {
  address: string;
  debug: boolean;
  insecure: boolean;
  tlsServerCertsDir: string;
  /** True when --tls-server-certs-dir was given (the package runtime's TLS_SERVER_CERTS_DIR applies otherwise). */
  tlsServerCertsDirGiven: boolean;
  /** host:port, or '' for no metrics endpoint. */
  metricsAddress: string;
  help: boolean;
}

/** Parse argv (without node and the script); throws with a one-line message on an unknown or malformed flag. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Args {
  const { values, tokens } = parseNodeArgs({ args: argv, options: flags, allowPositionals: false, tokens: true });
  const given = (name: string) => tokens.some((t) => t.kind === 'option' && t.name === name);
  return {
    address: values.address,
    debug: values.debug,
    insecure: values.insecure,
    tlsServerCertsDir: values['tls-server-certs-dir'],
    tlsServerCertsDirGiven: given('tls-server-certs-dir'),
    metricsAddress: values['metrics-address'] ?? env[METRICS_ADDRESS_ENV] ?? DEFAULT_METRICS_ADDRESS,
    help: values.help,
  };
}

export function helpText(name: string): string {
  const usage = Object.entries(flags).map(([flag, spec]) => {
    const short = 'short' in spec ? `-${spec.short}, ` : '    ';
    const value = spec.type === 'string' ? ' <value>' : '';
    return `  ${short}--${flag}${value}`.padEnd(38) + descriptions[flag as keyof typeof flags];
  });
  return [
    `Usage: ${name} [flags]`,
    '',
    'A Crossplane composition function.',
    '',
    'Flags:',
    ...usage,
    '',
    'Environment:',
    `  ${METRICS_ADDRESS_ENV}`.padEnd(38) + 'Default for --metrics-address when the flag is not given.',
    '  TLS_SERVER_CERTS_DIR'.padEnd(38) + 'Default for --tls-server-certs-dir when the flag is not given.',
  ].join('\n');
}

/**
 * Split a listen address as Go's net.Listen reads it: ":8080" is every
 * interface, "127.0.0.1:0" a free loopback port, "[::1]:9090" IPv6.
 * Throws with a message naming the address when it is not host:port.
 */
export function splitHostPort(address: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`"${address}" is not host:port (e.g. :8080 or 127.0.0.1:8080)`);
  const host = m[1] ?? m[2];
  return { host: host ? host : undefined, port };
}
