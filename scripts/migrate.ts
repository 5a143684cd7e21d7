#!/usr/bin/env node
/**
 * `npm run migrate -- [--out DIR] [--dry-run] [--flavour claim|namespaced] [--keep-names] [--force] <values.yaml | dir>...`
 *
 * Turn the Helm chart's `tenantDatabases:` values into TenantDatabase claims,
 * one file per entry: `<out>/<namespace>/<name>.yaml` (default out: ./claims).
 * A directory argument is searched recursively for files named values.yaml
 * (e.g. apps/<namespace>/<app>/values.yaml), in sorted order.
 *
 * All inputs are validated before anything is written; any problem exits 1
 * with one line per problem (file, entry index, key) and writes nothing. An
 * existing claim file with different content is not overwritten unless
 * --force is given (it may hold hand-made changes). `--dry-run` prints the
 * YAML stream on stdout and writes nothing. The logic lives in migration.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { migrate, MigrationError, type Flavour, type InputFile } from './migration.js';

const USAGE = 'usage: npm run migrate -- [--out DIR] [--dry-run] [--flavour claim|namespaced] [--keep-names] [--force] <values.yaml | dir>...';
const DEFAULT_OUT = 'claims';
const SKIP_DIRS = new Set(['node_modules', '.git']);

class UsageError extends Error {}

/** Every file named values.yaml below dir, sorted by path (byte order, so independent of locale). */
function findValuesFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    const names = readdirSync(d).sort();
    for (const name of names) {
      const path = join(d, name);
      const stat = statSync(path);
      if (stat.isDirectory()) {
        if (!SKIP_DIRS.has(name)) walk(path);
      } else if (name === 'values.yaml' && stat.isFile()) {
        found.push(path);
      }
    }
  };
  walk(dir);
  return found.sort();
}

function inputFiles(args: string[]): InputFile[] {
  const paths: string[] = [];
  for (const arg of args) {
    if (!existsSync(arg)) throw new MigrationError([`${arg}: no such file or directory`]);
    if (statSync(arg).isDirectory()) {
      const found = findValuesFiles(arg);
      if (!found.length) throw new MigrationError([`${arg}: no values.yaml found below this directory`]);
      paths.push(...found);
    } else {
      paths.push(arg);
    }
  }
  // A file named twice (directly and through a directory) is read once.
  const seen = new Set<string>();
  const unique = paths.filter((p) => {
    const key = resolve(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.map((file) => ({ file, text: readFileSync(file, 'utf8') }));
}

function main(): number {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        'dry-run': { type: 'boolean' },
        flavour: { type: 'string' },
        'keep-names': { type: 'boolean' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!positionals.length) throw new UsageError('no values.yaml file or directory given');
  const flavour = values.flavour ?? 'claim';
  if (flavour !== 'claim' && flavour !== 'namespaced') throw new UsageError(`--flavour must be claim or namespaced, got ${JSON.stringify(flavour)}`);
  const keepNames = values['keep-names'] ?? false;
  const out = values.out ?? DEFAULT_OUT;

  const result = migrate(inputFiles(positionals), { flavour: flavour as Flavour, keepNames });
  if (!result.files.length) {
    process.stderr.write('migrate: no tenantDatabases entries found; nothing to do\n');
    return 0;
  }

  if (values['dry-run']) {
    process.stdout.write(result.stream);
  } else {
    const targets = result.files.map((f) => ({ ...f, target: join(out, f.path) }));
    const conflicts = targets
      .filter((f) => existsSync(f.target) && readFileSync(f.target, 'utf8') !== f.content)
      .map((f) => `${f.target}: exists with different content; not overwritten (remove it, choose another --out, or pass --force)`);
    if (conflicts.length && !values.force) throw new MigrationError(conflicts);
    for (const f of targets) {
      mkdirSync(dirname(f.target), { recursive: true });
      writeFileSync(f.target, f.content);
    }
    process.stderr.write(`migrate: wrote ${targets.length} ${flavour === 'claim' ? 'claim' : 'TenantDatabase'} file(s) to ${relative(process.cwd(), resolve(out)) || '.'}\n`);
  }
  if (!keepNames) {
    process.stderr.write(
      'migrate: note: without --keep-names each TenantDatabase gets a NEW, empty database and role named by the platform;\n' +
        '         to keep using the databases the Helm chart created, run with --keep-names (see docs/migration.md)\n',
    );
  }
  return 0;
}

try {
  process.exitCode = main();
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`migrate: ${error.message}\n${USAGE}\n`);
    process.exitCode = 2;
  } else if (error instanceof MigrationError) {
    process.stderr.write(`migrate: refused, nothing written:\n${error.problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`migrate: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
