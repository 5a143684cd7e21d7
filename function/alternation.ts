/**
 * Alternating password rotation (spec.passwordRotation.mode: Alternating):
 * which of the two login roles is handed out, which gets the next password,
 * and when the previous one loses LOGIN. A part of the plan (plan.ts), kept
 * apart because it is the only decision that reads the clock and the
 * recorded state (alternation-record.ts) together.
 */
import type { AlternationRecord } from './alternation-record.js';
import { COMPOSED, type LoginOwner, type LoginSlot } from './composed.js';
import type { Credentials } from './credentials.js';
import { loginSlotRoleName } from './naming.js';
import type { Facts } from './observe.js';
import { INITIAL_ROTATION } from './passwords.js';
import type { Login } from './plan.js';
import { readiness } from './readiness.js';
import type { TenantDatabaseSpec } from './spec.js';
import { parseKubernetesTime } from './time.js';

/** What the XR's status (and `<name>-secret`'s annotations) record of alternating rotation after this call. */
export type AlternationStatus = AlternationRecord & { rotation: string };

/**
 * Alternating password rotation: two login roles (`<role>_la`, `<role>_lb`)
 * that are members of the tenant role and start every session as it
 * (configurationParameters role=<tenant role>), so everything they create
 * belongs to the tenant role and the reader's default privileges FOR ROLE
 * <tenant role> cover it. Each rotation gives the idle one the new password;
 * `<name>-secret` switches to it only once provider-sql has published that
 * password and the membership is in place, so the credentials handed out
 * always work; the previous login keeps working for graceSeconds after the
 * switch, then loses LOGIN (never dropped).
 *
 * The promise, whatever came before: a login handed out keeps its password
 * and LOGIN until another one has been handed out and the grace period has
 * passed since. So a rotation asked for while a grace period runs waits for
 * it to end (the login in its grace period is the one the rotation would
 * reuse), and a record whose switch time was lost starts the grace period
 * again rather than cut it short.
 */
export interface Alternation {
  /** login-a, login-b. */
  slots: Login[];
  /** The login whose credentials <name>-secret holds after this call; undefined: still the tenant role's own. */
  active?: LoginSlot;
  /** The credentials <name>-secret and the AWS copy hold. */
  handedOut?: Credentials;
  tenantCanLogin: boolean;
  /** The record after this call, for the status and `<name>-secret`'s annotations; undefined before the first switch. */
  status?: AlternationStatus;
  /** The rotation asked for is not the one handed out yet. */
  pending: boolean;
  /** The login the rotation switches to, and its rotation. */
  target: LoginSlot;
  rotation: string;
  /** A rotation asked for that waits for a grace period to end (ms since the epoch), and the PostgreSQL role in that grace period. */
  waitsForGrace?: { untilMs: number; role: string };
  /** When a login still in its grace period loses LOGIN (ms since the epoch): the TTL wakes the tenant then. */
  graceEndsMs?: number;
}

const otherSlot = (s: LoginSlot): LoginSlot => (s === 'login-a' ? 'login-b' : 'login-a');
const SLOT_LETTER: Record<LoginSlot, 'a' | 'b'> = { 'login-a': 'a', 'login-b': 'b' };

/** RFC 3339 in whole seconds, as Kubernetes writes times. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Alternating rotation, decided from the recorded state, the observed logins and the clock (see Alternation). */
export function plannedAlternation(
  spec: TenantDatabaseSpec,
  facts: Facts,
  role: string,
  wanted: string | undefined,
  nowMs: number,
  login: (owner: LoginOwner, pgRole: string, canLogin: boolean, rotationWanted?: string | null) => Login,
): Alternation {
  const prev = facts.alternation;
  const graceMs = spec.passwordRotation.graceSeconds * 1000;
  // A switch whose time is not known (an inferred record) is taken as now: the grace period starts again.
  const switchedAt = prev?.switchedAt ?? (prev?.previousLogin ? kubeTime(nowMs) : undefined);
  const switchedMs = switchedAt !== undefined ? parseKubernetesTime(switchedAt) : undefined;
  const prevGraceEnds = switchedMs !== undefined ? switchedMs + graceMs : undefined;
  const graceRunning = prev?.previousLogin !== undefined && prevGraceEnds !== undefined && nowMs < prevGraceEnds;
  const inGrace = (who: 'tenant' | LoginSlot) => graceRunning && prev?.previousLogin === who;

  const inPlace = prev ? (prev.rotation ?? facts.passwords[prev.activeLogin].secret?.rotation ?? INITIAL_ROTATION) : undefined;
  const asked = wanted ?? inPlace ?? INITIAL_ROTATION;
  // A new rotation goes to the idle login; the active one is never given a new password while handed
  // out, and the idle one not while it is in its grace period: then the rotation waits.
  const waits = prev !== undefined && asked !== inPlace && graceRunning;
  const target: LoginSlot = !prev ? 'login-a' : asked === inPlace || waits ? prev.activeLogin : otherSlot(prev.activeLogin);
  const rotation = waits ? inPlace! : asked;

  const targetLogin = login(target, loginSlotRoleName(role, SLOT_LETTER[target]), true, rotation);
  const membership = facts.resources.get(COMPOSED.loginMembership.key(target));
  const found = facts.credentials[target];
  const published = found.published ?? found.required;
  // Handed out only once it works: provider-sql has set the planned password, and the login is a member of the tenant role.
  const targetReady =
    targetLogin.password.password !== undefined &&
    published?.password === targetLogin.password.password &&
    readiness('Grant', membership).ready &&
    readiness('Role', facts.resources.get(COMPOSED.role.key(target))).ready;
  const switching = targetReady && target !== prev?.activeLogin;
  const active = targetReady ? target : prev?.activeLogin;

  const idle = otherSlot(target);
  let graceEndsMs: number | undefined;
  let idleCanLogin: boolean;
  if (idle === prev?.activeLogin) {
    // Still handed out (the new one is not ready yet), or handed out until now: its grace period starts.
    idleCanLogin = true;
    if (switching) graceEndsMs = nowMs + graceMs;
  } else {
    idleCanLogin = inGrace(idle);
    if (idleCanLogin) graceEndsMs = prevGraceEnds;
  }
  const idleLogin = login(idle, loginSlotRoleName(role, SLOT_LETTER[idle]), idleCanLogin, null);

  // The tenant role's own login: handed out until the first switch, then for the grace period.
  const tenantCanLogin = !prev || inGrace('tenant');
  if (prev && inGrace('tenant')) graceEndsMs = Math.min(graceEndsMs ?? Infinity, prevGraceEnds!);
  if (!prev && switching) graceEndsMs = nowMs + graceMs;

  const status: AlternationStatus | undefined = switching
    ? { activeLogin: target, previousLogin: prev?.activeLogin ?? 'tenant', rotation, switchedAt: kubeTime(nowMs) }
    : prev
      ? {
          activeLogin: prev.activeLogin,
          ...(prev.previousLogin ? { previousLogin: prev.previousLogin } : {}),
          rotation: inPlace!,
          ...(switchedAt ? { switchedAt } : {}),
        }
      : undefined;
  const slots = [targetLogin, idleLogin].sort((a, b) => (a.owner < b.owner ? -1 : 1));
  const activeLogin = slots.find((l) => l.owner === active);
  // The active login's credentials, else (not fetched in this call) what <name>-secret already holds.
  const handedOut = activeLogin ? (activeLogin.credentials ?? facts.credentials.tenant.rendered) : undefined;
  return {
    slots,
    ...(active ? { active } : {}),
    ...(handedOut ? { handedOut } : {}),
    tenantCanLogin,
    ...(status ? { status } : {}),
    pending: !targetReady || waits,
    target,
    rotation,
    ...(waits ? { waitsForGrace: { untilMs: prevGraceEnds, role: prev.previousLogin === 'tenant' ? role : loginSlotRoleName(role, SLOT_LETTER[prev.previousLogin!]) } } : {}),
    ...(graceEndsMs !== undefined ? { graceEndsMs } : {}),
  };
}
