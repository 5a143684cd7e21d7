/**
 * How long Crossplane may wait before calling the function again for a
 * tenant (the response's meta.ttl).
 *
 * With realtime compositions (Crossplane v2.2.4) an XR reconciles on watch
 * events, and otherwise only after the shortest TTL its functions returned.
 * Events are dropped while the XR's watch circuit breaker is open (a burst of
 * claims opens it for most XRs), so a tenant that is still converging relies
 * on the TTL to notice that what it waits for has become ready. A settled
 * tenant does not: its watches report real changes.
 *
 * - Pending (some composed object not ready or held back, credentials not
 *   observed, a rotation asked for and not done): a quarter of the time the
 *   tenant has been waiting in its current state, within
 *   [ttl.pendingMinSeconds, ttl.pendingMaxSeconds]. The time waited is read
 *   from the XR's Provisioned condition (status False): Crossplane moves its
 *   lastTransitionTime whenever the condition's message changes, i.e. on every
 *   step forward, so a tenant that progresses keeps a short TTL, and one that
 *   is stuck for hours costs one call per pendingMaxSeconds, not one every few
 *   seconds. First request, or just turned pending: pendingMinSeconds.
 * - Everything ready: ttl.readySeconds.
 *
 * The clock is an argument: the same request at the same instant always
 * yields the same answer.
 */
import type { FunctionInput } from './input.js';
import type { Facts } from './observe.js';
import { loginsOf, type Plan } from './plan.js';
import { parseKubernetesTime } from './time.js';

/** A pending tenant's TTL is this fraction of the time it has been waiting (before the bounds). */
export const PENDING_GROWTH = 1 / 4;

/**
 * Why the tenant is pending, empty when it is not: the XR's list of what is
 * not ready (rotations asked for and not applied yet among them, plan.ts),
 * plus what it does not list — logins whose credentials have not been
 * observed from provider-sql yet (the Secret may still carry the old password).
 */
export function pendingReasons(plan: Plan, facts: Facts, notReady: string[]): string[] {
  const out = [...notReady];
  const logins = loginsOf(plan.tenantLogin, plan.reader);
  for (const login of logins) {
    if (!login.canLogin) continue;
    const found = facts.credentials[login.owner];
    if (!found.published && !found.required) out.push(`credentials of role ${login.role} not observed yet`);
  }
  return out;
}

/** Seconds the tenant has been pending in its current state; 0 when that is not known or it has only now turned pending. */
export function pendingSeconds(facts: Facts, nowMs: number): number {
  const p = facts.provisioned;
  if (!p || p.status !== 'False' || p.lastTransitionTime === undefined) return 0;
  const since = parseKubernetesTime(p.lastTransitionTime);
  if (since === undefined || !Number.isFinite(nowMs) || nowMs <= since) return 0;
  return Math.floor((nowMs - since) / 1000);
}

/** The TTL, in whole seconds, for a tenant pending for `pendingFor` seconds (undefined: not pending). */
export function ttlSeconds(bounds: FunctionInput['ttl'], pendingFor: number | undefined): number {
  if (pendingFor === undefined) return bounds.readySeconds;
  const grown = Math.floor(pendingFor * PENDING_GROWTH);
  return Math.min(bounds.pendingMaxSeconds, Math.max(bounds.pendingMinSeconds, grown));
}

/** meta.ttl of an answer that composes: see the module comment. */
export function responseTtl(plan: Plan, facts: Facts, notReady: string[], nowMs: number): { seconds: number; nanos: number } {
  const pending = pendingReasons(plan, facts, notReady).length > 0;
  let seconds = ttlSeconds(plan.input.ttl, pending ? pendingSeconds(facts, nowMs) : undefined);
  // Alternating rotation: wake the tenant when a grace period ends, so the previous login loses LOGIN on time.
  const graceEnds = plan.alternation?.graceEndsMs;
  if (graceEnds !== undefined && Number.isFinite(nowMs) && graceEnds > nowMs) seconds = Math.max(1, Math.min(seconds, Math.ceil((graceEnds - nowMs) / 1000)));
  return { seconds, nanos: 0 };
}
