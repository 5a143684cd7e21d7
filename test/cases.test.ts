/**
 * The table-driven cases of test/cases/*.yaml, run through compose() exactly
 * as Crossplane would call it, each rendered object checked against the real
 * CRD schema of its kind.
 */
import { describe, expect, it } from 'vitest';
import { Severity, Status, Target } from '@crossplane-org/function-sdk-typescript';
import { compose } from '../function/compose.js';
import { requestFor } from '../scripts/shared/examples.js';
import { loadCases, mismatches } from './support/cases.js';
import { CrdValidator } from './support/crds.js';
import { CRDS, NOW, requireShared } from './support/shared.js';
import { join } from 'node:path';

const haveCrds = requireShared(CRDS);
const crds = haveCrds
  ? new CrdValidator(['provider-sql', 'provider-aws-secretsmanager', 'crossplane'].map((d) => join(CRDS, d)))
  : undefined;

describe.skipIf(!haveCrds)('compose cases (test/cases)', () => {
  for (const c of loadCases()) {
    it(`${c.file}: ${c.reason}`, () => {
      const req = requestFor(c);
      const rsp = compose(req, NOW);
      const fatal = rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL);
      const desired = rsp.desired?.resources ?? {};

      if (c.expect.fatal) {
        expect(fatal, 'exactly one Fatal result').toHaveLength(1);
        const { message } = fatal[0]!;
        expect(message).toContain(c.expect.fatal);
        expect(c.expect.refusal, 'a refusal case names its class (expect.refusal)').toBeTruthy();
        expect(Object.keys(desired), 'a Fatal response carries no desired resources').toEqual([]);
        // A Fatal alone never reaches the claim (Crossplane v2.2.4): the same message also goes
        // out as a Warning listed before it, and as the Provisioned condition, both for the claim too.
        expect(rsp.results).toEqual([
          { severity: Severity.SEVERITY_WARNING, message, reason: c.expect.refusal, target: Target.TARGET_COMPOSITE_AND_CLAIM },
          { severity: Severity.SEVERITY_FATAL, message, reason: c.expect.refusal, target: Target.TARGET_COMPOSITE },
        ]);
        expect(rsp.conditions).toEqual([
          { type: 'Provisioned', status: Status.STATUS_CONDITION_FALSE, reason: c.expect.refusal, message, target: Target.TARGET_COMPOSITE_AND_CLAIM },
        ]);
        return;
      }
      expect(fatal.map((r) => r.message)).toEqual([]);
      if (c.expect.warning) {
        expect(rsp.results).toHaveLength(1);
        expect(rsp.results[0]).toMatchObject({ severity: Severity.SEVERITY_WARNING, target: Target.TARGET_COMPOSITE_AND_CLAIM });
        expect(rsp.results[0]!.message).toContain(c.expect.warning);
      } else {
        expect(rsp.results, 'a case that composes and names no warning has no results').toEqual([]);
      }
      expect(c.expect.keys, 'a case that composes states its complete set of keys (expect.keys)').toBeDefined();
      expect(Object.keys(desired).sort(), 'the composed-resource keys, exactly').toEqual([...c.expect.keys!].sort());
      for (const [key, partial] of Object.entries(c.expect.resources ?? {})) {
        if (partial === null) {
          expect(desired[key], `${key} must be absent`).toBeUndefined();
          continue;
        }
        expect(desired[key], `${key} must be rendered`).toBeDefined();
        expect(mismatches(partial, { ...desired[key]!.resource, ready: desired[key]!.ready }, key)).toEqual([]);
      }
      for (const key of c.expect.absent ?? []) expect(desired[key], `${key} must be absent`).toBeUndefined();
      if (c.expect.status) expect(mismatches(c.expect.status, rsp.desired?.composite?.resource?.status, 'status')).toEqual([]);
      if (c.expect.requirements !== undefined) expect(mismatches(c.expect.requirements, rsp.requirements, 'requirements')).toEqual([]);
      if (c.expect.condition) expect(mismatches(c.expect.condition, rsp.conditions[0], 'condition')).toEqual([]);

      for (const res of Object.values(desired)) expect(crds!.errors(res.resource!)).toEqual([]);
      expect(JSON.stringify(compose(requestFor(c), NOW)), 'same request, same bytes').toBe(JSON.stringify(rsp));
    });
  }
});
