/**
 * The end-to-end promises of a TenantDatabase on the real control plane
 * (stack.ts: Crossplane v2.2.4, provider-sql v0.16.0, PostgreSQL 15, this
 * repository's function over mutual TLS), one flavour per stack. The cases
 * run in order on one tenant, as an app team and a platform engineer would:
 * (a) login, (b) a refusal on another claim, (c) a refused delete,
 * (d) a rotation, (e) the documented deletion with Orphan policies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, psqlAs, waitFor, whyNoStack, type Flavour, type Obj } from './stack.js';

const NS = 'team-a';
const NAME = 'app-db';

let why: string | undefined | null = null;
/** Built once per worker (both files share the cache; the second call finds everything built). */
function stackUnavailable(): string | undefined {
  if (why === null) why = whyNoStack();
  return why;
}

/** A case that failed prints what the control plane was doing; the stack is stopped either way. */
async function step<T>(stack: Stack | undefined, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (stack) console.error(stack.diagnostics());
    throw error;
  }
}

const tenantDatabase = (name: string, spec: Obj): Obj => ({
  apiVersion: 'tenantdb.platform.io/v1alpha1',
  kind: 'TenantDatabase',
  metadata: { name, namespace: NS },
  spec,
});

/** RFC 3339 to the second, as the XRD's pattern requires (no fraction). */
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function clusterSuite(flavour: Flavour): void {
  const unavailable = stackUnavailable();
  const title = `${flavour} flavour on the real control plane (Crossplane v2.2.4, provider-sql v0.16.0, PostgreSQL 15)`;
  if (unavailable !== undefined) {
    if (process.env.CI === 'true') {
      describe(title, () => {
        it('needs the stack', () => {
          throw new Error(unavailable);
        });
      });
      return;
    }
    console.warn(`SKIPPED: ${title}: ${unavailable}`);
    describe.skip(`${title} (skipped: ${unavailable})`, () => {
      it('needs the stack', () => undefined);
    });
    return;
  }

  describe(title, () => {
    let stack: Stack | undefined;
    let credentials: Record<string, string> | undefined;

    beforeAll(async () => {
      stack = await Stack.start(flavour);
      stack.kubectl(['create', 'namespace', NS]);
    });
    afterAll(async () => {
      await stack?.stop({ keep: process.env.TENANTDB_CLUSTER_KEEP === '1' });
    });

    const s = () => {
      if (!stack) throw new Error('the stack did not start');
      return stack;
    };
    const tenant = (name = NAME) => s().getJson(['-n', NS, 'tenantdatabases.tenantdb.platform.io', name]);
    /** The XR: the claim's composite (claim flavour), the TenantDatabase itself (namespaced). */
    const xrRef = (): string[] => {
      if (flavour === 'namespaced') return ['-n', NS, `tenantdatabases.tenantdb.platform.io/${NAME}`];
      const name = tenant()?.spec?.resourceRef?.name as string | undefined;
      if (!name) throw new Error(`claim ${NS}/${NAME} names no composite resource`);
      return [`xtenantdatabases.tenantdb.platform.io/${name}`];
    };
    /**
     * Waits for an edit of the claim to take effect. An XR whose watch circuit breaker is
     * open (Responsive=False, WatchCircuitOpen; one new claim spends more than the burst of
     * 100, SPEC) drops the update event of the edit, and then reconciles only after its TTL
     * (readySeconds, 600 s, once Ready). A change to the XR gets through the breaker's
     * half-open probe (about every 30 s), so while the breaker is open this touches an
     * annotation of the XR every 10 s, and says so: that wait is Crossplane's, not ours.
     */
    const untilEdited = async <T>(what: string, timeoutMs: number, check: () => T | undefined | false): Promise<T> => {
      let touches = 0;
      let last = 0;
      const value = await waitFor(what, timeoutMs, () => {
        const v = check();
        if (v !== undefined && v !== false) return v;
        const xr = s().getJson(xrRef());
        const responsive = ((xr?.status?.conditions ?? []) as Obj[]).find((c) => c.type === 'Responsive');
        if (responsive?.status === 'False' && Date.now() - last > 10_000) {
          last = Date.now();
          touches++;
          s().kubectlResult(['annotate', '--overwrite', ...xrRef(), `tenantdb.test/touch=${touches}`]);
        }
        return undefined;
      });
      if (touches > 0) console.warn(`${flavour}: ${what}: the XR's watch circuit breaker was open; touched the XR ${touches} time(s)`);
      return value;
    };

    it('(a) a claim gets <name>-secret, whose username/password/endpoint/port log in and create a table', async () => {
      await step(stack, async () => {
        s().apply([tenantDatabase(NAME, { deletionProtection: true, roleDeletionPolicy: 'Orphan', dbDeletionPolicy: 'Orphan' })]);
        const started = Date.now();
        credentials = await waitFor(`${NS}/${NAME}-secret to log in`, 120_000, () => {
          const secret = s().secret(NS, `${NAME}-secret`);
          return secret?.password && psqlAs(secret, 'select 1').code === 0 ? secret : undefined;
        });
        console.info(`${flavour}: first login ${((Date.now() - started) / 1000).toFixed(1)} s after apply`);
        for (const key of ['username', 'password', 'endpoint', 'port', 'database']) expect(credentials[key], key).toBeTruthy();
        expect(credentials.endpoint).toBe(s().env.PGHOST);
        expect(credentials.port).toBe(s().env.PGPORT);
        const created = psqlAs(credentials, 'create table notes (id int primary key, body text); insert into notes values (1, $$kept$$); select body from notes');
        expect(created.stderr).toBe('');
        expect(created.stdout).toBe('kept');
      });
    });

    it('(b) a refusal reaches the claim: an extension not in allowedExtensions', async () => {
      await step(stack, async () => {
        s().apply([tenantDatabase('refused-db', { deletionProtection: false, extensions: [{ name: 'plpython3u' }] })]);
        const provisioned = await waitFor('refused-db to show Provisioned=False naming the extension', 90_000, () => {
          const c = ((tenant('refused-db')?.status?.conditions ?? []) as Obj[]).find((x) => x.type === 'Provisioned');
          return c?.status === 'False' && String(c.message).includes('plpython3u') ? c : undefined;
        });
        expect(provisioned.reason).toBeTruthy();
        // The same reason reaches the claim as a Warning event (Crossplane records the results before the Fatal one).
        const events = JSON.parse(s().kubectl(['-n', NS, 'get', 'events', '--field-selector', 'involvedObject.name=refused-db', '-o', 'json'])) as Obj;
        const warnings = (events.items as Obj[]).filter((e) => e.type === 'Warning' && String(e.message).includes('plpython3u'));
        expect(warnings.length, JSON.stringify(events.items.map((e: Obj) => `${e.type} ${e.reason}: ${e.message}`))).toBeGreaterThan(0);
        // Refused means nothing was composed: no Secret for it.
        expect(s().secret(NS, 'refused-db-secret')).toBeUndefined();
      });
    });

    it('(c) deletionProtection refuses a delete with the Usage reason', async () => {
      await step(stack, async () => {
        await waitFor(`${NAME} status.protected true`, 60_000, () => tenant()?.status?.protected === true);
        const refused = s().kubectlResult(['-n', NS, 'delete', 'tenantdatabases.tenantdb.platform.io', NAME, '--wait=false']);
        expect(refused.code).not.toBe(0);
        expect(refused.stderr).toMatch(/in-use by .*usage/i);
        expect(refused.stderr).toContain('spec.deletionProtection');
        expect(tenant()?.metadata?.deletionTimestamp).toBeUndefined();
        expect(psqlAs(credentials!, 'select count(*) from notes').stdout).toBe('1');
      });
    });

    it('(d) a rotation (a later passwordRotationTrigger) changes the password: the new one logs in, the old one is refused', async () => {
      await step(stack, async () => {
        const before = credentials!;
        const trigger = rfc3339(Date.now() + 1_000);
        s().kubectl(['-n', NS, 'patch', 'tenantdatabases.tenantdb.platform.io', NAME, '--type=merge', '-p', JSON.stringify({ spec: { passwordRotationTrigger: trigger } })]);
        const after = await untilEdited(`${NAME}-secret to carry a new password`, 180_000, () => {
          const secret = s().secret(NS, `${NAME}-secret`);
          return secret?.password && secret.password !== before.password ? secret : undefined;
        });
        expect(after.username).toBe(before.username);
        // The Secret names a login that works with the password it holds (SPEC, promises over time).
        const read = psqlAs(after, 'select body from notes');
        expect(read.stderr).toBe('');
        expect(read.stdout).toBe('kept');
        const old = psqlAs(after, 'select 1', before.password);
        expect(old.code).not.toBe(0);
        expect(old.stderr).toMatch(/password authentication failed/);
        credentials = after;
        await waitFor('status.passwordRotation to be applied', 60_000, () => {
          const r = tenant()?.status?.passwordRotation as Obj | undefined;
          return r?.trigger === trigger && r.pending !== true;
        });
      });
    });

    it('(e) Orphan keeps data: protection off, status.protected false, delete; database, role and table remain', async () => {
      await step(stack, async () => {
        const { database, username } = credentials!;
        s().kubectl(['-n', NS, 'patch', 'tenantdatabases.tenantdb.platform.io', NAME, '--type=merge', '-p', '{"spec":{"deletionProtection":false}}']);
        // The delete refused in (c) is replayed by the Usage (replayDeletion) once protection is off, so the
        // tenant may already be going away; otherwise it shows protected false, and the documented delete follows.
        const seen = await untilEdited(`${NAME} status.protected false`, 180_000, () => {
          const t = tenant();
          if (t === undefined || t.metadata?.deletionTimestamp !== undefined) return 'already being deleted (the Usage replayed the delete refused in (c))';
          return t.status?.protected === false ? 'status.protected false' : undefined;
        });
        console.info(`${flavour}: after deletionProtection false: ${seen}`);
        s().kubectl(['-n', NS, 'delete', 'tenantdatabases.tenantdb.platform.io', NAME, '--ignore-not-found', '--wait=false']);
        await waitFor(`${NAME} to be gone`, 180_000, () => tenant() === undefined);
        await waitFor('every composed object of the tenant to be gone', 120_000, () => {
          const left = s().kubectlResult(['get', 'managed', '-A', '-o', 'name']).stdout.trim();
          return left === '' ? true : undefined;
        });
        const sql = (q: string) => s().psqlAdmin('postgres', q).stdout;
        expect(sql(`select count(*) from pg_database where datname = '${database}'`)).toBe('1');
        expect(sql(`select rolcanlogin from pg_roles where rolname = '${username}'`)).toBe('t');
        expect(s().psqlAdmin(database!, 'select body from notes').stdout).toBe('kept');
      });
    });
  });
}
