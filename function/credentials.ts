/**
 * Where the tenant's credentials come from, and the connection strings built
 * from them.
 *
 * The function never invents a password: it would run on every reconcile and
 * rotate the password each time. provider-sql generates it when it creates the
 * Role and publishes username, password, endpoint and port as connection
 * details, which Crossplane hands back to the function with the observed Role.
 * If those are ever missing (the Role's connection secret was lost), the
 * Secret the function rendered before is the second source: what the tenant
 * already uses stays in place.
 */
export interface Credentials {
  username: string;
  password: string;
  endpoint: string;
  port: string;
}

type Bytes = Record<string, Uint8Array | undefined> | undefined;

function text(bytes: Uint8Array | undefined): string | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  return Buffer.from(bytes).toString('utf8');
}

function fromMap(get: (key: string) => string | undefined): Credentials | undefined {
  const password = get('password');
  const endpoint = get('endpoint');
  if (!password || !endpoint) return undefined;
  return { username: get('username') ?? '', password, endpoint, port: get('port') || '5432' };
}

/** From the observed Role's connection details (published by provider-sql). */
export function fromConnectionDetails(details: Bytes): Credentials | undefined {
  if (!details) return undefined;
  return fromMap((key) => text(details[key]));
}

/** From the data of a Secret this function rendered earlier (base64 values). */
export function fromSecretData(data: unknown): Credentials | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const values = data as Record<string, unknown>;
  return fromMap((key) => {
    const value = values[key];
    return typeof value === 'string' && value !== '' ? Buffer.from(value, 'base64').toString('utf8') : undefined;
  });
}

/** Hosts with ':' are IPv6 literals and need brackets inside a URL. */
function urlHost(endpoint: string): string {
  return endpoint.includes(':') && !endpoint.startsWith('[') ? `[${endpoint}]` : endpoint;
}

/** postgresql://user:password@host:port/database?sslmode=… with every part URL-escaped. */
export function postgresUri(c: Credentials, database: string, sslMode: string): string {
  const user = encodeURIComponent(c.username);
  const password = encodeURIComponent(c.password);
  return `postgresql://${user}:${password}@${urlHost(c.endpoint)}:${c.port}/${encodeURIComponent(database)}?sslmode=${sslMode}`;
}

/** jdbc:postgresql://host:port/database?user=…&password=…&sslmode=… (pgJDBC syntax). */
export function jdbcUrl(c: Credentials, database: string, sslMode: string): string {
  const query = `user=${encodeURIComponent(c.username)}&password=${encodeURIComponent(c.password)}&sslmode=${sslMode}`;
  return `jdbc:postgresql://${urlHost(c.endpoint)}:${c.port}/${encodeURIComponent(database)}?${query}`;
}

/**
 * The JSON AWS uses for RDS credentials, so that AWS rotation tooling and
 * anything written for RDS secrets reads it unchanged.
 */
export function rdsSecretJson(c: Credentials, database: string): string {
  const port = Number(c.port);
  return JSON.stringify({
    username: c.username,
    password: c.password,
    engine: 'postgres',
    host: c.endpoint,
    port: Number.isInteger(port) ? port : c.port,
    dbname: database,
  });
}
