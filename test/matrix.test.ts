/**
 * Every combination of the three fixed fields (deletionProtection,
 * roleDeletionPolicy, dbDeletionPolicy) in both flavours: 16 renders, each
 * checked for how deletion is expressed and against the real CRDs.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compose } from '../function/compose.js';
import { requestFor, SECOND_RECONCILE } from './support/cases.js';
import { CrdValidator } from './support/crds.js';
import { CRDS, NOW, requireShared } from './support/shared.js';

const haveCrds = requireShared(CRDS);
const ORPHAN = ['Observe', 'Create', 'Update', 'LateInitialize'];
const flavours = [
  { flavour: 'claim', xr: 'examples/claim/production.yaml', usages: ['usage-database', 'usage-role', 'usage-xr', 'usage-claim'] },
  { flavour: 'namespaced', xr: 'examples/namespaced/tenantdatabase.yaml', usages: ['usage-database', 'usage-role', 'usage-xr'] },
] as const;

const combos = [true, false].flatMap((deletionProtection) =>
  (['Orphan', 'Delete'] as const).flatMap((roleDeletionPolicy) =>
    (['Orphan', 'Delete'] as const).map((dbDeletionPolicy) => ({ deletionProtection, roleDeletionPolicy, dbDeletionPolicy })),
  ),
);

describe.skipIf(!haveCrds)('deletion matrix', () => {
  const crds = haveCrds ? new CrdValidator(['provider-sql', 'provider-aws-secretsmanager', 'crossplane'].map((d) => join(CRDS, d))) : undefined;
  for (const f of flavours) {
    for (const spec of combos) {
      const label = `${f.flavour}: protection=${spec.deletionProtection} role=${spec.roleDeletionPolicy} db=${spec.dbDeletionPolicy}`;
      // observedReady: the AWS SecretVersion is composed once the Secret it reads exists (function/order.ts).
      it(label, () => {
        const rsp = compose(requestFor({ flavour: f.flavour, xr: f.xr, ...SECOND_RECONCILE[f.flavour], patch: { spec }, observedReady: ['aws-secret-string'] }), NOW);
        expect(rsp.results).toEqual([]);
        const desired = rsp.desired!.resources;
        const deletion = (key: string) => {
          const s = desired[key]!.resource!.spec;
          return f.flavour === 'claim' ? s.deletionPolicy : s.managementPolicies;
        };
        const expected = (policy: 'Orphan' | 'Delete') => (f.flavour === 'claim' ? policy : policy === 'Orphan' ? ORPHAN : ['*']);
        if (f.flavour === 'namespaced') {
          for (const r of Object.values(desired)) expect(r.resource!.spec?.deletionPolicy, 'namespaced MRs have no deletionPolicy').toBeUndefined();
        }

        expect(deletion('database'), 'the database follows dbDeletionPolicy').toEqual(expected(spec.dbDeletionPolicy));
        expect(deletion('role'), 'the role follows roleDeletionPolicy').toEqual(expected(spec.roleDeletionPolicy));
        const grant = spec.roleDeletionPolicy === 'Delete' && spec.dbDeletionPolicy === 'Delete' ? 'Delete' : 'Orphan';
        expect(deletion('grant-database'), 'grants are orphaned whenever the database or the role is').toEqual(expected(grant));
        expect(deletion('aws-secret'), 'the AWS secret follows the role').toEqual(expected(spec.roleDeletionPolicy));
        expect(deletion('aws-secret-version'), 'so does its version').toEqual(expected(spec.roleDeletionPolicy));
        for (const key of f.usages) expect(key in desired, `${key} iff protected`).toBe(spec.deletionProtection);
        expect(Object.keys(desired).filter((k) => k.startsWith('usage-')).sort()).toEqual(spec.deletionProtection ? [...f.usages].sort() : []);
        expect(rsp.desired!.composite!.resource!.status).toMatchObject(spec);
        for (const r of Object.values(desired)) expect(crds!.errors(r.resource!)).toEqual([]);
      });
    }
  }
});
