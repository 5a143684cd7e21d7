/**
 * Observe: the request turned into facts, once, before anything is decided.
 *
 * This is the only code that reads what Crossplane observed (the composed
 * resources) or fetched because the function required it (the Roles'
 * connection secrets). Everything after it works on the facts below, so the
 * plan can be read, and tested, without knowing how a request is laid out.
 * It never fails: a fact that is missing or malformed is simply absent.
 */
import { getCondition, getObservedComposedResources, getRequiredResource, type RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { recordFromAnnotations, recordFromStatus, type AlternationRecord } from './alternation-record.js';
import { COMPOSED, LOGIN_NAMES, LOGIN_OWNERS, LOGIN_SLOTS, readerSchemaOfKey, type LoginOwner } from './composed.js';
import { fromConnectionDetails, fromSecretData, type Credentials } from './credentials.js';
import { ROTATION_ANNOTATION, type LoginPasswordFacts, type ObservedPasswordSecret } from './passwords.js';
import type { ObservedConditions } from './readiness.js';
import type { RestoredFromStatus } from './backup/settings.js';

export const EXTERNAL_NAME = 'crossplane.io/external-name';

/** One composed resource as observed: enough to judge readiness, and its external name. */
export interface ObservedResource extends ObservedConditions {
  externalName?: string;
}

/** A login's credentials, wherever they were found. */
export interface FoundCredentials {
  /** The Role's connection details, as Crossplane passes them with the observed Role. */
  published?: Credentials;
  /** The Role's connection secret, fetched because the function required it. */
  required?: Credentials;
  /** The Secret the function rendered before. */
  rendered?: Credentials;
}

export interface Facts {
  /** Every observed composed resource, by key. */
  resources: ReadonlyMap<string, ObservedResource>;
  /** The reader's schema roles that exist, by schema (they stay composed once created). */
  readerSchemaRoles: ReadonlyMap<string, ObservedResource>;
  credentials: Record<LoginOwner, FoundCredentials>;
  /** Each login's password Secret and Role connection secret name, as observed (passwords.ts). */
  passwords: Record<LoginOwner, LoginPasswordFacts>;
  /**
   * The platform's password key Secret's data (decoded), when Crossplane fetched it because the
   * function required it: `asked` false when it was not required in this call, `data` absent when
   * Crossplane found no such Secret.
   */
  passwordKey: { asked: boolean; data?: Record<string, Uint8Array> };
  /**
   * Alternating rotation as last recorded (alternation-record.ts): which login <name>-secret holds,
   * the one before it, the rotation it is at, when it switched (undefined when inferred).
   */
  alternation?: AlternationRecord;
  /** When provider-sql last changed the tenant role's password. */
  lastPasswordChange?: string;
  /** The ARN of the tenant's AWS secret, once the AWS provider reports it. */
  awsSecretArn?: string;
  /** The backup CronJob and restore Job as observed (backup/status.ts reads what Kubernetes reports on them). */
  backup: { cronJob?: Obj; restoreJob?: Obj };
  /** The restore recorded in the XR's status: kept there once done. */
  restoredFrom?: RestoredFromStatus;
  /** The XR's Provisioned condition as last written (ttl.ts: how long the tenant has been waiting). */
  provisioned?: { status: string; lastTransitionTime?: string };
}

type Obj = Record<string, unknown>;

function field(obj: unknown, ...path: string[]): unknown {
  let node = obj;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Obj)[key];
  }
  return node;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function observedResource(resource: Obj | undefined): ObservedResource {
  const externalName = text(field(resource, 'metadata', 'annotations', EXTERNAL_NAME));
  return { ...conditions(resource), ...(externalName === undefined ? {} : { externalName }) };
}

/**
 * Ready and Synced as readiness.ts reads them. A Job has neither: it is ready
 * once Complete, and a Failed condition is its error (a failed restore names
 * its exit code there: backup/resources.ts, podFailurePolicy).
 */
function conditions(resource: Obj | undefined): ObservedConditions {
  if (field(resource, 'apiVersion') === 'batch/v1' && field(resource, 'kind') === 'Job') {
    const failed = getCondition(resource, 'Failed');
    return { ready: getCondition(resource, 'Complete'), synced: failed.status === 'True' ? { ...failed, status: 'False' } : getCondition(resource, 'Synced') };
  }
  return { ready: getCondition(resource, 'Ready'), synced: getCondition(resource, 'Synced') };
}

export function observe(req: RunFunctionRequest): Facts {
  const observed = getObservedComposedResources(req);
  const resources = new Map<string, ObservedResource>();
  const readerSchemaRoles = new Map<string, ObservedResource>();
  for (const key of Object.keys(observed).sort()) {
    const resource = observed[key]!.resource;
    if (!resource) continue;
    const o = observedResource(resource);
    resources.set(key, o);
    const schema = readerSchemaOfKey(key);
    if (schema !== undefined) readerSchemaRoles.set(schema, o);
  }

  const credentialsOf = (owner: LoginOwner): FoundCredentials => {
    const [required] = getRequiredResource(req, LOGIN_NAMES.connectionRequirement(owner));
    const found: FoundCredentials = {};
    const published = fromConnectionDetails(observed[COMPOSED.role.key(owner)]?.connectionDetails);
    if (published) found.published = published;
    const fetched = fromSecretData(field(required[0]?.resource, 'data'));
    if (fetched) found.required = fetched;
    const rendered = fromSecretData(field(observed[COMPOSED.secret.key(owner)]?.resource, 'data'));
    if (rendered) found.rendered = rendered;
    return found;
  };

  const passwordSecretOf = (secret: unknown): ObservedPasswordSecret => {
    const data = field(secret, 'data', 'password');
    const password = typeof data === 'string' && data !== '' ? Buffer.from(data, 'base64').toString('utf8') : undefined;
    const rotation = text(field(secret, 'metadata', 'annotations', ROTATION_ANNOTATION));
    return { ...(password ? { password } : {}), ...(rotation ? { rotation } : {}) };
  };
  const passwordsOf = (owner: LoginOwner): LoginPasswordFacts => {
    const out: LoginPasswordFacts = {};
    const secret = observed[COMPOSED.password.key(owner)]?.resource;
    if (secret) out.secret = passwordSecretOf(secret);
    if (owner === 'tenant') {
      const [items, asked] = getRequiredResource(req, LOGIN_NAMES.adoptedPasswordRequirement);
      if (asked) out.adopted = { asked, ...(items[0]?.resource ? { secret: passwordSecretOf(items[0].resource) } : {}) };
    }
    const name = text(field(observed[COMPOSED.role.key(owner)]?.resource, 'spec', 'writeConnectionSecretToRef', 'name'));
    if (name !== undefined) out.connectionSecretName = name;
    return out;
  };
  const [keyItems, keyAsked] = getRequiredResource(req, LOGIN_NAMES.passwordKeyRequirement);
  const keyData = field(keyItems[0]?.resource, 'data');
  const passwordKey: Facts['passwordKey'] = { asked: keyAsked };
  if (keyItems[0]?.resource) {
    const decoded: Record<string, Uint8Array> = {};
    if (keyData && typeof keyData === 'object') {
      for (const [k, v] of Object.entries(keyData as Obj)) if (typeof v === 'string') decoded[k] = Buffer.from(v, 'base64');
    }
    passwordKey.data = decoded;
  }
  const tenantRole = observed[COMPOSED.role.key('tenant')]?.resource;
  const awsSecret = observed[COMPOSED.awsSecret.key('tenant')]?.resource;
  const facts: Facts = {
    resources,
    readerSchemaRoles,
    credentials: Object.fromEntries(LOGIN_OWNERS.map((o) => [o, credentialsOf(o)])) as Record<LoginOwner, FoundCredentials>,
    passwords: Object.fromEntries(LOGIN_OWNERS.map((o) => [o, passwordsOf(o)])) as Record<LoginOwner, LoginPasswordFacts>,
    passwordKey,
    backup: {
      ...(observed[COMPOSED.backupCronJob.key()]?.resource ? { cronJob: observed[COMPOSED.backupCronJob.key()]!.resource } : {}),
      ...(observed[COMPOSED.restoreJob.key()]?.resource ? { restoreJob: observed[COMPOSED.restoreJob.key()]!.resource } : {}),
    },
  };
  const alternation = alternationRecord(observed, req.observed?.composite?.resource, facts.passwords);
  if (alternation) facts.alternation = alternation;
  const restoredFrom = recordedRestore(req.observed?.composite?.resource);
  if (restoredFrom) facts.restoredFrom = restoredFrom;
  const lastPasswordChange = text(field(tenantRole, 'status', 'atProvider', 'lastPasswordChange'));
  if (lastPasswordChange !== undefined) facts.lastPasswordChange = lastPasswordChange;
  const arn = text(field(awsSecret, 'status', 'atProvider', 'arn'));
  if (arn !== undefined) facts.awsSecretArn = arn;
  const provisioned = getCondition(req.observed?.composite?.resource, 'Provisioned');
  if (provisioned.status !== 'Unknown' || provisioned.lastTransitionTime !== undefined) {
    const since = text(provisioned.lastTransitionTime);
    facts.provisioned = { status: provisioned.status, ...(since === undefined ? {} : { lastTransitionTime: since }) };
  }
  return facts;
}

/**
 * Alternating rotation's record (alternation-record.ts): from the annotations
 * of the observed `<name>-secret` (the truth: they are written with the
 * credentials they describe), else the XR's status (a Secret written by an
 * earlier version), else inferred from what is observed — the login whose
 * credentials `<name>-secret` holds, the other logins whose Roles still have
 * LOGIN (the previous one, its grace period to start again), and the active
 * login's rotation from its password Secret.
 */
function alternationRecord(
  observed: ReturnType<typeof getObservedComposedResources>,
  xr: unknown,
  passwords: Record<LoginOwner, LoginPasswordFacts>,
): Facts['alternation'] {
  const secret = observed[COMPOSED.secret.key('tenant')]?.resource;
  const annotated = recordFromAnnotations(field(secret, 'metadata', 'annotations'));
  if (annotated) return annotated;
  const recorded = recordFromStatus(field(xr, 'status', 'passwordRotation'));
  if (recorded) return recorded;
  const username = fromSecretData(field(secret, 'data'))?.username;
  const roleOf = (owner: LoginOwner) => observed[COMPOSED.role.key(owner)]?.resource;
  const active = LOGIN_SLOTS.find((s) => username !== undefined && text(field(roleOf(s), 'metadata', 'annotations', EXTERNAL_NAME)) === username);
  if (!active) return undefined;
  const canLogin = (owner: LoginOwner) => field(roleOf(owner), 'spec', 'forProvider', 'privileges', 'login') === true;
  const other = LOGIN_SLOTS.find((s) => s !== active)!;
  const previousLogin = canLogin(other) ? other : canLogin('tenant') ? 'tenant' : undefined;
  const rotation = passwords[active].secret?.rotation;
  return { activeLogin: active, ...(previousLogin ? { previousLogin } : {}), ...(rotation ? { rotation } : {}) };
}

/**
 * The restore the XR's status records (status.restoredFrom), if any: what
 * tells admit.ts the restore is done, and what report.ts keeps in the status.
 */
export function recordedRestore(xr: unknown): RestoredFromStatus | undefined {
  const value = field(xr, 'status', 'restoredFrom');
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as RestoredFromStatus) : undefined;
}
