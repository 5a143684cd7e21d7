/**
 * Passwords: which password each login role is to have, decided without
 * randomness and without a clock, so that every reconcile (and every replica,
 * and a Role MR recreated from scratch) arrives at the same one.
 *
 * Each login Role gets a `passwordSecretRef` to a Secret the function
 * composes (`<xr>-password`, `<xr>-readonly-password`, in the Role's
 * connection-secret namespace) holding that password, annotated with the
 * rotation it belongs to. provider-sql v0.16.0 then does the rest with its
 * "bring your own password" rules: it creates the role with that password, and
 * whenever the password differs from the one in the Role's connection secret
 * (a rotation, or a connection secret lost with a deleted MR) it runs
 * ALTER ROLE ... PASSWORD and republishes the connection details, which the
 * function carries into `<name>-secret` and the AWS copy as before.
 *
 * The planned password of a login, in order:
 *  (a) the observed password Secret's, when it belongs to the planned rotation
 *      (the steady state: nothing is required from Crossplane);
 *  (b) the password already known (published, the Role's connection secret,
 *      or `<name>-secret`), for a Role created by an earlier version of the
 *      function that has no password Secret yet, as long as the planned
 *      rotation is the one it is at: upgrading changes no password;
 *  (b') for a role adopted from the Helm chart, before its first password
 *      Secret: the password `npm run migrate` handed over (the chart's own),
 *      when the claim is at the rotation it was handed over for ("initial");
 *  (c) derived: HMAC-SHA256(platform key, "tenantdb-password-v1\0" + role +
 *      "\0" + rotation), base62. The key is a Kubernetes Secret the function
 *      asks Crossplane for only then (a new tenant, a new rotation).
 *
 * The rotation is the stamp of spec.passwordRotationTrigger (time.ts), else
 * the one in place; "initial" before any. One rotation always derives the same
 * password, so a trigger in the future rotates once, not on every reconcile.
 */
import { createHmac } from 'node:crypto';
import { rotationOfConnectionSecret } from './composed.js';
import { fail } from './refusal.js';
import { rotationStamp, stampToTime } from './time.js';

/** On the password Secret (and the Role, to wake provider-sql): the rotation its password belongs to. */
export const ROTATION_ANNOTATION = 'tenantdb.platform.io/password-rotation';
/** The rotation of a password no trigger asked for. */
export const INITIAL_ROTATION = 'initial';
/** Shortest platform key accepted: 256 bits, the HMAC's own strength. */
export const MIN_KEY_BYTES = 32;
/** Length of a derived password: 43 base62 characters hold the 256 bits of the HMAC. */
export const DERIVED_LENGTH = 43;
const DOMAIN = 'tenantdb-password-v1';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The password Secret of a login, as observed. */
export interface ObservedPasswordSecret {
  password?: string;
  rotation?: string;
}

/** What is observed of one login's password. */
export interface LoginPasswordFacts {
  /** The observed password Secret, when it exists. */
  secret?: ObservedPasswordSecret;
  /** The observed Role's writeConnectionSecretToRef.name, when the Role exists. */
  connectionSecretName?: string;
  /**
   * An adopted role's password handed over by the migration (composed.ts LOGIN_NAMES.adoptedPasswordSecret):
   * `asked` false while Crossplane has not been asked for it in this call, `secret` absent when it was and none exists.
   */
  adopted?: { asked: boolean; secret?: ObservedPasswordSecret };
}

/** Where the platform key stands in this call. */
export type PasswordKey =
  | { state: 'not-asked' }
  | { state: 'missing'; why: string }
  | { state: 'found'; key: Uint8Array };

export interface KeyRef {
  name: string;
  namespace: string;
  key: string;
}

/** The password a login is to have, and where it came from. */
export interface PasswordDecision {
  /** The rotation: a stamp (time.ts) or "initial". */
  rotation: string;
  /** Undefined while a derivation needs the platform key, which is not at hand. */
  password?: string;
  /**
   * secret, known, derived: (a), (b), (c) of the module comment; waiting: (c) without the platform
   * key at hand; unknown: a Role of an earlier version whose password is not known yet (its
   * connection secret not fetched yet): it is never derived anew, which would change it.
   */
  source: 'secret' | 'known' | 'derived' | 'waiting' | 'unknown';
}

/** The rotation a login is at: its password Secret's, else the one an earlier version put in the connection secret's name. */
export function rotationInPlace(f: LoginPasswordFacts): string | undefined {
  return f.secret?.rotation ?? rotationOfConnectionSecret(f.connectionSecretName);
}

/**
 * The rotation every login is to be at: the trigger's, else (per login) the
 * one in place. A trigger earlier than a rotation already in place is refused:
 * it would bring back (derive again) a password that was rotated away.
 */
export function wantedRotation(trigger: string | undefined, logins: LoginPasswordFacts[]): string | undefined {
  const done = logins.map(rotationInPlace).filter((r): r is string => r !== undefined && r !== INITIAL_ROTATION).sort();
  const latest = done[done.length - 1];
  const wanted = trigger ? rotationStamp(trigger) : undefined;
  if (wanted && latest && wanted < latest) {
    fail(
      'InvalidSpec',
      `spec.passwordRotationTrigger: ${trigger} is earlier than the last rotation (${stampToTime(latest)}); to rotate again, set a later time`,
    );
  }
  return wanted;
}

/** The planned password of one login; see the module comment for the order. */
export function decidePassword(
  role: string,
  wanted: string | undefined,
  f: LoginPasswordFacts,
  known: string | undefined,
  key: PasswordKey,
  keyRef: KeyRef,
): PasswordDecision {
  const rotation = wanted ?? rotationInPlace(f) ?? INITIAL_ROTATION;
  if (f.secret?.rotation === rotation && f.secret.password) return { rotation, password: f.secret.password, source: 'secret' };
  const legacy = f.connectionSecretName !== undefined && !f.secret;
  if (legacy && (rotationOfConnectionSecret(f.connectionSecretName) ?? INITIAL_ROTATION) === rotation) {
    // Upgrading changes no password: to recover a role whose password is lost, set a later trigger.
    return known ? { rotation, password: known, source: 'known' } : { rotation, source: 'unknown' };
  }
  if (f.adopted && !f.secret) {
    // Deriving before the handed-over password has been looked up would change an adopted role's password.
    if (!f.adopted.asked) return { rotation, source: 'waiting' };
    const handed = f.adopted.secret;
    if (handed?.password && (handed.rotation ?? INITIAL_ROTATION) === rotation) return { rotation, password: handed.password, source: 'known' };
  }
  if (key.state !== 'found') return { rotation, source: 'waiting' };
  if (key.key.length < MIN_KEY_BYTES) {
    fail(
      'InvalidFunctionInput',
      `input.passwords.keySecretRef: Secret ${keyRef.namespace}/${keyRef.name} key "${keyRef.key}" holds ${key.key.length} bytes; ` +
        `the platform's password key must have at least ${MIN_KEY_BYTES} (e.g. openssl rand -base64 48)`,
    );
  }
  return { rotation, password: derivePassword(key.key, role, rotation), source: 'derived' };
}

/** HMAC-SHA256(key, "tenantdb-password-v1\0" + role + "\0" + rotation), as DERIVED_LENGTH base62 characters. */
export function derivePassword(key: Uint8Array, role: string, rotation: string): string {
  const mac = createHmac('sha256', key).update(`${DOMAIN}\0${role}\0${rotation}`, 'utf8').digest();
  let n = BigInt(`0x${mac.toString('hex')}`);
  let out = '';
  for (let i = 0; i < DERIVED_LENGTH; i++) {
    out = BASE62[Number(n % 62n)]! + out;
    n /= 62n;
  }
  return out;
}

/** What the status and condition say about the platform key while a login waits for it. */
export function keyWaitReason(key: PasswordKey, keyRef: KeyRef): string {
  const where = `Secret ${keyRef.namespace}/${keyRef.name}`;
  if (key.state === 'missing') return `the platform's password key: ${key.why} (function input passwords.keySecretRef; see docs/platform-engineers.md)`;
  return `the platform's password key (${where}), asked of Crossplane`;
}

/** The platform key, from what Crossplane fetched for the requirement (observe.ts). */
export function passwordKey(fetched: { asked: boolean; data?: Record<string, Uint8Array> }, keyRef: KeyRef): PasswordKey {
  if (!fetched.asked) return { state: 'not-asked' };
  const where = `Secret ${keyRef.namespace}/${keyRef.name}`;
  if (!fetched.data) return { state: 'missing', why: `${where} not found` };
  const key = fetched.data[keyRef.key];
  if (!key || key.length === 0) return { state: 'missing', why: `${where} has no key "${keyRef.key}"` };
  return { state: 'found', key };
}
