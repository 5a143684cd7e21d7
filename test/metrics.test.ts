/**
 * The function's Prometheus endpoint, as Prometheus sees it: the shipped
 * process (dist/function/main.js, built by `pretest`) takes real gRPC calls
 * (a first reconcile, refusals, one that asks for a Secret), then its real
 * /metrics is scraped over HTTP and the counters and histograms must have
 * moved by exactly what was sent. No tenant name, namespace or password may
 * appear anywhere in the scrape. Also: the flag's forms (off, in use, with
 * mutual TLS on gRPC).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFunctionRequest, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_METRICS_ADDRESS } from '../function/flags.js';
import { repoPath } from './support/shared.js';
import { MAIN, connect, startFunction, type RunningFunction } from '../scripts/shared/client.js';
import { EXAMPLE_PASSWORD, NAMESPACE, REQUIRED_PASSWORD, TENANT, good, invalidSpec, notAllowed, secondReconcile, withRequirements } from './monitoring/requests.js';
import { parseMetrics, total, type Labels, type Sample } from './monitoring/prom-text.js';

const TIMEOUT = 20_000;

function metricsUrl(fn: RunningFunction): string {
  const m = /"metricsPort":(\d+)/.exec(fn.output());
  if (!m) throw new Error(`the function logged no metrics port:\n${fn.output()}`);
  return `http://127.0.0.1:${m[1]}/metrics`;
}

async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const rsp = await fetch(url);
  expect(rsp.status).toBe(200);
  expect(rsp.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await rsp.text();
  return { text, samples: parseMetrics(text) };
}

const fatalReason = (rsp: RunFunctionResponse) => rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.reason;

describe('the function serves Prometheus metrics about its calls', () => {
  let fn: RunningFunction | undefined;
  let client: ReturnType<typeof connect> | undefined;

  beforeAll(async () => {
    fn = await startFunction(['--insecure', '--metrics-address', '127.0.0.1:0']);
    client = connect(fn.address);
  }, TIMEOUT);
  afterAll(async () => {
    client?.close();
    await fn?.stop();
  }, TIMEOUT);

  // reason: the counters, histograms and labels are what the alerts and the dashboard query; they must move by exactly what was sent.
  it('counts calls by outcome and reason, times compose, measures the wire and the requirements', async () => {
    const url = metricsUrl(fn!);
    const before = (await scrape(url)).samples;

    const sent = [good(), good(), secondReconcile(), notAllowed(), invalidSpec(), withRequirements()];
    const answers: RunFunctionResponse[] = [];
    for (const req of sent) answers.push(await client!.run(req));
    // The calls are what they claim to be (else the deltas below would prove nothing).
    expect(answers.map(fatalReason)).toEqual([undefined, undefined, undefined, 'NotAllowed', 'InvalidSpec', undefined]);
    expect(Object.keys(answers[5]!.requirements?.resources ?? {})).toContain('role-connection-secret');
    // A new tenant asks for the platform's password key (function/passwords.ts); a settled one asks for nothing.
    for (const a of answers.slice(0, 2)) expect(Object.keys(a.requirements?.resources ?? {})).toEqual(['password-key']);
    expect(answers[2]!.requirements?.resources ?? {}).toEqual({});
    const asking = answers.filter((a) => Object.keys(a.requirements?.resources ?? {}).length > 0);
    const required = asking.reduce((n, a) => n + Object.keys(a.requirements!.resources).length, 0);

    const { text, samples: after } = await scrape(url);
    const delta = (name: string, labels: Labels = {}) => total(after, name, labels) - total(before, name, labels);

    expect(delta('tenantdb_function_calls_total')).toBe(6);
    expect(delta('tenantdb_function_calls_total', { outcome: 'rendered', reason: '', flavour: 'claim' })).toBe(3);
    expect(delta('tenantdb_function_calls_total', { outcome: 'rendered', reason: '', flavour: 'namespaced' })).toBe(1);
    expect(delta('tenantdb_function_calls_total', { outcome: 'refused', reason: 'NotAllowed', flavour: 'claim' })).toBe(1);
    expect(delta('tenantdb_function_calls_total', { outcome: 'refused', reason: 'InvalidSpec', flavour: 'namespaced' })).toBe(1);
    expect(delta('tenantdb_function_calls_total', { outcome: 'refused', reason: 'InternalError' })).toBe(0);

    expect(delta('tenantdb_function_call_duration_seconds_count', { outcome: 'rendered' })).toBe(4);
    expect(delta('tenantdb_function_call_duration_seconds_count', { outcome: 'refused' })).toBe(2);
    const seconds = delta('tenantdb_function_call_duration_seconds_sum');
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(5);
    // Cumulative buckets: the +Inf bucket holds every call, and no bucket holds more than a wider one.
    expect(delta('tenantdb_function_call_duration_seconds_bucket', { outcome: 'rendered', le: '+Inf' })).toBe(4);
    const buckets = after
      .filter((s) => s.name === 'tenantdb_function_call_duration_seconds_bucket' && s.labels.outcome === 'rendered')
      .map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));

    // Wire sizes, to the byte: the SDK client encodes exactly these messages, and the answers are byte-stable.
    const requestBytes = sent.reduce((n, r) => n + RunFunctionRequest.encode(r).finish().length, 0);
    const responseBytes = answers.reduce((n, r) => n + RunFunctionResponse.encode(r).finish().length, 0);
    expect(delta('tenantdb_function_request_bytes_count')).toBe(6);
    expect(delta('tenantdb_function_request_bytes_sum')).toBe(requestBytes);
    expect(delta('tenantdb_function_response_bytes_count')).toBe(6);
    expect(delta('tenantdb_function_response_bytes_sum')).toBe(responseBytes);

    expect(delta('tenantdb_function_calls_with_requirements_total')).toBe(asking.length);
    expect(delta('tenantdb_function_required_resources_total', { kind: 'Secret' })).toBe(required);
    expect(total(after, 'tenantdb_function_calls_in_flight')).toBe(0);

    // prom-client's default process metrics are there.
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(after.some((s) => s.name === name), name).toBe(true);
    }

    // Nothing a tenant wrote, and no secret, in any label or anywhere in the text.
    for (const word of [TENANT, NAMESPACE, 'my-app-db', 'my-namespace', REQUIRED_PASSWORD, EXAMPLE_PASSWORD, 'plpython3u']) {
      expect(text, `the scrape contains "${word}"`).not.toContain(word);
    }
    const reasons = new Set(after.filter((s) => s.name === 'tenantdb_function_calls_total').map((s) => s.labels.reason));
    for (const r of reasons) expect(['', 'InvalidSpec', 'InvalidResource', 'NotAllowed', 'InvalidFunctionInput', 'CredentialsUnavailable', 'InvalidRequest', 'InternalError', 'Unknown']).toContain(r);
  }, TIMEOUT);

  // reason: Prometheus only scrapes /metrics; anything else must say where the metrics are rather than pretend.
  it('answers 404 off the metrics path', async () => {
    const rsp = await fetch(metricsUrl(fn!).replace('/metrics', '/'));
    expect(rsp.status).toBe(404);
    expect(await rsp.text()).toContain('/metrics');
  }, TIMEOUT);
});

describe('--metrics-address', () => {
  const started: RunningFunction[] = [];
  afterAll(async () => {
    for (const fn of started) await fn.stop();
  }, TIMEOUT);

  // reason: Crossplane guards gRPC with mutual TLS, while Prometheus scrapes plain HTTP; the endpoint must serve in that setup.
  it('serves metrics over plain HTTP while gRPC requires client certificates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fn-metrics-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'tls.key'),
        '-out', join(dir, 'tls.crt'), '-subj', '/CN=localhost', '-days', '1'], { stdio: 'ignore' });
      execFileSync('cp', [join(dir, 'tls.crt'), join(dir, 'ca.crt')]);
      const fn = await startFunction(['--tls-server-certs-dir', dir, '--metrics-address', '127.0.0.1:0']);
      started.push(fn);
      expect(fn.output()).toContain('"tls":true');
      const { samples } = await scrape(metricsUrl(fn));
      expect(samples.some((s) => s.name === 'tenantdb_function_calls_total')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, TIMEOUT);

  // reason: an empty address is how an operator turns metrics off; the function must then open no port and still answer.
  it('empty: no metrics endpoint, gRPC still answers', async () => {
    const fn = await startFunction(['--insecure', '--metrics-address=']);
    started.push(fn);
    expect(fn.output()).not.toContain('metricsPort');
    const client = connect(fn.address);
    try {
      const rsp = await client.run(good());
      expect(fatalReason(rsp)).toBeUndefined();
    } finally {
      client.close();
    }
  }, TIMEOUT);

  // reason: without the flag the environment's default applies (how the test suites move metrics off :8080).
  it('not given: FUNCTION_METRICS_ADDRESS decides', async () => {
    // Spawned here rather than through startFunction(), so no caller's default flag can hide the variable.
    const child = spawn(process.execPath, [MAIN, '--insecure', '--address', '127.0.0.1:0'], {
      env: { ...process.env, FUNCTION_METRICS_ADDRESS: '127.0.0.1:0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          output += c.toString();
          if (output.includes('"msg":"listening"')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
      });
      expect(output).toContain('"metricsAddress":"127.0.0.1:0"');
      const port = /"metricsPort":(\d+)/.exec(output)?.[1];
      expect((await scrape(`http://127.0.0.1:${port}/metrics`)).samples.length).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, TIMEOUT);

  // reason: a function that cannot serve its metrics must not run unobserved; it exits non-zero with one clear line.
  it('in use: exits 1 with one line naming the address', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, [MAIN, '--insecure', '--address', '127.0.0.1:0', '--metrics-address', `127.0.0.1:${port}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((r) => child.once('close', r));
      expect(code).toBe(1);
      expect(stderr.trimEnd().split('\n')).toEqual([`function-tenantdatabase: cannot listen on metrics address 127.0.0.1:${port}: EADDRINUSE`]);
    } finally {
      blocker.close();
    }
  }, TIMEOUT);

  // reason: a malformed address is an operator's typo; it must be named, not silently turned into a default.
  it('malformed: exits 1 and says what form it takes', () => {
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [MAIN, '--insecure', '--metrics-address', 'localhost'], { stdio: 'pipe' });
    } catch (error) {
      const e = error as { status: number; stderr: Buffer };
      failure = { status: e.status, stderr: e.stderr.toString() };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toMatch(/^function-tenantdatabase: invalid --metrics-address: "localhost" is not host:port/);
  }, TIMEOUT);

  // reason: operators discover the flag from --help.
  it('is listed by --help', () => {
    const help = execFileSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/--metrics-address <value>\s+.*Default :8080; empty turns them off/);
    expect(help).toMatch(/--tls-server-certs-dir <value>/);
  });
});

describe('examples/monitoring', () => {
  const docs = (file: string) =>
    parseAllDocuments(readFileSync(repoPath(`examples/monitoring/${file}`), 'utf8')).map((d) => d.toJSON() as Record<string, any>);

  // reason: the PodMonitor finds nothing unless its selector, port name and path match the pods the runtime config shapes and the port the function serves.
  it('the PodMonitor scrapes the port the DeploymentRuntimeConfig names, on the function the Function object installs', () => {
    const [runtime, fn] = docs('function-runtime.yaml');
    const [monitor] = docs('podmonitor.yaml');
    expect(runtime).toMatchObject({ apiVersion: 'pkg.crossplane.io/v1beta1', kind: 'DeploymentRuntimeConfig' });
    expect(fn).toMatchObject({ kind: 'Function', spec: { runtimeConfigRef: { name: runtime!.metadata.name } } });
    // Crossplane runs a function in the container named package-runtime.
    const container = runtime!.spec.deploymentTemplate.spec.template.spec.containers.find((c: { name: string }) => c.name === 'package-runtime');
    const port = container.ports.find((p: { name: string }) => p.name === 'metrics');
    expect(`:${port.containerPort}`).toBe(DEFAULT_METRICS_ADDRESS);
    expect(monitor).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { labels: { release: 'kube-prometheus-stack' } } });
    expect(monitor!.spec.selector.matchLabels).toEqual({ 'pkg.crossplane.io/function': fn!.metadata.name });
    expect(monitor!.spec.podMetricsEndpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
  });
});
