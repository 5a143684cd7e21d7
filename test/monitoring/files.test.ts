/**
 * Fast checks on the monitoring files that need no outside program (these run
 * in `npm test`; `npm run test:monitoring` runs the files through the real
 * programs): copies stay equal, and what the rules join on is what the
 * exporters label.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { repoPath } from '../support/shared.js';

const load = (path: string) => parse(readFileSync(repoPath(path), 'utf8')) as Record<string, any>;

describe('monitoring files', () => {
  // reason: kube-prometheus-stack users install the values file, while the tests run the standalone config; they must not drift.
  it('the kube-prometheus-stack values carry exactly the tested kube-state-metrics configuration', () => {
    const values = load('monitoring/kube-state-metrics/kube-prometheus-stack-values.yaml');
    const config = load('monitoring/kube-state-metrics/tenantdatabase-crs.yaml');
    expect(values['kube-state-metrics'].customResourceState).toEqual({ enabled: true, config });
    const rules = values['kube-state-metrics'].rbac.extraRules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    for (const r of config.spec.resources as { groupVersionKind: { group: string; kind: string } }[]) {
      const plural = `${r.groupVersionKind.kind.toLowerCase()}s`;
      expect(rules.some((x) => x.apiGroups.includes(r.groupVersionKind.group) && x.resources.includes(plural) && x.verbs.includes('watch')), plural).toBe(true);
    }
  });

  // reason: the connection alert and the dashboard join PostgreSQL figures to tenants on the "database" label; the info metric and the exporter must both carry it.
  it('the exporter query and the info metric share the join label', () => {
    const queries = load('monitoring/postgres-exporter/queries.yaml');
    const labels = (queries.tenantdb_database.metrics as Record<string, { usage: string }>[]).flatMap((m) => Object.entries(m)).filter(([, v]) => v.usage === 'LABEL').map(([k]) => k);
    expect(labels).toContain('database');
    expect(queries.tenantdb_database.query).toMatch(/AS database\b/);
    const config = load('monitoring/kube-state-metrics/tenantdatabase-crs.yaml');
    const info = config.spec.resources[0].metrics.find((m: { name: string }) => m.name === 'info');
    expect(info.each.info.labelsFromPath.database).toEqual(['status', 'database']);
    const rules = readFileSync(repoPath('monitoring/prometheus/tenantdatabase-rules.yaml'), 'utf8');
    expect(rules).toContain('on (database) group_left (namespace, claim)');
  });
});
