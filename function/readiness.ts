/**
 * Readiness of composed resources, from what Crossplane observed.
 *
 * A managed resource or Usage is ready when its Ready condition is True.
 * A Kubernetes Secret has no conditions: it is ready once it exists. The
 * reasons for not being ready are collected for the XR's status and
 * condition message, so that `kubectl describe` says which object is waiting
 * and why, in the words of its own controller.
 */
export interface ObservedObject {
  resource?: Record<string, unknown>;
}

interface Condition {
  type?: unknown;
  status?: unknown;
  reason?: unknown;
  message?: unknown;
}

const CONDITIONLESS_KINDS = new Set(['Secret']);
const MAX_MESSAGE = 200;

function conditions(obj: Record<string, unknown> | undefined): Condition[] {
  const status = obj?.status as Record<string, unknown> | undefined;
  const list = status?.conditions;
  return Array.isArray(list) ? (list as Condition[]) : [];
}

export interface Readiness {
  ready: boolean;
  /** Why not, when not: e.g. `Creating` or `ReconcileError: connection refused`. */
  why?: string;
}

/** Is the observed counterpart of a desired object ready? */
export function readiness(kind: string, observed: ObservedObject | undefined): Readiness {
  const obj = observed?.resource;
  if (!obj) return { ready: false, why: 'not created yet' };
  if (CONDITIONLESS_KINDS.has(kind)) return { ready: true };
  const ready = conditions(obj).find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return { ready: true };
  const synced = conditions(obj).find((c) => c.type === 'Synced' && c.status === 'False');
  const cause = synced ?? ready;
  if (!cause) return { ready: false, why: 'no Ready condition yet' };
  const parts = [cause.reason, cause.message].filter((p): p is string => typeof p === 'string' && p !== '');
  const why = parts.join(': ').replace(/\s+/g, ' ');
  return { ready: false, why: why.length > MAX_MESSAGE ? `${why.slice(0, MAX_MESSAGE)}...` : why || 'not ready' };
}
