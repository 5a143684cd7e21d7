/**
 * The commands of the model-based test: what happens to a tenant over its
 * life, as fast-check AsyncCommands on a World (world.ts). Each prints as one
 * readable step, so a shrunk counterexample reads as a story, and can be
 * written down again as a regression case (credentials.model.test.ts).
 *
 * The model fast-check keeps (`Claim`) is only the claim as edited, so that
 * edits that would change nothing are not generated; everything that is
 * checked lives in the World.
 */
import fc from 'fast-check';
import { GRACE_SECONDS, newStats, World, type Initial, type Mode, type Stats } from './world.js';
import type { FunctionUnderTest } from './harness.js';

export interface Claim {
  mode: Mode;
  readOnlyRole: boolean;
  deletionProtection: boolean;
}

export type Command = fc.AsyncCommand<Claim, World>;

abstract class Step implements Command {
  check(_claim: Readonly<Claim>): boolean {
    return true;
  }
  abstract run(claim: Claim, world: World): Promise<void>;
  abstract toString(): string;
}

/** One reconcile: provider-sql answers at once, or lags (its answer comes with a later ProviderCatchesUp, or never). */
export class Reconcile extends Step {
  constructor(
    readonly providerLag = false,
    /** Send each call twice and compare the answers byte for byte (I5). */
    readonly twice = false,
  ) {
    super();
  }
  async run(_claim: Claim, world: World): Promise<void> {
    await world.reconcile({ providerLag: this.providerLag, twice: this.twice }, this.toString());
  }
  toString(): string {
    return `Reconcile(${[this.providerLag ? 'providerLag' : '', this.twice ? 'twice' : ''].filter(Boolean).join(', ')})`;
  }
}

/** Reconciles with provider-sql answering, until nothing changes (a new tenant takes a few). */
export class Converge extends Step {
  async run(_claim: Claim, world: World): Promise<void> {
    await world.converge();
  }
  toString(): string {
    return 'Converge()';
  }
}

export class ProviderCatchesUp extends Step {
  run(_claim: Claim, world: World): Promise<void> {
    world.providerCatchesUp();
    return Promise.resolve();
  }
  toString(): string {
    return 'ProviderCatchesUp()';
  }
}

export class Advance extends Step {
  constructor(readonly seconds: number) {
    super();
  }
  run(_claim: Claim, world: World): Promise<void> {
    world.advance(this.seconds);
    return Promise.resolve();
  }
  toString(): string {
    return `Advance(${this.seconds})`;
  }
}

/** A later passwordRotationTrigger: `seconds` after the previous one (the first: after 2026-12-05T00:00:00Z). */
export class SetTrigger extends Step {
  constructor(readonly seconds: number) {
    super();
  }
  run(_claim: Claim, world: World): Promise<void> {
    world.setTrigger(this.seconds);
    return Promise.resolve();
  }
  toString(): string {
    return `SetTrigger(${this.seconds})`;
  }
}

export class SetMode extends Step {
  constructor(readonly mode: Mode) {
    super();
  }
  override check(claim: Readonly<Claim>): boolean {
    return claim.mode !== this.mode;
  }
  run(claim: Claim, world: World): Promise<void> {
    claim.mode = this.mode;
    world.setMode(this.mode);
    return Promise.resolve();
  }
  toString(): string {
    return `SetMode('${this.mode}')`;
  }
}

export class SetProtection extends Step {
  constructor(readonly on: boolean) {
    super();
  }
  override check(claim: Readonly<Claim>): boolean {
    return claim.deletionProtection !== this.on;
  }
  run(claim: Claim, world: World): Promise<void> {
    claim.deletionProtection = this.on;
    world.setProtection(this.on);
    return Promise.resolve();
  }
  toString(): string {
    return `SetProtection(${this.on})`;
  }
}

export class SetReadOnly extends Step {
  constructor(readonly on: boolean) {
    super();
  }
  override check(claim: Readonly<Claim>): boolean {
    return claim.readOnlyRole !== this.on;
  }
  run(claim: Claim, world: World): Promise<void> {
    claim.readOnlyRole = this.on;
    world.setReadOnly(this.on);
    return Promise.resolve();
  }
  toString(): string {
    return `SetReadOnly(${this.on})`;
  }
}

export class LoseStatus extends Step {
  run(_claim: Claim, world: World): Promise<void> {
    world.loseStatus();
    return Promise.resolve();
  }
  toString(): string {
    return 'LoseStatus()';
  }
}

/** The restore Job's pod runs to its end (when one is composed and not finished). */
export class RunRestoreJob extends Step {
  run(_claim: Claim, world: World): Promise<void> {
    world.runRestoreJob();
    return Promise.resolve();
  }
  toString(): string {
    return 'RunRestoreJob()';
  }
}

/** A composed Role MR deleted by hand (refused while a Usage protects it); Crossplane recreates it. */
export class DeleteRole extends Step {
  constructor(readonly key: string) {
    super();
  }
  run(_claim: Claim, world: World): Promise<void> {
    world.deleteRole(this.key);
    return Promise.resolve();
  }
  toString(): string {
    return `DeleteRole('${this.key}')`;
  }
}

/** Clock steps: well inside, just around, and past the grace period. */
const ADVANCES = [30, GRACE_SECONDS / 2, GRACE_SECONDS - 1, GRACE_SECONDS, GRACE_SECONDS + 1, 3 * GRACE_SECONDS];
/** Trigger steps: a second, a minute, an hour, a day after the previous trigger. */
const TRIGGER_STEPS = [1, 60, 3600, 86_400];
const ROLES = ['role', 'login-a-role', 'login-b-role', 'readonly-role'];

/**
 * Every command, reconciles weighted up (each appears more than once): they
 * are what moves a tenant along. `only` (command names) narrows the search to
 * some of them, to triage one class of failure; the default is all.
 */
export function commandArbitraries(only?: string[]): fc.Arbitrary<Command>[] {
  const reconcile = fc.record({ lag: fc.boolean(), twice: fc.boolean() }).map(({ lag, twice }): Command => new Reconcile(lag, twice));
  const all: fc.Arbitrary<Command>[] = [
    reconcile,
    reconcile,
    reconcile,
    fc.constant(new Converge()),
    fc.constant(new Converge()),
    fc.constant(new ProviderCatchesUp()),
    fc.constantFrom(...ADVANCES).map((s): Command => new Advance(s)),
    fc.constantFrom(...ADVANCES).map((s): Command => new Advance(s)),
    fc.constantFrom(...TRIGGER_STEPS).map((s): Command => new SetTrigger(s)),
    fc.constantFrom(...TRIGGER_STEPS).map((s): Command => new SetTrigger(s)),
    fc.constantFrom<Mode>('Single', 'Alternating').map((m): Command => new SetMode(m)),
    fc.boolean().map((b): Command => new SetProtection(b)),
    fc.boolean().map((b): Command => new SetReadOnly(b)),
    fc.constant(new LoseStatus()),
    fc.constantFrom(...ROLES).map((k): Command => new DeleteRole(k)),
    fc.constant(new RunRestoreJob()),
  ];
  if (!only) return all;
  // A sample of each arbitrary names its command (its toString starts with the class name).
  const name = (a: fc.Arbitrary<Command>) => String(fc.sample(a, { numRuns: 1, seed: 0 })[0]).replace(/\(.*$/, '');
  return all.filter((a) => only.includes(name(a)));
}

export const initialArbitrary: fc.Arbitrary<Initial> = fc.record({
  flavour: fc.constantFrom<Initial['flavour']>('claim', 'namespaced'),
  mode: fc.constantFrom<Mode>('Single', 'Alternating'),
  readOnlyRole: fc.boolean(),
  deletionProtection: fc.boolean(),
  // Mostly a tenant already provisioned (a Converge() first), so that the commands spend themselves on rotations
  // and losses rather than on creating it; sometimes a new claim, so that they also land between its first reconciles.
  converged: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  restore: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

/** Provisioned tenants, by function under test and Initial: each is converged (and checked) once, then forked. */
const provisioned = new WeakMap<FunctionUnderTest, Map<string, World>>();

async function provisionedWorld(fn: FunctionUnderTest, initial: Initial, stats: Stats): Promise<World> {
  const byInitial = provisioned.get(fn) ?? new Map<string, World>();
  provisioned.set(fn, byInitial);
  const key = JSON.stringify(initial);
  let world = byInitial.get(key);
  if (!world) {
    world = new World(fn, initial, newStats());
    await world.converge();
    byInitial.set(key, world);
  }
  return world.fork(stats);
}

/** Run one sequence of commands on a new tenant, checking every invariant after each step. */
export async function runSequence(fn: FunctionUnderTest, stats: Stats, initial: Initial, commands: Iterable<Command>): Promise<void> {
  const claim: Claim = { mode: initial.mode, readOnlyRole: initial.readOnlyRole, deletionProtection: initial.deletionProtection };
  const world = initial.converged ? await provisionedWorld(fn, initial, stats) : new World(fn, initial, stats);
  await fc.asyncModelRun(() => ({ model: claim, real: world }), commands);
}
