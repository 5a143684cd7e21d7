/**
 * Render: the plan's composed objects as Kubernetes objects, one renderer per
 * kind (resources/*.ts). Renderers read the plan and their own entry of it,
 * never the request, so what is composed is decided in one place (plan.ts).
 */
import type { Composed, Plan } from './plan.js';
import type { KubeObject } from './resources/managed.js';
import { database } from './resources/database.js';
import { readerDefaultPrivileges } from './resources/defaultprivileges.js';
import { extension } from './resources/extension.js';
import { databaseGrant, loginMembership, readerDatabaseGrant, readerMembership, readerSchemaGrant } from './resources/grant.js';
import { readerSchemaRole, role } from './resources/role.js';
import { schema } from './resources/schema.js';
import { awsSecretString, credentialsSecret, passwordSecret } from './resources/secret.js';
import { awsSecret, awsSecretVersion } from './resources/secretsmanager.js';
import { usage } from './resources/usage.js';
import { backupCronJob, backupServiceAccount, restoreJob } from './backup/resources.js';

/** A composed entry of the plan and the object rendered for it. */
export interface Rendered {
  item: Composed;
  object: KubeObject;
}

export function render(plan: Plan): Rendered[] {
  return plan.composed.map((item) => ({ item, object: renderOne(plan, item) }));
}

function renderOne(plan: Plan, item: Composed): KubeObject {
  switch (item.row) {
    case 'database':
      return database(plan, item);
    case 'role':
      return role(plan, item);
    case 'grant':
      return databaseGrant(plan, item);
    case 'extension':
      return extension(plan, item);
    case 'schema':
      return schema(plan, item);
    case 'secret':
      return credentialsSecret(plan, item);
    case 'password':
      return passwordSecret(plan, item);
    case 'awsSecret':
      return awsSecret(plan, item);
    case 'awsSecretString':
      return awsSecretString(plan, item);
    case 'awsSecretVersion':
      return awsSecretVersion(plan, item);
    case 'readerGrant':
      return readerDatabaseGrant(plan, item);
    case 'readerSchemaRole':
      return readerSchemaRole(plan, item);
    case 'readerMembership':
      return readerMembership(plan, item);
    case 'loginMembership':
      return loginMembership(plan, item);
    case 'readerSchemaGrant':
      return readerSchemaGrant(plan, item);
    case 'readerDefaultPrivileges':
      return readerDefaultPrivileges(plan, item);
    case 'usage':
      return usage(plan, item);
    case 'backupServiceAccount':
      return backupServiceAccount(item.backup);
    case 'backupCronJob':
      return present(backupCronJob(item.backup), item);
    case 'restoreJob':
      return present(restoreJob(item.backup, plan.role), item);
  }
}

/** The plan composes a CronJob or Job only where the backup plan holds one: anything else is a bug, not a state. */
function present(object: KubeObject | undefined, item: Composed): KubeObject {
  if (!object) throw new Error(`${item.slot.key}: planned, but the backup plan renders none`);
  return object;
}
