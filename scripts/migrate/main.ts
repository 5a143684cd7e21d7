#!/usr/bin/env node
/**
 * `npm run migrate -- [--out DIR] [--dry-run] [--flavour claim|namespaced] [--keep-names [--passwords SECRETS.yaml]] [--force] <values.yaml | dir>...`
 *
 * Turn the Helm chart's `tenantDatabases:` values into TenantDatabase claims,
 * one file per entry: `<out>/<namespace>/<name>.yaml` (default out: ./claims).
 * A directory argument is searched recursively for files named values.yaml
 * (e.g. apps/<namespace>/<app>/values.yaml), in sorted order.
 *
 * Relative paths are taken from the directory the user ran the command in,
 * not from the package root where `npm run` starts it.
 *
 * All inputs are validated before anything is written; any problem exits 1
 * with one line per problem (file, entry index, key) and writes nothing. An
 * existing claim file with different content is not overwritten unless
 * --force is given (it may hold hand-made changes); one with the same content
 * is left alone, and a run that would change nothing says so. `--dry-run`
 * prints the YAML stream on stdout and writes nothing. The logic lives in
 * migration.ts.
 *
 * `--passwords FILE` (with --keep-names): the chart's Secrets as
 * `kubectl get secret -o yaml` prints them. Each adopted role's password is
 * handed over in `<out>/<namespace>/<name>-password.yaml` (mode 0600), so the
 * role keeps it. A password is never printed: --dry-run leaves these files out.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { XR_KIND_NAMESPACED } from '../../function/flavour.js';
import { migrate, type InputFile, type OutputFile } from './migration.js';
import { userDirectory } from '../shared/user-paths.js';

const USAGE =
  'usage: npm run migrate -- [--out DIR] [--dry-run] [--flavour claim|namespaced] [--keep-names [--passwords SECRETS.yaml]] [--force] <values.yaml | dir>...';
const DEFAULT_OUT = 'claims';
const SKIP_DIRS = new Set(['node_modules', '.git']);
/** The npm script that runs this file (package.json). */
const NPM_SCRIPT = 'migrate';

class UsageError extends Error {}

/** One or more problems; `problems` are complete lines, one per problem. */
class MigrationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Every file named values.yaml below dir (as the user named dir), sorted by path (byte order, so independent of locale). */
function findValuesFiles(base: string, dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(resolve(base, d)).sort()) {
      const path = join(d, name);
      const stat = statSync(resolve(base, path));
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

/** The input files, read; every path that cannot be used is a problem, and all of them are reported. */
function readInputs(base: string, args: string[]): { inputs: InputFile[]; problems: string[] } {
  const problems: string[] = [];
  const paths: string[] = [];
  for (const arg of args) {
    const path = resolve(base, arg);
    if (!existsSync(path)) problems.push(`${arg}: no such file or directory`);
    else if (statSync(path).isDirectory()) {
      const found = findValuesFiles(base, arg);
      if (!found.length) problems.push(`${arg}: no values.yaml found below this directory`);
      paths.push(...found);
    } else {
      paths.push(arg);
    }
  }
  // A file named twice (directly and through a directory) is read once.
  const seen = new Set<string>();
  const inputs: InputFile[] = [];
  for (const file of paths) {
    const path = resolve(base, file);
    if (seen.has(path)) continue;
    seen.add(path);
    try {
      inputs.push({ file, text: readFileSync(path, 'utf8') });
    } catch (error) {
      problems.push(`${file}: cannot be read: ${(error as Error).message}`);
    }
  }
  return { inputs, problems };
}

type Change = 'new' | 'overwritten' | 'unchanged';

interface Target extends OutputFile {
  /** As the user would name it: --out joined with the claim's path. */
  shown: string;
  absolute: string;
  /** 'overwritten': an existing file differs, which only --force may replace. */
  change: Change;
}

function targets(base: string, out: string, files: OutputFile[]): Target[] {
  return files.map((f) => {
    const shown = join(out, f.path);
    const absolute = resolve(base, shown);
    const existing = existsSync(absolute) ? readFileSync(absolute, 'utf8') : undefined;
    const change: Change = existing === undefined ? 'new' : existing === f.content ? 'unchanged' : 'overwritten';
    return { ...f, shown, absolute, change };
  });
}

function summary(all: Target[], out: string, noun: string): string {
  const count = (change: Change) => all.filter((t) => t.change === change).length;
  const unchanged = count('unchanged');
  if (unchanged === all.length) return `migrate: nothing changed: all ${all.length} ${noun} file(s) in ${out} are already up to date\n`;
  const parts = [
    [count('new'), 'new'],
    [count('overwritten'), 'overwritten (--force)'],
    [unchanged, 'already up to date, left alone'],
  ].filter(([n]) => n).map(([n, what]) => `${n} ${what}`);
  return `migrate: wrote ${all.length - unchanged} ${noun} file(s) to ${out}: ${parts.join(', ')}\n`;
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
        passwords: { type: 'string' },
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
  const base = userDirectory(NPM_SCRIPT);

  if (values.passwords !== undefined && !keepNames) throw new UsageError('--passwords hands over the passwords of adopted roles: it needs --keep-names');
  const read = readInputs(base, positionals);
  let chartSecrets: InputFile | undefined;
  if (values.passwords !== undefined) {
    const path = resolve(base, values.passwords);
    if (!existsSync(path) || !statSync(path).isFile()) read.problems.push(`${values.passwords}: no such file (--passwords)`);
    else chartSecrets = { file: values.passwords, text: readFileSync(path, 'utf8') };
  }
  const result = migrate(read.inputs, { flavour: flavour, keepNames, ...(chartSecrets ? { chartSecrets } : {}) });
  const problems = [...read.problems, ...result.problems];
  const planned = values['dry-run'] ? [] : targets(base, out, result.files);
  if (!values.force) {
    for (const t of planned.filter((t) => t.change === 'overwritten')) {
      problems.push(`${t.shown}: exists with different content; not overwritten (remove it, choose another --out, or pass --force)`);
    }
  }
  if (problems.length) throw new MigrationError(problems);
  if (!result.files.length) {
    process.stderr.write('migrate: no tenantDatabases entries found; nothing to do\n');
    return 0;
  }

  if (values['dry-run']) {
    process.stdout.write(result.stream);
  } else {
    for (const t of planned.filter((t) => t.change !== 'unchanged')) {
      mkdirSync(dirname(t.absolute), { recursive: true });
      // A password file is readable by its owner only, from its first byte on.
      writeFileSync(t.absolute, t.content, t.secret ? { mode: 0o600 } : {});
    }
    process.stdout.write(summary(planned.filter((t) => !t.secret), out, flavour === 'claim' ? 'claim' : XR_KIND_NAMESPACED));
    const secrets = planned.filter((t) => t.secret);
    if (secrets.length) process.stdout.write(summary(secrets, out, 'password Secret'));
  }
  if (values['dry-run'] && result.files.some((f) => f.secret)) {
    process.stderr.write('migrate: note: the password Secrets (<name>-password.yaml) hold passwords and are not printed; run without --dry-run to write them\n');
  }
  if (keepNames && !chartSecrets) {
    process.stderr.write(
      'migrate: note: without --passwords each adopted role gets a NEW password when its claim is first applied;\n' +
        '         apps must restart with the new <name>-secret (see docs/migration.md)\n',
    );
  }
  for (const e of result.withoutPassword) {
    process.stderr.write(
      `migrate: note: no password for ${e.namespace}/${e.name} in ${String(values.passwords)} (Secret ${e.namespace}/${e.name}-secret): ` +
        `role ${String(e.roleName)} gets a NEW password when the claim is first applied (see docs/migration.md)\n`,
    );
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
