/**
 * What Alternating rotation must remember between calls — which login
 * `<name>-secret` hands out, the one before it, the rotation it is at and when
 * it switched — and where that memory lives.
 *
 * The XR's status is only a cache: a control plane restored from a backup
 * (Velero restores no status by default) or moved to a new cluster loses it,
 * and starting again at login-a would take LOGIN from the login every running
 * pod uses. So the record is also written as annotations on `<name>-secret`
 * itself, the object that hands the login out: the two are written in the
 * same object, so they cannot disagree, and what is observed there is the
 * truth. Read in that order: the Secret's annotations, the status, and, for a
 * Secret written before these annotations existed, what the Secret and the
 * Roles show (observe.ts, inferred: the switch time is then unknown and the
 * grace period starts again, the safe side).
 */
import type { LoginSlot } from './composed.js';
import { ROTATION_ANNOTATION } from './passwords.js';
import { isKubernetesTime } from './time.js';

export interface AlternationRecord {
  activeLogin: LoginSlot;
  previousLogin?: 'tenant' | LoginSlot;
  rotation?: string;
  /** Undefined when the record was inferred (observe.ts): the grace period then counts from now. */
  switchedAt?: string;
}

/** The annotations on `<name>-secret` that carry the record (the rotation shares the password Secrets' annotation). */
export const ALTERNATION_ANNOTATIONS = {
  activeLogin: 'tenantdb.platform.io/active-login',
  previousLogin: 'tenantdb.platform.io/previous-login',
  switchedAt: 'tenantdb.platform.io/switched-at',
  rotation: ROTATION_ANNOTATION,
} as const;

type Obj = Record<string, unknown>;

const isSlot = (v: unknown): v is LoginSlot => v === 'login-a' || v === 'login-b';
const isPrevious = (v: unknown): v is 'tenant' | LoginSlot => v === 'tenant' || isSlot(v);

/** A record from a map of fields named as in the status (or, `names`, as the annotations name them); undefined without a valid active login. */
function recordOf(source: unknown, names: Record<keyof AlternationRecord, string>): AlternationRecord | undefined {
  if (source === null || typeof source !== 'object') return undefined;
  const get = (k: keyof AlternationRecord) => (source as Obj)[names[k]];
  const active = get('activeLogin');
  if (!isSlot(active)) return undefined;
  const previous = get('previousLogin');
  const rotation = get('rotation');
  const switchedAt = get('switchedAt');
  return {
    activeLogin: active,
    ...(isPrevious(previous) ? { previousLogin: previous } : {}),
    ...(typeof rotation === 'string' && rotation !== '' ? { rotation } : {}),
    ...(isKubernetesTime(switchedAt) ? { switchedAt: switchedAt as string } : {}),
  };
}

const STATUS_NAMES = { activeLogin: 'activeLogin', previousLogin: 'previousLogin', rotation: 'rotation', switchedAt: 'switchedAt' } as const;

/** The record in the XR's status.passwordRotation, if any. */
export function recordFromStatus(passwordRotation: unknown): AlternationRecord | undefined {
  return recordOf(passwordRotation, STATUS_NAMES);
}

/** The record in `<name>-secret`'s annotations, if any. */
export function recordFromAnnotations(annotations: unknown): AlternationRecord | undefined {
  return recordOf(annotations, ALTERNATION_ANNOTATIONS);
}

/** The annotations that carry a record on `<name>-secret`. */
export function recordAnnotations(record: AlternationRecord): Record<string, string> {
  const out: Record<string, string> = { [ALTERNATION_ANNOTATIONS.activeLogin]: record.activeLogin };
  if (record.previousLogin) out[ALTERNATION_ANNOTATIONS.previousLogin] = record.previousLogin;
  if (record.rotation) out[ALTERNATION_ANNOTATIONS.rotation] = record.rotation;
  if (record.switchedAt) out[ALTERNATION_ANNOTATIONS.switchedAt] = record.switchedAt;
  return out;
}
