/**
 * The backup objects against a real kube-apiserver (`npm run test:e2e`): every
 * variant of the ServiceAccount, CronJob and restore Job the renderers produce
 * (IRSA and Pod Identity, AES256 and KMS, an endpoint, suspended, a restore,
 * long names), and the RBAC ClusterRole we ship, are created with dryRun and
 * fieldValidation=Strict, then server-side applied for real and read back:
 * the API server's own OpenAPI validation, defaulting and the batch API's
 * rules (podFailurePolicy needs restartPolicy Never, timeZone must be a known
 * zone, a CronJob name within 52 characters) all hold, nothing is pruned, no
 * warning is returned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { renderBackupResources } from '../../function/backup/resources.js';
import { parseBackupInput, resolveBackup } from '../../function/backup/settings.js';
import { mismatches } from '../support/cases.js';
import { repoRoot, startControlPlane, type ControlPlane, type Obj } from './apiserver.js';

const E2E = process.env.TENANTDB_E2E === '1';

const BASE = {
  enabled: true,
  image: 'ghcr.io/platform/tenantdb-backup:1.0.0',
  bucket: 'tenantdb-backups',
  region: 'eu-west-1',
  credentials: { mode: 'PodIdentity' },
};

interface Variant {
  reason: string;
  namespace: string;
  name: string;
  platform?: Record<string, unknown>;
  claim?: Record<string, unknown>;
}

const VARIANTS: Variant[] = [
  { reason: 'Pod Identity, defaults', namespace: 'shop', name: 'orders-db' },
  {
    reason: 'IRSA, KMS, an S3-compatible endpoint, no prefix, a restore pending (suspended CronJob + Job)',
    namespace: 'shop',
    name: 'orders-db-copy',
    platform: {
      prefix: '',
      endpointUrl: 'https://s3.example.internal:9000',
      serverSideEncryption: { algorithm: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      credentials: { mode: 'IRSA', roleArnTemplate: 'arn:aws:iam::123456789012:role/tenantdb-backup-{namespace}' },
      resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '2Gi' } },
    },
    claim: { backup: { schedule: '15 3 * * 1-5', retentionDays: 30 }, restoreFrom: { backup: '20261204T020000Z.dump', name: 'orders-db' } },
  },
  { reason: 'a restore only, backups off for this claim', namespace: 'shop', name: 'restored-only', claim: { backup: { enabled: false }, restoreFrom: { backup: 'latest', name: 'orders-db' } } },
  { reason: 'the longest names (cut with a hash)', namespace: 'n'.repeat(63), name: `x${'-y'.repeat(100)}` },
];

function render(v: Variant): Obj[] {
  const parsed = parseBackupInput({ ...BASE, ...(v.platform ?? {}) });
  if ('error' in parsed) throw new Error(parsed.error);
  const r = resolveBackup({ namespace: v.namespace, name: v.name }, v.claim ?? {}, parsed.input);
  if (!('plan' in r) || !r.plan) throw new Error(`no plan: ${JSON.stringify(r)}`);
  return Object.values(renderBackupResources(r.plan));
}

describe.skipIf(!E2E)('backup objects in a real kube-apiserver', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane();
    for (const ns of new Set(VARIANTS.map((v) => v.namespace))) {
      await cp.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it.each(VARIANTS)('$reason: created (dry run, Strict), applied and read back unchanged, without warnings', async (v) => {
    const objects = render(v);
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) {
      const dry = await cp.client.create(o, { dryRun: true });
      expect(dry.warnings, `${o.kind} ${o.metadata.name}`).toEqual([]);
      const applied = await cp.client.apply(o);
      expect(applied.warnings, `${o.kind} ${o.metadata.name}`).toEqual([]);
      // Applied again, as Crossplane does every reconcile: no change, no error (a Job's template is immutable).
      await cp.client.apply(o);
      const stored = await cp.client.get(o);
      expect(mismatches(o, stored), `${o.kind} ${o.metadata.name}`).toEqual([]);
    }
  });

  it('examples/rbac/crossplane-backups.yaml is a valid ClusterRole that aggregates into Crossplane\'s', async () => {
    const role = parse(readFileSync(`${repoRoot}/examples/rbac/crossplane-backups.yaml`, 'utf8')) as Obj;
    expect(role.metadata.labels['rbac.crossplane.io/aggregate-to-crossplane']).toBe('true');
    const kinds = (role.rules as Obj[]).flatMap((r) => r.resources as string[]);
    expect(kinds).toEqual(expect.arrayContaining(['cronjobs', 'jobs', 'serviceaccounts']));
    const rsp = await cp.client.apply(role);
    expect(rsp.warnings).toEqual([]);
    expect(mismatches(role, await cp.client.get(role))).toEqual([]);
  });

  it('the API server refuses what the renderers guard against (a CronJob name past 52 characters)', async () => {
    const [, cronJob] = render(VARIANTS[0]!);
    const long = structuredClone(cronJob!);
    long.metadata.name = 'c'.repeat(53);
    await expect(cp.client.create(long, { dryRun: true })).rejects.toThrow(/must be no more than 52 characters/);
  });
});
