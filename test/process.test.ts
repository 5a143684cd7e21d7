/**
 * The shipped process (dist/function/main.js, built by `pretest`) as an
 * operator and Crossplane see it: mutual TLS with real certificates, clear
 * one-line failures at startup, a graceful stop on SIGTERM under load, and
 * identical answers under concurrent load (a short run here; `npm run bench`
 * runs the same check 40 times longer). All traffic stays on
 * 127.0.0.1; every process a test spawns is killed before the file ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { FunctionRunnerServiceService, RunFunctionRequest, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { allIdentical, describeLoad, identicalUnderLoad, referenceAnswer } from '../bench/identical.js';
import { MAIN, connect, startFunction } from '../scripts/shared/client.js';
import { requestFor, SECOND_RECONCILE } from '../scripts/shared/examples.js';

type RunningFunction = Awaited<ReturnType<typeof startFunction>>;

const SERVER_TIMEOUT = 20_000;
/** The short load case; `npm run bench` runs the same check with 2,000 calls per client. */
const LOAD_CLIENTS = 64;
const LOAD_CALLS = 50;
const LOAD_TIMEOUT = 120_000;

/** The second reconcile of the claim: every composed object observed, the credentials Secret published. */
const secondReconcile = (): RunFunctionRequest =>
  requestFor({ flavour: 'claim', xr: 'examples/claim/production.yaml', ...SECOND_RECONCILE.claim });

// ---------------------------------------------------------------------------
// Helpers

const FunctionClient = grpc.makeGenericClientConstructor(FunctionRunnerServiceService, 'FunctionRunnerService');
type RawClient = grpc.Client & {
  runFunction(
    req: RunFunctionRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, rsp: RunFunctionResponse) => void,
  ): void;
};

/**
 * Like connect() from scripts/client.ts, plus channel options and a deadline
 * per call, so that a refused connection can never hang a test and each
 * client can have a connection of its own (grpc-js otherwise shares one TCP
 * connection between clients with identical settings).
 */
function dial(address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}) {
  const client = new FunctionClient(address, credentials, options) as unknown as RawClient;
  return {
    run: (req: RunFunctionRequest, deadlineMs = 10_000) =>
      new Promise<RunFunctionResponse>((resolve, reject) =>
        client.runFunction(req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, rsp) =>
          err ? reject(err) : resolve(rsp),
        ),
      ),
    close: () => client.close(),
  };
}

/** A response Crossplane would accept: no fatal result, the claim's objects desired. */
function expectUsable(rsp: RunFunctionResponse) {
  const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL).map((r) => r.message);
  expect(fatal, 'fatal results').toEqual([]);
  const keys = Object.keys(rsp.desired?.resources ?? {});
  for (const key of ['database', 'role', 'grant-database', 'secret']) expect(keys, `desired resources`).toContain(key);
}

/** The call fails with a gRPC status (not OK), within its deadline. */
async function expectRefused(call: Promise<RunFunctionResponse>) {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e as grpc.ServiceError,
  );
  expect(error, 'the call should have been refused').toBeDefined();
  expect(typeof error!.code).toBe('number');
  expect(error!.code).not.toBe(grpc.status.OK);
  // A refused handshake is a transport failure, never an answer from the function.
  expect([grpc.status.UNAVAILABLE, grpc.status.INTERNAL, grpc.status.DEADLINE_EXCEEDED]).toContain(error!.code);
  return error!;
}

interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const spawned = new Set<ChildProcess>();

/** Spawn the compiled server with exactly these flags and wait (bounded) for it to exit. */
function runToExit(args: string[], timeoutMs = 10_000): Promise<Exited> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')}: still running after ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      spawned.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** One line of text, no stack trace. */
function expectOneLine(stderr: string, pattern: RegExp) {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, `stderr: ${stderr}`).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(lines[0]).toMatch(/^function-tenantdatabase: /);
  expect(stderr).not.toMatch(/^ {4}at /m);
}

/** Kill a running function (SIGKILL if SIGTERM did not stop it within 5 s). */
async function kill(fn: RunningFunction | undefined) {
  if (!fn || fn.process.exitCode !== null || fn.process.signalCode !== null) return;
  const hard = setTimeout(() => fn.process.kill('SIGKILL'), 5_000);
  await fn.stop();
  clearTimeout(hard);
}

// ---------------------------------------------------------------------------
// Certificates, generated with the openssl CLI into a temporary directory

interface Pki {
  root: string;
  /** Server directory: ca.crt, tls.crt, tls.key, as Crossplane mounts it. */
  serverDir: string;
  ca: Buffer;
  client: { key: Buffer; cert: Buffer };
  otherClient: { key: Buffer; cert: Buffer };
  /** A second server key/cert pair, for the mismatched key case. */
  otherServer: { key: Buffer; cert: Buffer };
}

const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

function makePki(): Pki {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the openssl CLI is needed to generate the test certificates and was not found on PATH');
  }
  const root = mkdtempSync(join(tmpdir(), 'fn-tenantdb-pki-'));
  const at = (f: string) => join(root, f);
  writeFileSync(at('openssl.cnf'), OPENSSL_CONFIG);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const newKey = (name: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at(`${name}.key`));
  const selfSignedCa = (name: string, cn: string) => {
    newKey(name);
    openssl('req', '-config', at('openssl.cnf'), '-new', '-x509', '-key', at(`${name}.key`), '-subj', `/CN=${cn}`,
      '-days', '2', '-extensions', 'ca', '-out', at(`${name}.crt`));
  };
  const signed = (name: string, cn: string, ca: string, profile: 'server' | 'client') => {
    newKey(name);
    openssl('req', '-config', at('openssl.cnf'), '-new', '-key', at(`${name}.key`), '-subj', `/CN=${cn}`, '-out', at(`${name}.csr`));
    openssl('x509', '-req', '-in', at(`${name}.csr`), '-CA', at(`${ca}.crt`), '-CAkey', at(`${ca}.key`), '-set_serial',
      String(Math.floor(Math.random() * 1e9) + 1), '-days', '2', '-extfile', at('openssl.cnf'), '-extensions', profile, '-out', at(`${name}.crt`));
  };
  selfSignedCa('ca', 'function-tenantdatabase test CA');
  signed('server', 'localhost', 'ca', 'server');
  signed('client', 'crossplane', 'ca', 'client');
  signed('server2', 'localhost', 'ca', 'server');
  selfSignedCa('other-ca', 'an unrelated CA');
  signed('other-client', 'crossplane', 'other-ca', 'client');

  const serverDir = join(root, 'server');
  mkdirSync(serverDir);
  writeFileSync(join(serverDir, 'ca.crt'), readFileSync(at('ca.crt')));
  writeFileSync(join(serverDir, 'tls.crt'), readFileSync(at('server.crt')));
  writeFileSync(join(serverDir, 'tls.key'), readFileSync(at('server.key')));
  const pair = (name: string) => ({ key: readFileSync(at(`${name}.key`)), cert: readFileSync(at(`${name}.crt`)) });
  return {
    root,
    serverDir,
    ca: readFileSync(at('ca.crt')),
    client: pair('client'),
    otherClient: pair('other-client'),
    otherServer: pair('server2'),
  };
}

let pki: Pki;

beforeAll(() => {
  pki = makePki();
}, SERVER_TIMEOUT);

afterAll(() => {
  for (const child of spawned) child.kill('SIGKILL');
  if (pki) rmSync(pki.root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe('mutual TLS', () => {
  let fn: RunningFunction | undefined;
  const clients: { close: () => void }[] = [];
  const tracked = <T extends { close: () => void }>(c: T) => (clients.push(c), c);

  beforeAll(async () => {
    fn = await startFunction(['--tls-server-certs-dir', pki.serverDir]);
  }, SERVER_TIMEOUT);

  afterAll(async () => {
    for (const c of clients) c.close();
    await kill(fn);
  }, SERVER_TIMEOUT);

  // The server certificate names IP:127.0.0.1 and DNS:localhost. Verify it as localhost: without the override
  // grpc-js would send the IP as TLS server name, which Node flags with a deprecation warning (RFC 6066).
  const TARGET = { 'grpc.ssl_target_name_override': 'localhost' };

  // reason: Crossplane calls functions with a client certificate from the package CA, so that client must get a real answer.
  it('a. a client with a certificate signed by ca.crt gets a usable response', async () => {
    const client = tracked(dial(fn!.address, grpc.credentials.createSsl(pki.ca, pki.client.key, pki.client.cert), TARGET));
    expectUsable(await client.run(secondReconcile()));
  }, SERVER_TIMEOUT);

  // reason: the spec requires client certificates; the SDK's default would let any TLS client in, which anyone on the pod network could use.
  it('b. a client presenting no certificate is refused', async () => {
    const client = tracked(dial(fn!.address, grpc.credentials.createSsl(pki.ca), TARGET));
    await expectRefused(client.run(secondReconcile(), 5_000));
  }, SERVER_TIMEOUT);

  // reason: only the CA in ca.crt may vouch for clients; a certificate from any other CA must not be accepted.
  it('c. a client with a certificate from an unrelated CA is refused', async () => {
    const client = tracked(
      dial(fn!.address, grpc.credentials.createSsl(pki.ca, pki.otherClient.key, pki.otherClient.cert), TARGET),
    );
    await expectRefused(client.run(secondReconcile(), 5_000));
  }, SERVER_TIMEOUT);

  // reason: refused handshakes must not poison the server; Crossplane's next call (on a new connection) must still succeed.
  it('d. after the refusals the proper client still works, on a fresh connection', async () => {
    const client = tracked(
      dial(fn!.address, grpc.credentials.createSsl(pki.ca, pki.client.key, pki.client.cert), {
        ...TARGET,
        'grpc.use_local_subchannel_pool': 1,
      }),
    );
    expectUsable(await client.run(secondReconcile()));
    expect(fn!.process.exitCode).toBeNull();
  }, SERVER_TIMEOUT);
});

describe('process behaviour', () => {
  // reason: when the port is taken, a silent or stack-trace-laden exit makes a crash-looping pod hard to diagnose.
  it('a. a second process on a port already in use exits non-zero with one "cannot listen on" line', async () => {
    const first = await startFunction();
    try {
      const started = performance.now();
      const second = await runToExit(['--insecure', '--address', first.address], 10_000);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(second.code, `stderr: ${second.stderr}`).not.toBe(0);
      expect(second.code).not.toBeNull();
      expectOneLine(second.stderr, /cannot listen on 127\.0\.0\.1:\d+/);
      // The first server is unaffected.
      const client = connect(first.address);
      try {
        expectUsable(await client.run(secondReconcile()));
      } finally {
        client.close();
      }
    } finally {
      await kill(first);
    }
  }, SERVER_TIMEOUT);

  // reason: a missing certificate mount is the most common TLS misconfiguration and must say which file it could not read.
  it('b. a missing TLS directory exits 1 with one "cannot read TLS file" line', async () => {
    const r = await runToExit(['--address', '127.0.0.1:0', '--tls-server-certs-dir', '/nonexistent']);
    expect(r.code, `stderr: ${r.stderr}`).toBe(1);
    expectOneLine(r.stderr, /cannot read TLS file \/nonexistent\/ca\.crt/);
  }, SERVER_TIMEOUT);

  // reason: corrupt or mismatched certificates must fail at startup with a line naming the problem, not as "cannot listen" or a server that refuses everyone.
  it('c. garbage or mismatched TLS files exit 1 with one clear line', async () => {
    const dir = join(pki.root, 'bad');
    mkdirSync(dir, { recursive: true });
    const good = { 'ca.crt': pki.ca, 'tls.crt': readFileSync(join(pki.serverDir, 'tls.crt')), 'tls.key': readFileSync(join(pki.serverDir, 'tls.key')) };
    const junk = Buffer.from('this is not a PEM file\n');
    const variants: { name: string; files: Record<keyof typeof good, Buffer>; expected: RegExp }[] = [
      { name: 'all three junk', files: { 'ca.crt': junk, 'tls.crt': junk, 'tls.key': junk }, expected: /invalid TLS file .*\/bad\/ca\.crt/ },
      { name: 'junk ca.crt', files: { ...good, 'ca.crt': junk }, expected: /invalid TLS file .*\/bad\/ca\.crt/ },
      { name: 'junk tls.crt', files: { ...good, 'tls.crt': junk }, expected: /invalid TLS file .*\/bad\/tls\.crt/ },
      { name: 'junk tls.key', files: { ...good, 'tls.key': junk }, expected: /invalid TLS file .*\/bad\/tls\.key/ },
      { name: 'key of another certificate', files: { ...good, 'tls.key': pki.otherServer.key }, expected: /invalid TLS material .*tls\.crt and tls\.key/ },
    ];
    for (const v of variants) {
      for (const [file, content] of Object.entries(v.files)) writeFileSync(join(dir, file), content);
      const r = await runToExit(['--address', '127.0.0.1:0', '--tls-server-certs-dir', dir]);
      expect(r.code, `${v.name}: stderr: ${r.stderr}`).toBe(1);
      expectOneLine(r.stderr, v.expected);
      expect(r.stderr, v.name).not.toMatch(/cannot listen/);
    }
  }, SERVER_TIMEOUT * 2);

  // reason: a typo in the Deployment's args must fail loudly with the conventional usage exit code, not start with defaults.
  it('d. an unknown flag exits 2 with a usage message', async () => {
    const r = await runToExit(['--address', '127.0.0.1:0', '--insecure', '--no-such-flag']);
    expect(r.code, `stderr: ${r.stderr}`).toBe(2);
    expect(r.stderr).toMatch(/^function-tenantdatabase: .*'--no-such-flag'/);
    expect(r.stderr).toMatch(/--help/);
    expect(r.stderr).not.toMatch(/^ {4}at /m);
    expect(r.stdout).not.toMatch(/"port":/);
  }, SERVER_TIMEOUT);

  // reason: Kubernetes sends SIGTERM on every rollout; calls already under way must complete rather than fail a reconcile.
  it('e. SIGTERM under load: every call started before the signal succeeds, and the exit code is 0', async () => {
    const fn = await startFunction();
    const clients = Array.from({ length: 16 }, () => dial(fn.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    const request = secondReconcile();
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      fn.process.once('exit', (code, signal) => resolve({ code, signal })),
    );
    let exited = false;
    void exit.then(() => (exited = true));
    let signalAt = Number.POSITIVE_INFINITY;
    const ok: number[] = [];
    const failed: { startedAt: number; code: number | undefined; message: string }[] = [];
    const hardStop = performance.now() + 15_000;
    try {
      const loops = clients.map(async (client) => {
        // Bounded: stops at the first failure after the signal, when the process has exited, or after 15 s.
        for (let i = 0; i < 100_000 && performance.now() < hardStop; i++) {
          const startedAt = performance.now();
          try {
            await client.run(request, 5_000);
            ok.push(startedAt);
          } catch (error) {
            const e = error as grpc.ServiceError;
            failed.push({ startedAt, code: e.code, message: e.message });
            if (startedAt > signalAt || exited) return;
          }
          if (exited) return;
        }
      });
      // Every connection up and every loop past its first call (bounded), then ~300 ms of steady load.
      for (let waited = 0; ok.length < clients.length && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      const before = ok.length;
      signalAt = performance.now();
      fn.process.kill('SIGTERM');
      const result = await Promise.race([
        exit,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit within 10 s of SIGTERM')), 10_000)),
      ]);
      await Promise.all(loops);

      expect(before, 'calls completed before SIGTERM').toBeGreaterThanOrEqual(clients.length);
      const startedBefore = failed
        .filter((f) => f.startedAt <= signalAt)
        .map((f) => ({ ...f, msBeforeSignal: +(signalAt - f.startedAt).toFixed(2) }));
      expect(startedBefore, 'calls started before SIGTERM that failed').toEqual([]);
      expect(result).toEqual({ code: 0, signal: null });
      console.info(
        `[process.test] SIGTERM under load: ${ok.length} calls succeeded (${before} before the signal), ` +
          `${failed.length} failed, all started after it`,
      );
    } finally {
      for (const c of clients) c.close();
      await kill(fn);
    }
  }, SERVER_TIMEOUT * 2);
});

describe('load', () => {
  let fn: RunningFunction | undefined;

  beforeAll(async () => {
    fn = await startFunction();
  }, SERVER_TIMEOUT);

  afterAll(async () => {
    await kill(fn);
  }, SERVER_TIMEOUT);

  // reason: Crossplane reconciles many claims concurrently against one replica; under load every answer must be exactly the single-call answer, with no errors.
  // The long run (64 x 2,000 calls) is part of `npm run bench`, which fails the same way.
  it(`${LOAD_CLIENTS} concurrent clients x ${LOAD_CALLS} calls: zero errors, every response byte-identical`, async () => {
    const payload = Buffer.from(RunFunctionRequest.encode(secondReconcile()).finish());
    const reference = await referenceAnswer(fn!.address, payload);
    expectUsable(RunFunctionResponse.decode(reference));

    const result = await identicalUnderLoad({ address: fn!.address, payload, clients: LOAD_CLIENTS, callsPerClient: LOAD_CALLS }, reference);
    console.info(`[process.test] ${describeLoad(result)}`);
    expect(result.problems, 'errors and differences').toEqual([]);
    expect(result.errors).toBe(0);
    expect(result.different).toBe(0);
    expect(result.identical).toBe(LOAD_CLIENTS * LOAD_CALLS);
    expect(allIdentical(result)).toBe(true);
    expect(fn!.process.exitCode).toBeNull();
  }, LOAD_TIMEOUT);
});
