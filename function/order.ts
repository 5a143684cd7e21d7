/**
 * Ordered creation: what each composed object needs before it may be created,
 * and the gate that holds back an object whose needs are not met yet.
 *
 * Composing everything at once makes provider-sql's first create fail for
 * objects whose dependencies do not exist yet (measured on Crossplane v2.2.4,
 * provider-sql v0.16.0: `CREATE DATABASE … OWNER` before the owner role exists
 * fails with `role "…" does not exist`, and is retried with backoff), and
 * every failed attempt costs watch events the XR's circuit breaker counts.
 * So an object that has never been observed is desired only once what it
 * needs is observed and ready:
 *
 *   password Secrets, reader schema roles, AWS Secret, Usages of XR/claim: nothing
 *   Role, reader Role             nothing here; plan.ts composes a login's Role only
 *                                 once its password Secret is observed (passwords.ts)
 *   Database                      the tenant Role
 *   Grant, Schema                 the Database and the tenant Role
 *   Extension                     the Database
 *   reader Grant                  the Database and the reader Role
 *   reader membership             the reader Role and its schema role
 *   reader schema grant           the Database, the schema role (and the Schema unless `public`)
 *   reader default privileges     the Database, the tenant Role, the schema role (and the Schema)
 *   Secret, AWS secret string     the Database (and, for the reader, its database Grant);
 *                                 credentials are a plan decision already (plan.ts)
 *   AWS SecretVersion             the AWS Secret ready and the AWS secret string present
 *   Usage of Database / Role      what it protects exists (observed)
 *   backup CronJob                <name>-secret exists (its pods read the database settings there)
 *   restore Job                   the Database ready and <name>-secret exists
 *
 * Ordering applies to creation only. An object that has been observed is
 * desired again in every answer, whatever the state of what it needs:
 * leaving it out of the desired state makes Crossplane delete it.
 */
import { COMPOSED, type ComposedKind, type LoginOwner, type Slot } from './composed.js';
import type { Facts } from './observe.js';
import type { Composed, Plan } from './plan.js';
import { readiness } from './readiness.js';

/** What a not-yet-created object waits for: another composed object, existing or ready. */
export interface Need {
  slot: Slot;
  until: 'exists' | 'ready';
}

/** The parts of the plan the order depends on. */
export type OrderContext = Pick<Plan, 'tenant' | 'spec'>;

/** What one composed object needs before it is created; nothing for objects at the root. */
export function needs(ctx: OrderContext, item: Composed): Need[] {
  const n = ctx.tenant;
  const ready = (slot: Slot): Need => ({ slot, until: 'ready' });
  const exists = (slot: Slot): Need => ({ slot, until: 'exists' });
  const database = () => ready({ key: COMPOSED.database.key(), name: COMPOSED.database.name(n), kind: 'Database' });
  const role = (owner: LoginOwner) => ready({ key: COMPOSED.role.key(owner), name: COMPOSED.role.name(n, owner), kind: 'Role' });
  const schemaRole = (schema: string) => ready({ key: COMPOSED.readerSchemaRole.key(schema), name: COMPOSED.readerSchemaRole.name(n, schema), kind: 'Role' });
  /** The tenant's own Schema object, when the schema is one the claim lists (`public` always exists). */
  const schemaObject = (schema: string): Need[] =>
    ctx.spec.schemas.includes(schema) ? [ready({ key: COMPOSED.schema.key(schema), name: COMPOSED.schema.name(n, schema), kind: 'Schema' })] : [];

  const secretOf = (parts: typeof n): Slot => ({ key: COMPOSED.secret.key('tenant'), name: COMPOSED.secret.name(parts, 'tenant'), kind: 'Secret' });
  switch (item.row) {
    case 'backupServiceAccount':
    case 'password':
    case 'role':
    case 'awsSecret':
    case 'readerSchemaRole':
      return [];
    case 'database':
      return [role('tenant')];
    case 'grant':
    case 'schema':
      return [database(), role('tenant')];
    case 'extension':
      return [database()];
    case 'secret':
    case 'awsSecretString':
      return item.login.owner === 'tenant'
        ? [database()]
        : [database(), ready({ key: COMPOSED.readerGrant.key(), name: COMPOSED.readerGrant.name(n), kind: 'Grant' })];
    case 'awsSecretVersion':
      return [
        ready({ key: COMPOSED.awsSecret.key(item.login.owner), name: COMPOSED.awsSecret.name(n, item.login.owner), kind: 'AwsSecret' }),
        exists({ key: COMPOSED.awsSecretString.key(item.login.owner), name: COMPOSED.awsSecretString.name(n, item.login.owner), kind: 'Secret' }),
      ];
    case 'loginMembership':
      return [role('tenant'), role(item.login.owner)];
    case 'readerGrant':
      return [database(), role('reader')];
    case 'readerMembership':
      return [role('reader'), schemaRole(item.schemaRole.schema)];
    case 'readerSchemaGrant':
      return [database(), schemaRole(item.schemaRole.schema), ...schemaObject(item.schemaRole.schema)];
    case 'readerDefaultPrivileges':
      return [database(), role('tenant'), schemaRole(item.schemaRole.schema), ...schemaObject(item.schemaRole.schema)];
    case 'backupCronJob':
      // Its pods read the database settings from <name>-secret.
      return [exists(secretOf(n))];
    case 'restoreJob':
      // Into a database that exists, with the tenant's own credentials.
      return [database(), exists(secretOf(n))];
    case 'usage': {
      const target = item.slot.key.slice('usage-'.length);
      if (target === 'database') return [exists(database().slot)];
      if (target === 'role') return [exists(role('tenant').slot)];
      if (target === 'readonly-role') return [exists(role('reader').slot)];
      return [];
    }
  }
}

/**
 * Is a need met? `exists`: observed. `ready`: observed and ready as the XR's
 * status judges it (readiness.ts: Ready=True; a Kubernetes Secret once it exists).
 */
function met(need: Need, facts: Facts): boolean {
  const observed = facts.resources.get(need.slot.key);
  if (!observed) return false;
  return need.until === 'exists' || readiness(need.slot.kind, observed).ready;
}

/** How an object is named in messages: its Kubernetes kind and name. */
export function describe(ctx: OrderContext, slot: Slot): string {
  const kind: Record<ComposedKind, string> = {
    Database: 'Database',
    Role: 'Role',
    Grant: 'Grant',
    Extension: 'Extension',
    Schema: 'Schema',
    DefaultPrivileges: 'DefaultPrivileges',
    Secret: 'Secret',
    AwsSecret: 'Secret',
    SecretVersion: 'SecretVersion',
    Usage: ctx.tenant.flavour.usageKind,
    ServiceAccount: 'ServiceAccount',
    CronJob: 'CronJob',
    Job: 'Job',
  };
  return `${kind[slot.kind]} ${slot.name}`;
}

export interface Ordered {
  /** The objects desired now, in the order of the plan. */
  composed: Composed[];
  /** The objects held back, each with what it waits for, in the order of the plan. */
  waiting: string[];
}

/**
 * Hold back every object that has not been observed yet and whose needs are
 * not met. An observed object is always kept. The order of the plan is kept,
 * so the answer stays deterministic.
 */
export function inOrder(ctx: OrderContext, composed: Composed[], facts: Facts): Ordered {
  const out: Ordered = { composed: [], waiting: [] };
  for (const item of composed) {
    if (facts.resources.has(item.slot.key)) {
      out.composed.push(item);
      continue;
    }
    const unmet = needs(ctx, item).filter((need) => !met(need, facts));
    if (unmet.length === 0) out.composed.push(item);
    else out.waiting.push(`${describe(ctx, item.slot)} (waiting for ${unmet.map((need) => describe(ctx, need.slot)).join(', ')})`);
  }
  return out;
}
