/**
 * A fresh install as shipped: the Compositions in compositions/ as they are,
 * a claim that sets nothing but its name, followed to all-ready. Backups are
 * a platform's opt-in (docs/backups.md): until it names its own image, bucket
 * and IAM role, nothing is composed for them, so a cluster where Crossplane
 * may not create CronJobs (examples/rbac/ not applied) still gets working
 * tenants, and no default points at a registry or account the platform does
 * not own.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compose } from '../function/compose.js';
import { compositionInput, loadYaml, xrFor, type Obj } from '../scripts/shared/request.js';
import { exampleBackupInput, merge, type Flavour } from '../scripts/shared/examples.js';
import { Cluster } from './support/cluster.js';
import { NOW, repoPath } from './support/shared.js';

const COMPOSITION: Record<Flavour, string> = { claim: 'compositions/claim.yaml', namespaced: 'compositions/namespaced.yaml' };
const BACKUP_KINDS = new Set(['ServiceAccount', 'CronJob', 'Job']);

/** The smallest claim an app team can write: a name, nothing in spec. */
function defaultClaim(flavour: Flavour): Obj {
  return xrFor({ apiVersion: 'tenantdb.platform.io/v1alpha1', kind: 'TenantDatabase', metadata: { name: 'orders-db', namespace: 'shop' }, spec: {} }, flavour);
}

function shippedInput(flavour: Flavour): Obj {
  return compositionInput(loadYaml(repoPath(COMPOSITION[flavour]))[0]!);
}

describe('a fresh install composes no backup object until the platform turns backups on', () => {
  for (const flavour of ['claim', 'namespaced'] as const) {
    it(`${flavour}: a default claim with ${COMPOSITION[flavour]}, followed to all-ready, composes no ServiceAccount, CronJob or Job and reports no backups`, () => {
      const cluster = new Cluster(defaultClaim(flavour), shippedInput(flavour));
      const last = cluster.converge();
      expect(last.fatal).toBeUndefined();
      const kinds = Object.values(cluster.observed).map((o) => o.kind as string);
      expect(kinds).toContain('Database');
      expect(kinds.filter((k) => BACKUP_KINDS.has(k))).toEqual([]);
      expect(Object.keys(cluster.observed).filter((k) => /^(backup|restore)-/.test(k))).toEqual([]);
      expect(last.response.desired!.composite!.resource!.status.backup).toBeUndefined();
    });

    it(`${flavour}: the same claim with the platform's backup block (examples/backups/input.yaml) gets its CronJob (reason: the opt-in is what turns them on, not something else)`, () => {
      const cluster = new Cluster(defaultClaim(flavour), merge(shippedInput(flavour), exampleBackupInput()) as Obj);
      cluster.converge();
      const kinds = Object.values(cluster.observed).map((o) => o.kind as string);
      expect(kinds).toEqual(expect.arrayContaining(['ServiceAccount', 'CronJob']));
    });

    it(`${flavour}: a claim asking for backups on the shipped Composition is refused with the reason, and nothing is applied`, () => {
      const xr = merge(defaultClaim(flavour), { spec: { backup: { enabled: true } } }) as Obj;
      const rsp = compose({ ...new Cluster(xr, shippedInput(flavour)).request() }, NOW);
      expect(rsp.desired?.resources ?? {}).toEqual({});
      expect(rsp.results.map((r) => r.message).join('\n')).toMatch(/this platform takes no backups/);
    });
  }

  it('no shipped Composition, and no default of the function input, names the placeholder image, bucket or account of earlier versions', () => {
    const texts = [...Object.values(COMPOSITION), 'package/input/tenantdb.fn.platform.io_inputs.yaml', 'crossplane.yaml', 'README.md'].map((f) => readFileSync(repoPath(f), 'utf8'));
    for (const text of texts) {
      expect(text).not.toMatch(/ghcr\.io\/platform\/tenantdb-backup|(?<!example-)tenantdb-backups\b(?!\.yaml)|123456789012/);
    }
  });
});
