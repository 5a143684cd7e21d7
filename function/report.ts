/**
 * Report: the response Crossplane gets — the desired objects with their
 * readiness, the XR's status, the Provisioned condition and the requirements —
 * from the plan, what was rendered for it and the observed facts.
 *
 * Every message that quotes an observed object (its conditions are written by
 * other controllers) is redacted: no password, in any form, reaches status.
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
import { backupStatus, restoreOutcome, type RestoreOutcome } from './backup/status.js';
import { sortedMap, sortKeys } from './canonical.js';
import type { Facts } from './observe.js';
import { loginsOf, type Login, type Plan } from './plan.js';
import { readiness } from './readiness.js';
import { CONDITION_TYPE } from './refusal.js';
import type { Rendered } from './render.js';
import { responseTtl } from './ttl.js';

type Obj = Record<string, unknown>;

/** `nowMs`: the caller's clock, for the TTL only (ttl.ts); nothing in the status depends on it. */
export function report(req: RunFunctionRequest, plan: Plan, facts: Facts, rendered: Rendered[], nowMs: number): RunFunctionResponse {
  // Every login whose password could show up in an observed message, the alternating ones too.
  const logins = [...loginsOf(plan.tenantLogin, plan.reader), ...(plan.alternation?.slots ?? [])];
  const desired: Record<string, Resource> = {};
  for (const [key, r] of Object.entries(req.desired?.resources ?? {})) desired[key] = { ...r, resource: sortKeys(r.resource) };
  const notReady: string[] = [];
  for (const { item, object } of rendered) {
    const r = readiness(item.slot.kind, facts.resources.get(item.slot.key));
    if (!r.ready) notReady.push(redact(`${object.kind} ${String(object.metadata.name)} (${r.why})`, logins));
    desired[item.slot.key] = { resource: object, connectionDetails: {}, ready: r.ready ? Ready.READY_TRUE : Ready.READY_FALSE };
  }
  notReady.push(...plan.waiting);

  const { tenant } = plan;
  // What the restore Job says, read once for the status and for a failure to report.
  const restore = restoreOutcome(plan.backup, facts.backup.restoreJob);
  const priorComposite = sortKeys(req.desired?.composite?.resource ?? {});
  const composite: Resource = {
    resource: {
      ...priorComposite,
      apiVersion: tenant.xrApiVersion,
      kind: tenant.xrKind,
      status: { ...((priorComposite.status as Obj | undefined) ?? {}), ...status(plan, facts, notReady, restore) },
    },
    connectionDetails: {},
    ready: Ready.READY_UNSPECIFIED,
  };
  return {
    meta: { tag: req.meta?.tag ?? '', ttl: responseTtl(plan, facts, notReady, nowMs) },
    desired: { composite, resources: sortedMap(desired) },
    results: restoreFailure(restore),
    context: sortKeys(req.context),
    requirements: requirements(plan),
    conditions: [provisioned(plan, notReady)],
    output: undefined,
  };
}

/**
 * A failed restore, as a Warning that reaches the claim (an event on both):
 * not a refusal, since everything else stays composed, and the Job is kept so
 * its logs can be read.
 */
function restoreFailure(outcome: RestoreOutcome | undefined): RunFunctionResponse['results'] {
  if (outcome?.state !== 'Failed') return [];
  return [{ severity: Severity.SEVERITY_WARNING, reason: outcome.reason, message: outcome.message, target: Target.TARGET_COMPOSITE_AND_CLAIM }];
}

/** The XR's status: non-secret facts an app team and a platform engineer look up. */
function status(plan: Plan, facts: Facts, notReady: string[], restore: RestoreOutcome | undefined): Obj {
  const handedOut = (login: Login) => plan.composed.some((c) => c.row === 'secret' && c.login === login);
  const out: Obj = {
    database: plan.database,
    role: plan.role,
    deletionProtection: plan.spec.deletionProtection,
    roleDeletionPolicy: plan.spec.roleDeletionPolicy,
    dbDeletionPolicy: plan.spec.dbDeletionPolicy,
    protected: plan.protected,
    notReady,
  };
  if (handedOut(plan.tenantLogin)) out.secretName = plan.tenantLogin.secretName;
  if (plan.reader.state === 'active') {
    out.readOnlyRole = plan.reader.login.role;
    if (handedOut(plan.reader.login)) out.readOnlySecretName = plan.reader.login.secretName;
  }
  if (facts.lastPasswordChange !== undefined) out.passwordChangedAt = facts.lastPasswordChange;
  if (plan.passwordRotation) out.passwordRotation = { ...plan.passwordRotation };
  if (plan.backup) out.backup = backupStatus(plan.backup, facts.backup.cronJob);
  // Once recorded, a restore stays in the status: it is what tells the plan it is done (admit.ts).
  if (restore?.state === 'Succeeded') out.restoredFrom = restore.restoredFrom;
  else if (facts.restoredFrom) out.restoredFrom = facts.restoredFrom;
  if (plan.secretsManager) {
    out.awsSecretName = plan.tenantLogin.awsSecretName;
    if (facts.awsSecretArn !== undefined) out.awsSecretArn = facts.awsSecretArn;
  }
  return out;
}

function provisioned(plan: Plan, notReady: string[]): RunFunctionResponse['conditions'][number] {
  const allReady = notReady.length === 0;
  const ready =
    plan.reader.state === 'active'
      ? `Database ${plan.database}, role ${plan.role} and read-only role ${plan.reader.login.role} are ready`
      : `Database ${plan.database} and role ${plan.role} are ready`;
  return {
    type: CONDITION_TYPE,
    status: allReady ? Status.STATUS_CONDITION_TRUE : Status.STATUS_CONDITION_FALSE,
    reason: allReady ? 'Available' : 'Waiting',
    message: allReady ? ready : `Waiting for: ${notReady.join('; ')}`,
    target: Target.TARGET_COMPOSITE_AND_CLAIM,
  };
}

function requirements(plan: Plan): RunFunctionResponse['requirements'] {
  if (plan.requirements.length === 0) return undefined;
  const resources: NonNullable<RunFunctionResponse['requirements']>['resources'] = {};
  for (const r of plan.requirements) resources[r.key] = { apiVersion: 'v1', kind: 'Secret', matchName: r.name, namespace: r.namespace };
  return { extraResources: {}, resources, schemas: {} };
}

/**
 * Remove every password, in every form it could take (raw, URL-escaped,
 * base64), from a message: observed error texts are not ours to trust.
 */
function redact(text: string, logins: Login[]): string {
  let out = text;
  for (const { credentials: c, password: planned } of logins) {
    for (const password of [c?.password, planned.password]) {
      if (!password) continue;
      const forms = new Set([password, encodeURIComponent(password), Buffer.from(password).toString('base64')]);
      for (const form of forms) out = out.split(form).join('[redacted]');
    }
  }
  return out;
}
