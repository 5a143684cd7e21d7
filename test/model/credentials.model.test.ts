/**
 * Model-based test of the credential promises (../shared/SPEC.md, "Promises
 * over time"; issue 24): random sequences of claim edits (rotation triggers,
 * mode switches, protection and read-only on and off), reconciles whose
 * provider-sql answers arrive at once, late or never, the clock around the
 * grace period, the XR status lost, Role MRs deleted and recreated, run
 * through the real gRPC server against the cluster model of
 * test/support/cluster.ts, with invariants I1..I6 (world.ts) checked after
 * every step. fast-check shrinks a failure to a short sequence of readable
 * commands; each one found is kept below as a regression case.
 *
 * `npm test` runs a short search (seconds); `npm run test:model` a long one
 * for CI (TENANTDB_MODEL_RUNS / TENANTDB_MODEL_MAX_COMMANDS / TENANTDB_MODEL_SEED
 * tune it; vitest.model.config.ts sets the long defaults).
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import fc from 'fast-check';
import { PROTO, requireShared } from '../support/shared.js';
import { startFunctionUnderTest, type FunctionUnderTest } from './harness.js';
import {
  Advance,
  commandArbitraries,
  Converge,
  DeleteRole,
  initialArbitrary,
  LoseStatus,
  ProviderCatchesUp,
  Reconcile,
  runSequence,
  SetMode,
  SetReadOnly,
  SetTrigger,
  type Command,
} from './commands.js';
import { GRACE_SECONDS, newStats, type Initial } from './world.js';

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
/** The short search of `npm test`: a few hundred sequences in seconds on 2 cores. */
const RUNS = env('TENANTDB_MODEL_RUNS', 200);
const MAX_COMMANDS = env('TENANTDB_MODEL_MAX_COMMANDS', 25);
const SEED = process.env.TENANTDB_MODEL_SEED ? Number(process.env.TENANTDB_MODEL_SEED) : undefined;
const TIMEOUT_MS = env('TENANTDB_MODEL_TIMEOUT_MS', 120_000);
/** Triage only: a comma-separated list of command names to generate (default: all of them). */
const ONLY = process.env.TENANTDB_MODEL_COMMANDS?.split(',').map((s) => s.trim());

/** A counterexample found by the search, shrunk and written down: replayed as it is on every run. */
interface Regression {
  name: string;
  reason: string;
  initial: Initial;
  commands: () => Command[];
}

const REGRESSIONS: Regression[] = [];

const present = requireShared(PROTO);

describe.skipIf(!present)('credential promises (model-based, real gRPC server)', () => {
  let fn: FunctionUnderTest | undefined;
  beforeAll(async () => {
    fn = await startFunctionUnderTest();
  });
  afterAll(async () => {
    await fn?.close();
  });

  it(`random sequences keep I1..I6 after every step (${RUNS} sequences of up to ${MAX_COMMANDS} commands${ONLY ? `, only ${ONLY.join(', ')}` : ''}) (reason: issue 24, no sequence of edits, reconciles and losses may lock an app out)`, async () => {
    const stats = newStats();
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(initialArbitrary, fc.commands(commandArbitraries(ONLY), { maxCommands: MAX_COMMANDS }), (initial, commands) =>
        runSequence(fn!, stats, initial, commands),
      ),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: false },
    );
    console.info(`[model] ${JSON.stringify({ ...stats, seconds: (Date.now() - started) / 1000 })}`);
  }, TIMEOUT_MS);

  for (const r of REGRESSIONS) {
    it(`regression: ${r.name} (reason: ${r.reason})`, async () => {
      await runSequence(fn!, newStats(), r.initial, r.commands());
    });
  }
});

// Referenced by the regression cases as they are added.
void [Advance, Converge, DeleteRole, LoseStatus, ProviderCatchesUp, Reconcile, SetMode, SetReadOnly, SetTrigger, GRACE_SECONDS];
