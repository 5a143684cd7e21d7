/**
 * The system under test of the model-based test (credentials.model.test.ts):
 * one tenant in a cluster in miniature (test/support/cluster.ts: Crossplane
 * applying answers, provider-sql v0.16.0's password rules, PostgreSQL's
 * logins), the function behind the real gRPC server (harness.ts), and a
 * ledger of every credential the function ever handed out.
 *
 * After every step (a claim edit, a reconcile, provider-sql catching up, the
 * clock, a lost status, a Role deleted) `check()` holds the world to the
 * credential promises of ../shared/SPEC.md ("Promises over time") and issue
 * 24, named I1..I7 here and in the failures they raise:
 *
 * - I1 (Secrets name working logins): each Secret the function hands out that
 *   exists (`secret` = <name>-secret, `readonly-secret`) names a login that
 *   logs in with the password it holds. The one exception is the window
 *   Single mode has by design: a rotation was asked for, provider-sql changed
 *   the role's password in place, and the function has not been called since
 *   that password was published where it can see it (it cannot know yet), or
 *   every such call was refused (Crossplane applies nothing of a refusal);
 *   the first answer applied that sees it must fix the Secret.
 * - I2 (grace): a credential ever handed out keeps its password and LOGIN
 *   until another one has been handed out in its place AND graceSeconds have
 *   passed since; a Single-mode credential (the tenant role's own in Single
 *   mode, the reader's always) until a rotation is asked for; the reader's
 *   also until the read-only role is switched off.
 * - I3 (refusals and data): a Fatal answer carries no desired resources and
 *   the cluster is left exactly as it was; a non-Fatal answer desires every
 *   observed object that holds data or logins (Database, Role, Schema,
 *   Extension), since Crossplane deletes what is not desired.
 * - I4 (never locked out): once the tenant had a working credential, some
 *   Secret (<name>-secret, a tenant login Role's connection secret, or the
 *   password Secret its Role takes its password from) holds a working
 *   credential of one of its logins.
 * - I5 (determinism): the same request at the same clock gives byte-identical
 *   answers (checked on the calls of reconciles that ask for it).
 * - I6 (no password leaks): no password (nor the platform key) appears in the
 *   XR status, results or conditions of any answer.
 * - I7 (restore, for a claim with spec.restoreFrom): the restore Job restores as
 *   the tenant role, whichever login <name>-secret names; an answer that
 *   observes the Job Complete records status.restoredFrom, and once recorded
 *   the backups are not suspended.
 *   The Job itself follows the restore script's rules (runRestoreJob), so a
 *   database is restored into at most once however often the Job is created.
 */
import { Severity, type RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { requestFor, PLATFORM_KEY } from '../../scripts/shared/examples.js';
import { Cluster, type CallFunction } from '../support/cluster.js';
import { NOW } from '../support/shared.js';
import { ROTATION_ANNOTATION } from '../../function/passwords.js';
import { rotationStamp } from '../../function/time.js';
import type { FunctionUnderTest } from './harness.js';

type Obj = Record<string, any>;

/** The grace period every tenant of the model asks for (spec.passwordRotation.graceSeconds). */
export const GRACE_SECONDS = 600;
/** The first trigger a sequence sets is this plus its step; each later one is later still. */
const FIRST_TRIGGER_BASE = Date.UTC(2026, 11, 5, 0, 0, 0);

export type Mode = 'Single' | 'Alternating';
/** The Secrets the function hands out, by composed-resource key. */
export const HANDED_OUT = ['secret', 'readonly-secret'] as const;
export type HandedOutKey = (typeof HANDED_OUT)[number];
/** Observed objects that hold data or logins: a non-Fatal answer must desire each (I3). */
const DATA_KINDS = new Set(['Database', 'Role', 'Schema', 'Extension']);
/** The composed Secrets holding the password of a tenant login (its Role's passwordSecretRef). */
const PASSWORD_SECRETS = ['password', 'login-a-password', 'login-b-password'];

/** How a sequence starts: a new claim of one flavour. */
export interface Initial {
  flavour: 'claim' | 'namespaced';
  mode: Mode;
  readOnlyRole: boolean;
  deletionProtection: boolean;
  /** Provisioned first (reconciled until nothing changes) before the commands run. */
  converged?: boolean;
  /** A new claim that asks for a restore (spec.restoreFrom: the latest backup of another tenant of its namespace). */
  restore?: boolean;
}

/** The restore a claim of the model asks for. */
const RESTORE_FROM = { backup: 'latest', name: 'orders-db-old' };

/** The tenant's database, as far as a restore goes. */
interface Database {
  /** Restores that wrote into it, with the role that owns what they wrote. */
  restores: { owner: string; at: number }[];
  /** The marker a restore leaves (the database's comment): the source prefix it restored from. */
  marker?: string;
}

/** A credential handed out in a Secret, and when its promise ends. */
interface Credential {
  secret: HandedOutKey;
  username: string;
  password: string;
  since: number;
  /** When another credential took its place in the same Secret (or the Secret went away). */
  stoppedAt?: number;
  /** When its promise ended otherwise: a rotation asked for (Single mode, the reader), the reader switched off. */
  releasedAt?: number;
  releasedBy?: string;
}

/** The credentials provider-sql published that a request shows the function: Roles' connection details, required Secrets. */
function publishedIn(request: RunFunctionRequest): Set<string> {
  const out = new Set<string>();
  for (const r of Object.values(request.observed?.resources ?? {})) {
    const d = r.connectionDetails ?? {};
    if (d.username && d.password) out.add(`${Buffer.from(d.username).toString('utf8')}\0${Buffer.from(d.password).toString('utf8')}`);
  }
  for (const group of Object.values(request.requiredResources ?? {})) {
    for (const item of group.items ?? []) {
      const data = (item.resource)?.data;
      if (data?.username && data?.password) out.add(`${decode(data.username)}\0${decode(data.password)}`);
    }
  }
  return out;
}

export class InvariantViolation extends Error {}

/** Counts for the report of a run. */
export interface Stats {
  sequences: number;
  steps: number;
  reconciles: number;
  calls: number;
  determinismChecks: number;
  refusals: Record<string, number>;
  switches: number;
}

export function newStats(): Stats {
  return { sequences: 0, steps: 0, reconciles: 0, calls: 0, determinismChecks: 0, refusals: {}, switches: 0 };
}

const decode = (value: unknown) => Buffer.from(typeof value === 'string' ? value : '', 'base64').toString('utf8');
const isSlotLogin = (username: string) => /_l[ab]$/.test(username);
export const kubeTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class World {
  readonly cluster: Cluster;
  /** The claim as edited so far (mirrors cluster.xr.spec). */
  mode: Mode;
  lastTrigger?: number;
  /** The trigger and the mode the function was last called with. */
  private triggerCalled?: string;
  private modeCalled?: Mode;
  readonly ledger: Credential[] = [];
  /** What happened so far, for the message of a violation. */
  readonly trail: string[] = [];
  readonly database: Database = { restores: [] };
  /**
   * "username\0password" pairs provider-sql had published where the function could see them, at the
   * last call whose answer Crossplane applied (a refused call can fix no Secret).
   */
  private visibleAtLastCall = new Set<string>();
  private visibleAtThisCall = new Set<string>();
  private hadWorkingCredential = false;
  private readonly call: CallFunction;
  private twice = false;

  constructor(
    private readonly fn: FunctionUnderTest,
    readonly initial: Initial,
    private readonly stats: Stats,
  ) {
    const xr = initial.flavour === 'claim' ? 'examples/claim/production.yaml' : 'examples/namespaced/tenantdatabase.yaml';
    const spec = {
      passwordRotation: { mode: initial.mode, graceSeconds: GRACE_SECONDS },
      readOnlyRole: initial.readOnlyRole,
      deletionProtection: initial.deletionProtection,
      ...(initial.restore ? { restoreFrom: RESTORE_FROM } : {}),
    };
    const req = requestFor({ flavour: initial.flavour, xr, patch: { spec } });
    this.cluster = new Cluster(req.observed!.composite!.resource as Obj, req.input as Obj);
    this.cluster.writesStatus = true;
    this.cluster.now = NOW;
    this.mode = initial.mode;
    this.call = async (request, now) => this.callOnce(request, now);
    stats.sequences += 1;
  }

  /**
   * A copy of this world, for another sequence to start from the same state:
   * a provisioned tenant is reconciled into being once per Initial, not once
   * per sequence (the function is deterministic, so every copy would get there
   * through the very same answers).
   */
  fork(stats: Stats): World {
    const w = new World(this.fn, this.initial, stats);
    const [from, to] = [this.cluster, w.cluster];
    to.xr = structuredClone(from.xr);
    to.observed = structuredClone(from.observed);
    to.secrets = new Map([...from.secrets].map(([k, v]) => [k, { ...v }]));
    to.passwords = new Map(from.passwords);
    to.noLogin = new Set(from.noLogin);
    to.now = from.now;
    w.mode = this.mode;
    if (this.lastTrigger !== undefined) w.lastTrigger = this.lastTrigger;
    if (this.triggerCalled !== undefined) w.triggerCalled = this.triggerCalled;
    if (this.modeCalled !== undefined) w.modeCalled = this.modeCalled;
    w.ledger.push(...structuredClone(this.ledger));
    w.trail.push(...this.trail);
    w.visibleAtLastCall = new Set(this.visibleAtLastCall);
    w.hadWorkingCredential = this.hadWorkingCredential;
    w.database.restores.push(...this.database.restores.map((r) => ({ ...r })));
    if (this.database.marker !== undefined) w.database.marker = this.database.marker;
    return w;
  }

  get spec(): Obj {
    return this.cluster.xr.spec as Obj;
  }

  // ---------------------------------------------------------------------------
  // Steps

  async reconcile(options: { providerLag: boolean; twice: boolean }, label: string): Promise<void> {
    this.noteRotationAsked();
    const before = this.snapshot();
    this.twice = options.twice;
    const r = await this.cluster.reconcileVia(this.call, { providerLag: options.providerLag });
    this.twice = false;
    this.stats.reconciles += 1;
    if (!r.fatal) this.visibleAtLastCall = this.visibleAtThisCall;
    if (r.fatal) {
      // I3: Crossplane applies nothing of a Fatal answer; the model must show exactly that.
      const reason = r.response.results.find((x) => x.severity === Severity.SEVERITY_FATAL)?.reason ?? 'Fatal';
      this.stats.refusals[reason] = (this.stats.refusals[reason] ?? 0) + 1;
      if (Object.keys(r.response.desired?.resources ?? {}).length > 0) {
        this.violation('I3', `a Fatal answer ("${r.fatal}") carries desired resources: ${Object.keys(r.response.desired!.resources).join(', ')}`);
      }
      if (this.snapshot() !== before) this.violation('I3', `a Fatal answer ("${r.fatal}") changed the cluster`);
    }
    this.step(`${label}${r.fatal ? ` -> refused: ${r.fatal}` : ''}`);
  }

  /** Reconcile (provider-sql answering at once) until nothing composed or handed out changes, at most `max` times. */
  async converge(max = 10): Promise<void> {
    for (let i = 0; i < max; i++) {
      const before = this.convergenceKey();
      await this.reconcile({ providerLag: false, twice: false }, `converge #${i + 1}`);
      if (this.convergenceKey() === before) return;
    }
  }

  /** provider-sql acting on the Roles it had not reconciled yet. */
  providerCatchesUp(): void {
    this.cluster.settle();
    this.step('provider-sql catches up');
  }

  advance(seconds: number): void {
    this.cluster.now += seconds * 1000;
    this.step(`clock +${seconds}s`);
  }

  setTrigger(afterSeconds: number): void {
    const at = Math.max(this.lastTrigger ?? FIRST_TRIGGER_BASE, FIRST_TRIGGER_BASE) + afterSeconds * 1000;
    this.lastTrigger = at;
    this.spec.passwordRotationTrigger = kubeTime(at);
    this.step(`trigger := ${kubeTime(at)}`);
  }

  /**
   * A rotation is asked for when the function is first called with a new trigger, in the mode the
   * claim has then (edits in between, e.g. to Alternating and back, count as the claim they end
   * in). It ends the promise of every credential rotated in place: the reader's, and in Single
   * mode the tenant role's own.
   */
  private noteRotationAsked(): void {
    const trigger = this.spec.passwordRotationTrigger as string | undefined;
    const newTrigger = trigger !== this.triggerCalled;
    // Single mode after Alternating: a trigger asked for meanwhile now applies to the tenant role, unless it is at it already.
    const tenantRotation = this.cluster.observed.password?.metadata?.annotations?.[ROTATION_ANNOTATION];
    const tenantAsked =
      this.mode === 'Single' && trigger !== undefined && (newTrigger || this.modeCalled !== 'Single') && tenantRotation !== rotationStamp(trigger);
    this.triggerCalled = trigger;
    this.modeCalled = this.mode;
    for (const c of this.ledger) {
      const inPlace = (newTrigger && c.secret === 'readonly-secret') || (tenantAsked && c.secret === 'secret' && !isSlotLogin(c.username));
      if (inPlace && c.releasedAt === undefined) this.release(c, `rotation to ${trigger} asked for`);
    }
  }

  setMode(mode: Mode): void {
    this.mode = mode;
    this.spec.passwordRotation = { mode, graceSeconds: GRACE_SECONDS };
    this.step(`mode := ${mode}`);
  }

  setProtection(on: boolean): void {
    this.spec.deletionProtection = on;
    this.step(`deletionProtection := ${on}`);
  }

  setReadOnly(on: boolean): void {
    this.spec.readOnlyRole = on;
    // Switching the reader off ends its access: its credentials are promised nothing from then on.
    if (!on) for (const c of this.ledger) if (c.secret === 'readonly-secret' && c.releasedAt === undefined) this.release(c, 'readOnlyRole switched off');
    this.step(`readOnlyRole := ${on}`);
  }

  /** Velero restores no status: the XR comes back with an empty one. */
  loseStatus(): void {
    this.cluster.xr = { ...this.cluster.xr, status: {} };
    this.step('XR status lost');
  }

  /**
   * `kubectl delete` of a composed Role MR: refused while a Usage protects it;
   * otherwise (Orphan policy: the PostgreSQL role stays) the MR goes, and its
   * connection secret with it (garbage collection, provider-sql is not asked:
   * test/sql/control-plane.ts). Crossplane recreates it on the next reconcile.
   */
  deleteRole(key: string): void {
    const role = this.cluster.observed[key];
    if (role?.kind !== 'Role') return this.step(`delete Role ${key}: not composed`);
    const usage = Object.values(this.cluster.observed).find(
      (o) => /Usage$/.test(String(o.kind)) && o.spec?.of?.kind === 'Role' && o.spec?.of?.resourceRef?.name === role.metadata?.name,
    );
    if (usage) return this.step(`delete Role ${key}: refused by ${usage.kind} ${usage.metadata?.name}`);
    const orphan = role.spec?.deletionPolicy === 'Orphan' || (Array.isArray(role.spec?.managementPolicies) && !role.spec.managementPolicies.includes('Delete') && !role.spec.managementPolicies.includes('*'));
    if (!orphan) throw new Error(`the model only deletes Roles with an Orphan policy; ${key} has ${JSON.stringify(role.spec?.deletionPolicy ?? role.spec?.managementPolicies)}`);
    const ref = role.spec?.writeConnectionSecretToRef ?? {};
    this.cluster.secrets.delete(`${ref.namespace ?? role.metadata?.namespace ?? ''}/${ref.name}`);
    delete this.cluster.observed[key];
    this.step(`delete Role ${key}`);
  }

  /**
   * The restore Job's pod runs to its end, as the restore script (function/backup/scripts.ts) does:
   * it logs in with what <name>-secret holds (else it is retried: nothing changes); into an empty
   * database it restores as RESTORE_OWNER_ROLE and leaves its marker; a database marked as restored
   * from the same source is done already; any other database holding data is refused (Failed).
   */
  runRestoreJob(): void {
    const job = this.cluster.observed['restore-job'];
    const conditions = (job?.status?.conditions ?? []) as Obj[];
    if (!job) return this.step('restore Job: none composed');
    if (conditions.some((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True')) return this.step('restore Job: finished already');
    const login = this.handedOut('secret');
    if (!login || !this.cluster.logsIn(login.username, login.password)) return this.step('restore Job: cannot log in with <name>-secret, retried');
    const env = Object.fromEntries(((job.spec?.template?.spec?.containers?.[0]?.env ?? []) as Obj[]).map((e) => [e.name, e.value]));
    const source = String(env.RESTORE_PREFIX);
    const at = kubeTime(this.cluster.now);
    let outcome: string;
    if (this.database.restores.length === 0 && this.database.marker === undefined) {
      this.database.restores.push({ owner: String(env.RESTORE_OWNER_ROLE ?? login.username), at: this.cluster.now });
      this.database.marker = source;
      outcome = 'restored';
    } else if (this.database.marker === source) {
      outcome = 'found its marker: done';
    } else {
      job.status = { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy', message: 'Container restore failed with exit code 21' }] };
      return this.step('restore Job: the database holds data of another restore: Failed');
    }
    job.status = { succeeded: 1, completionTime: at, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: at }] };
    this.step(`restore Job: ${outcome}`);
  }

  // ---------------------------------------------------------------------------
  // The function, called over the wire

  private async callOnce(request: RunFunctionRequest, now: number): Promise<RunFunctionResponse> {
    this.visibleAtThisCall = publishedIn(request);
    const wired = await this.fn.call(request, now, this.twice);
    this.stats.calls += 1;
    if (wired.again) {
      this.stats.determinismChecks += 1;
      if (!wired.again.equals(wired.responseBytes)) this.violation('I5', 'the same request at the same clock gave two different answers');
    }
    const response = wired.response;
    this.checkNoLeak(response, request);
    const fatal = response.results.some((r) => r.severity === Severity.SEVERITY_FATAL);
    if (!fatal) {
      const desired = response.desired?.resources ?? {};
      this.checkRestore(request, response);
      for (const [key, r] of Object.entries(request.observed?.resources ?? {})) {
        const kind = (r.resource)?.kind;
        if (DATA_KINDS.has(kind) && !(key in desired)) this.violation('I3', `the answer drops observed ${kind} "${key}": Crossplane would delete it`);
      }
    }
    return response;
  }

  /**
   * I7 (restore): the restore Job restores as the tenant role, whichever login <name>-secret names
   * (what it restores must belong to the tenant role); an answer to a request that observes it
   * Complete records the restore (status.restoredFrom) and no longer keeps the backups suspended.
   */
  private checkRestore(request: RunFunctionRequest, response: RunFunctionResponse): void {
    const desired = response.desired?.resources ?? {};
    const job = desired['restore-job']?.resource;
    const tenantRole = (desired.role?.resource)?.metadata?.annotations?.['crossplane.io/external-name'];
    if (job) {
      const env = ((job.spec?.template?.spec?.containers?.[0]?.env ?? []) as Obj[]).find((e) => e.name === 'RESTORE_OWNER_ROLE');
      if (env?.value !== tenantRole) this.violation('I7', `the restore Job restores as ${JSON.stringify(env?.value)}, not as the tenant role ${tenantRole}`);
    }
    const observedJob = request.observed?.resources?.['restore-job']?.resource;
    const complete = ((observedJob?.status?.conditions ?? []) as Obj[]).some((x) => x.type === 'Complete' && x.status === 'True');
    const status = (response.desired?.composite?.resource?.status ?? {}) as Obj;
    if (complete && !status.restoredFrom) this.violation('I7', 'the restore Job is observed Complete, yet status.restoredFrom does not record it');
    // Recorded in the status the function is called with: the restore is done, the backups run.
    const recorded = (request.observed?.composite?.resource)?.status?.restoredFrom;
    const cron = desired['backup-cronjob']?.resource;
    if (recorded && cron?.spec?.suspend === true) this.violation('I7', 'the restore is recorded as done (status.restoredFrom), yet the backups stay suspended');
  }

  /** I6: no password, nor the platform key, in what Crossplane shows (status, conditions, events). */
  private checkNoLeak(response: RunFunctionResponse, request: RunFunctionRequest): void {
    const secrets = new Set<string>([PLATFORM_KEY, ...this.cluster.passwords.values()]);
    for (const data of this.cluster.secrets.values()) if (data.password) secrets.add(data.password);
    for (const r of Object.values(request.observed?.resources ?? {})) {
      const o = r.resource;
      if (o?.apiVersion === 'v1' && o.kind === 'Secret' && o.data?.password) secrets.add(decode(o.data.password));
    }
    for (const r of Object.values(response.desired?.resources ?? {})) {
      const o = r.resource;
      if (o?.apiVersion === 'v1' && o.kind === 'Secret' && o.data?.password) secrets.add(decode(o.data.password));
    }
    const shown = JSON.stringify([response.desired?.composite?.resource?.status ?? null, response.results, response.conditions]);
    for (const s of secrets) if (s.length >= 8 && shown.includes(s)) this.violation('I6', 'a password appears in the XR status, a result or a condition');
  }

  // ---------------------------------------------------------------------------
  // The ledger and the invariants

  /** After every step: record what is handed out now, then check every invariant. */
  private step(label: string): void {
    this.stats.steps += 1;
    this.trail.push(`[${kubeTime(this.cluster.now)}] ${label}`);
    this.record();
    this.check();
  }

  private handedOut(key: HandedOutKey): { username: string; password: string } | undefined {
    const secret = this.cluster.observed[key];
    if (!secret?.data) return undefined;
    return { username: decode(secret.data.username), password: decode(secret.data.password) };
  }

  private record(): void {
    const now = this.cluster.now;
    for (const key of HANDED_OUT) {
      const current = this.handedOut(key);
      for (const c of this.ledger) {
        const same = current && c.username === current.username && c.password === current.password;
        if (c.secret === key && !same && c.stoppedAt === undefined) {
          c.stoppedAt = now;
          if (key === 'secret') this.stats.switches += 1;
        }
      }
      if (!current) continue;
      const known = this.ledger.find((c) => c.secret === key && c.username === current.username && c.password === current.password);
      if (!known) {
        const cred: Credential = { secret: key, ...current, since: now };
        const rotating = this.rotationUnderWay(key, cred);
        // Single mode's window again: handed out while its own rotation is being applied, it is already on its way out.
        if (rotating) this.release(cred, rotating);
        this.ledger.push(cred);
      }
      else if (known.stoppedAt !== undefined) {
        // Handed out again after it had stopped: a new promise from now on.
        Object.assign(known, { since: now, stoppedAt: undefined, releasedAt: undefined, releasedBy: undefined });
      }
    }
  }

  /**
   * A credential rotated in place (the reader's; the tenant role's own in
   * Single mode) whose rotation asked for is under way: the login's password
   * Secret already holds the password of the latest trigger, and it is not
   * this one. Returns why, or undefined.
   */
  private rotationUnderWay(key: HandedOutKey, cred: Credential): string | undefined {
    const inPlace = key === 'readonly-secret' || (this.mode === 'Single' && !isSlotLogin(cred.username));
    if (!inPlace || this.lastTrigger === undefined) return undefined;
    const secret = this.cluster.observed[key === 'secret' ? 'password' : 'readonly-password'];
    const stamp = rotationStamp(kubeTime(this.lastTrigger));
    const rotating = secret?.metadata?.annotations?.[ROTATION_ANNOTATION] === stamp && decode(secret?.data?.password) !== cred.password;
    return rotating ? `handed out while the rotation to ${kubeTime(this.lastTrigger)} was under way` : undefined;
  }

  private release(c: Credential, why: string): void {
    c.releasedAt = this.cluster.now;
    c.releasedBy = why;
  }

  private promised(c: Credential): boolean {
    if (c.releasedAt !== undefined) return false;
    return c.stoppedAt === undefined || this.cluster.now < c.stoppedAt + GRACE_SECONDS * 1000;
  }

  /**
   * Whether the function's last call could see the password `username` has now, published by
   * provider-sql (a Role's connection details, or its connection secret fetched as required).
   */
  private sawCurrentPassword(username: string): boolean {
    return this.visibleAtLastCall.has(`${username}\0${this.cluster.passwords.get(username)}`);
  }

  private check(): void {
    const c = this.cluster;
    const problems: string[] = [];
    // I2 first: a broken promise is the cause; I1 and I4 are what the app sees of it.
    for (const cred of this.ledger) {
      if (!this.promised(cred) || c.logsIn(cred.username, cred.password)) continue;
      const until = cred.stoppedAt === undefined ? 'it is still handed out' : `it stopped being handed out at ${kubeTime(cred.stoppedAt)}, grace until ${kubeTime(cred.stoppedAt + GRACE_SECONDS * 1000)}`;
      problems.push(`I2: ${cred.username} (handed out in "${cred.secret}" since ${kubeTime(cred.since)}) no longer logs in with its password (${this.why(cred.username, cred.password)}), but ${until}`);
    }
    for (const key of HANDED_OUT) {
      const cur = this.handedOut(key);
      if (!cur || c.logsIn(cur.username, cur.password)) continue;
      const cred = this.ledger.find((x) => x.secret === key && x.username === cur.username && x.password === cur.password)!;
      // Single mode's window: rotated in place, and the function has not been called since provider-sql published the new password.
      if (!this.promised(cred) && !this.sawCurrentPassword(cur.username)) continue;
      problems.push(`I1: "${key}" names ${cur.username}, which cannot log in with the password it holds (${this.why(cur.username, cur.password)})`);
    }
    const tenantLogins = [...new Set(this.ledger.filter((x) => x.secret === 'secret').map((x) => x.username))];
    // A login's password Secret (its passwordSecretRef) holds a password only, for the login its Role names.
    const inPasswordSecrets = PASSWORD_SECRETS.flatMap((key) => {
      const data = c.observed[key]?.data;
      return data?.password ? tenantLogins.map((username) => ({ username, password: decode(data.password) })) : [];
    });
    const candidates = [this.handedOut('secret'), ...[...c.secrets.values()].filter((d) => tenantLogins.includes(d.username ?? '')), ...inPasswordSecrets];
    const working = candidates.some((d) => d?.username !== undefined && d.password !== undefined && c.logsIn(d.username, d.password));
    if (working) this.hadWorkingCredential = true;
    else if (this.hadWorkingCredential) problems.push('I4: no Secret holds a working credential of the tenant any more');
    if (problems.length > 0) this.violation(problems[0]!.slice(0, 2), problems.join('\n  '));
  }

  private why(username: string, password: string): string {
    const c = this.cluster;
    if (!c.passwords.has(username)) return 'no such login';
    if (c.passwords.get(username) !== password) return 'the role has another password';
    return c.noLogin.has(username) ? 'the role has NOLOGIN' : 'unknown';
  }

  private violation(name: string, message: string): never {
    throw new InvariantViolation(`${name} violated at step ${this.trail.length}:\n  ${message}\nsteps:\n  ${this.trail.join('\n  ')}`);
  }

  // ---------------------------------------------------------------------------

  /** Everything Crossplane and provider-sql hold, to compare across a Fatal answer. */
  private snapshot(): string {
    const c = this.cluster;
    return JSON.stringify([c.xr, c.observed, [...c.secrets], [...c.passwords], [...c.noLogin]]);
  }

  private convergenceKey(): string {
    return JSON.stringify([this.cluster.xr.status ?? null, Object.keys(this.cluster.observed).sort(), HANDED_OUT.map((k) => this.handedOut(k)), [...this.cluster.passwords], [...this.cluster.noLogin]]);
  }
}
