/**
 * `npm run render -- --converge`: a claim reconciled as Crossplane would
 * reconcile it on a cluster whose providers make every object ready at once,
 * until nothing new is composed, so a reviewer sees the tenant as it will be
 * once whole (the function creates objects in order, a layer per reconcile:
 * the first reconcile alone shows only the first layer).
 *
 * What the simulated cluster does, and why (../shared/SPEC.md, measured with
 * Crossplane v2.2.4 and provider-sql v0.16.0):
 * - every composed object is observed Ready and Synced after the reconcile
 *   that desired it; objects no longer desired are gone;
 * - a Role with passwordSecretRef publishes that Secret's password as its
 *   connection details (provider-sql's "bring your own password"); one
 *   without gets a generated one;
 * - each reconcile runs Crossplane's requirements loop
 *   (scripts/shared/requirements-loop.ts), fed from that cluster: the Roles'
 *   connection Secrets and the platform's password key;
 * - the XR's status is what the previous reconcile desired.
 *
 * No real password can come out: the platform key is a fixed, published
 * placeholder, and every password the function hands out is replaced in the
 * printed Secrets by PLACEHOLDER_PASSWORD.
 */
import {
  Ready,
  Severity,
  Status,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { runWithRequirements } from '../shared/requirements-loop.js';
import { buildRequest, CROSSPLANE_CAPABILITIES, requiredFor, type Obj, type ObservedMap } from '../shared/request.js';

/** What every printed password reads. */
export const PLACEHOLDER_PASSWORD = 'PLACEHOLDER-PASSWORD';
/** The platform key the simulated cluster holds: public, so nothing derived from it is a secret. */
export const PLACEHOLDER_PLATFORM_KEY = 'placeholder-platform-key-of-npm-run-render-converge-0123456789';
/** The database server the simulated provider-sql reaches. */
export const PLACEHOLDER_ENDPOINT = 'postgres.example.internal';
/** More than any tenant needs (about six layers); a function that never settles stops here. */
export const MAX_RECONCILES = 20;

const READY = [
  { type: 'Ready', status: 'True', reason: 'Available' },
  { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' },
];
const CONDITION_TIME = '2024-01-01T00:00:00Z';

export interface Converged {
  /** The last answer: every object it desires is observed and ready (unless fatal or not converged). */
  response: RunFunctionResponse;
  /** The XR as Crossplane holds it before that last answer. */
  xr: Obj;
  observed: ObservedMap;
  reconciles: number;
  calls: number;
  /** A Fatal result's message, when a reconcile was refused. */
  fatal?: string;
  converged: boolean;
}

type Call = (request: RunFunctionRequest) => Promise<RunFunctionResponse>;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: unknown) => Buffer.from(typeof s === 'string' ? s : '', 'base64').toString('utf8');
const at = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

/** The simulated cluster: composed objects, and the Secrets the providers wrote. */
class Simulation {
  observed: Record<string, Obj> = {};
  /** Secret data (plain text) by "namespace/name": connection secrets and the platform key. */
  secrets = new Map<string, Record<string, string>>();
  private generated = 0;

  constructor(
    public xr: Obj,
    private readonly input: Obj,
  ) {
    const ref = input.passwords?.keySecretRef ?? {};
    this.secrets.set(at(ref.namespace ?? 'crossplane-system', ref.name ?? 'tenantdb-password-key'), { [ref.key ?? 'key']: PLACEHOLDER_PLATFORM_KEY });
  }

  observedMap(): ObservedMap {
    const out: ObservedMap = {};
    for (const [key, resource] of Object.entries(this.observed)) {
      const ref = resource.spec?.writeConnectionSecretToRef;
      const data = ref ? (this.secrets.get(at(ref.namespace ?? resource.metadata?.namespace, ref.name)) ?? {}) : {};
      out[key] = { resource: structuredClone(resource), connectionDetails: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])), ready: 0 };
    }
    return out;
  }

  request(): RunFunctionRequest {
    const request = buildRequest(structuredClone(this.xr), structuredClone(this.input), this.observedMap());
    request.meta!.capabilities = [...CROSSPLANE_CAPABILITIES];
    return request;
  }

  /** The Secrets a requirement selects, as the API server would hand them over. */
  fetch = (selector: Obj): Obj[] => {
    const all = [...this.secrets].map(([where, data]) => {
      const [namespace, name] = where.split('/') as [string, string];
      return { apiVersion: 'v1', kind: 'Secret', metadata: { name, ...(namespace ? { namespace } : {}) }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) };
    });
    return requiredFor(selector, all);
  };

  /** Crossplane applies the answer; the providers make everything ready. */
  apply(response: RunFunctionResponse): void {
    const next: Record<string, Obj> = {};
    for (const [key, r] of Object.entries(response.desired?.resources ?? {})) {
      const object: Obj = structuredClone(r.resource ?? {});
      object.metadata = { ...object.metadata, annotations: { ...object.metadata?.annotations, 'crossplane.io/composition-resource-name': key } };
      object.status = { ...(this.observed[key]?.status ?? {}), ...(object.status ?? {}), conditions: READY };
      next[key] = object;
    }
    this.observed = next;
    for (const role of Object.values(next).filter((o) => o.kind === 'Role')) this.publishRole(role);
    this.xr = { ...this.xr, status: xrStatus(response) };
  }

  /** provider-sql: the Role's connection secret, with the password of its passwordSecretRef (or a generated one). */
  private publishRole(role: Obj): void {
    const ref = role.spec?.writeConnectionSecretToRef;
    if (!ref?.name) return;
    const where = at(ref.namespace ?? role.metadata?.namespace, ref.name);
    const own = role.spec?.forProvider?.passwordSecretRef;
    let password: string | undefined;
    if (own) {
      const secret = Object.values(this.observed).find(
        (o) => o.apiVersion === 'v1' && o.kind === 'Secret' && o.metadata?.name === own.name && (o.metadata?.namespace ?? '') === (own.namespace ?? role.metadata?.namespace ?? ''),
      );
      password = secret ? unb64(secret.data?.[own.key]) || undefined : undefined;
    } else {
      password = this.secrets.get(where)?.password ?? `generated-${++this.generated}`;
    }
    if (!password) return;
    const username = role.metadata?.annotations?.['crossplane.io/external-name'] ?? role.metadata?.name;
    this.secrets.set(where, { username, password, endpoint: PLACEHOLDER_ENDPOINT, port: '5432' });
  }
}

/** The XR status Crossplane writes from an answer: the desired status, the function's conditions. */
function xrStatus(response: RunFunctionResponse): Obj {
  const status: Obj = structuredClone(response.desired?.composite?.resource?.status ?? {});
  const conditions = (response.conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status === Status.STATUS_CONDITION_TRUE ? 'True' : c.status === Status.STATUS_CONDITION_FALSE ? 'False' : 'Unknown',
    reason: c.reason,
    lastTransitionTime: CONDITION_TIME,
    ...(c.message ? { message: c.message } : {}),
  }));
  return conditions.length ? { ...status, conditions } : status;
}

const allReady = (response: RunFunctionResponse) => Object.values(response.desired?.resources ?? {}).every((r) => r.ready === Ready.READY_TRUE);

/** Reconcile until an answer composes nothing new and finds every object ready. */
export async function converge(call: Call, xr: Obj, input: Obj, maxReconciles = MAX_RECONCILES): Promise<Converged> {
  const sim = new Simulation(structuredClone(xr), input);
  let calls = 0;
  for (let reconcile = 1; ; reconcile++) {
    const xrBefore = structuredClone(sim.xr);
    const observed = sim.observedMap();
    const { responses } = await runWithRequirements(call, sim.request(), sim.fetch);
    calls += responses.length;
    const response = responses[responses.length - 1]!;
    const fatal = response.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
    if (fatal) return { response, xr: xrBefore, observed, reconciles: reconcile, calls, fatal, converged: false };
    const same = Object.keys(response.desired?.resources ?? {}).sort().join() === Object.keys(sim.observed).sort().join();
    if ((same && allReady(response)) || reconcile >= maxReconciles) {
      return { response, xr: xrBefore, observed, reconciles: reconcile, calls, converged: same && allReady(response) };
    }
    sim.apply(response);
  }
}

/** The forms a password takes inside a Secret value: as it is, in JSON, in a URL. */
function spellings(password: string): string[] {
  return [...new Set([password, JSON.stringify(password).slice(1, -1), encodeURIComponent(password)])].sort((a, b) => b.length - a.length);
}

/**
 * The printed objects with every password the function handed out replaced
 * by PLACEHOLDER_PASSWORD, in every v1 Secret's data (connection strings and
 * the Secrets Manager JSON included).
 */
export function withPlaceholderPasswords(docs: Obj[]): Obj[] {
  const secrets = docs.filter((d) => d.apiVersion === 'v1' && d.kind === 'Secret');
  const passwords = secrets.flatMap((s) => Object.entries<string>(s.data ?? {}).filter(([k]) => k === 'password').map(([, v]) => unb64(v))).filter((p) => p.length > 0);
  const forms = [...new Set(passwords.flatMap(spellings))].sort((a, b) => b.length - a.length);
  return docs.map((d) => {
    if (!secrets.includes(d)) return d;
    const data = Object.fromEntries(
      Object.entries<string>(d.data ?? {}).map(([k, v]) => [k, b64(forms.reduce((text, form) => text.split(form).join(PLACEHOLDER_PASSWORD), unb64(v)))]),
    );
    return { ...d, data };
  });
}
