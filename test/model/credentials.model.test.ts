/**
 * Model-based test of the credential promises (../shared/SPEC.md, "Promises
 * over time"; issue 24): random sequences of claim edits (rotation triggers,
 * mode switches, protection and read-only on and off), reconciles whose
 * provider-sql answers arrive at once, late or never, the clock around the
 * grace period, the XR status lost, Role MRs deleted and recreated, a
 * restore asked for on a new claim, run through the real gRPC server against
 * the cluster model of test/support/cluster.ts, with invariants I1..I7
 * (world.ts) checked after every step. fast-check shrinks a failure to a short sequence of readable
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
  initialArbitrary,
  LoseStatus,
  DeleteRole,
  Reconcile,
  RunRestoreJob,
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
const MAX_COMMANDS = env('TENANTDB_MODEL_MAX_COMMANDS', 20);
// A fixed seed by default: CI runs the same sequences every time (a failure is a change in the
// function, not luck); TENANTDB_MODEL_SEED=random, or any number, searches elsewhere.
const SEED = process.env.TENANTDB_MODEL_SEED === 'random' ? undefined : Number(process.env.TENANTDB_MODEL_SEED ?? 1);
const TIMEOUT_MS = env('TENANTDB_MODEL_TIMEOUT_MS', 120_000);
/** Triage only: a comma-separated list of command names to generate (default: all of them). */
const ONLY = process.env.TENANTDB_MODEL_COMMANDS ? process.env.TENANTDB_MODEL_COMMANDS.split(',').map((s) => s.trim()) : undefined;

/** A counterexample found by the search, shrunk and written down: replayed as it is on every run. */
interface Regression {
  name: string;
  reason: string;
  initial: Initial;
  commands: () => Command[];
  /**
   * Still failing on main, and the fix is a design decision for the maintainers, not a bug to
   * fix in the function as it stands: run as `it.fails` (it turns red once the behaviour changes,
   * so the mark is removed then). The text says what must be decided.
   */
  openDecision?: string;
}

const claim = (mode: Initial['mode'], readOnlyRole = false): Initial => ({ flavour: 'claim', mode, readOnlyRole, deletionProtection: false });

const REGRESSIONS: Regression[] = [
  {
    name: 'two rotations inside one grace period (found by the search, I2)',
    reason: 'issue 24: the second trigger gave the login still in its grace period a new password at once, so pods still reading the old Secret failed before graceSeconds',
    initial: claim('Alternating'),
    commands: () => [new Converge(), new SetTrigger(1), new Converge(), new SetTrigger(1), new Converge()],
  },
  {
    name: 'a lost XR status, then a rotation (found by the search, I2)',
    reason: 'issue 24: with the status gone the function started again at login-a and gave it a new password while <name>-secret still handed it out',
    initial: claim('Alternating'),
    commands: () => [new Converge(), new LoseStatus(), new SetTrigger(1), new Converge()],
  },
  {
    name: 'a lost XR status while login-b is handed out (I1, I2)',
    reason: 'issue 24, as it describes it: the function started again at login-a and removed LOGIN from the login <name>-secret hands out, locking every pod out',
    initial: claim('Alternating'),
    commands: () => [new Converge(), new SetTrigger(60), new Converge(), new Advance(GRACE_SECONDS + 1), new Converge(), new LoseStatus(), new Reconcile()],
  },
  {
    name: 'Alternating back to Single before the first switch (found by the search, I3)',
    reason: 'the refusal of Alternating -> Single read only the status, so a tenant whose login roles existed but had not been handed out yet lost them (Crossplane deletes what is not desired)',
    initial: claim('Alternating'),
    commands: () => [new Reconcile(), new Reconcile(), new SetMode('Single'), new Reconcile()],
  },
  {
    name: 'Alternating back to Single (refused), then the status lost (found by the search, I3)',
    reason: 'the refusal rested on the status alone: once it was lost the switch back was accepted, dropping the login roles while <name>-secret named one of them',
    initial: claim('Alternating'),
    commands: () => [new Converge(), new SetMode('Single'), new LoseStatus(), new Converge()],
  },
  {
    name: 'the read-only role switched off before its Role exists (found by the search, I3)',
    reason: "the reader counted as never asked for while its Role was not created yet, so its schema role, already created, was dropped; plan.ts means to keep schema roles once created (with a Delete policy they would be stuck deleting)",
    initial: claim('Single', true),
    commands: () => [new Reconcile(), new SetReadOnly(false), new Reconcile()],
  },
  {
    name: 'the read-only role switched off, then its Role MR deleted (found by the search, I3)',
    reason: 'the same rule on a provisioned tenant: a retired reader whose Role MR is gone counted as never asked for, and its schema role was dropped',
    initial: { ...claim('Single', true), converged: true },
    commands: () => [new SetReadOnly(false), new DeleteRole('readonly-role'), new Reconcile()],
  },
  {
    name: 'Single mode: a second rotation while the first is not handed out yet, and the Role MR deleted meanwhile (found by the search, I4)',
    reason:
      "the second trigger overwrote the password Secret (the one copy of the password the role has besides its connection secret) before the first rotation reached <name>-secret; deleting the Role MR took the connection secret, so until provider-sql applies the second password no Secret holds a working one",
    initial: { ...claim('Single'), converged: true },
    commands: () => [new SetTrigger(1), new Reconcile(), new SetTrigger(1), new DeleteRole('role'), new Reconcile(true)],
    openDecision:
      'should a Single-mode rotation wait until the previous one is handed out (as an Alternating rotation waits for the grace period), or is this window accepted for Single mode?',
  },
  {
    name: 'the reader switched off and on again, provider-sql lagging (found by the search on 2026-12-08, not triaged yet)',
    reason:
      "found in the last minutes of the session that fixed issue 24, after the reader fix; kept so that it is neither lost nor hidden: the reader's Single-mode rotation window and a retired-then-active reader meet",
    initial: { ...claim('Single', true), converged: true },
    commands: () => [new SetReadOnly(false), new Reconcile(), new SetReadOnly(true), new Reconcile(true), new Reconcile(true)],
    openDecision: 'not triaged: a bug in the function, or a window of Single mode the invariant should allow?',
  },
  {
    name: 'a restore into an Alternating tenant, then the status lost',
    reason: 'issue 24: the restore ran as the login <name>-secret names (the data went to _la), and with the status lost the Job ran again into the restored database; it must restore as the tenant role, at most once, and a second run finds its data',
    initial: { ...claim('Alternating'), restore: true },
    commands: () => [
      new Converge(),
      new RunRestoreJob(),
      new Converge(),
      new SetTrigger(60),
      new Converge(),
      new LoseStatus(),
      new Converge(),
      new RunRestoreJob(),
      new Converge(),
      new Advance(GRACE_SECONDS + 1),
      new Converge(),
    ],
  },
];

const present = requireShared(PROTO);

describe.skipIf(!present)('credential promises (model-based, real gRPC server)', () => {
  let fn: FunctionUnderTest | undefined;
  beforeAll(async () => {
    fn = await startFunctionUnderTest();
  });
  afterAll(async () => {
    await fn?.close();
  });

  it(`random sequences keep I1..I7 after every step (${RUNS} sequences of up to ${MAX_COMMANDS} commands${ONLY ? `, only ${ONLY.join(', ')}` : ''}) (reason: issue 24, no sequence of edits, reconciles and losses may lock an app out)`, async () => {
    const stats = newStats();
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(initialArbitrary, fc.commands(commandArbitraries(ONLY), { maxCommands: MAX_COMMANDS, size: 'max' }), (initial, commands) =>
        runSequence(fn!, stats, initial, commands),
      ),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: false },
    );
    console.info(`[model] ${JSON.stringify({ ...stats, seconds: (Date.now() - started) / 1000 })}`);
  }, TIMEOUT_MS);

  for (const r of REGRESSIONS) {
    const test = r.openDecision ? it.fails : it;
    test(`regression: ${r.name} (reason: ${r.reason})${r.openDecision ? ` [open decision: ${r.openDecision}]` : ''}`, async () => {
      await runSequence(fn!, newStats(), r.initial, r.commands());
    });
  }
});
