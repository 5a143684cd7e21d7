/**
 * The name Crossplane gives a package object it creates for a package
 * reference: a Function or Provider pulled in by a Configuration's `dependsOn`,
 * or installed with `crossplane xpkg install KIND REF` without a name.
 *
 * Compositions call a Function by that object name (`functionRef.name`), and a
 * Provider's DeploymentRuntimeConfig is attached by it, so the name has to be
 * known before anything is installed. Crossplane v2.2.4 derives it as
 * `xpkg.ToDNSLabel(ref.Context().RepositoryStr())`:
 * - internal/controller/pkg/resolver/reconciler.go (`NewPackage`) for
 *   dependencies, after `name.ParseReference(dependency)`;
 * - cmd/crank/xpkg/install.go for `crossplane xpkg install` without a name
 *   (same result for any reference that names its registry, which Crossplane v2
 *   requires of `spec.package`);
 * - `ToDNSLabel` in internal/xpkg/name.go;
 * - `RepositoryStr` from go-containerregistry v0.21 pkg/name (repository.go):
 *   the path without registry host, tag or digest. The first path component is
 *   the registry only if it contains '.' or ':' (a bare `localhost` is not one
 *   in v0.21: `localhost/team/fn` is Docker Hub's `localhost/team/fn`); without
 *   a registry the default is index.docker.io, where a one-component path gains
 *   `library/`.
 *
 * The rules are reproduced as they are, quirks included (uppercase dropped, not
 * lowercased; separators never collapsed; cut after byte 62), because a name
 * that is merely "similar" finds no Function.
 */

/** go-containerregistry's default registry (name.DefaultRegistry). */
export const DEFAULT_REGISTRY = 'index.docker.io';

const REPOSITORY_CHARS = /^[a-z0-9_./-]*$/;
/** host[:port] (a name, an IPv4 address or a bracketed IPv6 address), as go-containerregistry's checkRegistry accepts it. */
const REGISTRY_HOST = /^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/;
const TAG = /^[A-Za-z0-9_.-]{1,128}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Crossplane's `xpkg.ToDNSLabel`. Go's `for i := range s` visits the first byte
 * of every UTF-8 character at its byte offset `i`; that byte is kept if it is
 * [a-z0-9], and '.', '/', ':' and '-' become '-' unless at offset 0, 62 or the
 * last byte. Offset 62 ends the loop; leading and trailing '-' are trimmed.
 */
export function toDnsLabel(s: string): string {
  const last = Buffer.byteLength(s, 'utf8') - 1;
  let out = '';
  let i = 0;
  for (const ch of s) {
    const b = ch.charCodeAt(0);
    if ((b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39)) out += ch;
    if ((ch === '.' || ch === '/' || ch === ':' || ch === '-') && i !== 0 && i !== 62 && i !== last) out += '-';
    if (i === 62) break;
    i += Buffer.byteLength(ch, 'utf8');
  }
  return out.replace(/^-+|-+$/g, '');
}

export interface PackageReference {
  /** Registry host[:port], or DEFAULT_REGISTRY when the reference names none. */
  registry: string;
  /** The repository path as go-containerregistry's RepositoryStr() returns it. */
  repository: string;
  /** Whether the reference named its registry (Crossplane v2 requires it of spec.package). */
  explicitRegistry: boolean;
  tag?: string;
  digest?: string;
}

export class ReferenceError extends Error {}

/**
 * go-containerregistry's `name.ParseReference(ref)` with default options, as
 * the dependency resolver calls it: `[registry/]path[:tag][@sha256:hex]`.
 * Refuses what it refuses (uppercase in the path, a bad tag or digest).
 */
export function parsePackageReference(ref: string): PackageReference {
  if (ref === '') throw new ReferenceError('a package reference must not be empty');
  if (/^https?:\/\//.test(ref)) throw new ReferenceError(`${ref}: a package reference has no URL scheme; drop "${ref.split('//')[0]}//"`);
  const at = ref.split('@');
  if (at.length > 2) throw new ReferenceError(`${ref}: more than one "@"`);
  let rest = at[0]!;
  const digest = at[1];
  if (digest !== undefined && !DIGEST.test(digest)) {
    throw new ReferenceError(`${ref}: the digest must be sha256: followed by 64 lowercase hex characters`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && !rest.slice(colon + 1).includes('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ReferenceError(`${ref}: the tag "${tag}" must be 1 to 128 of [A-Za-z0-9_.-]`);
  }
  let registry = DEFAULT_REGISTRY;
  let repository = rest;
  let explicitRegistry = false;
  const slash = rest.indexOf('/');
  if (slash >= 0 && /[.:]/.test(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
    explicitRegistry = true;
  }
  if (!REGISTRY_HOST.test(registry)) throw new ReferenceError(`${ref}: "${registry}" is not a registry host[:port]`);
  if (registry === 'docker.io') registry = DEFAULT_REGISTRY;
  if (!REPOSITORY_CHARS.test(repository)) {
    throw new ReferenceError(`${ref}: the repository path "${repository}" may only contain [a-z0-9_./-] (lowercase)`);
  }
  if (repository.length < 2 || repository.length > 255) {
    throw new ReferenceError(`${ref}: the repository path "${repository}" must be 2 to 255 characters long`);
  }
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;
  return { registry, repository, explicitRegistry, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** The name of the package object Crossplane creates for `ref` (a dependsOn package, or `xpkg install` without a name). */
export function installedPackageName(ref: string): string {
  return toDnsLabel(parsePackageReference(ref).repository);
}
