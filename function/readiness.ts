/**
 * Readiness of composed resources, from what Crossplane observed.
 *
 * A managed resource or Usage is ready when its Ready condition is True.
 * A Kubernetes Secret has no conditions: it is ready once it exists. The
 * reasons for not being ready are collected for the XR's status and
 * condition message, so that `kubectl describe` says which object is waiting
 * and why, in the words of its own controller.
 */
import type { ResourceCondition as Condition } from '@crossplane-org/function-sdk-typescript';
import type { ComposedKind } from './composed.js';

/** What readiness needs of an observed object: its Ready and Synced conditions (status Unknown when absent). */
export interface ObservedConditions {
  ready: Condition;
  synced: Condition;
}

export interface Readiness {
  ready: boolean;
  /** Why not, when not: e.g. `Creating` or `ReconcileError: connection refused`. */
  why?: string;
}

/**
 * Kinds that have no conditions: ready once they exist. (A Job has no Ready
 * condition either: observe.ts reads its Complete condition as Ready.)
 */
const CONDITIONLESS_KINDS = new Set<ComposedKind>(['Secret', 'ServiceAccount', 'CronJob']);
const MAX_MESSAGE = 200;

/** The SDK reports a missing condition as status Unknown with nothing else. */
function present(c: Condition): boolean {
  return c.status !== 'Unknown' || c.reason !== undefined || c.message !== undefined || c.lastTransitionTime !== undefined;
}

/** Is the observed counterpart of a composed object ready? `observed` is undefined when it does not exist yet. */
export function readiness(kind: ComposedKind, observed: ObservedConditions | undefined): Readiness {
  if (!observed) return { ready: false, why: 'not created yet' };
  if (CONDITIONLESS_KINDS.has(kind)) return { ready: true };
  const { ready, synced } = observed;
  if (ready.status === 'True') return { ready: true };
  const cause = synced.status === 'False' ? synced : present(ready) ? ready : undefined;
  if (!cause) return { ready: false, why: 'no Ready condition yet' };
  const parts = [cause.reason, cause.message].filter((p): p is string => typeof p === 'string' && p !== '');
  const why = parts.join(': ').replace(/\s+/g, ' ');
  return { ready: false, why: why.length > MAX_MESSAGE ? `${why.slice(0, MAX_MESSAGE)}...` : why || 'not ready' };
}
