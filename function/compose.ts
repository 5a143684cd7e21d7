/**
 * The single compose entry point: request in, response out.
 *
 *   observed XR -> tenant + flavour -> validated spec and input -> plan
 *   -> composed objects -> readiness -> XR status and condition
 *
 * It is a pure function of the request (no clock, no randomness, no I/O), so
 * the same request always yields byte-identical output, and it never throws:
 * any failure becomes a refusal (refusal.ts) with no desired resources at all,
 * so Crossplane applies nothing rather than a partial state that could delete
 * what the tenant has.
 */
import {
  Ready,
  Status,
  Target,
  type Resource,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { fromConnectionDetails, fromSecretData, rdsSecretJson, type Credentials } from './credentials.js';
import { identifyTenant, type Tenant } from './flavour.js';
import { parseInput, type FunctionInput } from './input.js';
import { EXTERNAL_NAME, makePlan, type Login, type ObservedNames, type Plan } from './plan.js';
import { isIdentifier, isReadOnlyRoleShape, readOnlySchemaRoleName } from './naming.js';
import { readiness } from './readiness.js';
import { ComposeError, CONDITION_TYPE, fail, refusal, RESPONSE_TTL } from './refusal.js';
import { parseSpec, type TenantDatabaseSpec } from './spec.js';
import { sortedMap, sortKeys } from './canonical.js';
import { rotationStamp, stampToTime } from './time.js';
import { tooDeepAt } from './validation.js';
import type { KubeObject } from './resources/managed.js';
import { database } from './resources/database.js';
import { readerSchemaRole, role } from './resources/role.js';
import { databaseGrant, readerDatabaseGrant, readerMembership, readerSchemaGrant } from './resources/grant.js';
import { readerDefaultPrivileges } from './resources/defaultprivileges.js';
import { extension } from './resources/extension.js';
import { schema } from './resources/schema.js';
import { awsSecretString, credentialsSecret } from './resources/secret.js';
import { awsSecret, awsSecretVersion } from './resources/secretsmanager.js';
import { usages } from './resources/usage.js';

const SECRET_SUFFIXES = { plain: '-secretsmanager', readOnly: '-readonly-secretsmanager' };
/** Longest claim name for which `<name>-secret` and `<name>-secretsmanager` are valid object names. */
const MAX_TENANT_NAME = 253 - SECRET_SUFFIXES.plain.length;
/** The same with the read-only role's `<name>-readonly-secretsmanager`. */
const MAX_TENANT_NAME_READ_ONLY = 253 - SECRET_SUFFIXES.readOnly.length;

type Observed = Record<string, Resource>;
type Obj = Record<string, unknown>;

/** Run the function. Never throws; see the module comment. */
export function compose(req: RunFunctionRequest): RunFunctionResponse {
  try {
    return render(req);
  } catch (error) {
    if (error instanceof ComposeError) return refusal(req, error.reason, error.message);
    return refusal(req, 'InternalError', `internal error: ${(error as Error)?.message ?? String(error)}`);
  }
}

function validated(req: RunFunctionRequest): { tenant: Tenant; spec: TenantDatabaseSpec; input: FunctionInput } {
  const xr = req.observed?.composite?.resource as Obj | undefined;
  const identified = identifyTenant(xr);
  if ('error' in identified) fail('InvalidResource', identified.error);
  const { tenant } = identified;
  if (tenant.name.length > MAX_TENANT_NAME) {
    fail('InvalidResource', `metadata.name: must be at most ${MAX_TENANT_NAME} characters, so that "<name>${SECRET_SUFFIXES.plain}" is a valid Secret name`);
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
  if (spec.readOnlyRole && tenant.name.length > MAX_TENANT_NAME_READ_ONLY) {
    fail(
      'InvalidResource',
      `metadata.name: must be at most ${MAX_TENANT_NAME_READ_ONLY} characters while spec.readOnlyRole is true, ` +
        `so that "<name>${SECRET_SUFFIXES.readOnly}" is a valid Secret name`,
    );
  }
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

export const ADOPT_DATABASE_ANNOTATION = 'tenantdb.platform.io/database-name';
export const ADOPT_ROLE_ANNOTATION = 'tenantdb.platform.io/role-name';
/** Names a tenant may never adopt: the server's own databases and the cloud provider's roles. */
const RESERVED = /^(postgres|template0|template1|rdsadmin|pg_.*|rds.*|aws.*|azure.*|cloudsql.*)$/;

/**
 * Existing database and role names a claim asks to adopt (migration from the
 * Helm chart), validated; an error when the platform has not enabled adoption,
 * since silently creating a new, empty database would point the app at it.
 */
function adoptedNames(xr: Obj | undefined, input: FunctionInput): ObservedNames {
  const annotations = ((xr?.metadata as Obj | undefined)?.annotations ?? {}) as Obj;
  const out: ObservedNames = {};
  for (const [key, annotation] of [['database', ADOPT_DATABASE_ANNOTATION], ['role', ADOPT_ROLE_ANNOTATION]] as const) {
    const value = annotations[annotation];
    if (value === undefined) continue;
    const field = `metadata.annotations["${annotation}"]`;
    if (!input.adoption.enabled) {
      fail('NotAllowed', `${field}: adopting an existing database is not enabled on this platform (function input adoption.enabled)`);
    }
    if (!isIdentifier(value)) fail('InvalidResource', `${field}: must be a PostgreSQL identifier matching ^[a-z_][a-z0-9_]{0,62}$`);
    if (RESERVED.test(value)) fail('NotAllowed', `${field}: "${value}" is reserved and cannot be adopted`);
    if (key === 'role' && isReadOnlyRoleShape(value)) {
      fail('NotAllowed', `${field}: "${value}" ends like the names of read-only roles (_ro, or _s and 8 hex characters), which are reserved`);
    }
    out[key] = value;
  }
  return out;
}

function externalName(observed: Resource | undefined): string | undefined {
  const annotations = (observed?.resource?.metadata as Obj | undefined)?.annotations as Obj | undefined;
  const value = annotations?.[EXTERNAL_NAME];
  return typeof value === 'string' ? value : undefined;
}

/** The rotation stamp in the name of an observed Role's connection secret, if any. */
function observedRotation(observed: Resource | undefined): string | undefined {
  const ref = ((observed?.resource?.spec as Obj | undefined)?.writeConnectionSecretToRef ?? {}) as Obj;
  const match = typeof ref.name === 'string' ? /-role-connection-(\d{8}t\d{6}z)$/.exec(ref.name) : null;
  return match?.[1];
}

/**
 * The rotation the Roles' connection secrets are named after: the trigger's,
 * or, with no trigger, the one already in place (removing the trigger keeps
 * the password). A trigger earlier than a rotation already done is refused:
 * its secret name would point provider-sql back at an old secret, whose
 * password no longer works.
 */
function rotation(spec: TenantDatabaseSpec, observed: Observed): string | undefined {
  const done = [observedRotation(observed.role), observedRotation(observed['readonly-role'])].filter((s): s is string => !!s).sort();
  const latest = done[done.length - 1];
  const wanted = spec.passwordRotationTrigger ? rotationStamp(spec.passwordRotationTrigger) : undefined;
  if (wanted && latest && wanted < latest) {
    fail(
      'InvalidSpec',
      `spec.passwordRotationTrigger: ${spec.passwordRotationTrigger} is earlier than the last rotation (${stampToTime(latest)}); ` +
        'to rotate again, set a later time',
    );
  }
  return wanted ?? latest;
}

/** The key under which the function asks Crossplane for a Role's connection secret. */
export function connectionRequirement(login: Pick<Login, 'key'>): string {
  return `${login.key}role-connection-secret`;
}
export const ROLE_CONNECTION_REQUIREMENT = connectionRequirement({ key: '' });

/** The Role's connection details as Crossplane passes them, when they hold a password. */
function publishedCredentials(observed: Observed, login: Login): Credentials | undefined {
  return fromConnectionDetails(observed[`${login.key}role`]?.connectionDetails);
}

/**
 * A login's credentials, from the first source that has them: the Role's
 * connection details as Crossplane passes them; the Role's connection secret
 * itself, when the function had to require it; the Secret the function
 * rendered before.
 */
function observedCredentials(req: RunFunctionRequest, observed: Observed, login: Login): Credentials | undefined {
  const required = req.requiredResources?.[connectionRequirement(login)]?.items?.[0]?.resource as Obj | undefined;
  const found =
    publishedCredentials(observed, login) ??
    fromSecretData(required?.data) ??
    fromSecretData((observed[`${login.key}secret`]?.resource as Obj | undefined)?.data);
  return found && { ...found, username: found.username || login.role };
}

/**
 * Ask Crossplane for a Role's connection secret only where the observed Role
 * came without connection details: Crossplane calls the function a second
 * time in every reconcile that has requirements, and in v2.2.4 the details
 * are there in both flavours once provider-sql has published them. A Role not
 * created yet has no secret either, so nothing is asked for then.
 */
function requirements(plan: Plan, logins: Login[], observed: Observed): RunFunctionResponse['requirements'] {
  const resources: NonNullable<RunFunctionResponse['requirements']>['resources'] = {};
  for (const login of logins) {
    if (!login.canLogin || !observed[`${login.key}role`] || publishedCredentials(observed, login)) continue;
    resources[connectionRequirement(login)] = {
      apiVersion: 'v1',
      kind: 'Secret',
      matchName: login.objects.roleConnectionSecret,
      namespace: plan.objects.roleConnectionSecretNamespace,
    };
  }
  if (Object.keys(resources).length === 0) return undefined;
  return { extraResources: {}, resources, schemas: {} };
}

type CredentialsOf = Map<Login, Credentials | undefined>;

/** Composed-resource names of the reader's objects for one schema. */
const readerKeys = {
  role: (schema: string) => `readonly-schema-role-${schema}`,
  member: (schema: string) => `readonly-member-${schema}`,
  usage: (schema: string) => `readonly-grant-schema-${schema}`,
  tables: (schema: string) => `readonly-default-tables-${schema}`,
  sequences: (schema: string) => `readonly-default-sequences-${schema}`,
};
const SCHEMA_ROLE_KEY = /^readonly-schema-role-(.+)$/;

/**
 * The reader's objects: its Role, CONNECT, and per schema a role of its own
 * (readOnlySchemaRoleName says why), membership, USAGE and default
 * privileges. A schema role once created stays composed, whether its schema
 * is still listed or the reader is retired: it holds privileges in the
 * tenant's database, so with a Delete policy it could not be dropped before
 * the database, and would be left stuck deleting.
 */
function readerObjects(plan: Plan, reader: Login, observed: Observed): Record<string, KubeObject> {
  const out: Record<string, KubeObject> = { 'readonly-role': role(plan, reader) };
  const schemaRole = (schema: string) => {
    const kept = externalName(observed[readerKeys.role(schema)]);
    return isIdentifier(kept) ? kept : readOnlySchemaRoleName(reader.role, schema);
  };
  if (plan.reader === 'active') {
    out['readonly-grant-database'] = readerDatabaseGrant(plan, reader.role);
    for (const s of plan.readerSchemas) {
      const name = schemaRole(s);
      out[readerKeys.role(s)] = readerSchemaRole(plan, s, name);
      out[readerKeys.member(s)] = readerMembership(plan, reader.role, name, s);
      out[readerKeys.usage(s)] = readerSchemaGrant(plan, name, s);
      out[readerKeys.tables(s)] = readerDefaultPrivileges(plan, name, s, 'table');
      out[readerKeys.sequences(s)] = readerDefaultPrivileges(plan, name, s, 'sequence');
    }
  }
  for (const key of Object.keys(observed).sort()) {
    const schema = SCHEMA_ROLE_KEY.exec(key)?.[1];
    if (schema && isIdentifier(schema) && !out[key]) out[key] = readerSchemaRole(plan, schema, schemaRole(schema));
  }
  return out;
}

/**
 * The Secret and AWS copy of one login, or nothing while its password is not
 * known yet. A Secret or AWS version that exists is never dropped for want of
 * a password: that is a refusal.
 */
function credentialObjects(plan: Plan, login: Login, c: Credentials | undefined, observed: Observed, withhold: boolean): Record<string, KubeObject> {
  const out: Record<string, KubeObject> = {};
  const k = login.key;
  if (c && !withhold) out[`${k}secret`] = credentialsSecret(plan, login, c);
  else if (!c && observed[`${k}secret`]) {
    fail(
      'CredentialsUnavailable',
      `observed.resources["${k}secret"]: Secret ${login.objects.secret} holds no password and the Role published none; ` +
        'refusing to drop it (set spec.passwordRotationTrigger to a later time to have a new password generated)',
    );
  }
  const region = plan.input.secretsManager.region;
  if (!plan.secretsManager || !region) return out;
  out[`${k}aws-secret`] = awsSecret(plan, login, region);
  if (c && !withhold) {
    const json = rdsSecretJson(c, plan.database);
    out[`${k}aws-secret-string`] = awsSecretString(plan, login, json);
    out[`${k}aws-secret-version`] = awsSecretVersion(plan, login, region, json);
  } else if (!c && (observed[`${k}aws-secret-version`] || observed[`${k}aws-secret-string`])) {
    fail(
      'CredentialsUnavailable',
      `observed.resources["${k}aws-secret-version"]: credentials are not available, yet the AWS secret version exists; ` +
        "refusing to drop it (check the Role's connection secret)",
    );
  }
  return out;
}

/** Every composed object for this plan, keyed by composed-resource name. */
function composedObjects(plan: Plan, credentials: CredentialsOf, observed: Observed): Record<string, KubeObject> {
  const out: Record<string, KubeObject> = {};
  out.database = database(plan);
  out.role = role(plan, plan.tenantLogin);
  out['grant-database'] = databaseGrant(plan);
  for (const ext of plan.spec.extensions) out[`extension-${ext.name}`] = extension(plan, ext);
  for (const name of plan.spec.schemas) out[`schema-${name}`] = schema(plan, name);

  const reader = plan.readerLogin;
  // On first creation, the app gets its credentials only once the reader's default privileges are in
  // place: a table the tenant created before them would stay unreadable to the reader. Credentials
  // already handed out are never withheld (that would delete them).
  const handedOut = ['secret', 'aws-secret-string', 'aws-secret-version'].some((key) => observed[key]);
  const waitForReader =
    plan.reader === 'active' &&
    !handedOut &&
    plan.readerSchemas.some((s) => [readerKeys.tables(s), readerKeys.sequences(s)].some((key) => !readiness('DefaultPrivileges', observed[key]).ready));
  Object.assign(out, credentialObjects(plan, plan.tenantLogin, credentials.get(plan.tenantLogin), observed, waitForReader));

  if (reader) {
    Object.assign(out, readerObjects(plan, reader, observed));
    if (plan.reader === 'active') Object.assign(out, credentialObjects(plan, reader, credentials.get(reader), observed, false));
  }
  if (plan.spec.deletionProtection) Object.assign(out, usages(plan));
  return out;
}

/**
 * Protected now, as the API server sees it: with protection on, every Usage
 * exists and is ready; with it off, a Usage that still exists (being deleted)
 * still refuses a delete.
 */
function isProtected(plan: Plan, objects: Record<string, KubeObject>, observed: Observed): boolean {
  const isUsage = (key: string) => key.startsWith('usage-');
  if (!plan.spec.deletionProtection) return Object.keys(observed).some(isUsage);
  return Object.entries(objects).filter(([key]) => isUsage(key)).every(([key, usage]) => readiness(usage.kind, observed[key]).ready);
}

function atProvider(observed: Resource | undefined): Obj | undefined {
  return (observed?.resource?.status as Obj | undefined)?.atProvider as Obj | undefined;
}

function statusFor(plan: Plan, objects: Record<string, KubeObject>, observed: Observed, notReady: string[]): Obj {
  const status: Obj = {
    database: plan.database,
    role: plan.role,
    deletionProtection: plan.spec.deletionProtection,
    roleDeletionPolicy: plan.spec.roleDeletionPolicy,
    dbDeletionPolicy: plan.spec.dbDeletionPolicy,
    protected: isProtected(plan, objects, observed),
    notReady,
  };
  if (objects.secret) status.secretName = plan.tenantLogin.objects.secret;
  if (plan.reader === 'active' && plan.readerLogin) {
    status.readOnlyRole = plan.readerLogin.role;
    if (objects['readonly-secret']) status.readOnlySecretName = plan.readerLogin.objects.secret;
  }
  const changed = atProvider(observed.role)?.lastPasswordChange;
  if (typeof changed === 'string') status.passwordChangedAt = changed;
  if (plan.secretsManager) {
    status.awsSecretName = plan.tenantLogin.awsSecretName;
    const arn = atProvider(observed['aws-secret'])?.arn;
    if (typeof arn === 'string') status.awsSecretArn = arn;
  }
  return status;
}

/**
 * Remove every password, in every form it could take (raw, URL-escaped,
 * base64), from a message: observed error texts are not ours to trust.
 */
function redact(text: string, credentials: CredentialsOf): string {
  let out = text;
  for (const c of credentials.values()) {
    if (!c?.password) continue;
    const forms = new Set([c.password, encodeURIComponent(c.password), Buffer.from(c.password).toString('base64')]);
    for (const form of forms) out = out.split(form).join('[redacted]');
  }
  return out;
}

/** Pass-through objects from earlier pipeline steps are sorted recursively; bound their depth first. */
const MAX_PASS_THROUGH_DEPTH = 1000;

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

function render(req: RunFunctionRequest): RunFunctionResponse {
  const { tenant, spec, input } = validated(req);
  checkPassThrough(req);
  const observed: Observed = req.observed?.resources ?? {};
  const adopted = adoptedNames(req.observed?.composite?.resource, input);
  const names: ObservedNames = {
    database: externalName(observed.database) ?? adopted.database,
    role: externalName(observed.role) ?? adopted.role,
    readerRole: externalName(observed['readonly-role']),
  };
  const plan = makePlan(tenant, spec, input, names, {
    readerComposed: observed['readonly-role'] !== undefined,
    rotation: rotation(spec, observed),
  });
  const logins = plan.readerLogin ? [plan.tenantLogin, plan.readerLogin] : [plan.tenantLogin];
  const credentials: CredentialsOf = new Map(
    logins.filter((l) => l.canLogin).map((l) => [l, observedCredentials(req, observed, l)]),
  );
  const objects = composedObjects(plan, credentials, observed);

  const desired: Record<string, Resource> = {};
  for (const [key, r] of Object.entries(req.desired?.resources ?? {})) desired[key] = { ...r, resource: sortKeys(r.resource) };
  const notReady: string[] = [];
  for (const [key, object] of Object.entries(objects)) {
    const r = readiness(object.kind, observed[key]);
    if (!r.ready) notReady.push(redact(`${object.kind} ${String(object.metadata.name)} (${r.why})`, credentials));
    desired[key] = { resource: object, connectionDetails: {}, ready: r.ready ? Ready.READY_TRUE : Ready.READY_FALSE };
  }
  for (const login of logins) {
    if (!login.canLogin || objects[`${login.key}secret`]) continue;
    const why = credentials.get(login)
      ? "waiting for the read-only role's default privileges"
      : `waiting for the ${login.key === '' ? 'Role' : 'read-only Role'}'s generated password`;
    notReady.push(`Secret ${login.objects.secret} (${why})`);
  }

  const priorComposite = sortKeys(req.desired?.composite?.resource ?? {});
  const composite: Resource = {
    resource: {
      ...priorComposite,
      apiVersion: tenant.xrApiVersion,
      kind: tenant.xrKind,
      status: { ...(priorComposite.status ?? {}), ...statusFor(plan, objects, observed, notReady) },
    },
    connectionDetails: {},
    ready: Ready.READY_UNSPECIFIED,
  };
  const allReady = notReady.length === 0;
  const ready =
    plan.reader === 'active' && plan.readerLogin
      ? `Database ${plan.database}, role ${plan.role} and read-only role ${plan.readerLogin.role} are ready`
      : `Database ${plan.database} and role ${plan.role} are ready`;
  return {
    meta: { tag: req.meta?.tag ?? '', ttl: RESPONSE_TTL },
    desired: { composite, resources: sortedMap(desired) },
    results: [],
    context: sortKeys(req.context),
    requirements: requirements(plan, logins, observed),
    conditions: [
      {
        type: CONDITION_TYPE,
        status: allReady ? Status.STATUS_CONDITION_TRUE : Status.STATUS_CONDITION_FALSE,
        reason: allReady ? 'Available' : 'Waiting',
        message: allReady ? ready : `Waiting for: ${notReady.join('; ')}`,
        target: Target.TARGET_COMPOSITE_AND_CLAIM,
      },
    ],
    output: undefined,
  } as RunFunctionResponse;
}
