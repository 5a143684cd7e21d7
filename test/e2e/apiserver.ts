/**
 * A throwaway Kubernetes control plane for the end-to-end tests: an embedded
 * etcd and the real kube-apiserver (built by e2e/build.sh into a cache outside
 * the repo), both on 127.0.0.1 only, on free ports, with all state in a
 * temporary folder. No controllers, no kubelet, no network beyond loopback:
 * just the API server's own validation (OpenAPI schemas, CEL rules, strict
 * field validation, defaulting, pruning) of what we send it.
 *
 * `startControlPlane()` returns a small HTTP client (node:https, bearer token,
 * self-signed serving certificate accepted) and a `stop()` that ends the
 * process groups it started. They are also ended when this process exits, and
 * by a watchdog if this process dies without running its exit handlers.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/ports.js';

export type Obj = Record<string, any>;

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const FIELD_MANAGER = 'tenantdb-e2e';

/** Folder holding kube-apiserver and etcd: $E2E_BIN_DIR, or e2e/build.sh's (building when the cache is cold). */
export function binDir(): string {
  if (process.env.E2E_BIN_DIR) return process.env.E2E_BIN_DIR;
  const out = execFileSync('bash', [join(repoRoot, 'e2e/build.sh')], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const dir = out.trim().split('\n').pop();
  if (!dir) throw new Error('e2e/build.sh printed no folder');
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(path: string, lines = 40): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------- processes

/** Process groups this module started and has not yet seen stopped. */
const groups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of groups) killGroup(pgid, 'SIGKILL');
  });
}

interface Started {
  child: ChildProcess;
  pgid: number;
  log: string;
  exited: Promise<number | null>;
}

/**
 * Start a command in its own process group, output to a log file, plus a
 * watchdog (its own group too) that ends the group should this process die
 * without cleaning up (e.g. a worker killed with SIGKILL).
 */
function startGroup(cmd: string, args: string[], log: string, stdout: 'log' | 'pipe' = 'log', removeAfter?: string): Started {
  installExitHook();
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', stdout === 'pipe' ? 'pipe' : fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  const pgid = child.pid;
  groups.add(pgid);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => {
    groups.delete(pgid);
    r(code);
  }));
  const watchdog = spawn(
    'sh',
    [
      '-c',
      // Poll until this process or the group is gone; then end the group (a
      // no-op when stop() already did) and, if this process died, its files.
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 -${pgid} 2>/dev/null; do sleep 1; done; ` +
        `kill -0 -${pgid} 2>/dev/null || exit 0; kill -TERM -${pgid} 2>/dev/null; sleep 5; kill -KILL -${pgid} 2>/dev/null; ` +
        (removeAfter ? `kill -0 ${process.pid} 2>/dev/null || rm -rf '${removeAfter.replace(/'/g, `'\\''`)}'; ` : '') +
        'exit 0',
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  if (watchdog.pid !== undefined) {
    const wd = watchdog.pid;
    groups.add(wd);
    watchdog.once('exit', () => groups.delete(wd));
  }
  return { child, pgid, log, exited };
}

async function stopGroup(s: Started, graceMs = 10_000): Promise<void> {
  if (!groups.has(s.pgid)) return;
  killGroup(s.pgid, 'SIGTERM');
  const done = await Promise.race([s.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) killGroup(s.pgid, 'SIGKILL');
  await Promise.race([s.exited, sleep(2_000)]);
  // The group may hold more than the leader; end whatever is left.
  killGroup(s.pgid, 'SIGKILL');
  groups.delete(s.pgid);
}

// ---------------------------------------------------------------- client

/**
 * The texts of a Warning header (RFC 9110: `299 - "text"`, several joined by
 * commas when Node merges repeated headers), unquoted.
 */
function splitWarnings(header: string): string[] {
  const out: string[] = [];
  const re = /\d{3} \S+ "((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(header); m; m = re.exec(header)) out.push(m[1]!.replace(/\\(.)/g, '$1'));
  return out.length ? out : [header];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Obj | string,
    readonly warnings: string[],
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${typeof body === 'string' ? body : (body.message ?? JSON.stringify(body))}`);
  }
}

export interface Response {
  status: number;
  body: Obj;
  warnings: string[];
}

export interface WriteOptions {
  dryRun?: boolean;
  /** Strict by default: unknown or duplicate fields are errors, not warnings. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

interface ApiResource {
  plural: string;
  namespaced: boolean;
}

export class KubeClient {
  private readonly agent: Agent;
  private discovery = new Map<string, Map<string, ApiResource>>();

  constructor(
    readonly server: string,
    private readonly token: string,
  ) {
    // The serving certificate is self-signed by kube-apiserver in its --cert-dir.
    this.agent = new Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: 16 });
  }

  close(): void {
    this.agent.destroy();
  }

  /** One HTTP request; JSON in, JSON out; never throws on an HTTP status. */
  raw(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolveRsp, reject) => {
      const req = httpsRequest(
        new URL(path, this.server),
        {
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
          },
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Obj;
            try {
              parsed = text ? (JSON.parse(text) as Obj) : {};
            } catch {
              parsed = { message: text };
            }
            const w = res.headers.warning;
            const warnings = (Array.isArray(w) ? w : w ? [w] : []).flatMap(splitWarnings);
            resolveRsp({ status: res.statusCode ?? 0, body: parsed, warnings });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  private async ok(method: string, path: string, body?: unknown, contentType?: string): Promise<Response> {
    const rsp = await this.raw(method, path, body, contentType);
    if (rsp.status < 200 || rsp.status > 299) throw new ApiError(rsp.status, rsp.body, rsp.warnings, `${method} ${path}`);
    return rsp;
  }

  /** The REST resource (plural, scope) serving apiVersion/kind, from discovery. */
  async resourceFor(apiVersion: string, kind: string): Promise<ApiResource> {
    const hit = this.discovery.get(apiVersion)?.get(kind);
    if (hit) return hit;
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    for (let attempt = 0; ; attempt++) {
      const rsp = await this.raw('GET', base);
      if (rsp.status === 200) {
        const kinds = new Map<string, ApiResource>();
        for (const r of (rsp.body.resources ?? []) as Obj[]) {
          if (!String(r.name).includes('/')) kinds.set(r.kind, { plural: r.name, namespaced: !!r.namespaced });
        }
        this.discovery.set(apiVersion, kinds);
        const found = kinds.get(kind);
        if (found) return found;
      }
      if (attempt >= 30) throw new Error(`the API server serves no ${kind} in ${apiVersion} (is its CRD installed?)`);
      await sleep(500);
    }
  }

  /** Collection path of obj's resource; the namespace is obj's, or `namespace` when obj has none. */
  async collectionPath(obj: Obj, namespace?: string): Promise<string> {
    const { apiVersion, kind } = obj;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string') throw new Error(`object without apiVersion/kind: ${JSON.stringify(obj).slice(0, 200)}`);
    const r = await this.resourceFor(apiVersion, kind);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (!r.namespaced) return `${base}/${r.plural}`;
    const ns = obj.metadata?.namespace ?? namespace;
    if (!ns) throw new Error(`${kind} ${obj.metadata?.name} is namespaced but has no namespace`);
    return `${base}/namespaces/${encodeURIComponent(ns)}/${r.plural}`;
  }

  async objectPath(obj: Obj): Promise<string> {
    const name = obj.metadata?.name;
    if (typeof name !== 'string' || !name) throw new Error(`${obj.kind} without metadata.name`);
    return `${await this.collectionPath(obj)}/${encodeURIComponent(name)}`;
  }

  async isNamespaced(obj: Obj): Promise<boolean> {
    return (await this.resourceFor(obj.apiVersion, obj.kind)).namespaced;
  }

  private static query(opts: WriteOptions, extra: Record<string, string> = {}): string {
    const q = new URLSearchParams({ fieldValidation: opts.fieldValidation ?? 'Strict', ...extra });
    if (opts.dryRun) q.set('dryRun', 'All');
    return q.toString();
  }

  /** POST (create). Throws ApiError on any non-2xx answer. */
  async create(obj: Obj, opts: WriteOptions = {}): Promise<Response> {
    return this.ok('POST', `${await this.collectionPath(obj)}?${KubeClient.query(opts)}`, obj);
  }

  /** Server-side apply (as Crossplane applies composed resources), field manager tenantdb-e2e, force. */
  async apply(obj: Obj, opts: WriteOptions = {}): Promise<Response> {
    const q = KubeClient.query(opts, { fieldManager: FIELD_MANAGER, force: 'true' });
    return this.ok('PATCH', `${await this.objectPath(obj)}?${q}`, obj, 'application/apply-patch+yaml');
  }

  /** Server-side apply to the status subresource. */
  async applyStatus(obj: Obj, opts: WriteOptions = {}): Promise<Response> {
    const q = KubeClient.query(opts, { fieldManager: FIELD_MANAGER, force: 'true' });
    return this.ok('PATCH', `${await this.objectPath(obj)}/status?${q}`, obj, 'application/apply-patch+yaml');
  }

  async get(obj: Obj): Promise<Obj> {
    return (await this.ok('GET', await this.objectPath(obj))).body;
  }

  async exists(obj: Obj): Promise<boolean> {
    const rsp = await this.raw('GET', await this.objectPath(obj));
    if (rsp.status === 404) return false;
    if (rsp.status === 200) return true;
    throw new ApiError(rsp.status, rsp.body, rsp.warnings, `GET ${obj.kind} ${obj.metadata?.name}`);
  }

  /** Delete and wait until it is gone (none of these objects has finalizers: no controllers run). */
  async delete(obj: Obj, timeoutMs = 60_000): Promise<void> {
    const path = await this.objectPath(obj);
    const rsp = await this.raw('DELETE', `${path}?propagationPolicy=Background`);
    if (rsp.status === 404) return;
    if (rsp.status < 200 || rsp.status > 299) throw new ApiError(rsp.status, rsp.body, rsp.warnings, `DELETE ${path}`);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.raw('GET', path)).status === 404) return;
      await sleep(200);
    }
    throw new Error(`${path} still exists ${timeoutMs} ms after DELETE`);
  }

  /** Create a namespace unless it exists. */
  async ensureNamespace(name: string): Promise<void> {
    const rsp = await this.raw('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (rsp.status !== 201 && rsp.status !== 409) throw new ApiError(rsp.status, rsp.body, rsp.warnings, `create namespace ${name}`);
  }

  /** Server-side apply a CRD (Strict), then wait until it is Established and its resource is served. */
  async applyCRD(crd: Obj, timeoutMs = 120_000): Promise<void> {
    if (crd?.kind !== 'CustomResourceDefinition') throw new Error(`not a CRD: ${crd?.kind} ${crd?.metadata?.name}`);
    const name = crd.metadata.name as string;
    const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`;
    const q = KubeClient.query({}, { fieldManager: FIELD_MANAGER, force: 'true' });
    await this.ok('PATCH', `${path}?${q}`, crd, 'application/apply-patch+yaml');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await this.ok('GET', path);
      const conds = (body.status?.conditions ?? []) as Obj[];
      const established = conds.some((c) => c.type === 'Established' && c.status === 'True');
      const namesConflict = conds.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
      if (namesConflict) throw new Error(`CRD ${name}: ${namesConflict.message}`);
      if (established) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established within ${timeoutMs} ms: ${JSON.stringify(conds)}`);
      await sleep(200);
    }
    // Established can precede the REST handler by a moment; wait until a list answers.
    const served = (crd.spec.versions as Obj[]).filter((v) => v.served);
    for (const v of served) {
      const list = `/apis/${crd.spec.group}/${v.name}/${crd.spec.names.plural}?limit=1`;
      for (;;) {
        const rsp = await this.raw('GET', list);
        if (rsp.status === 200) break;
        if (Date.now() > deadline) throw new ApiError(rsp.status, rsp.body, rsp.warnings, `GET ${list}`);
        await sleep(200);
      }
    }
    for (const v of served) this.discovery.delete(`${crd.spec.group}/${v.name}`);
  }

  /** Delete a CRD and wait until it and its resource are gone. */
  async deleteCRD(name: string, timeoutMs = 120_000): Promise<void> {
    const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`;
    const rsp = await this.raw('DELETE', path);
    if (rsp.status !== 404 && (rsp.status < 200 || rsp.status > 299)) throw new ApiError(rsp.status, rsp.body, rsp.warnings, `DELETE ${path}`);
    const deadline = Date.now() + timeoutMs;
    while ((await this.raw('GET', path)).status !== 404) {
      if (Date.now() > deadline) throw new Error(`CRD ${name} still exists ${timeoutMs} ms after DELETE`);
      await sleep(250);
    }
    this.discovery.clear();
  }
}

// ---------------------------------------------------------------- control plane

export interface ControlPlane {
  client: KubeClient;
  server: string;
  /** Folder with the logs (etcd.log, kube-apiserver.log); removed by stop() unless E2E_KEEP=1. */
  workDir: string;
  stop(): Promise<void>;
}

async function startEtcd(bin: string, workDir: string): Promise<{ proc: Started; url: string }> {
  const log = join(workDir, 'etcd.log');
  // etcd starts first and stops last: its watchdog also removes workDir if this process dies.
  const proc = startGroup(join(bin, 'etcd'), ['-data-dir', join(workDir, 'etcd-data')], log, 'pipe', workDir);
  const ready = new Promise<string>((resolveUrl, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`etcd printed no client URL within 60 s:\n${tail(log)}`)), 60_000);
    proc.child.stdout!.setEncoding('utf8');
    proc.child.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      const m = /ETCD_CLIENT_URL=(\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`etcd exited with ${code} before serving:\n${tail(log)}`));
    });
  });
  let url: string;
  try {
    url = await ready;
  } catch (error) {
    await stopGroup(proc);
    throw error;
  }
  proc.child.stdout!.resume();
  return { proc, url };
}

/**
 * Start etcd and kube-apiserver, wait until /readyz answers ok, and return a
 * client authenticated as a member of system:masters.
 */
export async function startControlPlane(): Promise<ControlPlane> {
  const bin = binDir();
  const workDir = mkdtempSync(join(tmpdir(), 'tenantdb-e2e-'));
  const started: Started[] = [];
  let client: KubeClient | undefined;
  const stop = async () => {
    client?.close();
    for (const s of [...started].reverse()) await stopGroup(s);
    if (process.env.E2E_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const etcd = await startEtcd(bin, workDir);
    started.push(etcd.proc);

    const token = randomBytes(24).toString('hex');
    writeFileSync(join(workDir, 'tokens.csv'), `${token},e2e-admin,e2e-admin,"system:masters"\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(workDir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(workDir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));

    const log = join(workDir, 'kube-apiserver.log');
    let lastError: Error | undefined;
    // A free port can be taken between probing and binding; try a few.
    for (let attempt = 0; attempt < 3 && !client; attempt++) {
      const port = await freePort();
      const apiserver = startGroup(join(bin, 'kube-apiserver'), [
        `--etcd-servers=${etcd.url}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${join(workDir, 'certs')}`,
        '--authorization-mode=AlwaysAllow',
        `--token-auth-file=${join(workDir, 'tokens.csv')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(workDir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(workDir, 'sa.key')}`,
        // Only a configuration value: nothing routes traffic there.
        '--service-cluster-ip-range=10.0.0.0/24',
        '--endpoint-reconciler-type=none',
        '--disable-admission-plugins=ServiceAccount',
        '--enable-priority-and-fairness=false',
        '--storage-media-type=application/json',
        '--profiling=false',
        '--v=1',
      ], log);
      started.push(apiserver);
      const server = `https://127.0.0.1:${port}`;
      const candidate = new KubeClient(server, token);
      const deadline = Date.now() + 120_000;
      let exited: number | null | undefined;
      void apiserver.exited.then((code) => { exited = code; });
      while (Date.now() < deadline && exited === undefined) {
        try {
          const rsp = await candidate.raw('GET', '/readyz');
          if (rsp.status === 200) {
            client = candidate;
            break;
          }
        } catch {
          /* not listening yet */
        }
        await sleep(250);
      }
      if (!client) {
        candidate.close();
        lastError = new Error(exited !== undefined
          ? `kube-apiserver exited with ${exited}:\n${tail(log)}`
          : `kube-apiserver not ready within 120 s:\n${tail(log)}`);
        await stopGroup(apiserver);
        // Retry only when the port was taken in the meantime.
        if (exited === undefined || !/address already in use/.test(tail(log, 20))) break;
      }
    }
    if (!client) throw lastError ?? new Error('kube-apiserver did not start');
    return { client, server: client.server, workDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
