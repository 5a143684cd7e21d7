/**
 * Admit: may this request be served at all? The rules that hold before
 * anything is observed or planned — who the tenant is, the spec and the
 * function input against their schemas, and the rules across fields and
 * against the platform (extensions allowed, duplicates, name lengths, the AWS
 * copy on or off, which names may be adopted) — each answered with a refusal
 * that names the field, or the admitted request.
 *
 * The API server already refuses what the XRD's schema can express (enums,
 * patterns); what is checked here is what a schema cannot say, and what a
 * request that bypassed the API server could carry.
 */
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import type { BackupPlan } from './backup/plan.js';
import { resolveBackup } from './backup/settings.js';
import { identifyTenant, type Tenant } from './flavour.js';
import { recordedRestore } from './observe.js';
import { parseInput, type FunctionInput } from './input.js';
import { ADOPT_DATABASE_ANNOTATION, ADOPT_ROLE_ANNOTATION, isIdentifier, isReadOnlyRoleShape, isReservedName, MAX_LABEL_VALUE } from './naming.js';
import { ComposeError, fail, type Refusal } from './refusal.js';
import { parseSpec, type TenantDatabaseSpec } from './spec.js';
import { tooDeepAt } from './validation.js';

/** A request that may be served: the tenant, its defaulted spec, the platform's settings. */
export interface Admitted {
  tenant: Tenant;
  spec: TenantDatabaseSpec;
  input: FunctionInput;
  /** Existing database and role names the claim asks to adopt (migration from the Helm chart). */
  adopted: AdoptedNames;
  /** The tenant's backups and restore (backup/settings.ts); undefined where the platform has backups off. */
  backup?: BackupPlan;
  /** The XR's metadata.uid: what tells this TenantDatabase from an earlier one of the same name (aws-secret-name.ts). */
  uid?: string;
}

export interface AdoptedNames {
  database?: string;
  role?: string;
}

/** Pass-through objects from earlier pipeline steps are sorted recursively; bound their depth first. */
const MAX_PASS_THROUGH_DEPTH = 1000;

type Obj = Record<string, unknown>;

/** The admitted request, or the refusal that names what is wrong. */
export function admit(req: RunFunctionRequest): { admitted: Admitted } | { refused: Refusal } {
  try {
    const { tenant, spec, input } = validated(req);
    checkPassThrough(req);
    const xr = req.observed?.composite?.resource;
    const adopted = adoptedNames(xr, input);
    const backup = backupPlan(tenant, spec, input, xr);
    return { admitted: { tenant, spec, input, adopted, ...(backup ? { backup } : {}), ...uidOf(xr) } };
  } catch (error) {
    if (error instanceof ComposeError) return { refused: { reason: error.reason, message: error.message } };
    throw error;
  }
}

function validated(req: RunFunctionRequest): { tenant: Tenant; spec: TenantDatabaseSpec; input: FunctionInput } {
  const xr = req.observed?.composite?.resource;
  const identified = identifyTenant(xr);
  if ('error' in identified) fail('InvalidResource', identified.error);
  const { tenant } = identified;
  if (tenant.name.length > MAX_LABEL_VALUE) {
    const label = tenant.flavour.name === 'claim' ? 'crossplane.io/claim-name' : 'crossplane.io/composite';
    fail(
      'InvalidResource',
      `metadata.name: must be at most ${MAX_LABEL_VALUE} characters (this one has ${tenant.name.length}): ` +
        `Crossplane writes it into the label ${label}, and Kubernetes caps label values at ${MAX_LABEL_VALUE}`,
    );
  }
  const parsedInput = parseInput(req.input);
  if ('error' in parsedInput) fail('InvalidFunctionInput', `${parsedInput.error} (the Composition's function input, set by the platform team)`);
  const parsedSpec = parseSpec(xr?.spec);
  if ('error' in parsedSpec) fail('InvalidSpec', parsedSpec.error);
  const { spec } = parsedSpec;
  const { input } = parsedInput;

  const allowed = new Set(input.allowedExtensions);
  const seen = new Set<string>();
  spec.extensions.forEach((ext, i) => {
    if (!allowed.has(ext.name)) {
      const list = input.allowedExtensions.length ? input.allowedExtensions.join(', ') : 'none';
      fail(
        'NotAllowed',
        `spec.extensions[${i}].name: extension "${ext.name}" is not allowed on this platform (allowed: ${list}); ` +
          'remove it, or ask the platform team to allow it',
      );
    }
    if (seen.has(ext.name)) fail('InvalidSpec', `spec.extensions[${i}].name: extension "${ext.name}" is listed twice`);
    seen.add(ext.name);
  });
  if (new Set(spec.schemas).size !== spec.schemas.length) fail('InvalidSpec', 'spec.schemas: a schema is listed twice');
  if (spec.secretsManager.enabled === true && !input.secretsManager.enabled) {
    fail(
      'NotAllowed',
      'spec.secretsManager.enabled: this platform keeps no copies in AWS Secrets Manager (function input ' +
        'secretsManager.enabled is false); remove the field or set it to false',
    );
  }
  if ((spec.secretsManager.enabled ?? input.secretsManager.enabled) && !input.secretsManager.region) {
    fail(
      'InvalidFunctionInput',
      'input.secretsManager.region: is required while the AWS Secrets Manager copy is on (the Composition\'s function ' +
        'input, set by the platform team; or set spec.secretsManager.enabled: false)',
    );
  }
  return { tenant, spec, input };
}

/**
 * Existing database and role names a claim asks to adopt, validated; a
 * refusal when the platform has not enabled adoption, since silently creating
 * a new, empty database would point the app at it.
 */
function adoptedNames(xr: Obj | undefined, input: FunctionInput): AdoptedNames {
  const annotations = ((xr?.metadata as Obj | undefined)?.annotations ?? {}) as Obj;
  const out: AdoptedNames = {};
  for (const [key, annotation] of [['database', ADOPT_DATABASE_ANNOTATION], ['role', ADOPT_ROLE_ANNOTATION]] as const) {
    const value = annotations[annotation];
    if (value === undefined) continue;
    const field = `metadata.annotations["${annotation}"]`;
    if (!input.adoption.enabled) {
      fail('NotAllowed', `${field}: adopting an existing database is not enabled on this platform (function input adoption.enabled)`);
    }
    if (!isIdentifier(value)) fail('InvalidResource', `${field}: must be a PostgreSQL identifier matching ^[a-z_][a-z0-9_]{0,62}$`);
    if (isReservedName(value)) fail('NotAllowed', `${field}: "${value}" is reserved and cannot be adopted`);
    if (key === 'role' && isReadOnlyRoleShape(value)) {
      fail('NotAllowed', `${field}: "${value}" ends like the names of read-only roles (_ro, or _s and 8 hex characters) or of the login roles of alternating rotation (_la, _lb), which are reserved`);
    }
    out[key] = value;
  }
  return out;
}

/**
 * The tenant's backup plan, or a refusal naming the field (backups asked for
 * on a platform without them, a restore from another namespace, a malformed
 * schedule). The restore recorded in the XR's status (status.restoredFrom)
 * is done: it is never run again.
 */
function backupPlan(tenant: Tenant, spec: TenantDatabaseSpec, input: FunctionInput, xr: Obj | undefined): BackupPlan | undefined {
  const restoredFrom = recordedRestore(xr);
  const resolved = resolveBackup(
    { namespace: tenant.namespace, name: tenant.name },
    { ...(spec.backup ? { backup: spec.backup } : {}), ...(spec.restoreFrom ? { restoreFrom: spec.restoreFrom } : {}) },
    input.backup,
    {
      sslMode: input.sql.sslMode,
      ...(restoredFrom ? { observedRestoredFrom: restoredFrom } : {}),
      ...createdAt(xr),
    },
  );
  if ('refusal' in resolved) fail(resolved.refusal.reason, resolved.refusal.message);
  return resolved.plan;
}

function uidOf(xr: Obj | undefined): { uid?: string } {
  const uid = (xr?.metadata as Obj | undefined)?.uid;
  return typeof uid === 'string' && uid !== '' ? { uid } : {};
}

/** The XR's creationTimestamp, which tells this TenantDatabase's backups from an earlier one's of the same name. */
function createdAt(xr: Obj | undefined): { createdAt?: string } {
  const created = (xr?.metadata as Obj | undefined)?.creationTimestamp;
  return typeof created === 'string' ? { createdAt: created } : {};
}

/** What earlier pipeline steps passed on is returned as it came, sorted: refuse what is too deep to sort safely. */
function checkPassThrough(req: RunFunctionRequest): void {
  const passThrough: [string, unknown][] = [
    ...Object.entries(req.desired?.resources ?? {}).map(([key, r]): [string, unknown] => [`desired.resources["${key.slice(0, 64)}"]`, r?.resource]),
    ['desired.composite', req.desired?.composite?.resource],
    ['context', req.context],
  ];
  for (const [where, value] of passThrough) {
    const deep = tooDeepAt(value, MAX_PASS_THROUGH_DEPTH);
    if (deep !== undefined) fail('InvalidRequest', `${where}${deep.slice(0, 200)}: nested more than ${MAX_PASS_THROUGH_DEPTH} levels deep`);
  }
}
