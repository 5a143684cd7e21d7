/**
 * provider-sql v0.16.0, as far as this project's PostgreSQL objects go: the SQL
 * its controllers execute for each managed resource the function renders, so
 * that the tests can apply a render to a real server and see what PostgreSQL
 * makes of it. provider-sql itself cannot run here (its Go modules are not
 * served), so this is a translation of its source, kept to the fields the
 * function renders. Anything else (a field or grant type it does not model)
 * throws, rather than being silently skipped.
 *
 * Source: github.com/crossplane-contrib/provider-sql. The v0.16.0 tag
 * (29aa23afa2cf981fcc35625ff7221c7c45765e21) is not in the stored index, so
 * the closest stored versions were read; each handler names the file and
 * commit. Both API groups share one implementation: the namespaced
 * controllers (pkg/controller/namespaced/postgresql/...) issue the same SQL as
 * the cluster ones (pkg/controller/cluster/postgresql/...), read here.
 *
 * Every controller follows crossplane-runtime's managed reconciler: Connect
 * (to the ProviderConfig's server as its admin user, to one database),
 * Observe, then Create when the object does not exist, Update when it is not
 * up to date, and, for an MR being deleted whose policies allow it, Delete
 * until Observe no longer finds it. `reconcile()` and `reconcileDeletion()`
 * below are one such pass.
 */
import { randomInt } from 'node:crypto';

export type Obj = Record<string, any>;

/** How provider-sql reaches PostgreSQL: the ProviderConfig's admin user, one database per connection. */
export interface AdminConnection {
  /** ProviderConfig spec.defaultDatabase. */
  defaultDatabase: string;
  /** The host and port provider-sql publishes as a Role's connection details. */
  endpoint: string;
  port: string;
  /** xsql.DB.Exec: one statement. Throws SqlError. */
  exec(database: string, statement: string): void;
  /** xsql.DB.ExecTx: statements in one transaction. Throws SqlError. */
  execTx(database: string, statements: string[]): void;
  /** xsql.DB.Scan / Query: rows of fields. Throws SqlError. */
  query(database: string, statement: string): string[][];
}

export class SqlError extends Error {}

/** lib/pq QuoteIdentifier. */
export function quoteIdentifier(name: string): string {
  const end = name.indexOf('\0');
  const cut = end > -1 ? name.slice(0, end) : name;
  return `"${cut.replaceAll('"', '""')}"`;
}

/** lib/pq QuoteLiteral. */
export function quoteLiteral(literal: string): string {
  const quoted = literal.replaceAll("'", "''");
  return quoted.includes('\\') ? ` E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

/** crossplane-runtime pkg/password Generate(): 27 characters of [a-zA-Z0-9], crypto/rand. */
export function generatePassword(): string {
  const set = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from({ length: 27 }, () => set[randomInt(set.length)]).join('');
}

/** Observe's answer (managed.ExternalObservation). */
interface Observation {
  exists: boolean;
  upToDate: boolean;
}

/** A Kubernetes Secret's data as provider-sql writes it (connection details). */
export type ConnectionDetails = Record<string, string>;

/** Where a Role's connection secret lives: writeConnectionSecretToRef, namespace defaulting to the MR's own. */
export function connectionSecretKey(mr: Obj): string | undefined {
  const ref = mr.spec?.writeConnectionSecretToRef;
  if (!ref?.name) return undefined;
  return `${ref.namespace ?? mr.metadata?.namespace ?? ''}/${ref.name}`;
}

export function externalName(mr: Obj): string {
  const name = mr.metadata?.annotations?.['crossplane.io/external-name'] ?? mr.metadata?.name;
  if (typeof name !== 'string') throw new Error(`${mr.kind} has no name`);
  return name;
}

/** One controller: each connects to one database (named in its doc comment) and runs these. */
interface Handler {
  observe(mr: Obj): Observation;
  create(mr: Obj): void;
  update(mr: Obj): void;
  delete(mr: Obj): void;
}

/** The forProvider fields each kind may carry; anything else is a translation this file does not have. */
const MODELLED: Record<string, string[]> = {
  Role: ['privileges', 'connectionLimit', 'passwordSecretRef', 'passwordRotationTrigger', 'configurationParameters'],
  Database: ['owner', 'encoding', 'lcCollate', 'lcCType', 'template', 'connectionLimit'],
  Grant: ['role', 'database', 'schema', 'privileges', 'revokePublicOnDb', 'memberOf'],
  Schema: ['database', 'role', 'revokePublicOnSchema', 'dropBehavior'],
  Extension: ['extension', 'database', 'version'],
  DefaultPrivileges: ['role', 'targetRole', 'database', 'schema', 'objectType', 'privileges'],
};

export const SQL_GROUPS = ['postgresql.sql.crossplane.io', 'postgresql.sql.m.crossplane.io'];

export function isSqlManaged(object: Obj): boolean {
  return SQL_GROUPS.includes(String(object.apiVersion ?? '').split('/')[0]!);
}

const bool = (v: string | undefined) => v === 't';

/** What one reconcile pass did besides observing: crossplane-runtime requeues at once after a Create. */
export interface Pass {
  created: boolean;
  updated: boolean;
}

/**
 * provider-sql's PostgreSQL controllers over one admin connection. Connection
 * secrets it writes are kept in `connectionSecrets`, by namespace/name.
 */
export class ProviderSql {
  readonly connectionSecrets = new Map<string, ConnectionDetails>();
  /** Every other Secret in the cluster (the function's password Secrets, the platform key), by namespace/name, decoded. */
  readonly kubeSecrets = new Map<string, Record<string, string>>();
  /** The controller's clock (metav1.Now), for status.atProvider.lastPasswordChange: one second later on every reading. */
  private now = Date.UTC(2026, 11, 4, 15, 0, 0);
  /** Every statement executed, in order (passwords masked): for failure messages and the report. */
  readonly log: string[] = [];
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly db: AdminConnection) {
    this.handlers = {
      Role: this.role(),
      Database: this.databaseHandler(),
      Grant: this.grant(),
      Schema: this.schema(),
      Extension: this.extension(),
      DefaultPrivileges: this.defaultPrivileges(),
    };
  }

  private handler(mr: Obj): Handler {
    const h = this.handlers[mr.kind];
    if (!h || !isSqlManaged(mr)) throw new Error(`provider-sql translation: ${mr.apiVersion} ${mr.kind} is not modelled`);
    const unknown = Object.keys(mr.spec?.forProvider ?? {}).filter((f) => !MODELLED[mr.kind]!.includes(f));
    if (unknown.length) throw new Error(`provider-sql translation: ${mr.kind}.spec.forProvider.${unknown.join(', ')} is not modelled`);
    return h;
  }

  /** A Secret as the controller's kube client gets it: connection secrets and every other one. */
  secret(key: string): Record<string, string> | undefined {
    return this.connectionSecrets.get(key) ?? this.kubeSecrets.get(key);
  }

  private clock(): string {
    this.now += 1000;
    return new Date(this.now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  // --- the statements, one handler per kind -------------------------------------------------------

  /** Exec, with a password (if any) masked in the log and in PostgreSQL's error, which may quote the statement. */
  private exec(database: string, statement: string, secret?: string): void {
    const mask = (text: string) => (secret ? text.replaceAll(secret, '***') : text);
    this.log.push(`[${database}] ${mask(statement)}`);
    try {
      this.db.exec(database, statement);
    } catch (error) {
      throw new SqlError(mask((error as Error).message));
    }
  }

  private execTx(database: string, statements: string[]): void {
    this.log.push(`[${database}] BEGIN; ${statements.map((s) => (s.endsWith(';') ? s : `${s};`)).join(' ')} COMMIT`);
    this.db.execTx(database, statements);
  }

  /**
   * Role: pkg/controller/cluster/postgresql/role/reconciler.go (commit 04b82ca),
   * Observe / Create / Update / Delete, privilegesToClauses, changedPrivs,
   * upToDate, lateInit. Connects to the default database.
   *
   * upToDate compares the *bool and *int32 fields of observed and desired
   * with `!=`, that is by pointer: any attribute the MR sets makes the Role
   * "not up to date", so every reconcile runs Update. Update then issues only
   * the clauses that differ from what Observe found (none, normally) and
   * `ALTER ROLE ... CONNECTION LIMIT n`, the limit being lateInit's observed
   * one when the MR sets none.
   */
  private role(): Handler {
    // privilegesToClauses: this order, "NO" prefix when false, nothing when unset.
    const CLAUSES: [string, string][] = [
      ['superUser', 'SUPERUSER'], ['inherit', 'INHERIT'], ['createDb', 'CREATEDB'], ['createRole', 'CREATEROLE'],
      ['login', 'LOGIN'], ['replication', 'REPLICATION'], ['bypassRls', 'BYPASSRLS'],
    ];
    const clauses = (p: Obj) => CLAUSES.filter(([f]) => typeof p[f] === 'boolean').map(([f, c]) => (p[f] ? c : `NO${c}`));
    const observed = (mr: Obj) => {
      const [row] = this.db.query(this.db.defaultDatabase,
        'SELECT rolsuper, rolinherit, rolcreatedb, rolcreaterole, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit ' +
        `FROM pg_roles WHERE rolname = ${quoteLiteral(externalName(mr))}`);
      if (!row) return undefined;
      const [superUser, inherit, createDb, createRole, login, replication, bypassRls, limit] = row;
      return {
        privileges: { superUser: bool(superUser), inherit: bool(inherit), createDb: bool(createDb), createRole: bool(createRole),
          login: bool(login), replication: bool(replication), bypassRls: bool(bypassRls) } as Obj,
        connectionLimit: Number(limit),
        configurationParameters: roleSettings(mr),
      };
    };
    /**
     * configurationParameters: Create runs `ALTER ROLE x set "name"="value"` for each (the value quoted as an
     * identifier, as v0.16.0 does); Observe reads pg_db_role_setting (database 0) and Update, when they
     * differ from the MR's, runs `ALTER ROLE x RESET ALL` and sets them again.
     */
    const roleSettings = (mr: Obj): string[] => {
      const [row] = this.db.query(this.db.defaultDatabase,
        'SELECT array_to_string(s.setconfig, chr(1)) FROM pg_db_role_setting s JOIN pg_roles r ON s.setrole = r.oid ' +
        `WHERE s.setdatabase = 0 AND r.rolname = ${quoteLiteral(externalName(mr))}`);
      return row?.[0] ? row[0].split('\u0001') : [];
    };
    const wantedSettings = (mr: Obj): string[] | undefined =>
      (mr.spec.forProvider.configurationParameters as { name: string; value: string }[] | undefined)?.map((p) => `${p.name}=${p.value}`);
    const setSettings = (mr: Obj, name: string) => {
      for (const p of (mr.spec.forProvider.configurationParameters ?? []) as { name: string; value: string }[]) {
        this.exec(this.db.defaultDatabase, `ALTER ROLE ${name} set ${quoteIdentifier(p.name)}=${quoteIdentifier(p.value)}`);
      }
    };
    const settingsDiffer = (mr: Obj, have: string[]) => {
      const want = wantedSettings(mr);
      return want !== undefined && [...want].sort().join('\n') !== [...have].sort().join('\n');
    };
    /**
     * getPassword (role/utils.go, commit 0c815b2) and shouldResetPassword. With passwordSecretRef: a Get
     * of that Secret (an error fails Observe, Create and Update alike: nothing changes), its data[key] is
     * the password, "changed" when it is not empty and differs from the password in the Role's connection
     * secret (NotFound counts as empty). Without: a reset when passwordRotationTrigger is set and
     * lastPasswordChange is unset or earlier than it; and, as SPEC measured v0.16.0 ("Measured
     * 2026-12-04"), when the connection secret is missing or holds no password while lastPasswordChange
     * is unset — and only then. Each reset sets lastPasswordChange to now.
     */
    const getPassword = (mr: Obj): { password: string; changed: boolean; reset: boolean } => {
      const ref = mr.spec.forProvider.passwordSecretRef;
      const key = connectionSecretKey(mr);
      if (ref) {
        const where = `${ref.namespace ?? mr.metadata?.namespace ?? ''}/${ref.name}`;
        const secret = this.secret(where);
        if (!secret) throw new SqlError(`cannot get password secret: Secret "${ref.name}" not found`);
        const password = secret[ref.key] ?? '';
        if (!key) return { password, changed: false, reset: false };
        return { password, changed: password !== '' && password !== (this.connectionSecrets.get(key)?.password ?? ''), reset: false };
      }
      const last = mr.status?.atProvider?.lastPasswordChange as string | undefined;
      const trigger = mr.spec.forProvider.passwordRotationTrigger as string | undefined;
      const reset = trigger !== undefined
        ? last === undefined || Date.parse(trigger) > Date.parse(last)
        : last === undefined && key !== undefined && !this.connectionSecrets.get(key)?.password;
      return { password: '', changed: reset, reset };
    };
    const passwordChanged = (mr: Obj, reset: boolean) => {
      if (reset) mr.status = { ...mr.status, atProvider: { ...mr.status?.atProvider, lastPasswordChange: this.clock() } };
    };
    // postgresql.GetConnectionDetails (username, password, endpoint, port), which Crossplane writes to the connection secret.
    const publish = (mr: Obj, password: string) => {
      const key = connectionSecretKey(mr);
      if (key) this.connectionSecrets.set(key, { username: externalName(mr), password, endpoint: this.db.endpoint, port: this.db.port });
    };
    let seen: ReturnType<typeof observed>; // what this pass's Observe found, for Update's changedPrivs
    return {
      observe: (mr) => {
        const o = (seen = observed(mr));
        if (!o) return { exists: false, upToDate: false };
        const want = mr.spec.forProvider;
        // Unset fields are late-initialized to the observed pointers, and so compare equal; set ones never do.
        const setFields = CLAUSES.some(([f]) => typeof want.privileges?.[f] === 'boolean') || want.connectionLimit !== undefined;
        return { exists: true, upToDate: !setFields && !getPassword(mr).changed && !settingsDiffer(mr, o.configurationParameters) };
      },
      create: (mr) => {
        const name = quoteIdentifier(externalName(mr));
        // The password Secret's, or (none, or empty) a generated one; Create sets no lastPasswordChange (SPEC).
        const password = getPassword(mr).password || generatePassword();
        this.exec(this.db.defaultDatabase, `CREATE ROLE ${name} PASSWORD ${quoteLiteral(password)} ${clauses(mr.spec.forProvider.privileges ?? {}).join(' ')}`, password);
        setSettings(mr, name);
        publish(mr, password);
      },
      update: (mr) => {
        const name = quoteIdentifier(externalName(mr));
        const got = getPassword(mr);
        if (got.changed) {
          const password = got.password || generatePassword();
          this.exec(this.db.defaultDatabase, `ALTER ROLE ${name} PASSWORD ${quoteLiteral(password)}`, password);
          passwordChanged(mr, got.reset);
          publish(mr, password);
        }
        // changedPrivs: only the clauses that differ from what Observe found.
        const have = clauses(seen!.privileges);
        const changed = clauses(mr.spec.forProvider.privileges ?? {}).filter((c) => !have.includes(c));
        if (changed.length) this.exec(this.db.defaultDatabase, `ALTER ROLE ${name} ${changed.join(' ')}`);
        const limit = mr.spec.forProvider.connectionLimit ?? seen!.connectionLimit;
        this.exec(this.db.defaultDatabase, `ALTER ROLE ${name} CONNECTION LIMIT ${Math.trunc(limit)}`);
        if (settingsDiffer(mr, seen!.configurationParameters)) {
          this.exec(this.db.defaultDatabase, `ALTER ROLE ${name} RESET ALL`);
          setSettings(mr, name);
        }
      },
      delete: (mr) => this.exec(this.db.defaultDatabase, `DROP ROLE IF EXISTS ${quoteIdentifier(externalName(mr))}`),
    };
  }

  /**
   * Database: pkg/controller/cluster/postgresql/database/reconciler.go (commits 3411bfb, 01d46b5),
   * Observe / Create / Update / Delete, upToDate (Template ignored). Connects to the default database.
   */
  private databaseHandler(): Handler {
    const OBSERVED = ['owner', 'encoding', 'lcCollate', 'lcCType', 'allowConnections', 'connectionLimit', 'isTemplate', 'tablespace'];
    const literal = (v: string) => (v === 'DEFAULT' ? v : quoteLiteral(v));
    const identifier = (v: string) => (v === 'DEFAULT' ? v : quoteIdentifier(v));
    return {
      observe: (mr) => {
        const [row] = this.db.query(this.db.defaultDatabase,
          'SELECT pg_catalog.pg_get_userbyid(db.datdba), pg_catalog.pg_encoding_to_char(db.encoding), db.datcollate, db.datctype, ' +
          'db.datallowconn, db.datconnlimit, db.datistemplate, ts.spcname FROM pg_database AS db, pg_tablespace AS ts ' +
          `WHERE db.datname=${quoteLiteral(externalName(mr))} AND db.dattablespace = ts.oid`);
        if (!row) return { exists: false, upToDate: false };
        const o: Obj = { owner: row[0], encoding: row[1], lcCollate: row[2], lcCType: row[3], allowConnections: bool(row[4]),
          connectionLimit: Number(row[5]), isTemplate: bool(row[6]), tablespace: row[7] };
        const want = mr.spec.forProvider;
        // lateInit fills what is unset, so only the rendered fields can differ.
        return { exists: true, upToDate: OBSERVED.every((f) => want[f] === undefined || want[f] === o[f]) };
      },
      create: (mr) => {
        const p = mr.spec.forProvider;
        let sql = `CREATE DATABASE ${quoteIdentifier(externalName(mr))}`;
        if (p.owner !== undefined) sql += ` OWNER ${quoteIdentifier(p.owner)}`;
        if (p.template !== undefined) sql += ` TEMPLATE ${identifier(p.template)}`;
        if (p.encoding !== undefined) sql += ` ENCODING ${literal(p.encoding)}`;
        if (p.lcCollate !== undefined) sql += ` LC_COLLATE ${literal(p.lcCollate)}`;
        if (p.lcCType !== undefined) sql += ` LC_CTYPE ${literal(p.lcCType)}`;
        if (p.connectionLimit !== undefined) sql += ` CONNECTION LIMIT ${p.connectionLimit}`;
        this.exec(this.db.defaultDatabase, sql);
      },
      update: (mr) => {
        const p = mr.spec.forProvider;
        const name = quoteIdentifier(externalName(mr));
        if (p.owner !== undefined) this.exec(this.db.defaultDatabase, `ALTER DATABASE ${name} OWNER TO ${quoteIdentifier(p.owner)}`);
        if (p.connectionLimit !== undefined) this.exec(this.db.defaultDatabase, `ALTER DATABASE ${name} CONNECTION LIMIT = ${p.connectionLimit}`);
      },
      delete: (mr) => this.exec(this.db.defaultDatabase, `DROP DATABASE IF EXISTS ${quoteIdentifier(externalName(mr))}`),
    };
  }

  /**
   * Grant: pkg/controller/cluster/postgresql/grant/reconciler.go (commit 029466a),
   * createDatabaseGrantQueries, createSchemaGrantQueries, createMemberGrantQueries,
   * selectDatabaseGrantQuery, selectSchemaGrantQuery, selectMemberGrantQuery,
   * deleteGrantQuery; the grant type from the fields set (resolveGrantType:
   * memberOf first, and then neither database nor privileges may be set;
   * apis .../grant_types.go IdentifyGrantType: {database} or {database, schema}),
   * the privileges Observe expects from grantReplacements. Connects to
   * forProvider.database (the default database when there is none, as for a
   * membership) and reads the server version while connecting, so a missing
   * database fails Connect (modelled as part of Observe: Connect always
   * precedes it). A Grant that exists is always up to date: provider-sql never
   * issues it again while Observe finds it.
   */
  private grant(): Handler {
    const REPLACEMENTS: Record<string, Record<string, string[]>> = {
      database: { ALL: ['CREATE', 'TEMPORARY', 'CONNECT'], 'ALL PRIVILEGES': ['CREATE', 'TEMPORARY', 'CONNECT'], TEMP: ['TEMPORARY'] },
      schema: { ALL: ['CREATE', 'USAGE'], 'ALL PRIVILEGES': ['CREATE', 'USAGE'] },
    };
    const type = (mr: Obj): 'database' | 'schema' | 'member' => {
      const p = mr.spec.forProvider;
      if (p.memberOf !== undefined) {
        if (p.database !== undefined || p.privileges !== undefined) throw new SqlError('cannot set privileges or database in the same grant as memberOf');
        return 'member';
      }
      if (p.database === undefined) throw new Error('provider-sql translation: a Grant without database is not modelled');
      return p.schema === undefined ? 'database' : 'schema';
    };
    const privileges = (mr: Obj) => (mr.spec.forProvider.privileges as string[]).join(',');
    const expanded = (mr: Obj, t: 'database' | 'schema') => (mr.spec.forProvider.privileges as string[]).flatMap((p) => REPLACEMENTS[t]![p] ?? [p]);
    const array = (items: string[]) => `ARRAY[${items.map(quoteLiteral).join(',')}]::text[]`;
    const aclMatches = (catalog: string, column: string, nameColumn: string, name: string, role: string, privs: string[]) =>
      `SELECT EXISTS(SELECT 1 FROM ${catalog}, aclexplode(${column}) as acl INNER JOIN pg_roles s ON acl.grantee = s.oid ` +
      `WHERE ${nameColumn}=${quoteLiteral(name)} AND s.rolname=${quoteLiteral(role)} AND acl.is_grantable=false ` +
      `GROUP BY ${nameColumn}, s.rolname, acl.is_grantable ` +
      `HAVING array_agg(acl.privilege_type ORDER BY privilege_type ASC) = (SELECT array(SELECT unnest(${array(privs)}) as perms ORDER BY perms ASC)))`;
    // selectMemberGrantQuery without withInherit; admin_option false (no withOption).
    const memberExists = (role: string, memberOf: string) =>
      'SELECT EXISTS(SELECT 1 FROM pg_auth_members m INNER JOIN pg_roles mo ON m.roleid = mo.oid ' +
      `INNER JOIN pg_roles r ON m.member = r.oid WHERE r.rolname=${quoteLiteral(role)} AND mo.rolname=${quoteLiteral(memberOf)} AND m.admin_option = false)`;
    const on = (mr: Obj) => {
      const p = mr.spec.forProvider;
      return type(mr) === 'database' ? `DATABASE ${quoteIdentifier(p.database)}` : `SCHEMA ${quoteIdentifier(p.schema)}`;
    };
    return {
      observe: (mr) => {
        const p = mr.spec.forProvider;
        if (p.role === undefined) throw new SqlError('role not passed or could not be resolved');
        const db = p.database ?? this.db.defaultDatabase;
        const t = type(mr);
        const query =
          t === 'member'
            ? memberExists(p.role, p.memberOf)
            : t === 'database'
              ? aclMatches('pg_database db', 'db.datacl', 'db.datname', p.database, p.role, expanded(mr, t))
              : aclMatches('pg_namespace n', 'n.nspacl', 'n.nspname', p.schema, p.role, expanded(mr, t));
        // Connect's GetServerVersion and Observe's query, on one connection: both fail when the database is gone.
        const rows = this.db.query(db, `SHOW server_version_num; ${query}`);
        const exists = rows[rows.length - 1]?.[0] === 't';
        return { exists, upToDate: exists };
      },
      create: (mr) => {
        const p = mr.spec.forProvider;
        const role = quoteIdentifier(p.role);
        if (type(mr) === 'member') {
          // membershipWithClauses(nil, nil) is "", which leaves a trailing space in the GRANT.
          const memberOf = quoteIdentifier(p.memberOf);
          this.execTx(this.db.defaultDatabase, [`REVOKE ${memberOf} FROM ${role}`, `GRANT ${memberOf} TO ${role} `]);
          return;
        }
        // withOption(nil) is "", which leaves a trailing space in the GRANT.
        const statements = [`REVOKE ${privileges(mr)} ON ${on(mr)} FROM ${role}`, `GRANT ${privileges(mr)} ON ${on(mr)} TO ${role} `];
        if (type(mr) === 'database' && p.revokePublicOnDb === true) statements.push(`REVOKE ALL ON DATABASE ${quoteIdentifier(p.database)} FROM PUBLIC`);
        this.execTx(p.database ?? this.db.defaultDatabase, statements);
      },
      update: () => undefined,
      delete: (mr) => {
        const p = mr.spec.forProvider;
        if (type(mr) === 'member') {
          this.exec(this.db.defaultDatabase, `REVOKE ${quoteIdentifier(p.memberOf)} FROM ${quoteIdentifier(p.role)}`);
          return;
        }
        // Only the privileges: REVOKE ALL ... FROM PUBLIC (revokePublicOnDb) is never undone.
        this.exec(p.database ?? this.db.defaultDatabase, `REVOKE ${privileges(mr)} ON ${on(mr)} FROM ${quoteIdentifier(p.role)}`);
      },
    };
  }

  /**
   * Schema: pkg/controller/cluster/postgresql/schema/reconciler.go (commit 0245e0b),
   * createSchemaQueries, updateSchemaQueries, Observe, Delete. Connects to
   * forProvider.database; a database that does not exist means no schema
   * (IsInvalidCatalog). Note revokePublicOnSchema: the statement is literally
   * `REVOKE ALL ON SCHEMA PUBLIC FROM PUBLIC;`, on schema public, whatever
   * schema the object names.
   */
  private schema(): Handler {
    const statements = (mr: Obj, create: boolean) => {
      const p = mr.spec.forProvider;
      const name = quoteIdentifier(externalName(mr));
      const out = create
        ? [`CREATE SCHEMA IF NOT EXISTS ${name}${p.role !== undefined ? ` AUTHORIZATION ${quoteIdentifier(p.role)};` : ''}`]
        : [`ALTER SCHEMA ${name} OWNER TO ${quoteIdentifier(p.role)}`];
      if (p.revokePublicOnSchema === true) out.push('REVOKE ALL ON SCHEMA PUBLIC FROM PUBLIC;');
      return out;
    };
    return {
      observe: (mr) => {
        const rows = this.catalogQuery(mr.spec.forProvider.database,
          `SELECT rolname FROM pg_catalog.pg_namespace JOIN pg_catalog.pg_roles ON (nspowner=pg_roles.oid) where nspname = ${quoteLiteral(externalName(mr))}`);
        const owner = rows?.[0]?.[0];
        if (owner === undefined) return { exists: false, upToDate: false };
        const role = mr.spec.forProvider.role;
        return { exists: true, upToDate: role === undefined || role === owner };
      },
      create: (mr) => this.execTx(mr.spec.forProvider.database, statements(mr, true)),
      update: (mr) => {
        if (mr.spec.forProvider.role !== undefined) this.execTx(mr.spec.forProvider.database, statements(mr, false));
      },
      delete: (mr) => this.exec(mr.spec.forProvider.database,
        `DROP SCHEMA IF EXISTS ${quoteIdentifier(externalName(mr))} ${mr.spec.forProvider.dropBehavior ?? 'RESTRICT'}`),
    };
  }

  /**
   * Extension: pkg/controller/cluster/postgresql/extension/reconciler.go (commit 01d46b5).
   * Connects to forProvider.database; a missing database means no extension.
   */
  private extension(): Handler {
    return {
      observe: (mr) => {
        const p = mr.spec.forProvider;
        const rows = this.catalogQuery(p.database ?? this.db.defaultDatabase, `SELECT extversion FROM pg_extension WHERE extname = ${quoteLiteral(p.extension)}`);
        const version = rows?.[0]?.[0];
        if (version === undefined) return { exists: false, upToDate: false };
        return { exists: true, upToDate: p.version === undefined || p.version === version };
      },
      create: (mr) => {
        const p = mr.spec.forProvider;
        const version = p.version !== undefined ? ` WITH VERSION ${quoteIdentifier(p.version)}` : '';
        this.exec(p.database ?? this.db.defaultDatabase, `CREATE EXTENSION IF NOT EXISTS ${quoteIdentifier(p.extension)}${version}`);
      },
      update: () => undefined,
      delete: (mr) => this.exec(mr.spec.forProvider.database ?? this.db.defaultDatabase, `DROP EXTENSION IF EXISTS ${quoteIdentifier(mr.spec.forProvider.extension)}`),
    };
  }

  /**
   * DefaultPrivileges: pkg/controller/cluster/postgresql/default_privileges/reconciler.go
   * (commits 97e9014, 271b3c9): selectDefaultPrivilegesQuery, createDefaultPrivilegesQuery,
   * deleteDefaultPrivilegesQuery, Observe, Create (revoke then grant, one transaction),
   * Update (a no-op), Delete. Connects to forProvider.database.
   *
   * Observe looks only at the object type and the grantee: not at the target
   * role, not at the schema. So once one DefaultPrivileges for a grantee and
   * object type exists in a database, every other one with the same
   * privileges is observed as existing and is never created. Reported against
   * v0.16.1 as crossplane-contrib/provider-sql#458 (fix proposed in #459).
   */
  private defaultPrivileges(): Handler {
    const OBJECT_TYPES: Record<string, string> = { table: 'r', sequence: 'S', function: 'f', type: 'T', schema: 'n' };
    const inSchema = (p: Obj) => (p.schema !== undefined ? `IN SCHEMA ${quoteIdentifier(p.schema)}` : '');
    const revoke = (p: Obj) =>
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdentifier(p.targetRole)} ${inSchema(p)} REVOKE ALL ON ${p.objectType}S FROM ${quoteIdentifier(p.role)}`.trim();
    const grant = (p: Obj) =>
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdentifier(p.targetRole)} ${inSchema(p)} GRANT ${(p.privileges as string[]).join(',')} ON ${p.objectType}S TO ${quoteIdentifier(p.role)}`.trim();
    const database = (mr: Obj) => mr.spec.forProvider.database ?? this.db.defaultDatabase;
    return {
      observe: (mr) => {
        const p = mr.spec.forProvider;
        const rows = this.db.query(database(mr),
          'select distinct(default_acl.privilege_type) from pg_roles r join (SELECT defaclnamespace, (aclexplode(defaclacl)).* ' +
          `FROM pg_default_acl WHERE defaclobjtype = ${quoteLiteral(OBJECT_TYPES[p.objectType]!)}) default_acl ` +
          `on r.oid = default_acl.grantee where r.rolname = ${quoteLiteral(p.role)}`);
        const found = rows.map((r) => r[0]!).sort();
        const wanted = [...(p.privileges as string[])].sort();
        // matchingGrants; "exists" is the match itself, so a mismatch makes Create run again.
        const matches = found.length > 0 && found.length === wanted.length && found.every((g, i) => g === wanted[i]);
        return { exists: matches, upToDate: matches };
      },
      create: (mr) => this.execTx(database(mr), [revoke(mr.spec.forProvider), grant(mr.spec.forProvider)]),
      update: () => undefined,
      delete: (mr) => this.exec(database(mr), revoke(mr.spec.forProvider)),
    };
  }

  /** A catalog query on a database that may be gone: IsInvalidCatalog means "does not exist" to Schema and Extension. */
  private catalogQuery(database: string, statement: string): string[][] | undefined {
    try {
      return this.db.query(database, statement);
    } catch (error) {
      if (/database ".*" does not exist/.test((error as Error).message)) return undefined;
      throw error;
    }
  }

  // --- crossplane-runtime's managed reconciler ------------------------------------------------------

  /**
   * One pass of the managed reconciler for an MR that is not being deleted:
   * Connect, Observe, then Create if it does not exist, else Update if it is
   * not up to date (each only when managementPolicies allow it). Connection
   * details from Create/Update are written to the Role's connection secret.
   * Throws SqlError with PostgreSQL's message on failure (a ReconcileError).
   */
  reconcile(mr: Obj): Pass {
    const h = this.handler(mr);
    const o = h.observe(mr);
    const policies = managementPolicies(mr);
    if (!o.exists && (policies.has('*') || policies.has('Create'))) {
      h.create(mr);
      return { created: true, updated: false };
    }
    if (o.exists && !o.upToDate && (policies.has('*') || policies.has('Update'))) {
      h.update(mr);
      return { created: false, updated: true };
    }
    return { created: false, updated: false };
  }

  /**
   * One pass of the managed reconciler for an MR being deleted. Returns true
   * when the finalizer comes off: at once when the policies orphan the
   * external object, else once Observe no longer finds it (Delete is issued
   * while it does). Throws when Connect, Observe or Delete fails: the MR then
   * stays, and is retried.
   */
  reconcileDeletion(mr: Obj): boolean {
    if (!shouldDelete(mr)) return true;
    const h = this.handler(mr);
    if (!h.observe(mr).exists) return true;
    h.delete(mr);
    return !h.observe(mr).exists;
  }
}

function managementPolicies(mr: Obj): Set<string> {
  const list = mr.spec?.managementPolicies;
  return new Set(Array.isArray(list) && list.length ? list : ['*']);
}

/**
 * crossplane-runtime ManagementPoliciesResolver.ShouldDelete. Cluster-scoped
 * (legacy) MRs: deletionPolicy (default Delete) with managementPolicies
 * including Delete or '*', or non-default managementPolicies including Delete.
 * Namespaced MRs have no deletionPolicy: managementPolicies alone decide.
 */
export function shouldDelete(mr: Obj): boolean {
  const policies = managementPolicies(mr);
  const hasDelete = policies.has('Delete') || policies.has('*');
  const isDefault = policies.size === 1 && policies.has('*');
  if (String(mr.apiVersion).startsWith('postgresql.sql.m.')) return hasDelete;
  const deletionPolicy = mr.spec?.deletionPolicy ?? 'Delete';
  return (deletionPolicy === 'Delete' && hasDelete) || (!isDefault && policies.has('Delete'));
}
