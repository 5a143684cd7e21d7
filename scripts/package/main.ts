/**
 * `npm run package -- [--out DIR] [--runtime-image IMAGE | --runtime-image-tarball FILE] [--function-package REPOSITORY]`
 *
 * Stage each package (function; configuration, claim flavour; configuration,
 * namespaced flavour) into its own folder, `<out>/<metadata.name>/`, holding
 * only its files, then run `crossplane xpkg build` on each when the Crossplane
 * CLI is on PATH, writing `<out>/<metadata.name>.xpkg`. Without the CLI it
 * prints the exact commands instead and exits 0. What each package holds, and
 * the checks, live in package-staging.ts.
 *
 * - --runtime-image / --runtime-image-tarball: the function's runtime (the
 *   Dockerfile's image, in the local Docker daemon, or `docker save`d), passed
 *   as --embed-runtime-image / --embed-runtime-image-tarball. Without one the
 *   function package is staged but not built.
 * - --function-package: the function's repository in your registry. The staged
 *   configurations depend on it, and their Compositions call the Function by
 *   the name Crossplane will give it.
 *
 * Staging is deterministic: the three folders and their .xpkg files are
 * removed first (nothing else under --out is touched). `xpkg build` reads
 * ./examples by default; it is pointed at a folder that does not exist, so no
 * package carries examples.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../shared/paths.js';
import { checkFunctionPackage, PackageError, planPackages, type PackagePlan } from './staging.js';

const USAGE =
  'usage: npm run package -- [--out DIR] [--runtime-image IMAGE | --runtime-image-tarball FILE] [--function-package REPOSITORY]';
const HELP = `${USAGE}

Stages the function and both configuration packages into <out>/<name>/ (default
build/packages) and runs \`crossplane xpkg build\` on each when the CLI is on PATH.
  --out DIR                      where the staged folders and .xpkg files go
  --runtime-image IMAGE          the function's runtime image, in the local Docker daemon
  --runtime-image-tarball FILE   the same, from \`docker save\`
  --function-package REPOSITORY  the function's repository in your registry (no tag), e.g.
                                 registry.example.com/team/function-tenantdatabase: the staged
                                 configurations depend on it and call the Function it becomes
See docs/platform-engineers.md, "Building and installing the packages".
`;
const REPO = REPO_ROOT;
const DEFAULT_OUT = join(REPO, 'build', 'packages');

class UsageError extends Error {}
/** A crossplane run that failed; its own output has already gone to the terminal. */
class BuildError extends Error {}

interface Options {
  out: string;
  runtimeImage?: string;
  runtimeImageTarball?: string;
  functionPackage?: string;
}

function options(argv: string[]): Options | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        out: { type: 'string' },
        'runtime-image': { type: 'string' },
        'runtime-image-tarball': { type: 'string' },
        'function-package': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return undefined;
  for (const flag of ['out', 'runtime-image', 'runtime-image-tarball', 'function-package'] as const) {
    if (v[flag] !== undefined && v[flag].trim() === '') throw new UsageError(`--${flag} must not be empty`);
  }
  if (v['runtime-image'] !== undefined && v['runtime-image-tarball'] !== undefined) {
    throw new UsageError('give --runtime-image or --runtime-image-tarball, not both');
  }
  const tarball = v['runtime-image-tarball'] === undefined ? undefined : resolve(v['runtime-image-tarball']);
  if (tarball !== undefined && !(existsSync(tarball) && statSync(tarball).isFile())) {
    throw new UsageError(`--runtime-image-tarball: ${v['runtime-image-tarball']} is not a file`);
  }
  return {
    out: v.out === undefined ? DEFAULT_OUT : resolve(v.out),
    ...(v['runtime-image'] === undefined ? {} : { runtimeImage: v['runtime-image'] }),
    ...(tarball === undefined ? {} : { runtimeImageTarball: tarball }),
    ...(v['function-package'] === undefined ? {} : { functionPackage: functionPackageFlag(v['function-package']) }),
  };
}

function functionPackageFlag(value: string): string {
  try {
    return checkFunctionPackage(value);
  } catch (error) {
    if (error instanceof PackageError) throw new UsageError(error.message);
    throw error;
  }
}

/** A path as the user reads it: relative to the working directory when below it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function quote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Everything this command owns under --out for one package; nothing else there is removed. */
function ownedPaths(out: string, name: string) {
  return { root: join(out, name), file: join(out, `${name}.xpkg`), examples: join(out, `${name}.no-examples`) };
}

/** `crossplane xpkg build` arguments for one staged package, or why it is not built. */
function buildArgs(plan: PackagePlan, out: string, opts: Options): string[] | string {
  const paths = ownedPaths(out, plan.name);
  const args = ['xpkg', 'build', `--package-root=${shown(paths.root)}`, `--examples-root=${shown(paths.examples)}`];
  if (plan.kind === 'Function') {
    if (opts.runtimeImage !== undefined) args.push(`--embed-runtime-image=${opts.runtimeImage}`);
    else if (opts.runtimeImageTarball !== undefined) args.push(`--embed-runtime-image-tarball=${shown(opts.runtimeImageTarball)}`);
    else {
      return 'staged, not built: a function package embeds its runtime; pass --runtime-image IMAGE (built with `docker build -t IMAGE .`, in the local Docker daemon) or --runtime-image-tarball FILE (`docker save IMAGE -o FILE`)';
    }
  }
  args.push(`--package-file=${shown(paths.file)}`);
  return args;
}

/** The crossplane executable on PATH, if any. */
function crossplaneOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'crossplane');
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Refuse an --out whose package folders would contain the repository or the working directory. */
function checkOut(out: string, plans: PackagePlan[]): void {
  const inside = (path: string, dir: string) => path === dir || path.startsWith(dir + sep);
  for (const plan of plans) {
    for (const owned of Object.values(ownedPaths(out, plan.name))) {
      for (const [what, path] of [['the repository', REPO], ['the working directory', process.cwd()]] as const) {
        if (inside(path, owned)) throw new UsageError(`--out ${shown(out)}: staging would replace ${shown(owned)}, which holds ${what}`);
      }
    }
  }
}

function stage(out: string, plan: PackagePlan): void {
  const paths = ownedPaths(out, plan.name);
  for (const path of Object.values(paths)) rmSync(path, { recursive: true, force: true });
  for (const file of plan.files) {
    const target = join(paths.root, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
  }
}

function main(argv: string[]): number {
  const opts = options(argv);
  if (!opts) {
    process.stdout.write(HELP);
    return 0;
  }
  const plans = planPackages(REPO, opts.functionPackage);
  checkOut(opts.out, plans);
  const crossplane = crossplaneOnPath();
  const pending: string[][] = [];
  for (const plan of plans) {
    stage(opts.out, plan);
    const { root } = ownedPaths(opts.out, plan.name);
    process.stdout.write(`${plan.name} (${plan.description}): staged in ${shown(root)}: ${plan.files.map((f) => f.path).join(', ')}\n`);
    for (const dep of plan.dependencies) process.stdout.write(`  dependsOn ${dep.package}: Crossplane installs ${dep.kind} ${dep.name}\n`);
    if (plan.functionRef) process.stdout.write(`  Compositions call functionRef.name: ${plan.functionRef}\n`);
    const args = buildArgs(plan, opts.out, opts);
    if (typeof args === 'string') process.stdout.write(`  ${args}\n`);
    else pending.push(args);
  }
  if (!crossplane) {
    process.stdout.write('The crossplane CLI is not on PATH; to build the packages, run:\n');
    for (const args of pending) process.stdout.write(`  crossplane ${args.map(quote).join(' ')}\n`);
    return 0;
  }
  for (const args of pending) {
    process.stdout.write(`$ crossplane ${args.map(quote).join(' ')}\n`);
    const run = spawnSync(crossplane, args, { stdio: 'inherit' });
    if (run.error) throw new BuildError(`crossplane: ${run.error.message}`);
    if (run.status !== 0) throw new BuildError(`crossplane xpkg build failed (exit ${run.status ?? run.signal}) for ${args[2]}`);
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  const usage = error instanceof UsageError ? `\n${USAGE}` : '';
  const known = error instanceof UsageError || error instanceof PackageError || error instanceof BuildError;
  process.stderr.write(`package: ${known ? (error).message : (error as Error).stack}${usage}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
