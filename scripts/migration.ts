/**
 * Migration from the Helm chart (`tenantDatabases:` in values.yaml) to
 * TenantDatabase claims. Pure: parse, validate and render from text that is
 * passed in; reading and writing files is the CLI's job (scripts/migrate.ts).
 *
 * Everything is checked before anything is rendered, and every problem is
 * reported (not only the first), each naming the file, the entry index and
 * the key, so that a migration either produces a complete, reviewable set of
 * claims or nothing at all.
 */
import { parseDocument, stringify } from 'yaml';

export type Flavour = 'claim' | 'namespaced';
export type DeletionPolicy = 'Orphan' | 'Delete';

export const API_VERSION = 'tenantdb.platform.io/v1alpha1';
export const KIND = 'TenantDatabase';
export const ARGOCD_SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';
export const ARGOCD_PROTECTED = 'Delete=false,Prune=false';
export const DATABASE_NAME_ANNOTATION = 'tenantdb.platform.io/database-name';
export const ROLE_NAME_ANNOTATION = 'tenantdb.platform.io/role-name';

const TOP_LEVEL_KEY = 'tenantDatabases';
const POLICIES: readonly DeletionPolicy[] = ['Orphan', 'Delete'];
const ENTRY_KEYS = ['name', 'namespace', 'deletionProtection', 'roleDeletionPolicy', 'dbDeletionPolicy'] as const;
const KEEP_NAMES_KEYS = ['databaseName', 'roleName'] as const;

/** RFC 1123 label: a namespace. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain: an object name. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/**
 * Crossplane puts the claim (claim flavour) or XR (namespaced flavour) name
 * into label values (`crossplane.io/claim-name`, `crossplane.io/composite`),
 * which are limited to 63 characters.
 */
const MAX_NAME = 63;
/** What the Helm chart could have created and what the function can adopt. */
const PG_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export interface MigrateOptions {
  flavour: Flavour;
  /** Adopt the database and role the Helm chart created, by name. */
  keepNames: boolean;
}

export interface Source {
  file: string;
  /** Index in the file's tenantDatabases list. */
  index: number;
}

export interface Entry {
  name: string;
  namespace: string;
  deletionProtection: boolean;
  roleDeletionPolicy: DeletionPolicy;
  dbDeletionPolicy: DeletionPolicy;
  /** Only with keepNames: the names of the existing database and role. */
  databaseName?: string;
  roleName?: string;
  source: Source;
}

export interface InputFile {
  /** As given by the user; used in messages only. */
  file: string;
  text: string;
}

export interface OutputFile {
  /** Relative to the output directory: `<namespace>/<name>.yaml`. */
  path: string;
  content: string;
}

export interface Migration {
  entries: Entry[];
  files: OutputFile[];
  /** All claims as one YAML stream (what --dry-run prints). */
  stream: string;
}

/** One or more problems in the input; `problems` are complete lines, one per problem. */
export class MigrationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'MigrationError';
  }
}

const where = (s: Source, key?: string) => `${s.file}: ${TOP_LEVEL_KEY}[${s.index}]${key ? `.${key}` : ''}`;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** For a field that must be a string: YAML 1.1 (Helm's) reads y, n, yes, no, on, off as booleans. */
function notAString(value: unknown): string {
  const hint = typeof value === 'boolean' ? ' (YAML 1.1, as Helm reads values, takes y/n/yes/no/on/off for booleans: quote it)' : '';
  return `must be a string, got ${describe(value)}${hint}`;
}

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What the Helm chart named the database and role when the entry did not say: `name` with '-' mapped to '_'. */
export function helmIdentifier(name: string): string {
  return name.replaceAll('-', '_');
}

/**
 * Parse one values.yaml. Returns its entries with defaults applied, or throws
 * a MigrationError listing every problem in the file.
 *
 * YAML is read as YAML 1.1, as Helm reads values (so `yes`/`no`/`on`/`off`
 * are booleans here exactly as they were for the chart).
 */
export function parseValues(input: InputFile, options: MigrateOptions): Entry[] {
  const { file } = input;
  const doc = parseDocument(input.text, { version: '1.1', uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    throw new MigrationError(doc.errors.map((e) => `${file}: invalid YAML: ${e.message}`));
  }
  const root: unknown = doc.toJS();
  if (root === null || root === undefined) return [];
  if (!isMapping(root)) throw new MigrationError([`${file}: the top level must be a mapping with the key ${TOP_LEVEL_KEY}, got ${describe(root)}`]);

  const problems: string[] = [];
  for (const key of Object.keys(root).sort()) {
    if (key !== TOP_LEVEL_KEY) problems.push(`${file}: unknown top-level key ${JSON.stringify(key)} (only ${TOP_LEVEL_KEY} is migrated)`);
  }
  const list = root[TOP_LEVEL_KEY];
  if (list === undefined || list === null) {
    if (problems.length) throw new MigrationError(problems);
    return [];
  }
  if (!Array.isArray(list)) {
    throw new MigrationError([...problems, `${file}: ${TOP_LEVEL_KEY} must be a list, got ${describe(list)}`]);
  }

  const entries: Entry[] = [];
  list.forEach((raw: unknown, index: number) => {
    const entry = parseEntry(raw, { file, index }, options, problems);
    if (entry) entries.push(entry);
  });
  if (problems.length) throw new MigrationError(problems);
  return entries;
}

function parseEntry(raw: unknown, source: Source, options: MigrateOptions, problems: string[]): Entry | undefined {
  if (!isMapping(raw)) {
    problems.push(`${where(source)}: must be a mapping with name and namespace, got ${describe(raw)}`);
    return undefined;
  }
  const before = problems.length;
  const problem = (key: string, message: string) => problems.push(`${where(source, key)}: ${message}`);

  for (const key of Object.keys(raw).sort()) {
    if ((ENTRY_KEYS as readonly string[]).includes(key)) continue;
    if ((KEEP_NAMES_KEYS as readonly string[]).includes(key)) {
      if (!options.keepNames) problem(key, 'is only valid with --keep-names (it names an existing database or role to adopt)');
      continue;
    }
    problem(key, `unknown key; allowed: ${[...ENTRY_KEYS, ...KEEP_NAMES_KEYS].join(', ')}`);
  }

  const name = raw.name;
  if (name === undefined) problem('name', 'is required');
  else if (typeof name !== 'string') problem('name', notAString(name));
  else if (!OBJECT_NAME.test(name) || name.length > MAX_NAME) {
    problem('name', `${JSON.stringify(name)} is not a Kubernetes name (RFC 1123: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most ${MAX_NAME} characters)`);
  }

  const namespace = raw.namespace;
  if (namespace === undefined) problem('namespace', 'is required (the claim is created in this namespace)');
  else if (typeof namespace !== 'string') problem('namespace', notAString(namespace));
  else if (!NAMESPACE.test(namespace)) {
    problem('namespace', `${JSON.stringify(namespace)} is not a Kubernetes namespace name (RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`);
  }

  const deletionProtection = raw.deletionProtection ?? true;
  if (typeof deletionProtection !== 'boolean') problem('deletionProtection', `must be a boolean (true or false), got ${describe(raw.deletionProtection)}`);

  const policy = (key: 'roleDeletionPolicy' | 'dbDeletionPolicy'): DeletionPolicy => {
    const value = raw[key] ?? 'Orphan';
    if (typeof value !== 'string') problem(key, `must be a string, one of ${POLICIES.join(', ')}; got ${describe(raw[key])}`);
    else if (!(POLICIES as readonly string[]).includes(value)) problem(key, `must be one of ${POLICIES.join(', ')}; got ${JSON.stringify(value)}`);
    return value as DeletionPolicy;
  };
  const roleDeletionPolicy = policy('roleDeletionPolicy');
  const dbDeletionPolicy = policy('dbDeletionPolicy');

  const identifier = (key: 'databaseName' | 'roleName'): string | undefined => {
    if (!options.keepNames) return undefined;
    const given = raw[key];
    if (given !== undefined) {
      if (typeof given !== 'string') problem(key, notAString(given));
      else if (!PG_IDENTIFIER.test(given)) problem(key, `${JSON.stringify(given)} is not a PostgreSQL identifier the platform accepts (${PG_IDENTIFIER.source})`);
      return given as string;
    }
    if (typeof name !== 'string') return undefined; // already reported
    const derived = helmIdentifier(name);
    if (!PG_IDENTIFIER.test(derived)) {
      problem(key, `is not set and the name the Helm chart derived from name, ${JSON.stringify(derived)}, is not a PostgreSQL identifier the platform accepts (${PG_IDENTIFIER.source}); set ${key} to the existing name`);
    }
    return derived;
  };
  const databaseName = identifier('databaseName');
  const roleName = identifier('roleName');

  if (problems.length > before) return undefined;
  const entry: Entry = {
    name: name as string,
    namespace: namespace as string,
    deletionProtection: deletionProtection as boolean,
    roleDeletionPolicy,
    dbDeletionPolicy,
    source,
  };
  if (options.keepNames) {
    entry.databaseName = databaseName;
    entry.roleName = roleName;
  }
  return entry;
}

/**
 * Problems that only show across files: the same claim twice, and (with
 * --keep-names) two claims adopting the same database or role, which would
 * hand one tenant's data to another.
 */
export function crossCheck(entries: Entry[]): string[] {
  const problems: string[] = [];
  const claims = new Map<string, Entry>();
  const adopted = { databaseName: new Map<string, Entry>(), roleName: new Map<string, Entry>() };
  for (const e of entries) {
    const id = `${e.namespace}/${e.name}`;
    const earlier = claims.get(id);
    if (earlier) problems.push(`${where(e.source)}: duplicate TenantDatabase ${id}, already declared at ${where(earlier.source)}`);
    else claims.set(id, e);
    for (const key of ['databaseName', 'roleName'] as const) {
      const value = e[key];
      if (value === undefined) continue;
      const other = adopted[key].get(value);
      if (other) {
        problems.push(
          `${where(e.source, key)}: ${key === 'databaseName' ? 'database' : 'role'} ${JSON.stringify(value)} is already adopted by ` +
            `${where(other.source)} (${other.namespace}/${other.name}); two claims must never share it`,
        );
      } else {
        adopted[key].set(value, e);
      }
    }
  }
  return problems;
}

const byNamespaceAndName = (a: Entry, b: Entry) =>
  a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** The claim (claim flavour) or XR (namespaced flavour) for one entry; both have the same shape. */
export function renderClaim(entry: Entry): Record<string, unknown> {
  const annotations: Record<string, string> = {};
  if (entry.deletionProtection) annotations[ARGOCD_SYNC_OPTIONS] = ARGOCD_PROTECTED;
  if (entry.databaseName !== undefined) annotations[DATABASE_NAME_ANNOTATION] = entry.databaseName;
  if (entry.roleName !== undefined) annotations[ROLE_NAME_ANNOTATION] = entry.roleName;
  const metadata: Record<string, unknown> = { name: entry.name, namespace: entry.namespace };
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata,
    spec: {
      deletionProtection: entry.deletionProtection,
      roleDeletionPolicy: entry.roleDeletionPolicy,
      dbDeletionPolicy: entry.dbDeletionPolicy,
    },
  };
}

function header(entry: Entry, flavour: Flavour): string {
  const lines = [
    flavour === 'claim'
      ? '# TenantDatabase claim (claim flavour), migrated from the Helm chart by `npm run migrate`.'
      : '# TenantDatabase (namespaced flavour), migrated from the Helm chart by `npm run migrate`.',
    `# Credentials: Secret ${entry.name}-secret (keys username, password, endpoint, port), as before.`,
  ];
  if (entry.databaseName !== undefined) {
    lines.push(`# Adopts the existing database ${entry.databaseName} and role ${entry.roleName} (see docs/migration.md).`);
  }
  if (!entry.deletionProtection && (entry.dbDeletionPolicy === 'Delete' || entry.roleDeletionPolicy === 'Delete')) {
    lines.push('# Not protected: deleting this claim drops what is set to Delete.');
  }
  return lines.join('\n') + '\n';
}

/** The output file of one entry, relative to the output directory. */
export function claimPath(entry: Entry): string {
  return `${entry.namespace}/${entry.name}.yaml`;
}

export function renderFile(entry: Entry, flavour: Flavour): string {
  return header(entry, flavour) + stringify(renderClaim(entry), { lineWidth: 0 });
}

/**
 * Parse, validate and render every input. Throws a MigrationError listing
 * every problem in every input; otherwise returns the claims sorted by
 * (namespace, name), so that the output does not depend on input order.
 */
export function migrate(inputs: InputFile[], options: MigrateOptions): Migration {
  const problems: string[] = [];
  const entries: Entry[] = [];
  for (const input of inputs) {
    try {
      entries.push(...parseValues(input, options));
    } catch (error) {
      if (!(error instanceof MigrationError)) throw error;
      problems.push(...error.problems);
    }
  }
  problems.push(...crossCheck(entries));
  if (problems.length) throw new MigrationError(problems);

  const sorted = [...entries].sort(byNamespaceAndName);
  const files = sorted.map((e) => ({ path: claimPath(e), content: renderFile(e, options.flavour) }));
  const stream = files.map((f) => `---\n${f.content}`).join('');
  return { entries: sorted, files, stream };
}
