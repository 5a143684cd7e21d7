/**
 * backup/Dockerfile as written: every stage builds on a base pinned by digest,
 * and the PostgreSQL client is the newest supported major, 17, which dumps
 * every older server. (The image cannot be built where the tests run: no
 * container engine; the build itself checks the client it installed.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../support/shared.js';

const dockerfile = readFileSync(repoPath('backup/Dockerfile'), 'utf8');
const args = Object.fromEntries([...dockerfile.matchAll(/^ARG (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
const resolve = (ref: string) => ref.replace(/^\$\{(\w+)\}$/, (_, name: string) => args[name] ?? '');

describe('backup/Dockerfile', () => {
  it('every FROM is pinned by a sha256 digest (reason: a tag moves; the same Dockerfile must build on the same bytes)', () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => resolve(m[1]!));
    expect(froms.length).toBeGreaterThan(0);
    for (const ref of froms) expect(ref).toMatch(/^[a-z0-9./-]+(:[\w.-]+)?@sha256:[a-f0-9]{64}$/);
  });

  it('ships PostgreSQL client 17 by default and checks at build time that it got that major', () => {
    expect(args.PG_MAJOR).toBe('17');
    expect(dockerfile).toContain('"postgresql-client-${PG_MAJOR}');
    expect(dockerfile).toMatch(/pg_dump --version \| grep -q "\^pg_dump \(PostgreSQL\) \$\{PG_MAJOR\}\\\./);
  });

  it("checks PGDG's signing key against its fingerprint before trusting it", () => {
    expect(args.PGDG_KEY_FINGERPRINT).toMatch(/^[A-F0-9]{40}$/);
    expect(dockerfile).toContain('fpr:::::::::${PGDG_KEY_FINGERPRINT}:');
  });
});
