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
import {
  backupSpecSchema,
  backupSpecValidations,
  backupStatusSchema,
  parseBackupInput,
  resolveBackup,
  restoreFromSpecSchema,
} from '../../function/backup/settings.js';
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
  return Object.values(renderBackupResources(r.plan, 'shop_orders_db_0123abcd'));
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

  /**
   * The claim and status fragments in a CRD of their own (the XRDs get them from
   * the lead's generator): structural, and the CEL rules behave: restoreFrom only
   * at creation, immutable after, removable.
   */
  describe('the spec and status fragments as a CRD', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'backuptests.e2e.tenantdb.platform.io' },
      spec: {
        group: 'e2e.tenantdb.platform.io',
        scope: 'Namespaced',
        names: { kind: 'BackupTest', plural: 'backuptests', singular: 'backuptest', listKind: 'BackupTestList' },
        versions: [{
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  properties: { backup: backupSpecSchema, restoreFrom: restoreFromSpecSchema },
                  'x-kubernetes-validations': backupSpecValidations,
                },
                status: { type: 'object', properties: backupStatusSchema },
              },
            },
          },
        }],
      },
    };
    const object = (name: string, spec: Obj) => ({ apiVersion: 'e2e.tenantdb.platform.io/v1', kind: 'BackupTest', metadata: { name, namespace: 'shop' }, spec });

    beforeAll(async () => {
      await cp.client.applyCRD(JSON.parse(JSON.stringify(crd)));
    });

    it('takes a claim with backup and restoreFrom, and the status fields', async () => {
      const o = object('with-restore', { backup: { enabled: true, schedule: '30 2 * * *', retentionDays: 7 }, restoreFrom: { backup: 'latest', name: 'orders-db' } });
      await cp.client.apply(o);
      expect(mismatches(o, await cp.client.get(o))).toEqual([]);
      const status = {
        ...o,
        status: {
          backup: { enabled: true, schedule: '30 2 * * *', retentionDays: 7, location: 's3://b/tenantdb/shop/x/', suspended: true, lastScheduleTime: '2026-12-05T02:30:00Z' },
          restoredFrom: { backup: 'latest', key: '20261204T020000Z.dump', namespace: 'shop', name: 'orders-db', location: 's3://b/tenantdb/shop/orders-db/', completionTime: '2026-12-05T02:40:00Z' },
        },
      };
      const rsp = await cp.client.applyStatus(status);
      expect(rsp.warnings).toEqual([]);
      expect(mismatches(status.status, (await cp.client.get(o)).status)).toEqual([]);
    });

    it.each<{ reason: string; spec: Obj; error: RegExp }>([
      { reason: 'a 4-field schedule', spec: { backup: { schedule: '0 2 * *' } }, error: /spec\.backup\.schedule/ },
      { reason: 'retention 0', spec: { backup: { retentionDays: 0 } }, error: /spec\.backup\.retentionDays/ },
      { reason: 'a key path as backup', spec: { restoreFrom: { backup: 'a/b.dump', name: 'x' } }, error: /spec\.restoreFrom\.backup/ },
    ])('refuses $reason', async ({ spec, error }) => {
      await expect(cp.client.create(object('bad', spec), { dryRun: true })).rejects.toThrow(error);
    });

    it('restoreFrom cannot be added later, nor changed; it can be removed', async () => {
      const plain = object('plain', { backup: { enabled: true } });
      await cp.client.apply(plain);
      await expect(cp.client.apply(object('plain', { restoreFrom: { backup: 'latest', name: 'orders-db' } }))).rejects.toThrow(
        /spec\.restoreFrom can be set only when the TenantDatabase is created/,
      );
      await expect(cp.client.apply(object('with-restore', { restoreFrom: { backup: 'latest', name: 'other-db' } }))).rejects.toThrow(
        /spec\.restoreFrom is immutable/,
      );
      await expect(cp.client.apply(object('with-restore', { backup: { enabled: true } }))).resolves.toMatchObject({ warnings: [] });
    });
  });
});
