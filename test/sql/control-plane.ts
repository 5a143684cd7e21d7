/**
 * Crossplane in miniature, for one tenant, against a real PostgreSQL server:
 * each reconcile builds the request from the real example (requestFor(), as
 * the table-driven cases do) with what is composed so far as the observed
 * resources, calls compose(), and applies the answer the way Crossplane and
 * provider-sql do:
 *
 * - the function is called again with the required resources when its answer
 *   has requirements; a Fatal answer changes nothing (the test fails);
 * - objects no longer desired are deleted: provider-sql drops or revokes them
 *   when their policies say Delete, and only forgets them otherwise;
 * - provider-sql reconciles each SQL object that is new, changed or not ready
 *   (a watch event), until it settles, retrying failures as its controllers
 *   do; `poll()` is its periodic reconcile of every object. Crossplane passes
 *   each Role the connection details provider-sql wrote for it;
 * - every other object (Secrets, Usages, AWS objects) is simply accepted; the
 *   v1 Secrets are what provider-sql's kube client reads (a Role's password
 *   Secret), as is the platform's password key (PLATFORM_KEY);
 * - a deleted Role MR takes its connection secret with it (owner references:
 *   Kubernetes' garbage collector, no call to provider-sql);
 * - deleting the claim deletes every composed resource, unless a Usage
 *   protects it.
 *
 * Objects are reconciled in an order in which each can succeed (a Role before
 * the Database it owns, a Schema before the Grant on it); real controllers run
 * concurrently and retry, which ends in the same state except where
 * provider-sql's Observe is order-sensitive (DefaultPrivileges, see
 * provider-sql.ts).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { Severity, Status, type RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { merge, PLATFORM_KEY, requestFor } from '../../scripts/shared/examples.js';
import { crossplaneCalls } from '../support/cluster.js';
import { NOW } from '../support/shared.js';
import { PostgresServer, whyNoPostgres, type Login } from './postgres.js';
import { connectionSecretKey, isSqlManaged, ProviderSql, SqlError, type AdminConnection, type Obj } from './provider-sql.js';

/** provider-sql's ProviderConfig: the server's superuser, defaultDatabase postgres. */
export function adminConnection(server: PostgresServer): AdminConnection {
  const run = (database: string, sql: string, transaction: boolean) => {
    const r = server.psql(server.asAdmin(database), sql, { transaction });
    if (!r.ok) throw new SqlError(r.error);
    return r.rows;
  };
  return {
    defaultDatabase: 'postgres',
    endpoint: server.host,
    port: String(server.port),
    exec: (database, statement) => void run(database, statement, false),
    execTx: (database, statements) => void run(database, statements.map((s) => (s.trim().endsWith(';') ? s : `${s};`)).join('\n'), true),
    query: (database, statement) => run(database, statement, false),
  };
}

/**
 * A throwaway server for the test file (or describe block) that calls this:
 * started before its tests, always stopped after; `use` receives the server
 * and provider-sql connected to it as its admin.
 */
/**
 * A SQL suite: run when PostgreSQL can be, otherwise skipped with the reason
 * in its name and on stderr, so that `npm test` says why it shows it skipped.
 */
export function describeWithPostgres(title: string, body: () => void): void {
  const why = whyNoPostgres();
  if (why === undefined) {
    describe(title, body);
    return;
  }
  console.warn(`SKIPPED: ${title}: ${why}`);
  describe.skip(`${title} (skipped: ${why})`, body);
}

export function throwawayServer(use: (server: PostgresServer, provider: ProviderSql) => void): void {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await PostgresServer.start();
    const provider = new ProviderSql(adminConnection(server));
    provider.kubeSecrets.set('crossplane-system/tenantdb-password-key', { key: PLATFORM_KEY });
    use(server, provider);
  });
  afterAll(() => server?.stop());
}

/** Where a claim comes from: a real example file, patched; as test/support/cases.ts takes it. */
export interface ClaimSource {
  flavour: 'claim' | 'namespaced';
  xr: string;
  patch?: Obj;
}

const READY = [{ type: 'Ready', status: 'True', reason: 'Available' }, { type: 'Synced', status: 'True', reason: 'ReconcileSuccess' }];

/** An order in which each SQL object can succeed on its first try. */
function rank(object: Obj): number {
  const p = object.spec?.forProvider ?? {};
  const ranks: Record<string, number> = { Role: 0, Database: 1, Grant: p.schema === undefined ? 2 : 4, Schema: 3, Extension: 3, DefaultPrivileges: 5 };
  return ranks[object.kind] ?? 6;
}

const MAX_RECONCILES = 12;

export class Tenant {
  /** Composed resources as Crossplane observes them, by composed-resource name. */
  composed: Record<string, Obj> = {};
  /** The last error of each SQL object provider-sql could not reconcile. */
  errors: Record<string, string> = {};
  last?: RunFunctionResponse;
  /** The clock the function is called with (compose's nowMs). */
  now = NOW;
  /** The XR's status as the function last wrote it, handed back as Crossplane does (alternating rotation reads it). */
  private xrStatus?: Obj;

  constructor(
    readonly provider: ProviderSql,
    public source: ClaimSource,
  ) {}

  /** Change the claim (a patch on the example, merged into the patches so far). */
  patch(patch: Obj): void {
    this.source = { ...this.source, patch: merge(this.source.patch ?? {}, patch) as Obj };
  }

  /** One reconcile of the XR: compose, then apply. Throws on a Fatal answer. */
  reconcile(): RunFunctionResponse {
    const calls = crossplaneCalls((required) => this.request(required), (key) => this.provider.secret(key), this.now);
    const response = calls[calls.length - 1]!;
    const fatal = response.results?.find((r) => r.severity === Severity.SEVERITY_FATAL);
    if (fatal) throw new Error(`the function refused: ${fatal.message}`);
    this.xrStatus = structuredClone(response.desired?.composite?.resource?.status as Obj | undefined);
    this.apply(Object.fromEntries(Object.entries(response.desired?.resources ?? {}).map(([k, r]) => [k, r.resource as Obj])));
    this.last = response;
    return response;
  }

  /** Reconcile until the function reports everything provisioned. */
  converge(): RunFunctionResponse {
    for (let i = 0; i < MAX_RECONCILES; i++) {
      const response = this.reconcile();
      const condition = response.conditions?.find((c) => c.type === 'Provisioned');
      if (condition?.status === Status.STATUS_CONDITION_TRUE && Object.keys(this.errors).length === 0) return response;
    }
    const condition = this.last?.conditions?.find((c) => c.type === 'Provisioned');
    throw new Error(`not provisioned after ${MAX_RECONCILES} reconciles: ${condition?.message}; errors: ${JSON.stringify(this.errors)}`);
  }

  /**
   * Delete the claim: Crossplane deletes every composed resource, and
   * provider-sql processes each deletion until it is done or stuck. Refused
   * while a protecting Usage is composed. Returns what stays stuck, with
   * PostgreSQL's error.
   */
  deleteClaim(): Record<string, string> {
    const usage = Object.values(this.composed).find((o) => /Usage$/.test(o.kind));
    if (usage) throw new Error(`refused by ${usage.kind}: ${usage.spec?.reason}`);
    return this.deleteObjects(Object.keys(this.composed));
  }

  /** A composed v1 Secret's data, decoded. */
  secretData(key: string): Record<string, string> {
    const secret = this.composed[key];
    if (secret?.kind !== 'Secret' || secret.apiVersion !== 'v1') throw new Error(`no Secret composed as "${key}" (composed: ${Object.keys(this.composed).join(', ')})`);
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));
  }

  /** The login an app gets from a composed credentials Secret. */
  login(key = 'secret'): Login {
    const data = this.secretData(key);
    return { user: data.username!, password: data.password!, database: data.database! };
  }

  /** The composed objects of a kind, e.g. every DefaultPrivileges. */
  ofKind(kind: string): Obj[] {
    return Object.values(this.composed).filter((o) => o.kind === kind);
  }

  private request(required: Record<string, Obj[]>): RunFunctionRequest {
    const req = requestFor({ ...this.source, required });
    const resources: Record<string, unknown> = {};
    for (const [key, object] of Object.entries(this.composed)) {
      resources[key] = { resource: structuredClone(object), connectionDetails: this.connectionDetails(object), ready: 0 };
    }
    (req.observed as Obj).resources = resources;
    if (this.xrStatus) (req.observed as Obj).composite.resource.status = structuredClone(this.xrStatus);
    return req;
  }

  /** Crossplane hands the function each MR's connection details: the data of the secret it names. */
  private connectionDetails(object: Obj): Record<string, Buffer> {
    const key = connectionSecretKey(object);
    const data = key ? this.provider.connectionSecrets.get(key) : undefined;
    return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
  }

  private apply(desired: Record<string, Obj>): void {
    const gone = Object.keys(this.composed).filter((key) => !(key in desired));
    const stuck = this.deleteObjects(gone);
    if (Object.keys(stuck).length) throw new Error(`objects no longer desired could not be deleted: ${JSON.stringify(stuck)}`);
    this.applyObjects(desired);
  }

  /** Create or update objects (server-side apply), and let provider-sql reconcile the SQL ones that changed or are not ready. */
  private applyObjects(desired: Record<string, Obj>): void {
    const changed: string[] = [];
    for (const [key, object] of Object.entries(desired)) {
      const before = this.composed[key];
      // Other controllers' objects are taken as ready; a v1 Secret has no status at all.
      const status = isSqlManaged(object) ? before?.status : isKubeSecret(object) ? undefined : { conditions: READY };
      const ready = before?.status?.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True');
      // Any change to the object (its annotations too) is a watch event for its controller.
      const watched = (o: Obj | undefined) => JSON.stringify([o?.metadata?.annotations, o?.spec]);
      if (isSqlManaged(object) && (!ready || watched(before) !== watched(object))) changed.push(key);
      this.composed[key] = { ...structuredClone(object), ...(status ? { status } : {}) };
      if (isKubeSecret(object)) this.provider.kubeSecrets.set(`${object.metadata.namespace}/${object.metadata.name}`, decoded(object));
    }
    this.reconcileSql(changed);
  }

  /**
   * Objects of an earlier answer applied again (a reconcile that was in flight when the claim was
   * deleted, a restore from a backup): created as they were then, reconciled by provider-sql.
   */
  reapply(response: RunFunctionResponse, keys: string[]): void {
    this.applyObjects(Object.fromEntries(keys.map((k) => [k, response.desired!.resources[k]!.resource as Obj])));
  }

  /** Composed resources deleted by hand (kubectl delete), as Crossplane and provider-sql process it; returns what stays stuck. */
  deleteComposed(keys: string[]): Record<string, string> {
    return this.deleteObjects(keys);
  }

  /** provider-sql's periodic reconcile (its poll interval) of every SQL object. */
  poll(): void {
    this.reconcileSql(Object.keys(this.composed).filter((key) => isSqlManaged(this.composed[key]!)));
  }

  private reconcileSql(keys: string[]): void {
    const pending = [...keys].sort((a, b) => rank(this.composed[a]!) - rank(this.composed[b]!) || a.localeCompare(b));
    this.errors = {};
    // Controllers retry a failure with backoff; here, another round while the previous one got something done.
    for (let progress = true; progress && pending.length > 0; ) {
      progress = false;
      for (const key of [...pending]) {
        const object = this.composed[key]!;
        try {
          this.settle(object);
          object.status = { ...object.status, conditions: READY };
          delete this.errors[key];
          pending.splice(pending.indexOf(key), 1);
          progress = true;
        } catch (error) {
          if (!(error instanceof SqlError)) throw error;
          this.errors[key] = error.message;
          object.status = {
            ...object.status,
            conditions: [{ type: 'Ready', status: 'False', reason: 'Creating' }, { type: 'Synced', status: 'False', reason: 'ReconcileError', message: error.message }],
          };
        }
      }
    }
  }

  /**
   * crossplane-runtime requeues at once after a Create, and only after the
   * poll interval after an Update or when up to date: reconcile until either.
   */
  private settle(object: Obj): void {
    for (let i = 0; i < 3; i++) if (!this.provider.reconcile(object).created) return;
    throw new SqlError(`${object.kind} ${object.metadata?.name} is created again and again: ${this.provider.log.slice(-2).join(' | ')}`);
  }

  /** Deleted composed resources: provider-sql retries each until done; returns the ones that stay, with their error. */
  private deleteObjects(keys: string[]): Record<string, string> {
    const pending = keys.filter((key) => isSqlManaged(this.composed[key]!)).sort((a, b) => rank(this.composed[b]!) - rank(this.composed[a]!) || a.localeCompare(b));
    for (const key of keys) {
      if (pending.includes(key)) continue;
      const object = this.composed[key]!;
      if (isKubeSecret(object)) this.provider.kubeSecrets.delete(`${object.metadata.namespace}/${object.metadata.name}`);
      delete this.composed[key];
    }
    const stuck: Record<string, string> = {};
    for (let progress = true; progress && pending.length > 0; ) {
      progress = false;
      for (const key of [...pending]) {
        try {
          if (this.provider.reconcileDeletion(this.composed[key]!)) {
            // The MR's connection secret goes with it (garbage collection: provider-sql is not asked).
            const secret = connectionSecretKey(this.composed[key]!);
            if (secret) this.provider.connectionSecrets.delete(secret);
            delete this.composed[key];
            delete stuck[key];
            pending.splice(pending.indexOf(key), 1);
            progress = true;
          } else {
            stuck[key] = 'still there after Delete';
          }
        } catch (error) {
          if (!(error instanceof SqlError)) throw error;
          stuck[key] = error.message;
        }
      }
    }
    return stuck;
  }
}

function isKubeSecret(object: Obj): boolean {
  return object.apiVersion === 'v1' && object.kind === 'Secret';
}

function decoded(secret: Obj): Record<string, string> {
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));
}

/** The real examples of both flavours, each renamed to a tenant of its own so that tenants never share a database. */
export const EXAMPLES = {
  claim: { flavour: 'claim', xr: 'examples/claim/production.yaml' },
  namespaced: { flavour: 'namespaced', xr: 'examples/namespaced/tenantdatabase.yaml' },
} as const satisfies Record<string, ClaimSource>;

export type FlavourName = keyof typeof EXAMPLES;

/** The example of a flavour as the claim `namespace/name`, with spec fields patched in. */
export function example(flavour: FlavourName, namespace: string, name: string, spec: Obj = {}): ClaimSource {
  return { ...EXAMPLES[flavour], patch: { metadata: { namespace, name }, spec } };
}
