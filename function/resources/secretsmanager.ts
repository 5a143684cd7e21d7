/**
 * The AWS Secrets Manager copy of the credentials: a Secret (with the
 * platform's KMS key, tags and recovery window) and a SecretVersion whose
 * value is read from the `<name>-secretsmanager` Kubernetes Secret.
 */
import type { Plan } from '../plan.js';
import { managed, type KubeObject } from './managed.js';
import { sortedMap } from '../canonical.js';
import { AWS_SECRET_STRING_KEY } from './secret.js';

function awsManaged(plan: Plan, kind: string, name: string, forProvider: Record<string, unknown>): KubeObject {
  return managed(plan, {
    group: plan.tenant.flavour.awsGroup,
    version: 'v1beta1',
    kind,
    name,
    forProvider,
    policy: plan.policies.awsSecret,
    providerConfigRef: plan.input.secretsManager.providerConfigRef,
  });
}

export function awsSecret(plan: Plan, region: string): KubeObject {
  const sm = plan.input.secretsManager;
  const forProvider: Record<string, unknown> = {
    region,
    name: plan.awsSecretName,
    description: `PostgreSQL credentials of ${plan.tenant.namespace}/${plan.tenant.name} (database ${plan.database})`,
    recoveryWindowInDays: sm.recoveryWindowInDays,
    tags: sortedMap({
      ...sm.tags,
      'tenantdb.platform.io/namespace': plan.tenant.namespace,
      'tenantdb.platform.io/database': plan.database,
    }),
  };
  if (sm.kmsKeyId) forProvider.kmsKeyId = sm.kmsKeyId;
  return awsManaged(plan, 'Secret', plan.objects.awsSecret, forProvider);
}

export function awsSecretVersion(plan: Plan, region: string): KubeObject {
  const { flavour, namespace } = plan.tenant;
  return awsManaged(plan, 'SecretVersion', plan.objects.awsSecretVersion, {
    region,
    secretIdRef: { name: plan.objects.awsSecret },
    secretStringSecretRef: flavour.secretKeyRef(plan.objects.awsSecretString, AWS_SECRET_STRING_KEY, namespace),
  });
}
