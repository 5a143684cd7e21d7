/**
 * A cluster in miniature, for tests that follow a claim through several
 * reconciles: it calls compose() the way Crossplane v2.2.4 does and applies
 * what comes back the way Crossplane and provider-sql v0.16.0 were measured to
 * (../shared/SPEC.md, "How real Crossplane v2.2.4 and provider-sql v0.16.0
 * behave"; ../shared/fixtures/crossplane-v2.2.4/):
 *
 * - each reconcile calls the function once, and again with the required
 *   resources when the answer carries requirements;
 * - a Fatal answer changes nothing; otherwise the desired objects become the
 *   observed ones (ready), and objects no longer desired are deleted; a Job's
 *   status is left to the Job controller (whoever drives the Cluster);
 * - the function is compose() in-process (reconcile()), or any async call,
 *   e.g. the real gRPC server (reconcileVia(), test/model/);
 * - provider-sql v0.16.0's password rules (test/sql/provider-sql.ts has them
 *   in full): a Role with passwordSecretRef takes the password from that
 *   Secret (an observed composed Secret; none yet: nothing happens), whenever
 *   it is not empty and differs from the one in the Role's connection secret,
 *   and publishes it there; a Role without one gets a generated password when
 *   its connection secret is missing, but only while
 *   status.atProvider.lastPasswordChange is unset (which that sets); the
 *   role's previous password stops working;
 * - the platform's password key Secret exists (PLATFORM_KEY), unless removed;
 * - Crossplane passes each observed Role the connection details of the secret
 *   its observed writeConnectionSecretToRef names.
 *
 * Passwords are deterministic (`generated-1`, `generated-2`, …), so a sequence
 * of reconciles is as repeatable as compose() itself.
 */
import { Severity, type Resource, type RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../../function/compose.js';
import { NOW } from './shared.js';
import { PLATFORM_KEY } from '../../scripts/shared/examples.js';

type Obj = Record<string, any>;

export const ENDPOINT = 'aurora.example.internal';

export interface Reconcile {
  /** The answers of this reconcile: one, or two when the first carried requirements. */
  calls: RunFunctionResponse[];
  /** The answer Crossplane acted on (the last one). */
  response: RunFunctionResponse;
  fatal?: string;
}

export class Cluster {
  /** Observed composed resources, by composed-resource name. */
  observed: Record<string, Obj> = {};
  /** Connection secrets provider-sql wrote, by namespace/name. */
  secrets = new Map<string, Record<string, string>>();
  /** The password each PostgreSQL role accepts now. */
  passwords = new Map<string, string>();
  /** Roles whose LOGIN provider-sql has taken away (privileges.login false). */
  noLogin = new Set<string>();
  /** The clock the function is called with (compose's nowMs). */
  now = NOW;
  /** Write the desired XR status back to the XR, as Crossplane does (off by default: most tests set the XR themselves). */
  writesStatus = false;
  private generated = 0;
  private clock = Date.UTC(2026, 11, 2, 12, 0, 0);

  /** @param xr the observed XR; @param input the Composition's function input. */
  constructor(
    public xr: Obj,
    private readonly input: Obj,
  ) {
    this.secrets.set(PLATFORM_KEY_AT, { key: PLATFORM_KEY });
  }

  request(required: Record<string, Obj[]> = {}): RunFunctionRequest {
    const resources: Record<string, Resource> = {};
    for (const [key, resource] of Object.entries(this.observed)) {
      resources[key] = { resource: structuredClone(resource), connectionDetails: this.connectionDetails(resource), ready: 0 } as Resource;
    }
    return {
      meta: { tag: '', capabilities: [] },
      observed: { composite: { resource: structuredClone(this.xr), connectionDetails: {}, ready: 0 }, resources },
      desired: { composite: undefined, resources: {} },
      input: structuredClone(this.input),
      context: undefined,
      extraResources: {},
      credentials: {},
      requiredResources: Object.fromEntries(
        Object.entries(required).map(([key, items]) => [key, { items: items.map((resource) => ({ resource, connectionDetails: {}, ready: 0 })) }]),
      ),
      requiredSchemas: {},
    };
  }

  /**
   * One reconcile. With `providerLag`, provider-sql has not yet acted on the
   * objects applied by this reconcile when the next one starts.
   */
  reconcile(options: { providerLag?: boolean } = {}): Reconcile {
    return this.applyCalls(crossplaneCalls((required) => this.request(required), (key) => this.secrets.get(key), this.now), options);
  }

  /**
   * One reconcile, as reconcile(), calling the function through `call` (e.g.
   * the real gRPC server, test/model/): the same requirements loop, and the
   * answer applied by the same rules.
   */
  async reconcileVia(call: CallFunction, options: { providerLag?: boolean } = {}): Promise<Reconcile> {
    return this.applyCalls(await crossplaneCallsVia(call, (required) => this.request(required), (key) => this.secrets.get(key), this.now), options);
  }

  private applyCalls(calls: RunFunctionResponse[], options: { providerLag?: boolean }): Reconcile {
    const response = calls[calls.length - 1]!;
    const fatal = response.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
    if (fatal) return { calls, response, fatal };
    if (this.writesStatus) this.xr = { ...this.xr, status: structuredClone(response.desired?.composite?.resource?.status ?? {}) };
    this.apply(response, options.providerLag === true);
    return { calls, response };
  }

  /**
   * Reconcile until a reconcile composes nothing new: objects are created in
   * order (function/order.ts), a layer per reconcile, so a new tenant takes a
   * few. Returns the last reconcile, which observed everything it desired.
   */
  converge(maxReconciles = 12): Reconcile {
    for (let i = 0; i < maxReconciles; i++) {
      const before = Object.keys(this.observed).sort().join();
      const r = this.reconcile();
      if (r.fatal || Object.keys(this.observed).sort().join() === before) return r;
    }
    throw new Error(`no convergence after ${maxReconciles} reconciles`);
  }

  /** provider-sql catching up after a lagging reconcile. */
  settle(): void {
    for (const role of Object.values(this.observed).filter((o) => o.kind === 'Role')) this.providerSqlRole(role);
  }

  private apply(response: RunFunctionResponse, providerLag: boolean): void {
    const desired = response.desired?.resources ?? {};
    const next: Record<string, Obj> = {};
    for (const [key, r] of Object.entries(desired)) {
      const object = structuredClone(r.resource as Obj);
      const before = this.observed[key];
      if (object.apiVersion === 'batch/v1' && object.kind === 'Job') {
        // A Job's status is the Job controller's (Complete, Failed), not a managed resource's: kept as observed.
        if (before?.status) object.status = structuredClone(before.status);
        next[key] = object;
        continue;
      }
      object.status = { ...(before?.status ?? {}), conditions: [{ type: 'Ready', status: 'True', reason: 'Available' }, { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' }] };
      next[key] = object;
    }
    this.observed = next;
    if (!providerLag) this.settle();
  }

  /** Whether PostgreSQL would let `username` log in with `password` now. */
  logsIn(username: string, password: string): boolean {
    return this.passwords.get(username) === password && !this.noLogin.has(username);
  }

  /** provider-sql's Role reconcile, as far as passwords (and LOGIN) go. */
  private providerSqlRole(role: Obj): void {
    const ref = role.spec?.writeConnectionSecretToRef ?? {};
    const where = `${ref.namespace ?? role.metadata?.namespace ?? ''}/${ref.name}`;
    const name = role.metadata?.annotations?.['crossplane.io/external-name'];
    if (role.spec?.forProvider?.privileges?.login === false) this.noLogin.add(name);
    else this.noLogin.delete(name);
    const own = role.spec?.forProvider?.passwordSecretRef;
    if (own) {
      const secret = Object.values(this.observed).find(
        (o) => o.apiVersion === 'v1' && o.kind === 'Secret' && o.metadata?.name === own.name && (o.metadata?.namespace ?? '') === (own.namespace ?? role.metadata?.namespace ?? ''),
      );
      if (!secret) return; // cannot get password secret: nothing changes
      const password = Buffer.from(String(secret.data?.[own.key] ?? ''), 'base64').toString('utf8');
      if (password === '' || password === this.secrets.get(where)?.password) return;
      this.passwords.set(name, password);
      this.secrets.set(where, { username: name, password, endpoint: ENDPOINT, port: '5432' });
      return;
    }
    if (this.secrets.get(where)?.password || role.status?.atProvider?.lastPasswordChange) return;
    this.generated += 1;
    this.clock += 60_000;
    const password = `generated-${this.generated}`;
    this.passwords.set(name, password);
    this.secrets.set(where, { username: name, password, endpoint: ENDPOINT, port: '5432' });
    role.status = { ...role.status, atProvider: { ...(role.status?.atProvider ?? {}), lastPasswordChange: new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, 'Z') } };
  }

  private connectionDetails(resource: Obj): Record<string, Uint8Array> {
    const ref = resource.spec?.writeConnectionSecretToRef;
    if (!ref) return {};
    const data = this.secrets.get(`${ref.namespace ?? resource.metadata?.namespace ?? ''}/${ref.name}`) ?? {};
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)]));
  }
}

/** Where the platform's password key Secret is (the function input's default). */
export const PLATFORM_KEY_AT = 'crossplane-system/tenantdb-password-key';

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
}

/** Connection secrets' data by "namespace/name", as provider-sql wrote them. */
export type SecretLookup = (namespacedName: string) => Record<string, string> | undefined;

/**
 * The calls of one reconcile, in-process: compose(), and once more with the
 * Secrets its answer requires. That is Crossplane v2.2.4's requirements loop
 * (scripts/requirements-loop.ts) for this function, whose second answer asks
 * for the same Secret again, which ends the loop; the tests in
 * test/crossplane-loop.test.ts hold the full loop to the recordings.
 */
export function crossplaneCalls(request: (required: Record<string, Obj[]>) => RunFunctionRequest, secrets: SecretLookup, now = NOW): RunFunctionResponse[] {
  const first = compose(request({}), now);
  const required = requiredFor(first, secrets);
  return required ? [first, compose(request(required), now)] : [first];
}

/** Calls the function once at the instant `now` (compose()'s nowMs): in-process, or over the wire. */
export type CallFunction = (request: RunFunctionRequest, now: number) => Promise<RunFunctionResponse>;

/** crossplaneCalls() through `call`. */
export async function crossplaneCallsVia(
  call: CallFunction,
  request: (required: Record<string, Obj[]>) => RunFunctionRequest,
  secrets: SecretLookup,
  now = NOW,
): Promise<RunFunctionResponse[]> {
  const first = await call(request({}), now);
  const required = requiredFor(first, secrets);
  return required ? [first, await call(request(required), now)] : [first];
}

/** The Secrets an answer's requirements ask for, as Crossplane fetches them; undefined when it asks for none. */
function requiredFor(answer: RunFunctionResponse, secrets: SecretLookup): Record<string, Obj[]> | undefined {
  const wanted = answer.requirements?.resources ?? {};
  if (Object.keys(wanted).length === 0) return undefined;
  const required: Record<string, Obj[]> = {};
  for (const [key, s] of Object.entries(wanted)) {
    const data = secrets(`${s.namespace ?? ''}/${s.matchName}`);
    required[key] = data ? [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: s.matchName, namespace: s.namespace }, data: encode(data) }] : [];
  }
  return required;
}

/** A value of a desired Secret's data, decoded. */
export function secretValue(response: RunFunctionResponse, key: string, field: string): string | undefined {
  const data = (response.desired?.resources?.[key]?.resource)?.data;
  return typeof data?.[field] === 'string' ? Buffer.from(data[field], 'base64').toString('utf8') : undefined;
}
