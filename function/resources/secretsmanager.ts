/**
 * The AWS Secrets Manager copy of a login's credentials: a Secret (with the
 * platform's KMS key, tags and recovery window) and a SecretVersion whose
 * value is read from the `<name>-secretsmanager` Kubernetes Secret.
 *
 * The provider does not watch that Kubernetes Secret: after a rotation it
 * would copy the new password only at its next poll (10 minutes by default).
 * A checksum of the value, as an annotation on the SecretVersion, changes with
 * the password and makes the provider reconcile at once. A SHA-256 prefix of a
 * JSON holding a generated password reveals nothing of it.
 */
import { createHash } from 'node:crypto';
import type { Composed, Plan } from '../plan.js';
import { managed, type KubeObject } from './managed.js';
import { sortedMap } from '../canonical.js';
import { AWS_SECRET_STRING_KEY } from './secret.js';

export const SECRET_STRING_CHECKSUM = 'tenantdb.platform.io/secret-string-checksum';

function awsManaged(plan: Plan, kind: string, name: string, forProvider: Record<string, unknown>, annotations?: Record<string, string>): KubeObject {
  return managed(plan, {
    group: plan.tenant.flavour.awsGroup,
    version: 'v1beta1',
    kind,
    name,
    annotations,
    forProvider,
    policy: plan.policies.awsSecret,
    providerConfigRef: plan.input.secretsManager.providerConfigRef,
  });
}

export function awsSecret(plan: Plan, { slot, login, region }: Composed & { row: 'awsSecret' }): KubeObject {
  const sm = plan.input.secretsManager;
  const what = login.owner === 'tenant' ? 'PostgreSQL credentials' : 'Read-only PostgreSQL credentials';
  const forProvider: Record<string, unknown> = {
    region,
    name: login.awsSecretName,
    description: `${what} of ${plan.tenant.namespace}/${plan.tenant.name} (database ${plan.database})`,
    recoveryWindowInDays: sm.recoveryWindowInDays,
    tags: sortedMap({
      ...sm.tags,
      'tenantdb.platform.io/namespace': plan.tenant.namespace,
      'tenantdb.platform.io/database': plan.database,
    }),
  };
  if (sm.kmsKeyId) forProvider.kmsKeyId = sm.kmsKeyId;
  return awsManaged(plan, 'Secret', slot.name, forProvider);
}

/** `secretString` is the JSON the `<name>-secretsmanager` Secret holds. */
export function awsSecretVersion(plan: Plan, { slot, login, region, json: secretString }: Composed & { row: 'awsSecretVersion' }): KubeObject {
  const { flavour, namespace } = plan.tenant;
  const checksum = createHash('sha256').update(secretString).digest('hex').slice(0, 16);
  return awsManaged(
    plan,
    'SecretVersion',
    slot.name,
    {
      region,
      secretIdRef: { name: login.awsSecret },
      secretStringSecretRef: flavour.secretKeyRef(login.awsSecretString, AWS_SECRET_STRING_KEY, namespace),
    },
    { [SECRET_STRING_CHECKSUM]: checksum },
  );
}
