/**
 * Section `reconcile`: Crossplane's requirements loop run against ours over
 * gRPC, for the examples and for the reconciles real Crossplane recorded:
 * how many calls each costs with this build.
 */
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { example, exampleCluster, type Flavour } from '../../scripts/shared/examples.js';
import { FIXTURES, recordedReconciles } from '../../scripts/shared/fixtures.js';
import { describeCalls, reconcile, type KubeObject, type LoopResult } from '../crossplane-loop.js';
import { rawClient } from '../load.js';
import { roleConnectionDetails, withoutRoleConnectionDetails } from '../requests.js';
import { failures, log, results } from '../results.js';
import { nodeArgsFor, OURS, OURS_ARGS } from '../settings.js';
import { spawnServer } from '../spawn.js';

export interface ReconcileRow {
  /** example: the repository's examples; recorded: requests real Crossplane v2.2.4 sent. */
  source: 'example' | 'recorded';
  flavour: Flavour;
  scenario: string;
  roleConnectionDetails: string;
  calls: number;
  stopped: LoopResult['stopped'];
  trace: string;
  /** Recorded reconciles only: how many calls Crossplane made then, with the function as it was when recorded. */
  recordedCalls?: number;
}

/**
 * Crossplane's requirements loop (bench/crossplane-loop.ts) run against ours
 * over gRPC: how many calls each reconcile costs with this build. Nothing
 * here expects a count; it prints what the function does.
 */
export async function reconcileSection(): Promise<void> {
  log("calls per reconcile: Crossplane's requirements loop against ours over gRPC");
  const server = await spawnServer(OURS, { args: OURS_ARGS, nodeArgs: nodeArgsFor(OURS) });
  const client = rawClient(server.address);
  const rows: ReconcileRow[] = [];
  const notes: string[] = [];
  const run = async (row: Omit<ReconcileRow, 'calls' | 'stopped' | 'trace' | 'roleConnectionDetails'>, req: RunFunctionRequest, cluster: KubeObject[]) => {
    const r = await reconcile(client.run, req, cluster);
    rows.push({ ...row, roleConnectionDetails: roleConnectionDetails(req), calls: r.calls.length, stopped: r.stopped, trace: describeCalls(r) });
    if (r.stopped === 'limit') failures.push(`calls per reconcile, ${row.flavour} ${row.scenario}: requirements did not stabilize in ${r.calls.length} calls (Crossplane fails the reconcile)`);
  };
  try {
    for (const flavour of ['claim', 'namespaced'] as const) {
      const second = example(flavour, true);
      await run({ source: 'example', flavour, scenario: '1st reconcile, nothing observed' }, example(flavour, false), []);
      await run({ source: 'example', flavour, scenario: '2nd reconcile (observed.yaml)' }, second, exampleCluster(flavour));
      await run(
        { source: 'example', flavour, scenario: "2nd reconcile, Role's connection details missing, its secret exists" },
        withoutRoleConnectionDetails(second),
        exampleCluster(flavour),
      );
    }
    for (const flavour of ['claim', 'namespaced'] as const) {
      const recorded = recordedReconciles(flavour);
      if (!recorded.length) {
        notes.push(`${FIXTURES}/${flavour} is missing: no recorded ${flavour} reconciles`);
        continue;
      }
      for (const rec of recorded) {
        await run({ source: 'recorded', flavour, scenario: rec.files.join(' + '), recordedCalls: rec.files.length }, rec.first, rec.cluster);
      }
      // The last recorded reconcile again, as if connection details had not reached the Role.
      const last = recorded.filter((r) => r.first.observed?.resources?.role).at(-1);
      if (last) {
        await run(
          { source: 'recorded', flavour, scenario: `${last.files[0]} with the Role's connection details removed` },
          withoutRoleConnectionDetails(last.first),
          last.cluster,
        );
      }
    }
  } finally {
    client.close();
    await server.stop();
  }
  results.reconcile = {
    note:
      "Crossplane v2.2.4's loop: call; unless Fatal or the answer's requirements equal the previous answer's (none before the first call), " +
      'fetch what they select from the listed objects and call again (at most 6 calls)',
    notes,
    rows,
  };
}
