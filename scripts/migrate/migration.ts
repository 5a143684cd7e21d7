/**
 * Migration from the Helm chart (`tenantDatabases:` in values.yaml) to
 * TenantDatabase claims. Pure: parse, validate and render from text that is
 * passed in; reading and writing files is the CLI's job (scripts/migrate.ts).
 *
 * Every problem is reported (not only the first, and not only the first
 * kind: an entry with a bad key is still checked for duplicates), each
 * naming the file, the entry index and the key, so that a migration either
 * produces a complete, reviewable set of claims or nothing at all.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, parseDocument, stringify } from 'yaml';
import { API_VERSION, CLAIM_KIND, XR_KIND_NAMESPACED } from '../../function/flavour.js';
import {
  ADOPT_DATABASE_ANNOTATION,
  ADOPT_ROLE_ANNOTATION,
  IDENTIFIER,
  isNamespace,
  isObjectName,
  isReadOnlyRoleShape,
  isReservedName,
  MAX_LABEL_VALUE,
} from '../../function/naming.js';
import { DELETION_POLICIES, specSchema, type DeletionPolicy } from '../../function/spec.js';
import { LOGIN_NAMES } from '../../function/composed.js';
import { INITIAL_ROTATION, ROTATION_ANNOTATION } from '../../function/passwords.js';
import { closest } from '../shared/typos.js';

export type Flavour = 'claim' | 'namespaced';

/** Argo CD's own annotation: a protected claim is neither deleted nor pruned by a sync (docs/argocd.md). */
export const ARGOCD_SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';
export const ARGOCD_PROTECTED = 'Delete=false,Prune=false';

const TOP_LEVEL_KEY = 'tenantDatabases';
const ENTRY_KEYS = ['name', 'namespace', 'deletionProtection', 'roleDeletionPolicy', 'dbDeletionPolicy'] as const;
const KEEP_NAMES_KEYS = ['databaseName', 'roleName'] as const;

export interface MigrateOptions {
  flavour: Flavour;
  /** Adopt the database and role the Helm chart created, by name. */
  keepNames: boolean;
  /**
   * Only with keepNames: the chart's Secrets (`kubectl get secret -o yaml`, a List or a YAML
   * stream), from which each adopted role's password is handed over to the function.
   */
  chartSecrets?: InputFile;
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
  /** Holds a password: written with mode 0600, never printed (not in `stream`). */
  secret?: boolean;
}

export interface Migration {
  /**
   * Every problem in every input, one complete line each. When there is any,
   * nothing may be written: the other fields then hold only the entries
   * without problems, so that the caller can add its own (e.g. files it
   * would overwrite) to the same report.
   */
  problems: string[];
  entries: Entry[];
  files: OutputFile[];
  /** All claims as one YAML stream (what --dry-run prints); never a password Secret. */
  stream: string;
  /** With chartSecrets: the adopted entries whose password was not found there (they get a new one). */
  withoutPassword: Entry[];
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

/** What one values.yaml holds: its valid entries, what every entry claims, and every problem found. */
export interface ValuesFile {
  /** The entries without problems, with defaults applied. */
  entries: Entry[];
  /** Every entry as far as it is valid, for the checks across entries. */
  claimed: Claimed[];
  problems: string[];
}

/**
 * The names an entry takes, as far as they are valid: enough to find
 * duplicates and shared adoptions even in an entry that has other problems,
 * so that all of them are reported in one run.
 */
export interface Claimed {
  source: Source;
  name?: string;
  namespace?: string;
  databaseName?: string;
  roleName?: string;
}

/**
 * Parse one values.yaml, with defaults applied. Never throws: every problem
 * in the file is returned, each naming the file, the entry and the key.
 *
 * YAML is read as YAML 1.1, as Helm reads values (so `yes`/`no`/`on`/`off`
 * are booleans here exactly as they were for the chart).
 */
export function parseValues(input: InputFile, options: MigrateOptions): ValuesFile {
  const { file } = input;
  const none = (problems: string[]): ValuesFile => ({ entries: [], claimed: [], problems });
  const lines = new LineCounter();
  // Duplicate keys are found below, with the path to them; the parser would only give a position.
  const doc = parseDocument(input.text, { version: '1.1', uniqueKeys: false, prettyErrors: false, lineCounter: lines });
  if (doc.errors.length) {
    return none(doc.errors.map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      return `${file}: invalid YAML at line ${line}, column ${col}: ${e.message}`;
    }));
  }
  // Each entry's duplicate keys are reported with the entry's other problems. Of a
  // duplicated key, toJS() keeps the last value, so the entries are the last list's.
  const listNode = isMap(doc.contents)
    ? doc.contents.items.filter((pair) => isScalar(pair.key) && pair.key.value === TOP_LEVEL_KEY).at(-1)?.value
    : undefined;
  const entryNodes = isSeq(listNode) ? listNode.items : [];
  const problems = duplicateKeys(doc.contents, { file, lines, skip: listNode });
  const root: unknown = doc.toJS();
  if (root === null || root === undefined) return none(problems);
  if (!isMapping(root)) return none([...problems, `${file}: the top level must be a mapping with the key ${TOP_LEVEL_KEY}, got ${describe(root)}`]);

  for (const key of Object.keys(root).sort()) {
    if (key !== TOP_LEVEL_KEY) problems.push(`${file}: unknown top-level key ${JSON.stringify(key)} (only ${TOP_LEVEL_KEY} is migrated)`);
  }
  const list = root[TOP_LEVEL_KEY];
  if (list === undefined || list === null) return none(problems);
  if (!Array.isArray(list)) return none([...problems, `${file}: ${TOP_LEVEL_KEY} must be a list, got ${describe(list)}`]);

  const entries: Entry[] = [];
  const claimed: Claimed[] = [];
  list.forEach((raw: unknown, index: number) => {
    problems.push(...duplicateKeys(entryNodes[index], { file, lines }, `${TOP_LEVEL_KEY}[${index}]`));
    const parsed = parseEntry(raw, { file, index }, options, problems);
    claimed.push(parsed.claimed);
    if (parsed.entry) entries.push(parsed.entry);
  });
  return { entries, claimed, problems };
}

/**
 * Keys given twice in one mapping, anywhere below node (except below
 * `where.skip`). Helm would silently take one of the values, so which one the
 * author meant is unknown.
 */
function duplicateKeys(node: unknown, where: { file: string; lines: LineCounter; skip?: unknown }, path = ''): string[] {
  if (node === where.skip) return [];
  const problems: string[] = [];
  if (isSeq(node)) {
    node.items.forEach((item, i) => problems.push(...duplicateKeys(item, where, `${path}[${i}]`)));
  } else if (isMap(node)) {
    const seen = new Map<string, string[]>();
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const pos = isScalar(pair.key) && pair.key.range ? where.lines.linePos(pair.key.range[0]) : undefined;
      seen.set(key, [...(seen.get(key) ?? []), pos ? `line ${pos.line}, column ${pos.col}` : 'a complex key']);
      problems.push(...duplicateKeys(pair.value, where, path ? `${path}.${key}` : key));
    }
    for (const [key, at] of seen) {
      if (at.length > 1) {
        problems.push(`${where.file}: ${path ? `${path}.${key}` : key}: given ${at.length} times (${at.join('; ')}); keep one`);
      }
    }
  }
  return problems;
}

function parseEntry(raw: unknown, source: Source, options: MigrateOptions, problems: string[]): { entry?: Entry; claimed: Claimed } {
  if (!isMapping(raw)) {
    problems.push(`${where(source)}: must be a mapping with name and namespace, got ${describe(raw)}`);
    return { claimed: { source } };
  }
  const before = problems.length;
  const problem = (key: string, message: string) => problems.push(`${where(source, key)}: ${message}`);

  const allowed: readonly string[] = options.keepNames ? [...ENTRY_KEYS, ...KEEP_NAMES_KEYS] : ENTRY_KEYS;
  for (const key of Object.keys(raw).sort()) {
    if (allowed.includes(key)) continue;
    if ((KEEP_NAMES_KEYS as readonly string[]).includes(key)) {
      problem(key, 'is only valid with --keep-names (it names an existing database or role to adopt)');
      continue;
    }
    const guess = closest(key, allowed, 2);
    problem(key, `unknown key${guess ? ` (did you mean ${guess}?)` : ''}; allowed: ${allowed.join(', ')}`);
  }

  const claimed: Claimed = { source };
  const name = raw.name;
  if (name === undefined) problem('name', 'is required');
  else if (typeof name !== 'string') problem('name', notAString(name));
  else if (!isObjectName(name) || name.length > MAX_LABEL_VALUE) {
    // At most 63, not 253: Crossplane puts the claim's (or XR's) name into label values.
    problem('name', `${JSON.stringify(name)} is not a Kubernetes name (RFC 1123: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most ${MAX_LABEL_VALUE} characters)`);
  } else claimed.name = name;

  const namespace = raw.namespace;
  if (namespace === undefined) problem('namespace', 'is required (the claim is created in this namespace)');
  else if (typeof namespace !== 'string') problem('namespace', notAString(namespace));
  else if (!isNamespace(namespace)) {
    problem('namespace', `${JSON.stringify(namespace)} is not a Kubernetes namespace name (RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`);
  } else claimed.namespace = namespace;

  const deletionProtection = raw.deletionProtection ?? specSchema.properties.deletionProtection.default;
  if (typeof deletionProtection !== 'boolean') problem('deletionProtection', `must be a boolean (true or false), got ${describe(raw.deletionProtection)}`);

  const policy = (key: 'roleDeletionPolicy' | 'dbDeletionPolicy'): DeletionPolicy => {
    const value = raw[key] ?? specSchema.properties[key].default;
    if (typeof value !== 'string') problem(key, `must be a string, one of ${DELETION_POLICIES.join(', ')}; got ${describe(raw[key])}`);
    else if (!(DELETION_POLICIES as readonly string[]).includes(value)) problem(key, `must be one of ${DELETION_POLICIES.join(', ')}; got ${JSON.stringify(value)}`);
    return value as DeletionPolicy;
  };
  const roleDeletionPolicy = policy('roleDeletionPolicy');
  const dbDeletionPolicy = policy('dbDeletionPolicy');

  const identifier = (key: 'databaseName' | 'roleName'): string | undefined => {
    if (!options.keepNames) return undefined;
    const given = raw[key];
    if (given !== undefined) {
      if (typeof given !== 'string') {
        problem(key, notAString(given));
        return undefined;
      }
      if (!IDENTIFIER.test(given)) {
        problem(key, `${JSON.stringify(given)} is not a PostgreSQL identifier the platform accepts (${IDENTIFIER.source})`);
        return undefined;
      }
      const refused = unadoptable(key, given);
      if (refused) {
        problem(key, refused);
        return undefined;
      }
      claimed[key] = given;
      return given;
    }
    if (typeof name !== 'string') return undefined; // already reported
    const derived = helmIdentifier(name);
    if (!IDENTIFIER.test(derived)) {
      problem(key, `is not set and the name the Helm chart derived from name, ${JSON.stringify(derived)}, is not a PostgreSQL identifier the platform accepts (${IDENTIFIER.source}); set ${key} to the existing name`);
      return undefined;
    }
    const refused = unadoptable(key, derived);
    if (refused) {
      problem(key, `is not set and the name the Helm chart derived from name: ${refused}`);
      return undefined;
    }
    claimed[key] = derived;
    return derived;
  };
  const databaseName = identifier('databaseName');
  const roleName = identifier('roleName');

  if (problems.length > before) return { claimed };
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
  return { entry, claimed };
}

/**
 * Why the function would refuse to adopt this existing name (the same rules:
 * function/naming.ts), so that a claim it would refuse is never written.
 */
function unadoptable(key: 'databaseName' | 'roleName', value: string): string | undefined {
  if (isReservedName(value)) return `${JSON.stringify(value)} is reserved (the server's own databases and the cloud provider's roles) and cannot be adopted`;
  if (key === 'roleName' && isReadOnlyRoleShape(value)) {
    return `${JSON.stringify(value)} ends like the names of read-only roles (_ro, or _s and 8 hex characters) or of the login roles of alternating rotation (_la, _lb), which cannot be adopted`;
  }
  return undefined;
}

/**
 * Problems that only show across entries: the same claim twice, and (with
 * --keep-names) two claims adopting the same database or role, which would
 * hand one tenant's data to another.
 */
export function crossCheck(entries: Claimed[]): string[] {
  const problems: string[] = [];
  const claims = new Map<string, Claimed>();
  const adopted = { databaseName: new Map<string, Claimed>(), roleName: new Map<string, Claimed>() };
  for (const e of entries) {
    if (e.namespace !== undefined && e.name !== undefined) {
      const id = `${e.namespace}/${e.name}`;
      const earlier = claims.get(id);
      if (earlier) problems.push(`${where(e.source)}: duplicate TenantDatabase ${id}, already declared at ${where(earlier.source)}`);
      else claims.set(id, e);
    }
    for (const key of ['databaseName', 'roleName'] as const) {
      const value = e[key];
      if (value === undefined) continue;
      const other = adopted[key].get(value);
      if (other) {
        problems.push(
          `${where(e.source, key)}: ${key === 'databaseName' ? 'database' : 'role'} ${JSON.stringify(value)} is already adopted by ` +
            `${where(other.source)}${other.namespace !== undefined && other.name !== undefined ? ` (${other.namespace}/${other.name})` : ''}; two claims must never share it`,
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
export function renderClaim(entry: Entry, flavour: Flavour = 'claim'): Record<string, unknown> {
  const annotations: Record<string, string> = {};
  if (entry.deletionProtection) annotations[ARGOCD_SYNC_OPTIONS] = ARGOCD_PROTECTED;
  if (entry.databaseName !== undefined) annotations[ADOPT_DATABASE_ANNOTATION] = entry.databaseName;
  if (entry.roleName !== undefined) annotations[ADOPT_ROLE_ANNOTATION] = entry.roleName;
  const metadata: Record<string, unknown> = { name: entry.name, namespace: entry.namespace };
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  return {
    apiVersion: API_VERSION,
    kind: flavour === 'claim' ? CLAIM_KIND : XR_KIND_NAMESPACED,
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
  return header(entry, flavour) + stringify(renderClaim(entry, flavour), { lineWidth: 0 });
}

/**
 * Parse, validate and render every input. Returns every problem in every
 * input, and the claims of the entries without problems sorted by
 * (namespace, name), so that the output does not depend on input order.
 */
export function migrate(inputs: InputFile[], options: MigrateOptions): Migration {
  const problems: string[] = [];
  const chart = options.chartSecrets ? chartPasswords(options.chartSecrets) : undefined;
  if (chart) problems.push(...chart.problems);
  const entries: Entry[] = [];
  const claimed: Claimed[] = [];
  for (const input of inputs) {
    const parsed = parseValues(input, options);
    problems.push(...parsed.problems);
    entries.push(...parsed.entries);
    claimed.push(...parsed.claimed);
  }
  problems.push(...crossCheck(claimed));

  const sorted = [...entries].sort(byNamespaceAndName);
  const files: OutputFile[] = sorted.map((e) => ({ path: claimPath(e), content: renderFile(e, options.flavour) }));
  const stream = files.map((f) => `---\n${f.content}`).join('');
  const withoutPassword: Entry[] = [];
  if (chart && options.keepNames) {
    for (const e of sorted) {
      const found = chart.secrets.get(`${e.namespace}/${chartSecretName(e)}`);
      if (!found) {
        withoutPassword.push(e);
        continue;
      }
      if (found.username !== undefined && found.username !== e.roleName) {
        problems.push(
          `${options.chartSecrets!.file}: Secret ${e.namespace}/${chartSecretName(e)} is for role ${JSON.stringify(found.username)}, ` +
            `but ${where(e.source)} adopts role ${JSON.stringify(e.roleName)}; set roleName to the role the app logs in as`,
        );
        continue;
      }
      files.push({ path: passwordPath(e), content: renderPasswordFile(e, found.password), secret: true });
    }
  }
  return { problems, entries: sorted, files, stream, withoutPassword };
}

/** The Secret the Helm chart wrote for an entry, holding the role's password: `<name>-secret`. */
export function chartSecretName(entry: Pick<Entry, 'name'>): string {
  return `${entry.name}-secret`;
}

/** Beside the claim: `<namespace>/<name>-password.yaml`. */
export function passwordPath(entry: Entry): string {
  return `${entry.namespace}/${LOGIN_NAMES.adoptedPasswordSecret(entry)}.yaml`;
}

/**
 * The Secret that hands an adopted role's password over to the function
 * (function/composed.ts LOGIN_NAMES.adoptedPasswordSecret; function/passwords.ts (b')):
 * `<name>-password` in the claim's namespace, at the rotation the function
 * starts from, so the role keeps the password the app already has.
 */
export function renderPasswordSecret(entry: Entry, password: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: LOGIN_NAMES.adoptedPasswordSecret(entry),
      namespace: entry.namespace,
      annotations: { [ROTATION_ANNOTATION]: INITIAL_ROTATION },
    },
    type: 'Opaque',
    data: { password: Buffer.from(password, 'utf8').toString('base64') },
  };
}

function renderPasswordFile(entry: Entry, password: string): string {
  const lines = [
    `# The password of role ${entry.roleName}, from the Helm chart's Secret ${entry.namespace}/${chartSecretName(entry)}, handed over`,
    '# to the TenantDatabase function so the adopted role keeps it (docs/migration.md). Apply it BEFORE the claim.',
    '# It holds a password: do not commit it to git; delete it once the claim is Ready.',
  ];
  return lines.join('\n') + '\n' + stringify(renderPasswordSecret(entry, password), { lineWidth: 0 });
}

/**
 * The passwords in the chart's Secrets, by `<namespace>/<name>`: every Secret
 * in the file (a YAML stream, or `kind: List` as kubectl prints it) with a
 * non-empty `password` (data, base64, or stringData).
 */
export function chartPasswords(input: InputFile): { secrets: Map<string, { password: string; username?: string }>; problems: string[] } {
  const secrets = new Map<string, { password: string; username?: string }>();
  const problems: string[] = [];
  const docs = parseAllDocuments(input.text);
  const objects: unknown[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length) {
      problems.push(`${input.file}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
      continue;
    }
    const value: unknown = doc.toJS();
    if (isMapping(value) && value.kind === 'List' && Array.isArray(value.items)) objects.push(...value.items);
    else if (value !== null && value !== undefined) objects.push(value);
  }
  for (const o of objects) {
    if (!isMapping(o) || o.kind !== 'Secret' || !isMapping(o.metadata)) continue;
    const { name, namespace } = o.metadata;
    if (typeof name !== 'string' || typeof namespace !== 'string') continue;
    const read = (key: string): string | undefined => {
      const data = isMapping(o.data) ? o.data[key] : undefined;
      if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
      const plain = isMapping(o.stringData) ? o.stringData[key] : undefined;
      return typeof plain === 'string' && plain !== '' ? plain : undefined;
    };
    const password = read('password');
    if (password === undefined) continue;
    const username = read('username');
    secrets.set(`${namespace}/${name}`, { password, ...(username !== undefined ? { username } : {}) });
  }
  return { secrets, problems };
}
