/**
 * The single compose entry point: request in, response out.
 *
 *   observed XR -> tenant + flavour -> validated spec and input -> plan
 *   -> composed objects -> readiness -> XR status and condition
 *
 * It is a pure function of the request (no clock, no randomness, no I/O), so
 * the same request always yields byte-identical output, and it never throws:
 * any failure becomes a Fatal result with no desired resources at all, so
 * Crossplane applies nothing rather than a partial state that could delete
 * what the tenant has.
 */
import {
  Ready,
  Severity,
  Status,
  Target,
  type Resource,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { fromConnectionDetails, fromSecretData, type Credentials } from './credentials.js';
import { identifyTenant, type Tenant } from './flavour.js';
import { parseInput, type FunctionInput } from './input.js';
import { EXTERNAL_NAME, makePlan, type ObservedNames, type Plan } from './plan.js';
import { isIdentifier } from './naming.js';
import { readiness } from './readiness.js';
import { parseSpec, type TenantDatabaseSpec } from './spec.js';
import { sortedMap, sortKeys } from './canonical.js';
import { tooDeepAt } from './validation.js';
import type { KubeObject } from './resources/managed.js';
import { database } from './resources/database.js';
import { role } from './resources/role.js';
import { databaseGrant } from './resources/grant.js';
import { extension } from './resources/extension.js';
import { schema } from './resources/schema.js';
import { awsSecretString, credentialsSecret } from './resources/secret.js';
import { awsSecret, awsSecretVersion } from './resources/secretsmanager.js';
import { usages } from './resources/usage.js';

/** The condition this function owns on the XR (Crossplane owns Ready and Synced). */
export const CONDITION_TYPE = 'Provisioned';
const TTL = { seconds: 60, nanos: 0 };
/** Longest claim name for which `<name>-secret` and `<name>-secretsmanager` are valid object names. */
const MAX_TENANT_NAME = 253 - '-secretsmanager'.length;

type Observed = Record<string, Resource>;

class ComposeError extends Error {}

function fail(message: string): never {
  throw new ComposeError(message);
}

/** Run the function. Never throws; see the module comment. */
export function compose(req: RunFunctionRequest): RunFunctionResponse {
  try {
    return render(req);
  } catch (error) {
    const message = error instanceof ComposeError ? error.message : `internal error: ${(error as Error)?.message ?? String(error)}`;
    return fatalResponse(req, message);
  }
}

function fatalResponse(req: RunFunctionRequest, message: string): RunFunctionResponse {
  return {
    meta: { tag: typeof req?.meta?.tag === 'string' ? req.meta.tag : '', ttl: TTL },
    desired: { composite: undefined, resources: {} },
    results: [{ severity: Severity.SEVERITY_FATAL, message, reason: 'InvalidTenantDatabase', target: Target.TARGET_COMPOSITE }],
    context: undefined,
    requirements: undefined,
    conditions: [],
    output: undefined,
  } as RunFunctionResponse;
}

function validated(req: RunFunctionRequest): { tenant: Tenant; spec: TenantDatabaseSpec; input: FunctionInput } {
  const xr = req.observed?.composite?.resource as Record<string, unknown> | undefined;
  const identified = identifyTenant(xr);
  if ('error' in identified) fail(identified.error);
  const { tenant } = identified;
  if (tenant.name.length > MAX_TENANT_NAME) {
    fail(`metadata.name: must be at most ${MAX_TENANT_NAME} characters, so that "<name>-secretsmanager" is a valid Secret name`);
  }
  const parsedSpec = parseSpec(xr?.spec);
  if ('error' in parsedSpec) fail(parsedSpec.error);
  const parsedInput = parseInput(req.input);
  if ('error' in parsedInput) fail(parsedInput.error);
  const { spec } = parsedSpec;
  const { input } = parsedInput;

  const allowed = new Set(input.allowedExtensions);
  const seen = new Set<string>();
  spec.extensions.forEach((ext, i) => {
    if (!allowed.has(ext.name)) {
      const list = input.allowedExtensions.length ? input.allowedExtensions.join(', ') : 'none';
      fail(`spec.extensions[${i}].name: extension "${ext.name}" is not allowed on this platform (allowed: ${list})`);
    }
    if (seen.has(ext.name)) fail(`spec.extensions[${i}].name: extension "${ext.name}" is listed twice`);
    seen.add(ext.name);
  });
  if (new Set(spec.schemas).size !== spec.schemas.length) fail('spec.schemas: a schema is listed twice');
  if (spec.secretsManager.enabled && !input.secretsManager.region) {
    fail('input.secretsManager.region: is required while spec.secretsManager.enabled is true');
  }
  return { tenant, spec, input };
}

export const ADOPT_DATABASE_ANNOTATION = 'tenantdb.platform.io/database-name';
export const ADOPT_ROLE_ANNOTATION = 'tenantdb.platform.io/role-name';
/** Names a tenant may never adopt: the server's own databases and the cloud provider's roles. */
const RESERVED = /^(postgres|template0|template1|rdsadmin|pg_.*|rds.*|aws.*|azure.*|cloudsql.*)$/;

/**
 * Existing database and role names a claim asks to adopt (migration from the
 * Helm chart), validated; an error when the platform has not enabled adoption,
 * since silently creating a new, empty database would point the app at it.
 */
function adoptedNames(xr: Record<string, unknown> | undefined, input: FunctionInput): ObservedNames {
  const annotations = ((xr?.metadata as Record<string, unknown> | undefined)?.annotations ?? {}) as Record<string, unknown>;
  const out: ObservedNames = {};
  for (const [key, annotation] of [['database', ADOPT_DATABASE_ANNOTATION], ['role', ADOPT_ROLE_ANNOTATION]] as const) {
    const value = annotations[annotation];
    if (value === undefined) continue;
    const field = `metadata.annotations["${annotation}"]`;
    if (!input.adoption.enabled) {
      fail(`${field}: adopting an existing database is not enabled on this platform (function input adoption.enabled)`);
    }
    if (!isIdentifier(value)) fail(`${field}: must be a PostgreSQL identifier matching ^[a-z_][a-z0-9_]{0,62}$`);
    if (RESERVED.test(value)) fail(`${field}: "${value}" is reserved and cannot be adopted`);
    out[key] = value;
  }
  return out;
}

function externalName(observed: Resource | undefined): string | undefined {
  const meta = observed?.resource?.metadata as Record<string, unknown> | undefined;
  const annotations = meta?.annotations as Record<string, unknown> | undefined;
  const value = annotations?.[EXTERNAL_NAME];
  return typeof value === 'string' ? value : undefined;
}

/** The key under which the function asks Crossplane for the Role's connection secret. */
export const ROLE_CONNECTION_REQUIREMENT = 'role-connection-secret';

/**
 * Credentials, from the first source that has them: the Role's connection
 * details as Crossplane passes them; the Role's connection secret itself,
 * which the function requires from Crossplane (so it does not depend on
 * connection-detail propagation, which modern XRs do not get); the Secret the
 * function rendered before.
 */
function observedCredentials(req: RunFunctionRequest, observed: Observed, roleName: string): Credentials | undefined {
  const required = req.requiredResources?.[ROLE_CONNECTION_REQUIREMENT]?.items?.[0]?.resource as Record<string, unknown> | undefined;
  const found =
    fromConnectionDetails(observed.role?.connectionDetails) ??
    fromSecretData(required?.data) ??
    fromSecretData((observed.secret?.resource as Record<string, unknown> | undefined)?.data);
  return found && { ...found, username: found.username || roleName };
}

function requirements(plan: Plan): RunFunctionResponse['requirements'] {
  return {
    extraResources: {},
    resources: {
      [ROLE_CONNECTION_REQUIREMENT]: {
        apiVersion: 'v1',
        kind: 'Secret',
        matchName: plan.objects.roleConnectionSecret,
        namespace: plan.objects.roleConnectionSecretNamespace,
      },
    },
    schemas: {},
  };
}

/** Every composed object for this plan, keyed by composed-resource name, in a fixed order. */
function composedObjects(plan: Plan, observed: Observed): Record<string, KubeObject> {
  const out: Record<string, KubeObject> = {};
  const db = database(plan);
  const rl = role(plan);
  out.database = db;
  out.role = rl;
  out['grant-database'] = databaseGrant(plan);
  for (const ext of plan.spec.extensions) out[`extension-${ext.name}`] = extension(plan, ext);
  for (const name of plan.spec.schemas) out[`schema-${name}`] = schema(plan, name);

  const c = plan.credentials;
  if (c) out.secret = credentialsSecret(plan, c);
  else if (observed.secret) {
    fail(
      `observed.resources["secret"]: Secret ${plan.objects.secret} holds no password and the Role published none; ` +
        'refusing to drop it (set spec.passwordRotationTrigger to have a new password generated)',
    );
  }

  const region = plan.input.secretsManager.region;
  if (plan.spec.secretsManager.enabled && region) {
    out['aws-secret'] = awsSecret(plan, region);
    if (c) {
      out['aws-secret-string'] = awsSecretString(plan, c);
      out['aws-secret-version'] = awsSecretVersion(plan, region);
    } else if (observed['aws-secret-version'] || observed['aws-secret-string']) {
      fail(
        'observed.resources["aws-secret-version"]: credentials are not available, yet the AWS secret version exists; ' +
          "refusing to drop it (check the Role's connection secret)",
      );
    }
  }
  if (plan.spec.deletionProtection) Object.assign(out, usages(plan, db, rl));
  return out;
}

function statusFor(plan: Plan, observed: Observed, notReady: string[]): Record<string, unknown> {
  const status: Record<string, unknown> = {
    database: plan.database,
    role: plan.role,
    deletionProtection: plan.spec.deletionProtection,
    roleDeletionPolicy: plan.spec.roleDeletionPolicy,
    dbDeletionPolicy: plan.spec.dbDeletionPolicy,
    notReady,
  };
  if (plan.credentials) status.secretName = plan.objects.secret;
  if (plan.spec.secretsManager.enabled) {
    status.awsSecretName = plan.awsSecretName;
    const atProvider = (observed['aws-secret']?.resource?.status as Record<string, unknown> | undefined)?.atProvider as
      | Record<string, unknown>
      | undefined;
    if (typeof atProvider?.arn === 'string') status.awsSecretArn = atProvider.arn;
  }
  return status;
}

/**
 * Remove the password, in every form it could take (raw, URL-escaped,
 * base64), from a message: observed error texts are not ours to trust.
 */
function redact(text: string, credentials: Credentials | undefined): string {
  const password = credentials?.password;
  if (!password) return text;
  const forms = new Set([password, encodeURIComponent(password), Buffer.from(password).toString('base64')]);
  let out = text;
  for (const form of forms) out = out.split(form).join('[redacted]');
  return out;
}

/** Pass-through objects from earlier pipeline steps are sorted recursively; bound their depth first. */
const MAX_PASS_THROUGH_DEPTH = 1000;

function render(req: RunFunctionRequest): RunFunctionResponse {
  const { tenant, spec, input } = validated(req);
  const passThrough: [string, unknown][] = [
    ...Object.entries(req.desired?.resources ?? {}).map(([key, r]): [string, unknown] => [`desired.resources["${key.slice(0, 64)}"]`, r?.resource]),
    ['desired.composite', req.desired?.composite?.resource],
    ['context', req.context],
  ];
  for (const [where, value] of passThrough) {
    const deep = tooDeepAt(value, MAX_PASS_THROUGH_DEPTH);
    if (deep !== undefined) fail(`${where}${deep.slice(0, 200)}: nested more than ${MAX_PASS_THROUGH_DEPTH} levels deep`);
  }
  const observed: Observed = req.observed?.resources ?? {};
  const adopted = adoptedNames(req.observed?.composite?.resource, input);
  const names = {
    database: externalName(observed.database) ?? adopted.database,
    role: externalName(observed.role) ?? adopted.role,
  };
  const named = makePlan(tenant, spec, input, names);
  const plan: Plan = { ...named, credentials: observedCredentials(req, observed, named.role) };
  const objects = composedObjects(plan, observed);

  const desired: Record<string, Resource> = {};
  for (const [key, r] of Object.entries(req.desired?.resources ?? {})) desired[key] = { ...r, resource: sortKeys(r.resource) };
  const notReady: string[] = [];
  for (const [key, object] of Object.entries(objects)) {
    const r = readiness(object.kind, observed[key]);
    if (!r.ready) notReady.push(redact(`${object.kind} ${String(object.metadata.name)} (${r.why})`, plan.credentials));
    desired[key] = { resource: object, connectionDetails: {}, ready: r.ready ? Ready.READY_TRUE : Ready.READY_FALSE };
  }
  if (!plan.credentials) notReady.push(`Secret ${plan.objects.secret} (waiting for the Role's generated password)`);

  const priorComposite = sortKeys(req.desired?.composite?.resource ?? {});
  const composite: Resource = {
    resource: {
      ...priorComposite,
      apiVersion: tenant.xrApiVersion,
      kind: tenant.xrKind,
      status: { ...(priorComposite.status ?? {}), ...statusFor(plan, observed, notReady) },
    },
    connectionDetails: {},
    ready: Ready.READY_UNSPECIFIED,
  };
  const allReady = notReady.length === 0;
  return {
    meta: { tag: req.meta?.tag ?? '', ttl: TTL },
    desired: { composite, resources: sortedMap(desired) },
    results: [],
    context: sortKeys(req.context),
    requirements: requirements(plan),
    conditions: [
      {
        type: CONDITION_TYPE,
        status: allReady ? Status.STATUS_CONDITION_TRUE : Status.STATUS_CONDITION_FALSE,
        reason: allReady ? 'Available' : 'Waiting',
        message: allReady
          ? `Database ${plan.database} and role ${plan.role} are ready`
          : `Waiting for: ${notReady.join('; ')}`,
        target: Target.TARGET_COMPOSITE_AND_CLAIM,
      },
    ],
    output: undefined,
  } as RunFunctionResponse;
}
