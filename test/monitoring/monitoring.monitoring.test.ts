/**
 * `npm run test:monitoring`: what ships under monitoring/ and examples/monitoring/,
 * run by the real programs that will run it in a cluster.
 *
 * 1. promtool check rules / test rules on the PrometheusRule (its spec.groups).
 * 2. kube-state-metrics with monitoring/kube-state-metrics/tenantdatabase-crs.yaml
 *    against a real kube-apiserver (test/e2e/apiserver.ts) holding claims, an
 *    XR of the claim flavour, then namespaced XRs: its /metrics must hold each
 *    series with the right labels and values.
 * 3. postgres_exporter 0.11 with monitoring/postgres-exporter/queries.yaml
 *    against PostgreSQL 15 holding two tenants provisioned as provider-sql
 *    would (test/sql/control-plane.ts): size and connections per tenant
 *    database, no system database.
 * 4. The function's own /metrics after real calls.
 * 5. Every metric name the rules and the dashboard use was seen in 2–4, and
 *    the dashboard's tenant panels are filtered to the chosen namespace.
 *
 * Runs in order in one file: step 5 needs what 2–4 saw.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { connect, startFunction, type RunningFunction } from '../../scripts/shared/client.js';
import { repoPath, SHARED } from '../support/shared.js';
import { freePort } from '../support/ports.js';
import { startControlPlane, type ControlPlane, type Obj } from '../e2e/apiserver.js';
import { crdsForXrd } from '../e2e/xcrd.js';
import { PG_BIN, type PostgresServer } from '../sql/postgres.js';
import { example, Tenant, throwawayServer } from '../sql/control-plane.js';
import type { ProviderSql } from '../sql/provider-sql.js';
import { select, total, type Sample } from './prom-text.js';
import { longestGapSeconds } from '../../function/backup/cron.js';
import { tenantIdentifier } from '../../function/naming.js';
import { good, invalidSpec, notAllowed, withRequirements } from './requests.js';
import { metricNames, monitoringTools, POSTGRES_EXPORTER, required, run, scrapeUntil, type Running } from './tools.js';

const RULES = repoPath('monitoring/prometheus/tenantdatabase-rules.yaml');
const RULE_TESTS = repoPath('monitoring/prometheus/tests.yaml');
const KSM_CONFIG = repoPath('monitoring/kube-state-metrics/tenantdatabase-crs.yaml');
const QUERIES = repoPath('monitoring/postgres-exporter/queries.yaml');
const DASHBOARD = repoPath('monitoring/grafana/tenantdatabase-dashboard.json');

/** Every metric name a real program printed in this run. */
const seen = new Set<string>();
/** Which sources ran: the names check needs all of them. */
const ran = new Set<string>();
const see = (samples: Sample[]) => samples.forEach((s) => seen.add(s.name));

/**
 * What the real programs printed for tenants in the states the alerts are about, fed to promtool at the
 * end ("alerts on what the programs print"): kube-state-metrics' scrape of those tenants, and
 * postgres_exporter's of an Alternating tenant near its limit.
 */
const stateSamples: Sample[] = [];
const exporterSamples: Sample[] = [];
/** The instant the state tenants' times are written against; promtool's clock (from 0) stands for it at ALERT_EVAL. */
const STATE_NOW = Date.parse('2026-12-08T00:00:00Z') / 1000;
const ALERT_EVAL_MINUTES = 60;
/** The Alternating tenant near its connection limit: a namespaced XR for kube-state-metrics, a tenant in PostgreSQL. */
const ALT = { namespace: 'team-alt', name: 'alt-db', limit: 5 };
const ALT_DATABASE = tenantIdentifier('{namespace}_{name}', ALT.namespace, ALT.name);

/** Set by vitest.monitoring.config.ts: `npm test` sees this file as skipped, `npm run test:monitoring` runs it. */
const SUITE = process.env.TENANTDB_MONITORING === '1';
const tools = SUITE ? monitoringTools() : { missing: 'not the monitoring suite' };
const haveTools = SUITE && required('promtool and kube-state-metrics', tools.missing);
const bin = (tool: string) => join(tools.dir!, tool);

// ---------------------------------------------------------------------------
describe.skipIf(!haveTools)('promtool', () => {
  // reason: a rule file Prometheus cannot load is silently no alerting at all.
  it('check rules and test rules pass on the PrometheusRule', () => {
    const rule = parse(readFileSync(RULES, 'utf8')) as Obj;
    expect(rule).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    const dir = mkdtempSync(join(tmpdir(), 'tenantdb-rules-'));
    try {
      writeFileSync(join(dir, 'tenantdatabase-rules.groups.yaml'), stringify(rule.spec));
      copyFileSync(RULE_TESTS, join(dir, 'tests.yaml'));
      const check = execFileSync(bin('promtool'), ['check', 'rules', 'tenantdatabase-rules.groups.yaml'], { cwd: dir, encoding: 'utf8' });
      expect(check).toMatch(/SUCCESS: \d+ rules found/);
      const test = execFileSync(bin('promtool'), ['test', 'rules', 'tests.yaml'], { cwd: dir, encoding: 'utf8' });
      expect(test).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // reason: every alert must be unit-tested firing, or a typo in its expression would never be noticed.
  it('every alert has a firing test case and a runbook section', () => {
    const rule = parse(readFileSync(RULES, 'utf8')) as Obj;
    const tests = parse(readFileSync(RULE_TESTS, 'utf8')) as Obj;
    const docs = readFileSync(repoPath('docs/monitoring.md'), 'utf8');
    const alerts = (rule.spec.groups as Obj[]).flatMap((g) => (g.rules as Obj[]).map((r) => r.alert as string));
    const firing = new Set(
      (tests.tests as Obj[]).flatMap((t) => (t.alert_rule_test as Obj[]).filter((a) => (a.exp_alerts ?? []).length > 0).map((a) => a.alertname as string)),
    );
    const quiet = new Set((tests.tests as Obj[]).flatMap((t) => (t.alert_rule_test as Obj[]).filter((a) => (a.exp_alerts ?? []).length === 0).map((a) => a.alertname as string)));
    for (const alert of alerts) {
      expect(firing.has(alert), `${alert} has a test where it fires`).toBe(true);
      expect(quiet.has(alert), `${alert} has a test where it stays quiet`).toBe(true);
      expect(docs, `docs/monitoring.md has a runbook for ${alert}`).toMatch(new RegExp(`^### ${alert}$`, 'm'));
    }
  });
});

// ---------------------------------------------------------------------------
/** Fields the function is to report and the XRD may not have yet: the test CRD gets them so kube-state-metrics' paths are exercised. */
const UPCOMING_STATUS = {
  backup: {
    type: 'object',
    properties: { enabled: { type: 'boolean' }, lastScheduleTime: { type: 'string' }, lastSuccessfulTime: { type: 'string' } },
  },
  passwordRotation: { type: 'object', properties: { pending: { type: 'boolean' }, trigger: { type: 'string' } } },
};

function crdsWithUpcomingStatus(xrdFile: string): Obj[] {
  const xrd = parse(readFileSync(repoPath(xrdFile), 'utf8')) as Obj;
  return crdsForXrd(xrd).map((crd) => {
    for (const v of crd.spec.versions as Obj[]) {
      const status = v.schema.openAPIV3Schema.properties.status;
      for (const [field, schema] of Object.entries(UPCOMING_STATUS)) {
        if (!status.properties[field]) {
          console.warn(`note: ${xrdFile} has no status.${field} yet; the test CRD adds it as docs/monitoring.md expects it`);
          status.properties[field] = schema;
        }
      }
    }
    return crd;
  });
}

const conditions = (list: [string, string, string][]) =>
  list.map(([type, status, reason]) => ({ type, status, reason, lastTransitionTime: '2026-12-01T10:00:00Z', message: '' }));

const TRIGGER = '2026-12-01T09:00:00Z';
const CHANGED = '2026-12-01T09:00:30Z';
const BACKUP_SCHEDULED = '2026-12-01T02:00:00Z';
const BACKUP_SUCCEEDED = '2026-12-01T02:05:00Z';
const unix = (t: string) => Date.parse(t) / 1000;

/** A healthy tenant's status, as the function reports it (plus the upcoming fields). */
const readyStatus = (database: string) => ({
  database,
  role: database,
  readOnlyRole: `${database}_ro`,
  secretName: 'ready-db-secret',
  protected: true,
  deletionProtection: true,
  passwordChangedAt: CHANGED,
  passwordRotation: { pending: false, trigger: TRIGGER },
  backup: { enabled: true, lastScheduleTime: BACKUP_SCHEDULED, lastSuccessfulTime: BACKUP_SUCCEEDED },
});

const haveControlPlane = haveTools && required('kube-apiserver', (() => {
  try {
    execFileSync('bash', [repoPath('e2e/build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    return undefined;
  } catch (error) {
    return `e2e/build.sh could not build etcd and kube-apiserver: ${(error as Error).message}`;
  }
})());

describe.skipIf(!haveControlPlane)('kube-state-metrics against a real API server', () => {
  let cp: ControlPlane | undefined;
  let ksm: Running | undefined;
  let dir: string;

  beforeAll(async () => {
    cp = await startControlPlane();
    dir = mkdtempSync(join(tmpdir(), 'tenantdb-ksm-'));
    const token = readFileSync(join(cp.workDir, 'tokens.csv'), 'utf8').split(',')[0]!;
    writeFileSync(join(dir, 'kubeconfig'), stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: cp.server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'e2e', user: { token } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'e2e' } }],
      'current-context': 'e2e',
    }), { mode: 0o600 });
  }, 10 * 60_000);

  afterAll(async () => {
    await ksm?.stop();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** (Re)start kube-state-metrics with the shipped config and wait until `ready` holds. */
  async function scrapeKsm(ready: (s: Sample[]) => boolean) {
    await ksm?.stop();
    const port = await freePort();
    const telemetry = await freePort();
    ksm = run(bin('kube-state-metrics'), [
      `--kubeconfig=${join(dir, 'kubeconfig')}`,
      '--host=127.0.0.1', `--port=${port}`, '--telemetry-host=127.0.0.1', `--telemetry-port=${telemetry}`,
      '--custom-resource-state-only=true', `--custom-resource-state-config-file=${KSM_CONFIG}`,
    ]);
    const result = await scrapeUntil(`http://127.0.0.1:${port}/metrics`, ready, ksm, 90_000);
    see(result.samples);
    return result.samples;
  }

  async function put(obj: Obj, status?: Obj) {
    await cp!.client.apply(obj);
    if (status) await cp!.client.applyStatus({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace }, status });
  }

  const claim = (namespace: string, name: string, spec: Obj = {}) => ({
    apiVersion: 'tenantdb.platform.io/v1alpha1',
    kind: 'TenantDatabase',
    metadata: { name, namespace },
    spec: { deletionProtection: true, roleDeletionPolicy: 'Orphan', dbDeletionPolicy: 'Orphan', ...spec },
  });

  // reason: an example the API server refuses would leave the function without its metrics port in a real cluster.
  it("examples/monitoring/function-runtime.yaml is accepted by Crossplane's CRDs", async () => {
    const k = cp!.client;
    for (const file of ['pkg.crossplane.io_deploymentruntimeconfigs.yaml', 'pkg.crossplane.io_functions.yaml']) {
      const path = join(SHARED, 'stack-crds/crossplane', file);
      if (!required("Crossplane's CRDs", existsSync(path) ? undefined : `${path} is missing`)) return;
      await k.applyCRD(parse(readFileSync(path, 'utf8')) as Obj);
    }
    for (const doc of parseAllDocuments(readFileSync(repoPath('examples/monitoring/function-runtime.yaml'), 'utf8')).map((d) => d.toJSON() as Obj)) {
      await expect(k.create(doc, { dryRun: true }), `${doc.kind} ${doc.metadata.name}`).resolves.toMatchObject({ status: 201, warnings: [] });
    }
  }, 5 * 60_000);

  // reason: the alerts and dashboard read these series; a wrong path or label in the config would leave them empty without any error.
  it('claim flavour: claims and their XR export conditions, protection, names, rotation and backups', async () => {
    const k = cp!.client;
    for (const crd of crdsWithUpcomingStatus('xrds/claim/definition.yaml')) await k.applyCRD(crd);
    for (const ns of ['team-a', 'team-b']) await k.ensureNamespace(ns);
    await put(claim('team-a', 'ready-db', { readOnlyRole: true, connectionLimit: 10, passwordRotationTrigger: TRIGGER }), {
      ...readyStatus('team_a_ready_db'),
      conditions: conditions([['Ready', 'True', 'Available'], ['Synced', 'True', 'ReconcileSuccess'], ['Provisioned', 'True', 'Available']]),
    });
    await put(claim('team-b', 'refused-db', { extensions: [{ name: 'plpython3u' }] }), {
      conditions: conditions([['Ready', 'False', 'Creating'], ['Synced', 'True', 'ReconcileSuccess'], ['Provisioned', 'False', 'NotAllowed']]),
    });
    await put(
      {
        apiVersion: 'tenantdb.platform.io/v1alpha1',
        kind: 'XTenantDatabase',
        metadata: { name: 'ready-db-x7k2p', labels: { 'crossplane.io/claim-name': 'ready-db', 'crossplane.io/claim-namespace': 'team-a' } },
        spec: { deletionProtection: true, roleDeletionPolicy: 'Orphan', dbDeletionPolicy: 'Orphan', claimRef: { apiVersion: 'tenantdb.platform.io/v1alpha1', kind: 'TenantDatabase', name: 'ready-db', namespace: 'team-a' } },
      },
      {
        ...readyStatus('team_a_ready_db'),
        conditions: conditions([['Ready', 'True', 'Available'], ['Synced', 'True', 'ReconcileSuccess'], ['Responsive', 'False', 'WatchCircuitOpen']]),
      },
    );

    const s = await scrapeKsm((s) => select(s, 'tenantdb_info').length >= 2 && select(s, 'tenantdb_xr_info').length >= 1);
    const a = { customresource_kind: 'TenantDatabase', namespace: 'team-a', claim: 'ready-db' };
    const b = { customresource_kind: 'TenantDatabase', namespace: 'team-b', claim: 'refused-db' };
    const xr = { customresource_kind: 'XTenantDatabase', namespace: 'team-a', claim: 'ready-db', xr: 'ready-db-x7k2p' };

    for (const type of ['Ready', 'Synced', 'Provisioned']) expect(total(s, 'tenantdb_status_condition', { ...a, type }), `${type} of ready-db`).toBe(1);
    expect(total(s, 'tenantdb_status_condition', { ...b, type: 'Ready' })).toBe(0);
    expect(select(s, 'tenantdb_status_condition', { ...b, type: 'Provisioned' }).map((x) => x.value)).toEqual([0]);
    expect(select(s, 'tenantdb_status_condition_reason', { ...b, type: 'Provisioned' }).map((x) => [x.labels.status, x.labels.reason, x.value])).toEqual([['False', 'NotAllowed', 1]]);
    expect(total(s, 'tenantdb_status_condition_last_transition_time_seconds', { ...a, type: 'Ready' })).toBe(unix('2026-12-01T10:00:00Z'));

    expect(total(s, 'tenantdb_spec_deletion_protection', a)).toBe(1);
    expect(total(s, 'tenantdb_spec_deletion_protection', b)).toBe(1);
    expect(total(s, 'tenantdb_status_protected', a)).toBe(1);
    // Not reported yet counts as not protected (nilIsZero), so the Unprotected alert sees it.
    expect(select(s, 'tenantdb_status_protected', b).map((x) => x.value)).toEqual([0]);

    expect(select(s, 'tenantdb_info', a).map((x) => x.labels)).toEqual([
      expect.objectContaining({ database: 'team_a_ready_db', role: 'team_a_ready_db', read_only_role: 'team_a_ready_db_ro', db_deletion_policy: 'Orphan', role_deletion_policy: 'Orphan' }),
    ]);
    expect(total(s, 'tenantdb_spec_read_only_role', a)).toBe(1);
    expect(select(s, 'tenantdb_spec_read_only_role', b).map((x) => x.value)).toEqual([0]);
    expect(total(s, 'tenantdb_spec_connection_limit', a)).toBe(10);
    expect(total(s, 'tenantdb_spec_connection_limit', b)).toBe(-1);

    expect(total(s, 'tenantdb_spec_password_rotation_trigger_time_seconds', a)).toBe(unix(TRIGGER));
    expect(total(s, 'tenantdb_status_password_changed_time_seconds', a)).toBe(unix(CHANGED));
    expect(select(s, 'tenantdb_status_password_rotation_pending', a).map((x) => x.value)).toEqual([0]);
    expect(total(s, 'tenantdb_status_password_rotation_trigger_time_seconds', a)).toBe(unix(TRIGGER));
    expect(total(s, 'tenantdb_status_backup_enabled', a)).toBe(1);
    expect(total(s, 'tenantdb_status_backup_last_schedule_time_seconds', a)).toBe(unix(BACKUP_SCHEDULED));
    expect(total(s, 'tenantdb_status_backup_last_successful_time_seconds', a)).toBe(unix(BACKUP_SUCCEEDED));
    // Fields a tenant has not got give no series at all (no made-up zeros).
    expect(select(s, 'tenantdb_status_backup_enabled', b)).toEqual([]);
    expect(select(s, 'tenantdb_spec_password_rotation_trigger_time_seconds', b)).toEqual([]);

    // The claim-flavour XR: labelled with its claim, carrying Responsive.
    expect(select(s, 'tenantdb_xr_status_condition_reason', { ...xr, type: 'Responsive' }).map((x) => [x.labels.status, x.labels.reason])).toEqual([['False', 'WatchCircuitOpen']]);
    expect(total(s, 'tenantdb_xr_status_condition', { ...xr, type: 'Responsive' })).toBe(0);
    expect(total(s, 'tenantdb_xr_status_protected', xr)).toBe(1);
    ran.add('kube-state-metrics claim');
  }, 5 * 60_000);

  // reason: the namespaced flavour's TenantDatabase is the XR itself, with Responsive on it; the same config must cover it.
  it('namespaced flavour: the XR is the TenantDatabase and carries Responsive itself', async () => {
    const k = cp!.client;
    await ksm?.stop();
    for (const crd of crdsWithUpcomingStatus('xrds/claim/definition.yaml')) await k.deleteCRD(crd.metadata.name);
    for (const crd of crdsWithUpcomingStatus('xrds/namespaced/definition.yaml')) await k.applyCRD(crd);
    await k.ensureNamespace('team-n');
    await put(claim('team-n', 'busy-db', { connectionLimit: 20 }), {
      ...readyStatus('team_n_busy_db'),
      protected: false,
      conditions: conditions([['Ready', 'False', 'Creating'], ['Synced', 'True', 'ReconcileSuccess'], ['Provisioned', 'False', 'Waiting'], ['Responsive', 'False', 'WatchCircuitOpen']]),
    });
    const s = await scrapeKsm((s) => select(s, 'tenantdb_info').length >= 1);
    const n = { customresource_kind: 'TenantDatabase', namespace: 'team-n', claim: 'busy-db' };
    expect(select(s, 'tenantdb_status_condition_reason', { ...n, type: 'Responsive' }).map((x) => [x.labels.status, x.labels.reason])).toEqual([['False', 'WatchCircuitOpen']]);
    expect(select(s, 'tenantdb_status_condition_reason', { ...n, type: 'Provisioned' }).map((x) => x.labels.reason)).toEqual(['Waiting']);
    expect(select(s, 'tenantdb_status_protected', n).map((x) => x.value)).toEqual([0]);
    expect(total(s, 'tenantdb_spec_deletion_protection', n)).toBe(1);
    expect(select(s, 'tenantdb_info', n).map((x) => x.labels.database)).toEqual(['team_n_busy_db']);
    expect(total(s, 'tenantdb_spec_connection_limit', n)).toBe(20);
    // No XTenantDatabase in this flavour.
    expect(select(s, 'tenantdb_xr_info')).toEqual([]);
    ran.add('kube-state-metrics namespaced');
  }, 5 * 60_000);

  // reason: the alerts must be right about what kube-state-metrics really prints for tenants in these states, not about hand-written series.
  it('tenants in the states the alerts are about, as the function reports them (scraped for the alert test below)', async () => {
    const k = cp!.client;
    for (const crd of crdsWithUpcomingStatus('xrds/namespaced/definition.yaml')) await k.applyCRD(crd);
    await k.ensureNamespace('team-s');
    await k.ensureNamespace(ALT.namespace);
    const at = (secondsBefore: number) => new Date((STATE_NOW - secondsBefore) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const day = 86_400;
    const ready = conditions([['Ready', 'True', 'Available'], ['Synced', 'True', 'ReconcileSuccess'], ['Provisioned', 'True', 'Available']]);
    const backup = (schedule: string, sinceDays: number, succeededDaysAgo?: number) => ({
      enabled: true,
      schedule,
      retentionDays: 14,
      intervalSeconds: longestGapSeconds(schedule),
      location: 's3://example-tenantdb-backups/tenantdb/team-s/x/',
      since: at(sinceDays * day),
      ...(succeededDaysAgo === undefined ? {} : { lastScheduleTime: at(succeededDaysAgo * day + 300), lastSuccessfulTime: at(succeededDaysAgo * day) }),
    });
    const base = (name: string) => ({ database: `team_s_${name.replace(/-/g, '_')}`, role: `team_s_${name.replace(/-/g, '_')}`, protected: true, deletionProtection: true, conditions: ready });
    // Backups on for two days, daily, never a success: its first run is long overdue.
    await put(claim('team-s', 'never-db'), { ...base('never-db'), backup: backup('30 2 * * *', 2) });
    // Waiting for its restore (spec.restoreFrom): backups suspended, none yet, and none expected.
    await put(claim('team-s', 'restoring-db'), { ...base('restoring-db'), backup: { ...backup('30 2 * * *', 2), suspended: true } });
    // Weekly, on day 3 after its last success: on time.
    await put(claim('team-s', 'weekly-db'), { ...base('weekly-db'), backup: backup('0 3 * * 0', 30, 3) });
    // Daily, last success three days ago: stale.
    await put(claim('team-s', 'daily-db'), { ...base('daily-db'), backup: backup('15 1 * * *', 30, 3) });
    // Rotated long ago: its trigger passed 90 days ago, passwordChangedAt (no longer moving) is older still; nothing pending.
    await put(claim('team-s', 'rotated-db', { passwordRotationTrigger: at(90 * day) }), {
      ...base('rotated-db'),
      passwordChangedAt: at(200 * day),
      passwordRotation: { pending: false, trigger: at(90 * day) },
    });
    // A rotation asked for an hour ago and still pending.
    await put(claim('team-s', 'pending-db', { passwordRotationTrigger: at(3600) }), {
      ...base('pending-db'),
      conditions: conditions([['Ready', 'True', 'Available'], ['Synced', 'True', 'ReconcileSuccess'], ['Provisioned', 'False', 'Waiting']]),
      passwordRotation: { pending: true, trigger: at(3600) },
    });
    // Alternating, switched 10 minutes ago with an hour's grace; the next rotation, asked for since, waits for it.
    await put(claim('team-s', 'grace-db', { passwordRotationTrigger: at(300), passwordRotation: { mode: 'Alternating', graceSeconds: 3600 } }), {
      ...base('grace-db'),
      passwordRotation: { pending: true, trigger: at(300), activeLogin: 'login-b', previousLogin: 'login-a', rotation: at(300), switchedAt: at(600) },
    });
    // The Alternating tenant whose database postgres_exporter sees near its limit (below).
    await put(claim(ALT.namespace, ALT.name, { connectionLimit: ALT.limit, passwordRotation: { mode: 'Alternating' } }), {
      database: ALT_DATABASE,
      role: ALT_DATABASE,
      protected: true,
      conditions: ready,
      passwordRotation: { pending: false, activeLogin: 'login-a', previousLogin: 'tenant', rotation: 'initial', switchedAt: at(30 * day) },
    });
    const s = await scrapeKsm((s) => select(s, 'tenantdb_info', { namespace: 'team-s' }).length >= 7 && select(s, 'tenantdb_info', { namespace: ALT.namespace }).length === 1);
    const mine = s.filter((x) => x.labels.namespace === 'team-s' || x.labels.namespace === ALT.namespace);
    // What the rules read is there, from the function's status fields.
    const never = { namespace: 'team-s', claim: 'never-db' };
    expect(total(mine, 'tenantdb_status_backup_interval_seconds', never)).toBe(86_400);
    expect(total(mine, 'tenantdb_status_backup_since_time_seconds', never)).toBe(STATE_NOW - 2 * day);
    expect(select(mine, 'tenantdb_status_backup_last_successful_time_seconds', never)).toEqual([]);
    expect(total(mine, 'tenantdb_status_backup_interval_seconds', { claim: 'weekly-db' })).toBe(7 * day);
    expect(total(mine, 'tenantdb_status_backup_suspended', { claim: 'restoring-db' })).toBe(1);
    expect(total(mine, 'tenantdb_spec_password_rotation_grace_seconds', { claim: 'grace-db' })).toBe(3600);
    expect(total(mine, 'tenantdb_status_password_rotation_switched_time_seconds', { claim: 'grace-db' })).toBe(STATE_NOW - 600);
    stateSamples.push(...mine);
    ran.add('kube-state-metrics states');
  }, 5 * 60_000);
});

// ---------------------------------------------------------------------------
const havePostgres = SUITE && required('PostgreSQL 15 and postgres_exporter', (() => {
  const missing = [join(PG_BIN, 'postgres'), join(PG_BIN, 'initdb'), POSTGRES_EXPORTER].filter((p) => !existsSync(p));
  return missing.length ? `${missing.join(', ')} missing (apt-get install postgresql-15 prometheus-postgres-exporter)` : undefined;
})());

describe.skipIf(!havePostgres)('postgres_exporter custom queries against PostgreSQL 15', () => {
  let server: PostgresServer;
  let provider: ProviderSql;
  let exporter: Running | undefined;
  const sessions: ChildProcess[] = [];
  throwawayServer((started, admin) => {
    server = started;
    provider = admin;
  });
  afterAll(async () => {
    for (const s of sessions) s.kill('SIGKILL');
    await exporter?.stop();
  });

  // reason: per-tenant size and connections against the limit are what app teams ask for first; the query must return exactly the tenant databases.
  it('reports each tenant database: size, every session in it against the tenant\'s limit, labelled by database', async () => {
    // Without the AWS copy: nothing here plays the AWS provider, and only the PostgreSQL side matters.
    const limited = new Tenant(provider, example('claim', 'team-p', 'limited-db', { connectionLimit: 5, secretsManager: { enabled: false } }));
    limited.converge();
    const open = new Tenant(provider, example('namespaced', 'team-q', 'open-db', { connectionLimit: -1, secretsManager: { enabled: false } }));
    open.converge();
    const statusDatabase = (t: Tenant) => (t.last?.desired?.composite?.resource)?.status?.database as string;
    const dbLimited = statusDatabase(limited);
    const dbOpen = statusDatabase(open);
    expect(dbLimited).toBeTruthy();
    expect(dbOpen).toBeTruthy();

    // The exporter's own login: pg_monitor only, as docs/monitoring.md asks (tenant databases revoke CONNECT from PUBLIC).
    const monitorPassword = 'monitor-pw-9d1e';
    server.must(server.asAdmin(), `CREATE ROLE tenantdb_monitor LOGIN PASSWORD '${monitorPassword}'; GRANT pg_monitor TO tenantdb_monitor;`);

    // Three sessions of the limited tenant's role, held open.
    const login = limited.login();
    for (let i = 0; i < 3; i++) {
      sessions.push(spawn(join(PG_BIN, 'psql'), ['-X', '-q', '-h', server.host, '-p', String(server.port), '-U', login.user, '-d', login.database, '-c', 'SELECT pg_sleep(300)'], {
        env: { ...process.env, PGPASSWORD: login.password, PGSSLMODE: 'disable' },
        stdio: 'ignore',
      }));
    }
    const deadline = Date.now() + 30_000;
    while (server.must(server.asAdmin(), `SELECT count(*) FROM pg_stat_activity WHERE usename = '${login.user}'`)[0]![0] !== '3') {
      if (Date.now() > deadline) throw new Error('the tenant sessions did not connect');
      await new Promise((r) => setTimeout(r, 200));
    }

    // The Alternating tenant near its limit: the app logs in as <role>_la or _lb, the reader as <role>_ro; every
    // session in the database counts against the tenant's limit.
    const alt = new Tenant(provider, example('namespaced', ALT.namespace, ALT.name, { connectionLimit: ALT.limit, readOnlyRole: true, passwordRotation: { mode: 'Alternating' }, secretsManager: { enabled: false } }));
    alt.converge();
    expect(statusDatabase(alt)).toBe(ALT_DATABASE);
    const altLogins = [alt.login(), alt.login(), alt.login(), alt.login(), alt.login('readonly-secret')];
    expect(altLogins[0]!.user).toMatch(/_l[ab]$/);
    expect(altLogins[4]!.user).toMatch(/_ro$/);
    for (const l of altLogins) {
      sessions.push(spawn(join(PG_BIN, 'psql'), ['-X', '-q', '-h', server.host, '-p', String(server.port), '-U', l.user, '-d', l.database, '-c', 'SELECT pg_sleep(300)'], {
        env: { ...process.env, PGPASSWORD: l.password, PGSSLMODE: 'disable' },
        stdio: 'ignore',
      }));
    }
    const altDeadline = Date.now() + 30_000;
    while (server.must(server.asAdmin(), `SELECT count(*) FROM pg_stat_activity WHERE datname = '${ALT_DATABASE}'`)[0]![0] !== String(altLogins.length)) {
      if (Date.now() > altDeadline) throw new Error('the Alternating tenant\'s sessions did not connect');
      await new Promise((r) => setTimeout(r, 200));
    }

    const port = await freePort();
    exporter = run(POSTGRES_EXPORTER, [
      `--extend.query-path=${QUERIES}`, `--web.listen-address=127.0.0.1:${port}`,
      '--disable-default-metrics', '--disable-settings-metrics', '--log.level=warn',
    ], { ...process.env, DATA_SOURCE_NAME: `postgresql://tenantdb_monitor:${monitorPassword}@${server.host}:${server.port}/postgres?sslmode=disable` });
    const { text, samples: s } = await scrapeUntil(`http://127.0.0.1:${port}/metrics`, (s) => select(s, 'tenantdb_database_size_bytes').length > 0, exporter);
    see(s);

    // Exactly the tenant databases: no postgres, template0, template1.
    expect(select(s, 'tenantdb_database_size_bytes').map((x) => x.labels.database).sort()).toEqual([dbLimited, dbOpen, ALT_DATABASE].sort());
    // Every login of the Alternating tenant counts, against the tenant's limit.
    const a = { database: ALT_DATABASE };
    expect(total(s, 'tenantdb_database_connections', a)).toBe(5);
    // The owner role itself has none: counting its sessions alone (the rule before) saw nothing.
    expect(total(s, 'tenantdb_database_owner_connections', a)).toBe(0);
    expect(total(s, 'tenantdb_database_tenant_connection_limit', a)).toBe(ALT.limit);
    exporterSamples.push(...s.filter((x) => x.name.startsWith('tenantdb_database_')));
    const l = { database: dbLimited };
    const o = { database: dbOpen };
    expect(select(s, 'tenantdb_database_size_bytes', l)[0]!.labels.owner).toBe(login.user);
    expect(total(s, 'tenantdb_database_size_bytes', l)).toBeGreaterThan(1_000_000);
    expect(total(s, 'tenantdb_database_size_bytes', o)).toBeGreaterThan(1_000_000);
    expect(total(s, 'tenantdb_database_connections', l)).toBe(3);
    expect(total(s, 'tenantdb_database_owner_connections', l)).toBe(3);
    // spec.connectionLimit is the database's limit (one limit for every login of the tenant); the roles have none.
    expect(total(s, 'tenantdb_database_connection_limit', l)).toBe(5);
    expect(total(s, 'tenantdb_database_owner_connection_limit', l)).toBe(-1);
    expect(total(s, 'tenantdb_database_owner_connections', o)).toBe(0);
    expect(total(s, 'tenantdb_database_owner_connection_limit', o)).toBe(-1);
    expect(total(s, 'tenantdb_database_tenant_connection_limit', l)).toBe(5);
    expect(total(s, 'tenantdb_database_tenant_connection_limit', o)).toBe(-1);
    // The exporter's login is no secret of a tenant's, but neither it nor a tenant password may show.
    for (const word of [monitorPassword, login.password]) expect(text).not.toContain(word);
    ran.add('postgres_exporter');
  }, 5 * 60_000);
});

// ---------------------------------------------------------------------------
/** A sample as a promtool series selector. */
function seriesOf(sample: Sample): string {
  const labels = Object.entries(sample.labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${sample.name}{${labels.join(',')}}`;
}

/**
 * The programs' output as promtool input: every series constant over the test, times moved so that
 * promtool's clock (which starts at 0) reads STATE_NOW at ALERT_EVAL_MINUTES. Only values that are
 * times (`*_time_seconds`) move; names, labels and every other value are as printed.
 */
function promtoolSeries(samples: Sample[]): Obj[] {
  const offset = STATE_NOW - ALERT_EVAL_MINUTES * 60;
  return samples.map((x) => ({
    series: seriesOf(x),
    values: `${x.name.endsWith('_time_seconds') ? x.value - offset : x.value}x${ALERT_EVAL_MINUTES + 10}`,
  }));
}

describe.skipIf(!haveTools || !havePostgres)('alerts on what the programs print', () => {
  // reason: which alerts fire must follow from the real series of tenants in each state: a never-succeeded backup, a weekly
  // schedule on day 3, a rotation done long ago, one pending, one waiting for its grace period, an Alternating tenant near its limit.
  it('promtool fires exactly the expected alerts for each tenant', () => {
    if (!ran.has('kube-state-metrics states') || !ran.has('postgres_exporter')) {
      if (!required('the alert test', 'needs the kube-state-metrics states and postgres_exporter, which did not run')) return;
    }
    const rule = parse(readFileSync(RULES, 'utf8')) as Obj;
    const dir = mkdtempSync(join(tmpdir(), 'tenantdb-real-alerts-'));
    const watched = 'TenantDatabase(BackupNeverSucceeded|BackupStale|PasswordRotationStuck|NearConnectionLimit)';
    const firing = (alertname: string, namespace: string, claim: string) => ({ labels: `{alertname="${alertname}",claim="${claim}",namespace="${namespace}"}`, value: 1 });
    try {
      writeFileSync(join(dir, 'rules.yaml'), stringify(rule.spec));
      writeFileSync(join(dir, 'tests.yaml'), stringify({
        rule_files: ['rules.yaml'],
        evaluation_interval: '1m',
        tests: [{
          interval: '1m',
          input_series: promtoolSeries([...stateSamples, ...exporterSamples]),
          promql_expr_test: [{
            expr: `count by (alertname, namespace, claim) (ALERTS{alertstate="firing", alertname=~"${watched}"})`,
            eval_time: `${ALERT_EVAL_MINUTES}m`,
            exp_samples: [
              firing('TenantDatabaseBackupNeverSucceeded', 'team-s', 'never-db'),
              firing('TenantDatabaseBackupStale', 'team-s', 'daily-db'),
              firing('TenantDatabaseNearConnectionLimit', ALT.namespace, ALT.name),
              firing('TenantDatabasePasswordRotationStuck', 'team-s', 'pending-db'),
            ],
          }],
        }],
      }));
      const out = execFileSync(bin('promtool'), ['test', 'rules', 'tests.yaml'], { cwd: dir, encoding: 'utf8' });
      expect(out).toContain('SUCCESS');
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`promtool: ${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------
describe.skipIf(!SUITE)('the function /metrics after real calls', () => {
  let fn: RunningFunction | undefined;
  afterAll(async () => fn?.stop());

  // reason: the function's families only appear once called; the names check below needs the real ones.
  it('has its families after a good, a refused and a requirements call', async () => {
    fn = await startFunction(['--insecure', '--metrics-address', '127.0.0.1:0']);
    const client = connect(fn.address);
    try {
      for (const req of [good(), notAllowed(), invalidSpec(), withRequirements()]) await client.run(req);
    } finally {
      client.close();
    }
    const port = /"metricsPort":(\d+)/.exec(fn.output())![1];
    const { samples } = await scrapeUntil(`http://127.0.0.1:${port}/metrics`, (s) => total(s, 'tenantdb_function_calls_total') === 4, {
      child: fn.process,
      output: fn.output,
      stop: () => Promise.resolve(),
    });
    see(samples);
    ran.add('function');
  }, 60_000);
});

// ---------------------------------------------------------------------------
describe.skipIf(!SUITE)('rules and dashboard use only what the programs really print', () => {
  const rules = parse(readFileSync(RULES, 'utf8')) as Obj;
  const ruleExprs = (rules.spec.groups as Obj[]).flatMap((g) => (g.rules as Obj[]).map((r) => ({ name: r.alert as string, expr: `${r.expr}\n${JSON.stringify(r.annotations ?? {})}` })));
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Obj;
  const panels = (dashboard.panels as Obj[]).flatMap((p) => [p, ...((p.panels as Obj[] | undefined) ?? [])]);
  const dashboardExprs = panels.flatMap((p) => ((p.targets as Obj[] | undefined) ?? []).map((t) => ({ name: p.title as string, expr: t.expr as string })));

  // reason: a metric name nobody prints makes a panel empty and an alert that can never fire, with no error anywhere.
  it('every metric name in the rules and the dashboard was seen', () => {
    const sources = ['kube-state-metrics claim', 'kube-state-metrics namespaced', 'kube-state-metrics states', 'postgres_exporter', 'function'];
    const missingSources = sources.filter((s) => !ran.has(s));
    if (missingSources.length) {
      // Only reachable when the suites above were skipped (outside CI): say so instead of passing.
      if (!required('the names check', `needs ${missingSources.join(', ')}, which did not run`)) return;
    }
    for (const { name, expr } of [...ruleExprs, ...dashboardExprs]) {
      for (const metric of metricNames(expr)) expect(seen.has(metric), `${name}: ${metric} was never printed`).toBe(true);
    }
  });

  // reason: the namespace view is what an app team gets; it must show only that namespace's tenants.
  it("the dashboard's tenant panels are filtered to the chosen namespace, and it imports", () => {
    expect(dashboard.uid).toBeTruthy();
    expect(dashboard.templating.list.map((v: Obj) => v.name)).toEqual(expect.arrayContaining(['datasource', 'namespace']));
    expect(dashboardExprs.length).toBeGreaterThan(10);
    for (const { name, expr } of dashboardExprs) {
      const tenantMetrics = metricNames(expr).filter((m) => m.startsWith('tenantdb_') && !m.startsWith('tenantdb_function_'));
      if (tenantMetrics.length) expect(expr, `${name}: tenant figures must be limited to $namespace`).toContain('namespace=~"$namespace"');
    }
    for (const p of panels.filter((p) => p.type !== 'row')) {
      expect(p.datasource, `${p.title}: the chosen data source`).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });
});
