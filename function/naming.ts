/**
 * Identifiers: PostgreSQL names and Kubernetes object names.
 *
 * PostgreSQL database and role names are global to a server while claims are
 * per namespace, so every identifier is derived from both. Mapping Kubernetes
 * names to [a-z0-9_] loses information ('a-b'/'c' and 'a'/'b-c' both read
 * a_b_c), so every identifier ends in a hash of the exact (namespace, name)
 * pair: the readable prefix is for people, the suffix is what keeps tenants
 * apart. The hash is stable, so a name never changes between reconciles.
 */
import { createHash } from 'node:crypto';

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated by the server. */
export const MAX_IDENTIFIER_BYTES = 63;
const HASH_HEX = 10;

/** RFC 1123 label: what Kubernetes allows for a namespace. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain: what Kubernetes allows for most object names. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function isNamespace(value: unknown): value is string {
  return typeof value === 'string' && NAMESPACE.test(value);
}

export function isObjectName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 253 && OBJECT_NAME.test(value);
}

function hash(...parts: string[]): string {
  // NUL cannot occur in a Kubernetes name, so the join is unambiguous.
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, HASH_HEX);
}

/**
 * A PostgreSQL identifier for a tenant: the template with {namespace} and
 * {name} replaced, mapped to [a-z0-9_], truncated to leave room for the hash
 * suffix, always within 63 bytes and always starting with a letter.
 */
export function tenantIdentifier(template: string, namespace: string, name: string): string {
  const rendered = template.replaceAll('{namespace}', namespace).replaceAll('{name}', name);
  let prefix = rendered.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/_+/g, '_').replace(/^_+|_+$/g, '');
  if (!/^[a-z]/.test(prefix)) prefix = `t_${prefix}`;
  prefix = prefix.slice(0, MAX_IDENTIFIER_BYTES - HASH_HEX - 1).replace(/_+$/, '');
  return `${prefix}_${hash(namespace, name)}`;
}

/** Appended to the tenant's role name to name its read-only role. */
export const READ_ONLY_SUFFIX = '_ro';
/** How the reader's per-schema roles end: `_s` and 8 hex characters. */
const SCHEMA_ROLE_SUFFIX = /_s[0-9a-f]{8}$/;

/**
 * The read-only role of a tenant role: `<role>_ro`, or, when that would pass
 * 63 bytes, the role's name cut short plus a hash of the whole role name and
 * `_ro`. Roles the function generates end in `_` and a 10-hex hash, readers
 * in `_ro`, the reader's schema roles in `_s` and 8 hex (below): three shapes
 * that never meet. Adoption refuses names of the last two shapes, so no
 * tenant's role can share a name with another tenant's reader.
 */
export function readOnlyRoleName(role: string): string {
  const name = `${role}${READ_ONLY_SUFFIX}`;
  if (name.length <= MAX_IDENTIFIER_BYTES) return name;
  const keep = MAX_IDENTIFIER_BYTES - HASH_HEX - 1 - READ_ONLY_SUFFIX.length;
  return `${role.slice(0, keep).replace(/_+$/, '')}_${hash(role)}${READ_ONLY_SUFFIX}`;
}

/**
 * A NOLOGIN role per schema the reader reads, which the reader is a member
 * of: `<reader>_s<8 hex of reader and schema>`. It exists because provider-sql
 * v0.16.0 tells DefaultPrivileges apart by grantee and object type only
 * (crossplane-contrib/provider-sql#458): a grantee can have one per object
 * type, so each schema needs a grantee of its own.
 */
export function readOnlySchemaRoleName(reader: string, schema: string): string {
  const tail = `_s${hash(reader, schema).slice(0, 8)}`;
  return `${reader.slice(0, MAX_IDENTIFIER_BYTES - tail.length).replace(/_+$/, '')}${tail}`;
}

/** The two login roles of alternating rotation end in these (plan.ts, alternation). */
export const LOGIN_SLOT_SUFFIX = { a: '_la', b: '_lb' } as const;

/**
 * A login role of alternating rotation: `<role>_la` / `<role>_lb`, or, when that would pass 63
 * bytes, the role's name cut short plus a hash of the whole role name, as readOnlyRoleName does.
 */
export function loginSlotRoleName(role: string, slot: 'a' | 'b'): string {
  const suffix = LOGIN_SLOT_SUFFIX[slot];
  const name = `${role}${suffix}`;
  if (name.length <= MAX_IDENTIFIER_BYTES) return name;
  const keep = MAX_IDENTIFIER_BYTES - HASH_HEX - 1 - suffix.length;
  return `${role.slice(0, keep).replace(/_+$/, '')}_${hash(role)}${suffix}`;
}

/**
 * Is this the shape of a name only the function's own extra roles have: read-only roles and their
 * schema roles, and the login roles of alternating rotation (adoption must not take it)?
 */
export function isReadOnlyRoleShape(name: string): boolean {
  return name.endsWith(READ_ONLY_SUFFIX) || SCHEMA_ROLE_SUFFIX.test(name) || Object.values(LOGIN_SLOT_SUFFIX).some((s) => name.endsWith(s));
}

/** Is this a name we could have produced (used to trust observed external names)? */
export function isIdentifier(value: unknown): value is string {
  return typeof value === 'string' && IDENTIFIER.test(value);
}

/**
 * A Kubernetes object name for something composed by an XR: `<xr>-<suffix>`,
 * shortened with a hash when it would pass 63 characters (the label-value
 * limit, which keeps the name usable in selectors too).
 */
export function childName(xrName: string, suffix: string): string {
  const name = `${xrName}-${suffix}`;
  if (name.length <= 63) return name;
  // A suffix this long (a long schema name) would leave no room for the XR's name: shorten it too.
  const maxSuffix = 63 - HASH_HEX - 3;
  const tail = suffix.length <= maxSuffix ? suffix : `${suffix.slice(0, maxSuffix - HASH_HEX - 1).replace(/[-.]+$/, '')}-${hash(suffix)}`;
  const keep = 63 - tail.length - HASH_HEX - 2;
  return `${xrName.slice(0, keep).replace(/[-.]+$/, '')}-${hash(xrName)}-${tail}`;
}

/**
 * A SQL name made fit for the tail of a Kubernetes object name. Names that
 * already fit are used as they are; any other is mapped ('_' to '-') and gets
 * a short hash, so that 'a_b' and 'a-b' never share an object name.
 */
export function objectSuffix(sqlName: string): string {
  if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(sqlName)) return sqlName;
  const mapped = sqlName.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return mapped ? `${mapped}-${hash(sqlName).slice(0, 6)}` : hash(sqlName).slice(0, 6);
}

/** Replace {namespace} and {name} in a free-form template (AWS secret names). */
export function fillTemplate(template: string, namespace: string, name: string): string {
  return template.replaceAll('{namespace}', namespace).replaceAll('{name}', name);
}

/** A PostgreSQL identifier as the function produces it and accepts for adoption: lower case, no quoting needed, within 63 bytes. */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Kubernetes caps label values at 63 characters, and Crossplane puts a claim's
 * name (crossplane.io/claim-name) and an XR's name (crossplane.io/composite)
 * into labels: a claim or XR with a longer name cannot work.
 */
export const MAX_LABEL_VALUE = 63;

/** Annotations on a claim (or XR) naming an existing database and role to adopt, as `npm run migrate -- --keep-names` writes them. */
export const ADOPT_DATABASE_ANNOTATION = 'tenantdb.platform.io/database-name';
export const ADOPT_ROLE_ANNOTATION = 'tenantdb.platform.io/role-name';

/** Names a tenant may never adopt: the server's own databases and the cloud provider's roles. */
const RESERVED = /^(postgres|template0|template1|rdsadmin|pg_.*|rds.*|aws.*|azure.*|cloudsql.*)$/;

export function isReservedName(name: string): boolean {
  return RESERVED.test(name);
}
