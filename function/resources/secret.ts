/**
 * The Kubernetes Secrets the function composes itself, in the tenant's
 * namespace, in both flavours, for each login (the tenant's role, and the
 * read-only role as `<name>-readonly-…`):
 *
 * - `<name>-secret`: what apps read. The keys username, password, endpoint and
 *   port are the ones existing apps (and the old Helm chart) use; database,
 *   uri and jdbcUrl are added for convenience.
 * - `<name>-secretsmanager`: the RDS-style JSON for the AWS SecretVersion,
 *   which can only read its value from a Kubernetes Secret key. It is kept out
 *   of the app Secret so that `envFrom` on the app Secret stays clean.
 *
 * Values are written as base64 `data` (not stringData) so that what the
 * function returns is exactly what the API server stores.
 */
import { jdbcUrl, postgresUri } from '../credentials.js';
import type { Composed, Plan } from '../plan.js';
import type { KubeObject } from './managed.js';
import { ROTATION_ANNOTATION } from '../passwords.js';
import { recordAnnotations } from '../alternation-record.js';

export const AWS_SECRET_STRING_KEY = 'secretString';

function b64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

function kubeSecret(plan: Plan, name: string, data: Record<string, string>, namespace = plan.tenant.namespace, annotations?: Record<string, string>): KubeObject {
  const encoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) encoded[key] = b64(value);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      ...(annotations ? { annotations } : {}),
      labels: { 'app.kubernetes.io/managed-by': 'crossplane', 'tenantdb.platform.io/tenant': 'true' },
    },
    type: 'Opaque',
    data: encoded,
  };
}

/**
 * A login Role's password (its passwordSecretRef), beside the Role's connection
 * secret, annotated with the rotation it belongs to (function/passwords.ts).
 * Kept as observed (even without a password) while a new one waits for the platform key.
 */
export function passwordSecret(plan: Plan, { slot, login, password, rotation }: Composed & { row: 'password' }): KubeObject {
  return kubeSecret(plan, slot.name, password !== undefined ? { password } : {}, login.passwordSecretNamespace, { [ROTATION_ANNOTATION]: rotation });
}

/**
 * In Alternating mode `<name>-secret` also carries the rotation's record
 * (alternation-record.ts): the XR's status can be lost, this Secret is what
 * hands the login out.
 */
export function credentialsSecret(plan: Plan, { slot, login, credentials: c }: Composed & { row: 'secret' }): KubeObject {
  const sslMode = plan.input.sql.sslMode;
  const record = login.owner === 'tenant' ? plan.alternation?.status : undefined;
  return kubeSecret(plan, slot.name, {
    username: c.username,
    password: c.password,
    endpoint: c.endpoint,
    port: c.port,
    database: plan.database,
    uri: postgresUri(c, plan.database, sslMode),
    jdbcUrl: jdbcUrl(c, plan.database, sslMode),
  }, plan.tenant.namespace, record ? recordAnnotations(record) : undefined);
}

/** `json`: the login's credentials in the RDS format (credentials.ts rdsSecretJson). */
export function awsSecretString(plan: Plan, { slot, json }: Composed & { row: 'awsSecretString' }): KubeObject {
  return kubeSecret(plan, slot.name, { [AWS_SECRET_STRING_KEY]: json });
}
